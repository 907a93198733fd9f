//! Next-event prediction on MAESTRO: every window of tokens predicts the token
//! that follows it.

use std::path::Path;
use std::sync::Arc;

use initlab_data::maestro::{Piece, Windows};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{
    Batch, DataConfig, DataSources, EvalSet, Input, InputKind, InputShape, Objective, Target,
    Task, TaskConfig, TrainStream, PROBE_EXAMPLES,
    next_indices,
};
use crate::embeddings::EmbeddingConfig;
use crate::range_check::RangeCheck;
use crate::record::hex;
use crate::{Error, Result};

/// A study file's `[data]` for MAESTRO.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaestroConfig {
    /// Tokens per input window.
    pub window: usize,
    /// The note-embedding config whose trained table every run starts
    /// from, relative to the study file (`embeddings/maestro.toml`).
    pub embedding: String,
    /// The embedding config's canonical sha256, filled in when the study
    /// is expanded (never written in a study file), so that a changed
    /// table config changes the run ids.
    #[serde(default, skip_deserializing)]
    pub embedding_sha256: String,
    /// Training windows per epoch, a fresh seeded sample each epoch;
    /// absent: every window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub train_windows: Option<usize>,
    /// A fixed seeded subsample of the validation windows; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation_windows: Option<usize>,
    /// A fixed seeded subsample of the test windows; absent: all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test_windows: Option<usize>,
    /// Windows per evaluation batch.
    pub eval_batch: usize,
}

impl MaestroConfig {
    /// The note-embedding config the runs start from, `embedding` read
    /// relative to `study_dir`: the one place it is read for a run.
    ///
    /// # Errors
    /// The file missing or invalid.
    pub fn embedding_config(&self, study_dir: &Path) -> Result<EmbeddingConfig> {
        EmbeddingConfig::load(&study_dir.join(&self.embedding))
    }

    /// The MAESTRO config of a stored run (its config's `data`), without the
    /// hash that expanding the study filled in.
    ///
    /// # Errors
    /// Not a MAESTRO data config.
    pub fn from_stored(data: &serde_json::Value) -> Result<MaestroConfig> {
        let mut data = data.clone();
        if let Some(map) = data.as_object_mut() {
            map.remove("embedding_sha256");
        }
        match serde_json::from_value(data) {
            Ok(DataConfig::Maestro(config)) => Ok(config),
            Ok(other) => Err(Error::Task(format!(
                "the run's data is `{}`, not MAESTRO",
                other.dataset()
            ))),
            Err(e) => Err(Error::Task(format!("the run's data config: {e}"))),
        }
    }
}

impl TaskConfig for MaestroConfig {
    fn dataset(&self) -> &'static str {
        "maestro"
    }

    fn provides(&self) -> InputShape {
        InputShape::new(InputKind::Tokens, self.window)
    }

    fn steps(&self) -> Option<usize> {
        Some(self.window)
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.positive("data.window", self.window);
        for (key, value) in [
            ("data.train_windows", self.train_windows),
            ("data.validation_windows", self.validation_windows),
            ("data.test_windows", self.test_windows),
        ] {
            if let Some(n) = value {
                found.positive(key, n);
            }
        }
        found.positive("data.eval_batch", self.eval_batch);
    }

    fn datasets(&self) -> &'static [&'static str] {
        &["maestro"]
    }

    fn fill_in(&mut self, study_dir: &Path) -> Result<()> {
        let config = self.embedding_config(study_dir)?;
        self.embedding_sha256 = hex(&Sha256::digest(config.canonical_json().as_bytes()));
        Ok(())
    }

    fn build(&self, data: &dyn DataSources, seed: u64, dir: &Path) -> Result<Arc<dyn Task>> {
        let (pieces, table) = data.maestro(&self.embedding_config(dir)?)?;
        let sampling = Sampling {
            train_windows: self.train_windows,
            validation_windows: self.validation_windows,
            test_windows: self.test_windows,
        };
        let task = MaestroTask::new(
            pieces,
            self.window,
            sampling,
            self.eval_batch,
            table,
            seed,
        )?;
        Ok(Arc::new(task))
    }
}

/// ChaCha streams of the fixed validation and test subsamples.
const VALIDATION_STREAM: u64 = 3;
const TEST_STREAM: u64 = 4;

/// How much of MAESTRO a run sees.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sampling {
    /// Training windows per epoch, a fresh seeded sample each epoch; `None`:
    /// every window, in a fresh order.
    pub train_windows: Option<usize>,
    /// A fixed seeded subsample of the validation windows; `None`: all.
    pub validation_windows: Option<usize>,
    /// A fixed seeded subsample of the test windows; `None`: all.
    pub test_windows: Option<usize>,
}

/// Token windows of train, validation and test pieces, classified into the
/// vocabulary (top-1 and top-5 accuracy), starting from a pre-trained table.
#[derive(Clone, Debug)]
pub struct MaestroTask {
    train: Vec<Piece>,
    validation: Vec<Piece>,
    test: Vec<Piece>,
    window: usize,
    sampling: Sampling,
    eval_batch: usize,
    /// The fixed evaluation windows, sorted.
    validation_indices: Vec<usize>,
    test_indices: Vec<usize>,
    embedding: Vec<f32>,
}

