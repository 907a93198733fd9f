//! A matmul that reads its operands where they lie, for the host nodes.
//!
//! `matrixmultiply` copies (packs) both operands into panels of its own
//! before every product. For the LSTM-MAESTRO read-out's `dz·Wᵀ` that copy is
//! the 11 520 × 359 weight read across its rows, and the product ran at 38–41
//! GFLOP/s on one core. Here the left operand is broadcast element by element
//! from where it lies and the right one loaded row by row, so the weight is
//! read in order and never written (60–64 GFLOP/s); `host_node` picks the
//! products where this pays, transposing a product or copying a small
//! operand so that the right one is row-major.
//!
//! Each element is the chain `matrixmultiply`'s FMA kernels compute (AVX-512F,
//! and AVX2 with FMA): the `k` axis in blocks of [`KC`] from 0, each block one
//! fused multiply-add chain from +0, the blocks added to `c` in order, the
//! first onto `beta·c` (or alone when `beta` is 0). So a product has the same
//! bits here as there, on the CPUs where this runs, and no stored run's
//! numbers move (tested bit for bit below). Elsewhere [`available`] is false
//! and callers keep `matrixmultiply`.

/// `matrixmultiply`'s f32 depth block (`S_KC`), which fixes the summation
/// order this module reproduces.
const KC: usize = 256;

/// Columns of `c` swept per depth block, so that the right operand's
/// `KC × NC` slice stays in the core's L2 cache while every row tile reads it.
const NC: usize = 512;

/// Whether this CPU runs the kernels (AVX-512F, or AVX2 with FMA).
pub(crate) fn available() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        std::arch::is_x86_feature_detected!("avx512f")
            || (std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("fma"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        false
    }
}

/// How a depth block's sums meet `c`.
#[derive(Clone, Copy)]
enum Epilogue {
    /// The first block when `beta` is 0: `c` is not read.
    Store,
    /// The first block otherwise: `beta·c + sum`.
    Scale(f32),
    /// Every later block: `c + sum`.
    Add,
}

impl Epilogue {
    #[inline(always)]
    fn apply(self, c: f32, sum: f32) -> f32 {
        match self {
            Epilogue::Store => sum,
            Epilogue::Scale(beta) => beta * c + sum,
            Epilogue::Add => c + sum,
        }
    }
}

/// `c = a·b + beta·c` for `a` `[m, k]` with strides `(rsa, csa)`, `b`
/// `[k, n]` row-major with row stride `rsb`, `c` `[m, n]` with strides
/// `(rsc, csc)`, on one thread.
///
/// # Safety
/// [`available`] is true; every element the strides address lies inside its
/// allocation; `c`'s strides give distinct elements distinct places, and `c`
/// overlaps neither `a` nor `b`.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm(
    (m, k, n): (usize, usize, usize),
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    rsb: usize,
    beta: f32,
    c: *mut f32,
    (rsc, csc): (usize, usize),
) {
    #[cfg(target_arch = "x86_64")]
    {
        let wide = std::arch::is_x86_feature_detected!("avx512f");
        // SAFETY: the caller's contract; `wide` only where AVX-512F is.
        unsafe { gemm_on(wide, (m, k, n), a, (rsa, csa), b, rsb, beta, c, (rsc, csc)) }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = ((m, k, n), a, (rsa, csa), b, rsb, beta, c, (rsc, csc));
        unreachable!("direct_gemm::available() is false off x86-64");
    }
}

/// [`gemm`] on the AVX-512 tiles (`wide`) or the AVX2 ones.
///
/// # Safety
/// [`gemm`]'s, with AVX-512F present when `wide`, AVX2 and FMA otherwise.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn gemm_on(
    wide: bool,
    (m, k, n): (usize, usize, usize),
    a: *const f32,
    (rsa, csa): (usize, usize),
    b: *const f32,
    rsb: usize,
    beta: f32,
    c: *mut f32,
    (rsc, csc): (usize, usize),
) {
    for k0 in (0..k).step_by(KC) {
        let kc = KC.min(k - k0);
        let epilogue = if k0 > 0 {
            Epilogue::Add
        } else if beta == 0.0 {
            Epilogue::Store
        } else {
            Epilogue::Scale(beta)
        };
        for j0 in (0..n).step_by(NC) {
            let nc = NC.min(n - j0);
            let block = Block {
                kc,
                a: a.wrapping_add(k0 * csa),
                rsa,
                csa,
                b: b.wrapping_add(k0 * rsb + j0),
                rsb,
                c: c.wrapping_add(j0 * csc),
                rsc,
                csc,
                epilogue,
            };
            // SAFETY: the caller's contract, and the features checked.
            unsafe {
                if wide {
                    x86::block_avx512(m, nc, block)
                } else {
                    x86::block_avx2(m, nc, block)
                }
            }
        }
    }
}

/// One depth block of one column sweep: where its operands start and how
/// its sums meet `c`.
#[derive(Clone, Copy)]
#[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
struct Block {
    kc: usize,
    a: *const f32,
    rsa: usize,
    csa: usize,
    b: *const f32,
    rsb: usize,
    c: *mut f32,
    rsc: usize,
    csc: usize,
    epilogue: Epilogue,
}

