//! What a scheme kind declares ([`SchemeKind`]: name, keys with their
//! defaults, catalogue row, parser) and the spec syntax every kind shares:
//! `name` or `name(key=value,...)`, parsed against a [`Registry`].
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

use crate::{Error, Scheme};

/// One scheme as the registry knows it before any value is given: its
/// catalogue row, which starts with its canonical spec with every default
/// (so its name and keys), and its parser.
///
/// A family file declares one `const` of this type per scheme, next to the
/// type that the parser builds (an [`Initializer`](crate::Initializer)); one
/// line in the crate's [`SCHEMES`](crate::SCHEMES) makes it parseable, and
/// the catalogue test then asks for its row in `README.md`.
#[derive(Clone, Copy, Debug)]
pub struct SchemeKind {
    /// The spec name, kebab-case.
    pub name: &'static str,
    /// The catalogue row as Markdown cells,
    /// `spec | formula | reference | PyTorch | Keras` (`–` where there is
    /// nothing to say): the spec is the canonical one with every default,
    /// keys sorted, `…` for a required key.
    pub row: &'static str,
    /// Builds the scheme from the given keys (read with [`Keys`], which fills
    /// in defaults); parsing then runs the checks of its
    /// [`Spec`](crate::Spec).
    pub parse: fn(&Keys<'_>) -> Result<Scheme, Error>,
    /// Other names that parse to this scheme with all its defaults and take
    /// no keys.
    pub aliases: &'static [&'static str],
}

impl SchemeKind {
    /// A kind without aliases, named by the start of its row.
    pub const fn new(
        row: &'static str,
        parse: fn(&Keys<'_>) -> Result<Scheme, Error>,
    ) -> SchemeKind {
        let bytes = row.as_bytes();
        let mut end = 0;
        while end < bytes.len() && bytes[end] != b'(' && bytes[end] != b' ' {
            end += 1;
        }
        SchemeKind {
            name: row.split_at(end).0,
            row,
            parse,
            aliases: &[],
        }
    }

    /// The kind, also parsed from `aliases`.
    pub const fn with_aliases(self, aliases: &'static [&'static str]) -> SchemeKind {
        SchemeKind { aliases, ..self }
    }

    /// The canonical spec with every default, `…` for a required key: the
    /// first cell of the row.
    pub fn spec_with_defaults(&self) -> &'static str {
        self.row.split(" | ").next().unwrap_or(self.row)
    }

    /// Every key with its default, in the order of the row (sorted).
    pub fn keys(&self) -> Vec<Key> {
        let spec = self.spec_with_defaults();
        let body = spec
            .strip_prefix(self.name)
            .and_then(|rest| rest.strip_prefix('('))
            .and_then(|rest| rest.strip_suffix(')'))
            .unwrap_or("");
        body.split(',')
            .filter_map(|pair| pair.split_once('='))
            .map(|(name, default)| Key {
                name,
                default: (default != "…").then_some(default),
            })
            .collect()
    }

    /// The scheme's row of the catalogue table, in Markdown.
    pub fn catalogue_row(&self) -> String {
        let (spec, rest) = self.row.split_once(" | ").unwrap_or((self.row, ""));
        let aliases: String = self
            .aliases
            .iter()
            .map(|alias| format!(" (alias `{alias}`)"))
            .collect();
        format!("| `{spec}`{aliases} | {rest} |")
    }
}

/// A key of a spec and its default, as the spec spells it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Key {
    /// The key.
    pub name: &'static str,
    /// The default value's spelling; `None`: the key is required.
    pub default: Option<&'static str>,
}

/// A list of scheme kinds: the names a spec may use, in catalogue order.
///
/// The crate's own is [`SCHEMES`](crate::SCHEMES), which `str::parse` uses;
/// another list parses and prints the same way, so a new kind can be tried
/// before it joins the crate's.
#[derive(Clone, Copy, Debug)]
pub struct Registry(pub &'static [&'static SchemeKind]);

