#![doc = include_str!("../README.md")]
#![deny(missing_docs)]
#![forbid(unsafe_code)]

mod error;
mod fans;
mod gain;
mod npy;
mod number;
mod rng;
mod scheme;
mod spec;
mod summary;

pub mod defaults;
pub mod elementwise;
pub mod identity;
pub mod lsuv;
pub mod orthogonal;
pub mod recurrent;
pub mod sparse;
pub mod truncated;
pub mod variance_scaling;

use std::str::FromStr;

pub use crate::{
    error::Error,
    fans::{fans, format_shape, numel, parse_shape, FanMode, Fans},
    gain::{calculate_gain, Nonlinearity},
    lsuv::{lsuv, LsuvLayer, LsuvModel},
    npy::npy_bytes,
    number::format_number,
    rng::{init_rng, InitRng},
    scheme::{Initializer, Layer, LsuvSettings, Needs, Scheme, Target},
    spec::{Check, Key, Keys, Names, Registry, Row, SchemeKind},
    summary::{summary, Orthogonality, Summary},
    variance_scaling::{Distribution, TRUNCATED_NORMAL_STD},
};

/// Every scheme a spec may name, in catalogue order: the one list a new
/// scheme joins (its kind lives in its family's file).
pub const SCHEMES: Registry = Registry(&[
    &elementwise::ZEROS,
    &elementwise::ONES,
    &elementwise::CONSTANT,
    &elementwise::UNIFORM,
    &elementwise::NORMAL,
    &truncated::TRUNCATED_NORMAL,
    &truncated::CLIPPED_NORMAL,
    &variance_scaling::XAVIER_UNIFORM,
    &variance_scaling::XAVIER_NORMAL,
    &variance_scaling::XAVIER_STANDARD,
    &variance_scaling::KAIMING_UNIFORM,
    &variance_scaling::KAIMING_NORMAL,
    &variance_scaling::LECUN_UNIFORM,
    &variance_scaling::LECUN_NORMAL,
    &variance_scaling::VARIANCE_SCALING,
    &orthogonal::ORTHOGONAL,
    &identity::IDENTITY,
    &sparse::SPARSE,
    &defaults::PYTORCH_LINEAR_DEFAULT,
    &defaults::PYTORCH_RNN_DEFAULT,
    &defaults::KERAS_DENSE_DEFAULT,
    &recurrent::CHRONO,
    &lsuv::LSUV,
]);

impl Scheme {
    /// Every spec name of [`SCHEMES`], in catalogue order (aliases last).
    pub const NAMES: Names = SCHEMES.names();
}

impl FromStr for Scheme {
    type Err = Error;

