//! MNIST classification: each image as one feature vector (the MLPs) or as a
//! sequence of rows or pixels (the recurrent networks).

use std::path::Path;
use std::sync::Arc;

use initlab_data::{Reading, SequenceReader};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    Batch, DataSources, EvalSet, Input, InputKind, InputShape, Objective, Target, Task,
    TaskConfig, TrainStream, PROBE_EXAMPLES, next_indices,
};
use crate::data::{ClassificationData, Examples, Holdout};
use crate::range_check::RangeCheck;
use crate::Result;

/// A study file's `[data]` for MNIST.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MnistConfig {
    /// Fraction of the 60k training images held out for validation (0.2: 48k/12k).
    pub validation_fraction: f64,
    /// Which images are held out: a seeded shuffle (default) or the last ones.
    #[serde(default, skip_serializing_if = "Holdout::is_default")]
    pub holdout: Holdout,
    /// Read each image as a sequence (`{ kind = "rows" }`) for a recurrent
    /// network; absent: one flat vector per image.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reading: Option<Reading>,
    /// `[mean, std]`: pixels in `[0, 1]` become `(x − mean) / std`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub normalize: Option<[f64; 2]>,
    /// Examples per evaluation batch (default 2000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub eval_batch: Option<usize>,
}

const MNIST_PIXELS: usize = 784;

/// Default examples per evaluation batch.
const EVAL_BATCH: usize = 2000;

impl TaskConfig for MnistConfig {
    fn dataset(&self) -> &'static str {
        "mnist"
    }

    fn provides(&self) -> InputShape {
        match self.reading {
            None => InputShape::new(InputKind::Features, MNIST_PIXELS),
            Some(Reading::Rows) => InputShape::new(InputKind::Sequences, 28),
            Some(Reading::Pixels | Reading::PermutedPixels { .. }) => {
                InputShape::new(InputKind::Sequences, 1)
            }
        }
    }

    fn reading_hint(&self) -> &'static str {
        match self.reading {
            None => " as flat images (set data.reading for sequences)",
            Some(_) => " as sequences",
        }
    }

    fn steps(&self) -> Option<usize> {
        Some(match self.reading? {
            Reading::Rows => 28,
            Reading::Pixels | Reading::PermutedPixels { .. } => MNIST_PIXELS,
        })
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        found.within(
            "data.validation_fraction",
            self.validation_fraction,
            0.0,
            1.0,
            true,
        );
        if let Some([_, std]) = self.normalize {
            found.positive_number("data.normalize", std);
        }
        if let Some(b) = self.eval_batch {
            found.positive("data.eval_batch", b);
        }
    }

    fn datasets(&self) -> &'static [&'static str] {
        &["mnist"]
    }

    fn build(&self, sources: &dyn DataSources, data_seed: u64, _: &Path) -> Result<Arc<dyn Task>> {
        let mnist = sources.mnist()?;
        let splits = Arc::new(ClassificationData::mnist_with(
            mnist,
            self.validation_fraction,
            self.holdout,
            self.normalize,
            data_seed,
        ));
        let batch = self.eval_batch.unwrap_or(EVAL_BATCH);
        Ok(match self.reading {
            None => Arc::new(MnistTask::flat(splits, batch)),
            Some(r) => {
                let reader = SequenceReader::for_images(r, &mnist.train)?;
                Arc::new(MnistTask::sequences(splits, reader, batch))
            }
        })
    }
}

/// MNIST's per-pixel mean and standard deviation over the training set, pixels
/// in [0, 1] (the constants its usual normalization subtracts and divides by).
const PIXEL_MEAN: f64 = 0.1307;
const PIXEL_STD: f64 = 0.3081;

/// The mean squared input value, ‖x‖²/N₀ over the training set, of MNIST
/// pixels in [0, 1], after `(x − mean) / std` when `normalize` is given.
pub(super) fn input_second_moment(normalize: Option<[f64; 2]>) -> f64 {
    let [shift, scale] = normalize.unwrap_or([0.0, 1.0]);
    (PIXEL_STD.powi(2) + (PIXEL_MEAN - shift).powi(2)) / scale.powi(2)
}

