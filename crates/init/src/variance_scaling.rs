//! Variance scaling: Glorot/Xavier, He/Kaiming, LeCun and the general
//! `variance-scaling` of Keras and Flax, of which the others are special cases.
//!
//! Every scheme here picks a target standard deviation `σ` from the fans and
//! then draws from one of three distributions of that standard deviation
//! ([`Distribution`]). Written as Keras does, `σ² = scale / fan`:
//!
//! | scheme            | scale      | fan                      |
//! |-------------------|------------|--------------------------|
//! | `xavier-*`        | gain²      | (fan_in + fan_out) / 2   |
//! | `kaiming-*`       | gain²      | fan_in or fan_out (mode) |
//! | `lecun-*`         | 1          | fan_in                   |

use crate::elementwise::{fill_normal, fill_uniform, uniform_variance};
use crate::fans::{FanMode, Fans};
use crate::gain::Nonlinearity;
use crate::scheme::{Initializer, Layer, Needs, Spec, Target};
use crate::spec::{Keys, SchemeKind};
use crate::truncated::fill_within_two_std;
use crate::{Error, InitRng, Scheme};

/// The standard deviation of `N(0, 1)` truncated to `[-2, 2]`.
///
/// Keras divides its target `σ` by this constant before drawing from a normal
/// truncated at ±2 of its own standard deviation, so that the truncated draws
/// have exactly the target `σ` (`keras.initializers.VarianceScaling`).
/// Written with Keras's digits so that it can be found in its source.
#[allow(clippy::excessive_precision)]
pub const TRUNCATED_NORMAL_STD: f64 = 0.879_625_661_034_239_78;

/// `xavier-uniform(gain=1)`.
pub const XAVIER_UNIFORM: SchemeKind = SchemeKind::new(
    "xavier-uniform(gain=1) | `U(±a)`, `a = gain·√(6/(fan_in+fan_out))` | Glorot & Bengio 2010, eq. 16 (\"normalized\") | `xavier_uniform_` | `GlorotUniform`",
    |keys| xavier(keys, false),
)
.with_aliases(&["xavier-normalized"]);

/// `xavier-normal(distribution=normal,gain=1)`.
pub const XAVIER_NORMAL: SchemeKind = SchemeKind::new(
    "xavier-normal(distribution=normal,gain=1) | `σ = gain·√(2/(fan_in+fan_out))`; `N(0, σ²)` or `TN(σ)` | Glorot & Bengio 2010 | `xavier_normal_` | `GlorotNormal` = `distribution=truncated-normal`",
    |keys| xavier(keys, true),
);

/// The distribution a variance-scaling scheme draws from, all three with the
/// same target standard deviation `σ`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Distribution {
    /// `N(0, σ²)`, spec `normal`: PyTorch's `*_normal_` and Keras's
    /// `untruncated_normal`. (Keras's deprecated `"normal"` alias means the
    /// truncated one; here `normal` is never truncated.)
    Normal,
    /// `N(0, s²)` with `s = σ / 0.8796…`, redrawn outside `±2s`, spec
    /// `truncated-normal`: Keras's `truncated_normal` and the default of its
    /// `glorot_normal`, `he_normal` and `lecun_normal`. Its standard deviation
    /// is exactly `σ`.
    TruncatedNormal,
    /// `U(-√3σ, √3σ)`, spec `uniform`.
    Uniform,
}

impl Distribution {
    /// Every distribution, in spec spelling order.
    pub const ALL: [Distribution; 3] = [
        Distribution::Normal,
        Distribution::TruncatedNormal,
        Distribution::Uniform,
    ];

    /// The spec spelling: `normal`, `truncated-normal` or `uniform`.
    pub fn as_str(self) -> &'static str {
        match self {
            Distribution::Normal => "normal",
            Distribution::TruncatedNormal => "truncated-normal",
            Distribution::Uniform => "uniform",
        }
    }
}

