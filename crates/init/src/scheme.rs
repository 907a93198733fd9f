//! [`Scheme`]: one initializer with its parameters, of whatever family. What
//! differs between schemes sits behind [`Initializer`], in the family files;
//! here are what every scheme shares: the shape checks, the fans, sampling
//! and the canonical spec.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::fans::{fans, numel, Fans};
use crate::{Error, InitRng};

/// What one scheme is, with its parameters: the part of a scheme its family
/// file writes. [`Scheme`] holds one and does the rest.
pub trait Initializer: Any + fmt::Debug + Send + Sync {
    /// The spec name (never an alias).
    fn name(&self) -> &'static str;

    /// The `(key, value)` pairs of the canonical spec, every key with its
    /// value in canonical spelling (numbers through
    /// [`format_number`](crate::format_number)), in any order.
    fn pairs(&self) -> Vec<(&'static str, String)>;

    /// Checks every parameter against the constraint in its doc.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the key and the constraint (see
    /// [`Check`](crate::Check)).
    fn validate(&self) -> Result<(), Error> {
        Ok(())
    }

    /// What the scheme needs of the shape it fills.
    fn needs(&self) -> Needs;

    /// Draws `target.n > 0` values for a shape that meets
    /// [`needs`](Initializer::needs), from `rng` in a fixed order.
    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32>;

    /// The variance of one element (see [`Scheme::variance`]); `None` where
    /// the variance is not the whole story.
    ///
    /// # Errors
    /// As [`Layer::fans`].
    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        let _ = layer;
        Ok(None)
    }

    /// The gain an orthogonal draw is scaled by (see
    /// [`Scheme::orthogonal_gain`]).
    fn orthogonal_gain(&self) -> Option<f64> {
        None
    }

    /// The settings of a data-dependent step after the draw (see
    /// [`Scheme::lsuv_settings`]).
    fn lsuv_settings(&self) -> Option<LsuvSettings> {
        None
    }
}

/// What a scheme needs of the shape it fills.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Needs {
    /// Any shape: elements are drawn independently.
    Anything,
    /// Fans, from a shape of 2+ dims or given explicitly.
    Fans,
    /// Fans given explicitly (the hidden size).
    ExplicitFans,
    /// Fans for a weight of 2+ dims; a bias gets none.
    FansIfWeight,
    /// 2+ dims, flattened to a matrix.
    Matrix,
    /// Exactly 2 dims.
    TwoDims,
}

/// What [`Initializer::draw`] fills: the shape, its element count (`> 0`) and,
/// for a scheme that reads them, the fans.
#[derive(Clone, Copy, Debug)]
pub struct Target<'a> {
    /// The shape in PyTorch layout `(out, in, *receptive)`.
    pub shape: &'a [usize],
    /// Its element count.
    pub n: usize,
    /// The fans, filled for every scheme whose [`Needs`] reads them.
    pub fans: Option<Fans>,
}

impl Target<'_> {
    /// The fans; `(1, 1)` for a scheme that does not read them.
    pub fn fans(&self) -> Fans {
        self.fans.unwrap_or(Fans {
            fan_in: 1,
            fan_out: 1,
        })
    }

    /// `(out, in · receptive)`: the shape flattened to a matrix.
    pub fn matrix(&self) -> (usize, usize) {
        (self.shape[0], self.n / self.shape[0])
    }
}

/// The parameter [`Initializer::variance`] describes: its shape, and the
/// layer's fans when they are not the shape's own (a bias).
#[derive(Clone, Copy, Debug)]
pub struct Layer<'a> {
    /// The parameter's shape.
    pub shape: &'a [usize],
    /// The layer's fans, if given.
    pub given: Option<Fans>,
}

impl Layer<'_> {
    /// The given fans, else the shape's.
    ///
    /// # Errors
    /// As [`fans()`](crate::fans()) when neither has them.
    pub fn fans(&self) -> Result<Fans, Error> {
        match self.given {
            Some(f) => Ok(f),
            None => fans(self.shape),
        }
    }
}

/// The settings of the data-dependent step of `lsuv`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LsuvSettings {
    /// `|Var − 1|` below which a layer is done.
    pub tolerance: f64,
    /// Rescaling steps per layer at most.
    pub max_iter: u32,
    /// Examples in the calibration batch; `None`: the training batch size.
    pub batch: Option<u32>,
}

/// A weight-initialization scheme with its parameters.
///
/// Build one by parsing a spec (`"kaiming-normal(mode=fan-out)".parse()`),
/// which fills in the documented defaults, or with [`Scheme::new`] from a
/// family's type. Its [`Display`](std::fmt::Display) is the canonical spec:
/// every key, sorted, numbers in shortest round-trip form, so
/// `s.to_string().parse() == Ok(s)` and the string can be hashed into a run
/// id; two schemes are equal when their canonical specs are.
///
/// Shapes are in PyTorch layout `(out, in, *receptive)`; the "fans" are
/// those of [`fans`](crate::fans()). The catalogue (the crate's README)
/// gives each scheme's formula, keys and defaults.
#[derive(Clone)]
pub struct Scheme(Arc<dyn Initializer>);

