//! The spec syntax: `name` or `name(key=value,...)`, parsed by
//! [`FromStr`] and printed canonically by [`Display`].
//!
//! # Canonical form
//! The name, then (if the scheme has keys) every key, defaults included, in
//! byte order, joined by `,` with no spaces. Numbers are Rust's shortest
//! round-trip decimal (`0.01`, `-2`, `1`), in exponent form (`1e-7`, `1e20`)
//! below `1e-5` or from `1e16` up, `0` for either zero, `inf`/`-inf` for
//! infinite bounds. So two specs that mean the same scheme print the same
//! string, and run configs can hash it.
//!
//! # Parsing
//! Whitespace around names, keys and values is ignored; `name()` is `name`.
//! Numbers are anything Rust's `f64` parser reads except NaN (`1`, `-0.5`,
//! `1e-3`, `inf`). An unknown name, an unknown or repeated key, a value of
//! the wrong type or out of range, are errors that list what is allowed.

use std::fmt::{self, Display, Write as _};
use std::str::FromStr;

use crate::fans::FanMode;
use crate::gain::Nonlinearity;
use crate::number::format_number;
use crate::variance_scaling::Distribution;
use crate::{Error, Scheme};

/// The keys each scheme takes, sorted (the canonical order).
fn keys_of(name: &str) -> &'static [&'static str] {
    match name {
        "constant" => &["value"],
        "uniform" => &["high", "low"],
        "normal" => &["mean", "std"],
        "truncated-normal" | "clipped-normal" => &["high", "low", "mean", "std"],
        "xavier-uniform" | "orthogonal" => &["gain"],
        "xavier-standard" => &["mode"],
        "xavier-normal" => &["distribution", "gain"],
        "kaiming-uniform" => &["a", "mode", "nonlinearity"],
        "kaiming-normal" => &["a", "distribution", "mode", "nonlinearity"],
        "lecun-normal" => &["distribution"],
        "variance-scaling" => &["distribution", "mode", "scale"],
        "identity" => &["scale"],
        "sparse" => &["sparsity", "std"],
        "chrono" => &["t_max"],
        "lsuv" => &["batch", "max_iter", "pre", "tolerance"],
        _ => &[],
    }
}

impl FromStr for Scheme {
    type Err = Error;

    fn from_str(spec: &str) -> Result<Self, Error> {
        let syntax = |reason: &str| Error::Syntax {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let text = spec.trim();
        let (name, body) = match text.find('(') {
            None => (text, None),
            Some(open) => {
                let body = text[open + 1..]
                    .strip_suffix(')')
                    .ok_or_else(|| syntax("`(` without a closing `)` at the end"))?;
                (text[..open].trim_end(), Some(body))
            }
        };
        if text.contains(')') && body.is_none() {
            return Err(syntax("`)` without an opening `(`"));
        }
        if name.is_empty() {
            return Err(syntax("the name is missing"));
        }
        let Some(&name) = Scheme::NAMES.iter().find(|&&n| n == name) else {
            return Err(Error::UnknownScheme {
                name: name.to_string(),
                allowed: Scheme::NAMES.to_vec(),
            });
        };
        let mut pairs = Vec::new();
        if let Some(body) = body.filter(|b| !b.trim().is_empty()) {
            for pair in body.split(',') {
                if pair.contains(['(', ')']) {
                    return Err(syntax("values cannot contain `(` or `)`"));
                }
                let (key, value) = pair
                    .split_once('=')
                    .ok_or_else(|| syntax(&format!("`{}` is not `key=value`", pair.trim())))?;
                let (key, value) = (key.trim(), value.trim());
                if key.is_empty() || value.is_empty() {
                    return Err(syntax(&format!("`{}` is not `key=value`", pair.trim())));
                }
                pairs.push((key, value));
            }
        }
        let mut keys = Keys::new(name, pairs)?;
        let scheme = keys.build()?;
        scheme.validate()?;
        Ok(scheme)
    }
}

/// The `key=value` pairs of one spec, checked against the scheme's keys.
struct Keys<'a> {
    scheme: &'static str,
    pairs: Vec<(&'static str, &'a str)>,
}

