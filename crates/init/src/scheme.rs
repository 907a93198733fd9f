//! [`Scheme`]: one initializer with its parameters, of whatever family. What
//! differs between schemes sits behind [`Initializer`], in the family files;
//! here are what every scheme shares: the shape checks, the fans, sampling
//! and the canonical spec.

use std::any::Any;
use std::fmt;
use std::sync::Arc;

use crate::fans::{fans, numel, Fans};
use crate::number::format_number;
use crate::{Error, InitRng};

/// What one scheme is, with its parameters: the part of a scheme its family
/// file writes. [`Scheme`] holds one and does the rest.
pub trait Initializer: Any + fmt::Debug + Send + Sync {
    /// The canonical spec, what the scheme needs of a shape, and the checks
    /// of its parameters against the constraints in their docs.
    fn spec(&self) -> Spec;

    /// Draws `target.n > 0` values for a shape that meets the spec's
    /// [`Needs`], from `rng` in a fixed order.
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

/// A scheme's canonical spec as its family writes it, key by key, with what
/// it needs of a shape; each key's check runs as it is written, and the
/// first that fails is [`Scheme::validate`]'s error.
#[derive(Clone, Debug, PartialEq)]
pub struct Spec {
    name: &'static str,
    needs: Needs,
    pairs: Vec<(&'static str, String)>,
    error: Option<Error>,
}

impl Spec {
    /// The spec name (never an alias) and what the scheme needs of a shape.
    pub fn new(name: &'static str, needs: Needs) -> Spec {
        Spec {
            name,
            needs,
            pairs: Vec::new(),
            error: None,
        }
    }

    /// The spec name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// A number key, in canonical spelling; unchecked.
    pub fn number(self, key: &'static str, value: f64) -> Spec {
        self.text(key, format_number(value))
    }

    /// A number key that must be finite.
    pub fn finite(self, key: &'static str, value: f64) -> Spec {
        let ok = value.is_finite();
        self.number(key, value)
            .that(key, value, ok, "a finite number")
    }

    /// A number key that must be finite and `> 0`.
    pub fn positive(self, key: &'static str, value: f64) -> Spec {
        let ok = value.is_finite() && value > 0.0;
        self.number(key, value)
            .that(key, value, ok, "a finite number > 0")
    }

    /// A key spelled as given (a word, an integer).
    pub fn text(mut self, key: &'static str, value: impl Into<String>) -> Spec {
        self.pairs.push((key, value.into()));
        self
    }

    /// A check of `key`'s value: [`Error::InvalidValue`] with `expected`
    /// unless `ok`.
    pub fn that(self, key: &'static str, value: f64, ok: bool, expected: &str) -> Spec {
        let scheme = self.name;
        self.check(if ok {
            Ok(())
        } else {
            Err(Error::InvalidValue {
                scheme,
                key,
                value: format_number(value),
                expected: expected.to_string(),
            })
        })
    }

    /// Any other check; the first error is kept.
    pub fn check(mut self, result: Result<(), Error>) -> Spec {
        if let (None, Err(e)) = (&self.error, result) {
            self.error = Some(e);
        }
        self
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
        self.0.spec().name
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
        self.0.spec().error.map_or(Ok(()), Err)
    }

    /// What the scheme needs of the shape it fills.
    pub fn needs(&self) -> Needs {
        self.0.spec().needs
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
        let Spec {
            name, mut pairs, ..
        } = self.0.spec();
        f.write_str(name)?;
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
