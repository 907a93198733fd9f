//! MNIST from the original gzip IDX files (LeCun et al. 1998), and the studies' split.

use std::io::Read;
use std::path::Path;

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::cache::Cache;
use crate::manifest::Manifest;
use crate::{Error, Result};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;

/// Images and labels of one MNIST file pair.
#[derive(Clone, Debug, PartialEq)]
pub struct Images {
    /// `len × rows × cols` pixels, row-major, 0–255.
    pub pixels: Vec<u8>,
    /// One label 0–9 per image.
    pub labels: Vec<u8>,
    /// Rows per image (28).
    pub rows: usize,
    /// Columns per image (28).
    pub cols: usize,
}

impl Images {
    /// Number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// True when there are no images.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// Pixels per image.
    pub fn features(&self) -> usize {
        self.rows * self.cols
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Images {
        let f = self.features();
        let mut pixels = Vec::with_capacity(indices.len() * f);
        let mut labels = Vec::with_capacity(indices.len());
        for &i in indices {
            pixels.extend_from_slice(&self.pixels[i * f..(i + 1) * f]);
            labels.push(self.labels[i]);
        }
        Images {
            pixels,
            labels,
            rows: self.rows,
            cols: self.cols,
        }
    }
}

/// The MNIST training and test sets.
#[derive(Clone, Debug, PartialEq)]
pub struct Mnist {
    /// The 60 000 training images.
    pub train: Images,
    /// The 10 000 test images.
    pub test: Images,
}

/// The four MNIST files, as named in the manifest.
pub const FILES: [&str; 4] = [
    "mnist/train-images-idx3-ubyte.gz",
    "mnist/train-labels-idx1-ubyte.gz",
    "mnist/t10k-images-idx3-ubyte.gz",
    "mnist/t10k-labels-idx1-ubyte.gz",
];

impl Mnist {
    /// Loads MNIST from the cache, verifying each file's sha256 first.
    pub fn load(manifest: &Manifest, cache: &Cache) -> Result<Self> {
        let path =
            |name: &str| -> Result<std::path::PathBuf> { cache.verified(manifest.entry(name)?) };
        Self::from_files(
            &path(FILES[0])?,
            &path(FILES[1])?,
            &path(FILES[2])?,
            &path(FILES[3])?,
        )
    }

