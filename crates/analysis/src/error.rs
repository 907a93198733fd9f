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
    /// A run file's contents do not match one of its own hashes: it was damaged
    /// or edited after the run finished, and must not be merged.
    #[error("{}: {hash} does not match its {of} (stored {stored}, recomputed {computed})", path.display())]
    HashMismatch {
        /// The file.
        path: PathBuf,
        /// The hash that failed (`config_sha256`, `init_sha256`, `outputs_sha256`).
        hash: &'static str,
        /// What it is the hash of.
        of: &'static str,
        /// The hash the file states.
        stored: String,
        /// The hash of what the file holds.
        computed: String,
    },
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
