//! Recurrent-specific gate biases.
//!
//! The forget-gate bias of 1 (Gers et al. 2000; Jozefowicz, Zaremba &
//! Sutskever 2015) needs no scheme of its own: it is `constant(value=1)`
//! assigned to the `gate-bias` group.

use rand::distributions::{Distribution as _, Uniform};

use crate::InitRng;

/// Chrono initialization (Tallec & Ollivier 2018, "Can recurrent neural
/// networks warp time?"): `b_f = log(U(1, T_max − 1))` for the forget gate.
///
/// The paper sets the input-gate bias to `b_i = −b_f`; the model applies that
/// by negating this same sample. The caller has checked `t_max > 2`.
pub(crate) fn chrono(n: usize, t_max: f64, rng: &mut InitRng) -> Vec<f32> {
    let uniform = Uniform::new(1.0, t_max - 1.0);
    (0..n).map(|_| uniform.sample(rng).ln() as f32).collect()
}
