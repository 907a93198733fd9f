//! Next-event prediction on MAESTRO: every window of tokens predicts the token
//! that follows it.

use initlab_data::maestro::{Piece, Windows};
use rand::seq::SliceRandom;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::{Batch, EvalSet, Input, Objective, Target, Task, TrainStream, PROBE_EXAMPLES};

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
        if self.next >= self.epoch.len() {
            return None;
        }
        let end = (self.next + self.batch_size).min(self.epoch.len());
        let batch = self
            .task
            .batch(&self.task.train, &self.epoch[self.next..end]);
        self.next = end;
        Some(batch)
    }
}
