//! `cargo xtask bench`: criterion benchmarks and a steps/s table.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context};

use crate::paths;
use crate::torch_env::{self, TorchEnv};

/// Run the criterion benchmarks (train steps per model and backend, initializer
/// sampling, tokenizing) and print steps/s and GFLOP/s.
///
/// GFLOP/s counts 3 × the forward pass's matmul FLOPs per step (forward plus
/// the two backward matmuls). Compare with PyTorch only on an idle machine.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Only benchmarks whose name contains TEXT (criterion's filter).
    #[arg(long, value_name = "TEXT")]
    pub filter: Option<String>,
    /// Also write the rows as JSON: one object per row with name, backend,
    /// implementation, steps_per_s, gflops.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Leave out the tch rows. Without this flag they are measured whenever
    /// `cargo xtask setup-torch` has installed PyTorch: the train-step bench is
    /// built again with `--features tch` in target/tch/ (minutes the first time).
    #[arg(long)]
    pub no_tch: bool,
}

#[derive(Debug)]
struct Row {
    name: String,
    backend: String,
    implementation: String,
    steps_per_s: f64,
    gflops: Option<f64>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let started = SystemTime::now();
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut cmd = Command::new(&cargo);
    cmd.current_dir(paths::project_root()).args([
        "bench",
        "-p",
        "initlab-train",
        "-p",
        "initlab-init",
        "-p",
        "initlab-data",
        "--features",
        "initlab-train/flex",
        "--",
    ]);
    if let Some(f) = &args.filter {
        cmd.arg(f);
    }
    let status = cmd
        .status()
        .with_context(|| format!("running {cargo} bench"))?;
    if !status.success() {
        bail!("cargo bench failed ({status})");
    }
    let mut rows = Vec::new();
    collect(
        &paths::project_root().join("target").join("criterion"),
        started,
        &mut rows,
    )?;
    if !args.no_tch {
        bench_tch(args.filter.as_deref(), started, &mut rows)?;
    }
    rows.sort_by(|a, b| {
        (&a.name, &a.implementation, &a.backend).cmp(&(&b.name, &b.implementation, &b.backend))
    });
    println!(
        "{:<24} {:<10} {:<12} {:>12} {:>9}",
        "benchmark", "backend", "impl", "per second", "GFLOP/s"
    );
    for r in &rows {
        println!(
            "{:<24} {:<10} {:<12} {:>12.1} {:>9}",
            r.name,
            r.backend,
            r.implementation,
            r.steps_per_s,
            r.gflops.map_or("-".into(), |g| format!("{g:.1}"))
        );
    }
    if let Some(path) = &args.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "backend": r.backend, "implementation": r.implementation,
                    "steps_per_s": r.steps_per_s, "gflops": r.gflops,
                })
            })
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// The tch rows: the train-step benches built with `--features tch` in
/// target/tch/ (so the default graph is not rebuilt), run with only its tch
/// benchmarks unless `filter` says otherwise; only tch rows are kept, the
/// others came from the default build above.
fn bench_tch(filter: Option<&str>, since: SystemTime, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let env = match TorchEnv::probe(&torch_env::venv_dir())? {
        Some(env) if env.is_expected_version() => env,
        _ => {
            eprintln!("no tch rows: PyTorch is not installed (`cargo xtask setup-torch`)");
            return Ok(());
        }
    };
    if filter.is_some_and(|f| f.contains("tokenize") || f.contains("sample")) {
        return Ok(());
    }
    eprintln!("== cargo bench --features tch (target/tch)");
    let status = torch_env::cargo(&env, "bench")
        .args([
            "-p",
            "initlab-train",
            "--features",
            "tch",
            "--bench",
            "train_step",
            "--",
            filter.unwrap_or("/tch/"),
        ])
        .status()
        .context("running cargo bench --features tch")?;
    if !status.success() {
        bail!("cargo bench --features tch failed ({status})");
    }
    let mut tch = Vec::new();
    collect(&torch_env::target_dir().join("criterion"), since, &mut tch)?;
    rows.extend(tch.into_iter().filter(|r| r.backend == "tch"));
    Ok(())
}

/// Reads every `new/benchmark.json` + `new/estimates.json` pair written since `since`.
/// Benchmark ids are `name/backend/implementation`; a throughput in elements is
/// the FLOPs of one iteration.
fn collect(dir: &Path, since: SystemTime, rows: &mut Vec<Row>) -> anyhow::Result<()> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n == "new") {
                let bench = path.join("benchmark.json");
                let fresh = std::fs::metadata(&bench)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| t >= since);
                if fresh {
                    rows.push(read_row(&bench, &path.join("estimates.json"))?);
                }
            } else {
                collect(&path, since, rows)?;
            }
        }
    }
    Ok(())
}

fn read_row(bench: &Path, estimates: &Path) -> anyhow::Result<Row> {
    let read = |p: &Path| -> anyhow::Result<serde_json::Value> {
        let text =
            std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?;
        serde_json::from_str(&text).with_context(|| format!("parsing {}", p.display()))
    };
    let b = read(bench)?;
    let e = read(estimates)?;
    let id = b["full_id"].as_str().unwrap_or_default().to_string();
    let mut parts = id.splitn(3, '/');
    let name = parts.next().unwrap_or_default().to_string();
    let backend = parts.next().unwrap_or("-").to_string();
    let implementation = parts.next().unwrap_or("-").to_string();
    let mean_ns = e["mean"]["point_estimate"].as_f64().unwrap_or(f64::NAN);
    let flops = b["throughput"]["Elements"].as_f64();
    Ok(Row {
        name,
        backend,
        implementation,
        steps_per_s: 1e9 / mean_ns,
        gflops: flops.map(|f| f / mean_ns),
    })
}
