//! The [`Scheme`] enum: one variant per initializer, validation, shape checks
//! and the dispatch of [`Scheme::sample`].

use crate::elementwise::{fill_clipped_normal, fill_constant, fill_normal, fill_uniform};
use crate::fans::{fans, numel, FanMode, Fans};
use crate::gain::Nonlinearity;
use crate::identity::identity;
use crate::orthogonal::orthogonal;
use crate::recurrent::chrono;
use crate::sparse::sparse;
use crate::truncated::fill_truncated_normal;
use crate::variance_scaling::{
    fill_with_std, kaiming_std, variance_scaling_std, xavier_std, Distribution,
};
use crate::{Error, InitRng};

/// A weight-initialization scheme with its parameters.
///
/// Build one by parsing a spec (`"kaiming-normal(mode=fan-out)".parse()`),
/// which fills in the documented defaults, or by writing the variant. Its
/// [`Display`](std::fmt::Display) is the canonical spec: every key, sorted,
/// numbers in shortest round-trip form, so `s.to_string().parse() == Ok(s)`
/// and the string can be hashed into a run id.
///
/// Shapes are in PyTorch layout `(out, in, *receptive)`; the "fans" below are
/// those of [`fans`](crate::fans()). Each variant's doc gives its formula,
/// its spec keys with their defaults, and its PyTorch / Keras equivalent.
#[derive(Clone, Debug, PartialEq)]
pub enum Scheme {
    /// All zeros. Spec `zeros`. PyTorch `zeros_`, Keras `Zeros`.
    Zeros,
    /// All ones. Spec `ones`. PyTorch `ones_`, Keras `Ones`.
    Ones,
    /// Every element `value`. Spec `constant(value=…)`, `value` required.
    /// `constant(value=1)` is the forget-gate bias of Jozefowicz et al.
    /// (2015). PyTorch `constant_`, Keras `Constant`.
    Constant {
        /// The value; finite.
        value: f64,
    },
    /// `U(low, high)`. Spec `uniform(high=1,low=0)`. PyTorch `uniform_`,
    /// Keras `RandomUniform` (whose defaults are ±0.05).
    Uniform {
        /// Lower bound, inclusive; finite, `< high`.
        low: f64,
        /// Upper bound, exclusive; finite.
        high: f64,
    },
    /// `N(mean, std²)`. Spec `normal(mean=0,std=1)`. PyTorch `normal_`,
    /// Keras `RandomNormal` (whose default std is 0.05).
    Normal {
        /// Mean `μ`; finite.
        mean: f64,
        /// Standard deviation `σ`; finite, `> 0`.
        std: f64,
    },
    /// `N(mean, std²)` conditioned on `[low, high]`: draws outside are
    /// redrawn, so the density is the normal's rescaled by `1 / (Φ(β) − Φ(α))`.
    /// Spec `truncated-normal(high=2,low=-2,mean=0,std=1)`; `low`, `high` are
    /// absolute, not in units of `std`. PyTorch `trunc_normal_` (same
    /// defaults); Keras `TruncatedNormal(stddev=s)` is
    /// `truncated-normal(high=2s,low=-2s,mean=0,std=s)`.
    TruncatedNormal {
        /// Mean `μ` of the untruncated normal; finite.
        mean: f64,
        /// Standard deviation `σ` of the untruncated normal; finite, `> 0`.
        std: f64,
        /// Lower bound; `< high`, may be `-inf`.
        low: f64,
        /// Upper bound; may be `inf`.
        high: f64,
    },
    /// `clamp(N(mean, std²), low, high)`: the mass outside becomes atoms at the
    /// bounds. Spec `clipped-normal(high=2,low=-2,mean=0,std=1)`: what the
    /// RNN/LSTM study calls "truncated" (N(0, 1) clipped to ±2). No PyTorch
    /// or Keras equivalent (`normal_` then `clamp_`).
    ClippedNormal {
        /// Mean `μ`; finite.
        mean: f64,
        /// Standard deviation `σ`; finite, `> 0`.
        std: f64,
        /// Lower bound; `< high`, may be `-inf`.
        low: f64,
        /// Upper bound; may be `inf`.
        high: f64,
    },
    /// `U(−a, a)`, `a = gain · √(6 / (fan_in + fan_out))` (Glorot & Bengio
    /// 2010, eq. 16: "normalized initialization"). Spec `xavier-uniform(gain=1)`;
    /// the alias `xavier-normalized` is `xavier-uniform(gain=1)`. PyTorch
    /// `xavier_uniform_`, Keras `GlorotUniform`.
    XavierUniform {
        /// Gain; finite, `> 0`.
        gain: f64,
    },
    /// Standard deviation `σ = gain · √(2 / (fan_in + fan_out))` (Glorot &
    /// Bengio 2010). Spec `xavier-normal(distribution=normal,gain=1)`.
    /// `distribution=normal` is PyTorch `xavier_normal_`;
    /// `distribution=truncated-normal` is Keras `GlorotNormal`.
    XavierNormal {
        /// Gain; finite, `> 0`.
        gain: f64,
        /// `Normal` or `TruncatedNormal`.
        distribution: Distribution,
    },
    /// `U(−1/√fan, 1/√fan)`: the "standard" initialization that Glorot &
    /// Bengio (2010, eq. 1) compare against, with `fan = fan_in`. Spec
    /// `xavier-standard(mode=fan-in)`. The RNN/LSTM study calls it "xavier"
    /// and takes `n` as the weight's first dimension, which for a 2-D weight
    /// `(out, in)` is its fan-out: `xavier-standard(mode=fan-out)`.
    XavierStandard {
        /// Which fan `n` is: `FanIn` or `FanOut`.
        mode: FanMode,
    },
    /// `U(−b, b)`, `b = gain · √(3 / fan)` with `gain` from the nonlinearity
    /// (He et al. 2015). Spec
    /// `kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu)`, `a` present
    /// only with `leaky-relu`. PyTorch `kaiming_uniform_` (same defaults);
    /// Keras `HeUniform` is `kaiming-uniform(nonlinearity=relu)`.
    KaimingUniform {
        /// `FanIn` or `FanOut`.
        mode: FanMode,
        /// Gives the gain.
        nonlinearity: Nonlinearity,
    },
    /// Standard deviation `σ = gain / √fan` (He et al. 2015). Spec
    /// `kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu)`.
    /// PyTorch `kaiming_normal_` (same defaults); Keras `HeNormal` is
    /// `kaiming-normal(distribution=truncated-normal)`.
    KaimingNormal {
        /// `FanIn` or `FanOut`.
        mode: FanMode,
        /// Gives the gain.
        nonlinearity: Nonlinearity,
        /// `Normal` or `TruncatedNormal`.
        distribution: Distribution,
    },
    /// `U(−√(3 / fan_in), √(3 / fan_in))` (LeCun et al. 1998, "Efficient
    /// BackProp"). Spec `lecun-uniform`. Keras `LecunUniform`.
    LecunUniform,
    /// Standard deviation `σ = 1 / √fan_in` (LeCun et al. 1998). Spec
    /// `lecun-normal(distribution=normal)`; Keras `LecunNormal` is
    /// `lecun-normal(distribution=truncated-normal)`.
    LecunNormal {
        /// `Normal` or `TruncatedNormal`.
        distribution: Distribution,
    },
    /// Standard deviation `σ = √(scale / max(1, fan))` from any
    /// [`Distribution`], as Keras's `VarianceScaling` and Flax's
    /// `variance_scaling` define it. Spec
    /// `variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)`
    /// (Keras's defaults).
    VarianceScaling {
        /// Scale; finite, `> 0`.
        scale: f64,
        /// Which fan divides the scale.
        mode: FanMode,
        /// The distribution of standard deviation `σ`.
        distribution: Distribution,
    },
    /// `gain · Q`, `Q` from the sign-corrected QR of a Gaussian matrix (Saxe
    /// et al. 2014); shapes of more than 2 dims are flattened to
    /// `(out, in · receptive)`. Spec `orthogonal(gain=1)`. PyTorch
    /// `orthogonal_`, Keras `Orthogonal`.
    Orthogonal {
        /// Gain; finite, `> 0`.
        gain: f64,
    },
    /// `scale · I` on the leading diagonal of a 2-D weight: the recurrent
    /// matrix of an IRNN (Le et al. 2015), which the RNN study scales as
    /// `identity(scale=0.01)`. Spec `identity(scale=1)`. PyTorch `eye_` (times
    /// the scale), Keras `Identity(gain)`.
    Identity {
        /// Scale; finite.
        scale: f64,
    },
    /// `N(0, std²)`, then `⌈sparsity · out⌉` entries of each column set to
    /// zero (Martens 2010). 2-D only. Spec `sparse(sparsity=…,std=0.01)`,
    /// `sparsity` required. PyTorch `sparse_` (same default std).
    Sparse {
        /// Fraction of each column set to zero; in `[0, 1]`.
        sparsity: f64,
        /// Standard deviation of the non-zero entries; finite, `> 0`.
        std: f64,
    },
    /// PyTorch's default for `nn.Linear` and `nn.Conv*`, weight and bias:
    /// `U(−1/√fan_in, 1/√fan_in)` with the weight's fan-in (their
    /// `kaiming_uniform_(a=√5)` is this). Spec `pytorch-linear-default`. A
    /// bias has no fans: sample it with
    /// [`sample_with_fans`](Scheme::sample_with_fans) and the weight's fans.
    PytorchLinearDefault,
    /// PyTorch's default for every parameter of `nn.RNN`/`nn.LSTM`/`nn.GRU`:
    /// `U(−1/√hidden, 1/√hidden)`. Spec `pytorch-rnn-default`. The hidden size
    /// is not in the shape of `weight_ih` or a bias, so this scheme always
    /// needs [`sample_with_fans`](Scheme::sample_with_fans) with
    /// `fan_in = hidden`.
    PytorchRnnDefault,
    /// Keras's default for `Dense`: Glorot uniform (`xavier-uniform(gain=1)`)
    /// for a weight of 2 or more dims, zeros for a bias. Spec
    /// `keras-dense-default`.
    KerasDenseDefault,
    /// `log(U(1, t_max − 1))` for the forget-gate bias of an LSTM (Tallec &
    /// Ollivier 2018); the input-gate bias is its negation, which the model
    /// applies. Spec `chrono(t_max=…)`, `t_max` required.
    Chrono {
        /// The longest time dependency expected, in steps; finite, `> 2`.
        t_max: f64,
    },
    /// Layer-sequential unit-variance (Mishkin & Matas 2015, Algorithm 1): a
    /// pre-init (orthogonal, the paper's, unless `pre` names another; this is
    /// what [`sample`](Scheme::sample) draws), then the data-dependent
    /// rescaling of [`lsuv`](crate::lsuv()), which the models run on the host
    /// on one batch of training examples. Spec
    /// `lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)`: the
    /// paper's `Tol_var` and `T_max`; `batch`, the calibration batch's size
    /// (`train`: the run's training batch size, as in the paper).
    Lsuv {
        /// `|Var − 1|` below which a layer is done; finite, `> 0`.
        tolerance: f64,
        /// Rescaling steps per layer at most; `≥ 1`.
        max_iter: u32,
        /// The pre-init, by name with its default keys (a spec value cannot
        /// hold parentheses); any scheme but `lsuv` itself.
        pre: Box<Scheme>,
        /// Examples in the calibration batch; `None`: the training batch size.
        batch: Option<u32>,
    },
}