const FANS_EXPECTED: &str = "a weight of at least 2 dims (out, in, *receptive) so that its fans \
     are defined; for a bias, pass the layer's fans to `sample_with_fans`";

impl Scheme {
    /// Wraps a family's scheme. It is validated when sampled.
    pub fn new(initializer: impl Initializer) -> Scheme {
        Scheme(Arc::new(initializer))
    }

    /// The family's type behind this scheme, if it is a `T`.
    pub fn downcast_ref<T: Initializer>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.0;
        any.downcast_ref()
    }

    /// The family's scheme, for a scheme that draws as another does (LSUV's
    /// pre-init).
    pub fn initializer(&self) -> &dyn Initializer {
        &*self.0
    }

    /// The spec name of this scheme (never an alias).
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The gain an orthogonal draw is scaled by (`orthogonal` and the LSUV
    /// pre-init), so that a caller can compare `WᵀW` with `gain² · I`.
    pub fn orthogonal_gain(&self) -> Option<f64> {
        self.0.orthogonal_gain()
    }

    /// The data-dependent step's settings, for `lsuv`; `None` for every other
    /// scheme.
    pub fn lsuv_settings(&self) -> Option<LsuvSettings> {
        self.0.lsuv_settings()
    }

    /// Checks every parameter against the constraint in its doc.
    ///
    /// Parsing already does this; call it for a `Scheme` built by hand.
    /// [`sample`](Scheme::sample) and [`check_shape`](Scheme::check_shape)
    /// call it too.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the key and the constraint, or
    /// [`Error::KeyNotApplicable`].
    pub fn validate(&self) -> Result<(), Error> {
        self.0.validate()
    }

    /// What the scheme needs of the shape it fills.
    pub fn needs(&self) -> Needs {
        self.0.needs()
    }

    /// Whether the scheme needs fans that no shape carries (the hidden size of
    /// `pytorch-rnn-default`), so that [`sample`](Scheme::sample) fails for
    /// every shape and only [`sample_with_fans`](Scheme::sample_with_fans) works.
    pub fn needs_explicit_fans(&self) -> bool {
        self.needs() == Needs::ExplicitFans
    }

    /// The variance of one element drawn for `shape` (a weight in PyTorch
    /// layout, or a bias with its layer's `fans` given), when the draws are
    /// centred and i.i.d.-like enough for the variance to be the whole story.
    ///
    /// `None` for a scheme with non-zero mean (`ones`, a non-zero `constant`,
    /// an off-centre `uniform` or `normal`, `chrono`), for `identity` (no
    /// randomness), for `lsuv` (its scale comes from data) and for the
    /// asymmetric or clipped normals, whose variance is not derived here.
    /// Orthogonal's is gain² / max(rows, cols): each entry of a matrix with
    /// orthonormal rows or columns. Multiply by the fan-in for σ_w²: N(0, 1)
    /// on a 784-input layer gives 784, `kaiming-normal` 2, `xavier-*`
    /// 2 · fan_in / (fan_in + fan_out).
    ///
    /// # Errors
    /// As [`fans()`](crate::fans()) when a scheme needs fans and neither the
    /// shape nor `given` has them.
    pub fn variance(&self, shape: &[usize], given: Option<Fans>) -> Result<Option<f64>, Error> {
        self.0.variance(&Layer { shape, given })
    }

    /// Errors (no panic) when the scheme makes no sense for the shape
    /// (orthogonal for 1-D, identity for 3-D, fan-based on 1-D...)
    ///
    /// An experiment calls this for every parameter when it is loaded, so a
    /// bad assignment fails before any training. Passing means
    /// [`sample`](Scheme::sample) will succeed for this shape.
    ///
    /// # Errors
    /// [`Error::UnsupportedShape`] naming what the scheme needs, an error of
    /// [`validate`](Scheme::validate), or [`Error::ShapeOverflow`].
    pub fn check_shape(&self, shape: &[usize]) -> Result<(), Error> {
        self.resolve(shape, None).map(|_| ())
    }

    /// [`check_shape`](Scheme::check_shape) for a parameter whose fans are
    /// not its own, such as a bias (the fans of its layer's weight).
    ///
    /// # Errors
    /// As [`check_shape`](Scheme::check_shape), and [`Error::ZeroFan`] when a
    /// scheme that uses the fans gets a zero fan for a non-empty tensor.
    pub fn check_shape_with_fans(&self, shape: &[usize], fans: Fans) -> Result<(), Error> {
        self.resolve(shape, Some(fans)).map(|_| ())
    }

    /// Samples a tensor of `shape` in PyTorch layout `(out, in, *receptive)`, row-major.
    ///
    /// Draws come from `rng` in a fixed order, so `(scheme, shape, seed)`
    /// gives the same numbers on every machine. Values are computed in `f64`
    /// and rounded to `f32` once.
    ///
    /// # Errors
    /// As [`check_shape`](Scheme::check_shape); nothing is drawn then.
    pub fn sample(&self, shape: &[usize], rng: &mut InitRng) -> Result<Vec<f32>, Error> {
        let target = self.resolve(shape, None)?;
        Ok(self.draw(&target, rng))
    }

    /// [`sample`](Scheme::sample) with explicit fans: the layer's fans for a
    /// bias, `fan_in = hidden` for `pytorch-rnn-default`. Schemes that do not
    /// use fans ignore them.
    ///
    /// # Errors
    /// As [`check_shape_with_fans`](Scheme::check_shape_with_fans).
    pub fn sample_with_fans(
        &self,
        shape: &[usize],
        fans: Fans,
        rng: &mut InitRng,
    ) -> Result<Vec<f32>, Error> {
        let target = self.resolve(shape, Some(fans))?;
        Ok(self.draw(&target, rng))
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        if target.n == 0 {
            return Vec::new();
        }
        self.0.draw(target, rng)
    }

    /// Validates, checks the shape and works out the fans the draw uses.
    fn resolve<'a>(&self, shape: &'a [usize], given: Option<Fans>) -> Result<Target<'a>, Error> {
        self.validate()?;
        let n = numel(shape)?;
        let unsupported = |expected| Error::UnsupportedShape {
            scheme: self.to_string(),
            shape: shape.to_vec(),
            expected,
        };
        let fans_of = |given: Option<Fans>| -> Result<Fans, Error> {
            let f = match given {
                Some(f) => f,
                None => fans(shape).map_err(|_| unsupported(FANS_EXPECTED))?,
            };
            if n > 0 && (f.fan_in == 0 || f.fan_out == 0) {
                return Err(Error::ZeroFan {
                    scheme: self.to_string(),
                    fan_in: f.fan_in,
                    fan_out: f.fan_out,
                });
            }
            Ok(f)
        };
        let fans = match self.needs() {
            Needs::Anything => None,
            Needs::Fans => Some(fans_of(given)?),
            Needs::ExplicitFans => match given {
                Some(_) => Some(fans_of(given)?),
                None => {
                    return Err(unsupported(
                        "the hidden size, which no shape carries: call `sample_with_fans` \
                         with `fan_in` = hidden size",
                    ))
                }
            },
            Needs::FansIfWeight if shape.len() < 2 => None,
            Needs::FansIfWeight => Some(fans_of(given)?),
            Needs::Matrix if shape.len() < 2 => {
                return Err(unsupported(
                    "a weight of at least 2 dims (out, in, *receptive), flattened to \
                     (out, in·receptive)",
                ))
            }
            Needs::Matrix => None,
            Needs::TwoDims if shape.len() != 2 => {
                return Err(unsupported("a 2-D weight (out, in)"))
            }
            Needs::TwoDims => None,
        };
        Ok(Target { shape, n, fans })
    }
}

