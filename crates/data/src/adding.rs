/*!
The adding problem (Le, Jaitly & Hinton 2015, "A Simple Way to Initialize Recurrent
Networks of Rectified Linear Units", arXiv:1504.00941), seeded.

Each example is a sequence of `T` steps with two features: a value `x ~ U[0, 1)`
and a mask that is 1 at exactly two distinct steps and 0 elsewhere. The target is
the sum of the two marked values. Predicting 1 whatever the input gives a mean
squared error of `Var(x₁ + x₂) = 2 · 1/12 = 1/6 ≈ 0.1667`, the baseline a model has to
beat (the paper quotes 0.1767 for it, which looks like a slip for 1/6).

Samples are drawn from ChaCha8 (rand 0.8), which gives the same numbers on every
platform: values are `rng.gen::<f32>()` and positions are drawn as `u32`, never as
`usize`, whose sampling differs between 32- and 64-bit targets. The test set and
the training stream come from the same seed on different ChaCha streams, so they
are independent and neither depends on how much of the other was drawn.

# Example
```
use initlab_data::adding::AddingProblem;

let problem = AddingProblem::new(100)?;
let test = problem.test_set(7);
assert_eq!((test.len(), test.length), (10_000, 100));
let mut stream = problem.train_stream(7);
let batch = stream.next_batch(32);
assert_eq!(batch.inputs.len(), 32 * 100 * 2);
# Ok::<(), initlab_data::Error>(())
```
*/

use crate::{Error, Result};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// Size of the fixed test set.
pub const TEST_SET_SIZE: usize = 10_000;

/// ChaCha stream of the training examples.
const TRAIN_STREAM: u64 = 0;
/// ChaCha stream of the test set.
const TEST_STREAM: u64 = 1;

/// Where the two markers go.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum MarkerPlacement {
    /// Two distinct steps drawn uniformly from the whole sequence, as the study's code does.
    #[default]
    Uniform,
    /// One step uniform in the first half `0..T/2`, one in the second half `T/2..T`
    /// (Hochreiter & Schmidhuber's variant, which guarantees a long dependency).
    OnePerHalf,
}

/// The task: sequence length and marker placement.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct AddingProblem {
    /// Steps per sequence, `T`.
    pub length: usize,
    /// Where the markers go.
    #[serde(default)]
    pub placement: MarkerPlacement,
}

/// Examples as host arrays.
#[derive(Clone, Debug, PartialEq)]
pub struct AddingBatch {
    /// Steps per sequence, `T`.
    pub length: usize,
    /// `[n, T, 2]` row-major: for each step the value, then the mask (0 or 1).
    pub inputs: Vec<f32>,
    /// `[n]`: the sum of the two marked values.
    pub targets: Vec<f32>,
}

impl AddingBatch {
    /// Number of examples.
    pub fn len(&self) -> usize {
        self.targets.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.targets.is_empty()
    }

    /// Example `i`'s `[T, 2]` input.
    pub fn input(&self, i: usize) -> &[f32] {
        &self.inputs[i * self.length * 2..(i + 1) * self.length * 2]
    }
}

impl AddingProblem {
    /// Sequences of `length` steps with uniform markers; `length` must be in `2..=2³²`.
    pub fn new(length: usize) -> Result<Self> {
        let problem = AddingProblem {
            length,
            placement: MarkerPlacement::Uniform,
        };
        problem.validate()?;
        Ok(problem)
    }

    /// The same task with another marker placement.
    pub fn with_placement(self, placement: MarkerPlacement) -> Self {
        AddingProblem { placement, ..self }
    }

    /// Checks the length: two distinct markers need at least 2 steps, and positions
    /// are drawn as `u32`.
    pub fn validate(&self) -> Result<()> {
        if self.length < 2 || u32::try_from(self.length).is_err() {
            return Err(Error::Invalid(format!(
                "adding problem: length {} must be in 2..={}",
                self.length,
                u32::MAX
            )));
        }
        Ok(())
    }

    /// The fixed test set of [`TEST_SET_SIZE`] examples for `seed`.
    ///
    /// # Panics
    /// If the problem is invalid (see [`Self::validate`]); [`Self::new`] never builds one.
    pub fn test_set(&self, seed: u64) -> AddingBatch {
        self.sample(&mut rng(seed, TEST_STREAM), TEST_SET_SIZE)
    }

    /// An endless stream of training examples for `seed`, independent of the test set.
    pub fn train_stream(&self, seed: u64) -> AddingStream {
        AddingStream {
            problem: *self,
            rng: rng(seed, TRAIN_STREAM),
        }
    }

    /// Draws `n` examples from `rng`.
    ///
    /// # Panics
    /// If the problem is invalid (see [`Self::validate`]).
    pub fn sample(&self, rng: &mut impl Rng, n: usize) -> AddingBatch {
        if let Err(e) = self.validate() {
            panic!("{e}");
        }
        let t = self.length;
        let mut inputs = vec![0.0f32; n * t * 2];
        let mut targets = Vec::with_capacity(n);
        for example in inputs.chunks_exact_mut(t * 2) {
            for step in example.chunks_exact_mut(2) {
                step[0] = rng.gen::<f32>();
            }
            let (a, b) = self.markers(rng);
            example[a * 2 + 1] = 1.0;
            example[b * 2 + 1] = 1.0;
            targets.push(example[a * 2] + example[b * 2]);
        }
        AddingBatch {
            length: t,
            inputs,
            targets,
        }
    }

