//! initlab's command line, run as `cargo xtask <command>`.
//!
//! The xtask pattern keeps every project task in plain Rust, runnable on any
//! machine with cargo and nothing else. This binary stays thin: each command
//! file parses its flags and calls the crates, where the work and its tests live.

mod bench;
mod download;
mod init;
mod paths;
mod reproduce;
mod test;
mod tokenize;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// initlab: how the way a network's weights are initialized changes how it trains.
///
/// Reproduces published initialization studies deterministically. Start with
/// `cargo xtask reproduce` (all studies, quick profile) and `cargo xtask test`.
#[derive(Parser, Debug)]
#[command(name = "cargo xtask", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Fetch and verify the datasets into the cache (from a mirror or the network).
    Download(download::Args),
    /// Train the studies' grids, store every run in <out>/results.h5, print the summary.
    Reproduce(reproduce::Args),
    /// The project's test command: download, `cargo test --workspace`, smoke profile with --check.
    Test(test::Args),
    /// Criterion benchmarks: train-step throughput per model and backend.
    Bench(bench::Args),
    /// Sample one tensor with an initializer spec and print its statistics.
    Init(init::Args),
    /// Print the event tokens of a MIDI file as space-separated integers.
    Tokenize(tokenize::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Download(args) => download::run(args),
        Command::Reproduce(args) => reproduce::run(args),
        Command::Test(args) => test::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Init(args) => init::run(args),
        Command::Tokenize(args) => tokenize::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
