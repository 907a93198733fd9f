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
    /// Archives whose members are manifest files, for datasets distributed as a zip.
    pub archives: Vec<ArchiveEntry>,
}

/// A zip whose members are files of the manifest: the canonical way a dataset
/// such as MAESTRO is distributed. A member is taken from it only when the
/// member has no mirror copy and no URL of its own, and it is verified against
/// its own sha256 like any other file.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveEntry {
    /// The dataset whose files it holds.
    pub dataset: String,
    /// Where the archive itself lives in the cache and in a mirror.
    pub path: String,
    /// Lowercase hex sha256 of the archive.
    pub sha256: String,
    /// Size in bytes.
    pub size: u64,
    /// Canonical download locations, tried in order.
    pub urls: Vec<String>,
    /// Cache paths starting with this prefix (`maestro/`) are members…
    pub prefix: String,
    /// …stored in the archive under this prefix instead (`maestro-v3.0.0/`).
    pub member_prefix: String,
}

impl ArchiveEntry {
    /// The archive as a file to fetch and verify.
    pub fn as_file(&self) -> FileEntry {
        FileEntry {
            dataset: self.dataset.clone(),
            path: self.path.clone(),
            sha256: self.sha256.clone(),
            size: self.size,
            urls: self.urls.clone(),
        }
    }

    /// The member name of the file cached at `path`, if this archive holds it.
    pub fn member_of(&self, path: &str) -> Option<String> {
        path.strip_prefix(&self.prefix)
            .map(|rest| format!("{}{rest}", self.member_prefix))
    }
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
    #[serde(default)]
    archive: Vec<ArchiveEntry>,
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
        let archives = parsed.archive.iter().map(ArchiveEntry::as_file);
        for entry in parsed.file.iter().cloned().chain(archives) {
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
            archives: parsed.archive,
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

    /// The error `text` gets as the manifest `m.toml`.
    fn parse_error(text: &str) -> String {
        match Manifest::parse(Path::new("m.toml"), text) {
            Ok(_) => panic!("accepted: {text}"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn unknown_key_names_the_key_and_line() {
        let text = "[[file]]\ndataset = \"mnist\"\npath = \"a\"\nsha256 = \"00\"\nsize = 1\ncolour = \"red\"\n";
        let err = parse_error(text);
        assert!(err.contains("m.toml"), "{err}");
        assert!(err.contains("colour"), "{err}");
        assert!(err.contains("line 6"), "{err}");
    }

    #[test]
    fn bad_sha_is_refused() {
        let text = "[[file]]\ndataset = \"mnist\"\npath = \"a\"\nsha256 = \"00\"\nsize = 1\n";
        let err = parse_error(text);
        assert!(err.contains("64 lowercase hex"), "{err}");
    }

    #[test]
    fn the_committed_manifest_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../datasets/manifest.toml");
        let manifest = Manifest::load(&path).expect("datasets/manifest.toml parses");
        assert_eq!(manifest.dataset("mnist").map(|f| f.len()).ok(), Some(4));
        // Every MAESTRO file the manifest lists is a member of its v3 archive.
        let v3 = manifest
            .archives
            .iter()
            .find(|a| a.path.contains("v3.0.0"))
            .expect("the MAESTRO v3 archive is listed");
        let files = manifest.dataset("maestro").expect("maestro files");
        assert!(files.iter().all(|f| v3.member_of(&f.path).is_some()));
    }
}
