/*!
MNIST images read as sequences, for the recurrent studies.

An image of `rows × cols` pixels becomes a batch-first `[batch, T, F]` array of
`f32` in `[0, 1]` (pixel / 255, as the MLP study scales them):
- [`Reading::Rows`]: `T = rows` steps of `F = cols` pixels, a row per step (the
  2-layer tanh RNN study);
- [`Reading::Pixels`]: `T = rows · cols` steps of one pixel in raster order
  (Le, Jaitly & Hinton 2015's pixel MNIST);
- [`Reading::PermutedPixels`]: the same steps in one fixed permutation, which
  breaks the local structure that makes raster order easy.

The permutation is a ChaCha8 (rand 0.8) shuffle of the raster order, as
[`split_indices`](crate::mnist::split_indices) shuffles: the same seed gives the
same permutation on every platform, because the shuffle draws its indices as
`u32` whenever the length fits one (which [`SequenceReader::new`] requires).

# Example
```
use initlab_data::sequential::{Reading, SequenceReader};
use initlab_data::Images;

let images = Images { pixels: vec![0, 51, 102, 255, 0, 0], labels: vec![3], rows: 2, cols: 3 };
let reader = SequenceReader::for_images(Reading::Rows, &images)?;
assert_eq!(reader.shape(1), [1, 2, 3]);
assert_eq!(reader.read(&images, &[0])?, [0.0, 0.2, 0.4, 1.0, 0.0, 0.0]);
# Ok::<(), initlab_data::Error>(())
```
*/

use rand::seq::SliceRandom;
use rand::SeedableRng;

use crate::mnist::Images;
use crate::{Error, Result};

/// How an image is cut into time steps; chosen in the experiment file
/// (`{ kind = "rows" }`, `{ kind = "permuted-pixels", seed = 0 }`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Reading {
    /// A row of pixels per step.
    Rows,
    /// A pixel per step, in raster order.
    Pixels,
    /// A pixel per step, in a permutation fixed by `seed`.
    PermutedPixels {
        /// Seed of the permutation; every run of a study must share it.
        seed: u64,
    },
}

impl Reading {
    /// The name used in experiment files and labels.
    pub fn name(self) -> &'static str {
        match self {
            Reading::Rows => "rows",
            Reading::Pixels => "pixels",
            Reading::PermutedPixels { .. } => "permuted-pixels",
        }
    }
}

/// A [`Reading`] of images of one size, its permutation drawn once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SequenceReader {
    reading: Reading,
    rows: usize,
    cols: usize,
    /// The raster index of the pixel at each position of a `[T, F]` sequence.
    order: Vec<usize>,
}