impl<'a> Keys<'a> {
    fn new(scheme: &'static str, given: Vec<(&'a str, &'a str)>) -> Result<Self, Error> {
        let allowed = keys_of(scheme);
        let mut pairs: Vec<(&'static str, &'a str)> = Vec::with_capacity(given.len());
        for (key, value) in given {
            let Some(&key) = allowed.iter().find(|&&k| k == key) else {
                return Err(Error::UnknownKey {
                    scheme,
                    key: key.to_string(),
                    allowed: allowed.to_vec(),
                });
            };
            if pairs.iter().any(|&(k, _)| k == key) {
                return Err(Error::DuplicateKey {
                    scheme,
                    key: key.to_string(),
                });
            }
            pairs.push((key, value));
        }
        Ok(Keys { scheme, pairs })
    }

    fn raw(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|&&(k, _)| k == key).map(|&(_, v)| v)
    }

    fn invalid(&self, key: &'static str, value: &str, expected: String) -> Error {
        Error::InvalidValue {
            scheme: self.scheme,
            key,
            value: value.to_string(),
            expected,
        }
    }

    /// A number, or `default`; `None` as default makes the key required.
    fn number(&self, key: &'static str, default: Option<f64>) -> Result<f64, Error> {
        match (self.raw(key), default) {
            (Some(value), _) => value
                .parse::<f64>()
                .ok()
                .filter(|x| !x.is_nan())
                .ok_or_else(|| self.invalid(key, value, "a number".to_string())),
            (None, Some(default)) => Ok(default),
            (None, None) => Err(Error::MissingKey {
                scheme: self.scheme,
                key,
                expected: "a number",
            }),
        }
    }

    fn integer(&self, key: &'static str, default: u32) -> Result<u32, Error> {
        match self.raw(key) {
            Some(value) => value
                .parse::<u32>()
                .map_err(|_| self.invalid(key, value, "a non-negative integer".to_string())),
            None => Ok(default),
        }
    }

    /// LSUV's `pre`: a scheme name, taken with its default keys, since a value
    /// cannot hold the parentheses of a spec; orthogonal, the paper's, when absent.
    fn pre_init(&self) -> Result<Scheme, Error> {
        let Some(value) = self.raw("pre") else {
            return Ok(Scheme::Orthogonal { gain: 1.0 });
        };
        let pre: Scheme = value.parse().map_err(|e| {
            self.invalid(
                "pre",
                value,
                format!("the name of a scheme whose keys all have defaults ({e})"),
            )
        })?;
        Ok(pre)
    }

    /// One of `options` by its spec spelling, or `default`.
    fn word<T: Copy>(
        &self,
        key: &'static str,
        options: &[(&str, T)],
        default: T,
    ) -> Result<T, Error> {
        match self.raw(key) {
            None => Ok(default),
            Some(value) => options
                .iter()
                .find(|(name, _)| *name == value)
                .map(|&(_, t)| t)
                .ok_or_else(|| {
                    let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
                    self.invalid(key, value, format!("one of {}", names.join(", ")))
                }),
        }
    }

    fn mode(&self, default: FanMode) -> Result<FanMode, Error> {
        let options = FanMode::ALL.map(|m| (m.as_str(), m));
        self.word("mode", &options, default)
    }

    fn distribution(&self, default: Distribution) -> Result<Distribution, Error> {
        let options = Distribution::ALL.map(|d| (d.as_str(), d));
        self.word("distribution", &options, default)
    }

    /// `nonlinearity` (default `leaky-relu`, PyTorch's `kaiming_*_` default)
    /// and its slope `a` (default 0), which only `leaky-relu` takes.
    fn nonlinearity(&self) -> Result<Nonlinearity, Error> {
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
        match self.word("nonlinearity", &options, leaky)? {
            Nonlinearity::LeakyRelu { .. } => Ok(Nonlinearity::LeakyRelu {
                negative_slope: self.number("a", Some(0.0))?,
            }),
            _ if self.raw("a").is_some() => Err(Error::KeyNotApplicable {
                scheme: self.scheme,
                key: "a",
                reason: "`a` is the negative slope of `nonlinearity=leaky-relu` only",
            }),
            other => Ok(other),
        }
    }

    fn build(&mut self) -> Result<Scheme, Error> {
        let n = |key, default| self.number(key, Some(default));
        Ok(match self.scheme {
            "zeros" => Scheme::Zeros,
            "ones" => Scheme::Ones,
            "constant" => Scheme::Constant {
                value: self.number("value", None)?,
            },
            "uniform" => Scheme::Uniform {
                low: n("low", 0.0)?,
                high: n("high", 1.0)?,
            },
            "normal" => Scheme::Normal {
                mean: n("mean", 0.0)?,
                std: n("std", 1.0)?,
            },
            "truncated-normal" => Scheme::TruncatedNormal {
                mean: n("mean", 0.0)?,
                std: n("std", 1.0)?,
                low: n("low", -2.0)?,
                high: n("high", 2.0)?,
            },
            "clipped-normal" => Scheme::ClippedNormal {
                mean: n("mean", 0.0)?,
                std: n("std", 1.0)?,
                low: n("low", -2.0)?,
                high: n("high", 2.0)?,
            },
            "xavier-uniform" => Scheme::XavierUniform {
                gain: n("gain", 1.0)?,
            },
            "xavier-normalized" => Scheme::XavierUniform { gain: 1.0 },
            "xavier-normal" => Scheme::XavierNormal {
                gain: n("gain", 1.0)?,
                distribution: self.distribution(Distribution::Normal)?,
            },
            "xavier-standard" => Scheme::XavierStandard {
                mode: self.mode(FanMode::FanIn)?,
            },
            "kaiming-uniform" => Scheme::KaimingUniform {
                mode: self.mode(FanMode::FanIn)?,
                nonlinearity: self.nonlinearity()?,
            },
            "kaiming-normal" => Scheme::KaimingNormal {
                mode: self.mode(FanMode::FanIn)?,
                nonlinearity: self.nonlinearity()?,
                distribution: self.distribution(Distribution::Normal)?,
            },
            "lecun-uniform" => Scheme::LecunUniform,
            "lecun-normal" => Scheme::LecunNormal {
                distribution: self.distribution(Distribution::Normal)?,
            },
            "variance-scaling" => Scheme::VarianceScaling {
                scale: n("scale", 1.0)?,
                mode: self.mode(FanMode::FanIn)?,
                distribution: self.distribution(Distribution::TruncatedNormal)?,
            },
            "orthogonal" => Scheme::Orthogonal {
                gain: n("gain", 1.0)?,
            },
            "identity" => Scheme::Identity {
                scale: n("scale", 1.0)?,
            },
            "sparse" => Scheme::Sparse {
                sparsity: self.number("sparsity", None)?,
                std: n("std", 0.01)?,
            },
            "pytorch-linear-default" => Scheme::PytorchLinearDefault,
            "pytorch-rnn-default" => Scheme::PytorchRnnDefault,
            "keras-dense-default" => Scheme::KerasDenseDefault,
            "chrono" => Scheme::Chrono {
                t_max: self.number("t_max", None)?,
            },
            "lsuv" => Scheme::Lsuv {
                tolerance: n("tolerance", 0.1)?,
                max_iter: self.integer("max_iter", 10)?,
                pre: Box::new(self.pre_init()?),
                batch: match self.raw("batch") {
                    None | Some("train") => None,
                    Some(value) => Some(value.parse::<u32>().map_err(|_| {
                        self.invalid(
                            "batch",
                            value,
                            "a positive integer, or `train` for the training batch size"
                                .to_string(),
                        )
                    })?),
                },
            },
            // `NAMES` and this match list the same names; a test checks it.
            other => {
                return Err(Error::UnknownScheme {
                    name: other.to_string(),
                    allowed: Scheme::NAMES.to_vec(),
                })
            }
        })
    }
}