impl Block {
    /// The tile at row `i` and column `j` of this block.
    #[inline(always)]
    fn at(self, i: usize, j: usize) -> Block {
        Block {
            a: self.a.wrapping_add(i * self.rsa),
            b: self.b.wrapping_add(j),
            c: self.c.wrapping_add(i * self.rsc + j * self.csc),
            ..self
        }
    }

    /// Hands each tile of a `rows × cols` block, `mr × nr` at most, to
    /// `tile` with its row and column counts.
    #[inline(always)]
    #[cfg_attr(not(target_arch = "x86_64"), allow(dead_code))]
    fn tiles(
        self,
        (rows, cols): (usize, usize),
        (mr, nr): (usize, usize),
        mut tile: impl FnMut(usize, usize, Block),
    ) {
        for i0 in (0..rows).step_by(mr) {
            for j0 in (0..cols).step_by(nr) {
                tile(mr.min(rows - i0), nr.min(cols - j0), self.at(i0, j0));
            }
        }
    }

    /// Writes a tile's sums, `LANES` to a row, `rows × cols` of them.
    ///
    /// # Safety
    /// The tile's elements of `c` lie in its allocation.
    #[inline(always)]
    unsafe fn finish<const LANES: usize>(self, sums: &[[f32; LANES]], cols: usize) {
        for (i, row) in sums.iter().enumerate() {
            for (j, &sum) in row.iter().enumerate().take(cols) {
                // SAFETY: inside the tile, which the caller vouches for.
                unsafe {
                    let at = self.c.add(i * self.rsc + j * self.csc);
                    *at = self.epilogue.apply(*at, sum);
                }
            }
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use std::arch::x86_64::*;

    use super::Block;

    /// A `rows × cols` block on AVX-512 tiles of 8 rows × 32 columns.
    ///
    /// # Safety
    /// AVX-512F is present; [`super::gemm`]'s contract for the block.
    pub(super) unsafe fn block_avx512(rows: usize, cols: usize, block: Block) {
        block.tiles((rows, cols), (8, 32), |mr, nr, tile| {
            // SAFETY: the caller's contract covers every tile.
            unsafe {
                match mr {
                    8 => rows_avx512::<8>(tile, nr),
                    7 => rows_avx512::<7>(tile, nr),
                    6 => rows_avx512::<6>(tile, nr),
                    5 => rows_avx512::<5>(tile, nr),
                    4 => rows_avx512::<4>(tile, nr),
                    3 => rows_avx512::<3>(tile, nr),
                    2 => rows_avx512::<2>(tile, nr),
                    _ => rows_avx512::<1>(tile, nr),
                }
            }
        });
    }

    /// `MR` rows on one 16-lane vector or two, as `nr` needs.
    #[target_feature(enable = "avx512f")]
    unsafe fn rows_avx512<const MR: usize>(tile: Block, nr: usize) {
        // SAFETY: passed through.
        unsafe {
            if nr > 16 {
                tile_avx512::<MR, 2>(tile, nr)
            } else {
                tile_avx512::<MR, 1>(tile, nr)
            }
        }
    }

    /// `MR` rows × `V` vectors of 16 lanes, `nr` of whose columns are real.
    #[target_feature(enable = "avx512f")]
    unsafe fn tile_avx512<const MR: usize, const V: usize>(tile: Block, nr: usize) {
        let mask = |v: usize| -> __mmask16 {
            let lanes = nr.saturating_sub(16 * v).min(16);
            ((1u32 << lanes) - 1) as __mmask16
        };
        let masks: [__mmask16; V] = std::array::from_fn(mask);
        let mut acc = [[_mm512_setzero_ps(); V]; MR];
        for p in 0..tile.kc {
            let b_row = tile.b.wrapping_add(p * tile.rsb);
            // SAFETY: masked-off lanes are not read; the others lie in `b`.
            let bv: [__m512; V] = std::array::from_fn(|v| unsafe {
                _mm512_maskz_loadu_ps(masks[v], b_row.wrapping_add(16 * v))
            });
            let a_col = tile.a.wrapping_add(p * tile.csa);
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: row `i`, depth `p` of `a`, inside it.
                let av = _mm512_set1_ps(unsafe { *a_col.add(i * tile.rsa) });
                for (sum, &b) in row.iter_mut().zip(&bv) {
                    *sum = _mm512_fmadd_ps(av, b, *sum);
                }
            }
        }
        let sums: [[f32; 32]; MR] = std::array::from_fn(|i| {
            let mut row = [0.0f32; 32];
            for (v, &sum) in acc[i].iter().enumerate() {
                // SAFETY: 16 lanes into the row's own 32.
                unsafe { _mm512_storeu_ps(row.as_mut_ptr().add(16 * v), sum) };
            }
            row
        });
        // SAFETY: the tile lies in `c`.
        unsafe { tile.finish(&sums, nr) }
    }

    /// A `rows × cols` block on AVX2 tiles of 6 rows × 16 columns.
    ///
    /// # Safety
    /// AVX2 and FMA are present; [`super::gemm`]'s contract for the block.
    pub(super) unsafe fn block_avx2(rows: usize, cols: usize, block: Block) {
        block.tiles((rows, cols), (6, 16), |mr, nr, tile| {
            // SAFETY: the caller's contract covers every tile.
            unsafe {
                match mr {
                    6 => rows_avx2::<6>(tile, nr),
                    5 => rows_avx2::<5>(tile, nr),
                    4 => rows_avx2::<4>(tile, nr),
                    3 => rows_avx2::<3>(tile, nr),
                    2 => rows_avx2::<2>(tile, nr),
                    _ => rows_avx2::<1>(tile, nr),
                }
            }
        });
    }

    /// `MR` rows on one 8-lane vector or two, as `nr` needs.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn rows_avx2<const MR: usize>(tile: Block, nr: usize) {
        // SAFETY: passed through.
        unsafe {
            if nr > 8 {
                tile_avx2::<MR, 2>(tile, nr)
            } else {
                tile_avx2::<MR, 1>(tile, nr)
            }
        }
    }

