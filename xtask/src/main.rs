//! initlab's command line, run as `cargo xtask <command>`.
//!
//! The xtask pattern keeps every project task in plain Rust, runnable on any
//! machine with cargo and nothing else. This binary stays thin: each command
//! file parses its flags and calls the crates, where the work and its tests live.

mod bench;
mod download;
mod embeddings;
mod estimate;
mod fma_peak;
mod fuzz;
mod init;
mod merge;
mod paths;
mod report;
mod reproduce;
mod sample;
mod setup_torch;
mod shard;
mod test;
mod theory;
mod tokenize;
mod torch_env;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// initlab: how the way a network's weights are initialized changes how it trains.
///
/// Reproduces published initialization studies deterministically. Start with
/// `cargo xtask reproduce` (all studies, quick profile) and `cargo xtask test`.
#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    version,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch and verify the datasets into the cache (from a mirror or the network).
    ///
    /// Files already in the cache with the right sha256 are skipped; a damaged one
    /// is fetched again. Each file is verified before it is renamed into place.
    Download(download::Args),
    /// Train the studies' grids, store every run in <out>/results.h5, print the summary.
    ///
    /// Runs already in <out>/runs/ (same run id) are skipped, so an interrupted
    /// command picks up where it stopped. Each finished run is committed to its own
    /// file at once; <out>/results.h5 is rebuilt from them after each study.
    Reproduce(reproduce::Args),
    /// Join the run files of `reproduce --shard I/N` directories into <out>/results.h5 and the report.
    ///
    /// Every run file is checked against its config, initial-parameter and output
    /// hashes first; a run id found twice is taken once if both files agree and
    /// refused, naming both, if they differ. Nothing is written unless every input
    /// passes, so <out> is left as it was.
    Merge(merge::Args),
    /// Plots and report (<out>/report.md, <out>/report.html) from <out>/results.h5, without training.
    ///
    /// Reads results.h5 and nothing else: no dataset, no study file. `reproduce`
    /// writes the same report when it finishes.
    Report(report::Args),
    /// The project's test command: download, `cargo test --workspace --release`, smoke profile with --check.
    ///
    /// The smoke profile trains into a fresh target/initlab-smoke/ and compares each
    /// study with its snapshot in snapshots/.
    Test(test::Args),
    /// Criterion benchmarks: train-step throughput per model and backend.
    ///
    /// Each row's GFLOP/s is also given as a share of this machine's own fp32
    /// limit, measured after the benchmarks; `--torch-peer` adds PyTorch's
    /// steps/s for the same models, measured in the same run. Compare only
    /// rows of one run on an idle machine.
    Bench(bench::Args),
    /// Sample one tensor with an initializer spec and print its statistics.
    Init(init::Args),
    /// Mean-field theory of a wide random network: q*, chi1, c*, depth scales, the edge of chaos.
    ///
    /// Weights are N(0, σ_w²/fan_in) and biases N(0, σ_b²), so σ_w² is an
    /// initializer's weight variance times the layer's fan-in (Kaiming-normal
    /// gives 2, N(0, 1) on a 784-input layer 784). Layer by layer the
    /// pre-activations' second moment q and the correlation c between two
    /// inputs follow deterministic maps (Poole et al. 2016; Schoenholz et al. 2017):
    ///
    ///   q*    the length every input converges to (pre-activation E[h²]);
    ///   chi1  σ_w² E[φ′(h)²] at q*: below 1 the network is ordered (all inputs
    ///         end up perfectly correlated, gradients vanish), above 1 chaotic
    ///         (nearby inputs decorrelate, gradients explode);
    ///   c*    the correlation inputs converge to (1 when ordered);
    ///   xi_q, xi_c  the depths over which q and c reach q* and c*. Schoenholz
    ///         et al. find networks deeper than about 6·xi_c untrainable; xi_c is
    ///         infinite at chi1 = 1, the edge of chaos.
    ///
    /// Examples:
    ///   cargo xtask theory --activation tanh --sigma-w2 1.5 --sigma-b2 0.05
    ///   cargo xtask theory --critical --sigma-b2 0.05 --json
    ///   cargo xtask theory --phase-diagram phase.svg --sigma-w2 2 --sigma-b2 0.05
    #[command(verbatim_doc_comment)]
    Theory(theory::Args),
    /// Print the event tokens of a MIDI file as space-separated integers.
    Tokenize(tokenize::Args),
    /// Continue a MAESTRO piece with a trained lstm-maestro run and write a MIDI file.
    ///
    /// The seed window is the start of a test piece of the run's split (or
    /// --prime FILE.mid); the output file holds it, then the drawn events.
    Sample(sample::Args),
    /// Train the LSTM study's note embeddings on MAESTRO (once per data and config) and report.
    ///
    /// The table is named by the sha256 of its canonical config and of every data
    /// file and saved as <cache>/embeddings/<hash>.bin and .json; when those exist
    /// it is loaded, not trained again.
    Embeddings(embeddings::Args),
    /// Install PyTorch 2.9.0 into .venv-torch/ for `--backend tch` (3.8 GB download, 6.7 GiB).
    ///
    /// Does nothing when the venv already has it. `--backend tch` on any command
    /// then builds a tch-enabled xtask in target/tch/ and sets the libtorch
    /// environment itself.
    SetupTorch(setup_torch::Args),
    /// Fuzz the readers of outside input (MIDI, IDX, study files, specs, run files); not part of `test`.
    ///
    /// A mutation fuzzer without coverage feedback: valid seeds, randomly
    /// mutated. A panic or hang stops it and keeps the input in target/fuzz/.
    Fuzz(fuzz::Args),
}

fn main() -> ExitCode {
    // `--backend tch` on a build without it: the same command on a tch-enabled
    // build (before parsing, which would reject the backend).
    match torch_env::forward_if_needed() {
        Ok(Some(code)) => return ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Ok(None) => {}
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    }
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Download(args) => download::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Merge(args) => merge::run(args),
        Command::Report(args) => report::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Init(args) => init::run(args),
        Command::Theory(args) => theory::run(args),
        Command::Tokenize(args) => tokenize::run(args),
        Command::Sample(args) => sample::run(args),
        Command::Embeddings(args) => embeddings::run(args),
        Command::SetupTorch(args) => setup_torch::run(args),
        Command::Fuzz(args) => fuzz::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
