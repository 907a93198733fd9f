//! `cargo xtask fuzz`: feed the project's readers of outside bytes mutated
//! inputs and stop on the first panic or hang.
//!
//! This is a mutation fuzzer without coverage feedback: every input is a
//! valid seed (a real study file, a MIDI file the writer produced, ...) with
//! a few random mutations (bit flips, boundary integers and numbers, cut,
//! repeated and spliced ranges). It finds what breaks a reader near valid
//! input; it does not steer towards new code paths as libFuzzer does.
//! A failing input is written to `target/fuzz/<target>/` and the command fails.

use std::io::Write as _;
use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use initlab_analysis::{fixture, verify_run_file, ResultsStore};
use initlab_data::maestro::{encode_midi, parse_midi, MidiWriteOptions, Note};
use initlab_data::Vocabulary;
use initlab_init::Scheme;
use initlab_train::{RunRecord, RunStatus, Study};

use crate::paths;

/// Fuzz the readers of outside input (not part of `cargo xtask test`).
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Which reader: midi, idx, study, spec, run-file (repeatable; default: all, one after another).
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<Target>,
    /// Seconds per target.
    #[arg(long, default_value_t = 600)]
    pub seconds: u64,
    /// Seed of the mutations: the same seed gives the same inputs.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write each target's seeds to DIR/<target>/ (a corpus to start
    /// scripts/libfuzzer.sh from) and fuzz nothing.
    #[arg(long, value_name = "DIR")]
    pub write_seeds: Option<PathBuf>,
}

/// A reader under test.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `parse_midi`, then the study vocabulary's encoding of the notes.
    Midi,
    /// MNIST's gzip IDX image and label readers (inputs gzip'd, or raw bytes as the gzip file).
    Idx,
    /// `Study::parse` on study-file text, which expands every profile's grid.
    Study,
    /// Initializer specs: parse, print canonically, parse again.
    Spec,
    /// A run file read back and checked against its hashes.
    RunFile,
}

/// One input slower than this is reported as a hang.
const HANG: Duration = Duration::from_secs(5);

pub fn run(args: Args) -> anyhow::Result<()> {
    let targets = if args.targets.is_empty() {
        vec![
            Target::Midi,
            Target::Idx,
            Target::Study,
            Target::Spec,
            Target::RunFile,
        ]
    } else {
        args.targets.clone()
    };
    let scratch = scratch_dir()?;
    // Panics are expected findings here; the hook would print each one.
    std::panic::set_hook(Box::new(|_| {}));
    let mut failures = Vec::new();
    if let Some(dir) = &args.write_seeds {
        for target in targets {
            let name = clap::ValueEnum::to_possible_value(&target)
                .map(|v| v.get_name().replace('-', "_"))
                .context("every target has a name")?;
            let dir = dir.join(name);
            std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            for seed in seeds(target, &scratch)? {
                let path = dir.join(format!("seed-{}", initlab_data::sha256_bytes(&seed)));
                std::fs::write(&path, seed)
                    .with_context(|| format!("writing {}", path.display()))?;
            }
        }
        let _ = std::fs::remove_dir_all(&scratch);
        return Ok(());
    }
    for target in targets {
        let seeds = seeds(target, &scratch)?;
        let outcome = fuzz(target, &seeds, &scratch, &args)?;
        println!(
            "{target:?}: {} inputs in {:.1} min from {} seeds, {} accepted, {} rejected with an error{}",
            outcome.inputs,
            outcome.elapsed.as_secs_f64() / 60.0,
            seeds.len(),
            outcome.accepted,
            outcome.inputs - outcome.accepted - u64::from(outcome.failure.is_some()),
            match &outcome.failure {
                Some(f) => format!("; FAILED: {f}"),
                None => "; no panic or hang".into(),
            }
        );
        if let Some(f) = outcome.failure {
            failures.push(format!("{target:?}: {f}"));
        }
    }
    let _ = std::fs::remove_dir_all(&scratch);
    if !failures.is_empty() {
        bail!("{}", failures.join("; "));
    }
    Ok(())
}

struct Outcome {
    inputs: u64,
    accepted: u64,
    elapsed: Duration,
    failure: Option<String>,
}