impl Registry {
    /// The kinds, in catalogue order.
    pub fn kinds(self) -> &'static [&'static SchemeKind] {
        self.0
    }

    /// Every name a spec may use.
    pub const fn names(self) -> Names {
        Names(self.0)
    }

    /// The catalogue table in Markdown: a header and one row per kind.
    pub fn catalogue(self) -> String {
        let mut table = String::from(
            "| spec (canonical, with defaults) | formula | reference | PyTorch | Keras |\n\
             |---|---|---|---|---|\n",
        );
        for kind in self.0 {
            table.push_str(&kind.catalogue_row());
            table.push('\n');
        }
        table
    }

    /// Parses and validates a spec against these kinds (see the module doc).
    ///
    /// # Errors
    /// [`Error::Syntax`], [`Error::UnknownScheme`], [`Error::UnknownKey`],
    /// [`Error::DuplicateKey`], [`Error::MissingKey`],
    /// [`Error::InvalidValue`] or [`Error::KeyNotApplicable`].
    pub fn parse(self, spec: &str) -> Result<Scheme, Error> {
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
        let Some((kind, name, allowed)) = self.find(name) else {
            return Err(Error::UnknownScheme {
                name: name.to_string(),
                allowed: self.names().to_vec(),
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
        let keys = Keys::new(self, kind, name, allowed, pairs)?;
        let scheme = (kind.parse)(&keys)?;
        scheme.validate()?;
        Ok(scheme)
    }

    /// The kind a spec name stands for, the name as the registry spells it,
    /// and the keys it may be given (none for an alias).
    fn find(self, name: &str) -> Option<(&'static SchemeKind, &'static str, Vec<Key>)> {
        self.0.iter().find_map(|&kind| {
            if kind.name == name {
                return Some((kind, kind.name, kind.keys()));
            }
            let alias = kind.aliases.iter().find(|&&a| a == name)?;
            Some((kind, *alias, Vec::new()))
        })
    }
}

/// Every spec name of a [`Registry`]: the kinds' names in catalogue order,
/// then the aliases.
#[derive(Clone, Copy, Debug)]
pub struct Names(&'static [&'static SchemeKind]);

impl Names {
    /// The names, in order.
    pub fn iter(self) -> impl Iterator<Item = &'static str> {
        let names = self.0.iter().map(|kind| kind.name);
        names.chain(self.0.iter().flat_map(|kind| kind.aliases.iter().copied()))
    }

    /// The names, collected.
    pub fn to_vec(self) -> Vec<&'static str> {
        self.iter().collect()
    }
}

impl IntoIterator for Names {
    type Item = &'static str;
    type IntoIter = std::vec::IntoIter<&'static str>;

    fn into_iter(self) -> Self::IntoIter {
        self.to_vec().into_iter()
    }
}

/// The `key=value` pairs of one spec, checked against its kind's keys; the
/// getters fill in the kind's defaults.
pub struct Keys<'a> {
    registry: Registry,
    kind: &'static SchemeKind,
    scheme: &'static str,
    pairs: Vec<(&'static str, &'a str)>,
}

