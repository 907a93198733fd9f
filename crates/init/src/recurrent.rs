//! Recurrent-specific gate biases.
//!
//! The forget-gate bias of 1 (Gers et al. 2000; Jozefowicz, Zaremba &
//! Sutskever 2015) needs no scheme of its own: it is `constant(value=1)`
//! assigned to the `gate-bias` group.

use rand::distributions::{Distribution as _, Uniform};

use crate::scheme::{Initializer, Needs, Spec, Target};
use crate::spec::SchemeKind;
use crate::{InitRng, Scheme};

/// `chrono(t_max=…)`.
pub const CHRONO: SchemeKind = SchemeKind::new(
    "chrono(t_max=…) | forget bias `log(U(1, t_max−1))`, input bias its negation | Tallec & Ollivier 2018 | – | –",
    |keys| keys.number("t_max").map(|t_max| Scheme::new(Chrono { t_max })),
);

/// Chrono initialization (Tallec & Ollivier 2018, "Can recurrent neural
/// networks warp time?"): `b_f = log(U(1, T_max − 1))` for the forget gate.
/// Spec `chrono(t_max=…)`, `t_max` required.
///
/// The paper sets the input-gate bias to `b_i = −b_f`; the model applies that
/// by negating this same sample.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Chrono {
    /// The longest time dependency expected, in steps; finite, `> 2`.
    pub t_max: f64,
}

impl Initializer for Chrono {
    fn spec(&self) -> Spec {
        let t_max = self.t_max;
        let ok = t_max.is_finite() && t_max > 2.0;
        Spec::new(CHRONO.name, Needs::Anything)
            .number("t_max", t_max)
            .that("t_max", t_max, ok, "a finite number > 2")
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let uniform = Uniform::new(1.0, self.t_max - 1.0);
        (0..target.n)
            .map(|_| uniform.sample(rng).ln() as f32)
            .collect()
    }
}