fn fuzz(target: Target, seeds: &[Vec<u8>], scratch: &Path, args: &Args) -> anyhow::Result<Outcome> {
    let mut rng = Rng(args.seed ^ (target as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15));
    let started = Instant::now();
    let budget = Duration::from_secs(args.seconds);
    let (mut inputs, mut accepted) = (0u64, 0u64);
    let current = scratch.join(format!("{target:?}-current"));
    while started.elapsed() < budget {
        let mut input = seeds[rng.below(seeds.len())].clone();
        // Every tenth input is a seed as it is, the rest mutated 1–8 times.
        if inputs % 10 != 0 {
            for _ in 0..1 + rng.below(8) {
                mutate(&mut input, seeds, target, &mut rng);
            }
        }
        // Kept where a crash that takes the process down (an abort) leaves it.
        std::fs::write(&current, &input).with_context(|| current.display().to_string())?;
        let begun = Instant::now();
        let result =
            std::panic::catch_unwind(AssertUnwindSafe(|| exercise(target, &input, scratch)));
        inputs += 1;
        let failure = match result {
            Ok(Ok(true)) => {
                accepted += 1;
                None
            }
            Ok(Ok(false)) => None,
            Ok(Err(property)) => Some(property),
            Err(panic) => Some(format!(
                "panic: {}",
                panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default()
            )),
        };
        let failure = failure.or_else(|| {
            (begun.elapsed() > HANG)
                .then(|| format!("hang: {:.1} s", begun.elapsed().as_secs_f64()))
        });
        if let Some(failure) = failure {
            let kept = save_crash(target, &input)?;
            return Ok(Outcome {
                inputs,
                accepted,
                elapsed: started.elapsed(),
                failure: Some(format!("{failure} (input: {})", kept.display())),
            });
        }
    }
    let _ = std::fs::remove_file(&current);
    Ok(Outcome {
        inputs,
        accepted,
        elapsed: started.elapsed(),
        failure: None,
    })
}

/// Runs one input through `target`: `Ok(true)` accepted, `Ok(false)` refused
/// with an error (what bad input should get), `Err` a broken property.
fn exercise(target: Target, input: &[u8], scratch: &Path) -> Result<bool, String> {
    match target {
        Target::Midi => Ok(match parse_midi(input, Path::new("fuzz.mid")) {
            Ok(performance) => {
                let _ = Vocabulary::study().encode(&performance.notes);
                true
            }
            Err(_) => false,
        }),
        Target::Idx => {
            // The first byte says whether the rest is the gzip file itself or
            // the IDX bytes to gzip (so the IDX layer is reached past the CRC).
            let (how, rest) = input.split_first().unwrap_or((&0, &[]));
            let file = if how % 2 == 0 {
                gzip_stored(rest)
            } else {
                rest.to_vec()
            };
            let images = scratch.join("fuzz-images.gz");
            let labels = scratch.join("fuzz-labels.gz");
            std::fs::write(&images, &file).map_err(|e| e.to_string())?;
            std::fs::write(&labels, &file).map_err(|e| e.to_string())?;
            let a = match initlab_data::mnist::read_idx_images(&images) {
                Ok((pixels, n, rows, cols)) => {
                    // What a caller indexes by: count × rows × cols pixels.
                    let claimed = n.checked_mul(rows).and_then(|x| x.checked_mul(cols));
                    if claimed != Some(pixels.len()) {
                        return Err(format!(
                            "{n} images of {rows}×{cols} accepted with {} pixels",
                            pixels.len()
                        ));
                    }
                    true
                }
                Err(_) => false,
            };
            let b = initlab_data::mnist::read_idx_labels(&labels).is_ok();
            Ok(a || b)
        }
        Target::Study => {
            let text = String::from_utf8_lossy(input);
            // Beside the real study files, so a relative embedding path resolves.
            let path = paths::experiments().join("fuzz.toml");
            Ok(Study::parse(&path, &text).is_ok())
        }
        Target::Spec => {
            let text = String::from_utf8_lossy(input);
            match text.parse::<Scheme>() {
                Ok(scheme) => {
                    let canonical = scheme.to_string();
                    let again: Scheme = canonical.parse().map_err(|e| {
                        format!("`{text}` printed as `{canonical}`, which does not parse: {e}")
                    })?;
                    if again.to_string() != canonical {
                        return Err(format!("`{canonical}` prints back as `{again}`"));
                    }
                    Ok(true)
                }
                Err(_) => Ok(false),
            }
        }
        Target::RunFile => {
            let path = scratch.join("runs").join("00000000000000aa.h5");
            std::fs::write(&path, input).map_err(|e| e.to_string())?;
            Ok(verify_run_file(&path).is_ok())
        }
    }
}

