//! Backpropagation through time in a wide Elman RNN at initialization,
//! h_t = φ(u_t), u_t = W h_{t−1} + U x_t + b.
//!
//! The recurrence is a deep network with one weight matrix shared by every
//! step and a fresh input each step. With W's entries i.i.d. of variance
//! σ_w²/H, U's of variance σ_u²/I and b's of variance σ_b², the mean-field
//! pre-activation second moment follows the length map with the input's drive
//! σ_u² q_x (q_x the input's mean square per feature) added to σ_b²:
//!
//!   q_t = σ_w² E[φ(√q_{t−1} z)²] + σ_u² q_x + σ_b²,  z ~ N(0, 1),
//!
//! from q_1 = σ_u² q_x + σ_b² (h_0 = 0) towards its fixed point q*. Backwards,
//! ∂L/∂h_{t−1} = Wᵀ D_t ∂L/∂h_t with D_t = diag φ′(u_t), so
//! E‖∂L/∂h_{t−1}‖² = χ ‖∂L/∂h_t‖² per step with χ = σ_w² E[φ′(√q z)²]: the
//! squared norm changes by χ per step, the norm by √χ.
//!
//! A W whose singular values all equal g (g·I, g × an orthogonal matrix)
//! scales every vector's norm by exactly g, so σ_w² = g² holds exactly, not
//! only in the mean over draws, in both maps; the per-step factor of the norm
//! is g √E[φ′²] (ReLU: g √(fraction of active units)). For W = g·I that
//! needs the active units to change from step to step: each unit's gradient
//! returns only to itself, so units active at every step carry it back by g.

use crate::maps::{derivative_cross_moment, MeanField};
use crate::{Activation, Error};

/// What is known of the recurrent weights W.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RecurrentWeights {
    /// Independent zero-mean entries of variance σ_w²/H (the mean-field case).
    Random {
        /// σ_w²: the entries' variance times H.
        sigma_w2: f64,
    },
    /// Every singular value equals `gain` (identity or orthogonal, scaled).
    Isometry {
        /// g.
        gain: f64,
    },
}

impl RecurrentWeights {
    /// σ_w² of the maps: itself, or g².
    pub fn sigma_w2(self) -> f64 {
        match self {
            RecurrentWeights::Random { sigma_w2 } => sigma_w2,
            RecurrentWeights::Isometry { gain } => gain * gain,
        }
    }
}

/// An Elman layer's backward factor per time step at initialization.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RecurrentFactor {
    /// q*, the fixed point of the length map with the input's drive
    /// (∞ where an unbounded φ's length map grows without limit).
    pub q_star: f64,
    /// χ = σ_w² E[φ′(√q* z)²]: the factor of E‖∂L/∂h_t‖² per step backwards.
    pub chi: f64,
    /// √χ: the factor of ‖∂L/∂h_t‖ per step backwards.
    pub norm_factor: f64,
}

/// The per-step backward factor of an Elman layer with φ = `activation`,
/// recurrent weights `weights`, input drive σ_u² q_x = `drive` and bias
/// variance `sigma_b2`, at the fixed point q*.
///
/// ReLU and linear have E[φ′²] independent of q > 0 (½ and 1), so their χ is
/// defined even where q grows without limit.
///
/// # Errors
/// [`Error::InvalidParameter`] for a negative or non-finite σ_w², drive or σ_b².
pub fn elman_backward_factor(
    activation: Activation,
    weights: RecurrentWeights,
    drive: f64,
    sigma_b2: f64,
) -> Result<RecurrentFactor, Error> {
    let sigma_w2 = weights.sigma_w2();
    check("sigma_w2", sigma_w2)?;
    check("drive", drive)?;
    check("sigma_b2", sigma_b2)?;
    let offset = drive + sigma_b2;
    if sigma_w2 == 0.0 {
        // No path back through W: the gradient stops after one step.
        return Ok(RecurrentFactor {
            q_star: offset,
            chi: 0.0,
            norm_factor: 0.0,
        });
    }
    let field = MeanField::new(activation, sigma_w2, offset)?;
    let q_star = match field.q_star() {
        Ok(q) => q,
        Err(Error::NoFixedPoint { .. }) => f64::INFINITY,
        Err(e) => return Err(e),
    };
    let chi = if q_star.is_infinite() {
        // Only unbounded φ get here: linear or ReLU, whose E[φ′²] is constant.
        sigma_w2 * derivative_cross_moment(activation, 1.0, 1.0, 1.0)
    } else {
        field.chi1_at(q_star)
    };
    Ok(RecurrentFactor {
        q_star,
        chi,
        norm_factor: chi.sqrt(),
    })
}