impl Scheme {
    /// The `(key, value)` pairs of the canonical spec, sorted by key.
    fn canonical_pairs(&self) -> Vec<(&'static str, String)> {
        let num = format_number;
        let nonlinearity = |pairs: &mut Vec<(&'static str, String)>, nl: Nonlinearity| {
            if let Nonlinearity::LeakyRelu { negative_slope } = nl {
                pairs.push(("a", num(negative_slope)));
            }
            pairs.push(("nonlinearity", nl.as_str().to_string()));
        };
        let mut pairs: Vec<(&'static str, String)> = Vec::new();
        match *self {
            Scheme::Zeros
            | Scheme::Ones
            | Scheme::LecunUniform
            | Scheme::PytorchLinearDefault
            | Scheme::PytorchRnnDefault
            | Scheme::KerasDenseDefault => {}
            Scheme::Constant { value } => pairs.push(("value", num(value))),
            Scheme::Uniform { low, high } => {
                pairs.push(("low", num(low)));
                pairs.push(("high", num(high)));
            }
            Scheme::Normal { mean, std } => {
                pairs.push(("mean", num(mean)));
                pairs.push(("std", num(std)));
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
                pairs.push(("mean", num(mean)));
                pairs.push(("std", num(std)));
                pairs.push(("low", num(low)));
                pairs.push(("high", num(high)));
            }
            Scheme::XavierUniform { gain } | Scheme::Orthogonal { gain } => {
                pairs.push(("gain", num(gain)))
            }
            Scheme::XavierNormal { gain, distribution } => {
                pairs.push(("gain", num(gain)));
                pairs.push(("distribution", distribution.as_str().to_string()));
            }
            Scheme::XavierStandard { mode } => pairs.push(("mode", mode.as_str().to_string())),
            Scheme::KaimingUniform {
                mode,
                nonlinearity: nl,
            } => {
                pairs.push(("mode", mode.as_str().to_string()));
                nonlinearity(&mut pairs, nl);
            }
            Scheme::KaimingNormal {
                mode,
                nonlinearity: nl,
                distribution,
            } => {
                pairs.push(("mode", mode.as_str().to_string()));
                nonlinearity(&mut pairs, nl);
                pairs.push(("distribution", distribution.as_str().to_string()));
            }
            Scheme::LecunNormal { distribution } => {
                pairs.push(("distribution", distribution.as_str().to_string()))
            }
            Scheme::VarianceScaling {
                scale,
                mode,
                distribution,
            } => {
                pairs.push(("scale", num(scale)));
                pairs.push(("mode", mode.as_str().to_string()));
                pairs.push(("distribution", distribution.as_str().to_string()));
            }
            Scheme::Identity { scale } => pairs.push(("scale", num(scale))),
            Scheme::Sparse { sparsity, std } => {
                pairs.push(("sparsity", num(sparsity)));
                pairs.push(("std", num(std)));
            }
            Scheme::Chrono { t_max } => pairs.push(("t_max", num(t_max))),
            Scheme::Lsuv {
                tolerance,
                max_iter,
                ref pre,
                batch,
            } => {
                pairs.push(("tolerance", num(tolerance)));
                pairs.push(("max_iter", max_iter.to_string()));
                // The name alone: `pre` always holds its defaults (see `pre_init`).
                pairs.push(("pre", pre.name().to_string()));
                pairs.push((
                    "batch",
                    batch.map_or_else(|| "train".to_string(), |b| b.to_string()),
                ));
            }
        }
        pairs.sort_by_key(|&(key, _)| key);
        pairs
    }
}

impl Display for Scheme {
    /// The canonical spec: all keys including defaults, sorted, normalized
    /// numbers (see the module doc).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())?;
        let pairs = self.canonical_pairs();
        if pairs.is_empty() {
            return Ok(());
        }
        let mut body = String::new();
        for (i, (key, value)) in pairs.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            let _ = write!(body, "{key}={value}");
        }
        write!(f, "({body})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(spec: &str) -> Scheme {
        spec.parse()
            .unwrap_or_else(|e| panic!("`{spec}` should parse: {e}"))
    }

