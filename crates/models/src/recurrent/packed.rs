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
            return unsafe { x86::gemm_avx512(m, a, b, accumulate, c) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: the CPU has AVX2 and FMA, checked just above.
            return unsafe { x86::gemm_avx2(m, a, b, accumulate, c) };
        }
    }
    gemm_rows::<Portable>(m, a, b, accumulate, c);
}

/// A microkernel: one tile of `R` rows of `c` × one panel, its accumulators
/// in registers over the whole of `k`.
trait Kernel {
    /// Rows in a full tile (at most 8).
    const MR: usize;
    /// A full tile: [`Kernel::tile`] with `R = MR`.
    fn full(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols);
    /// `c[r][j0..j0 + width] (+)= Σ_p a[r·k + p] · panel[p·NR + j]` for
    /// `r < R`, `a` holding `R` rows of `k`, `panel` `k × NR`.
    fn tile<const R: usize>(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols);
}

/// Blocks of `K::MR` rows, then one block of the rows left over. Each panel
/// of `B` stays in cache while every row block passes over it.
#[inline(always)]
fn gemm_rows<K: Kernel>(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
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
        while i + K::MR <= m {
            K::full(&a[i * k..], panel, accumulate, &mut c[i * n..], cols);
            i += K::MR;
        }
        let (a, c) = (&a[i * k..], &mut c[i * n..]);
        debug_assert!(m - i < 8, "tiles of at most 8 rows leave at most 7");
        match m - i {
            0 => {}
            1 => K::tile::<1>(a, panel, accumulate, c, cols),
            2 => K::tile::<2>(a, panel, accumulate, c, cols),
            3 => K::tile::<3>(a, panel, accumulate, c, cols),
            4 => K::tile::<4>(a, panel, accumulate, c, cols),
            5 => K::tile::<5>(a, panel, accumulate, c, cols),
            6 => K::tile::<6>(a, panel, accumulate, c, cols),
            _ => K::tile::<7>(a, panel, accumulate, c, cols),
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

impl Cols {
    /// Checks that `R` rows of `a` (`k` each) and of `c` are there, which
    /// keeps the vector kernels' unchecked reads in bounds.
    #[inline(always)]
    fn check<const R: usize>(self, a: &[f32], panel: &[f32], c: &[f32]) -> usize {
        let k = panel.len() / NR;
        assert!(
            R >= 1
                && panel.len() == k * NR
                && a.len() >= R * k
                && self.width <= NR
                && c.len() >= (R - 1) * self.n + self.j0 + self.width,
            "packed gemm: tile out of bounds"
        );
        k
    }

    /// Row `r` of `c`'s tile as `NR` values, zero past `width`.
    #[inline(always)]
    fn load(self, c: &[f32], r: usize) -> [f32; NR] {
        let mut row = [0.0f32; NR];
        let at = r * self.n + self.j0;
        row[..self.width].copy_from_slice(&c[at..at + self.width]);
        row
    }

    /// Writes the first `width` of `row` to row `r` of `c`'s tile.
    #[inline(always)]
    fn store(self, c: &mut [f32], r: usize, row: &[f32; NR]) {
        let at = r * self.n + self.j0;
        c[at..at + self.width].copy_from_slice(&row[..self.width]);
    }
}

/// Plain Rust, for CPUs without AVX2. `f32::mul_add` is the same fused
/// operation as the vector kernels' FMA, so every path gives the same bits.
struct Portable;

impl Kernel for Portable {
    const MR: usize = 4;

    fn full(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols) {
        Self::tile::<4>(a, panel, accumulate, c, cols);
    }

    #[inline(always)]
    fn tile<const R: usize>(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols) {
        let k = cols.check::<R>(a, panel, c);
        let mut acc = [[0.0f32; NR]; R];
        if accumulate {
            for (r, row) in acc.iter_mut().enumerate() {
                *row = cols.load(c, r);
            }
        }
        for (p, b_row) in panel.chunks_exact(NR).enumerate() {
            for (r, row) in acc.iter_mut().enumerate() {
                let av = a[r * k + p];
                for (v, &b) in row.iter_mut().zip(b_row) {
                    *v = av.mul_add(b, *v);
                }
            }
        }
        for (r, row) in acc.iter().enumerate() {
            cols.store(c, r, row);
        }
    }
}

/// The vector kernels. The compiler did not keep more than four rows of
/// accumulators in registers when they were plain arrays (a 6-row tile ran at
/// 48 GFLOP/s, a 4-row one at 100, on one Zen 4 core), so they are written
/// with intrinsics: AVX-512 tiles of 8 rows × 2 registers (16 accumulators of
/// 32), AVX2 tiles of 6 rows × 2 registers over each half of the panel (12 of
/// 16).
#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::{gemm_rows, Cols, Kernel, PackedRhs, NR};

    /// Half a panel: two AVX2 registers.
    const HALF: usize = NR / 2;

    #[target_feature(enable = "avx512f,fma")]
    pub(super) fn gemm_avx512(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
        gemm_rows::<Avx512>(m, a, b, accumulate, c);
    }

    #[target_feature(enable = "avx2,fma")]
    pub(super) fn gemm_avx2(m: usize, a: &[f32], b: &PackedRhs, accumulate: bool, c: &mut [f32]) {
        gemm_rows::<Avx2>(m, a, b, accumulate, c);
    }

    struct Avx512;

    impl Kernel for Avx512 {
        const MR: usize = 8;

        #[inline(always)]
        fn full(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols) {
            Self::tile::<8>(a, panel, accumulate, c, cols);
        }

        #[inline(always)]
        fn tile<const R: usize>(
            a: &[f32],
            panel: &[f32],
            accumulate: bool,
            c: &mut [f32],
            cols: Cols,
        ) {
            // SAFETY: only reached from `gemm_avx512`, which runs where the CPU
            // has AVX-512F and FMA.
            unsafe { tile512::<R>(a, panel, accumulate, c, cols) }
        }
    }

    #[inline]
    #[target_feature(enable = "avx512f,fma")]
    fn tile512<const R: usize>(
        a: &[f32],
        panel: &[f32],
        accumulate: bool,
        c: &mut [f32],
        cols: Cols,
    ) {
        let k = cols.check::<R>(a, panel, c);
        // `c`'s tile is read and written in place, the columns past `width`
        // masked off (a copy through a row buffer was 2–3 % of an RNN step).
        let (m0, m1) = masks(cols.width);
        let at = |r: usize| r * cols.n + cols.j0;
        let mut acc = [[_mm512_setzero_ps(); 2]; R];
        if accumulate {
            for (r, pair) in acc.iter_mut().enumerate() {
                let row = c.as_ptr().wrapping_add(at(r));
                // SAFETY: `check` asserted that row r's `width` values from
                // `at(r)` are in `c`; the masks load no value past them, and
                // a masked-off lane is never read.
                *pair = unsafe {
                    [
                        _mm512_maskz_loadu_ps(m0, row),
                        _mm512_maskz_loadu_ps(m1, row.wrapping_add(16)),
                    ]
                };
            }
        }
        let (ap, bp) = (a.as_ptr(), panel.as_ptr());
        for p in 0..k {
            // SAFETY: `check` asserted panel.len() = k·NR and a.len() ≥ R·k,
            // and p < k, r < R.
            unsafe {
                let b0 = _mm512_loadu_ps(bp.add(p * NR));
                let b1 = _mm512_loadu_ps(bp.add(p * NR + 16));
                for (r, pair) in acc.iter_mut().enumerate() {
                    let av = _mm512_set1_ps(*ap.add(r * k + p));
                    pair[0] = _mm512_fmadd_ps(av, b0, pair[0]);
                    pair[1] = _mm512_fmadd_ps(av, b1, pair[1]);
                }
            }
        }
        for (r, pair) in acc.iter().enumerate() {
            let row = c.as_mut_ptr().wrapping_add(at(r));
            // SAFETY: as for the loads; a masked-off lane is never written.
            unsafe {
                _mm512_mask_storeu_ps(row, m0, pair[0]);
                _mm512_mask_storeu_ps(row.wrapping_add(16), m1, pair[1]);
            }
        }
    }

    /// The lanes of a tile row's two registers that hold its first `width`
    /// (≤ [`NR`]) columns.
    fn masks(width: usize) -> (__mmask16, __mmask16) {
        let lanes = |n: usize| ((1u32 << n.min(16)) - 1) as __mmask16;
        (lanes(width), lanes(width.saturating_sub(16)))
    }

    struct Avx2;

    impl Kernel for Avx2 {
        const MR: usize = 6;

        #[inline(always)]
        fn full(a: &[f32], panel: &[f32], accumulate: bool, c: &mut [f32], cols: Cols) {
            Self::tile::<6>(a, panel, accumulate, c, cols);
        }

        #[inline(always)]
        fn tile<const R: usize>(
            a: &[f32],
            panel: &[f32],
            accumulate: bool,
            c: &mut [f32],
            cols: Cols,
        ) {
            // SAFETY: only reached from `gemm_avx2`, which runs where the CPU
            // has AVX2 and FMA.
            unsafe { tile256::<R>(a, panel, accumulate, c, cols) }
        }
    }

    /// Each half of the panel in turn, so that 12 accumulators, two values of
    /// the panel and a broadcast fit the 16 AVX2 registers.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    fn tile256<const R: usize>(
        a: &[f32],
        panel: &[f32],
        accumulate: bool,
        c: &mut [f32],
        cols: Cols,
    ) {
        let k = cols.check::<R>(a, panel, c);
        let mut rows = [[0.0f32; NR]; R];
        if accumulate {
            for (r, row) in rows.iter_mut().enumerate() {
                *row = cols.load(c, r);
            }
        }
        let (ap, bp) = (a.as_ptr(), panel.as_ptr());
        for half in [0, HALF] {
            let mut acc = [[_mm256_setzero_ps(); 2]; R];
            for (pair, row) in acc.iter_mut().zip(&rows) {
                // SAFETY: `row` holds NR values; half + 16 ≤ NR.
                *pair = unsafe {
                    [
                        _mm256_loadu_ps(row.as_ptr().add(half)),
                        _mm256_loadu_ps(row.as_ptr().add(half + 8)),
                    ]
                };
            }
            for p in 0..k {
                // SAFETY: `check` asserted panel.len() = k·NR and
                // a.len() ≥ R·k; p < k, r < R, half + 16 ≤ NR.
                unsafe {
                    let b0 = _mm256_loadu_ps(bp.add(p * NR + half));
                    let b1 = _mm256_loadu_ps(bp.add(p * NR + half + 8));
                    for (r, pair) in acc.iter_mut().enumerate() {
                        let av = _mm256_set1_ps(*ap.add(r * k + p));
                        pair[0] = _mm256_fmadd_ps(av, b0, pair[0]);
                        pair[1] = _mm256_fmadd_ps(av, b1, pair[1]);
                    }
                }
            }
            for (pair, row) in acc.iter().zip(rows.iter_mut()) {
                // SAFETY: as for the loads.
                unsafe {
                    _mm256_storeu_ps(row.as_mut_ptr().add(half), pair[0]);
                    _mm256_storeu_ps(row.as_mut_ptr().add(half + 8), pair[1]);
                }
            }
        }
        for (r, row) in rows.iter().enumerate() {
            cols.store(c, r, row);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::values;

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
            (31, 20, 64),
            // Tails of 17 and 18 columns: both registers of a row partly masked.
            (3, 7, 17),
            (9, 5, 50),
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
                gemm_rows::<Portable>(m, &a, &packed, accumulate, &mut portable);
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&dispatched),
                    bits(&expected),
                    "{m}×{k}×{n} {accumulate}"
                );
                assert_eq!(bits(&portable), bits(&expected), "{m}×{k}×{n} {accumulate}");
                // The AVX2 kernel too where the CPU would have taken AVX-512.
                #[cfg(target_arch = "x86_64")]
                if std::arch::is_x86_feature_detected!("avx2")
                    && std::arch::is_x86_feature_detected!("fma")
                {
                    let mut avx2 = c0.clone();
                    // SAFETY: the CPU has AVX2 and FMA, checked just above.
                    unsafe { x86::gemm_avx2(m, &a, &packed, accumulate, &mut avx2) };
                    assert_eq!(
                        bits(&avx2),
                        bits(&expected),
                        "AVX2 {m}×{k}×{n} {accumulate}"
                    );
                }
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