impl<'a> Keys<'a> {
    fn new(
        registry: Registry,
        kind: &'static SchemeKind,
        scheme: &'static str,
        allowed: Vec<Key>,
        given: Vec<(&'a str, &'a str)>,
    ) -> Result<Self, Error> {
        let names = || allowed.iter().map(|k| k.name).collect::<Vec<_>>();
        let mut pairs: Vec<(&'static str, &'a str)> = Vec::with_capacity(given.len());
        for (key, value) in given {
            let Some(key) = allowed.iter().map(|k| k.name).find(|&k| k == key) else {
                return Err(Error::UnknownKey {
                    scheme,
                    key: key.to_string(),
                    allowed: names(),
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
        Ok(Keys {
            registry,
            kind,
            scheme,
            pairs,
        })
    }

    /// The spec name as written (an alias, or the kind's name).
    pub fn scheme(&self) -> &'static str {
        self.scheme
    }

    /// The value given for `key`, if any (no default).
    pub fn given(&self, key: &str) -> Option<&'a str> {
        self.pairs.iter().find(|&&(k, _)| k == key).map(|&(_, v)| v)
    }

    /// The value given for `key`, else its default; `None` when the key is
    /// required and missing.
    pub fn value(&self, key: &str) -> Option<&'a str> {
        self.given(key).or_else(|| {
            let keys = self.kind.keys();
            keys.into_iter().find(|k| k.name == key)?.default
        })
    }

    /// [`Error::InvalidValue`] for this spec.
    pub fn invalid(&self, key: &'static str, value: &str, expected: String) -> Error {
        Error::InvalidValue {
            scheme: self.scheme,
            key,
            value: value.to_string(),
            expected,
        }
    }

    fn missing(&self, key: &'static str, expected: &'static str) -> Error {
        Error::MissingKey {
            scheme: self.scheme,
            key,
            expected,
        }
    }

    /// A number (anything `f64` parses but NaN).
    ///
    /// # Errors
    /// [`Error::InvalidValue`], or [`Error::MissingKey`] for a required key.
    pub fn number(&self, key: &'static str) -> Result<f64, Error> {
        let value = self
            .value(key)
            .ok_or_else(|| self.missing(key, "a number"))?;
        value
            .parse::<f64>()
            .ok()
            .filter(|x| !x.is_nan())
            .ok_or_else(|| self.invalid(key, value, "a number".to_string()))
    }

    /// Numbers, read in order.
    ///
    /// # Errors
    /// As [`number`](Keys::number), for the first key that fails.
    pub fn numbers<const N: usize>(&self, keys: [&'static str; N]) -> Result<[f64; N], Error> {
        let mut values = [0.0; N];
        for (value, key) in values.iter_mut().zip(keys) {
            *value = self.number(key)?;
        }
        Ok(values)
    }

    /// A non-negative integer.
    ///
    /// # Errors
    /// As [`number`](Keys::number).
    pub fn integer(&self, key: &'static str) -> Result<u32, Error> {
        let expected = "a non-negative integer";
        let value = self.value(key).ok_or_else(|| self.missing(key, expected))?;
        value
            .parse::<u32>()
            .map_err(|_| self.invalid(key, value, expected.to_string()))
    }

    /// One of `options`, by its spec spelling.
    ///
    /// # Errors
    /// As [`number`](Keys::number); the message lists the options.
    pub fn word<T: Copy>(&self, key: &'static str, options: &[(&str, T)]) -> Result<T, Error> {
        let value = self.value(key).ok_or_else(|| self.missing(key, "a word"))?;
        options
            .iter()
            .find(|(name, _)| *name == value)
            .map(|&(_, t)| t)
            .ok_or_else(|| {
                let names: Vec<&str> = options.iter().map(|(name, _)| *name).collect();
                self.invalid(key, value, format!("one of {}", names.join(", ")))
            })
    }

    /// A scheme of the same registry, by its name alone and so with its
    /// defaults, since a value cannot hold the parentheses of a spec.
    ///
    /// # Errors
    /// As [`number`](Keys::number), with the name's own error in the message.
    pub fn scheme_name(&self, key: &'static str) -> Result<Scheme, Error> {
        let value = self
            .value(key)
            .ok_or_else(|| self.missing(key, "a scheme name"))?;
        self.registry.parse(value).map_err(|e| {
            self.invalid(
                key,
                value,
                format!("the name of a scheme whose keys all have defaults ({e})"),
            )
        })
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
        assert_eq!(allowed, &Scheme::NAMES.to_vec());
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
        let err = "xavier-normalized(gain=2)".parse::<Scheme>().unwrap_err();
        assert!(
            matches!(&err, Error::UnknownKey { scheme: "xavier-normalized", allowed, .. } if allowed.is_empty()),
            "{err:?}"
        );
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
    fn every_name_parses() {
        for name in Scheme::NAMES {
            match name.parse::<Scheme>() {
                Ok(_) | Err(Error::MissingKey { .. }) => {}
                Err(e) => panic!("{name}: {e}"),
            }
        }
    }
}
