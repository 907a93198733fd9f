/*!
Datasets for initlab's studies, as plain host arrays.

This crate knows files and bytes, nothing of tensors or training. It is the only
crate that downloads anything or checks a checksum.

# Overview
- [`Manifest`] lists every file a study may need: canonical URLs, a path inside a
  local mirror, and a sha256. [`Cache`] fetches into a cache directory, from a
  mirror directory when one is given or from the network otherwise, verifies,
  and writes atomically; a file read back from the cache is verified again.
- [`mnist`] parses the original gzip IDX files and splits them the way the
  studies do.
- [`maestro`] turns MAESTRO MIDI files into muspy's event tokens (checked against
  muspy 0.5 on every mirrored file), splits them and cuts the LSTM study's windows;
  [`adding`] generates the seeded adding problem.
- [`sequential`] reads MNIST images as sequences (rows, pixels, or seeded
  permuted pixels) for the recurrent studies.
*/
#![deny(missing_docs)]

mod cache;
mod error;
mod manifest;
pub mod mnist;
mod split;

pub use crate::cache::{sha256_bytes, sha256_file, write_atomic, Cache, Fetched};
pub use crate::error::{Error, Result};
pub use crate::manifest::{ArchiveEntry, FileEntry, Manifest};
pub use crate::mnist::{Images, Mnist};
pub use crate::split::Split;

pub mod adding;
pub mod maestro;
pub mod sequential;

pub use crate::adding::{AddingBatch, AddingProblem, MarkerPlacement};
pub use crate::maestro::{EventOptions, Maestro, SplitScheme, Vocabulary};
pub use crate::sequential::{Reading, SequenceReader};
