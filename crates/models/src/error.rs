/// What can go wrong building a model from a config and an initializer plan.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The plan names a parameter group (or parameter) the model does not have.
    #[error(
        "unknown parameter group `{group}`; this model has the groups {} and the parameters {}",
        allowed.join(", "),
        params.join(", ")
    )]
    UnknownGroup {
        /// The group the plan named.
        group: String,
        /// The groups the model has.
        allowed: Vec<String>,
        /// The parameters the model has, which a plan may also name.
        params: Vec<String>,
    },
    /// An initializer cannot be applied to a parameter (a fan-based scheme on a bias, say).
    #[error("parameter `{param}` {shape:?}: {error}")]
    Init {
        /// The parameter's name.
        param: String,
        /// Its shape in PyTorch layout.
        shape: Vec<usize>,
        /// What the initializer said.
        error: Box<initlab_init::Error>,
    },
    /// The model config itself is invalid (zero width, no layers).
    #[error("{0}")]
    Config(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
