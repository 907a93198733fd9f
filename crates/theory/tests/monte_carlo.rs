//! The maps against wide random networks drawn on the host: per-layer q^l
//! and c^l measured on finite networks agree with the theory within 2 %.
//!
//! Each of 1000 input pairs goes through its own random network of width
//! 1000 and five layers (weights N(0, σ_w²/N), biases N(0, σ_b²), one draw
//! per layer). A layer's rows are i.i.d. Gaussian, so given the previous
//! layer's outputs x_a, x_b the pair (w_i·x_a + b_i, w_i·x_b + b_i) of unit i
//! is exactly bivariate normal with covariance σ_w²/N · [x·x] + σ_b²: drawing
//! that pair per unit is drawing the network, without its N² weights, which
//! is what lets every pair have an independent network in a fraction of a
//! second. (One weight matrix shared by all pairs would correlate their
//! errors: its sampling error, √(2/N) ≈ 4.5 % at N = 1000, would not
//! average out.) The sampling error of a layer's mean q over the pairs is
//! √(k/(N·pairs)), k = Var[φ²]/E[φ²]² (2 for tanh near 0, 5 for ReLU): at
//! most 0.22 % for one layer. Where the length map's slope is 1 (ReLU at
//! σ_w² = 2) errors add up layer by layer, to about 0.5 % at layer five, so
//! 2 % is four standard errors there and more everywhere else.

use initlab_theory::{Activation, MeanField};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::StandardNormal;

const WIDTH: usize = 1000;
const LAYERS: usize = 5;
const PAIRS: usize = 1000;
const TOLERANCE: f64 = 0.02;

fn normal(rng: &mut ChaCha8Rng) -> f64 {
    rng.sample::<f64, _>(StandardNormal)
}

fn mean_product(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum::<f64>() / a.len() as f64
}

/// Per layer: (mean q_a, mean q_b, correlation of the pooled moments).
fn measure(field: &MeanField, q0: f64, c0: f64, seed: u64) -> Vec<(f64, f64, f64)> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut sums = vec![(0.0, 0.0, 0.0); LAYERS];
    for _ in 0..PAIRS {
        // Inputs with ‖x‖²/N = q0 and x_a·x_b/N = c0·q0, up to sampling.
        let a: Vec<f64> = (0..WIDTH).map(|_| q0.sqrt() * normal(&mut rng)).collect();
        let s = (1.0 - c0 * c0).sqrt();
        let b: Vec<f64> = a
            .iter()
            .map(|&x| c0 * x + s * q0.sqrt() * normal(&mut rng))
            .collect();
        let (mut xa, mut xb) = (a, b);
        for sum in sums.iter_mut() {
            let (gaa, gbb, gab) = (
                field.sigma_w2 * mean_product(&xa, &xa),
                field.sigma_w2 * mean_product(&xb, &xb),
                field.sigma_w2 * mean_product(&xa, &xb),
            );
            let l11 = gaa.sqrt();
            let l21 = if l11 > 0.0 { gab / l11 } else { 0.0 };
            let l22 = (gbb - l21 * l21).max(0.0).sqrt();
            let sb = field.sigma_b2.sqrt();
            let (mut ha, mut hb) = (vec![0.0; WIDTH], vec![0.0; WIDTH]);
            for i in 0..WIDTH {
                let (z1, z2, bias) = (normal(&mut rng), normal(&mut rng), normal(&mut rng));
                ha[i] = l11 * z1 + sb * bias;
                hb[i] = l21 * z1 + l22 * z2 + sb * bias;
            }
            sum.0 += mean_product(&ha, &ha);
            sum.1 += mean_product(&hb, &hb);
            sum.2 += mean_product(&ha, &hb);
            xa = ha.iter().map(|&h| field.activation.phi(h)).collect();
            xb = hb.iter().map(|&h| field.activation.phi(h)).collect();
        }
    }
    let p = PAIRS as f64;
    sums.into_iter()
        .map(|(qa, qb, qab)| (qa / p, qb / p, qab / (qa * qb).sqrt()))
        .collect()
}

fn check(activation: Activation, sigma_w2: f64, sigma_b2: f64, seed: u64) {
    let (q0, c0) = (1.0, 0.6);
    let field = MeanField::new(activation, sigma_w2, sigma_b2).unwrap();
    let measured = measure(&field, q0, c0, seed);
    // Layer 1 sees the input: q¹ = σ_w² q⁰ + σ_b².
    let mut theory = (
        sigma_w2 * q0 + sigma_b2,
        sigma_w2 * q0 + sigma_b2,
        sigma_w2 * c0 * q0 + sigma_b2,
    );
    let mut worst = 0.0_f64;
    for (l, &(qa, qb, c)) in measured.iter().enumerate() {
        if l > 0 {
            theory = field.covariance_map(theory.0, theory.1, theory.2);
        }
        let c_theory = theory.2 / (theory.0 * theory.1).sqrt();
        for (name, got, want) in [
            ("q_a", qa, theory.0),
            ("q_b", qb, theory.1),
            ("c", c, c_theory),
        ] {
            let error = (got - want).abs() / want.abs();
            worst = worst.max(error);
            assert!(
                error < TOLERANCE,
                "{activation} σ_w²={sigma_w2} σ_b²={sigma_b2} layer {}: {name} measured {got:.5}, \
                 theory {want:.5} ({:.2} %)",
                l + 1,
                100.0 * error
            );
        }
    }
    eprintln!(
        "{activation} σ_w²={sigma_w2} σ_b²={sigma_b2}: worst disagreement {:.2} %",
        100.0 * worst
    );
}

/// One test per phase, each with its own seed.
macro_rules! phases {
    ($($name:ident: $activation:ident, $sigma_w2:expr, $sigma_b2:expr, $seed:expr;)*) => {$(
        #[test]
        fn $name() {
            check(Activation::$activation, $sigma_w2, $sigma_b2, $seed);
        }
    )*};
}

phases! {
    tanh_near_the_edge_of_chaos: Tanh, 1.5, 0.05, 1;
    tanh_in_the_chaotic_phase: Tanh, 4.0, 0.05, 2;
    relu_at_kaiming_variance: Relu, 2.0, 0.1, 3;
    sigmoid: Sigmoid, 4.0, 0.1, 4;
}
