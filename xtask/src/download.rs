//! `cargo xtask download`: fill the dataset cache from a mirror or the network.

use std::path::PathBuf;

use anyhow::Context;
use initlab_data::{Cache, Fetched, Manifest};

use crate::paths;

/// Where datasets come from; shared by every command that reads data.
#[derive(clap::Args, Debug, Clone)]
pub struct DataArgs {
    /// Copy datasets from this local directory (laid out like the manifest's
    /// paths, e.g. `mnist/train-images-idx3-ubyte.gz`) instead of the network.
    #[arg(long, env = "INITLAB_DATA_MIRROR", value_name = "DIR")]
    pub mirror: Option<PathBuf>,
    /// Where verified dataset files are kept [default: datasets/cache].
    #[arg(long, env = "INITLAB_CACHE", value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// Never use the network, only the cache and the mirror.
    #[arg(long)]
    pub offline: bool,
    /// The dataset manifest [default: datasets/manifest.toml]. Tests point it at
    /// fixture data they write themselves.
    #[arg(long, env = "INITLAB_MANIFEST", value_name = "FILE", hide = true)]
    pub manifest: Option<PathBuf>,
}

impl DataArgs {
    /// The manifest and the cache these flags describe.
    pub fn open(&self) -> anyhow::Result<(Manifest, Cache)> {
        let manifest = Manifest::load(&self.manifest.clone().unwrap_or_else(paths::manifest))?;
        let dir = self.cache.clone().unwrap_or_else(paths::default_cache);
        let mut cache =
            Cache::new(dir, self.mirror.clone()).with_archives(manifest.archives.clone());
        if self.offline {
            cache = cache.offline();
        }
        Ok((manifest, cache))
    }
}

/// Fetch and verify dataset files into the cache.
///
/// Files already in the cache with the right sha256 are skipped; a damaged one
/// is fetched again. Each file is verified before it is renamed into place.
#[derive(clap::Args, Debug)]
pub struct Args {
    #[command(flatten)]
    pub data: DataArgs,
    /// Only these datasets (repeatable; default: every dataset in the manifest).
    #[arg(long = "dataset", value_name = "NAME")]
    pub datasets: Vec<String>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let (manifest, cache) = args.data.open()?;
    let datasets = if args.datasets.is_empty() {
        let mut all: Vec<String> = manifest.files.iter().map(|f| f.dataset.clone()).collect();
        all.dedup();
        all
    } else {
        args.datasets
    };
    ensure(&manifest, &cache, &datasets, true)
}

/// Makes sure every file of `datasets` is in the cache and verified.
pub fn ensure(
    manifest: &Manifest,
    cache: &Cache,
    datasets: &[String],
    verbose: bool,
) -> anyhow::Result<()> {
    for name in datasets {
        for entry in manifest.dataset(name)? {
            let fetched = cache
                .ensure(entry)
                .with_context(|| format!("dataset `{name}`"))?;
            if verbose || fetched != Fetched::Cached {
                let how = match &fetched {
                    Fetched::Cached => "already verified".to_string(),
                    Fetched::Mirror(p) => format!("copied from {}", p.display()),
                    Fetched::Url(u) => format!("downloaded from {u}"),
                    Fetched::Archive(p) => format!("extracted from {}", p.display()),
                };
                eprintln!("{:<45} {how}", entry.path);
            }
        }
    }
    Ok(())
}