/// `n` draws of standard deviation `std` from `distribution`, mean 0.
pub(crate) fn fill_with_std(
    n: usize,
    std: f64,
    distribution: Distribution,
    rng: &mut InitRng,
) -> Vec<f32> {
    match distribution {
        Distribution::Normal => fill_normal(n, 0.0, std, rng),
        Distribution::TruncatedNormal => fill_within_two_std(n, std / TRUNCATED_NORMAL_STD, rng),
        Distribution::Uniform => {
            // PyTorch computes the bound as √3·σ, so do we.
            let bound = 3.0_f64.sqrt() * std;
            fill_uniform(n, -bound, bound, rng)
        }
    }
}

/// Glorot & Bengio's `σ = gain · √(2 / (fan_in + fan_out))`.
pub(crate) fn xavier_std(gain: f64, fan_in: usize, fan_out: usize) -> f64 {
    gain * (2.0 / (fan_in as f64 + fan_out as f64)).sqrt()
}

/// He et al.'s `σ = gain / √fan`.
pub(crate) fn kaiming_std(gain: f64, fan: f64) -> f64 {
    gain / fan.sqrt()
}

/// Keras's `σ = √(scale / max(1, fan))`.
pub(crate) fn variance_scaling_std(scale: f64, fan: f64) -> f64 {
    (scale / fan.max(1.0)).sqrt()
}

/// Glorot & Bengio's `σ = gain · √(2 / (fan_in + fan_out))`. Specs
/// `xavier-uniform(gain=1)` (`U(±√3σ)`, Glorot & Bengio 2010, eq. 16:
/// "normalized initialization"; the alias `xavier-normalized` is
/// `xavier-uniform(gain=1)`; PyTorch `xavier_uniform_`, Keras
/// `GlorotUniform`) and `xavier-normal(distribution=normal,gain=1)`
/// (`distribution=normal` is PyTorch `xavier_normal_`,
/// `distribution=truncated-normal` Keras `GlorotNormal`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Xavier {
    /// Gain; finite, `> 0`.
    pub gain: f64,
    /// `None`: `xavier-uniform`; `Some`: `xavier-normal`, with `Normal` or
    /// `TruncatedNormal`.
    pub distribution: Option<Distribution>,
}

/// Reads `gain`, then `distribution` for the `-normal` name.
fn xavier(keys: &Keys<'_>, normal: bool) -> Result<Scheme, Error> {
    let gain = keys.number("gain")?;
    let distribution = normal.then(|| distribution(keys)).transpose()?;
    Ok(Scheme::new(Xavier { gain, distribution }))
}

impl Initializer for Xavier {
    fn spec(&self) -> Spec {
        let name = named(self.distribution, &XAVIER_UNIFORM, &XAVIER_NORMAL);
        let spec = Spec::new(name, Needs::Fans).positive("gain", self.gain);
        normal_only(spec, self.distribution)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let f = target.fans();
        let std = xavier_std(self.gain, f.fan_in, f.fan_out);
        fill_with_std(target.n, std, drawn(self.distribution), rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        let f = layer.fans()?;
        Ok(Some(xavier_std(self.gain, f.fan_in, f.fan_out).powi(2)))
    }
}

/// `xavier-standard(mode=fan-in)`.
pub const XAVIER_STANDARD: SchemeKind = SchemeKind::new(
    "xavier-standard(mode=fan-in) | `U(±1/√fan)`, `fan` = fan-in or fan-out | Glorot & Bengio 2010, eq. 1 (\"standard\") | – | –",
    |keys| Ok(Scheme::new(XavierStandard { mode: mode(keys)? })),
);

/// `U(−1/√fan, 1/√fan)`: the "standard" initialization that Glorot & Bengio
/// (2010, eq. 1) compare against, with `fan = fan_in`. Spec
/// `xavier-standard(mode=fan-in)`. The RNN/LSTM study calls it "xavier" and
/// takes `n` as the weight's first dimension, which for a 2-D weight
/// `(out, in)` is its fan-out: `xavier-standard(mode=fan-out)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct XavierStandard {
    /// Which fan `n` is: `FanIn` or `FanOut`.
    pub mode: FanMode,
}

