//! Schemes that draw every element independently of the shape: constants,
//! uniform and normal.

use rand::distributions::{Distribution as _, Uniform as UniformLaw};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::number::format_number;
use crate::scheme::{Initializer, Layer, Needs, Target};
use crate::spec::{Check, Key, Row, SchemeKind};
use crate::{Error, InitRng, Scheme};

/// Every element the same. Specs `zeros`, `ones`, `constant(value=…)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Constant {
    /// All zeros. PyTorch `zeros_`, Keras `Zeros`.
    Zeros,
    /// All ones. PyTorch `ones_`, Keras `Ones`.
    Ones,
    /// Every element the value, which must be finite; `constant(value=1)` is
    /// the forget-gate bias of Jozefowicz et al. (2015).
    Value(f64),
}

/// `zeros`.
pub const ZEROS: SchemeKind = SchemeKind {
    name: "zeros",
    aliases: &[],
    keys: &[],
    row: Row {
        formula: "0",
        reference: "–",
        pytorch: "`zeros_`",
        keras: "`Zeros`",
    },
    parse: |_| Ok(Scheme::new(Constant::Zeros)),
};

/// `ones`.
pub const ONES: SchemeKind = SchemeKind {
    name: "ones",
    aliases: &[],
    keys: &[],
    row: Row {
        formula: "1",
        reference: "–",
        pytorch: "`ones_`",
        keras: "`Ones`",
    },
    parse: |_| Ok(Scheme::new(Constant::Ones)),
};

/// `constant(value=…)`.
pub const CONSTANT: SchemeKind = SchemeKind {
    name: "constant",
    aliases: &[],
    keys: &[Key::required("value")],
    row: Row {
        formula: "`value`; `constant(value=1)` is the LSTM forget-gate bias",
        reference: "Jozefowicz et al. 2015",
        pytorch: "`constant_`",
        keras: "`Constant`",
    },
    parse: |keys| Ok(Scheme::new(Constant::Value(keys.number("value")?))),
};

impl Constant {
    fn value(self) -> f64 {
        match self {
            Constant::Zeros => 0.0,
            Constant::Ones => 1.0,
            Constant::Value(value) => value,
        }
    }
}

impl Initializer for Constant {
    fn name(&self) -> &'static str {
        match self {
            Constant::Zeros => ZEROS.name,
            Constant::Ones => ONES.name,
            Constant::Value(_) => CONSTANT.name,
        }
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        match self {
            Constant::Value(value) => vec![("value", format_number(*value))],
            _ => Vec::new(),
        }
    }

    fn validate(&self) -> Result<(), Error> {
        Check(self.name()).finite("value", self.value())
    }

    fn needs(&self) -> Needs {
        Needs::Anything
    }

    fn draw(&self, target: &Target<'_>, _: &mut InitRng) -> Vec<f32> {
        fill_constant(target.n, self.value())
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok((self.value() == 0.0).then_some(0.0))
    }
}

/// `U(low, high)`. Spec `uniform(high=1,low=0)`. PyTorch `uniform_`, Keras
/// `RandomUniform` (whose defaults are ±0.05).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Uniform {
    /// Lower bound, inclusive; finite, `< high`.
    pub low: f64,
    /// Upper bound, exclusive; finite.
    pub high: f64,
}

/// `uniform(high=1,low=0)`.
pub const UNIFORM: SchemeKind = SchemeKind {
    name: "uniform",
    aliases: &[],
    keys: &[Key::new("high", "1"), Key::new("low", "0")],
    row: Row {
        formula: "`U(low, high)`",
        reference: "–",
        pytorch: "`uniform_`",
        keras: "`RandomUniform`",
    },
    parse: |keys| {
        Ok(Scheme::new(Uniform {
            low: keys.number("low")?,
            high: keys.number("high")?,
        }))
    },
};

impl Initializer for Uniform {
    fn name(&self) -> &'static str {
        UNIFORM.name
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let (low, high) = (format_number(self.low), format_number(self.high));
        vec![("low", low), ("high", high)]
    }

    fn validate(&self) -> Result<(), Error> {
        let (check, Uniform { low, high }) = (Check(self.name()), *self);
        check.finite("low", low)?;
        check.finite("high", high)?;
        check.that("high", high, high > low, "a number > low")?;
        let width = "a number such that high - low is finite";
        check.that("high", high, (high - low).is_finite(), width)
    }

    fn needs(&self) -> Needs {
        Needs::Anything
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        fill_uniform(target.n, self.low, self.high, rng)
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        let centred = self.low == -self.high;
        Ok(centred.then(|| uniform_variance(self.high)))
    }
}

/// `N(mean, std²)`. Spec `normal(mean=0,std=1)`. PyTorch `normal_`, Keras
/// `RandomNormal` (whose default std is 0.05).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Normal {
    /// Mean `μ`; finite.
    pub mean: f64,
    /// Standard deviation `σ`; finite, `> 0`.
    pub std: f64,
}

/// `normal(mean=0,std=1)`.
pub const NORMAL: SchemeKind = SchemeKind {
    name: "normal",
    aliases: &[],
    keys: &[Key::new("mean", "0"), Key::new("std", "1")],
    row: Row {
        formula: "`N(mean, std²)`",
        reference: "–",
        pytorch: "`normal_`",
        keras: "`RandomNormal`",
    },
    parse: |keys| {
        Ok(Scheme::new(Normal {
            mean: keys.number("mean")?,
            std: keys.number("std")?,
        }))
    },
};

impl Initializer for Normal {
    fn name(&self) -> &'static str {
        NORMAL.name
    }

    fn pairs(&self) -> Vec<(&'static str, String)> {
        let (mean, std) = (format_number(self.mean), format_number(self.std));
        vec![("mean", mean), ("std", std)]
    }

    fn validate(&self) -> Result<(), Error> {
        Check(self.name()).finite("mean", self.mean)?;
        Check(self.name()).positive("std", self.std)
    }

    fn needs(&self) -> Needs {
        Needs::Anything
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        fill_normal(target.n, self.mean, self.std, rng)
    }

    fn variance(&self, _: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok((self.mean == 0.0).then_some(self.std * self.std))
    }
}

/// The variance of `U(−half_width, half_width)`.
pub(crate) fn uniform_variance(half_width: f64) -> f64 {
    half_width * half_width / 3.0
}

/// `n` copies of `value`.
pub(crate) fn fill_constant(n: usize, value: f64) -> Vec<f32> {
    vec![value as f32; n]
}

/// `n` draws from `U(low, high)`; the caller has checked `low < high`, both
/// finite, and `high - low` finite.
///
/// `rand`'s float `Uniform` is half-open, so no draw reaches `high`; the cast
/// to `f32` rounds monotonically, so none exceeds `high as f32` either.
pub(crate) fn fill_uniform(n: usize, low: f64, high: f64, rng: &mut InitRng) -> Vec<f32> {
    let uniform = UniformLaw::new(low, high);
    (0..n).map(|_| uniform.sample(rng) as f32).collect()
}

/// `n` draws from `N(mean, std²)`, by `rand_distr`'s ziggurat.
pub(crate) fn fill_normal(n: usize, mean: f64, std: f64, rng: &mut InitRng) -> Vec<f32> {
    (0..n)
        .map(|_| {
            let z: f64 = rng.sample(StandardNormal);
            (mean + std * z) as f32
        })
        .collect()
}
