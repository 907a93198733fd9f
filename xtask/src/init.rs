//! `cargo xtask init`: sample one tensor with an initializer spec and print
//! its statistics, so a researcher can look at any scheme in two seconds.

use std::ffi::OsString;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use initlab_init::{init_rng, npy_bytes, parse_shape, summary, Scheme};

/// Sample one tensor with an initializer spec and print its statistics.
///
/// Prints the canonical spec, count, mean, std, min and max; for a shape of 2
/// or more dims (flattened to out × in·receptive) also how far the Gram matrix
/// G on the short side (WᵀW or WWᵀ) is from c·I, c = mean diag(G): about 1e-8
/// for `orthogonal(gain=g)`, where c = g².
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Initializer spec, `name` or `name(key=value,...)`, e.g. `orthogonal`,
    /// `kaiming-normal(distribution=truncated-normal)` or `normal(mean=0,std=1)`.
    #[arg(long)]
    pub scheme: String,
    /// Shape in PyTorch layout (out, in, *receptive), dims joined by `x`:
    /// `1440x360` is out=1440, in=360; `64x3x3x3` a 3×3 convolution.
    #[arg(long, default_value = "1440x360")]
    pub shape: String,
    /// Seed of the ChaCha8 RNG: the same scheme, shape and seed give the same
    /// numbers on every machine.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Also write the tensor to FILE as a float32 little-endian NumPy .npy of
    /// that shape (written to a temporary file, then renamed into place).
    #[arg(long, value_name = "FILE")]
    pub npy: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let scheme: Scheme = args.scheme.parse()?;
    let shape = parse_shape(&args.shape)?;
    check_size(&args.shape, &shape, args.npy.is_some())?;
    // The error names the scheme and the shape already.
    let values = scheme.sample(&shape, &mut init_rng(args.seed))?;
    let stats = summary(&values, &shape)?;
    println!("scheme: {scheme}");
    println!("seed:  {}", args.seed);
    println!("{stats}");
    if let Some(path) = &args.npy {
        write_atomically(path, &npy_bytes(&values, &shape)?)?;
        println!("wrote {}", path.display());
    }
    Ok(())
}

/// Refuses a shape with a zero dim (no values to describe) or one whose
/// sample, with the working copies the statistics need, would not fit in the
/// memory available now: the allocation would abort the process instead.
fn check_size(text: &str, shape: &[usize], npy: bool) -> anyhow::Result<()> {
    if let Some(i) = shape.iter().position(|&d| d == 0) {
        anyhow::bail!("--shape {text}: dim {i} is 0; every dim must be at least 1");
    }
    let numel = shape.iter().map(|&d| d as u128).product::<u128>();
    let rows = shape.first().copied().unwrap_or(1) as u128;
    let short = rows.min(numel / rows.max(1));
    // The f32 values, an f64 working matrix and its factor (orthogonal's QR),
    // the short side's f64 Gram matrix, and the .npy bytes.
    let bytes = numel * (4 + 16) + short * short * 8 + if npy { numel * 4 } else { 0 };
    let available = available_memory();
    if bytes > u128::from(available) {
        anyhow::bail!(
            "--shape {text}: {numel} values need about {} of memory, more than the {} available",
            gib(bytes),
            gib(u128::from(available))
        );
    }
    Ok(())
}

/// `MemAvailable` from /proc/meminfo; where it cannot be read, 4 GiB.
fn available_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|text| {
            let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
            let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
            kib.checked_mul(1024)
        })
        .unwrap_or(4 << 30)
}

fn gib(bytes: u128) -> String {
    format!("{:.1} GiB", bytes as f64 / f64::from(1u32 << 30))
}

/// Writes `bytes` to a temporary file beside `path`, then renames it over
/// `path`, so a reader never sees a half-written file.
fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let name = path
        .file_name()
        .with_context(|| format!("--npy {} names no file", path.display()))?;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    let mut tmp_name = OsString::from(".");
    tmp_name.push(name);
    tmp_name.push(format!(".{}.tmp", std::process::id()));
    let tmp = dir.join(tmp_name);
    let written = std::fs::File::create(&tmp)
        .and_then(|mut file| {
            file.write_all(bytes)?;
            file.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        // Best effort: the error that matters is the one returned below.
        let _ = std::fs::remove_file(&tmp);
    }
    written.with_context(|| format!("writing {}", path.display()))
}