/// MNIST read flat or as sequences, classified into 10 digits.
#[derive(Clone, Debug)]
pub struct MnistTask {
    data: Arc<ClassificationData>,
    /// `None`: one `[features]` vector per image; else `[T, F]` per image.
    reader: Option<SequenceReader>,
    eval_batch: usize,
}

impl MnistTask {
    /// Images as flat feature vectors, evaluated in chunks of `eval_batch`.
    pub fn flat(data: Arc<ClassificationData>, eval_batch: usize) -> Self {
        MnistTask {
            data,
            reader: None,
            eval_batch: eval_batch.max(1),
        }
    }

    /// Images as sequences, cut by `reader` (rows, pixels, permuted pixels).
    pub fn sequences(
        data: Arc<ClassificationData>,
        reader: SequenceReader,
        eval_batch: usize,
    ) -> Self {
        MnistTask {
            data,
            reader: Some(reader),
            eval_batch: eval_batch.max(1),
        }
    }

    /// The splits.
    pub fn data(&self) -> &ClassificationData {
        &self.data
    }

    /// The examples at `indices` of `split` as a batch.
    fn batch(&self, split: &Examples, indices: &[usize]) -> Batch {
        let order = self
            .reader
            .as_ref()
            .map(SequenceReader::order)
            .filter(|o| o.iter().enumerate().any(|(i, &k)| i != k));
        let values = split.gather(indices, order);
        let input = match &self.reader {
            None => Input::Features {
                values,
                features: split.features,
            },
            Some(r) => Input::Sequences {
                values,
                steps: r.steps(),
                features: r.features(),
            },
        };
        Batch {
            input,
            target: Target::Classes(indices.iter().map(|&i| i64::from(split.y[i])).collect()),
        }
    }

    fn split(&self, set: EvalSet) -> &Examples {
        match set {
            EvalSet::Validation => &self.data.val,
            EvalSet::Test => &self.data.test,
        }
    }
}

impl Task for MnistTask {
    fn objective(&self) -> Objective {
        Objective::Classification { top_k: None }
    }

    fn train_stream(
        &self,
        seed: u64,
        batch_size: usize,
        limit: Option<usize>,
    ) -> Box<dyn TrainStream + '_> {
        let n = limit.map_or(self.data.train.len(), |l| l.min(self.data.train.len()));
        Box::new(Shuffled {
            task: self,
            order: (0..n).collect(),
            rng: ChaCha8Rng::seed_from_u64(seed),
            batch_size: batch_size.max(1),
            next: 0,
        })
    }

    fn eval_batches(&self, set: EvalSet, limit: Option<usize>) -> Vec<Batch> {
        let split = self.split(set);
        let n = limit.map_or(split.len(), |l| l.min(split.len()));
        let indices: Vec<usize> = (0..n).collect();
        indices
            .chunks(self.eval_batch)
            .map(|chunk| self.batch(split, chunk))
            .collect()
    }

    fn probe_batch(&self) -> Batch {
        let n = PROBE_EXAMPLES.min(self.data.val.len());
        self.batch(&self.data.val, &(0..n).collect::<Vec<_>>())
    }
}

/// An epoch is the training examples in a fresh order: one ChaCha8 stream per
/// run reshuffles the previous epoch's order (study 1's loop, kept exactly).
struct Shuffled<'a> {
    task: &'a MnistTask,
    order: Vec<usize>,
    rng: ChaCha8Rng,
    batch_size: usize,
    next: usize,
}

impl TrainStream for Shuffled<'_> {
    fn steps_per_epoch(&self) -> usize {
        self.order.len().div_ceil(self.batch_size)
    }

    fn start_epoch(&mut self) {
        self.order.shuffle(&mut self.rng);
        self.next = 0;
    }

    fn next_batch(&mut self) -> Option<Batch> {
        let indices = next_indices(&self.order, &mut self.next, self.batch_size)?;
        Some(self.task.batch(&self.task.data.train, indices))
    }
}
