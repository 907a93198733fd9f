//! The one error type of the crate.

/// Everything that can go wrong when parsing a spec, validating a scheme or
/// sampling a tensor.
///
/// Each variant names the offending scheme, key or shape, and where a fixed
/// set of values is allowed it lists them, so that the message alone says how
/// to fix an experiment file.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The spec is not `name` or `name(key=value,...)`.
    #[error(
        "invalid initializer spec `{spec}`: {reason}; expected `name` or `name(key=value,...)`"
    )]
    Syntax {
        /// The spec as given.
        spec: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The scheme name is not one of the catalogue.
    #[error("unknown initializer `{name}`; allowed: {}", allowed.join(", "))]
    UnknownScheme {
        /// The name as given.
        name: String,
        /// Every scheme name this crate knows.
        allowed: Vec<&'static str>,
    },
    /// A key that the scheme does not take.
    #[error("`{scheme}` has no key `{key}`; allowed: {}", list_or_none(allowed))]
    UnknownKey {
        /// The scheme name.
        scheme: &'static str,
        /// The key as given.
        key: String,
        /// The keys the scheme takes.
        allowed: Vec<&'static str>,
    },
    /// The same key given twice.
    #[error("`{scheme}`: key `{key}` is given more than once")]
    DuplicateKey {
        /// The scheme name.
        scheme: &'static str,
        /// The repeated key.
        key: String,
    },
    /// A key without a default was omitted.
    #[error("`{scheme}` needs `{key}` ({expected}); it has no default")]
    MissingKey {
        /// The scheme name.
        scheme: &'static str,
        /// The missing key.
        key: &'static str,
        /// What the value must be.
        expected: &'static str,
    },
    /// A value of the wrong type or out of range, or a word that is not one
    /// of the allowed ones.
    #[error("`{scheme}`: `{key}={value}` is invalid; expected {expected}")]
    InvalidValue {
        /// The scheme name.
        scheme: &'static str,
        /// The key.
        key: &'static str,
        /// The value as given (or as held by the [`Scheme`](crate::Scheme)).
        value: String,
        /// What is allowed, e.g. `a finite number > 0` or `one of fan-in, fan-out`.
        expected: String,
    },
    /// A key that only makes sense together with another value.
    #[error("`{scheme}`: key `{key}` is not allowed here: {reason}")]
    KeyNotApplicable {
        /// The scheme name.
        scheme: &'static str,
        /// The key.
        key: &'static str,
        /// Why, and what to write instead.
        reason: &'static str,
    },
    /// Fans are only defined for weights of at least two dimensions.
    #[error(
        "fan-in and fan-out need a shape of at least 2 dims (out, in, *receptive), got {shape:?}"
    )]
    FansNeedTwoDims {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// The scheme makes no sense for the shape (orthogonal for a 1-D bias,
    /// identity for a 3-D tensor, a fan-based scheme for a bias without the
    /// layer's fans).
    #[error("`{scheme}` cannot initialize a tensor of shape {shape:?}: it needs {expected}")]
    UnsupportedShape {
        /// The canonical spec of the scheme.
        scheme: String,
        /// The shape given.
        shape: Vec<usize>,
        /// What the scheme needs.
        expected: &'static str,
    },
    /// Explicit fans of zero: the variance would be infinite.
    #[error("`{scheme}`: fans must be at least 1, got fan_in={fan_in}, fan_out={fan_out}")]
    ZeroFan {
        /// The canonical spec of the scheme.
        scheme: String,
        /// The fan-in given.
        fan_in: usize,
        /// The fan-out given.
        fan_out: usize,
    },
    /// The number of elements of a shape does not fit in `usize`.
    #[error("shape {shape:?} has more elements than fit in memory")]
    ShapeOverflow {
        /// The shape given.
        shape: Vec<usize>,
    },
    /// A shape string such as `1440x360` could not be read.
    #[error("invalid shape `{text}`: {reason}; expected dims joined by `x`, e.g. `1440x360` or `64x3x3x3`")]
    InvalidShape {
        /// The text given.
        text: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A buffer whose length is not the product of its shape.
    #[error("{len} values do not fill shape {shape:?} ({expected} elements)")]
    LengthMismatch {
        /// The number of values.
        len: usize,
        /// The shape.
        shape: Vec<usize>,
        /// The product of the shape.
        expected: usize,
    },
    /// LSUV measured a variance it cannot divide by.
    #[error(
        "LSUV: layer {layer} has output variance {variance}; it must be finite and > 0 to rescale"
    )]
    LsuvDegenerateVariance {
        /// The layer index, in forward order.
        layer: usize,
        /// The variance measured.
        variance: f64,
    },
}

fn list_or_none(allowed: &[&str]) -> String {
    if allowed.is_empty() {
        "none (write the bare name)".to_string()
    } else {
        allowed.join(", ")
    }
}