fn mutate(input: &mut Vec<u8>, seeds: &[Vec<u8>], target: Target, rng: &mut Rng) {
    let text = matches!(target, Target::Study | Target::Spec);
    let choices = if text { 10 } else { 8 };
    let len = input.len();
    match rng.below(choices) {
        0 if len > 0 => {
            let i = rng.below(len);
            input[i] ^= 1 << rng.below(8);
        }
        1 if len > 0 => {
            let i = rng.below(len);
            input[i] = [0u8, 1, 0x7f, 0x80, 0xff, b'0', b'9', b'-'][rng.below(8)];
        }
        2 if len >= 4 => {
            // A boundary integer over four bytes, in either byte order.
            let i = rng.below(len - 3);
            let v: u32 = [
                0,
                1,
                0x7fff_ffff,
                0x8000_0000,
                0xffff_ffff,
                0xffff,
                0x1_0000,
            ][rng.below(7)];
            let bytes = if rng.below(2) == 0 {
                v.to_be_bytes()
            } else {
                v.to_le_bytes()
            };
            input[i..i + 4].copy_from_slice(&bytes);
        }
        3 if len > 0 => {
            input.truncate(rng.below(len));
        }
        4 if len > 1 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            input.drain(a..b);
        }
        5 if len > 0 => {
            let a = rng.below(len);
            let b = (a + 1 + rng.below(64)).min(len);
            let copy = input[a..b].to_vec();
            let at = rng.below(len);
            input.splice(at..at, copy);
        }
        6 => {
            let other = &seeds[rng.below(seeds.len())];
            if !other.is_empty() && len > 0 {
                let a = rng.below(other.len());
                let b = (a + 1 + rng.below(256)).min(other.len());
                let at = rng.below(len);
                input.splice(at..at, other[a..b].iter().copied());
            }
        }
        7 => {
            let at = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
            input.splice(at..at, bytes);
        }
        8 => {
            // A number in the text replaced by a boundary value.
            let numbers: Vec<usize> = (0..len)
                .filter(|&i| {
                    input[i].is_ascii_digit() && (i == 0 || !input[i - 1].is_ascii_digit())
                })
                .collect();
            if let Some(&start) = numbers.get(rng.below(numbers.len().max(1))) {
                let end = (start..len)
                    .find(|&i| !(input[i].is_ascii_digit() || input[i] == b'.' || input[i] == b'e'))
                    .unwrap_or(len);
                let value = [
                    "0",
                    "-1",
                    "1e308",
                    "-0.0",
                    "nan",
                    "inf",
                    "18446744073709551616",
                    "4294967296",
                    "1e-320",
                    "0.5",
                    "99999999999",
                ][rng.below(11)];
                input.splice(start..end, value.bytes());
            }
        }
        _ => {
            // A line removed or repeated.
            let lines: Vec<usize> = std::iter::once(0)
                .chain((0..len).filter(|&i| input[i] == b'\n').map(|i| i + 1))
                .filter(|&i| i < len)
                .collect();
            if let Some(&start) = lines.get(rng.below(lines.len().max(1))) {
                let end = (start..len)
                    .find(|&i| input[i] == b'\n')
                    .map_or(len, |i| i + 1);
                if rng.below(2) == 0 {
                    input.drain(start..end);
                } else {
                    let line = input[start..end].to_vec();
                    input.splice(start..start, line);
                }
            }
        }
    }
}

