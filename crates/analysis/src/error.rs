use std::path::PathBuf;

/// What can go wrong reading or writing results.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A results file could not be read, written or renamed.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// An HDF5 file is not what the store wrote (damaged, or another layout).
    #[error("{}: {message}", path.display())]
    Hdf5 {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
