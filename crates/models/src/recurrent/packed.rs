//! A matmul whose right-hand side is packed once and reused at every time step.
//!
//! A recurrence multiplies the same `W_hh` by a new batch of states at each of
//! its `T` steps. A general gemm (`matrixmultiply`) packs both operands on
//! every call, and with the studies' small batches (8–64 rows a thread)
//! packing the `[H, G·H]` weight cost about half as much as the product
//! itself: a quarter of an IRNN step, a tenth of an LSTM step. Here the weight
//! is packed into column panels once per forward or backward pass, and the
//! states are read in place.
//!
//! Every output element is one chain of fused multiply-adds in `k` order,
//! started from `c` (or zero), whatever the tile sizes and instruction set, so
//! the AVX-512, AVX2 and portable paths give the same bits.

/// Columns per panel: one AVX-512 register, two AVX2 ones.
const NR: usize = 32;

/// `B` `[k, n]` in panels of [`NR`] columns, each panel `k × NR` row-major,
/// the last one padded with zeros.
#[derive(Clone, Debug)]
pub(crate) struct PackedRhs {
    k: usize,
    n: usize,
    panels: Vec<f32>,
}

impl PackedRhs {
    /// Packs a row-major `[k, n]` matrix.
    pub fn new(b: &[f32], k: usize, n: usize) -> Self {
        assert_eq!(b.len(), k * n, "packed rhs: {k}×{n} needs {} values", k * n);
        let count = n.div_ceil(NR);
        let mut panels = vec![0.0f32; count * k * NR];
        for (p, panel) in panels.chunks_exact_mut(k * NR).enumerate() {
            let (j0, width) = (p * NR, NR.min(n - p * NR));
            for (row, dst) in panel.chunks_exact_mut(NR).enumerate() {
                dst[..width].copy_from_slice(&b[row * n + j0..row * n + j0 + width]);
            }
        }
        PackedRhs { k, n, panels }
    }
}

