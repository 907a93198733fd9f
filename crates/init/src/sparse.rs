//! Sparse initialization (Martens 2010, "Deep learning via Hessian-free
//! optimization", §5), as PyTorch's `sparse_` does it.

use rand::seq::index;

use crate::elementwise::fill_normal;
use crate::InitRng;

/// A `rows × cols` matrix, row-major: every entry from `N(0, std²)`, then in
/// each column `⌈sparsity · rows⌉` rows, chosen uniformly without
/// replacement, set to zero.
pub(crate) fn sparse(
    rows: usize,
    cols: usize,
    sparsity: f64,
    std: f64,
    rng: &mut InitRng,
) -> Vec<f32> {
    let mut w = fill_normal(rows * cols, 0.0, std, rng);
    let zeros = zeros_per_column(rows, sparsity);
    for col in 0..cols {
        for row in index::sample(rng, rows, zeros) {
            w[row * cols + col] = 0.0;
        }
    }
    w
}

/// PyTorch's `math.ceil(sparsity * rows)`, capped at `rows`.
pub(crate) fn zeros_per_column(rows: usize, sparsity: f64) -> usize {
    ((sparsity * rows as f64).ceil() as usize).min(rows)
}
