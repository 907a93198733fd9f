//! A MAESTRO tree tokenized into train/validation/test pieces, and the LSTM study's
//! sliding windows over them.

use super::metadata;
use super::vocab::Vocabulary;
use super::{read_midi, Note};
use crate::{Error, Result, Split};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use std::path::{Path, PathBuf};

/// The window length of the LSTM study: 32 events in, the next one as target.
pub const STUDY_WINDOW: usize = 32;

/// The MAESTRO year the study used: its 93 performances are all of MAESTRO 2018.
pub const STUDY_YEAR: u16 = 2018;

/// How MAESTRO performances are assigned to splits; chosen in the experiment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitScheme {
    /// The `split` column of the metadata CSV, over every file present.
    Metadata,
    /// The study's split of the MAESTRO-2018 files by file: 80 % / 20 % into
    /// train+validation / test, then train+validation 80 % / 20 %, each count rounded
    /// down as the study's `int(n * 0.8)`; for 93 files, 59/15/19. The study shuffled
    /// unseeded; here the files are sorted by path, then shuffled with ChaCha8 from `seed`.
    Study {
        /// Seed of the shuffle.
        seed: u64,
    },
}

impl SplitScheme {
    /// The study's split sizes (train, validation, test) for `n` files.
    pub fn study_sizes(n: usize) -> (usize, usize, usize) {
        let train_validation = n * 4 / 5;
        let train = train_validation * 4 / 5;
        (train, train_validation - train, n - train_validation)
    }
}

/// One tokenized performance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Piece {
    /// Path relative to the dataset root, `/`-separated, as in the metadata.
    pub path: String,
    /// `[start, events…, end]` in the dataset's [`Vocabulary`].
    pub tokens: Vec<u32>,
}

/// A file that was left out of a dataset, and why.
#[derive(Debug)]
pub struct Skipped {
    /// Path relative to the dataset root.
    pub path: String,
    /// Why it was left out.
    pub error: Error,
}

/// A MAESTRO tree, tokenized and split.
#[derive(Debug)]
pub struct Maestro {
    vocabulary: Vocabulary,
    splits: [Vec<Piece>; 3],
    skipped: Vec<Skipped>,
}

impl Maestro {
    /// Loads every MIDI file under `root` (an extracted MAESTRO zip or the mirror's
    /// `maestro/` folder) and splits it by `scheme`.
    ///
    /// The metadata is the newest `maestro-v*.csv` in `root`; [`SplitScheme::Metadata`]
    /// needs it, [`SplitScheme::Study`] uses its years when present and the
    /// `2018/` folder otherwise. A file that cannot be read or tokenized, or that the
    /// metadata does not list, is left out and listed in [`Self::skipped`]; files are
    /// assigned to splits before they are read, so a bad file never moves the others.
    /// It is an error when any split ends up empty.
    pub fn load(root: &Path, vocabulary: Vocabulary, scheme: SplitScheme) -> Result<Maestro> {
        let files = midi_files(root)?;
        let csv = metadata::find_csv(root)?;
        let entries = match &csv {
            Some(csv) => Some(metadata::read_csv(csv)?),
            None => None,
        };

        let mut skipped = Vec::new();
        let mut assigned: Vec<(String, Split)> = Vec::with_capacity(files.len());
        match scheme {
            SplitScheme::Metadata => {
                let Some(entries) = &entries else {
                    return Err(Error::Invalid(format!(
                        "{}: no maestro-v*.csv metadata to take the split from; use the study split",
                        root.display()
                    )));
                };
                for path in files {
                    match entries.get(&path) {
                        Some(entry) => assigned.push((path, entry.split)),
                        None => skipped.push(Skipped {
                            error: Error::Invalid(format!("{path}: not listed in the metadata")),
                            path,
                        }),
                    }
                }
            }
            SplitScheme::Study { seed } => {
                let mut candidates: Vec<String> = files
                    .into_iter()
                    .filter(|path| match entries.as_ref().and_then(|e| e.get(path)) {
                        Some(entry) => entry.year == STUDY_YEAR,
                        None => path.split('/').next() == Some(&*STUDY_YEAR.to_string()),
                    })
                    .collect();
                candidates.shuffle(&mut ChaCha8Rng::seed_from_u64(seed));
                let (train, validation, _) = SplitScheme::study_sizes(candidates.len());
                for (i, path) in candidates.into_iter().enumerate() {
                    let split = if i < train {
                        Split::Train
                    } else if i < train + validation {
                        Split::Validation
                    } else {
                        Split::Test
                    };
                    assigned.push((path, split));
                }
            }
        }

        let mut splits: [Vec<Piece>; 3] = Default::default();
        for (path, split) in assigned {
            let tokens = tokenize(&root.join(&path), &vocabulary);
            match tokens {
                Ok(tokens) => splits[split as usize].push(Piece { path, tokens }),
                Err(error) => skipped.push(Skipped { path, error }),
            }
        }

        skipped.sort_by(|a, b| a.path.cmp(&b.path));
        for split in Split::ALL {
            if splits[split as usize].is_empty() {
                let loaded: usize = splits.iter().map(Vec::len).sum();
                let why = skipped
                    .first()
                    .map(|s| format!("; first skipped: {}", s.error))
                    .unwrap_or_default();
                return Err(Error::Invalid(format!(
                    "{}: MAESTRO split `{}` is empty ({loaded} files loaded, {} skipped{why})",
                    root.display(),
                    split.name(),
                    skipped.len(),
                )));
            }
        }
        Ok(Maestro {
            vocabulary,
            splits,
            skipped,
        })
    }