    /// Two distinct marker positions.
    fn markers(&self, rng: &mut impl Rng) -> (usize, usize) {
        // validate() guarantees the length fits u32.
        let t = self.length as u32;
        let (a, b) = match self.placement {
            MarkerPlacement::Uniform => {
                let a = rng.gen_range(0..t);
                let b = rng.gen_range(0..t - 1);
                // Uniform over ordered pairs of distinct steps.
                (a, if b >= a { b + 1 } else { b })
            }
            MarkerPlacement::OnePerHalf => (rng.gen_range(0..t / 2), rng.gen_range(t / 2..t)),
        };
        (a as usize, b as usize)
    }
}

/// Seeded training examples, drawn on demand.
#[derive(Clone, Debug)]
pub struct AddingStream {
    problem: AddingProblem,
    rng: ChaCha8Rng,
}

impl AddingStream {
    /// The next `n` examples.
    pub fn next_batch(&mut self, n: usize) -> AddingBatch {
        self.problem.sample(&mut self.rng, n)
    }
}

fn rng(seed: u64, stream: u64) -> ChaCha8Rng {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    rng.set_stream(stream);
    rng
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Marker positions of each example.
    fn marked(batch: &AddingBatch, i: usize) -> Vec<usize> {
        let input = batch.input(i);
        (0..batch.length)
            .filter(|&s| input[s * 2 + 1] != 0.0)
            .collect()
    }

    #[test]
    fn exactly_two_markers_and_target_is_their_sum() {
        for placement in [MarkerPlacement::Uniform, MarkerPlacement::OnePerHalf] {
            let problem = AddingProblem::new(7).unwrap().with_placement(placement);
            let batch = problem.train_stream(210).next_batch(2000);
            for i in 0..batch.len() {
                let input = batch.input(i);
                assert!(input.chunks(2).all(|s| s[1] == 0.0 || s[1] == 1.0));
                assert!(input.chunks(2).all(|s| (0.0..1.0).contains(&s[0])));
                let m = marked(&batch, i);
                assert_eq!(m.len(), 2, "example {i}: markers at {m:?}");
                assert_eq!(batch.targets[i], input[m[0] * 2] + input[m[1] * 2]);
                if placement == MarkerPlacement::OnePerHalf {
                    assert!(m[0] < 3 && m[1] >= 3, "example {i}: markers at {m:?}");
                }
            }
        }
    }

    #[test]
    fn uniform_markers_cover_every_pair() {
        // With T = 4 there are 6 unordered pairs; 6000 draws leave none out.
        let batch = AddingProblem::new(4)
            .unwrap()
            .train_stream(211)
            .next_batch(6000);
        let mut counts = std::collections::HashMap::new();
        for i in 0..batch.len() {
            *counts.entry(marked(&batch, i)).or_insert(0usize) += 1;
        }
        assert_eq!(counts.len(), 6);
        // Each pair has p = 1/6: mean 1000, sd ≈ 29; 6 sd is a loose bound.
        assert!(
            counts.values().all(|&c| c.abs_diff(1000) < 175),
            "{counts:?}"
        );
    }

    #[test]
    fn same_seed_same_data() {
        let problem = AddingProblem::new(50).unwrap();
        assert_eq!(problem.test_set(212), problem.test_set(212));
        assert_ne!(problem.test_set(212), problem.test_set(213));
        let (mut a, mut b) = (problem.train_stream(212), problem.train_stream(212));
        assert_eq!(a.next_batch(10), b.next_batch(10));
        assert_eq!(a.next_batch(3), b.next_batch(3));
        // Training examples are not the test set's.
        let test = problem.test_set(212);
        assert_ne!(
            problem.train_stream(212).next_batch(1).targets[0],
            test.targets[0]
        );
    }

    #[test]
    fn value_stability() {
        // Pinned so that a change of rand, rand_chacha or the sampling order shows up.
        let batch = AddingProblem::new(3).unwrap().train_stream(0).next_batch(1);
        let expected: [f32; 6] = [0.6546971, 0.0, 0.7090754, 1.0, 0.72986984, 1.0];
        assert_eq!(batch.inputs, expected);
        assert_eq!(batch.targets, [0.7090754 + 0.72986984]);
    }

    #[test]
    fn target_variance_is_one_sixth() {
        let problem = AddingProblem::new(100).unwrap();
        let test = problem.test_set(214);
        let n = test.len() as f64;
        let y: Vec<f64> = test.targets.iter().map(|&v| f64::from(v)).collect();
        let mean = y.iter().sum::<f64>() / n;
        let variance = y.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        let mse_of_one = y.iter().map(|v| (v - 1.0).powi(2)).sum::<f64>() / n;
        // x₁ + x₂ is triangular on [0, 2]: σ² = 1/6 and μ₄ = 1/15, so the sample
        // variance has standard error √((μ₄ − σ⁴)/n) = √(7/(180 n)) ≈ 0.0020 for n = 10⁴;
        // (y − 1)² has the same variance. Five standard errors is the bound.
        let bound = 5.0 * (7.0 / (180.0 * n)).sqrt();
        assert!(
            (variance - 1.0 / 6.0).abs() < bound,
            "variance {variance}, bound {bound}"
        );
        assert!(
            (mse_of_one - 1.0 / 6.0).abs() < bound,
            "MSE of 1 {mse_of_one}, bound {bound}"
        );
        assert!(
            (mean - 1.0).abs() < 5.0 * (1.0 / (6.0 * n)).sqrt(),
            "mean {mean}"
        );
    }

    #[test]
    fn invalid_lengths() {
        assert!(AddingProblem::new(1).is_err());
        assert!(AddingProblem::new(0).is_err());
        assert!(AddingProblem::new(2).is_ok());
    }
}
