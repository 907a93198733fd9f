//! The order/chaos boundary: the σ_w² where χ₁ = 1 for a given σ_b².

use crate::activation::Activation;
use crate::maps::MeanField;
use crate::Error;

/// The largest σ_w² the search for the boundary tries.
const SEARCH_LIMIT: f64 = 1e6;

/// The critical σ_w² for φ and σ_b²: where χ₁ = 1, the edge of chaos.
///
/// Linear and ReLU have it in closed form (χ₁ = σ_w² and σ_w²/2, whatever
/// σ_b²). For tanh and sigmoid χ₁ rises with σ_w² at fixed σ_b², so the root
/// is bracketed by doubling and found by bisection to a relative 1e-13; each
/// step solves for q* afresh.
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative or non-finite σ_b²,
/// [`Error::NoCriticalPoint`] if χ₁ stays below 1 up to σ_w² = 10⁶.
pub fn critical_sigma_w2(activation: Activation, sigma_b2: f64) -> Result<f64, Error> {
    // Validates σ_b².
    MeanField::new(activation, 1.0, sigma_b2)?;
    match activation {
        Activation::Linear => return Ok(1.0),
        Activation::Relu => return Ok(2.0),
        Activation::Tanh | Activation::Sigmoid => {}
    }
    let chi1 = |sigma_w2: f64| -> Result<f64, Error> {
        let field = MeanField::new(activation, sigma_w2, sigma_b2)?;
        Ok(field.chi1_at(field.q_star()?))
    };
    let (mut lo, mut hi) = (1e-3, 1.0);
    while chi1(hi)? <= 1.0 {
        lo = hi;
        hi *= 2.0;
        if hi > SEARCH_LIMIT {
            return Err(Error::NoCriticalPoint {
                activation: activation.name(),
                sigma_b2,
                limit: SEARCH_LIMIT,
            });
        }
    }
    while hi - lo > 1e-13 * hi {
        let mid = 0.5 * (lo + hi);
        if chi1(mid)? <= 1.0 {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    Ok(0.5 * (lo + hi))
}

/// One point of the order/chaos boundary.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BoundaryPoint {
    /// σ_b².
    pub sigma_b2: f64,
    /// The critical σ_w² there.
    pub sigma_w2: f64,
}

/// The boundary at each σ_b² given: what a phase diagram draws between the
/// ordered (left, χ₁ < 1) and chaotic (right, χ₁ > 1) phases.
///
/// # Errors
/// As [`critical_sigma_w2`], for the first σ_b² that fails.
pub fn phase_boundary(
    activation: Activation,
    sigma_b2s: &[f64],
) -> Result<Vec<BoundaryPoint>, Error> {
    sigma_b2s
        .iter()
        .map(|&sigma_b2| {
            Ok(BoundaryPoint {
                sigma_b2,
                sigma_w2: critical_sigma_w2(activation, sigma_b2)?,
            })
        })
        .collect()
}