    /// Loads MNIST from four gzip IDX files, with no checksum (tests, other copies).
    pub fn from_files(
        train_images: &Path,
        train_labels: &Path,
        test_images: &Path,
        test_labels: &Path,
    ) -> Result<Self> {
        Ok(Mnist {
            train: read_pair(train_images, train_labels)?,
            test: read_pair(test_images, test_labels)?,
        })
    }
}

fn read_pair(images: &Path, labels: &Path) -> Result<Images> {
    let (pixels, count, rows, cols) = read_idx_images(images)?;
    let labels_vec = read_idx_labels(labels)?;
    if labels_vec.len() != count {
        return Err(Error::Idx {
            path: labels.to_path_buf(),
            problem: format!(
                "{} labels for {count} images in {}",
                labels_vec.len(),
                images.display()
            ),
        });
    }
    if let Some(bad) = labels_vec.iter().find(|&&l| l > 9) {
        return Err(Error::Idx {
            path: labels.to_path_buf(),
            problem: format!("label {bad} is not a digit 0-9"),
        });
    }
    Ok(Images {
        pixels,
        labels: labels_vec,
        rows,
        cols,
    })
}

/// Reads a gzip IDX3 image file: `(pixels, count, rows, cols)`.
pub fn read_idx_images(path: &Path) -> Result<(Vec<u8>, usize, usize, usize)> {
    let (dims, payload) = read_idx(path, IMAGES_MAGIC, 3)?;
    Ok((payload, dims[0], dims[1], dims[2]))
}

/// Reads a gzip IDX1 label file.
pub fn read_idx_labels(path: &Path) -> Result<Vec<u8>> {
    let (_, payload) = read_idx(path, LABELS_MAGIC, 1)?;
    Ok(payload)
}

/// Decompresses an IDX file and checks magic, dimensions and payload length exactly.
fn read_idx(path: &Path, magic: u32, ndim: usize) -> Result<(Vec<usize>, Vec<u8>)> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::io::BufReader::new(file))
        .read_to_end(&mut bytes)
        .map_err(|error| Error::Gzip {
            path: path.to_path_buf(),
            error,
        })?;
    let idx_err = |problem: String| Error::Idx {
        path: path.to_path_buf(),
        problem,
    };
    let header_len = 4 + 4 * ndim;
    let word = |i: usize| u32::from_be_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]);
    if bytes.len() >= 4 && word(0) != magic {
        return Err(idx_err(format!(
            "wrong magic number {:#010x}, expected {magic:#010x} ({ndim}-dimensional unsigned bytes)",
            word(0)
        )));
    }
    if bytes.len() < header_len {
        return Err(idx_err(format!(
            "truncated IDX header: {} bytes, need {header_len}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = (0..ndim).map(|d| word(4 + 4 * d) as usize).collect();
    let got = bytes.len() - header_len;
    // Three u32 dims can multiply past usize: wrapped, 2^31 · 2^31 · 4 would
    // claim an empty payload.
    let Some(expected) = dims.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
        return Err(idx_err(format!(
            "dimensions {dims:?} need more bytes than memory can hold"
        )));
    };
    if got != expected {
        let what = if got < expected {
            "truncated"
        } else {
            "trailing bytes in"
        };
        return Err(idx_err(format!(
            "{what} IDX payload: dimensions {dims:?} need {expected} bytes, file has {got}"
        )));
    }
    bytes.drain(..header_len);
    Ok((dims, bytes))
}

/// Splits `0..n` into (train, validation) index sets by a seeded shuffle, the
/// validation set holding `round(n · fraction)` items.
pub fn split_indices(n: usize, validation_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
    let n_val = ((n as f64) * validation_fraction).round() as usize;
    let val = order.split_off(n - n_val.min(n));
    (order, val)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(path: &Path, bytes: &[u8]) {
        let file = std::fs::File::create(path).unwrap();
        let mut enc = flate2::write::GzEncoder::new(file, flate2::Compression::fast());
        enc.write_all(bytes).unwrap();
        enc.finish().unwrap();
    }

    fn idx_images(n: u32, rows: u32, cols: u32, payload: usize) -> Vec<u8> {
        let mut b = Vec::new();
        for w in [IMAGES_MAGIC, n, rows, cols] {
            b.extend_from_slice(&w.to_be_bytes());
        }
        b.extend((0..payload).map(|i| (i % 251) as u8));
        b
    }

    fn idx_labels(labels: &[u8]) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&LABELS_MAGIC.to_be_bytes());
        b.extend_from_slice(&(labels.len() as u32).to_be_bytes());
        b.extend_from_slice(labels);
        b
    }

    #[test]
    fn dimensions_whose_product_overflows_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("images.gz");
        // 2^31 · 2^31 · 4 wraps to 0, which an empty payload would match.
        gz(&path, &idx_images(1 << 31, 1 << 31, 4, 0));
        let err = read_idx_images(&path).unwrap_err().to_string();
        assert!(err.contains("more bytes than memory can hold"), "{err}");
    }

    #[test]
    fn reads_a_fixture_pair() {
        let dir = tempfile::tempdir().unwrap();
        let (im, lb) = (dir.path().join("im.gz"), dir.path().join("lb.gz"));
        gz(&im, &idx_images(3, 2, 2, 12));
        gz(&lb, &idx_labels(&[7, 0, 9]));
        let pair = read_pair(&im, &lb).unwrap();
        assert_eq!((pair.len(), pair.rows, pair.cols), (3, 2, 2));
        assert_eq!(pair.labels, vec![7, 0, 9]);
        assert_eq!(pair.pixels[5], 5);
        assert_eq!(pair.select(&[2, 0]).labels, vec![9, 7]);
    }

    #[test]
    fn wrong_magic_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("lb.gz");
        gz(&p, &idx_labels(&[1]));
        let err = read_idx_images(&p).unwrap_err().to_string();
        assert!(
            err.contains("lb.gz") && err.contains("wrong magic"),
            "{err}"
        );
    }

    #[test]
    fn truncated_payload_and_trailing_bytes_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("im.gz");
        gz(&p, &idx_images(3, 2, 2, 11));
        let err = read_idx_images(&p).unwrap_err().to_string();
        assert!(
            err.contains("im.gz") && err.contains("truncated IDX payload"),
            "{err}"
        );
        gz(&p, &idx_images(3, 2, 2, 13));
        let err = read_idx_images(&p).unwrap_err().to_string();
        assert!(err.contains("trailing bytes"), "{err}");
    }

    #[test]
    fn truncated_gzip_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("im.gz");
        gz(&p, &idx_images(3, 2, 2, 12));
        let bytes = std::fs::read(&p).unwrap();
        std::fs::write(&p, &bytes[..bytes.len() - 10]).unwrap();
        let err = read_idx_images(&p).unwrap_err().to_string();
        assert!(err.contains("im.gz") && err.contains("gzip"), "{err}");
    }

    #[test]
    fn count_mismatch_between_images_and_labels() {
        let dir = tempfile::tempdir().unwrap();
        let (im, lb) = (dir.path().join("im.gz"), dir.path().join("lb.gz"));
        gz(&im, &idx_images(3, 2, 2, 12));
        gz(&lb, &idx_labels(&[1, 2]));
        let err = read_pair(&im, &lb).unwrap_err().to_string();
        assert!(
            err.contains("lb.gz") && err.contains("2 labels for 3 images"),
            "{err}"
        );
    }

    #[test]
    fn split_is_seeded_disjoint_and_complete() {
        let (a, b) = split_indices(100, 0.2, 7);
        assert_eq!((a.len(), b.len()), (80, 20));
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..100).collect::<Vec<_>>());
        assert_eq!(split_indices(100, 0.2, 7), (a.clone(), b));
        assert_ne!(split_indices(100, 0.2, 8).0, a);
    }
}