/// Valid inputs to start from.
fn seeds(target: Target, scratch: &Path) -> anyhow::Result<Vec<Vec<u8>>> {
    Ok(match target {
        Target::Midi => {
            let mut seeds = Vec::new();
            for (n, options) in [
                (1, MidiWriteOptions::default()),
                (12, MidiWriteOptions::default()),
                (
                    40,
                    MidiWriteOptions {
                        ticks_per_quarter: 96,
                        microseconds_per_quarter: 400_000,
                        program: 5,
                    },
                ),
            ] {
                let notes: Vec<Note> = (0..n)
                    .map(|i| Note {
                        time: 50 * i as u64 + (i as u64 % 3) * 7,
                        pitch: 21 + (i * 7 % 88) as u8,
                        duration: 10 + (i as u64 * 13) % 400,
                        velocity: 1 + (i * 11 % 127) as u8,
                    })
                    .collect();
                seeds.push(encode_midi(&notes, &options)?);
            }
            seeds
        }
        Target::Idx => {
            let idx = |magic: u32, dims: &[u32], payload: &[u8]| {
                let mut b = magic.to_be_bytes().to_vec();
                for d in dims {
                    b.extend_from_slice(&d.to_be_bytes());
                }
                b.extend_from_slice(payload);
                b
            };
            let pixels: Vec<u8> = (0..3 * 4 * 5).map(|i| (i * 37 % 256) as u8).collect();
            let images = idx(0x0803, &[3, 4, 5], &pixels);
            let labels = idx(0x0801, &[3], &[1, 7, 9]);
            vec![
                [&[0u8][..], &images].concat(),
                [&[0u8][..], &labels].concat(),
                [&[1u8][..], &gzip_stored(&images)].concat(),
            ]
        }
        Target::Study => Study::names(&paths::experiments())
            .iter()
            .map(|n| std::fs::read(paths::experiments().join(format!("{n}.toml"))))
            .collect::<Result<_, _>>()?,
        Target::Spec => [
            "zeros",
            "orthogonal(gain=1.5)",
            "kaiming-normal(mode=fan-in,nonlinearity=relu)",
            "kaiming-normal(a=0,distribution=truncated-normal,mode=fan-in,nonlinearity=leaky-relu)",
            "xavier-normal(distribution=truncated-normal,gain=1)",
            "normal(mean=0,std=1e30)",
            "uniform(low=-0.1,high=0.1)",
            "identity(scale=1)",
            "pytorch-linear-default",
            "pytorch-rnn-default",
        ]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect(),
        Target::RunFile => {
            // Every input is read under one name, so each seed is saved under
            // it (renaming bytes would break the HDF5 metadata checksums).
            let store = ResultsStore::open(&scratch.join("seed-store"))?;
            let mut seeds = Vec::new();
            for recurrent in [false, true] {
                let record = RunRecord {
                    run_id: "00000000000000aa".into(),
                    ..fixture_record(recurrent)
                };
                store.save(&record)?;
                seeds.push(std::fs::read(store.run_path(&record.run_id))?);
            }
            seeds
        }
    })
}

/// A small run with every part a run file can hold; `recurrent` adds BPTT
/// tensors and leaves out the accuracy series, as a regression run does.
fn fixture_record(recurrent: bool) -> RunRecord {
    let base = fixture::record("");
    fixture::with_hashes(RunRecord {
        status: if recurrent {
            RunStatus::Diverged
        } else {
            RunStatus::Complete
        },
        published: Some(0.9),
        published_metrics: vec![("plateau_escape_epoch".into(), 5.0)],
        grid: vec![("part".into(), "depth".into())],
        metrics: vec![("plateau_escape_epoch".into(), 3.0)],
        train_accuracy: if recurrent {
            Vec::new()
        } else {
            base.train_accuracy.clone()
        },
        val_accuracy: if recurrent {
            Vec::new()
        } else {
            base.val_accuracy.clone()
        },
        curves: vec![("test_loss".into(), vec![1.0, 0.5])],
        bptt: if recurrent {
            vec![fixture::tensor("layer0/grad_h_norm", &[2, 3], 0.1, 0.5)]
        } else {
            Vec::new()
        },
        ..base
    })
}

fn gzip_stored(bytes: &[u8]) -> Vec<u8> {
    let mut out = vec![0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff];
    let mut chunks = bytes.chunks(0xffff).peekable();
    if bytes.is_empty() {
        out.extend_from_slice(&[1, 0, 0, 0xff, 0xff]);
    }
    while let Some(chunk) = chunks.next() {
        let last = u8::from(chunks.peek().is_none());
        let n = chunk.len() as u16;
        out.push(last);
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&(!n).to_le_bytes());
        out.extend_from_slice(chunk);
    }
    out.extend_from_slice(&crc32(bytes).to_le_bytes());
    out.extend_from_slice(&(bytes.len() as u32).to_le_bytes());
    out
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// Where inputs are written to be read back: /dev/shm when there is one.
fn scratch_dir() -> anyhow::Result<PathBuf> {
    let base = if Path::new("/dev/shm").is_dir() {
        PathBuf::from("/dev/shm")
    } else {
        std::env::temp_dir()
    };
    let dir = base.join(format!("initlab-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("runs")).with_context(|| dir.display().to_string())?;
    Ok(dir)
}

/// Keeps a failing input as `target/fuzz/<target>/crash-<sha256>`.
fn save_crash(target: Target, input: &[u8]) -> anyhow::Result<PathBuf> {
    let dir = paths::project_root()
        .join("target/fuzz")
        .join(format!("{target:?}").to_lowercase());
    std::fs::create_dir_all(&dir)?;
    let path = dir.join(format!("crash-{}", initlab_data::sha256_bytes(input)));
    std::fs::File::create(&path)?.write_all(input)?;
    Ok(path)
}

/// xorshift64*: the mutations need speed and a seed, not quality.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}
