//! MIDI → event tokens throughput, over every MAESTRO file of the mirror when there
//! is one (`INITLAB_DATA_MIRROR`, or `../shared/datasets` beside the workspace), or
//! over a synthetic file otherwise.
//!
//! `scripts/muspy_reference.py DIR --bench` times muspy on the same files; the
//! ratio of the two is the speed-up over the reference.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use initlab_data::maestro::{
    encode_midi, parse_midi, tokenize_file, EventOptions, MidiWriteOptions, Note,
};
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};

/// The MIDI files to tokenize, and where they come from.
fn files() -> (Vec<PathBuf>, String) {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let workspace = manifest
        .canonicalize()
        .unwrap_or_else(|_| manifest.to_path_buf())
        .join("../..");
    let mirror = std::env::var_os("INITLAB_DATA_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("../shared/datasets"));
    let mut files = Vec::new();
    let mut stack = vec![mirror.join("maestro")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.flatten().map(|e| e.path()) {
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "midi" || e == "mid") {
                files.push(path);
            }
        }
    }
    if !files.is_empty() {
        files.sort();
        let what = format!("{} MAESTRO files", files.len());
        return (files, what);
    }
    // About one MAESTRO performance: 10 000 notes over 20 minutes at 384 ticks per quarter.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut time = 0;
    let notes: Vec<Note> = (0..10_000)
        .map(|_| {
            time += rng.gen_range(0..150);
            Note {
                time,
                pitch: rng.gen_range(21..=108),
                duration: rng.gen_range(1..1000),
                velocity: rng.gen_range(1..=127),
            }
        })
        .collect();
    let path = std::env::temp_dir().join("initlab-bench-synthetic.mid");
    let bytes = encode_midi(&notes, &MidiWriteOptions::default()).expect("synthetic notes encode");
    std::fs::write(&path, bytes).expect("writing the synthetic file");
    (vec![path], "1 synthetic file (no mirror)".into())
}

fn tokenize(c: &mut Criterion) {
    let (paths, what) = files();
    let bytes: Vec<Vec<u8>> = paths
        .iter()
        .map(|p| std::fs::read(p).expect("readable"))
        .collect();
    let total: usize = bytes.iter().map(Vec::len).sum();
    let options = EventOptions::default();
    let tokens: usize = paths
        .iter()
        .map(|p| tokenize_file(p, &options).map_or(0, |t| t.len()))
        .sum();
    eprintln!("tokenize: {what}, {total} bytes, {tokens} tokens with the study's options");

    let mut group = c.benchmark_group("tokenize");
    group.sample_size(10);
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("files (read + parse + encode)", |b| {
        b.iter(|| {
            paths
                .iter()
                .map(|p| tokenize_file(p, &options).map_or(0, |t| t.len()))
                .sum::<usize>()
        })
    });
    group.bench_function("bytes (parse + encode)", |b| {
        b.iter(|| {
            bytes
                .iter()
                .zip(&paths)
                .map(|(b, p)| {
                    parse_midi(b, p)
                        .and_then(|perf| options.encode(&perf.notes))
                        .map_or(0, |t| t.len())
                })
                .sum::<usize>()
        })
    });
    group.finish();
}

criterion_group!(benches, tokenize);
criterion_main!(benches);
