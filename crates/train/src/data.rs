//! Datasets prepared for training: floats, split, shared read-only by every run.

use std::sync::Arc;

use initlab_data::mnist::{split_indices, Images};
use initlab_data::Mnist;

/// Examples of one split as floats in `[0, 1]`, with integer class labels.
#[derive(Clone, Debug)]
pub struct Split {
    /// `len × features`, row-major.
    pub x: Arc<Vec<f32>>,
    /// One class per example.
    pub y: Arc<Vec<u8>>,
    /// Features per example.
    pub features: usize,
}

impl Split {
    fn from_images(images: &Images) -> Self {
        Split {
            x: Arc::new(
                images
                    .pixels
                    .iter()
                    .map(|&p| f32::from(p) / 255.0)
                    .collect(),
            ),
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
    pub train: Split,
    /// Held out from training, evaluated each epoch.
    pub val: Split,
    /// Evaluated once at the end.
    pub test: Split,
}

impl ClassificationData {
    /// Splits MNIST's 60k training images into train and validation by a shuffle
    /// seeded with `split_seed` (the study's master seed, so every run of a study
    /// sees the same split), and keeps the 10k test images as they are.
    pub fn mnist(mnist: &Mnist, validation_fraction: f64, split_seed: u64) -> Self {
        let (train_idx, val_idx) =
            split_indices(mnist.train.len(), validation_fraction, split_seed);
        ClassificationData {
            train: Split::from_images(&mnist.train.select(&train_idx)),
            val: Split::from_images(&mnist.train.select(&val_idx)),
            test: Split::from_images(&mnist.test),
        }
    }
}