impl Initializer for XavierStandard {
    fn spec(&self) -> Spec {
        let spec = Spec::new(XAVIER_STANDARD.name, Needs::Fans);
        no_fan_avg(spec, self.mode)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let bound = 1.0 / self.mode.fan(target.fans()).sqrt();
        fill_uniform(target.n, -bound, bound, rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok(Some(uniform_variance(1.0) / self.mode.fan(layer.fans()?)))
    }
}

/// `kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu)`.
pub const KAIMING_UNIFORM: SchemeKind = SchemeKind::new(
    "kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu) | `U(±gain·√(3/fan))` | He et al. 2015 | `kaiming_uniform_` | `HeUniform` = `nonlinearity=relu`",
    |keys| kaiming(keys, false),
);

/// `kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu)`.
pub const KAIMING_NORMAL: SchemeKind = SchemeKind::new(
    "kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu) | `σ = gain/√fan`; `N(0, σ²)` or `TN(σ)` | He et al. 2015 | `kaiming_normal_` | `HeNormal` = `distribution=truncated-normal`",
    |keys| kaiming(keys, true),
);

/// He et al.'s (2015) `σ = gain / √fan`, the gain from the nonlinearity.
/// Specs `kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu)`
/// (`U(±√3σ)`; PyTorch `kaiming_uniform_`, same defaults; Keras `HeUniform`
/// is `kaiming-uniform(nonlinearity=relu)`) and
/// `kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu)`
/// (PyTorch `kaiming_normal_`; Keras `HeNormal` is
/// `kaiming-normal(distribution=truncated-normal)`); `a` is present only with
/// `leaky-relu`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Kaiming {
    /// `FanIn` or `FanOut`.
    pub mode: FanMode,
    /// Gives the gain.
    pub nonlinearity: Nonlinearity,
    /// `None`: `kaiming-uniform`; `Some`: `kaiming-normal`, with `Normal` or
    /// `TruncatedNormal`.
    pub distribution: Option<Distribution>,
}

/// Reads `mode`, `nonlinearity` (with `a`), then `distribution` for the
/// `-normal` name.
fn kaiming(keys: &Keys<'_>, normal: bool) -> Result<Scheme, Error> {
    let (mode, nonlinearity) = (mode(keys)?, nonlinearity(keys)?);
    let distribution = normal.then(|| distribution(keys)).transpose()?;
    Ok(Scheme::new(Kaiming {
        mode,
        nonlinearity,
        distribution,
    }))
}

impl Kaiming {
    fn std(&self, fans: Fans) -> f64 {
        kaiming_std(self.nonlinearity.gain(), self.mode.fan(fans))
    }
}

impl Initializer for Kaiming {
    fn spec(&self) -> Spec {
        let name = named(self.distribution, &KAIMING_UNIFORM, &KAIMING_NORMAL);
        let mut spec = no_fan_avg(Spec::new(name, Needs::Fans), self.mode);
        if let Nonlinearity::LeakyRelu { negative_slope } = self.nonlinearity {
            spec = spec.finite("a", negative_slope);
        }
        let spec = spec.text("nonlinearity", self.nonlinearity.as_str());
        normal_only(spec, self.distribution)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let std = self.std(target.fans());
        fill_with_std(target.n, std, drawn(self.distribution), rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok(Some(self.std(layer.fans()?).powi(2)))
    }
}

/// `lecun-uniform`.
pub const LECUN_UNIFORM: SchemeKind = SchemeKind::new(
    "lecun-uniform | `U(±√(3/fan_in))` | LeCun et al. 1998 | – | `LecunUniform`",
    |_| Ok(Scheme::new(Lecun { distribution: None })),
);

/// `lecun-normal(distribution=normal)`.
pub const LECUN_NORMAL: SchemeKind = SchemeKind::new(
    "lecun-normal(distribution=normal) | `σ = 1/√fan_in`; `N(0, σ²)` or `TN(σ)` | LeCun et al. 1998 | – | `LecunNormal` = `distribution=truncated-normal`",
    |keys| {
        let distribution = Some(distribution(keys)?);
        Ok(Scheme::new(Lecun { distribution }))
    },
);

/// LeCun et al.'s (1998, "Efficient BackProp") `σ = 1 / √fan_in`. Specs
/// `lecun-uniform` (`U(±√3σ)`, Keras `LecunUniform`) and
/// `lecun-normal(distribution=normal)` (Keras `LecunNormal` is
/// `distribution=truncated-normal`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Lecun {
    /// `None`: `lecun-uniform`; `Some`: `lecun-normal`, with `Normal` or
    /// `TruncatedNormal`.
    pub distribution: Option<Distribution>,
}

