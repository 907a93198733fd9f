//! How MNIST is split: study 2's `holdout = "last"` is `mnist.pkl.gz`'s
//! 50k/10k split, the first 50 000 images of the training file and the last
//! 10 000, in file order; study 1's is a seeded shuffle; normalization.

use std::path::PathBuf;

use initlab_data::{Images, Mnist};
use initlab_train::{ClassificationData, Holdout};
use sha2::{Digest, Sha256};

/// `n` images of 2×2 pixels whose first pixel is the image's index.
fn images(n: usize) -> Images {
    Images {
        pixels: (0..n).flat_map(|i| [i as u8, 0, 0, 255]).collect(),
        labels: (0..n).map(|i| (i % 10) as u8).collect(),
        rows: 2,
        cols: 2,
    }
}

/// Each example's first pixel, back as the index it was written from.
fn indices(x: &[f32], features: usize) -> Vec<usize> {
    x.chunks(features)
        .map(|p| (p[0] * 255.0).round() as usize)
        .collect()
}

#[test]
fn last_holds_out_the_last_images_in_file_order() {
    let mnist = Mnist {
        train: images(60),
        test: images(10),
    };
    let d = ClassificationData::mnist_with(&mnist, 1.0 / 6.0, Holdout::Last, None, 7);
    assert_eq!(indices(&d.train.floats(), 4), (0..50).collect::<Vec<_>>());
    assert_eq!(indices(&d.val.floats(), 4), (50..60).collect::<Vec<_>>());
    assert_eq!(d.val.y[..3], [0, 1, 2]);
    // The seed plays no part.
    let other = ClassificationData::mnist_with(&mnist, 1.0 / 6.0, Holdout::Last, None, 8);
    assert_eq!(d.val.floats(), other.val.floats());
    // A shuffle takes as many, but not the last ones in order.
    let shuffled = ClassificationData::mnist(&mnist, 1.0 / 6.0, 7);
    assert_eq!(shuffled.val.len(), 10);
    assert_ne!(
        indices(&shuffled.val.floats(), 4),
        (50..60).collect::<Vec<_>>()
    );
}

#[test]
fn normalization_maps_pixels_to_standard_scores() {
    let mnist = Mnist {
        train: images(12),
        test: images(2),
    };
    let d = ClassificationData::mnist_with(&mnist, 0.5, Holdout::Last, Some([0.1307, 0.3081]), 1);
    let expected = (1.0f32 - 0.1307) / 0.3081;
    let x = d.test.floats();
    assert_eq!(x[3], expected, "pixel 255 → (1 − μ)/σ");
    assert_eq!(x[1], -0.1307 / 0.3081);
}

/// The mirror, if this machine has one.
fn mirror() -> Option<PathBuf> {
    let dir = std::env::var_os("INITLAB_DATA_MIRROR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/datasets")
        });
    dir.join("mnist").is_dir().then_some(dir)
}

#[test]
fn the_study_2_validation_images_are_mnist_pkl_s() {
    let Some(mirror) = mirror() else {
        println!(
            "note: no data mirror (set INITLAB_DATA_MIRROR); the real-data split check is skipped"
        );
        return;
    };
    let file = |name: &str| mirror.join("mnist").join(name);
    let mnist = Mnist::from_files(
        &file("train-images-idx3-ubyte.gz"),
        &file("train-labels-idx1-ubyte.gz"),
        &file("t10k-images-idx3-ubyte.gz"),
        &file("t10k-labels-idx1-ubyte.gz"),
    )
    .expect("MNIST from the mirror");
    let d = ClassificationData::mnist_with(&mnist, 1.0 / 6.0, Holdout::Last, None, 0);
    assert_eq!(
        (d.train.len(), d.val.len(), d.test.len()),
        (50_000, 10_000, 10_000)
    );
    let bytes: Vec<u8> = d
        .val
        .floats()
        .iter()
        .map(|p| (p * 255.0).round() as u8)
        .collect();
    // sha256 of images 50 000..60 000 of train-images-idx3-ubyte, as stored.
    assert_eq!(
        format!("{:x}", Sha256::digest(&bytes)),
        "2b079632b0defaf508a5ebf8c4ac1e18ce15c8b337da087e9c3e1c84c618d244"
    );
    // mnist.pkl.gz's validation labels begin 3, 8, 6, 9, 6, 4, 5, 3, 8, 4.
    assert_eq!(d.val.y[..10], [3, 8, 6, 9, 6, 4, 5, 3, 8, 4]);
}
