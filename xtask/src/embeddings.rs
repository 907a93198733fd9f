//! `cargo xtask embeddings`: pre-train the LSTM study's note embeddings on
//! MAESTRO, once per (data, config), and report how it went.

use std::path::PathBuf;

use anyhow::Context;
use indicatif::{ProgressBar, ProgressStyle};
use initlab_data::maestro::Vocabulary;
use initlab_train::{
    embedding_hash, load_or_train, EmbeddingConfig, EmbeddingData, EmbeddingObserver,
    EmbeddingStore, EpochReport, Provenance, TrainedEmbedding,
};

use crate::download::{ensure, DataArgs};
use crate::paths;

/// Train the note-embedding model the LSTM study loads, or find it trained.
///
/// Embedding(359, 32), the context's embeddings summed, Linear(32 → 359) for
/// the next token; Adam, early stopping on the validation loss. The table is
/// named by the sha256 of its canonical config and of every data file, saved as
/// <cache>/embeddings/<hash>.bin (f32 parameters) and .json (config, loss per
/// epoch, untrained tokens), and not trained again when those exist.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// The embedding config [default: experiments/embeddings/maestro.toml].
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Tokens summed to predict the next one [default: the config's, 16, as in
    /// the study's stored model; its code says 32].
    #[arg(long, value_name = "N")]
    pub context: Option<usize>,
    /// Train at most N epochs [default: the config's, 15].
    #[arg(long, value_name = "N")]
    pub epochs: Option<usize>,
    /// Train, and validate, on at most N windows each: a seeded random subset,
    /// for a quick run [default: every window].
    #[arg(long, value_name = "N")]
    pub max_windows: Option<usize>,
    #[command(flatten)]
    pub data: DataArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let path = args
        .config
        .unwrap_or_else(|| paths::experiments().join("embeddings").join("maestro.toml"));
    let mut config = EmbeddingConfig::load(&path)?;
    if let Some(context) = args.context {
        config.model.context = context;
    }
    if let Some(epochs) = args.epochs {
        config.training.max_epochs = epochs;
    }
    if args.max_windows.is_some() {
        config.data.max_windows = args.max_windows;
    }
    config
        .validate()
        .with_context(|| format!("{} with the command line's flags", path.display()))?;

    let (manifest, cache) = args.data.open()?;
    ensure(&manifest, &cache, &["maestro".to_string()], false)?;
    let data = EmbeddingData::maestro(&manifest, &cache, &config).context("loading MAESTRO")?;
    for skipped in &data.skipped {
        eprintln!("skipped {skipped}");
    }
    let store = EmbeddingStore::in_cache(&cache);
    let hash = embedding_hash(&config, &data.files);
    eprintln!(
        "note embeddings {hash}\n  context {}, {} training and {} validation pieces",
        config.model.context,
        data.train.len(),
        data.validation.len(),
    );
    let progress = Progress::new(config.training.max_epochs);
    let (trained, how) = load_or_train(&store, &config, &data, &progress)?;
    progress.bar.finish_and_clear();
    if how == Provenance::Loaded {
        eprintln!("  already trained; loaded, not trained again");
    }
    report(&trained, &store, &config)
}

/// The epochs, the kept validation loss, where the table is, and which rows
/// were never trained.
fn report(
    t: &TrainedEmbedding,
    store: &EmbeddingStore,
    config: &EmbeddingConfig,
) -> anyhow::Result<()> {
    let m = &t.meta;
    println!("epoch  train loss  val loss  seconds  windows/s");
    for (i, (train, val)) in m.train_loss.iter().zip(&m.val_loss).enumerate() {
        let seconds = m.epoch_seconds.get(i).copied().unwrap_or(f64::NAN);
        println!(
            "{:>5}  {train:>10.4}  {val:>8.4}  {seconds:>7.1}  {:>9.0}{}",
            i + 1,
            m.train_windows as f64 / seconds,
            if i + 1 == m.best_epoch { "  best" } else { "" }
        );
    }
    let stop = if m.stopped_early {
        format!(
            "stopped early: {} epochs without improvement",
            m.config.training.patience
        )
    } else {
        format!("{} epochs", m.val_loss.len())
    };
    println!(
        "validation loss {:.4} (epoch {} kept, best {}; {stop}; {} training windows, {} validation)",
        t.val_loss(),
        m.kept_epoch,
        m.best_epoch,
        m.train_windows,
        m.validation_windows
    );
    println!("trained on {} in {:.1} s", m.backend, m.wall_seconds);
    println!("hash   {}", m.hash);
    println!("saved  {}", store.params_path(&m.hash).display());
    println!("       {}", store.meta_path(&m.hash).display());
    let vocabulary = Vocabulary::new(config.data.events)?;
    let name = |token: u32| match token {
        t if t == vocabulary.start() => format!("{t} (start)"),
        t if t == vocabulary.end() => format!("{t} (end)"),
        t if t == vocabulary.pad() => format!("{t} (pad)"),
        t => t.to_string(),
    };
    let list = |tokens: &[u32]| {
        tokens
            .iter()
            .map(|&t| name(t))
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!(
        "untrained rows, left at their initial values (never in a training context): {} tokens: {}",
        m.untrained_rows.len(),
        list(&m.untrained_rows)
    );
    println!(
        "of which never seen at all in the training windows: {} tokens: {}",
        m.unseen_tokens.len(),
        list(&m.unseen_tokens)
    );
    Ok(())
}

/// A bar per epoch (steps, loss, ETA) and a line per finished epoch.
pub(crate) struct Progress {
    bar: ProgressBar,
    max_epochs: usize,
}

impl Progress {
    pub(crate) fn new(max_epochs: usize) -> Self {
        let bar = ProgressBar::new(0);
        bar.set_style(
            ProgressStyle::with_template(
                "{prefix} [{bar:30}] {pos}/{len} steps · {msg} · ETA {eta}",
            )
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        Progress { bar, max_epochs }
    }
}

impl EmbeddingObserver for Progress {
    fn epoch_started(&self, epoch: usize, steps: usize) {
        self.bar.reset();
        self.bar.set_length(steps as u64);
        self.bar
            .set_prefix(format!("epoch {epoch}/{}", self.max_epochs));
    }

    fn step(&self, loss: f32) {
        self.bar.inc(1);
        if self.bar.position().is_multiple_of(100) {
            self.bar.set_message(format!("loss {loss:.4}"));
        }
    }

    fn epoch_finished(&self, r: &EpochReport) {
        self.bar.suspend(|| {
            eprintln!(
                "  epoch {:>2}: train loss {:.4}, val loss {:.4}{}, {:.1} s, {:.0} windows/s",
                r.epoch,
                r.train_loss,
                r.val_loss,
                if r.improved { " (best)" } else { "" },
                r.seconds,
                r.windows_per_second
            )
        });
    }
}
