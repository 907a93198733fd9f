//! The Rust tokenizer against muspy 0.5 on every file of the MAESTRO mirror.
//!
//! `datasets/maestro-reference.toml` holds, per file and option set, the token count
//! and sha256 that `scripts/muspy_reference.py` got from muspy. This test recomputes
//! them when the mirror is present (`INITLAB_DATA_MIRROR`, or `../shared/datasets`
//! beside the workspace) and prints a note and passes otherwise.

use initlab_data::maestro::{
    parse_midi, EventOptions, Maestro, Split, SplitScheme, Vocabulary, STUDY_WINDOW,
};
use serde::Deserialize;
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

#[derive(Deserialize)]
struct Reference {
    generator: String,
    root: String,
    option_sets: Vec<OptionSet>,
    files: Vec<FileReference>,
}

#[derive(Deserialize)]
struct OptionSet {
    name: String,
    options: EventOptions,
}

#[derive(Deserialize)]
struct FileReference {
    path: String,
    file_sha256: String,
    #[serde(default)]
    error: Option<String>,
    #[serde(default)]
    tokens: BTreeMap<String, Expected>,
}

#[derive(Deserialize)]
struct Expected {
    len: Option<usize>,
    sha256: Option<String>,
    error: Option<String>,
}

fn workspace_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let manifest = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf());
    manifest.join("../..")
}

/// The mirror, if this machine has one.
fn mirror() -> Option<PathBuf> {
    if let Some(dir) = std::env::var_os("INITLAB_DATA_MIRROR") {
        return Some(PathBuf::from(dir));
    }
    let beside = workspace_root().join("../shared/datasets");
    beside.is_dir().then_some(beside)
}

/// sha256 of the tokens as int64 little-endian, the script's canonical form.
fn token_digest(tokens: &[u32]) -> String {
    let mut hasher = Sha256::new();
    for &t in tokens {
        hasher.update(i64::from(t).to_le_bytes());
    }
    format!("{:x}", hasher.finalize())
}

#[test]
fn every_mirrored_file_matches_muspy() {
    let path = workspace_root().join("datasets/maestro-reference.toml");
    let text = std::fs::read_to_string(&path).expect("datasets/maestro-reference.toml");
    let reference: Reference = toml::from_str(&text).expect("reference parses");
    assert!(!reference.files.is_empty() && !reference.option_sets.is_empty());

    let Some(mirror) = mirror() else {
        println!("note: no data mirror (set INITLAB_DATA_MIRROR); muspy reference check skipped");
        return;
    };
    let root = mirror.join(&reference.root);
    if !root.is_dir() {
        println!(
            "note: {} does not exist; muspy reference check skipped",
            root.display()
        );
        return;
    }
    let (mut checked, mut absent, mut different) = (0, 0, 0);
    let mut mismatches = Vec::new();
    for file in &reference.files {
        let Ok(bytes) = std::fs::read(root.join(&file.path)) else {
            absent += 1;
            continue;
        };
        if format!("{:x}", Sha256::digest(&bytes)) != file.file_sha256 {
            different += 1;
            println!(
                "note: {} differs from the reference's file; not compared",
                file.path
            );
            continue;
        }
        let parsed = parse_midi(&bytes, Path::new(&file.path));
        let performance = match (parsed, &file.error) {
            (Ok(p), None) => p,
            (Err(_), Some(_)) => continue,
            (Ok(_), Some(e)) => {
                mismatches.push(format!("{}: muspy failed ({e}), Rust parsed it", file.path));
                continue;
            }
            (Err(e), None) => {
                mismatches.push(format!("{}: Rust failed: {e}", file.path));
                continue;
            }
        };
        for set in &reference.option_sets {
            let Some(expected) = file.tokens.get(&set.name) else {
                mismatches.push(format!("{}: no reference for `{}`", file.path, set.name));
                continue;
            };
            match (set.options.encode(&performance.notes), expected) {
                (
                    Ok(tokens),
                    Expected {
                        len: Some(len),
                        sha256: Some(sha),
                        ..
                    },
                ) => {
                    if tokens.len() != *len || token_digest(&tokens) != *sha {
                        mismatches.push(format!(
                            "{} [{}]: {} tokens, muspy {len}",
                            file.path,
                            set.name,
                            tokens.len()
                        ));
                    }
                }
                (Err(_), Expected { error: Some(_), .. }) => {}
                (got, _) => mismatches.push(format!(
                    "{} [{}]: Rust {:?}, muspy {:?}",
                    file.path,
                    set.name,
                    got.map(|t| t.len()),
                    expected.error
                )),
            }
        }
        checked += 1;
    }
    println!(
        "muspy reference ({}): {checked} files × {} option sets checked, {absent} absent, {different} different",
        reference.generator,
        reference.option_sets.len()
    );
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert!(
        checked > 0,
        "the mirror at {} holds none of the reference files",
        root.display()
    );
}

#[test]
fn mirror_loads_with_both_splits() {
    let Some(mirror) = mirror() else {
        println!("note: no data mirror (set INITLAB_DATA_MIRROR); MAESTRO loading check skipped");
        return;
    };
    let root = mirror.join("maestro");
    if !root.join("maestro-v3.0.0.csv").is_file() {
        println!(
            "note: {} has no MAESTRO v3 metadata; loading check skipped",
            root.display()
        );
        return;
    }
    let counts = |maestro: &Maestro| Split::ALL.map(|s| maestro.pieces(s).len());

    let by_metadata = Maestro::load(&root, Vocabulary::study(), SplitScheme::Metadata).unwrap();
    assert!(
        by_metadata.skipped().is_empty(),
        "{:?}",
        by_metadata.skipped()
    );
    // SOURCES.md: train 71, validation 13, test 10.
    assert_eq!(counts(&by_metadata), [71, 13, 10]);

    let study = Maestro::load(&root, Vocabulary::study(), SplitScheme::Study { seed: 0 }).unwrap();
    assert_eq!(counts(&study), [59, 15, 19]);
    let windows = study.windows(Split::Train, STUDY_WINDOW).unwrap();
    let tokens: usize = study
        .pieces(Split::Train)
        .iter()
        .map(|p| p.tokens.len())
        .sum();
    assert_eq!(windows.len(), tokens - 59 * STUDY_WINDOW);
    assert!(windows
        .iter()
        .all(|w| w.target < 359 && w.input.iter().all(|&t| t < 359)));
}