    /// The vocabulary the pieces are in.
    pub fn vocabulary(&self) -> &Vocabulary {
        &self.vocabulary
    }

    /// The pieces of one split, sorted by path within the split for the metadata
    /// scheme and in shuffled order for the study scheme.
    pub fn pieces(&self, split: Split) -> &[Piece] {
        &self.splits[split as usize]
    }

    /// The files that were left out, with the reason, sorted by path; callers
    /// should report them.
    pub fn skipped(&self) -> &[Skipped] {
        &self.skipped
    }

    /// Sliding windows of `len` tokens over one split, with the next token as target.
    pub fn windows(&self, split: Split, len: usize) -> Result<Windows<'_>> {
        Windows::new(self.pieces(split), len)
    }
}

/// Reads and encodes one file with the vocabulary's start and end around it.
fn tokenize(path: &Path, vocabulary: &Vocabulary) -> Result<Vec<u32>> {
    let notes: Vec<Note> = read_midi(path)?.notes;
    vocabulary.encode(&notes).map_err(|e| match e {
        Error::Invalid(problem) => Error::Invalid(format!("{}: {problem}", path.display())),
        e => e,
    })
}

/// Every `.mid`/`.midi` file under `root`, relative and `/`-separated, sorted.
fn midi_files(root: &Path) -> Result<Vec<String>> {
    let mut files = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| Error::io(&dir, e))?;
        for entry in entries {
            let entry = entry.map_err(|e| Error::io(&dir, e))?;
            let path: PathBuf = entry.path();
            let kind = entry.file_type().map_err(|e| Error::io(&path, e))?;
            if kind.is_dir() || (kind.is_symlink() && path.is_dir()) {
                stack.push(path);
            } else if is_midi(&path) {
                let relative = path.strip_prefix(root).unwrap_or(&path);
                let parts: Vec<String> = relative
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect();
                files.push(parts.join("/"));
            }
        }
    }
    files.sort();
    Ok(files)
}

fn is_midi(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// One training example: `len` tokens and the token that follows them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window<'a> {
    /// The context.
    pub input: &'a [u32],
    /// The next token.
    pub target: u32,
}

/// Every window of a split, as the study builds them: for each framed piece `p`,
/// `p[i..i + len]` → `p[i + len]` for every `i`, so a piece of `n` tokens gives
/// `n − len` windows (none when it is shorter). Windows are views, not copies.
#[derive(Clone, Debug)]
pub struct Windows<'a> {
    pieces: &'a [Piece],
    len: usize,
    /// Cumulative window counts: piece `k` holds windows `ends[k-1]..ends[k]`.
    ends: Vec<usize>,
}

impl<'a> Windows<'a> {
    /// Windows of `len` tokens (at least 1) over `pieces`.
    pub fn new(pieces: &'a [Piece], len: usize) -> Result<Self> {
        if len == 0 {
            return Err(Error::Invalid("window length must be at least 1".into()));
        }
        let mut total = 0;
        let ends = pieces
            .iter()
            .map(|p| {
                total += p.tokens.len().saturating_sub(len);
                total
            })
            .collect();
        Ok(Windows { pieces, len, ends })
    }

    /// Number of windows.
    pub fn len(&self) -> usize {
        self.ends.last().copied().unwrap_or(0)
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Tokens per window input.
    pub fn window_len(&self) -> usize {
        self.len
    }

    /// The window at `index`, in piece order.
    pub fn get(&self, index: usize) -> Option<Window<'a>> {
        let piece = self.ends.partition_point(|&end| end <= index);
        let tokens = &self.pieces.get(piece)?.tokens;
        let start = index - piece.checked_sub(1).map_or(0, |k| self.ends[k]);
        Some(Window {
            input: &tokens[start..start + self.len],
            target: tokens[start + self.len],
        })
    }

    /// All windows in order.
    pub fn iter(&self) -> impl Iterator<Item = Window<'a>> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Copies the windows at `indices` into host arrays: inputs `[indices.len(), len]`
    /// row-major and targets `[indices.len()]`, ready for a batcher.
    ///
    /// # Panics
    /// If an index is out of range, like slice indexing.
    pub fn gather(&self, indices: &[usize]) -> (Vec<u32>, Vec<u32>) {
        let mut inputs = Vec::with_capacity(indices.len() * self.len);
        let mut targets = Vec::with_capacity(indices.len());
        for &i in indices {
            let Some(window) = self.get(i) else {
                panic!("window {i} out of range ({} windows)", self.len());
            };
            inputs.extend_from_slice(window.input);
            targets.push(window.target);
        }
        (inputs, targets)
    }
}