impl SequenceReader {
    /// Reads images of `rows × cols` pixels.
    ///
    /// # Errors
    /// [`Error::Invalid`] for an empty image size, or one whose pixel count
    /// does not fit a `u32` (the shuffle would then differ between platforms).
    pub fn new(reading: Reading, rows: usize, cols: usize) -> Result<Self> {
        let pixels = rows
            .checked_mul(cols)
            .filter(|&n| n > 0 && u32::try_from(n).is_ok())
            .ok_or_else(|| {
                Error::Invalid(format!(
                    "sequential MNIST: images of {rows}×{cols} pixels; need 1..={} pixels",
                    u32::MAX
                ))
            })?;
        let mut order: Vec<usize> = (0..pixels).collect();
        if let Reading::PermutedPixels { seed } = reading {
            order.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(seed));
        }
        Ok(SequenceReader {
            reading,
            rows,
            cols,
            order,
        })
    }

    /// Reads images of the size `images` holds.
    ///
    /// # Errors
    /// As [`Self::new`].
    pub fn for_images(reading: Reading, images: &Images) -> Result<Self> {
        Self::new(reading, images.rows, images.cols)
    }

    /// The reading.
    pub fn reading(&self) -> Reading {
        self.reading
    }

    /// Time steps per sequence, `T`.
    pub fn steps(&self) -> usize {
        match self.reading {
            Reading::Rows => self.rows,
            Reading::Pixels | Reading::PermutedPixels { .. } => self.rows * self.cols,
        }
    }

    /// Features per step, `F`: the model's input size.
    pub fn features(&self) -> usize {
        match self.reading {
            Reading::Rows => self.cols,
            Reading::Pixels | Reading::PermutedPixels { .. } => 1,
        }
    }

    /// `[batch, T, F]`.
    pub fn shape(&self, batch: usize) -> [usize; 3] {
        [batch, self.steps(), self.features()]
    }

    /// The raster index (`row · cols + col`) of the pixel at each of the `T · F`
    /// positions of a sequence; the identity except for a permuted reading.
    pub fn order(&self) -> &[usize] {
        &self.order
    }

    /// Replaces `out`'s contents with the images at `indices`, in that order, as
    /// `[indices.len(), T, F]` row-major; `out`'s capacity is reused.
    ///
    /// # Errors
    /// [`Error::Invalid`], leaving `out` untouched, when `images` are not of this
    /// reader's size or an index is past the last image.
    pub fn fill(&self, images: &Images, indices: &[usize], out: &mut Vec<f32>) -> Result<()> {
        if (images.rows, images.cols) != (self.rows, self.cols) {
            return Err(Error::Invalid(format!(
                "sequential MNIST: a reader of {}×{} images given {}×{} images",
                self.rows, self.cols, images.rows, images.cols
            )));
        }
        let size = self.order.len();
        let available = images.pixels.len() / size;
        if let Some(bad) = indices.iter().find(|&&i| i >= available) {
            return Err(Error::Invalid(format!(
                "sequential MNIST: image index {bad} out of range for {available} images"
            )));
        }
        out.clear();
        out.reserve(indices.len() * size);
        for &i in indices {
            let image = &images.pixels[i * size..(i + 1) * size];
            out.extend(self.order.iter().map(|&k| f32::from(image[k]) / 255.0));
        }
        Ok(())
    }

    /// The images at `indices` as a new `[indices.len(), T, F]` array.
    ///
    /// # Errors
    /// As [`Self::fill`].
    pub fn read(&self, images: &Images, indices: &[usize]) -> Result<Vec<f32>> {
        let mut out = Vec::new();
        self.fill(images, indices, &mut out)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `n` images of `rows × cols` whose pixels vary along rows, columns and images.
    fn synthetic(n: usize, rows: usize, cols: usize) -> Images {
        let f = rows * cols;
        Images {
            pixels: (0..n * f).map(|i| ((i * 7 + i / f) % 256) as u8).collect(),
            labels: (0..n).map(|i| (i % 10) as u8).collect(),
            rows,
            cols,
        }
    }

    fn pixel(images: &Images, i: usize, raster: usize) -> f32 {
        f32::from(images.pixels[i * images.features() + raster]) / 255.0
    }

    const ALL: [Reading; 3] = [
        Reading::Rows,
        Reading::Pixels,
        Reading::PermutedPixels { seed: 0 },
    ];

    #[test]
    fn shapes_follow_the_image_size() {
        let mnist = synthetic(3, 28, 28);
        let expected = [(28, 28), (784, 1), (784, 1)];
        for (reading, (t, f)) in ALL.into_iter().zip(expected) {
            let reader = SequenceReader::for_images(reading, &mnist).unwrap();
            assert_eq!((reader.steps(), reader.features()), (t, f), "{reading:?}");
            assert_eq!(reader.shape(2), [2, t, f]);
            assert_eq!(reader.read(&mnist, &[2, 0]).unwrap().len(), 2 * t * f);
        }
        // Non-square: rows are the steps.
        let reader = SequenceReader::new(Reading::Rows, 5, 3).unwrap();
        assert_eq!(reader.shape(4), [4, 5, 3]);
    }

    #[test]
    fn rows_reproduce_the_image() {
        let images = synthetic(3, 4, 6);
        let reader = SequenceReader::for_images(Reading::Rows, &images).unwrap();
        let x = reader.read(&images, &[2, 0]).unwrap();
        for (b, &i) in [2, 0].iter().enumerate() {
            for t in 0..4 {
                for c in 0..6 {
                    assert_eq!(x[(b * 4 + t) * 6 + c], pixel(&images, i, t * 6 + c));
                }
            }
        }
        assert!(x.iter().all(|v| (0.0..=1.0).contains(v)));
    }

    #[test]
    fn pixels_are_in_raster_order() {
        let images = synthetic(2, 3, 5);
        let reader = SequenceReader::for_images(Reading::Pixels, &images).unwrap();
        let x = reader.read(&images, &[1]).unwrap();
        let raster: Vec<f32> = (0..15).map(|k| pixel(&images, 1, k)).collect();
        assert_eq!(x, raster);
    }

    #[test]
    fn permuted_pixels_are_a_seeded_permutation() {
        let reader = |seed| SequenceReader::new(Reading::PermutedPixels { seed }, 28, 28).unwrap();
        let a = reader(0);
        let mut sorted = a.order().to_vec();
        sorted.sort_unstable();
        assert_eq!(
            sorted,
            (0..784).collect::<Vec<_>>(),
            "every pixel exactly once"
        );
        assert_ne!(a.order(), (0..784).collect::<Vec<_>>());
        assert_eq!(a, reader(0));
        assert_ne!(a.order(), reader(1).order());

        // The reading follows the order.
        let images = synthetic(2, 28, 28);
        let x = a.read(&images, &[1]).unwrap();
        for (t, &k) in a.order().iter().enumerate() {
            assert_eq!(x[t], pixel(&images, 1, k));
        }
    }

    #[test]
    fn permutation_stability() {
        // Pinned so that a change of rand, rand_chacha or the shuffle shows up:
        // a changed permutation silently changes the permuted-MNIST task.
        let order = SequenceReader::new(Reading::PermutedPixels { seed: 0 }, 28, 28)
            .unwrap()
            .order()
            .to_vec();
        assert_eq!(order[..8], [227, 387, 12, 416, 197, 433, 706, 66]);
        // sha256 of the whole order as little-endian u32s.
        let bytes: Vec<u8> = order
            .iter()
            .flat_map(|&k| (k as u32).to_le_bytes())
            .collect();
        assert_eq!(
            crate::sha256_bytes(&bytes),
            "fcefa4503d394a869d06d5ded4361bbaa71e35dfdd9aca9f6628bd051ff7b7ca"
        );
    }

    #[test]
    fn mismatches_are_errors_not_panics() {
        let images = synthetic(2, 28, 28);
        let reader = SequenceReader::for_images(Reading::Rows, &images).unwrap();
        let mut out = vec![9.0];
        let err = reader.fill(&images, &[0, 2], &mut out).unwrap_err();
        assert!(
            err.to_string().contains("index 2 out of range for 2"),
            "{err}"
        );
        assert_eq!(out, [9.0], "untouched on error");
        let small = synthetic(1, 5, 5);
        let err = reader.read(&small, &[0]).unwrap_err().to_string();
        assert!(err.contains("28×28") && err.contains("5×5"), "{err}");
        assert!(SequenceReader::new(Reading::Pixels, 0, 28).is_err());
        assert!(SequenceReader::new(Reading::Pixels, usize::MAX, 2).is_err());
    }

    #[test]
    fn serde_names_are_kebab_case() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct File {
            reading: Reading,
        }
        let parse = |s: &str| toml::from_str::<File>(s).map(|f| f.reading);
        assert_eq!(
            parse("reading = { kind = \"rows\" }").unwrap(),
            Reading::Rows
        );
        assert_eq!(
            parse("reading = { kind = \"permuted-pixels\", seed = 3 }").unwrap(),
            Reading::PermutedPixels { seed: 3 }
        );
        assert!(parse("reading = { kind = \"permuted-pixels\" }").is_err());
        assert!(parse("reading = { kind = \"columns\" }").is_err());
        for reading in ALL {
            let text = toml::to_string(&File { reading }).unwrap();
            assert!(text.contains(reading.name()), "{text}");
            assert_eq!(parse(&text).unwrap(), reading);
        }
    }
}
