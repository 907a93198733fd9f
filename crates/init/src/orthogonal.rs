//! Orthogonal initialization (Saxe, McClelland & Ganguli 2014), as PyTorch's
//! `orthogonal_` does it.
//!
//! # Algorithm
//! The weight is flattened to `rows × cols` with `rows = shape[0]` and `cols`
//! the product of the other dims. A Gaussian matrix of the taller of
//! `rows × cols` and its transpose is factored `A = QR`, `Q` is made unique
//! by the sign correction `Q ← Q · sign(diag R)`, transposed back if needed
//! and multiplied by the gain. The sign correction is what makes `Q` Haar
//! distributed (Mezzadri 2007); without it `Q` depends on the QR routine.
//!
//! # Notes
//! The QR is a Householder factorization in `f64` on the host, with the
//! reflector chosen so that `diag R ≥ 0` from the start (Golub & Van Loan,
//! *Matrix Computations*, Algorithm 5.1.1), which is the sign-corrected `Q`
//! with no correction step. Its loops run over contiguous columns in a fixed
//! order, so the result is the same bit for bit on every IEEE machine.

use rand::Rng;
use rand_distr::StandardNormal;

use crate::scheme::{Initializer, Layer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::{Error, InitRng, Scheme};

/// `orthogonal(gain=1)`.
pub const ORTHOGONAL: SchemeKind = SchemeKind::new(
    "orthogonal(gain=1) | `gain·Q`, `QR` of a Gaussian `max×min` matrix with `diag R > 0`; 2+ dims, flattened to `(out, in·r)` | Saxe et al. 2014 | `orthogonal_` | `Orthogonal`",
    |keys| keys.number("gain").map(|gain| Scheme::new(Orthogonal { gain })),
);

/// `gain · Q`, `Q` from the sign-corrected QR of a Gaussian matrix (Saxe et
/// al. 2014); shapes of more than 2 dims are flattened to
/// `(out, in · receptive)`. Spec `orthogonal(gain=1)`. PyTorch `orthogonal_`,
/// Keras `Orthogonal`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Orthogonal {
    /// Gain; finite, `> 0`.
    pub gain: f64,
}

impl Initializer for Orthogonal {
    fn spec(&self) -> Spec {
        Spec::new(ORTHOGONAL.name, Needs::Matrix).positive("gain", self.gain)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let (rows, cols) = target.matrix();
        orthogonal(rows, cols, self.gain, rng)
    }

    /// Each entry of a matrix with orthonormal rows or columns.
    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        let f = layer.fans()?;
        let rows = layer.shape.first().copied().unwrap_or(f.fan_out);
        Ok(Some(self.gain * self.gain / (rows.max(f.fan_in) as f64)))
    }

    fn orthogonal_gain(&self) -> Option<f64> {
        Some(self.gain)
    }
}

/// Samples `gain · Q` for a weight of `rows × cols` (flattened), row-major.
pub(crate) fn orthogonal(rows: usize, cols: usize, gain: f64, rng: &mut InitRng) -> Vec<f32> {
    if rows == 0 || cols == 0 {
        return Vec::new();
    }
    let (m, n) = if rows >= cols {
        (rows, cols)
    } else {
        (cols, rows)
    };
    let mut a: Vec<f64> = (0..m * n).map(|_| rng.sample(StandardNormal)).collect();
    let q = thin_q(&mut a, m, n);
    if rows >= cols {
        // W = Q: transpose the column-major m×n into row-major rows×cols.
        let mut w = vec![0.0_f32; m * n];
        for (j, column) in q.chunks_exact(m).enumerate() {
            for (i, &x) in column.iter().enumerate() {
                w[i * n + j] = (gain * x) as f32;
            }
        }
        w
    } else {
        // W = Qᵀ: the column-major m×n buffer is already row-major n×m.
        q.iter().map(|&x| (gain * x) as f32).collect()
    }
}

/// The `m × n` (`m ≥ n`) factor `Q` with orthonormal columns of the QR
/// decomposition of the column-major `a`, with `diag R ≥ 0`. `a` is
/// overwritten by `R` and the Householder vectors.
///
/// About `4mn² − 4n³/3` flops, in loops over contiguous columns that the
/// compiler vectorizes. At 1440×360 this is bound by arithmetic, not memory:
/// applying reflectors two per pass over the matrix gained only 5%, so the
/// plain loop stays.
pub(crate) fn thin_q(a: &mut [f64], m: usize, n: usize) -> Vec<f64> {
    debug_assert!(m >= n && a.len() == m * n);
    let mut beta = vec![0.0; n];
    for k in 0..n {
        let (done, rest) = a.split_at_mut((k + 1) * m);
        let column = &mut done[k * m + k..];
        beta[k] = householder(column);
        let v = &column[1..];
        for other in rest.chunks_exact_mut(m) {
            reflect(beta[k], v, &mut other[k..]);
        }
    }
    // Backward accumulation: Q = H₀ ⋯ Hₙ₋₁ [I; 0], applying Hₖ to Q[k.., k..].
    let mut q = vec![0.0; m * n];
    for j in 0..n {
        q[j * m + j] = 1.0;
    }
    for k in (0..n).rev() {
        let v = &a[k * m + k + 1..(k + 1) * m];
        for column in q.chunks_exact_mut(m).skip(k) {
            reflect(beta[k], v, &mut column[k..]);
        }
    }
    q
}

