//! A verified local copy of manifest files: fetched from a mirror directory or the
//! network, checked against sha256, and written atomically.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::manifest::{ArchiveEntry, FileEntry};
use crate::{Error, Result};

/// Where a file came from when [`Cache::ensure`] had to fetch it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Fetched {
    /// Already in the cache and verified: nothing was written.
    Cached,
    /// Copied from the mirror directory.
    Mirror(PathBuf),
    /// Downloaded from this URL.
    Url(String),
    /// Extracted from this archive (itself fetched and verified first).
    Archive(PathBuf),
}

/// The cache directory and the sources it is filled from.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    mirror: Option<PathBuf>,
    network: bool,
    archives: Vec<ArchiveEntry>,
}

impl Cache {
    /// A cache in `dir`, filled from `mirror` when given, else from the network.
    pub fn new(dir: impl Into<PathBuf>, mirror: Option<PathBuf>) -> Self {
        Cache {
            dir: dir.into(),
            mirror,
            network: true,
            archives: Vec::new(),
        }
    }

    /// Archives to take files from when they have no mirror copy and no URL.
    pub fn with_archives(mut self, archives: Vec<ArchiveEntry>) -> Self {
        self.archives = archives;
        self
    }

    /// Never touch the network: only the cache and the mirror are used.
    pub fn offline(mut self) -> Self {
        self.network = false;
        self
    }

    /// The cache directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where `entry` lives in the cache (whether or not it is there yet).
    pub fn path_of(&self, entry: &FileEntry) -> PathBuf {
        self.dir.join(&entry.path)
    }

    /// The cached file, verified against its sha256 now. A damaged or missing file
    /// is an error naming it; this never fetches, so data is never trained on unchecked.
    pub fn verified(&self, entry: &FileEntry) -> Result<PathBuf> {
        let path = self.path_of(entry);
        if !path.exists() {
            return Err(Error::Unavailable {
                path,
                reason: "not in the cache".into(),
            });
        }
        let actual = sha256_file(&path)?;
        if actual != entry.sha256 {
            return Err(Error::Checksum {
                path,
                expected: entry.sha256.clone(),
                actual,
            });
        }
        Ok(path)
    }

    /// Makes sure `entry` is in the cache and verified, fetching it when it is
    /// missing or damaged. Nothing is renamed into place before it is verified.
    pub fn ensure(&self, entry: &FileEntry) -> Result<Fetched> {
        let target = self.path_of(entry);
        if target.exists() && sha256_file(&target)? == entry.sha256 {
            return Ok(Fetched::Cached);
        }
        let mut reasons = Vec::new();
        if let Some(mirror) = &self.mirror {
            let source = mirror.join(&entry.path);
            match std::fs::read(&source) {
                Ok(bytes) => {
                    // A mirror with a bad copy is an error about that copy, not a reason
                    // to go on to the network silently.
                    self.store(entry, &source, &bytes)?;
                    return Ok(Fetched::Mirror(source));
                }
                Err(e) => reasons.push(format!("mirror {}: {e}", source.display())),
            }
        } else {
            reasons.push("no mirror given".into());
        }
        if self.network {
            for url in &entry.urls {
                match download(url, entry.size) {
                    Ok(bytes) => match self.store(entry, Path::new(url), &bytes) {
                        Ok(()) => return Ok(Fetched::Url(url.clone())),
                        Err(e) => reasons.push(e.to_string()),
                    },
                    Err(e) => reasons.push(format!("{url}: {e}")),
                }
            }
        } else {
            reasons.push("network disabled".into());
        }
        for archive in &self.archives {
            let Some(member) = archive.member_of(&entry.path) else {
                continue;
            };
            match self.extract(archive, &member, entry) {
                Ok(zip) => return Ok(Fetched::Archive(zip)),
                Err(Error::Unavailable { path, reason }) => {
                    reasons.push(format!("archive {}: {reason}", path.display()))
                }
                Err(e) => reasons.push(e.to_string()),
            }
        }
        Err(Error::Unavailable {
            path: target,
            reason: reasons.join("; "),
        })
    }

