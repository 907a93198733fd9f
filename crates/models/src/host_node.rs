//! What the host-computed autodiff nodes (the fused recurrence, the wide
//! read-out) share: a strided matmul, a copy of a tensor to the host, and the
//! type move that `TypeId` makes safe.

use std::any::Any;

use rayon::prelude::*;

use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorPrimitive};

use crate::direct_gemm;

/// `c = a·b + beta·c` for `a` `[m, k]`, `b` `[k, n]`, `c` `[m, n]`, each given
/// by its row and column strides. Panics (a programming error) when a stride
/// would reach outside its slice, or `c`'s would put two of its elements in one
/// place, which is what keeps the call sound.
///
/// A large product is cut into blocks of `c`'s rows or columns that run on
/// their own threads (`matrixmultiply` itself runs on one): every block
/// starts at a multiple of [`SPLIT_ALIGN`], where the kernel's own tiles
/// start too, so each element is the same chain of operations in the same
/// `k` order as in one call, and the bits do not depend on how many blocks
/// or threads there are (tested below).
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm(
    (m, k, n): (usize, usize, usize),
    a: &[f32],
    (rsa, csa): (usize, usize),
    b: &[f32],
    (rsb, csb): (usize, usize),
    beta: f32,
    c: &mut [f32],
    (rsc, csc): (usize, usize),
) {
    gemm_in_blocks(
        (m, k, n),
        (a, (rsa, csa)),
        (b, (rsb, csb)),
        beta,
        (c, (rsc, csc)),
        blocks(m, k, n, rayon::current_num_threads()),
    );
}

/// Block starts are multiples of this: of every `matrixmultiply` f32 kernel's
/// tile sides (4, 8, 16) and of its row panel (64 rows), so a block never
/// begins inside a tile.
const SPLIT_ALIGN: usize = 64;

/// Whether [`direct_gemm`] computes a product (same bits either way): where
/// `matrixmultiply` would pack a right operand that is transposed (its
/// columns apart) and larger than the caches, reading it across its rows.
/// That is the LSTM-MAESTRO read-out's `dz·Wᵀ` (64 × 359 × 11 520): 38–41
/// GFLOP/s on one core packed, 60–64 direct; on the other products measured
/// (the read-out's other two, the recurrences' weight gradients, the MLPs')
/// packing paid, 77–103 against 53–92.
fn direct_pays(k: usize, n: usize, csb: usize) -> bool {
    csb != 1 && k * n >= 1 << 20
}

/// Below this many multiply-adds a second thread costs more than it saves.
const MIN_BLOCK_MACS: usize = 1 << 19;

/// How many blocks to cut a product into for `threads` threads.
fn blocks(m: usize, k: usize, n: usize, threads: usize) -> usize {
    let side = m.max(n);
    let by_size = (m * k * n / MIN_BLOCK_MACS).max(1);
    threads.min(side / SPLIT_ALIGN).min(by_size).max(1)
}

type Operand<'a> = (&'a [f32], (usize, usize));