    #[test]
    fn first_study_specs_parse_to_their_schemes() {
        assert_eq!(parse("zeros"), Scheme::Zeros);
        assert_eq!(
            parse("normal(mean=0,std=1)"),
            Scheme::Normal {
                mean: 0.0,
                std: 1.0
            }
        );
        assert_eq!(
            parse("xavier-normal(distribution=truncated-normal)"),
            Scheme::XavierNormal {
                gain: 1.0,
                distribution: Distribution::TruncatedNormal
            }
        );
        assert_eq!(
            parse("kaiming-normal(distribution=truncated-normal)"),
            Scheme::KaimingNormal {
                mode: FanMode::FanIn,
                nonlinearity: Nonlinearity::LeakyRelu {
                    negative_slope: 0.0
                },
                distribution: Distribution::TruncatedNormal
            }
        );
    }

    #[test]
    fn canonical_strings_list_every_key_sorted() {
        let table = [
            ("zeros", "zeros"),
            ("zeros()", "zeros"),
            ("normal(mean=0,std=1)", "normal(mean=0,std=1)"),
            ("normal", "normal(mean=0,std=1)"),
            ("normal( std = 0.050 , mean=-0.0 )", "normal(mean=0,std=0.05)"),
            (
                "xavier-normal(distribution=truncated-normal)",
                "xavier-normal(distribution=truncated-normal,gain=1)",
            ),
            (
                "kaiming-normal(distribution=truncated-normal)",
                "kaiming-normal(a=0,distribution=truncated-normal,mode=fan-in,nonlinearity=leaky-relu)",
            ),
            (
                "kaiming-uniform(mode=fan-out,nonlinearity=relu)",
                "kaiming-uniform(mode=fan-out,nonlinearity=relu)",
            ),
            (
                "truncated-normal(low=-inf)",
                "truncated-normal(high=2,low=-inf,mean=0,std=1)",
            ),
            ("constant(value=1e-7)", "constant(value=1e-7)"),
            ("constant(value=12345678901234567890)", "constant(value=1.2345678901234567e19)"),
            ("uniform(low=-.5,high=5e-1)", "uniform(high=0.5,low=-0.5)"),
            ("xavier-normalized", "xavier-uniform(gain=1)"),
            (
                "lsuv",
                "lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)",
            ),
            (
                "lsuv(pre=kaiming-normal,batch=64)",
                "lsuv(batch=64,max_iter=10,pre=kaiming-normal,tolerance=0.1)",
            ),
            (
                "variance-scaling",
                "variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)",
            ),
        ];
        for (spec, canonical) in table {
            assert_eq!(parse(spec).to_string(), canonical, "{spec}");
        }
    }

