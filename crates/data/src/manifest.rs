//! The list of every file a study may read, with where to get it and its sha256.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

/// `datasets/manifest.toml`: every file, its canonical URLs and its sha256.
#[derive(Clone, Debug)]
pub struct Manifest {
    /// Where the manifest was read from, for error messages.
    pub path: PathBuf,
    /// Every file, in manifest order.
    pub files: Vec<FileEntry>,
}

/// One file of a dataset.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FileEntry {
    /// The dataset the file belongs to (`mnist`, `maestro`, ...).
    pub dataset: String,
    /// Where the file lives in the cache and in a mirror, relative to either's root.
    pub path: String,
    /// Lowercase hex sha256 of the file's bytes.
    pub sha256: String,
    /// Size in bytes, to show progress and catch a short download early.
    pub size: u64,
    /// Canonical download locations, tried in order.
    #[serde(default)]
    pub urls: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestFile {
    file: Vec<FileEntry>,
}

impl Manifest {
    /// Reads and validates a manifest file.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::parse(path, &text)
    }

    /// Parses manifest text; `path` only names the file in errors.
    pub fn parse(path: &Path, text: &str) -> Result<Self> {
        let parsed: ManifestFile = toml::from_str(text).map_err(|e| Error::Manifest {
            path: path.to_path_buf(),
            problem: e.to_string().trim().replace('\n', " "),
        })?;
        for entry in &parsed.file {
            let hex_ok = entry.sha256.len() == 64
                && entry
                    .sha256
                    .bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
            if !hex_ok {
                return Err(Error::Manifest {
                    path: path.to_path_buf(),
                    problem: format!(
                        "entry `{}`: sha256 must be 64 lowercase hex digits",
                        entry.path
                    ),
                });
            }
            if entry
                .path
                .split('/')
                .any(|part| part == ".." || part.is_empty())
            {
                return Err(Error::Manifest {
                    path: path.to_path_buf(),
                    problem: format!("entry `{}`: path must be relative and plain", entry.path),
                });
            }
        }
        Ok(Manifest {
            path: path.to_path_buf(),
            files: parsed.file,
        })
    }

    /// The files of one dataset, or an error if the manifest lists none.
    pub fn dataset(&self, name: &str) -> Result<Vec<&FileEntry>> {
        let files: Vec<&FileEntry> = self.files.iter().filter(|f| f.dataset == name).collect();
        if files.is_empty() {
            return Err(Error::Manifest {
                path: self.path.clone(),
                problem: format!("no file of dataset `{name}`"),
            });
        }
        Ok(files)
    }

    /// The entry whose `path` is `path`.
    pub fn entry(&self, path: &str) -> Result<&FileEntry> {
        self.files
            .iter()
            .find(|f| f.path == path)
            .ok_or_else(|| Error::Manifest {
                path: self.path.clone(),
                problem: format!("no entry for `{path}`"),
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let text = "[[file]]\ndataset = \"mnist\"\npath = \"a\"\nsha256 = \"00\"\nsize = 1\ncolour = \"red\"\n";
        let err = Manifest::parse(Path::new("m.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("m.toml"), "{err}");
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 6"), "{err}");
    }

    #[test]
    fn bad_sha_is_refused() {
        let text = "[[file]]\ndataset = \"mnist\"\npath = \"a\"\nsha256 = \"00\"\nsize = 1\n";
        let err = Manifest::parse(Path::new("m.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("64 lowercase hex"), "{err}");
    }

    #[test]
    fn the_committed_manifest_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/manifest.toml");
        let manifest = Manifest::load(&path).expect("datasets/manifest.toml parses");
        assert_eq!(manifest.dataset("mnist").map(|f| f.len()).ok(), Some(4));
    }
}