/// The settings of the data-dependent step of [`Scheme::Lsuv`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LsuvSettings {
    /// `|Var − 1|` below which a layer is done.
    pub tolerance: f64,
    /// Rescaling steps per layer at most.
    pub max_iter: u32,
    /// Examples in the calibration batch; `None`: the training batch size.
    pub batch: Option<u32>,
}

/// What a scheme needs of the shape it fills.
enum Needs {
    /// Any shape: elements are drawn independently.
    Anything,
    /// Fans, from a shape of 2+ dims or given explicitly.
    Fans,
    /// Fans given explicitly (the hidden size).
    ExplicitFans,
    /// 2+ dims for a weight; a bias gets zeros.
    KerasDense,
    /// 2+ dims, flattened to a matrix.
    Matrix,
    /// Exactly 2 dims.
    TwoDims,
}

const FANS_EXPECTED: &str = "a weight of at least 2 dims (out, in, *receptive) so that its fans \
     are defined; for a bias, pass the layer's fans to `sample_with_fans`";

impl Scheme {
    /// Every spec name, in catalogue order (aliases last).
    pub const NAMES: [&'static str; 24] = [
        "zeros",
        "ones",
        "constant",
        "uniform",
        "normal",
        "truncated-normal",
        "clipped-normal",
        "xavier-uniform",
        "xavier-normal",
        "xavier-standard",
        "kaiming-uniform",
        "kaiming-normal",
        "lecun-uniform",
        "lecun-normal",
        "variance-scaling",
        "orthogonal",
        "identity",
        "sparse",
        "pytorch-linear-default",
        "pytorch-rnn-default",
        "keras-dense-default",
        "chrono",
        "lsuv",
        "xavier-normalized",
    ];

