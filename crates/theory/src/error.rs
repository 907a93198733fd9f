//! What can go wrong: a bad parameter, or a quantity the theory does not define.

/// Every error the crate returns; each message is one line.
#[derive(Debug, thiserror::Error, Clone, PartialEq)]
pub enum Error {
    /// An activation name the crate does not know.
    #[error("unknown activation `{0}`: expected one of linear, relu, tanh, sigmoid")]
    UnknownActivation(String),
    /// A variance that is negative, zero where it must not be, or not finite.
    #[error("{name} = {value}: expected {expected}")]
    InvalidParameter {
        /// The parameter's name, as the command line spells it.
        name: &'static str,
        /// The value given.
        value: f64,
        /// What it must be.
        expected: &'static str,
    },
    /// An unbounded φ whose length map has no finite fixed point: q grows
    /// without limit (or, exactly at the boundary with no bias, stays at q⁰).
    #[error(
        "{activation} with sigma_w2 = {sigma_w2}, sigma_b2 = {sigma_b2} has no fixed point q*: \
         the length map's slope is {slope} ≥ 1, so q^l {behaviour}"
    )]
    NoFixedPoint {
        /// The activation's name.
        activation: &'static str,
        /// σ_w².
        sigma_w2: f64,
        /// σ_b².
        sigma_b2: f64,
        /// σ_w² E[φ′²], the length map's constant slope.
        slope: f64,
        /// What q^l does instead.
        behaviour: &'static str,
    },
    /// No σ_w² in the searched range puts χ₁ = 1.
    #[error("no critical sigma_w2 for {activation} with sigma_b2 = {sigma_b2} below {limit}")]
    NoCriticalPoint {
        /// The activation's name.
        activation: &'static str,
        /// σ_b².
        sigma_b2: f64,
        /// The largest σ_w² tried.
        limit: f64,
    },
}
