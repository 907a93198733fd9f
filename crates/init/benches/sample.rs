//! Sampling speed of the two shapes that matter most: a 1440×360 orthogonal
//! matrix and a 10⁶-element normal tensor (plus Keras's truncated normal and
//! a uniform of the same size). Each should take milliseconds. Ids have no `/`,
//! so `cargo xtask bench` lists them as name only.

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use initlab_init::{init_rng, Scheme};

fn sample(c: &mut Criterion) {
    let cases = [
        ("init orthogonal 1440x360", "orthogonal", vec![1440, 360]),
        ("init normal 1e6", "normal", vec![1000, 1000]),
        (
            "init truncated 1e6",
            "xavier-normal(distribution=truncated-normal)",
            vec![1000, 1000],
        ),
        ("init uniform 1e6", "xavier-uniform", vec![1000, 1000]),
    ];
    for (label, spec, shape) in cases {
        let scheme: Scheme = spec.parse().expect("bench specs are valid");
        let mut rng = init_rng(0);
        c.bench_function(label, |b| {
            b.iter(|| {
                scheme
                    .sample(black_box(&shape), &mut rng)
                    .expect("shape fits")
            })
        });
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = sample
}
criterion_main!(benches);