impl fmt::Display for Scheme {
    /// The canonical spec: all keys including defaults, sorted, normalized
    /// numbers (see the crate's spec syntax).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let mut pairs = self.0.pairs();
        if pairs.is_empty() {
            return Ok(());
        }
        pairs.sort_by_key(|&(key, _)| key);
        let body: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        write!(f, "({})", body.join(","))
    }
}

impl fmt::Debug for Scheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl PartialEq for Scheme {
    /// The same canonical spec: the same scheme with the same parameters.
    fn eq(&self, other: &Scheme) -> bool {
        self.to_string() == other.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::init_rng;

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
            let fans = Fans {
                fan_in: 6,
                fan_out: 5,
            };
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
        let fans = Fans {
            fan_in: 100,
            fan_out: 10,
        };
        let b = parse("pytorch-linear-default")
            .sample_with_fans(&[10], fans, &mut init_rng(2))
            .unwrap();
        assert!(b.iter().all(|x| x.abs() <= 0.1));
        let zero = Fans {
            fan_in: 0,
            fan_out: 10,
        };
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
                .sample_with_fans(
                    &[0, 4],
                    Fans {
                        fan_in: 4,
                        fan_out: 0,
                    },
                    &mut init_rng(3),
                )
                .unwrap();
            assert!(w.is_empty(), "{spec}");
        }
    }

    #[test]
    fn same_seed_same_numbers_other_seed_other_numbers() {
        for spec in EXAMPLES {
            let scheme = parse(spec);
            let fans = Fans {
                fan_in: 8,
                fan_out: 8,
            };
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

    #[test]
    fn sparse_zeroes_the_same_count_in_every_column() {
        let (rows, cols) = (20, 15);
        let w = draw("sparse(sparsity=0.33,std=0.5)", &[rows, cols], 9);
        for col in 0..cols {
            let zeros = (0..rows).filter(|r| w[r * cols + col] == 0.0).count();
            assert_eq!(zeros, 7, "column {col}"); // ⌈0.33 · 20⌉
        }
    }
}