    /// The spec name of this scheme (never an alias).
    pub fn name(&self) -> &'static str {
        match self {
            Scheme::Zeros => "zeros",
            Scheme::Ones => "ones",
            Scheme::Constant { .. } => "constant",
            Scheme::Uniform { .. } => "uniform",
            Scheme::Normal { .. } => "normal",
            Scheme::TruncatedNormal { .. } => "truncated-normal",
            Scheme::ClippedNormal { .. } => "clipped-normal",
            Scheme::XavierUniform { .. } => "xavier-uniform",
            Scheme::XavierNormal { .. } => "xavier-normal",
            Scheme::XavierStandard { .. } => "xavier-standard",
            Scheme::KaimingUniform { .. } => "kaiming-uniform",
            Scheme::KaimingNormal { .. } => "kaiming-normal",
            Scheme::LecunUniform => "lecun-uniform",
            Scheme::LecunNormal { .. } => "lecun-normal",
            Scheme::VarianceScaling { .. } => "variance-scaling",
            Scheme::Orthogonal { .. } => "orthogonal",
            Scheme::Identity { .. } => "identity",
            Scheme::Sparse { .. } => "sparse",
            Scheme::PytorchLinearDefault => "pytorch-linear-default",
            Scheme::PytorchRnnDefault => "pytorch-rnn-default",
            Scheme::KerasDenseDefault => "keras-dense-default",
            Scheme::Chrono { .. } => "chrono",
            Scheme::Lsuv { .. } => "lsuv",
        }
    }

    /// The gain an orthogonal draw is scaled by (`orthogonal` and the LSUV
    /// pre-init), so that a caller can compare `WᵀW` with `gain² · I`.
    pub fn orthogonal_gain(&self) -> Option<f64> {
        match self {
            Scheme::Orthogonal { gain } => Some(*gain),
            Scheme::Lsuv { pre, .. } => pre.orthogonal_gain(),
            _ => None,
        }
    }

    /// The data-dependent step's settings, for `lsuv`; `None` for every other
    /// scheme.
    pub fn lsuv_settings(&self) -> Option<LsuvSettings> {
        match *self {
            Scheme::Lsuv {
                tolerance,
                max_iter,
                batch,
                ..
            } => Some(LsuvSettings {
                tolerance,
                max_iter,
                batch,
            }),
            _ => None,
        }
    }

    /// Checks every parameter against the constraint in its doc.
    ///
    /// Parsing already does this; call it for a `Scheme` written by hand.
    /// [`sample`](Scheme::sample) and [`check_shape`](Scheme::check_shape)
    /// call it too.
    ///
    /// # Errors
    /// [`Error::InvalidValue`] naming the key and the constraint, or
    /// [`Error::KeyNotApplicable`].
    pub fn validate(&self) -> Result<(), Error> {
        let name = self.name();
        let finite = |key, x: f64| check(name, key, x, x.is_finite(), "a finite number");
        let positive = |key, x: f64| {
            check(
                name,
                key,
                x,
                x.is_finite() && x > 0.0,
                "a finite number > 0",
            )
        };
        let bounds = |low: f64, high: f64| {
            check(
                name,
                "low",
                low,
                !low.is_nan() && low != f64::INFINITY,
                "a number < high",
            )?;
            check(
                name,
                "high",
                high,
                !high.is_nan() && high > low,
                "a number > low",
            )
        };
        let normal_only = |distribution: Distribution| {
            if distribution == Distribution::Uniform {
                Err(Error::InvalidValue {
                    scheme: name,
                    key: "distribution",
                    value: distribution.as_str().to_string(),
                    expected: format!(
                        "one of normal, truncated-normal (for a uniform draw write `{}`)",
                        name.replace("-normal", "-uniform")
                    ),
                })
            } else {
                Ok(())
            }
        };
        let no_fan_avg = |mode: FanMode| {
            if mode == FanMode::FanAvg {
                return Err(Error::InvalidValue {
                    scheme: name,
                    key: "mode",
                    value: mode.as_str().to_string(),
                    expected:
                        "one of fan-in, fan-out (fan-avg is `xavier-*` or `variance-scaling`)"
                            .to_string(),
                });
            }
            Ok(())
        };
        let kaiming = |mode: FanMode, nonlinearity: Nonlinearity| {
            no_fan_avg(mode)?;
            if let Nonlinearity::LeakyRelu { negative_slope } = nonlinearity {
                finite("a", negative_slope)?;
            }
            Ok(())
        };
        match *self {
            Scheme::Zeros
            | Scheme::Ones
            | Scheme::LecunUniform
            | Scheme::PytorchLinearDefault
            | Scheme::PytorchRnnDefault
            | Scheme::KerasDenseDefault => Ok(()),
            Scheme::XavierStandard { mode } => no_fan_avg(mode),
            Scheme::Constant { value } => finite("value", value),
            Scheme::Uniform { low, high } => {
                finite("low", low)?;
                finite("high", high)?;
                check(name, "high", high, high > low, "a number > low")?;
                check(
                    name,
                    "high",
                    high,
                    (high - low).is_finite(),
                    "a number such that high - low is finite",
                )
            }
            Scheme::Normal { mean, std } => {
                finite("mean", mean)?;
                positive("std", std)
            }
            Scheme::TruncatedNormal {
                mean,
                std,
                low,
                high,
            }
            | Scheme::ClippedNormal {
                mean,
                std,
                low,
                high,
            } => {
                finite("mean", mean)?;
                positive("std", std)?;
                bounds(low, high)
            }
            Scheme::XavierUniform { gain } | Scheme::Orthogonal { gain } => positive("gain", gain),
            Scheme::XavierNormal { gain, distribution } => {
                positive("gain", gain)?;
                normal_only(distribution)
            }
            Scheme::KaimingUniform { mode, nonlinearity } => kaiming(mode, nonlinearity),
            Scheme::KaimingNormal {
                mode,
                nonlinearity,
                distribution,
            } => {
                kaiming(mode, nonlinearity)?;
                normal_only(distribution)
            }
            Scheme::LecunNormal { distribution } => normal_only(distribution),
            Scheme::VarianceScaling { scale, .. } => positive("scale", scale),
            Scheme::Identity { scale } => finite("scale", scale),
            Scheme::Sparse { sparsity, std } => {
                check(
                    name,
                    "sparsity",
                    sparsity,
                    (0.0..=1.0).contains(&sparsity),
                    "a number in [0, 1]",
                )?;
                positive("std", std)
            }
            Scheme::Chrono { t_max } => check(
                name,
                "t_max",
                t_max,
                t_max.is_finite() && t_max > 2.0,
                "a finite number > 2",
            ),
            Scheme::Lsuv {
                tolerance,
                max_iter,
                ref pre,
                batch,
            } => {
                positive("tolerance", tolerance)?;
                for (key, value) in [("max_iter", Some(max_iter)), ("batch", batch)] {
                    if value == Some(0) {
                        return Err(Error::InvalidValue {
                            scheme: name,
                            key,
                            value: "0".to_string(),
                            expected: "an integer >= 1".to_string(),
                        });
                    }
                }
                if matches!(**pre, Scheme::Lsuv { .. }) {
                    return Err(Error::InvalidValue {
                        scheme: name,
                        key: "pre",
                        value: "lsuv".to_string(),
                        expected: "a scheme other than lsuv".to_string(),
                    });
                }
                pre.validate()
            }
        }
    }

    /// Whether the scheme needs fans that no shape carries (the hidden size of
    /// `pytorch-rnn-default`), so that [`sample`](Scheme::sample) fails for
    /// every shape and only [`sample_with_fans`](Scheme::sample_with_fans) works.
    pub fn needs_explicit_fans(&self) -> bool {
        matches!(self.needs(), Needs::ExplicitFans)
    }

    fn needs(&self) -> Needs {
        match self {
            Scheme::Zeros
            | Scheme::Ones
            | Scheme::Constant { .. }
            | Scheme::Uniform { .. }
            | Scheme::Normal { .. }
            | Scheme::TruncatedNormal { .. }
            | Scheme::ClippedNormal { .. }
            | Scheme::Chrono { .. } => Needs::Anything,
            Scheme::XavierUniform { .. }
            | Scheme::XavierNormal { .. }
            | Scheme::XavierStandard { .. }
            | Scheme::KaimingUniform { .. }
            | Scheme::KaimingNormal { .. }
            | Scheme::LecunUniform
            | Scheme::LecunNormal { .. }
            | Scheme::VarianceScaling { .. }
            | Scheme::PytorchLinearDefault => Needs::Fans,
            Scheme::PytorchRnnDefault => Needs::ExplicitFans,
            Scheme::KerasDenseDefault => Needs::KerasDense,
            Scheme::Orthogonal { .. } => Needs::Matrix,
            Scheme::Lsuv { pre, .. } => pre.needs(),
            Scheme::Identity { .. } | Scheme::Sparse { .. } => Needs::TwoDims,
        }
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
        let resolved = self.resolve(shape, None)?;
        Ok(self.draw(shape, resolved, rng))
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
        let resolved = self.resolve(shape, Some(fans))?;
        Ok(self.draw(shape, resolved, rng))
    }

    /// Validates, checks the shape and works out the fans the draw uses.
    fn resolve(&self, shape: &[usize], given: Option<Fans>) -> Result<Resolved, Error> {
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
            Needs::KerasDense if shape.len() < 2 => None,
            Needs::KerasDense => Some(fans_of(given)?),
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
        Ok(Resolved { n, fans })
    }

    fn draw(&self, shape: &[usize], resolved: Resolved, rng: &mut InitRng) -> Vec<f32> {
        let Resolved { n, fans } = resolved;
        if n == 0 {
            return Vec::new();
        }
        // `resolve` has filled `fans` for every scheme that reads them.
        let f = fans.unwrap_or(Fans {
            fan_in: 1,
            fan_out: 1,
        });
        let matrix = || (shape[0], n / shape[0]);
        match *self {
            Scheme::Zeros => fill_constant(n, 0.0),
            Scheme::Ones => fill_constant(n, 1.0),
            Scheme::Constant { value } => fill_constant(n, value),
            Scheme::Uniform { low, high } => fill_uniform(n, low, high, rng),
            Scheme::Normal { mean, std } => fill_normal(n, mean, std, rng),
            Scheme::TruncatedNormal {
                mean,
                std,
                low,
                high,
            } => fill_truncated_normal(n, mean, std, low, high, rng),
            Scheme::ClippedNormal {
                mean,
                std,
                low,
                high,
            } => fill_clipped_normal(n, mean, std, low, high, rng),
            Scheme::XavierUniform { gain } => fill_with_std(
                n,
                xavier_std(gain, f.fan_in, f.fan_out),
                Distribution::Uniform,
                rng,
            ),
            Scheme::XavierNormal { gain, distribution } => {
                fill_with_std(n, xavier_std(gain, f.fan_in, f.fan_out), distribution, rng)
            }
            Scheme::XavierStandard { mode } => {
                let bound = 1.0 / mode.fan(f).sqrt();
                fill_uniform(n, -bound, bound, rng)
            }
            Scheme::PytorchLinearDefault | Scheme::PytorchRnnDefault => {
                let bound = 1.0 / (f.fan_in as f64).sqrt();
                fill_uniform(n, -bound, bound, rng)
            }
            Scheme::KaimingUniform { mode, nonlinearity } => fill_with_std(
                n,
                kaiming_std(nonlinearity.gain(), mode.fan(f)),
                Distribution::Uniform,
                rng,
            ),
            Scheme::KaimingNormal {
                mode,
                nonlinearity,
                distribution,
            } => fill_with_std(
                n,
                kaiming_std(nonlinearity.gain(), mode.fan(f)),
                distribution,
                rng,
            ),
            Scheme::LecunUniform => fill_with_std(
                n,
                variance_scaling_std(1.0, f.fan_in as f64),
                Distribution::Uniform,
                rng,
            ),
            Scheme::LecunNormal { distribution } => fill_with_std(
                n,
                variance_scaling_std(1.0, f.fan_in as f64),
                distribution,
                rng,
            ),
            Scheme::VarianceScaling {
                scale,
                mode,
                distribution,
            } => fill_with_std(
                n,
                variance_scaling_std(scale, mode.fan(f)),
                distribution,
                rng,
            ),
            Scheme::KerasDenseDefault => match fans {
                Some(f) => fill_with_std(
                    n,
                    xavier_std(1.0, f.fan_in, f.fan_out),
                    Distribution::Uniform,
                    rng,
                ),
                None => fill_constant(n, 0.0),
            },
            Scheme::Orthogonal { gain } => {
                let (rows, cols) = matrix();
                orthogonal(rows, cols, gain, rng)
            }
            Scheme::Lsuv { ref pre, .. } => pre.draw(shape, Resolved { n, fans }, rng),
            Scheme::Identity { scale } => identity(shape[0], shape[1], scale),
            Scheme::Sparse { sparsity, std } => sparse(shape[0], shape[1], sparsity, std, rng),
            Scheme::Chrono { t_max } => chrono(n, t_max, rng),
        }
    }
}

