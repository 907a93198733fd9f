//! Recurrent-specific gate biases.
//!
//! The forget-gate bias of 1 (Gers et al. 2000; Jozefowicz, Zaremba &
//! Sutskever 2015) needs no scheme of its own: it is `constant(value=1)`
//! assigned to the `gate-bias` group.

use rand::distributions::{Distribution as _, Uniform};

use crate::number::format_number;
use crate::scheme::{Initializer, Needs, Target};
use crate::spec::{Check, Key, Row, SchemeKind};
use crate::{Error, InitRng, Scheme};

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

/// `chrono(t_max=…)`.
pub const CHRONO: SchemeKind = SchemeKind {
    name: "chrono",
    aliases: &[],
    keys: &[Key::required("t_max")],
    row: Row {
        formula: "forget bias `log(U(1, t_max−1))`, input bias its negation",
        reference: "Tallec & Ollivier 2018",
        pytorch: "–",
        keras: "–",
    },
    parse: |keys| Ok(Scheme::new(Chrono { t_max: keys.number("t_max")? })),
};

impl Initializer for Chrono {
    fn name(&self) -> &'static str {
        CHRONO.name
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        vec![("t_max", format_number(self.t_max))]
    }

    fn validate(&self) -> Result<(), Error> {
        let t_max = self.t_max;
        let ok = t_max.is_finite() && t_max > 2.0;
        Check(self.name()).that("t_max", t_max, ok, "a finite number > 2")
    }

    fn needs(&self) -> Needs {
        Needs::Anything
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let uniform = Uniform::new(1.0, self.t_max - 1.0);
        (0..target.n)
            .map(|_| uniform.sample(rng).ln() as f32)
            .collect()
    }
}