impl MaestroTask {
    /// Windows of `window` tokens over each split's pieces; `embedding` is the
    /// `(vocabulary, dim)` table every run starts from, and `data_seed` (the
    /// study's master seed) fixes the evaluation subsamples.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        [train, validation, test]: [Vec<Piece>; 3],
        window: usize,
        sampling: Sampling,
        eval_batch: usize,
        embedding: Vec<f32>,
        data_seed: u64,
    ) -> crate::Result<Self> {
        let count =
            |pieces: &[Piece]| -> crate::Result<usize> { Ok(Windows::new(pieces, window)?.len()) };
        let subsample = |n: usize, k: Option<usize>, stream: u64| -> Vec<usize> {
            let mut order: Vec<usize> = (0..n).collect();
            if let Some(k) = k.filter(|&k| k < n) {
                let mut rng = ChaCha8Rng::seed_from_u64(data_seed);
                rng.set_stream(stream);
                order.shuffle(&mut rng);
                order.truncate(k);
                order.sort_unstable();
            }
            order
        };
        let validation_indices = subsample(
            count(&validation)?,
            sampling.validation_windows,
            VALIDATION_STREAM,
        );
        let test_indices = subsample(count(&test)?, sampling.test_windows, TEST_STREAM);
        if count(&train)? == 0 || validation_indices.is_empty() || test_indices.is_empty() {
            return Err(crate::Error::Data(initlab_data::Error::Invalid(format!(
                "MAESTRO: every split needs a piece longer than the window of {window} tokens"
            ))));
        }
        Ok(MaestroTask {
            train,
            validation,
            test,
            window,
            sampling,
            eval_batch: eval_batch.max(1),
            validation_indices,
            test_indices,
            embedding,
        })
    }

    /// Training windows in all.
    pub fn train_windows(&self) -> usize {
        self.windows(&self.train).len()
    }

    fn windows<'a>(&self, pieces: &'a [Piece]) -> Windows<'a> {
        // `new` checked the window length, so this cannot fail.
        Windows::new(pieces, self.window).unwrap_or_else(|_| unreachable!("checked in new"))
    }

    fn batch(&self, pieces: &[Piece], indices: &[usize]) -> Batch {
        let (inputs, targets) = self.windows(pieces).gather(indices);
        Batch {
            input: Input::Tokens {
                ids: inputs.into_iter().map(i64::from).collect(),
                steps: self.window,
            },
            target: Target::Classes(targets.into_iter().map(i64::from).collect()),
        }
    }

    fn set(&self, set: EvalSet) -> (&[Piece], &[usize]) {
        match set {
            EvalSet::Validation => (&self.validation, &self.validation_indices),
            EvalSet::Test => (&self.test, &self.test_indices),
        }
    }
}

impl Task for MaestroTask {
    fn objective(&self) -> Objective {
        Objective::Classification { top_k: Some(5) }
    }

    fn train_stream(
        &self,
        seed: u64,
        batch_size: usize,
        limit: Option<usize>,
    ) -> Box<dyn TrainStream + '_> {
        let n = self.train_windows();
        let per_epoch = [self.sampling.train_windows, limit]
            .into_iter()
            .flatten()
            .fold(n, usize::min);
        Box::new(Sampled {
            task: self,
            order: (0..n).collect(),
            epoch: Vec::new(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            per_epoch,
            batch_size: batch_size.max(1),
            next: 0,
        })
    }

    fn eval_batches(&self, set: EvalSet, limit: Option<usize>) -> Vec<Batch> {
        let (pieces, indices) = self.set(set);
        let n = limit.map_or(indices.len(), |l| l.min(indices.len()));
        indices[..n]
            .chunks(self.eval_batch)
            .map(|chunk| self.batch(pieces, chunk))
            .collect()
    }

    fn probe_batch(&self) -> Batch {
        let n = PROBE_EXAMPLES.min(self.validation_indices.len());
        self.batch(&self.validation, &self.validation_indices[..n])
    }

    fn pretrained(&self) -> Vec<(String, Vec<f32>)> {
        vec![("embedding.weight".into(), self.embedding.clone())]
    }
}

/// An epoch is the first `per_epoch` windows of a fresh shuffle of all of
/// them: every window at most once per epoch, a different sample each epoch.
struct Sampled<'a> {
    task: &'a MaestroTask,
    order: Vec<usize>,
    epoch: Vec<usize>,
    rng: ChaCha8Rng,
    per_epoch: usize,
    batch_size: usize,
    next: usize,
}

impl TrainStream for Sampled<'_> {
    fn steps_per_epoch(&self) -> usize {
        self.per_epoch.div_ceil(self.batch_size)
    }

    fn start_epoch(&mut self) {
        self.order.shuffle(&mut self.rng);
        self.epoch.clear();
        self.epoch.extend_from_slice(&self.order[..self.per_epoch]);
        self.next = 0;
    }

    fn next_batch(&mut self) -> Option<Batch> {
        let indices = next_indices(&self.epoch, &mut self.next, self.batch_size)?;
        Some(self.task.batch(&self.task.train, indices))
    }
}