fn gemm_in_blocks(
    (m, k, n): (usize, usize, usize),
    (a, (rsa, csa)): Operand<'_>,
    (b, (rsb, csb)): Operand<'_>,
    beta: f32,
    (c, (rsc, csc)): (&mut [f32], (usize, usize)),
    blocks: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    let last = |rows: usize, cols: usize, rs: usize, cs: usize| (rows - 1) * rs + (cols - 1) * cs;
    assert!(last(m, n, rsc, csc) < c.len(), "gemm: c out of bounds");
    let injective =
        |outer: usize, inner: usize, inner_count: usize| inner >= 1 && outer >= inner * inner_count;
    assert!(
        m == 1 || n == 1 || injective(rsc, csc, n) || injective(csc, rsc, m),
        "gemm: c's strides alias its elements"
    );
    if k == 0 {
        c.iter_mut().for_each(|v| *v *= beta);
        return;
    }
    assert!(last(m, k, rsa, csa) < a.len(), "gemm: a out of bounds");
    assert!(last(k, n, rsb, csb) < b.len(), "gemm: b out of bounds");
    let direct = direct_gemm::available() && direct_pays(k, n, csb);
    // The direct kernel reads `b` row by row, so it wants `b`'s columns
    // adjacent: as given, or as `cᵀ = bᵀ·aᵀ` when `a`'s rows are, or else with
    // the smaller operand copied so.
    let copy;
    let (m, k, n, (a, (rsa, csa)), (b, (rsb, csb)), (rsc, csc)) = if !direct || csb == 1 {
        (m, k, n, (a, (rsa, csa)), (b, (rsb, csb)), (rsc, csc))
    } else if rsa == 1 {
        (n, k, m, (b, (csb, rsb)), (a, (csa, rsa)), (csc, rsc))
    } else if n <= m {
        copy = row_major(b, (k, n), (rsb, csb));
        (m, k, n, (a, (rsa, csa)), (&copy[..], (n, 1)), (rsc, csc))
    } else {
        copy = row_major(a, (k, m), (csa, rsa));
        (n, k, m, (b, (csb, rsb)), (&copy[..], (m, 1)), (csc, rsc))
    };
    // Cut the longer side of `c` into `blocks` runs of whole SPLIT_ALIGN units.
    let (side, by_rows) = if m >= n { (m, true) } else { (n, false) };
    let units = side.div_ceil(SPLIT_ALIGN);
    let cuts: Vec<(usize, usize)> = (0..blocks)
        .map(|i| {
            let lo = (i * units / blocks * SPLIT_ALIGN).min(side);
            let hi = ((i + 1) * units / blocks * SPLIT_ALIGN).min(side);
            (lo, hi)
        })
        .filter(|(lo, hi)| hi > lo)
        .collect();
    let c_ptr = SharedMut(c.as_mut_ptr());
    let block = |&(lo, hi): &(usize, usize)| {
        let (rows, cols, a_at, b_at, c_at) = if by_rows {
            (hi - lo, n, lo * rsa, 0, lo * rsc)
        } else {
            (m, hi - lo, 0, lo * csb, lo * csc)
        };
        // SAFETY: every element addressed through the strides lies inside its
        // slice (asserted above for the whole product, of which this block is
        // a part; a transposed product addresses the same elements, a copy
        // is its operand's size); `c` is borrowed mutably, so it aliases
        // neither `a` nor `b`; blocks cover disjoint rows (or columns) of `c`,
        // and `c`'s strides give distinct elements distinct places (asserted
        // above), so no two threads write one place. The direct kernel runs
        // only where `available` said it may, with `b`'s columns adjacent.
        unsafe {
            if direct {
                direct_gemm::gemm(
                    (rows, k, cols),
                    a.as_ptr().add(a_at),
                    (rsa, csa),
                    b.as_ptr().add(b_at),
                    rsb,
                    beta,
                    c_ptr.at(c_at),
                    (rsc, csc),
                );
            } else {
                matrixmultiply::sgemm(
                    rows,
                    k,
                    cols,
                    1.0,
                    a.as_ptr().add(a_at),
                    rsa as isize,
                    csa as isize,
                    b.as_ptr().add(b_at),
                    rsb as isize,
                    csb as isize,
                    beta,
                    c_ptr.at(c_at),
                    rsc as isize,
                    csc as isize,
                );
            }
        }
    };
    if cuts.len() == 1 {
        cuts.iter().for_each(block);
    } else {
        cuts.par_iter().for_each(block);
    }
}

/// The `[rows, cols]` matrix at `strides` in `values`, copied row-major.
fn row_major(values: &[f32], (rows, cols): (usize, usize), (rs, cs): (usize, usize)) -> Vec<f32> {
    (0..rows)
        .flat_map(|i| (0..cols).map(move |j| values[i * rs + j * cs]))
        .collect()
}

/// `c`'s base pointer, handed to the threads that write its disjoint blocks.
#[derive(Clone, Copy)]
struct SharedMut(*mut f32);

// SAFETY: the pointer is only offset and written through by `gemm_in_blocks`,
// whose blocks are disjoint; the slice it came from outlives the parallel loop.
unsafe impl Send for SharedMut {}
unsafe impl Sync for SharedMut {}

impl SharedMut {
    /// The pointer `offset` elements on.
    ///
    /// # Safety
    /// `offset` must lie inside the slice the pointer came from.
    unsafe fn at(self, offset: usize) -> *mut f32 {
        // SAFETY: the caller keeps `offset` inside the slice.
        unsafe { self.0.add(offset) }
    }
}

/// A tensor's values on the host. burn-ndarray 0.21 hands over a buffer it owns
/// alone without copying, but copies a shared one (a parameter, an input the
/// graph also keeps) element by element through a dynamic-rank iterator, about
/// 10 ns a value: that was half of an RNN-MNIST train step. Multiplying by one
/// (exact) first makes a fresh buffer in one vectorized pass on any backend.
/// Call it on untracked tensors: on a tracked one the product is a graph node.
pub(crate) fn host_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    tensor_to_vec(t.mul_scalar(1.0))
}

/// Moves a value between two types that `TypeId` has shown to be the same.
fn cast<T: 'static, U: 'static>(value: T) -> Option<U> {
    let boxed: Box<dyn Any> = Box::new(value);
    boxed.downcast::<U>().ok().map(|b| *b)
}

