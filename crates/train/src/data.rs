//! Datasets prepared for training: split, read as floats, shared read-only
//! by every run.

use std::sync::Arc;

use initlab_data::mnist::{split_indices, Images};
use initlab_data::Mnist;
use serde::{Deserialize, Serialize};

/// Examples of one split: every feature a one-byte code, read as a float
/// through a 256-entry table (for MNIST, a pixel and what it stands for
/// after scaling). A batch then reads a quarter of the memory an f32 copy
/// would (a training step's gather from an f32 copy of the 48 000 images was
/// 8 % of an mlp-depth run), and every value is the float that copy held.
#[derive(Clone, Debug)]
pub struct Examples {
    /// `len × features` codes, row-major.
    pub codes: Arc<Vec<u8>>,
    /// The float each code stands for.
    pub values: Arc<[f32; 256]>,
    /// One class per example.
    pub y: Arc<Vec<u8>>,
    /// Features per example.
    pub features: usize,
}

impl Examples {
    /// Examples whose features are `codes` into `values`. Panics (a
    /// programming error) unless there are `features` codes per label.
    pub fn coded(codes: Vec<u8>, values: [f32; 256], labels: Vec<u8>, features: usize) -> Self {
        assert_eq!(
            codes.len(),
            labels.len() * features,
            "examples: {features} codes per label"
        );
        Examples {
            codes: Arc::new(codes),
            values: Arc::new(values),
            y: Arc::new(labels),
            features,
        }
    }

    /// Images of 0–255 pixels, read as `p / 255`, then `(x − mean) / std`
    /// when `normalize` is given.
    pub fn images(
        pixels: Vec<u8>,
        labels: Vec<u8>,
        features: usize,
        normalize: Option<[f64; 2]>,
    ) -> Self {
        let values = std::array::from_fn(|p| {
            let v = p as f32 / 255.0;
            match normalize {
                None => v,
                Some([mean, std]) => (v - mean as f32) / std as f32,
            }
        });
        Examples::coded(pixels, values, labels, features)
    }

    fn from_images(images: Images, normalize: Option<[f64; 2]>) -> Self {
        let features = images.features();
        Examples::images(images.pixels, images.labels, features, normalize)
    }

    /// The features of the examples at `indices`, as floats one example
    /// after another, each in `order` when given. The codes are copied
    /// first (a copy streams many cache lines at once, where a table lookup
    /// per byte from memory waits on each), then looked up from the cache.
    pub fn gather(&self, indices: &[usize], order: Option<&[usize]>) -> Vec<f32> {
        let f = self.features;
        let mut codes = Vec::with_capacity(indices.len() * f);
        for &i in indices {
            codes.extend_from_slice(&self.codes[i * f..(i + 1) * f]);
        }
        let values = &*self.values;
        match order {
            None => codes.iter().map(|&c| values[usize::from(c)]).collect(),
            Some(order) => codes
                .chunks_exact(f)
                .flat_map(|example| order.iter().map(|&k| values[usize::from(example[k])]))
                .collect(),
        }
    }

    /// Every example's features as floats, row-major.
    pub fn floats(&self) -> Vec<f32> {
        self.gather(&(0..self.len()).collect::<Vec<_>>(), None)
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
            train: Examples::from_images(mnist.train.select(&train_idx), normalize),
            val: Examples::from_images(mnist.train.select(&val_idx), normalize),
            test: Examples::from_images(mnist.test.clone(), normalize),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_gather_reads_the_chosen_examples_in_order_through_the_table() {
        // Three examples of three features; code c stands for c + 0.5.
        let values = std::array::from_fn(|c| c as f32 + 0.5);
        let examples = Examples::coded((0..9).collect(), values, vec![0, 1, 2], 3);
        assert_eq!(
            examples.gather(&[2, 0], None),
            [6.5, 7.5, 8.5, 0.5, 1.5, 2.5]
        );
        assert_eq!(
            examples.gather(&[1], Some(&[2, 0, 1])),
            [5.5, 3.5, 4.5],
            "each example's features in the reading order"
        );
        assert_eq!(examples.floats().len(), 9);
    }

    #[test]
    fn pixel_values_are_the_f32_arithmetic_of_each_byte() {
        let normalize = Some([0.1307, 0.3081]);
        let examples = Examples::images((0..=255).collect(), vec![0], 256, normalize);
        for (p, v) in examples.floats().into_iter().enumerate() {
            let expected = (p as f32 / 255.0 - 0.1307f32) / 0.3081f32;
            assert_eq!(v.to_bits(), expected.to_bits(), "pixel {p}");
        }
    }
}
