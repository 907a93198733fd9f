//! `cargo xtask sample`: music from a trained lstm-maestro run, as a MIDI file.

use std::path::PathBuf;

use anyhow::{bail, Context};
use initlab_analysis::ResultsStore;
use initlab_data::maestro::{read_midi, write_midi, MidiWriteOptions, Split, Vocabulary};
use initlab_train::{continue_tokens, verified_maestro, Generation, MaestroConfig};

use crate::download::{ensure, DataArgs};
use crate::paths;

/// Continue a window of MAESTRO events with a trained lstm-maestro run and
/// write the result as a playable MIDI file.
///
/// The seed is the start of a test piece of the run's own split (or of
/// --prime); the output holds the seed window, then the continuation.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The run id (from the report or the summary), of a run in <results>/runs/.
    #[arg(long)]
    pub run: String,
    /// The results folder the run is stored in.
    #[arg(long, default_value = "results")]
    pub results: PathBuf,
    /// New events to draw (fewer when the model ends the piece).
    #[arg(long, default_value_t = 512)]
    pub tokens: usize,
    /// Softmax temperature: 1 samples the model's distribution, lower is
    /// more conservative, 0 always takes the most likely event.
    #[arg(long, default_value_t = 1.0)]
    pub temperature: f64,
    /// Seeds the draws: the same run, seed window and seed give the same file.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Which test piece of the run's split the seed window starts (0 = first).
    #[arg(long, default_value_t = 0)]
    pub piece: usize,
    /// Take the seed window from this MIDI file instead of a test piece.
    #[arg(long, value_name = "FILE.mid")]
    pub prime: Option<PathBuf>,
    /// The MIDI file to write.
    #[arg(long, value_name = "FILE.mid")]
    pub out: PathBuf,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    if !(args.temperature >= 0.0 && args.temperature.is_finite()) {
        bail!(
            "--temperature {} must be a finite number ≥ 0",
            args.temperature
        );
    }
    let store = ResultsStore::open(&args.results)?;
    if !store.run_path(&args.run).is_file() {
        bail!(
            "no run {} in {}: give an lstm-maestro run id from `cargo xtask reproduce --study lstm-maestro`",
            args.run,
            store.run_path(&args.run).display()
        );
    }
    let record = store
        .load(&args.run)
        .map_err(|e| crate::report::damaged(e, &args.results))?;
    let config: serde_json::Value = serde_json::from_str(&record.config_json)
        .with_context(|| format!("run {}: config_json", args.run))?;
    let window = config["model"]["window"]
        .as_u64()
        .map(|w| w as usize)
        .with_context(|| {
            format!(
                "run {} is a `{}` run of study {}: only lstm-maestro runs generate music",
                args.run,
                config["model"]["kind"].as_str().unwrap_or("?"),
                record.study
            )
        })?;
    let vocabulary = Vocabulary::study();
    let (tokens, source) = match &args.prime {
        Some(path) => {
            let notes = read_midi(path)?.notes;
            (vocabulary.encode(&notes)?, path.display().to_string())
        }
        None => test_piece(&config, args.piece, &args.data)?,
    };
    if tokens.len() < window {
        bail!(
            "{source} has {} events; the model reads windows of {window}",
            tokens.len()
        );
    }
    let seed_window = &tokens[..window];
    let drawn = continue_tokens(
        &record,
        seed_window,
        Generation {
            tokens: args.tokens,
            temperature: args.temperature,
            seed: args.seed,
            end: Some(vocabulary.end()),
        },
    )?;
    let all: Vec<u32> = seed_window.iter().chain(&drawn).copied().collect();
    let notes = vocabulary.decode(&all)?;
    write_midi(&args.out, &notes, &MidiWriteOptions::default())?;
    let seconds = notes.iter().map(|n| n.end()).max().unwrap_or(0) as f64 / 768.0;
    println!(
        "{}: {} events of {source}, then {} drawn by run {} (T = {}, seed {}): {} notes, {seconds:.1} s",
        args.out.display(),
        window,
        drawn.len(),
        args.run,
        args.temperature,
        args.seed,
        notes.len()
    );
    Ok(())
}

/// The tokens of test piece `k` of the run's split, read from the verified data.
fn test_piece(
    config: &serde_json::Value,
    k: usize,
    data: &DataArgs,
) -> anyhow::Result<(Vec<u32>, String)> {
    let maestro_config = MaestroConfig::from_stored(&config["data"])?;
    let (manifest, cache) = data.open()?;
    ensure(&manifest, &cache, &["maestro".to_string()], false)?;
    let embedding_config = maestro_config.embedding_config(&paths::experiments())?;
    let (maestro, _) = verified_maestro(&manifest, &cache, &embedding_config)?;
    let pieces = maestro.pieces(Split::Test);
    let piece = pieces
        .get(k)
        .with_context(|| format!("--piece {k}: the split has {} test pieces", pieces.len()))?;
    Ok((piece.tokens.clone(), format!("test piece {}", piece.path)))
}