/// A float tensor of `From` as one of `To`, two backends that `TypeId` has
/// shown to be the same.
pub(crate) fn retype<From: Backend, To: Backend, const D: usize>(
    t: Tensor<From, D>,
) -> Tensor<To, D> {
    let primitive: FloatTensor<To> = cast(t.into_primitive().tensor())
        .unwrap_or_else(|| unreachable!("TypeId matched, so the primitive types are equal"));
    Tensor::from_primitive(TensorPrimitive::Float(primitive))
}

/// Copies a tensor's values to the host as f32.
pub fn tensor_to_vec<B: Backend, const D: usize>(t: Tensor<B, D>) -> Vec<f32> {
    t.into_data()
        .convert::<f32>()
        .into_vec::<f32>()
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{differing_bits, matrixmultiply_product, values};

    /// The regression this guards: blocks that began inside one of the
    /// kernel's tiles would sum that tile's elements in another order, and a
    /// run's bits would follow the machine's core count.
    #[test]
    fn any_number_of_blocks_gives_the_one_call_bits() {
        // (m, k, n): long and wide outputs, ragged edges, the LSTM-MAESTRO
        // read-out's three products at a smaller k.
        for &(m, k, n) in &[
            (300, 37, 5),
            (7, 300, 517),
            (64, 700, 359),
            (700, 64, 359),
            (64, 359, 700),
            (129, 3, 130),
        ] {
            let (a, b, c0) = (values(m * k, 1), values(k * n, 2), values(m * n, 3));
            // a row-major and transposed, b row-major, c row-major.
            for (sa, beta) in [((k, 1), 0.0), ((1, m), 1.0)] {
                let one = {
                    let mut c = c0.clone();
                    gemm_in_blocks((m, k, n), (&a, sa), (&b, (n, 1)), beta, (&mut c, (n, 1)), 1);
                    c
                };
                for blocks in 2..=5 {
                    let mut c = c0.clone();
                    gemm_in_blocks(
                        (m, k, n),
                        (&a, sa),
                        (&b, (n, 1)),
                        beta,
                        (&mut c, (n, 1)),
                        blocks,
                    );
                    assert_eq!(
                        differing_bits(&one, &c),
                        0,
                        "{m}×{k}×{n}, a strides {sa:?}, {blocks} blocks"
                    );
                }
                // And the product is right: one row against a plain sum.
                let row = m / 2;
                for j in [0, n / 2, n - 1] {
                    let at = |i: usize, p: usize| a[i * sa.0 + p * sa.1];
                    let sum: f64 = (0..k)
                        .map(|p| f64::from(at(row, p)) * f64::from(b[p * n + j]))
                        .sum::<f64>()
                        + f64::from(beta * c0[row * n + j]);
                    assert!((f64::from(one[row * n + j]) - sum).abs() < 1e-4 * (k as f64).sqrt());
                }
            }
        }
    }

    /// The read-out's `dz·Wᵀ` at a smaller `k`: a transposed right operand
    /// large enough for the direct kernel gives `matrixmultiply`'s bits in
    /// one block and in two.
    #[test]
    fn a_large_transposed_right_operand_keeps_matrixmultiplys_bits() {
        let (m, k, n) = (64, 359, 2921);
        assert!(direct_pays(k, n, k));
        let (a, b, c0) = (values(m * k, 4), values(k * n, 5), values(m * n, 6));
        let expected = matrixmultiply_product((m, k, n), &a, (k, 1), &b, (1, k), 1.0, &c0, (n, 1));
        for blocks in [1, 2] {
            let mut c = c0.clone();
            gemm_in_blocks(
                (m, k, n),
                (&a, (k, 1)),
                (&b, (1, k)),
                1.0,
                (&mut c, (n, 1)),
                blocks,
            );
            assert_eq!(differing_bits(&expected, &c), 0, "{blocks} blocks");
        }
    }

    #[test]
    fn small_products_stay_on_one_thread_and_large_ones_split() {
        assert_eq!(blocks(64, 784, 128, 2), 2);
        assert_eq!(blocks(64, 11_520, 359, 2), 2);
        assert_eq!(blocks(64, 784, 10, 2), 1, "a side shorter than two blocks");
        assert_eq!(blocks(128, 8, 128, 2), 1, "too few multiply-adds");
        assert_eq!(blocks(64, 11_520, 359, 1), 1);
    }

    #[test]
    #[should_panic(expected = "alias")]
    fn strides_that_alias_c_are_refused() {
        let (a, b) = (values(4, 1), values(4, 2));
        let mut c = vec![0.0f32; 4];
        gemm((2, 2, 2), &a, (2, 1), &b, (2, 1), 0.0, &mut c, (1, 1));
    }
}
