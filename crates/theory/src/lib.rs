//! Mean-field signal propagation through wide random networks (Poole et al.
//! 2016, "Exponential expressivity in deep neural networks through transient
//! chaos"; Schoenholz et al. 2017, "Deep Information Propagation").
//!
//! A fully-connected network with weights N(0, σ_w²/fan_in), biases
//! N(0, σ_b²) and a pointwise φ has, as its width grows, Gaussian
//! pre-activations whose second moment q^l and the correlation c^l between two
//! inputs follow deterministic maps layer by layer. [`MeanField`] holds one
//! (φ, σ_w², σ_b²) and gives the maps, their fixed points q* and c*, the
//! slope χ₁ that separates order (χ₁ < 1: inputs' correlations go to 1) from
//! chaos (χ₁ > 1), and the depth scales ξ_q and ξ_c over which the fixed points
//! are approached. [`critical_sigma_w2`] finds the boundary χ₁ = 1 and
//! [`phase_boundary`] traces it over σ_b². Per-layer predictions for a network
//! whose layers differ ([`pre_activation_lengths`]) let a run's measured
//! activation statistics be read against the theory. [`elman_backward_factor`]
//! carries the same maps to an Elman RNN's recurrence: the per-step factor
//! of ‖∂L/∂h_t‖ backwards through time.
//!
//! Expectations over Gaussians are Gauss–Hermite quadrature (128 nodes) at
//! small variance and panelled Gauss–Legendre at large variance
//! ([`Quadrature`] states the accuracy); ReLU and linear use closed forms.
//! The crate knows nothing of tensors, backends or training.
//!
//! ```
//! use initlab_theory::{critical_sigma_w2, Activation, MeanField};
//!
//! let fixed = MeanField::new(Activation::Tanh, 1.5, 0.05)?.fixed_point()?;
//! assert!(fixed.chi1 < 1.0 && fixed.c_star == 1.0); // ordered
//! let edge = critical_sigma_w2(Activation::Tanh, 0.05)?;
//! assert!((edge - 1.76).abs() < 0.01);
//! # Ok::<(), initlab_theory::Error>(())
//! ```

#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod activation;
mod critical;
mod error;
mod maps;
mod quadrature;
mod recurrent;

pub use crate::{
    activation::Activation,
    critical::{critical_sigma_w2, phase_boundary, BoundaryPoint},
    error::Error,
    maps::{
        cross_moment, derivative_cross_moment, first_moment, post_activation_std,
        pre_activation_lengths, second_moment, FixedPoint, MeanField,
    },
    quadrature::{Quadrature, GH_MAX_VARIANCE, GH_NODES},
    recurrent::{elman_backward_factor, elman_lengths, RecurrentFactor, RecurrentWeights},
};