    #[test]
    fn unknown_name_lists_the_allowed_names() {
        let err = "xavier".parse::<Scheme>().unwrap_err();
        let Error::UnknownScheme { name, allowed } = &err else {
            panic!("{err:?}")
        };
        assert_eq!(name, "xavier");
        assert_eq!(allowed.as_slice(), Scheme::NAMES.as_slice());
        assert!(
            err.to_string().contains("xavier-uniform, xavier-normal"),
            "{err}"
        );
    }

    #[test]
    fn unknown_key_lists_the_allowed_keys() {
        let err = "normal(sigma=1)".parse::<Scheme>().unwrap_err();
        assert_eq!(
            err,
            Error::UnknownKey {
                scheme: "normal",
                key: "sigma".to_string(),
                allowed: vec!["mean", "std"],
            }
        );
        assert!(err.to_string().contains("allowed: mean, std"), "{err}");
        let err = "zeros(value=1)".parse::<Scheme>().unwrap_err();
        assert!(err.to_string().contains("none"), "{err}");
    }

    #[test]
    fn wrong_values_name_the_key_and_what_is_allowed() {
        let cases = [
            ("normal(std=abc)", "std", "a number"),
            ("normal(std=nan)", "std", "a number"),
            ("normal(std=-1)", "std", "a finite number > 0"),
            ("normal(std=0)", "std", "a finite number > 0"),
            ("normal(mean=inf)", "mean", "a finite number"),
            (
                "kaiming-normal(mode=fan_in)",
                "mode",
                "one of fan-in, fan-out, fan-avg",
            ),
            (
                "kaiming-normal(mode=fan-avg)",
                "mode",
                "one of fan-in, fan-out",
            ),
            (
                "kaiming-normal(nonlinearity=gelu)",
                "nonlinearity",
                "one of linear, sigmoid, tanh, relu, leaky-relu, selu",
            ),
            (
                "xavier-normal(distribution=uniform)",
                "distribution",
                "write `xavier-uniform`",
            ),
            ("uniform(low=1,high=1)", "high", "a number > low"),
            ("truncated-normal(low=3)", "high", "a number > low"),
            ("sparse(sparsity=1.5)", "sparsity", "[0, 1]"),
            ("chrono(t_max=2)", "t_max", "> 2"),
            ("lsuv(max_iter=0)", "max_iter", ">= 1"),
            ("lsuv(max_iter=2.5)", "max_iter", "integer"),
            ("lsuv(batch=0)", "batch", ">= 1"),
            ("lsuv(batch=all)", "batch", "positive integer"),
            ("lsuv(pre=lsuv)", "pre", "other than lsuv"),
            ("lsuv(pre=constant)", "pre", "defaults"),
            ("lsuv(pre=orthgonal)", "pre", "name of a scheme"),
            ("orthogonal(gain=0)", "gain", "> 0"),
        ];
        for (spec, key, expected) in cases {
            let err = spec.parse::<Scheme>().unwrap_err();
            match &err {
                Error::InvalidValue {
                    key: k,
                    expected: e,
                    ..
                } => {
                    assert_eq!(*k, key, "{spec}: {err}");
                    assert!(e.contains(expected), "{spec}: {err}");
                }
                other => panic!("{spec}: {other:?}"),
            }
        }
    }

