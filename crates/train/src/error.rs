use std::path::PathBuf;

/// What can stop a study before or between runs. A run that diverges is not an
/// error: it is a result, recorded with status `diverged`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A study file has a syntax error, an unknown key or a wrongly typed value.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Study {
        /// The study file.
        path: PathBuf,
        /// 1-based line of the problem.
        line: usize,
        /// 1-based column of the problem.
        column: usize,
        /// What is wrong, naming the key.
        message: String,
    },
    /// A study file is well-formed but asks for something impossible.
    #[error("{}: {message}", path.display())]
    Invalid {
        /// The study file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No study of that name, and no such file.
    #[error("no study `{name}`: expected a file path or one of {}", known.join(", "))]
    UnknownStudy {
        /// What was asked for.
        name: String,
        /// The studies in `experiments/`.
        known: Vec<String>,
    },
    /// The backend was not compiled in, or cannot start.
    #[error("backend `{name}`: {message}")]
    Backend {
        /// The backend's name.
        name: String,
        /// Why it cannot be used.
        message: String,
    },
    /// Reading or checking a dataset failed.
    #[error(transparent)]
    Data(#[from] initlab_data::Error),
    /// Building a model failed.
    #[error(transparent)]
    Model(#[from] initlab_models::Error),
    /// A task and a network do not fit, or a task's data is unusable.
    #[error("{0}")]
    Task(String),
    /// Storing a run failed.
    #[error("storing run {run_id}: {message}")]
    Store {
        /// The run.
        run_id: String,
        /// What the store said.
        message: String,
    },
    /// A file could not be read.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