impl Initializer for Lecun {
    fn spec(&self) -> Spec {
        let name = named(self.distribution, &LECUN_UNIFORM, &LECUN_NORMAL);
        normal_only(Spec::new(name, Needs::Fans), self.distribution)
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let std = variance_scaling_std(1.0, target.fans().fan_in as f64);
        fill_with_std(target.n, std, drawn(self.distribution), rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        Ok(Some(1.0 / layer.fans()?.fan_in as f64))
    }
}

/// `variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)`.
pub const VARIANCE_SCALING: SchemeKind = SchemeKind::new(
    "variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1) | `σ = √(scale/max(1, fan))`; `N`, `TN` or `U(±√3·σ)`; `fan` = fan-in, fan-out or fan-avg | Keras; Flax | – | `VarianceScaling`",
    |keys| {
        let scale = keys.number("scale")?;
        let (mode, distribution) = (mode(keys)?, distribution(keys)?);
        Ok(Scheme::new(VarianceScaling {
            scale,
            mode,
            distribution,
        }))
    },
);

/// `σ = √(scale / max(1, fan))` from any [`Distribution`], as Keras's
/// `VarianceScaling` and Flax's `variance_scaling` define it. Spec
/// `variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)`
/// (Keras's defaults).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VarianceScaling {
    /// Scale; finite, `> 0`.
    pub scale: f64,
    /// Which fan divides the scale.
    pub mode: FanMode,
    /// The distribution of standard deviation `σ`.
    pub distribution: Distribution,
}

impl Initializer for VarianceScaling {
    fn spec(&self) -> Spec {
        Spec::new(VARIANCE_SCALING.name, Needs::Fans)
            .positive("scale", self.scale)
            .text("mode", self.mode.as_str())
            .text("distribution", self.distribution.as_str())
    }

    fn draw(&self, target: &Target<'_>, rng: &mut InitRng) -> Vec<f32> {
        let std = variance_scaling_std(self.scale, self.mode.fan(target.fans()));
        fill_with_std(target.n, std, self.distribution, rng)
    }

    fn variance(&self, layer: &Layer<'_>) -> Result<Option<f64>, Error> {
        let fan = self.mode.fan(layer.fans()?);
        Ok(Some(variance_scaling_std(self.scale, fan).powi(2)))
    }
}

/// `mode`, one of [`FanMode::ALL`].
fn mode(keys: &Keys<'_>) -> Result<FanMode, Error> {
    keys.word("mode", &FanMode::ALL.map(|m| (m.as_str(), m)))
}

/// `distribution`, one of [`Distribution::ALL`].
fn distribution(keys: &Keys<'_>) -> Result<Distribution, Error> {
    keys.word("distribution", &Distribution::ALL.map(|d| (d.as_str(), d)))
}