    /// Fetches and verifies `archive` like any file, then verifies and stores its
    /// `member` as `entry`. Returns the archive's path in the cache.
    fn extract(&self, archive: &ArchiveEntry, member: &str, entry: &FileEntry) -> Result<PathBuf> {
        let zip_entry = archive.as_file();
        self.ensure(&zip_entry)?;
        let zip_path = self.path_of(&zip_entry);
        let file = std::fs::File::open(&zip_path).map_err(|e| Error::io(&zip_path, e))?;
        let archive_err = |problem: String| Error::Archive {
            path: zip_path.clone(),
            problem,
        };
        let mut zip = zip::ZipArchive::new(std::io::BufReader::new(file))
            .map_err(|e| archive_err(format!("not a readable zip: {e}")))?;
        let mut reader = zip
            .by_name(member)
            .map_err(|e| archive_err(format!("member `{member}`: {e}")))?;
        let mut bytes = Vec::with_capacity(usize::try_from(entry.size).unwrap_or(0));
        reader
            .read_to_end(&mut bytes)
            .map_err(|e| archive_err(format!("member `{member}`: {e}")))?;
        self.store(entry, &zip_path.join(member), &bytes)?;
        Ok(zip_path)
    }

    /// Verifies `bytes` (read from `source`) and writes them to the cache atomically.
    fn store(&self, entry: &FileEntry, source: &Path, bytes: &[u8]) -> Result<()> {
        let actual = sha256_bytes(bytes);
        if actual != entry.sha256 {
            return Err(Error::Checksum {
                path: source.to_path_buf(),
                expected: entry.sha256.clone(),
                actual,
            });
        }
        write_atomic(&self.path_of(entry), bytes)
    }
}

/// Writes `bytes` to a temporary file beside `path`, syncs it and renames it into
/// place, so a crash leaves either the old file or the new one, never half of one.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut tmp = tempfile_in(dir, path)?;
    tmp.1.write_all(bytes).map_err(|e| Error::io(&tmp.0, e))?;
    tmp.1.sync_all().map_err(|e| Error::io(&tmp.0, e))?;
    drop(tmp.1);
    std::fs::rename(&tmp.0, path).map_err(|e| Error::io(path, e))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Persist the rename itself; best effort, since not every filesystem allows it.
        let _ = d.sync_all();
    }
    Ok(())
}

fn tempfile_in(dir: &Path, path: &Path) -> Result<(PathBuf, std::fs::File)> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp{}", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    Ok((tmp, file))
}

/// Lowercase hex sha256 of a file's bytes.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = file.read(&mut buf).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex(&hasher.finalize()))
}

