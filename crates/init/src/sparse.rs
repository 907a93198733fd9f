//! Sparse initialization (Martens 2010, "Deep learning via Hessian-free
//! optimization", §5), as PyTorch's `sparse_` does it.

use rand::seq::index;

use crate::elementwise::fill_normal;
use crate::scheme::{Initializer, Layer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::{Error, InitRng, Scheme};

/// `sparse(sparsity=…,std=0.01)`.
pub const SPARSE: SchemeKind = SchemeKind::new(
    "sparse(sparsity=…,std=0.01) | `N(0, std²)`, then `⌈sparsity·out⌉` zeros per column; 2-D only | Martens 2010 | `sparse_` | –",
    |keys| {
        let [sparsity, std] = keys.numbers(["sparsity", "std"])?;
        Ok(Scheme::new(Sparse { sparsity, std }))
    },
);

/// `N(0, std²)`, then `⌈sparsity · out⌉` entries of each column set to zero.
/// 2-D only. Spec `sparse(sparsity=…,std=0.01)`, `sparsity` required.
/// PyTorch `sparse_` (same default std).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sparse {
    /// Fraction of each column set to zero; in `[0, 1]`.
    pub sparsity: f64,
    /// Standard deviation of the non-zero entries; finite, `> 0`.
    pub std: f64,
}

impl Initializer for Sparse {
    fn spec(&self) -> Spec {
        let sparsity = self.sparsity;
        let fraction = (0.0..=1.0).contains(&sparsity);
        Spec::new(SPARSE.name, Needs::TwoDims)
            .number("sparsity", sparsity)
            .that("sparsity", sparsity, fraction, "a number in [0, 1]")
            .positive("std", self.std)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let (rows, cols) = (target.shape[0], target.shape[1]);
        sparse(rows, cols, self.sparsity, self.std, rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        let rows = layer.shape.first().copied().unwrap_or(0).max(1);
        let kept = 1.0 - zeros_per_column(rows, self.sparsity) as f64 / rows as f64;
        Ok(Some(self.std * self.std * kept))
    }
}

/// A `rows × cols` matrix, row-major: every entry from `N(0, std²)`, then in
/// each column `⌈sparsity · rows⌉` rows, chosen uniformly without
/// replacement, set to zero.
fn sparse(rows: usize, cols: usize, sparsity: f64, std: f64, rng: &mut InitRng) -> Vec<f32> {
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
fn zeros_per_column(rows: usize, sparsity: f64) -> usize {
    ((sparsity * rows as f64).ceil() as usize).min(rows)
}