/// `nonlinearity` (default `leaky-relu`, PyTorch's `kaiming_*_` default)
/// and its slope `a` (default 0), which only `leaky-relu` takes.
fn nonlinearity(keys: &Keys<'_>) -> Result<Nonlinearity, Error> {
    let leaky = Nonlinearity::LeakyRelu {
        negative_slope: 0.0,
    };
    let options = [
        ("linear", Nonlinearity::Linear),
        ("sigmoid", Nonlinearity::Sigmoid),
        ("tanh", Nonlinearity::Tanh),
        ("relu", Nonlinearity::Relu),
        ("leaky-relu", leaky),
        ("selu", Nonlinearity::Selu),
    ];
    match keys.word("nonlinearity", &options)? {
        Nonlinearity::LeakyRelu { .. } => Ok(Nonlinearity::LeakyRelu {
            negative_slope: keys.number("a")?,
        }),
        _ if keys.given("a").is_some() => Err(Error::KeyNotApplicable {
            scheme: keys.scheme(),
            key: "a",
            reason: "`a` is the negative slope of `nonlinearity=leaky-relu` only",
        }),
        other => Ok(other),
    }
}

/// The name of a `*-uniform` (`None`) or `*-normal` scheme.
fn named(
    distribution: Option<Distribution>,
    uniform: &SchemeKind,
    normal: &SchemeKind,
) -> &'static str {
    match distribution {
        None => uniform.name,
        Some(_) => normal.name,
    }
}

/// The distribution a `*-uniform` (`None`) or `*-normal` name draws from.
fn drawn(distribution: Option<Distribution>) -> Distribution {
    distribution.unwrap_or(Distribution::Uniform)
}

/// The `distribution` key of a `*-normal` name (a `*-uniform` name has none),
/// which draws a normal: a uniform draw is the `*-uniform` name (one
/// spelling per distribution, so one hash).
fn normal_only(spec: Spec, distribution: Option<Distribution>) -> Spec {
    let Some(d) = distribution else {
        return spec;
    };
    let scheme = spec.name();
    let check = if d == Distribution::Uniform {
        Err(Error::InvalidValue {
            scheme,
            key: "distribution",
            value: d.as_str().to_string(),
            expected: format!(
                "one of normal, truncated-normal (for a uniform draw write `{}`)",
                scheme.replace("-normal", "-uniform")
            ),
        })
    } else {
        Ok(())
    };
    spec.text("distribution", d.as_str()).check(check)
}

/// The `mode` key of Kaiming and `xavier-standard`, which divide by one fan;
/// the average is `xavier-*` or `variance-scaling`.
fn no_fan_avg(spec: Spec, mode: FanMode) -> Spec {
    let check = if mode == FanMode::FanAvg {
        Err(Error::InvalidValue {
            scheme: spec.name(),
            key: "mode",
            value: mode.as_str().to_string(),
            expected: "one of fan-in, fan-out (fan-avg is `xavier-*` or `variance-scaling`)"
                .to_string(),
        })
    } else {
        Ok(())
    };
    spec.text("mode", mode.as_str()).check(check)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_normal_std_is_the_std_of_the_truncated_standard_normal() {
        // Var of N(0,1) on [-2,2] is 1 - 2·2·φ(2) / (Φ(2) - Φ(-2)).
        let phi2 = (-2.0_f64).exp() / (2.0 * std::f64::consts::PI).sqrt();
        let mass = 0.954_499_736_103_641_6; // erf(√2)
        let var = 1.0 - 4.0 * phi2 / mass;
        assert!((var.sqrt() - TRUNCATED_NORMAL_STD).abs() < 1e-15);
    }

    #[test]
    fn named_stds_follow_their_formulas() {
        assert_eq!(xavier_std(1.0, 300, 100), (2.0_f64 / 400.0).sqrt());
        assert_eq!(
            kaiming_std(2.0_f64.sqrt(), 50.0),
            (2.0_f64).sqrt() / 50.0_f64.sqrt()
        );
        assert_eq!(variance_scaling_std(2.0, 0.5), 2.0_f64.sqrt());
    }
}