    /// Parses a spec against [`SCHEMES`] (see [`Registry::parse`]).
    fn from_str(spec: &str) -> Result<Self, Error> {
        SCHEMES.parse(spec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elementwise::{Constant, Normal, Uniform};
    use crate::orthogonal::Orthogonal;
    use crate::recurrent::Chrono;
    use crate::truncated::{BoundedNormal, Tails};
    use crate::variance_scaling::{Kaiming, Lecun, Xavier};

    fn parse(spec: &str) -> Scheme {
        spec.parse()
            .unwrap_or_else(|e| panic!("`{spec}` should parse: {e}"))
    }

    fn draw(spec: &str, shape: &[usize], seed: u64) -> Vec<f32> {
        parse(spec)
            .sample(shape, &mut init_rng(seed))
            .unwrap_or_else(|e| panic!("`{spec}` on {shape:?}: {e}"))
    }

    #[test]
    fn first_study_specs_parse_to_their_schemes() {
        assert_eq!(parse("zeros"), Scheme::new(Constant::Zeros));
        let normal = parse("normal(mean=0,std=1)");
        let expected = Normal {
            mean: 0.0,
            std: 1.0,
        };
        assert_eq!(normal.downcast_ref::<Normal>(), Some(&expected));
        let xavier = parse("xavier-normal(distribution=truncated-normal)");
        let expected = Xavier {
            gain: 1.0,
            distribution: Some(Distribution::TruncatedNormal),
        };
        assert_eq!(xavier.downcast_ref::<Xavier>(), Some(&expected));
        let kaiming = parse("kaiming-normal(distribution=truncated-normal)");
        let expected = Kaiming {
            mode: FanMode::FanIn,
            nonlinearity: Nonlinearity::LeakyRelu {
                negative_slope: 0.0,
            },
            distribution: Some(Distribution::TruncatedNormal),
        };
        assert_eq!(kaiming.downcast_ref::<Kaiming>(), Some(&expected));
        assert_eq!(kaiming.downcast_ref::<Xavier>(), None);
    }

    #[test]
    fn every_kind_parses_to_a_scheme_of_its_name() {
        for kind in SCHEMES.kinds() {
            let mut keys = kind.keys.iter().map(|k| k.name);
            assert!(keys.clone().zip(keys.clone().skip(1)).all(|(a, b)| a < b));
            if kind.keys.iter().any(|k| k.default.is_none()) {
                continue;
            }
            assert!(keys.all(|k| !k.is_empty()));
            let scheme = parse(kind.name);
            assert_eq!(scheme.name(), kind.name);
            // The catalogue's spec column is the canonical spec of the defaults.
            let column = kind.spec_with_defaults();
            assert!(column.starts_with(&format!("`{scheme}`")), "{column}");
        }
    }
    #[test]
    fn hand_written_invalid_schemes_error_instead_of_panicking() {
        let bad = [
            Scheme::new(Normal {
                mean: 0.0,
                std: -1.0,
            }),
            Scheme::new(Uniform {
                low: 1.0,
                high: 0.0,
            }),
            Scheme::new(Uniform {
                low: -f64::MAX,
                high: f64::MAX,
            }),
            Scheme::new(BoundedNormal {
                mean: 0.0,
                std: 1.0,
                low: f64::NAN,
                high: 1.0,
                tails: Tails::Redraw,
            }),
            Scheme::new(Kaiming {
                mode: FanMode::FanAvg,
                nonlinearity: Nonlinearity::Relu,
                distribution: None,
            }),
            Scheme::new(Lecun {
                distribution: Some(Distribution::Uniform),
            }),
            Scheme::new(Chrono { t_max: 1.0 }),
            Scheme::new(crate::lsuv::Lsuv {
                tolerance: 0.1,
                max_iter: 0,
                pre: Scheme::new(Orthogonal { gain: 1.0 }),
                batch: None,
            }),
            Scheme::new(crate::lsuv::Lsuv {
                tolerance: 0.1,
                max_iter: 10,
                pre: Scheme::new(Orthogonal { gain: 0.0 }),
                batch: None,
            }),
        ];
        for scheme in bad {
            assert!(
                matches!(
                    scheme.sample(&[4, 4], &mut init_rng(0)),
                    Err(Error::InvalidValue { .. })
                ),
                "{scheme:?}"
            );
        }
    }

    #[test]
    fn uniform_families_stay_within_their_bounds() {
        let (fan_in, fan_out) = (50.0_f64, 30.0_f64);
        let cases = [
            ("uniform(low=-0.3,high=0.7)", -0.3, 0.7),
            (
                "xavier-uniform(gain=2)",
                -2.0 * (6.0 / 80.0_f64).sqrt(),
                2.0 * (6.0 / 80.0_f64).sqrt(),
            ),
            ("xavier-standard", -1.0 / fan_in.sqrt(), 1.0 / fan_in.sqrt()),
            (
                "kaiming-uniform(mode=fan-out,nonlinearity=relu)",
                -(6.0 / fan_out).sqrt(),
                (6.0 / fan_out).sqrt(),
            ),
            (
                "lecun-uniform",
                -(3.0 / fan_in).sqrt(),
                (3.0 / fan_in).sqrt(),
            ),
            (
                "pytorch-linear-default",
                -1.0 / fan_in.sqrt(),
                1.0 / fan_in.sqrt(),
            ),
            ("truncated-normal(mean=1,std=3,low=0.5,high=1.5)", 0.5, 1.5),
            ("clipped-normal(mean=0,std=3,low=-1,high=2)", -1.0, 2.0),
            (
                "kaiming-normal(distribution=truncated-normal)",
                -2.0 * (2.0 / fan_in).sqrt() / TN,
                2.0 * (2.0 / fan_in).sqrt() / TN,
            ),
            ("chrono(t_max=10)", 0.0, 9.0_f64.ln()),
        ];
        for (spec, low, high) in cases {
            let w = draw(spec, &[30, 50], 8);
            let (lo, hi) = (low as f32, high as f32);
            assert!(
                w.iter().all(|&x| lo <= x && x <= hi),
                "{spec}: outside [{lo}, {hi}]: {:?}",
                w.iter()
                    .copied()
                    .fold((f32::MAX, f32::MIN), |(a, b), x| (a.min(x), b.max(x)))
            );
        }
    }

    const TN: f64 = crate::TRUNCATED_NORMAL_STD;

}
