//! Statistics of a sampled tensor, for `cargo xtask init` and for reports.

use std::fmt;

use crate::fans::{format_shape, numel};
use crate::Error;

/// Count, moments, range and (for 2+ dims) orthogonality of a tensor.
#[derive(Clone, Debug, PartialEq)]
pub struct Summary {
    /// The shape, PyTorch layout.
    pub shape: Vec<usize>,
    /// The number of elements.
    pub count: usize,
    /// The mean, accumulated in `f64`.
    pub mean: f64,
    /// The population standard deviation (divided by `count`).
    pub std: f64,
    /// The smallest element.
    pub min: f32,
    /// The largest element.
    pub max: f32,
    /// How far the weight is from a scaled orthogonal one; `None` for fewer
    /// than 2 dims, an empty tensor, or an all-zero Gram diagonal.
    pub orthogonality: Option<Orthogonality>,
}

/// The Gram matrix `G` of a weight flattened to `rows × cols`, taken on its
/// short side (`WᵀW` if `rows ≥ cols`, else `WWᵀ`), compared with `c · I`.
///
/// For `orthogonal(gain=g)`, `c = g²` and the error is the `f32` rounding,
/// about 1e-8 for 1440×360; for an i.i.d. Gaussian weight it is of order `1/√rows`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orthogonality {
    /// `c`, the mean of `diag G`: the squared gain if the weight is a scaled
    /// orthogonal matrix.
    pub gram_scale: f64,
    /// `max |G − c·I| / c`: the largest deviation, relative to `c`.
    pub max_abs_error: f64,
    /// `‖G − c·I‖_F / (c · √k)` for a `k × k` Gram: the RMS deviation per
    /// row, relative to `c`.
    pub frobenius_error: f64,
}

/// Summarizes `values` of `shape`.
///
/// # Errors
/// [`Error::LengthMismatch`] if `values` does not fill `shape`.
pub fn summary(values: &[f32], shape: &[usize]) -> Result<Summary, Error> {
    let count = numel(shape)?;
    if values.len() != count {
        return Err(Error::LengthMismatch {
            len: values.len(),
            shape: shape.to_vec(),
            expected: count,
        });
    }
    let n = count.max(1) as f64;
    let mean = values.iter().map(|&x| f64::from(x)).sum::<f64>() / n;
    let var = values
        .iter()
        .map(|&x| (f64::from(x) - mean).powi(2))
        .sum::<f64>()
        / n;
    let (min, max) = if values.is_empty() {
        (f32::NAN, f32::NAN)
    } else {
        values
            .iter()
            .fold((f32::INFINITY, f32::NEG_INFINITY), |(lo, hi), &x| {
                (lo.min(x), hi.max(x))
            })
    };
    let orthogonality = match shape {
        [rows, ..] if shape.len() >= 2 && count > 0 => orthogonality(values, *rows, count / rows),
        _ => None,
    };
    Ok(Summary {
        shape: shape.to_vec(),
        count,
        mean,
        std: var.sqrt(),
        min,
        max,
        orthogonality,
    })
}

/// See [`Orthogonality`]; `w` is row-major `rows × cols`.
fn orthogonality(w: &[f32], rows: usize, cols: usize) -> Option<Orthogonality> {
    // Work on the short side k: rows of `vectors` are the k-vectors whose
    // outer products sum to G.
    let (k, gram) = if rows >= cols {
        // WᵀW = Σ_i w_i w_iᵀ over the rows w_i (length cols).
        let mut g = vec![0.0_f64; cols * cols];
        let mut row = vec![0.0_f64; cols];
        for r in w.chunks_exact(cols) {
            for (x, &y) in row.iter_mut().zip(r) {
                *x = f64::from(y);
            }
            for (i, &xi) in row.iter().enumerate() {
                for (gij, &xj) in g[i * cols..(i + 1) * cols].iter_mut().zip(&row) {
                    *gij += xi * xj;
                }
            }
        }
        (cols, g)
    } else {
        // WWᵀ[i][j] = dot of rows i and j.
        let as64: Vec<f64> = w.iter().map(|&x| f64::from(x)).collect();
        let mut g = vec![0.0_f64; rows * rows];
        for i in 0..rows {
            let ri = &as64[i * cols..(i + 1) * cols];
            for j in 0..rows {
                let rj = &as64[j * cols..(j + 1) * cols];
                g[i * rows + j] = ri.iter().zip(rj).map(|(a, b)| a * b).sum();
            }
        }
        (rows, g)
    };
    let c = (0..k).map(|i| gram[i * k + i]).sum::<f64>() / k as f64;
    if c.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    let mut max_abs = 0.0_f64;
    let mut sum_sq = 0.0_f64;
    for i in 0..k {
        for j in 0..k {
            let d = gram[i * k + j] - if i == j { c } else { 0.0 };
            max_abs = max_abs.max(d.abs());
            sum_sq += d * d;
        }
    }
    Some(Orthogonality {
        gram_scale: c,
        max_abs_error: max_abs / c,
        frobenius_error: sum_sq.sqrt() / (c * (k as f64).sqrt()),
    })
}

impl fmt::Display for Summary {
    /// One `name: value` line per statistic.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "shape: {}", format_shape(&self.shape))?;
        writeln!(f, "count: {}", self.count)?;
        writeln!(f, "mean:  {:.6e}", self.mean)?;
        writeln!(f, "std:   {:.6e}", self.std)?;
        writeln!(f, "min:   {:.6e}", self.min)?;
        write!(f, "max:   {:.6e}", self.max)?;
        if let Some(o) = self.orthogonality {
            writeln!(f)?;
            writeln!(f, "gram scale c = mean diag(G):     {:.6e}", o.gram_scale)?;
            writeln!(
                f,
                "orthogonality max|G - cI| / c:   {:.3e}",
                o.max_abs_error
            )?;
            write!(
                f,
                "orthogonality |G - cI|_F/(c√k):  {:.3e}",
                o.frobenius_error
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_of_known_values() {
        let s = summary(&[1.0, 2.0, 3.0, 6.0], &[4]).unwrap();
        assert_eq!(s.count, 4);
        assert_eq!(s.mean, 3.0);
        assert_eq!(s.std, 3.5_f64.sqrt());
        assert_eq!((s.min, s.max), (1.0, 6.0));
        assert_eq!(s.orthogonality, None);
    }

    #[test]
    fn orthogonality_of_a_scaled_permutation_is_exact() {
        // Rows of 2·P (3×3 permutation) and its 2×3 / 3×2 slices.
        let w = [0.0, 2.0, 0.0, 0.0, 0.0, 2.0, 2.0, 0.0, 0.0];
        let o = summary(&w, &[3, 3]).unwrap().orthogonality.unwrap();
        assert_eq!(
            (o.gram_scale, o.max_abs_error, o.frobenius_error),
            (4.0, 0.0, 0.0)
        );
        let o = summary(&w[..6], &[2, 3]).unwrap().orthogonality.unwrap();
        assert_eq!((o.gram_scale, o.max_abs_error), (4.0, 0.0));
        let o = summary(&w[..6], &[3, 2]).unwrap().orthogonality.unwrap();
        assert!(o.max_abs_error > 0.5);
    }

    #[test]
    fn summary_rejects_a_short_buffer() {
        assert!(matches!(
            summary(&[1.0], &[2, 2]),
            Err(Error::LengthMismatch { expected: 4, .. })
        ));
        assert_eq!(summary(&[0.0; 4], &[2, 2]).unwrap().orthogonality, None);
    }
}