/// Lowercase hex sha256 of bytes.
pub fn sha256_bytes(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

fn download(url: &str, size: u64) -> std::result::Result<Vec<u8>, String> {
    let agent = ureq::AgentBuilder::new()
        .timeout_connect(Duration::from_secs(10))
        .timeout(Duration::from_secs(300))
        .build();
    let response = agent.get(url).call().map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    response
        .into_reader()
        .take(size.saturating_mul(2).max(1 << 20))
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(bytes: &[u8]) -> FileEntry {
        FileEntry {
            dataset: "t".into(),
            path: "t/file.bin".into(),
            sha256: sha256_bytes(bytes),
            size: bytes.len() as u64,
            urls: vec![],
        }
    }

    /// A temporary root whose mirror holds `t/file.bin` with `bytes`, and an
    /// offline cache under it that copies from that mirror.
    fn mirrored(bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Cache) {
        let root = tempfile::tempdir().unwrap();
        let mirror = root.path().join("mirror");
        std::fs::create_dir_all(mirror.join("t")).unwrap();
        std::fs::write(mirror.join("t/file.bin"), bytes).unwrap();
        let cache = Cache::new(root.path().join("cache"), Some(mirror.clone())).offline();
        (root, mirror, cache)
    }

    /// `ensure` refuses `e` with a checksum error naming `source`, and writes
    /// nothing into the cache.
    fn assert_refused_naming(cache: &Cache, e: &FileEntry, source: &str) {
        let err = cache.ensure(e).unwrap_err().to_string();
        assert!(
            err.contains(source) && err.contains("sha256 mismatch"),
            "{err}"
        );
        assert!(!cache.path_of(e).exists());
    }

    #[test]
    fn copies_from_mirror_then_skips() {
        let (_root, mirror, cache) = mirrored(b"hello");
        let e = entry(b"hello");
        assert_eq!(
            cache.ensure(&e).unwrap(),
            Fetched::Mirror(mirror.join("t/file.bin"))
        );
        assert_eq!(cache.ensure(&e).unwrap(), Fetched::Cached);
        assert!(cache.verified(&e).is_ok());
    }

    #[test]
    fn mirror_checksum_mismatch_names_the_file_and_writes_nothing() {
        let (_root, _mirror, cache) = mirrored(b"evil");
        let e = entry(b"hello");
        assert_refused_naming(&cache, &e, "mirror/t/file.bin");
    }

    #[test]
    fn damaged_cache_file_is_refused_then_refetched() {
        let (_root, _mirror, cache) = mirrored(b"hello");
        let e = entry(b"hello");
        cache.ensure(&e).unwrap();
        std::fs::write(cache.path_of(&e), b"hellO").unwrap();
        let err = cache.verified(&e).unwrap_err().to_string();
        assert!(
            err.contains("cache/t/file.bin") && err.contains("sha256 mismatch"),
            "{err}"
        );
        assert!(matches!(cache.ensure(&e).unwrap(), Fetched::Mirror(_)));
        assert!(cache.verified(&e).is_ok());
    }

    fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        for (name, bytes) in members {
            zip.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            std::io::Write::write_all(&mut zip, bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn archive(zip: &[u8], urls: Vec<String>) -> ArchiveEntry {
        ArchiveEntry {
            dataset: "t".into(),
            path: "archives/t.zip".into(),
            sha256: sha256_bytes(zip),
            size: zip.len() as u64,
            urls,
            prefix: "t/".into(),
            member_prefix: "t-v3/".into(),
        }
    }

    #[test]
    fn a_member_comes_from_the_archive_and_is_verified() {
        let root = tempfile::tempdir().unwrap();
        let mirror = root.path().join("mirror");
        let zip = zip_of(&[("t-v3/file.bin", b"hello"), ("t-v3/other.bin", b"evil")]);
        std::fs::create_dir_all(mirror.join("archives")).unwrap();
        std::fs::write(mirror.join("archives/t.zip"), &zip).unwrap();
        let cache = Cache::new(root.path().join("cache"), Some(mirror))
            .offline()
            .with_archives(vec![archive(&zip, vec![])]);
        let e = entry(b"hello");
        assert!(matches!(cache.ensure(&e).unwrap(), Fetched::Archive(_)));
        assert!(cache.verified(&e).is_ok());
        // A member whose bytes are not the manifest's is refused, naming it.
        let mut other = entry(b"hello");
        other.path = "t/other.bin".into();
        assert_refused_naming(&cache, &other, "t.zip/t-v3/other.bin");
    }

    #[test]
    fn an_archive_is_downloaded_over_http() {
        let zip = zip_of(&[("t-v3/file.bin", b"hello")]);
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/t.zip", listener.local_addr().unwrap());
        let body = zip.clone();
        let server = std::thread::spawn(move || {
            // One request: the archive.
            let (mut stream, _) = listener.accept().unwrap();
            let mut request = [0u8; 4096];
            let _ = std::io::Read::read(&mut stream, &mut request);
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            std::io::Write::write_all(&mut stream, head.as_bytes()).unwrap();
            std::io::Write::write_all(&mut stream, &body).unwrap();
        });
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::new(root.path().join("cache"), None)
            .with_archives(vec![archive(&zip, vec![url])]);
        let e = entry(b"hello");
        assert!(matches!(cache.ensure(&e).unwrap(), Fetched::Archive(_)));
        server.join().unwrap();
        assert!(cache.verified(&e).is_ok());
        assert!(root.path().join("cache/archives/t.zip").is_file());
    }

    #[test]
    fn no_mirror_no_network_says_how_to_get_the_data() {
        let root = tempfile::tempdir().unwrap();
        let cache = Cache::new(root.path().join("cache"), None).offline();
        let err = cache.ensure(&entry(b"x")).unwrap_err().to_string();
        assert!(
            err.contains("t/file.bin") && err.contains("--mirror"),
            "{err}"
        );
    }
}
