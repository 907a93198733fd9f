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
    scheme::{Initializer, Layer, LsuvSettings, Needs, Scheme, Spec, Target},
    spec::{Key, Keys, Names, Registry, SchemeKind},
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

    fn fans(fan_in: usize, fan_out: usize) -> Fans {
        Fans { fan_in, fan_out }
    }

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
            let keys = kind.keys();
            let sorted = keys.windows(2).all(|w| w[0].name < w[1].name);
            assert!(sorted, "{}: keys in canonical order", kind.row);
            if keys.iter().any(|k| k.default.is_none()) {
                continue;
            }
            // The row's spec is the canonical spec of the defaults.
            let scheme = parse(kind.name);
            assert_eq!(scheme.name(), kind.name);
            assert_eq!(scheme.to_string(), kind.spec_with_defaults());
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

    #[test]
    fn fan_out_takes_the_first_dimension_of_a_2d_weight() {
        // The RNN study's `weight_ih_l0` (128, 28): n = 128, not 28.
        let w = draw("xavier-standard(mode=fan-out)", &[128, 28], 3);
        let bound = 1.0 / 128f32.sqrt();
        assert!(w.iter().all(|v| v.abs() <= bound));
        assert!(w.iter().any(|v| v.abs() > 0.95 * bound));
        assert_eq!(
            draw("xavier-standard", &[128, 28], 3),
            draw("xavier-standard(mode=fan-in)", &[128, 28], 3)
        );
        // The LSTM's gate-stacked (4H, in) weight: n = 4H = 1440.
        let w = draw(
            "kaiming-normal(mode=fan-out,nonlinearity=relu)",
            &[1440, 32],
            4,
        );
        let var = w.iter().map(|v| f64::from(*v).powi(2)).sum::<f64>() / w.len() as f64;
        assert!((var / (2.0 / 1440.0) - 1.0).abs() < 0.05, "{var}");
        let err = "xavier-standard(mode=fan-avg)"
            .parse::<Scheme>()
            .expect_err("fan-avg");
        assert!(err.to_string().contains("fan-in, fan-out"), "{err}");
    }

    #[test]
    fn canonical_strings_round_trip_for_every_scheme() {
        for spec in EXAMPLES {
            let scheme = parse(spec);
            let canonical = scheme.to_string();
            assert_eq!(parse(&canonical), scheme, "{spec} → {canonical}");
            assert_eq!(parse(&canonical).to_string(), canonical);
        }
    }

    /// One spec per scheme, with non-default values where there are keys.
    const EXAMPLES: [&str; 27] = [
        "zeros",
        "ones",
        "constant(value=0.5)",
        "uniform(low=-1,high=1)",
        "normal(mean=0,std=1)",
        "truncated-normal(mean=0,std=1,low=-2,high=2)",
        "clipped-normal(mean=0.1,std=3,low=-inf,high=2)",
        "xavier-uniform(gain=1.5)",
        "xavier-normal(gain=1)",
        "xavier-normal(distribution=truncated-normal)",
        "xavier-standard(mode=fan-out)",
        "kaiming-uniform(mode=fan-out,nonlinearity=relu)",
        "kaiming-normal(mode=fan-in,nonlinearity=leaky-relu,a=0.1)",
        "kaiming-normal(distribution=truncated-normal)",
        "kaiming-normal(nonlinearity=selu)",
        "lecun-uniform",
        "lecun-normal(distribution=truncated-normal)",
        "variance-scaling(scale=2,mode=fan-avg,distribution=uniform)",
        "orthogonal(gain=1)",
        "identity(scale=0.01)",
        "sparse(sparsity=0.9)",
        "pytorch-linear-default",
        "pytorch-rnn-default",
        "keras-dense-default",
        "chrono(t_max=784)",
        "lsuv(tolerance=0.05,max_iter=20)",
        "xavier-normalized",
    ];

    #[test]
    fn lsuv_draws_its_pre_init() {
        for (lsuv, pre) in [
            ("lsuv", "orthogonal"),
            ("lsuv(pre=kaiming-normal,batch=32)", "kaiming-normal"),
            ("lsuv(pre=normal)", "normal"),
        ] {
            assert_eq!(draw(lsuv, &[6, 9], 3), draw(pre, &[6, 9], 3), "{lsuv}");
        }
        assert_eq!(parse("lsuv(pre=normal)").orthogonal_gain(), None);
    }

    #[test]
    fn constants_are_exact() {
        assert_eq!(draw("zeros", &[3, 4], 0), vec![0.0; 12]);
        assert_eq!(draw("ones", &[5], 0), vec![1.0; 5]);
        assert_eq!(draw("constant(value=0.25)", &[2, 2, 2], 0), vec![0.25; 8]);
        assert_eq!(draw("constant(value=-3)", &[], 0), vec![-3.0]);
    }

    #[test]
    fn identity_is_exact_for_square_and_rectangular_shapes() {
        assert_eq!(
            draw("identity(scale=0.01)", &[3, 3], 0),
            vec![0.01, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0, 0.01]
        );
        assert_eq!(
            draw("identity", &[2, 3], 0),
            vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
        );
        assert_eq!(
            draw("identity(scale=2)", &[3, 2], 0),
            vec![2.0, 0.0, 0.0, 2.0, 0.0, 0.0]
        );
    }

    #[test]
    fn keras_dense_default_zeroes_a_bias() {
        assert_eq!(draw("keras-dense-default", &[7], 0), vec![0.0; 7]);
        let w = draw("keras-dense-default", &[30, 20], 0);
        let bound = (6.0_f64 / 50.0).sqrt() as f32;
        assert!(w.iter().all(|x| x.abs() <= bound) && w.iter().any(|&x| x != 0.0));
    }

    #[test]
    fn schemes_that_need_a_matrix_reject_other_shapes() {
        let cases: [(&str, &[usize]); 10] = [
            ("orthogonal", &[10]),
            ("orthogonal", &[]),
            ("lsuv", &[10]),
            ("identity", &[3, 3, 3]),
            ("identity", &[3]),
            ("sparse(sparsity=0.5)", &[4, 4, 4]),
            ("xavier-uniform", &[10]),
            ("kaiming-normal", &[]),
            ("pytorch-linear-default", &[10]),
            ("pytorch-rnn-default", &[40, 10]),
        ];
        for (spec, shape) in cases {
            let scheme = parse(spec);
            let err = scheme.check_shape(shape).unwrap_err();
            assert!(
                matches!(err, Error::UnsupportedShape { .. }),
                "{spec} {shape:?}: {err:?}"
            );
            assert!(err.to_string().contains(&scheme.to_string()), "{err}");
            assert_eq!(scheme.sample(shape, &mut init_rng(0)), Err(err));
        }
    }

    #[test]
    fn every_example_fits_a_2d_weight() {
        for spec in EXAMPLES {
            let scheme = parse(spec);
            let fans = fans(6, 5);
            scheme.check_shape_with_fans(&[5, 6], fans).unwrap();
            let w = scheme
                .sample_with_fans(&[5, 6], fans, &mut init_rng(1))
                .unwrap();
            assert_eq!(w.len(), 30, "{spec}");
            assert!(w.iter().all(|x| x.is_finite()), "{spec}");
        }
    }

    #[test]
    fn a_bias_takes_the_layer_fans() {
        let layer = fans(100, 10);
        let b = parse("pytorch-linear-default")
            .sample_with_fans(&[10], layer, &mut init_rng(2))
            .unwrap();
        assert!(b.iter().all(|x| x.abs() <= 0.1));
        let zero = fans(0, 10);
        assert!(matches!(
            parse("xavier-uniform").check_shape_with_fans(&[10], zero),
            Err(Error::ZeroFan { .. })
        ));
    }

    #[test]
    fn only_the_rnn_default_needs_explicit_fans() {
        for spec in EXAMPLES {
            let scheme = parse(spec);
            let explicit = scheme.needs_explicit_fans();
            assert_eq!(explicit, scheme.name() == "pytorch-rnn-default", "{spec}");
            // A scheme that needs explicit fans cannot fill even a 2-D weight alone.
            assert_eq!(scheme.check_shape(&[4, 3]).is_err(), explicit, "{spec}");
        }
    }

    #[test]
    fn empty_shapes_sample_empty_vectors() {
        for spec in EXAMPLES {
            let w = parse(spec)
                .sample_with_fans(&[0, 4], fans(4, 0), &mut init_rng(3))
                .unwrap();
            assert!(w.is_empty(), "{spec}");
        }
    }

    #[test]
    fn same_seed_same_numbers_other_seed_other_numbers() {
        for spec in EXAMPLES {
            let scheme = parse(spec);
            let fans = fans(8, 8);
            let a = scheme
                .sample_with_fans(&[8, 8], fans, &mut init_rng(4))
                .unwrap();
            let b = scheme
                .sample_with_fans(&[8, 8], fans, &mut init_rng(4))
                .unwrap();
            assert_eq!(a, b, "{spec}");
        }
        assert_ne!(draw("normal", &[8], 5), draw("normal", &[8], 6));
    }

    #[test]
    fn orthogonal_is_orthogonal_up_to_gain() {
        for shape in [&[60, 20][..], &[20, 60], &[16, 4, 3, 3], &[25, 25]] {
            let gain = 1.7;
            let w = parse("orthogonal(gain=1.7)")
                .sample(shape, &mut init_rng(7))
                .unwrap();
            let o = crate::summary(&w, shape).unwrap().orthogonality.unwrap();
            assert!(
                (o.gram_scale - gain * gain).abs() < 1e-5,
                "{shape:?}: {o:?}"
            );
            assert!(o.max_abs_error < 1e-6, "{shape:?}: {o:?}");
        }
    }
}
