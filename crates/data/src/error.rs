use std::path::PathBuf;

/// Everything that can go wrong reading, fetching or checking a dataset.
///
/// Every variant names the file it is about, so that a one-line message tells
/// a researcher which file to look at and what is wrong with it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A file could not be read or written.
    #[error("{}: {error}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        error: std::io::Error,
    },
    /// A gzip stream ended early or is not gzip at all.
    #[error("{}: not a complete gzip stream ({error})", path.display())]
    Gzip {
        /// The file.
        path: PathBuf,
        /// What the decoder said.
        error: std::io::Error,
    },
    /// An IDX file's header or payload disagrees with the IDX format or with the data it should hold.
    #[error("{}: {problem}", path.display())]
    Idx {
        /// The file.
        path: PathBuf,
        /// What is wrong, in words.
        problem: String,
    },
    /// A file's sha256 is not the one the manifest lists.
    #[error("{}: sha256 mismatch: expected {expected}, got {actual}", path.display())]
    Checksum {
        /// The file.
        path: PathBuf,
        /// The manifest's sha256.
        expected: String,
        /// The file's sha256.
        actual: String,
    },
    /// The manifest itself cannot be parsed.
    #[error("{}: {problem}", path.display())]
    Manifest {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong, with line and key when the parser knows them.
        problem: String,
    },
    /// A file is neither in the cache, nor in a mirror, nor reachable over the network.
    #[error("{}: not available: {reason}. Get the data with `cargo xtask download --mirror DIR` (or set INITLAB_DATA_MIRROR=DIR) where DIR holds a copy laid out like the manifest's `mirror_path`s", path.display())]
    Unavailable {
        /// Where the file should be.
        path: PathBuf,
        /// Why each source failed.
        reason: String,
    },
    /// A MIDI file cannot be parsed; `offset` is the byte where parsing stopped, when known.
    #[error("{}: malformed MIDI{}: {problem}", path.display(), offset.map(|o| format!(" at byte {o}")).unwrap_or_default())]
    Midi {
        /// The file.
        path: PathBuf,
        /// Byte offset of the problem, when known.
        offset: Option<usize>,
        /// What is wrong.
        problem: String,
    },
    /// A dataset's metadata table (MAESTRO's `maestro-v*.csv`) cannot be parsed.
    #[error("{}: {problem}", path.display())]
    Metadata {
        /// The metadata file.
        path: PathBuf,
        /// What is wrong, with the line.
        problem: String,
    },
    /// An archive cannot be read, or lacks a member the manifest expects in it.
    #[error("{}: {problem}", path.display())]
    Archive {
        /// The archive.
        path: PathBuf,
        /// What is wrong.
        problem: String,
    },
    /// A dataset's parameters are out of range (an empty split, a zero length).
    #[error("{0}")]
    Invalid(String),
}

/// Result with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn io(path: impl Into<PathBuf>, error: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            error,
        }
    }
}