/// Turns `x` into the Householder vector `v` (with `v₀ = 1` implied, `x₀`
/// overwritten by `‖x‖`, the rest by `v₁..`) of `H = I − β v vᵀ` with
/// `H x = ‖x‖ e₀`, and returns `β`.
fn householder(x: &mut [f64]) -> f64 {
    let sigma = dot(&x[1..], &x[1..]);
    let x0 = x[0];
    if sigma == 0.0 && x0 >= 0.0 {
        return 0.0;
    }
    let norm = (x0 * x0 + sigma).sqrt();
    // x₀ − ‖x‖ without cancellation when x₀ > 0.
    let v0 = if x0 <= 0.0 {
        x0 - norm
    } else {
        -sigma / (x0 + norm)
    };
    let beta = 2.0 * v0 * v0 / (sigma + v0 * v0);
    x[0] = norm;
    for xi in &mut x[1..] {
        *xi /= v0;
    }
    beta
}

/// `y ← (I − β v vᵀ) y` with `v = (1, tail)`.
fn reflect(beta: f64, tail: &[f64], y: &mut [f64]) {
    if beta == 0.0 {
        return;
    }
    let (y0, y_tail) = y.split_at_mut(1);
    let w = beta * (y0[0] + dot(tail, y_tail));
    y0[0] -= w;
    for (yi, &vi) in y_tail.iter_mut().zip(tail) {
        *yi -= w * vi;
    }
}

/// A dot product with four running sums, in a fixed order so that it is
/// reproducible and still vectorizes.
fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0_f64; 4];
    let (a4, a_rest) = a.split_at(a.len() / 4 * 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (ca, cb) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for l in 0..4 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut sum = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a_rest.iter().zip(b_rest) {
        sum += x * y;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init_rng;

    fn gaussian(m: usize, n: usize, seed: u64) -> Vec<f64> {
        let mut rng = init_rng(seed);
        (0..m * n).map(|_| rng.sample(StandardNormal)).collect()
    }

    #[test]
    fn thin_q_times_r_gives_back_a_with_positive_diagonal() {
        let (m, n) = (37, 11);
        let a = gaussian(m, n, 300);
        let mut work = a.clone();
        let q = thin_q(&mut work, m, n);
        // R is the upper triangle of `work`.
        for i in 0..m {
            for j in 0..n {
                let qr: f64 = (0..=j).map(|k| q[k * m + i] * work[j * m + k]).sum();
                assert!((qr - a[j * m + i]).abs() < 1e-12, "A[{i},{j}]");
            }
        }
        for k in 0..n {
            assert!(work[k * m + k] > 0.0, "R[{k},{k}] = {}", work[k * m + k]);
        }
    }

    #[test]
    fn thin_q_has_orthonormal_columns() {
        let (m, n) = (50, 50);
        let mut a = gaussian(m, n, 301);
        let q = thin_q(&mut a, m, n);
        for i in 0..n {
            for j in 0..n {
                let g = dot(&q[i * m..(i + 1) * m], &q[j * m..(j + 1) * m]);
                let expected = if i == j { 1.0 } else { 0.0 };
                assert!((g - expected).abs() < 1e-13, "QᵀQ[{i},{j}] = {g}");
            }
        }
    }

    #[test]
    fn householder_handles_already_reduced_columns() {
        let mut x = [-3.0, 0.0, 0.0];
        let beta = householder(&mut x);
        let mut y = [-3.0, 0.0, 0.0];
        reflect(beta, &x[1..], &mut y);
        assert_eq!(y, [3.0, 0.0, 0.0]);
        let mut x = [2.0, 0.0];
        assert_eq!(householder(&mut x), 0.0);
    }

    #[test]
    fn dot_matches_naive_sum() {
        let a: Vec<f64> = (0..11).map(f64::from).collect();
        let b: Vec<f64> = (0..11).map(|i| f64::from(i) * 0.5).collect();
        let naive: f64 = a.iter().zip(&b).map(|(x, y)| x * y).sum();
        assert_eq!(dot(&a, &b), naive);
    }
}
