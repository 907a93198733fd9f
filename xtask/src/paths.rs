//! Where the project's files are, wherever `cargo xtask` is run from.

use std::path::{Path, PathBuf};

/// The workspace root, from this crate's manifest directory.
pub fn project_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| PathBuf::from("."))
}

/// `experiments/`.
pub fn experiments() -> PathBuf {
    project_root().join("experiments")
}

/// `datasets/manifest.toml`.
pub fn manifest() -> PathBuf {
    project_root().join("datasets").join("manifest.toml")
}

/// `datasets/cache/`, the default cache.
pub fn default_cache() -> PathBuf {
    project_root().join("datasets").join("cache")
}

/// `snapshots/`.
pub fn snapshots() -> PathBuf {
    project_root().join("snapshots")
}