/// `c = a·B + c` (`accumulate`) or `c = a·B`, for `a` `[m, k]` and `c`
/// `[m, n]`, both row-major and contiguous.
pub(crate) fn gemm(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
    assert!(
        a.len() >= m * b.k && c.len() >= m * b.n,
        "packed gemm: operand too short"
    );
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has AVX-512F, checked just above.
            return unsafe { gemm_avx512(m, a, b, accumulate, c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { gemm_avx2(m, a, b, accumulate, c) };
        }
    }
    gemm_rows::<4>(m, a, b, accumulate, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn gemm_avx512(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
    gemm_rows::<6>(m, a, b, accumulate, c);
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
fn gemm_avx2(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
    gemm_rows::<3>(m, a, b, accumulate, c);
}

/// Blocks of `MR` rows, then one block of the rows left over (`MR` ≤ 6). Each panel of
/// `B` stays in cache while every row block passes over it.
#[inline(always)]
fn gemm_rows<const MR: usize>(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
    let (k, n) = (b.k, b.n);
    if m == 0 || n == 0 {
        return;
    }
    for (p, panel) in b.panels.chunks_exact(k * NR).enumerate() {
        let cols = Cols {
            j0: p * NR,
            width: NR.min(n - p * NR),
            n,
        };
        let mut i = 0;
        while i + MR <= m {
            tile::<MR>(&a[i * k..], panel, accumulate, &mut c[i * n..], cols);
            i += MR;
        }
        let (a, c) = (&a[i * k..], &mut c[i * n..]);
        debug_assert!(m - i < 6, "tiles of more than 6 rows leave more than 5");
        match m - i {
            0 => {}
            1 => tile::<1>(a, panel, accumulate, c, cols),
            2 => tile::<2>(a, panel, accumulate, c, cols),
            3 => tile::<3>(a, panel, accumulate, c, cols),
            4 => tile::<4>(a, panel, accumulate, c, cols),
            _ => tile::<5>(a, panel, accumulate, c, cols),
        }
    }
}

/// Where a panel's columns land in `c`: from `j0`, `width` of them (fewer than
/// [`NR`] in the last panel), in rows of `n`.
#[derive(Clone, Copy)]
struct Cols {
    j0: usize,
    width: usize,
    n: usize,
}

/// Half a panel's width: the unit the compiler turns into one AVX-512 register
/// (two AVX2 ones); a tile row is two of them.
const HALF: usize = NR / 2;

/// One `R × NR` tile of `c`, held in registers over the whole of `k`.
#[inline(always)]
fn tile<const R: usize>(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols) {
    let Cols { j0, width, n } = cols;
    let k = panel.len() / NR;
    let mut lo = [[0.0f32; HALF]; R];
    let mut hi = [[0.0f32; HALF]; R];
    if accumulate {
        for r in 0..R {
            let row = &c[r * n + j0..r * n + j0 + width];
            let split = width.min(HALF);
            lo[r][..split].copy_from_slice(&row[..split]);
            hi[r][..width - split].copy_from_slice(&row[split..]);
        }
    }
    let rows: [&[f32]; R] = std::array::from_fn(|r| &a[r * k..(r + 1) * k]);
    for (p, b_row) in panel.chunks_exact(NR).enumerate() {
        let (b_lo, b_hi) = b_row.split_at(HALF);
        let b_lo: &[f32; HALF] = b_lo.try_into().unwrap_or_else(|_| unreachable!());
        let b_hi: &[f32; HALF] = b_hi.try_into().unwrap_or_else(|_| unreachable!());
        for r in 0..R {
            let av = rows[r][p];
            for j in 0..HALF {
                lo[r][j] = av.mul_add(b_lo[j], lo[r][j]);
            }
            for j in 0..HALF {
                hi[r][j] = av.mul_add(b_hi[j], hi[r][j]);
            }
        }
    }
    for r in 0..R {
        let row = &mut c[r * n + j0..r * n + j0 + width];
        let split = width.min(HALF);
        row[..split].copy_from_slice(&lo[r][..split]);
        row[split..].copy_from_slice(&hi[r][..width - split]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0
            })
            .collect()
    }

    /// The same fused-multiply-add chain, element by element.
    fn reference(
        m: usize,
        k: usize,
        n: usize,
        a: &[f32],
        b: &[f32],
        c0: Option<&[f32]>,
    ) -> Vec<f32> {
        let mut c = vec![0.0f32; m * n];
        for i in 0..m {
            for j in 0..n {
                let mut v = c0.map_or(0.0, |c0| c0[i * n + j]);
                for p in 0..k {
                    v = a[i * k + p].mul_add(b[p * n + j], v);
                }
                c[i * n + j] = v;
            }
        }
        c
    }

    #[test]
    fn every_path_gives_the_reference_bits_on_ragged_shapes() {
        for &(m, k, n) in &[
            (1, 1, 1),
            (7, 5, 3),
            (8, 100, 100),
            (13, 33, 47),
            (32, 36, 144),
            (0, 4, 4),
        ] {
            let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            let packed = PackedRhs::new(&b, k, n);
            assert_eq!((packed.k, packed.n), (k, n));
            for accumulate in [false, true] {
                let expected = reference(m, k, n, &a, &b, accumulate.then_some(&c0[..]));
                let mut dispatched = c0.clone();
                gemm(m, &a, &packed, accumulate, &mut dispatched);
                let mut portable = c0.clone();
                gemm_rows::<4>(m, &a, &packed, accumulate, &mut portable);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&dispatched),
                    bits(&expected),
                    "{m}×{k}×{n} {accumulate}"
                );
                assert_eq!(bits(&portable), bits(&expected), "{m}×{k}×{n} {accumulate}");
            }
        }
    }

    #[test]
    fn a_nan_in_the_input_reaches_the_output() {
        let (m, k, n) = (3, 4, 5);
        let mut a = values(m * k, 4);
        a[5] = f32::NAN;
        let packed = PackedRhs::new(&values(k * n, 5), k, n);
        let mut c = vec![0.0f32; m * n];
        gemm(m, &a, &packed, false, &mut c);
        assert!(c[n..2 * n].iter().all(|v| v.is_nan()));
        assert!(c[..n].iter().chain(&c[2 * n..]).all(|v| v.is_finite()));
    }
}
