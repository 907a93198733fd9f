//! Datasets prepared for training: floats, split, shared read-only by every run.

use std::sync::Arc;

use initlab_data::mnist::{split_indices, Images};
use initlab_data::Mnist;
use serde::{Deserialize, Serialize};

/// Examples of one split as floats in `[0, 1]`, with integer class labels.
#[derive(Clone, Debug)]
pub struct Examples {
    /// `len × features`, row-major.
    pub x: Arc<Vec<f32>>,
    /// One class per example.
    pub y: Arc<Vec<u8>>,
    /// Features per example.
    pub features: usize,
}

impl Examples {
    /// Pixels as `p / 255`, then `(x − mean) / std` when `normalize` is given.
    fn from_images(images: &Images, normalize: Option<[f64; 2]>) -> Self {
        let x = images.pixels.iter().map(|&p| f32::from(p) / 255.0);
        let x = match normalize {
            None => x.collect(),
            Some([mean, std]) => {
                let (mean, std) = (mean as f32, std as f32);
                x.map(|v| (v - mean) / std).collect()
            }
        };
        Examples {
            x: Arc::new(x),
            y: Arc::new(images.labels.clone()),
            features: images.features(),
        }
    }

    /// Number of examples.
    pub fn len(&self) -> usize {
        self.y.len()
    }

    /// True when there are none.
    pub fn is_empty(&self) -> bool {
        self.y.is_empty()
    }
}

/// Train, validation and test splits of a classification dataset.
#[derive(Clone, Debug)]
pub struct ClassificationData {
    /// What the optimizer sees.
    pub train: Examples,
    /// Held out from training, evaluated each epoch.
    pub val: Examples,
    /// Evaluated once at the end.
    pub test: Examples,
}

/// Which of MNIST's training images are held out for validation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Holdout {
    /// A shuffle seeded by the study's master seed (study 1).
    #[default]
    Shuffled,
    /// The last images of the file, in file order: `mnist.pkl.gz`'s 50k/10k
    /// split is the first 50 000 and the last 10 000 (study 2).
    Last,
}

impl Holdout {
    /// Whether this is the default, which the canonical config leaves out.
    pub fn is_default(&self) -> bool {
        *self == Holdout::Shuffled
    }
}

impl ClassificationData {
    /// Splits MNIST's 60k training images into train and validation by a shuffle
    /// seeded with `split_seed` (the study's master seed, so every run of a study
    /// sees the same split), and keeps the 10k test images as they are.
    pub fn mnist(mnist: &Mnist, validation_fraction: f64, split_seed: u64) -> Self {
        Self::mnist_with(
            mnist,
            validation_fraction,
            Holdout::Shuffled,
            None,
            split_seed,
        )
    }

    /// [`mnist`](Self::mnist) with a choice of which images validate and an
    /// optional `(mean, std)` normalization of the pixels in `[0, 1]`.
    pub fn mnist_with(
        mnist: &Mnist,
        validation_fraction: f64,
        holdout: Holdout,
        normalize: Option<[f64; 2]>,
        split_seed: u64,
    ) -> Self {
        let n = mnist.train.len();
        let (train_idx, val_idx) = match holdout {
            Holdout::Shuffled => split_indices(n, validation_fraction, split_seed),
            Holdout::Last => {
                let n_val = ((n as f64) * validation_fraction).round() as usize;
                let cut = n - n_val.min(n);
                ((0..cut).collect(), (cut..n).collect())
            }
        };
        ClassificationData {
            train: Examples::from_images(&mnist.train.select(&train_idx), normalize),
            val: Examples::from_images(&mnist.train.select(&val_idx), normalize),
            test: Examples::from_images(&mnist.test, normalize),
        }
    }
}
