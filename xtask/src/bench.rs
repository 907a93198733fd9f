//! `cargo xtask bench`: criterion benchmarks and a steps/s table, each row's
//! GFLOP/s as a share of the machine's own FMA limit and, where the PyTorch
//! peer script is given, its speed beside PyTorch's measured in the same sitting.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::SystemTime;

use anyhow::{bail, Context};

use crate::fma_peak;
use crate::paths;
use crate::torch_env::{self, TorchEnv};

/// Run the criterion benchmarks (train steps per model and backend, initializer
/// sampling, tokenizing) and print steps/s and GFLOP/s.
///
/// GFLOP/s counts 3 × the forward pass's matmul FLOPs per step (forward plus
/// the two backward matmuls); "limit" is that as a share of the machine's
/// fp32 limit on all threads, measured right after the benchmarks by a
/// register-resident FMA loop on the widest vectors the CPU has. Compare with
/// PyTorch only on an idle machine, and only within one run.
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
    /// The PyTorch peer script (`torch_steps.py`: one line per model with its
    /// steps/s), run with the python of the PyTorch venv after the benchmarks;
    /// adds a column "÷ torch" (steps/s over PyTorch's, same model and batch).
    #[arg(long, value_name = "FILE", env = "INITLAB_TORCH_PEER")]
    pub torch_peer: Option<PathBuf>,
    /// Measure and print the machine's fp32 limit only (seconds, no build).
    #[arg(long)]
    pub limit_only: bool,
    /// Seconds per model for the PyTorch peer.
    #[arg(long, default_value_t = 4.0, value_name = "SECONDS")]
    pub peer_seconds: f64,
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
    if args.limit_only {
        let (one, all) = fma_peak::measure();
        print_limit(&one, &all);
        return Ok(());
    }
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
    let peer = match &args.torch_peer {
        Some(script) => torch_peer(script, args.peer_seconds)?,
        None => Vec::new(),
    };
    let (one, all) = fma_peak::measure();
    rows.sort_by(|a, b| {
        (&a.name, &a.implementation, &a.backend).cmp(&(&b.name, &b.implementation, &b.backend))
    });
    print_limit(&one, &all);
    for (name, steps) in &peer {
        println!("PyTorch peer {name}: {steps:.1} steps/s");
    }
    println!(
        "{:<24} {:<10} {:<12} {:>12} {:>9} {:>7} {:>8}",
        "benchmark", "backend", "impl", "per second", "GFLOP/s", "limit", "÷ torch"
    );
    for r in &rows {
        let ratio = peer
            .iter()
            .find(|(name, _)| *name == r.name)
            .map(|(_, steps)| r.steps_per_s / steps);
        println!(
            "{:<24} {:<10} {:<12} {:>12.1} {:>9} {:>7} {:>8}",
            r.name,
            r.backend,
            r.implementation,
            r.steps_per_s,
            r.gflops.map_or("-".into(), |g| format!("{g:.1}")),
            r.gflops
                .map_or("-".into(), |g| format!("{:.0} %", 100.0 * g / all.gflops)),
            ratio.map_or("-".into(), |x| format!("{x:.2}×")),
        );
    }
    if let Some(path) = &args.json {
        let json: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| {
                serde_json::json!({
                    "name": r.name, "backend": r.backend, "implementation": r.implementation,
                    "steps_per_s": r.steps_per_s, "gflops": r.gflops,
                    "share_of_limit": r.gflops.map(|g| g / all.gflops),
                    "torch_steps_per_s": peer.iter().find(|(n, _)| *n == r.name).map(|p| p.1),
                })
            })
            .collect();
        std::fs::write(path, serde_json::to_string_pretty(&json)?)
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}

/// Runs the PyTorch peer script with the PyTorch venv's python and reads its
/// lines `NAME batch N  STEPS steps/s ...`.
fn torch_peer(script: &Path, seconds: f64) -> anyhow::Result<Vec<(String, f64)>> {
    let venv = torch_env::venv_dir();
    let python = venv.join("bin").join("python");
    if !python.exists() {
        bail!(
            "--torch-peer needs PyTorch in {} (`cargo xtask setup-torch`, or INITLAB_TORCH_VENV)",
            venv.display()
        );
    }
    eprintln!(
        "== PyTorch peer {} ({seconds} s per model)",
        script.display()
    );
    let output = Command::new(&python)
        .arg(script)
        .arg(seconds.to_string())
        .output()
        .with_context(|| format!("running {} {}", python.display(), script.display()))?;
    if !output.status.success() {
        bail!(
            "{} failed ({}): {}",
            script.display(),
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(parse_peer(&String::from_utf8_lossy(&output.stdout)))
}

/// `mlp-keras      batch   64     1225.3 steps/s ...` → ("mlp-keras", 1225.3).
fn parse_peer(text: &str) -> Vec<(String, f64)> {
    text.lines()
        .filter_map(|line| {
            let words: Vec<&str> = line.split_whitespace().collect();
            let at = words.iter().position(|w| *w == "steps/s")?;
            let steps = words.get(at.checked_sub(1)?)?.parse().ok()?;
            Some((words.first()?.to_string(), steps))
        })
        .collect()
}

fn print_limit(one: &fma_peak::Peak, all: &fma_peak::Peak) {
    println!(
        "machine fp32 limit ({}): {:.0} GFLOP/s on 1 thread, {:.0} on {} threads; load average {}",
        all.isa,
        one.gflops,
        all.gflops,
        all.threads,
        load_average().unwrap_or_else(|| "unknown".into())
    );
}

/// The 1-, 5- and 15-minute load averages, where the system reports them.
fn load_average() -> Option<String> {
    let text = std::fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
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

#[cfg(test)]
mod tests {
    use super::parse_peer;

    #[test]
    fn peer_lines_give_name_and_steps() {
        let text = "mlp-keras      batch   64     1225.3 steps/s       78419 samples/s    3.1 GFLOP/s\n\
                    irnn-adding-150 batch   16       87.0 steps/s        1392 samples/s    1.3 GFLOP/s\n\
                    warning: something else\n";
        assert_eq!(
            parse_peer(text),
            vec![
                ("mlp-keras".to_string(), 1225.3),
                ("irnn-adding-150".to_string(), 87.0)
            ]
        );
    }
}
