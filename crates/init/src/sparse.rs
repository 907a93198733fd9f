//! Sparse initialization (Martens 2010, "Deep learning via Hessian-free
//! optimization", §5), as PyTorch's `sparse_` does it.

use rand::seq::index;

use crate::elementwise::fill_normal;
use crate::number::format_number;
use crate::scheme::{Initializer, Layer, Needs, Target};
use crate::spec::{Check, Key, Row, SchemeKind};
use crate::{Error, InitRng, Scheme};

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

/// `sparse(sparsity=…,std=0.01)`.
pub const SPARSE: SchemeKind = SchemeKind {
    name: "sparse",
    aliases: &[],
    keys: &[Key::required("sparsity"), Key::new("std", "0.01")],
    row: Row {
        formula: "`N(0, std²)`, then `⌈sparsity·out⌉` zeros per column; 2-D only",
        reference: "Martens 2010",
        pytorch: "`sparse_`",
        keras: "–",
    },
    parse: |keys| {
        Ok(Scheme::new(Sparse {
            sparsity: keys.number("sparsity")?,
            std: keys.number("std")?,
        }))
    },
};

impl Initializer for Sparse {
    fn name(&self) -> &'static str {
        SPARSE.name
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let (sparsity, std) = (format_number(self.sparsity), format_number(self.std));
        vec![("sparsity", sparsity), ("std", std)]
    }

    fn validate(&self) -> Result<(), Error> {
        let (check, sparsity) = (Check(self.name()), self.sparsity);
        let fraction = (0.0..=1.0).contains(&sparsity);
        check.that("sparsity", sparsity, fraction, "a number in [0, 1]")?;
        check.positive("std", self.std)
    }

    fn needs(&self) -> Needs {
        Needs::TwoDims
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
fn sparse(
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
fn zeros_per_column(rows: usize, sparsity: f64) -> usize {
    ((sparsity * rows as f64).ceil() as usize).min(rows)
}
