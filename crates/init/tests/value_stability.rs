//! Pinned values: the SHA-256 of one sample per scheme for a fixed seed.
//!
//! This is how drift is caught. A change to a sampler, to the order of draws,
//! or to `rand`, `rand_distr` or `rand_chacha` changes these hashes, and with
//! them every run that used the scheme, so such a change must be deliberate:
//! update the table (the failure message prints the new one) and say why in
//! the commit.
//!
//! The hash is over the `f32` values as little-endian bytes, row-major. The
//! samples are computed in `f64` with IEEE operations in a fixed order, plus
//! `ln`/`exp` in the normal tails, truncated tails and `chrono`; those come
//! from the platform's libm and could in principle differ in the last bit of
//! an `f64` on another platform, which the rounding to `f32` almost always
//! hides.

use initlab_init::{init_rng, Fans, Scheme};
use sha2::{Digest, Sha256};

const SEED: u64 = 20_240_607;
const SHAPE: [usize; 2] = [24, 10];

/// `(spec, sha256 of the sample of SHAPE with SEED)`.
const PINNED: [(&str, &str); 28] = [
    (
        "zeros",
        "3dc463a76fc170607c07b104c3cb531362ce7d6e10c1a34e0c0f370aeae08ce8",
    ),
    (
        "ones",
        "8ee8e618cd50888eba36622fb201ba6cd376cee2123881c429953e43a08dd365",
    ),
    (
        "constant(value=0.5)",
        "d8a3dd3086a7b163bd8fc86503e2c478147c9fcaa27b39eb8dab22cfff329b09",
    ),
    (
        "uniform(high=1,low=0)",
        "9cb3a33fe1cc27438fd8ee887bdef32133655c563d19ca0bae58ca60c12eb23d",
    ),
    (
        "normal(mean=0,std=1)",
        "3c4ab01e16edf15c6e2ba9e8b3df51f0c30daf4e0e686a1e09674f7f1b596f46",
    ),
    (
        "truncated-normal(high=2,low=-2,mean=0,std=1)",
        "bba5943e0b24c53d12f2dc07638161b12801c1408ff1d1f13c7e3e084daed588",
    ),
    (
        "truncated-normal(high=inf,low=3,mean=0,std=1)",
        "ff3ac0a5da995d99f134d4851580a7097be335a16755f311c591fdef7a609599",
    ),
    (
        "clipped-normal(high=2,low=-2,mean=0,std=1)",
        "0b7da2eb2b5afdbed1eaac30add4c40e8a03320eb21ea239733a127e3841cd66",
    ),
    (
        "xavier-uniform(gain=1)",
        "59ed2111a4e45a0535bb727c9c6e0f95d24432f3b4d3919a63811b4507b80bb0",
    ),
    (
        "xavier-normal(distribution=normal,gain=1)",
        "9a7bc8d5d3957ea860de662524fdcb130554885e3b4b05b696e0bfb04afd7333",
    ),
    (
        "xavier-normal(distribution=truncated-normal,gain=1)",
        "f9c96de92f1971b424c136c7183dd079339b9be494991dd57811cdda196411d0",
    ),
    (
        "xavier-standard(mode=fan-in)",
        "3cdf50eca9c3e1af821e59f32826f50b32b9d11c16f209aca2a6e73a9b7d122e",
    ),
    (
        "xavier-standard(mode=fan-out)",
        "59cf87d4d5f6e30a3f206a3e60e16a66cc1678aad0cc572e0b945f904ffd4154",
    ),
    (
        "kaiming-uniform(a=0,mode=fan-in,nonlinearity=leaky-relu)",
        "02ac9a42d97b6e93d255ef3ac48ccc71ff3066d84c3b1692c7a500f0bcd08b7e",
    ),
    (
        "kaiming-normal(a=0,distribution=normal,mode=fan-in,nonlinearity=leaky-relu)",
        "fd91fb193bf2a15b1a90e8c1c28521a01b1b6dc0768f52c086a53ae119cfd194",
    ),
    (
        "kaiming-normal(a=0,distribution=truncated-normal,mode=fan-in,nonlinearity=leaky-relu)",
        "3d97b1b67a56eb3de339f1ef7a4a95b804e38a00311ab4e8412f72257a284877",
    ),
    (
        "lecun-uniform",
        "5204c1f2002f16b7e9f11f1a1812f86a625877bffa425eb238b1d397a39fe555",
    ),
    (
        "lecun-normal(distribution=normal)",
        "3bb99ea4ce6656b6523ff342e24239900069366690a09fb56e944d1d641df6ca",
    ),
    (
        "variance-scaling(distribution=truncated-normal,mode=fan-in,scale=1)",
        "4af8c10b59389a61a2bc26e003caaa3acd18adb180cb65ad44234d1868d40422",
    ),
    (
        "orthogonal(gain=1)",
        "be2e76ad3d8f79329729f78b932867e34492767a76ed89c75866bc33a5a1d55f",
    ),
    (
        "identity(scale=1)",
        "78bf576c76edc52d1a0923ffeec6ff2ecf95da8f68e8457fdda5415f69035a10",
    ),
    (
        "sparse(sparsity=0.9,std=0.01)",
        "8553292b9bbe15f615d231fbc45f08f867ea4805ba864d87412ab1549418a363",
    ),
    (
        "pytorch-linear-default",
        "3cdf50eca9c3e1af821e59f32826f50b32b9d11c16f209aca2a6e73a9b7d122e",
    ),
    (
        "pytorch-rnn-default",
        "3cdf50eca9c3e1af821e59f32826f50b32b9d11c16f209aca2a6e73a9b7d122e",
    ),
    (
        "keras-dense-default",
        "59ed2111a4e45a0535bb727c9c6e0f95d24432f3b4d3919a63811b4507b80bb0",
    ),
    (
        "chrono(t_max=100)",
        "5ef61dd3d22abaf18d50cb99ab2748a6e364bfc3781e3f64518d27eeb9271389",
    ),
    (
        "lsuv(batch=train,max_iter=10,pre=orthogonal,tolerance=0.1)",
        "be2e76ad3d8f79329729f78b932867e34492767a76ed89c75866bc33a5a1d55f",
    ),
    (
        "orthogonal(gain=1) 10x24",
        "bcc8443947f43b00c9a8bf49f76fe1c54ddb88c493bbf98fd59f6c6ecb45817b",
    ),
];