    /// `MR` rows × `V` vectors of 8 lanes, `nr` of whose columns are real.
    #[target_feature(enable = "avx2,fma")]
    unsafe fn tile_avx2<const MR: usize, const V: usize>(tile: Block, nr: usize) {
        let masks: [__m256i; V] = std::array::from_fn(|v| {
            let lanes = nr.saturating_sub(8 * v).min(8) as i32;
            _mm256_cmpgt_epi32(
                _mm256_set1_epi32(lanes),
                _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            )
        });
        let mut acc = [[_mm256_setzero_ps(); V]; MR];
        for p in 0..tile.kc {
            let b_row = tile.b.wrapping_add(p * tile.rsb);
            // SAFETY: masked-off lanes are not read; the others lie in `b`.
            let bv: [__m256; V] = std::array::from_fn(|v| unsafe {
                _mm256_maskload_ps(b_row.wrapping_add(8 * v), masks[v])
            });
            let a_col = tile.a.wrapping_add(p * tile.csa);
            for (i, row) in acc.iter_mut().enumerate() {
                // SAFETY: row `i`, depth `p` of `a`, inside it.
                let av = _mm256_set1_ps(unsafe { *a_col.add(i * tile.rsa) });
                for (sum, &b) in row.iter_mut().zip(&bv) {
                    *sum = _mm256_fmadd_ps(av, b, *sum);
                }
            }
        }
        let sums: [[f32; 16]; MR] = std::array::from_fn(|i| {
            let mut row = [0.0f32; 16];
            for (v, &sum) in acc[i].iter().enumerate() {
                // SAFETY: 8 lanes into the row's own 16.
                unsafe { _mm256_storeu_ps(row.as_mut_ptr().add(8 * v), sum) };
            }
            row
        });
        // SAFETY: the tile lies in `c`.
        unsafe { tile.finish(&sums, nr) }
    }
}

#[cfg(all(test, target_arch = "x86_64"))]
mod tests {
    use super::*;
    use crate::testing::{differing_bits, matrixmultiply_product, values};

    /// Both kernels give `matrixmultiply`'s bits: several depth blocks and a
    /// ragged last one, row and column tails, `a` row-major and transposed,
    /// `c` row- and column-major, `beta` 0, 1 and ½.
    #[test]
    fn the_direct_kernels_give_matrixmultiplys_bits() {
        let wide = std::arch::is_x86_feature_detected!("avx512f");
        let narrow = std::arch::is_x86_feature_detected!("avx2")
            && std::arch::is_x86_feature_detected!("fma");
        let kernels: Vec<bool> = [(true, wide), (false, narrow)]
            .into_iter()
            .filter_map(|(kernel, present)| present.then_some(kernel))
            .collect();
        for &(m, k, n) in &[
            (64, 700, 359),
            (13, 257, 33),
            (9, 1, 17),
            (150, 784, 128),
            (7, 513, 5),
            (700, 64, 359),
        ] {
            let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            for sa in [(k, 1), (1, m)] {
                for sc in [(n, 1), (1, m)] {
                    for beta in [0.0, 1.0, 0.5] {
                        let expected =
                            matrixmultiply_product((m, k, n), &a, sa, &b, (n, 1), beta, &c0, sc);
                        for &kernel in &kernels {
                            let mut c = c0.clone();
                            // SAFETY: every stride stays inside its slice; the CPU has the
                            // kernel's features.
                            unsafe {
                                gemm_on(
                                    kernel,
                                    (m, k, n),
                                    a.as_ptr(),
                                    sa,
                                    b.as_ptr(),
                                    n,
                                    beta,
                                    c.as_mut_ptr(),
                                    sc,
                                )
                            };
                            assert_eq!(
                                differing_bits(&expected, &c),
                                0,
                                "{m}×{k}×{n}, a {sa:?}, c {sc:?}, beta {beta}, avx512 {kernel}"
                            );
                        }
                    }
                }
            }
        }
    }
}