/// q_1 … q_T from h_0 = 0: the pre-activation second moments along a
/// sequence, before (and while) they reach q*.
pub fn elman_lengths(
    activation: Activation,
    weights: RecurrentWeights,
    drive: f64,
    sigma_b2: f64,
    steps: usize,
) -> Vec<f64> {
    let sigma_w2 = weights.sigma_w2();
    let mut q = Vec::with_capacity(steps);
    let mut previous_phi2 = 0.0;
    for _ in 0..steps {
        let next = sigma_w2 * previous_phi2 + drive + sigma_b2;
        previous_phi2 = crate::maps::second_moment(activation, next);
        q.push(next);
    }
    q
}

fn check(name: &'static str, value: f64) -> Result<(), Error> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidParameter {
            name,
            value,
            expected: "a finite number ≥ 0",
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn factor(a: Activation, w: RecurrentWeights, drive: f64, b: f64) -> RecurrentFactor {
        elman_backward_factor(a, w, drive, b).expect("valid parameters")
    }

    #[test]
    fn linear_chi_is_sigma_w2() {
        for s in [0.25, 0.81] {
            let f = factor(
                Activation::Linear,
                RecurrentWeights::Random { sigma_w2: s },
                1.0,
                0.0,
            );
            assert!((f.chi - s).abs() < 1e-15, "{f:?}");
            // q* = drive / (1 − σ_w²).
            assert!((f.q_star - 1.0 / (1.0 - s)).abs() < 1e-12, "{f:?}");
        }
    }

    #[test]
    fn relu_isometry_keeps_the_active_half() {
        // IRNN, W = g·I: norm factor g·√½ whatever the drive, even past q*'s existence.
        for (g, drive) in [(0.01, 1e-6), (1.0, 0.3), (1.5, 0.3)] {
            let f = factor(
                Activation::Relu,
                RecurrentWeights::Isometry { gain: g },
                drive,
                0.0,
            );
            assert!((f.norm_factor - g * 0.5f64.sqrt()).abs() < 1e-15, "{f:?}");
        }
        let grows = factor(
            Activation::Relu,
            RecurrentWeights::Isometry { gain: 1.5 },
            0.3,
            0.0,
        );
        assert!(grows.q_star.is_infinite());
    }

    #[test]
    fn tanh_without_drive_is_linear_at_zero_and_drive_lowers_chi() {
        let w = RecurrentWeights::Isometry { gain: 0.9 };
        let quiet = factor(Activation::Tanh, w, 0.0, 0.0);
        assert_eq!(quiet.q_star, 0.0);
        assert!((quiet.chi - 0.81).abs() < 1e-12, "{quiet:?}");
        let driven = factor(Activation::Tanh, w, 1.0, 0.0);
        assert!(driven.q_star > 1.0 && driven.chi < 0.81 * 0.7, "{driven:?}");
        // q* is a fixed point of the length map with the drive.
        let q = driven.q_star;
        let back = 0.81 * crate::second_moment(Activation::Tanh, q) + 1.0;
        assert!((back - q).abs() < 1e-10 * q);
    }

    #[test]
    fn zero_weights_stop_the_gradient_and_bad_input_is_named() {
        let f = factor(
            Activation::Tanh,
            RecurrentWeights::Random { sigma_w2: 0.0 },
            1.0,
            0.0,
        );
        assert_eq!((f.chi, f.q_star), (0.0, 1.0));
        let e = elman_backward_factor(
            Activation::Tanh,
            RecurrentWeights::Random { sigma_w2: 1.0 },
            -1.0,
            0.0,
        )
        .expect_err("negative drive");
        assert!(e.to_string().starts_with("drive = -1"), "{e}");
    }

    #[test]
    fn lengths_start_at_the_drive_and_approach_q_star() {
        let w = RecurrentWeights::Random { sigma_w2: 1.5 };
        let q = elman_lengths(Activation::Tanh, w, 0.5, 0.0, 200);
        assert_eq!(q[0], 0.5);
        let f = factor(Activation::Tanh, w, 0.5, 0.0);
        assert!(
            (q[199] - f.q_star).abs() < 1e-9,
            "{} vs {}",
            q[199],
            f.q_star
        );
    }
}