fn digest(values: &[f32]) -> String {
    let mut hasher = Sha256::new();
    for v in values {
        hasher.update(v.to_le_bytes());
    }
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn sample(entry: &str) -> Vec<f32> {
    let (spec, shape) = match entry.split_once(' ') {
        Some((spec, "10x24")) => (spec, [10, 24]),
        _ => (entry, SHAPE),
    };
    let scheme: Scheme = spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"));
    assert_eq!(scheme.to_string(), spec, "pinned specs are canonical");
    // The layer's fans; pytorch-rnn-default reads `fan_in` as the hidden size.
    let fans = Fans {
        fan_in: shape[1],
        fan_out: shape[0],
    };
    scheme
        .sample_with_fans(&shape, fans, &mut init_rng(SEED))
        .unwrap_or_else(|e| panic!("{spec}: {e}"))
}

#[test]
fn pinned_samples_have_not_drifted() {
    let mut table = String::new();
    let mut drifted = Vec::new();
    for (entry, pinned) in PINNED {
        let got = digest(&sample(entry));
        table.push_str(&format!("    (\"{entry}\", \"{got}\"),\n"));
        if got != pinned {
            drifted.push(entry);
        }
    }
    assert!(
        drifted.is_empty(),
        "samples drifted for {drifted:?}; if deliberate, the new table is:\n{table}"
    );
}

#[test]
fn every_scheme_is_pinned() {
    for name in Scheme::NAMES {
        if name == "xavier-normalized" {
            continue; // an alias of xavier-uniform(gain=1)
        }
        assert!(
            PINNED
                .iter()
                .any(|(spec, _)| spec.split('(').next() == Some(name)),
            "{name} has no pinned sample"
        );
    }
}

#[test]
fn first_values_are_stable_to_the_bit() {
    // A readable complement to the hashes: the first draws of N(0, 1).
    let values = sample("normal(mean=0,std=1)");
    let first: Vec<String> = values[..4].iter().map(|v| format!("{v:?}")).collect();
    assert_eq!(first.join(" "), "0.8279732 1.0798267 1.4155844 -0.09912446");
}
