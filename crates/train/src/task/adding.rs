//! The adding problem as a regression task: fresh training examples every
//! epoch, fixed validation and test sets.

use std::path::Path;
use std::sync::Arc;

use initlab_data::adding::{AddingBatch, AddingStream, MarkerPlacement, TEST_SET_SIZE};
use initlab_data::AddingProblem;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::{
    Batch, DataSources, EvalSet, Input, InputKind, InputShape, Objective, Target, Task,
    TaskConfig, TrainStream, PROBE_EXAMPLES,
};
use crate::range_check::RangeCheck;
use crate::Result;

/// A study file's `[data]` for the adding problem.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AddingConfig {
    /// Steps per sequence, `T`.
    pub length: usize,
    /// Where the two markers go (`uniform`: anywhere, distinct).
    #[serde(default)]
    pub placement: MarkerPlacement,
    /// Fresh training examples per epoch.
    pub examples_per_epoch: usize,
    /// Examples in each of the fixed validation and test sets.
    pub eval_examples: usize,
    /// Examples per evaluation batch.
    pub eval_batch: usize,
    /// A run has escaped the plateau in the first epoch whose validation
    /// MSE is below this (`plateau_escape_epoch`, 1-based).
    pub escape_below: f64,
}

impl TaskConfig for AddingConfig {
    fn dataset(&self) -> &'static str {
        "adding"
    }

    /// Each step: the value and its marker.
    fn provides(&self) -> InputShape {
        InputShape::new(InputKind::Sequences, 2)
    }

    fn steps(&self) -> Option<usize> {
        Some(self.length)
    }

    fn check_ranges(&self, found: &mut RangeCheck) {
        if self.length < 2 {
            found.push(
                "data.length",
                format!("is {}; two markers need at least 2 steps", self.length),
            );
        }
        found.positive("data.examples_per_epoch", self.examples_per_epoch);
        found.positive("data.eval_examples", self.eval_examples);
        found.positive("data.eval_batch", self.eval_batch);
        found.positive_number("data.escape_below", self.escape_below);
    }

    fn build(&self, _: &dyn DataSources, data_seed: u64, _: &Path) -> Result<Arc<dyn Task>> {
        let problem = AddingProblem::new(self.length)?.with_placement(self.placement);
        let task = AddingTask::new(
            problem,
            self.examples_per_epoch,
            self.eval_examples,
            self.eval_batch,
            data_seed,
        );
        Ok(Arc::new(task.with_escape_below(self.escape_below)))
    }
}

/// ChaCha stream of the test set; the validation set is the data crate's
/// fixed set (stream 1) and training draws from stream 0 of the run's seed.
const TEST_STREAM: u64 = 2;

/// The adding problem of one length, scored by mean squared error.
#[derive(Clone, Debug)]
pub struct AddingTask {
    problem: AddingProblem,
    examples_per_epoch: usize,
    eval_batch: usize,
    validation: AddingBatch,
    test: AddingBatch,
    escape_below: Option<f64>,
}

impl AddingTask {
    /// `examples_per_epoch` fresh training examples per epoch (the
    /// reproduction's 100 000); validation and test sets of `eval_examples`
    /// each, fixed by `data_seed` (the study's master seed), evaluated in
    /// batches of `eval_batch`.
    pub fn new(
        problem: AddingProblem,
        examples_per_epoch: usize,
        eval_examples: usize,
        eval_batch: usize,
        data_seed: u64,
    ) -> Self {
        let validation = cut(problem.test_set(data_seed), eval_examples);
        let mut rng = ChaCha8Rng::seed_from_u64(data_seed);
        rng.set_stream(TEST_STREAM);
        let test = problem.sample(&mut rng, eval_examples.min(TEST_SET_SIZE));
        AddingTask {
            problem,
            examples_per_epoch: examples_per_epoch.max(1),
            eval_batch: eval_batch.max(1),
            validation,
            test,
            escape_below: None,
        }
    }

    /// Records `plateau_escape_epoch`: the first epoch whose validation MSE is
    /// below `threshold`.
    pub fn with_escape_below(mut self, threshold: f64) -> Self {
        self.escape_below = Some(threshold);
        self
    }

    fn batch(&self, set: &AddingBatch, range: std::ops::Range<usize>) -> Batch {
        let t = set.length;
        Batch {
            input: Input::Sequences {
                values: set.inputs[range.start * t * 2..range.end * t * 2].to_vec(),
                steps: t,
                features: 2,
            },
            target: Target::Values(set.targets[range].to_vec()),
        }
    }
}

/// The first `n` examples of `batch`.
fn cut(mut batch: AddingBatch, n: usize) -> AddingBatch {
    let n = n.min(batch.len());
    batch.inputs.truncate(n * batch.length * 2);
    batch.targets.truncate(n);
    batch
}

impl Task for AddingTask {
    fn objective(&self) -> Objective {
        Objective::Regression
    }

    fn train_stream(
        &self,
        seed: u64,
        batch_size: usize,
        limit: Option<usize>,
    ) -> Box<dyn TrainStream + '_> {
        let per_epoch = limit.map_or(self.examples_per_epoch, |l| l.min(self.examples_per_epoch));
        Box::new(Fresh {
            stream: self.problem.train_stream(seed),
            per_epoch,
            batch_size: batch_size.max(1),
            drawn: 0,
        })
    }

    fn eval_batches(&self, set: EvalSet, limit: Option<usize>) -> Vec<Batch> {
        let data = match set {
            EvalSet::Validation => &self.validation,
            EvalSet::Test => &self.test,
        };
        let n = limit.map_or(data.len(), |l| l.min(data.len()));
        (0..n)
            .step_by(self.eval_batch)
            .map(|start| self.batch(data, start..(start + self.eval_batch).min(n)))
            .collect()
    }

    fn escape_below(&self) -> Option<f64> {
        self.escape_below
    }

    fn probe_batch(&self) -> Batch {
        self.batch(
            &self.validation,
            0..PROBE_EXAMPLES.min(self.validation.len()),
        )
    }
}

/// An epoch is `per_epoch` examples never seen before, drawn from the run's stream.
struct Fresh {
    stream: AddingStream,
    per_epoch: usize,
    batch_size: usize,
    drawn: usize,
}

impl TrainStream for Fresh {
    fn steps_per_epoch(&self) -> usize {
        self.per_epoch.div_ceil(self.batch_size)
    }

    fn start_epoch(&mut self) {
        self.drawn = 0;
    }

    fn next_batch(&mut self) -> Option<Batch> {
        if self.drawn >= self.per_epoch {
            return None;
        }
        let n = self.batch_size.min(self.per_epoch - self.drawn);
        self.drawn += n;
        let b = self.stream.next_batch(n);
        Some(Batch {
            input: Input::Sequences {
                values: b.inputs,
                steps: b.length,
                features: 2,
            },
            target: Target::Values(b.targets),
        })
    }
}