    #[test]
    fn missing_duplicate_and_inapplicable_keys_are_errors() {
        assert!(matches!(
            "constant".parse::<Scheme>(),
            Err(Error::MissingKey { key: "value", .. })
        ));
        assert!(matches!(
            "sparse(std=0.1)".parse::<Scheme>(),
            Err(Error::MissingKey {
                key: "sparsity",
                ..
            })
        ));
        assert!(matches!(
            "chrono".parse::<Scheme>(),
            Err(Error::MissingKey { key: "t_max", .. })
        ));
        assert!(matches!(
            "normal(std=1,std=2)".parse::<Scheme>(),
            Err(Error::DuplicateKey { .. })
        ));
        assert!(matches!(
            "kaiming-uniform(nonlinearity=relu,a=0.1)".parse::<Scheme>(),
            Err(Error::KeyNotApplicable { key: "a", .. })
        ));
    }

    #[test]
    fn malformed_specs_are_syntax_errors() {
        for spec in [
            "",
            "(std=1)",
            "normal(std=1",
            "normal std=1)",
            "normal(std)",
            "normal(std=)",
            "normal(=1)",
            "normal(std=1,)",
            "normal(std=(1))",
        ] {
            assert!(
                matches!(spec.parse::<Scheme>(), Err(Error::Syntax { .. })),
                "`{spec}`: {:?}",
                spec.parse::<Scheme>()
            );
        }
    }

    #[test]
    fn every_name_has_a_parser_arm() {
        for name in Scheme::NAMES {
            match name.parse::<Scheme>() {
                Ok(_) | Err(Error::MissingKey { .. }) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
}