/// What [`Scheme::resolve`] found: the element count and, for schemes that
/// read them, the fans.
struct Resolved {
    n: usize,
    fans: Option<Fans>,
}

fn check(
    scheme: &'static str,
    key: &'static str,
    value: f64,
    ok: bool,
    expected: &str,
) -> Result<(), Error> {
    if ok {
        Ok(())
    } else {
        Err(Error::InvalidValue {
            scheme,
            key,
            value: crate::number::format_number(value),
            expected: expected.to_string(),
        })
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
            assert_eq!(explicit, scheme == Scheme::PytorchRnnDefault, "{spec}");
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
    fn hand_written_invalid_schemes_error_instead_of_panicking() {
        let bad = [
            Scheme::Normal {
                mean: 0.0,
                std: -1.0,
            },
            Scheme::Uniform {
                low: 1.0,
                high: 0.0,
            },
            Scheme::Uniform {
                low: -f64::MAX,
                high: f64::MAX,
            },
            Scheme::TruncatedNormal {
                mean: 0.0,
                std: 1.0,
                low: f64::NAN,
                high: 1.0,
            },
            Scheme::KaimingUniform {
                mode: FanMode::FanAvg,
                nonlinearity: Nonlinearity::Relu,
            },
            Scheme::LecunNormal {
                distribution: Distribution::Uniform,
            },
            Scheme::Chrono { t_max: 1.0 },
            Scheme::Lsuv {
                tolerance: 0.1,
                max_iter: 0,
                pre: Box::new(Scheme::Orthogonal { gain: 1.0 }),
                batch: None,
            },
            Scheme::Lsuv {
                tolerance: 0.1,
                max_iter: 10,
                pre: Box::new(Scheme::Orthogonal { gain: 0.0 }),
                batch: None,
            },
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
    fn sparse_zeroes_the_same_count_in_every_column() {
        let (rows, cols) = (20, 15);
        let w = draw("sparse(sparsity=0.33,std=0.5)", &[rows, cols], 9);
        for col in 0..cols {
            let zeros = (0..rows).filter(|r| w[r * cols + col] == 0.0).count();
            assert_eq!(zeros, 7, "column {col}"); // ⌈0.33 · 20⌉
        }
    }
}
