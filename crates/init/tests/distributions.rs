//! Statistical tests: each scheme draws from the distribution it claims.
//!
//! For every row of a table (spec, shape, target law) we draw about 10⁵
//! values with the row's own seed and check
//! - the mean and variance against the target's, within 5 standard errors
//!   estimated from the sample itself (so the bound shrinks as `1/√n`);
//! - a one-sample Kolmogorov–Smirnov test against the target CDF at level
//!   α = 10⁻⁴ (critical value `√(ln(2/α)/2) / √n`, the asymptotic
//!   Kolmogorov bound);
//! - that no value lies outside the support.
//!
//! The seeds are fixed, so these tests are deterministic; the bounds are wide
//! enough that a correct sampler passes for any seed with probability
//! above 0.999, and narrow enough that a formula off by a few percent
//! fails (the `*_rejects_*` tests show the KS test has that power).

use initlab_init::{init_rng, Fans, Scheme, TRUNCATED_NORMAL_STD};

const SQRT_2: f64 = std::f64::consts::SQRT_2;

/// `erfc(x)` to about 1e-15 absolute: a positive series for `|x| < 3`, a
/// continued fraction beyond (Abramowitz & Stegun 7.1.6 and 7.1.14).
fn erfc(x: f64) -> f64 {
    if x < 0.0 {
        return 2.0 - erfc(-x);
    }
    let sqrt_pi = std::f64::consts::PI.sqrt();
    if x < 3.0 {
        let x2 = 2.0 * x * x;
        let (mut term, mut sum, mut k) = (x, x, 0.0);
        while term > 1e-17 * sum {
            k += 1.0;
            term *= x2 / (2.0 * k + 1.0);
            sum += term;
        }
        1.0 - 2.0 / sqrt_pi * (-x * x).exp() * sum
    } else {
        let mut f = x;
        for n in (1..=80).rev() {
            f = x + (f64::from(n) / 2.0) / f;
        }
        (-x * x).exp() / (sqrt_pi * f)
    }
}

/// Standard normal CDF `Φ`.
fn phi_cdf(z: f64) -> f64 {
    0.5 * erfc(-z / SQRT_2)
}

/// Standard normal survival `1 − Φ`, accurate in the upper tail.
fn phi_sf(z: f64) -> f64 {
    0.5 * erfc(z / SQRT_2)
}

/// Standard normal density `φ`, 0 at ±∞.
fn phi_pdf(z: f64) -> f64 {
    if z.is_infinite() {
        0.0
    } else {
        (-0.5 * z * z).exp() / (2.0 * std::f64::consts::PI).sqrt()
    }
}

/// A target law with its CDF, mean and variance.
#[derive(Clone, Copy, Debug)]
enum Law {
    Uniform(f64, f64),
    Normal(f64, f64),
    /// `N(μ, σ²)` conditioned on `[low, high]`.
    Truncated {
        mean: f64,
        std: f64,
        low: f64,
        high: f64,
    },
    /// `log U(1, t_max − 1)`.
    LogUniform(f64),
}

impl Law {
    /// `U(-bound, bound)`.
    fn symmetric(bound: f64) -> Law {
        Law::Uniform(-bound, bound)
    }

    /// Keras's truncated normal of standard deviation `std`.
    fn keras_truncated(std: f64) -> Law {
        let s = std / TRUNCATED_NORMAL_STD;
        Law::Truncated {
            mean: 0.0,
            std: s,
            low: -2.0 * s,
            high: 2.0 * s,
        }
    }

    fn cdf(self, x: f64) -> f64 {
        match self {
            Law::Uniform(a, b) => ((x - a) / (b - a)).clamp(0.0, 1.0),
            Law::Normal(m, s) => phi_cdf((x - m) / s),
            Law::Truncated {
                mean,
                std,
                low,
                high,
            } => {
                let (a, b) = ((low - mean) / std, (high - mean) / std);
                let z = ((x - mean) / std).clamp(a, b);
                if a > 0.0 {
                    (phi_sf(a) - phi_sf(z)) / (phi_sf(a) - phi_sf(b))
                } else {
                    (phi_cdf(z) - phi_cdf(a)) / (phi_cdf(b) - phi_cdf(a))
                }
            }
            Law::LogUniform(t_max) => ((x.exp() - 1.0) / (t_max - 2.0)).clamp(0.0, 1.0),
        }
    }

    fn support(self) -> (f64, f64) {
        match self {
            Law::Uniform(a, b) => (a, b),
            Law::Normal(..) => (f64::NEG_INFINITY, f64::INFINITY),
            Law::Truncated { low, high, .. } => (low, high),
            Law::LogUniform(t_max) => (0.0, (t_max - 1.0).ln()),
        }
    }

    fn mean_var(self) -> (f64, f64) {
        match self {
            Law::Uniform(a, b) => ((a + b) / 2.0, (b - a).powi(2) / 12.0),
            Law::Normal(m, s) => (m, s * s),
            Law::Truncated {
                mean,
                std,
                low,
                high,
            } => {
                let (a, b) = ((low - mean) / std, (high - mean) / std);
                let z = if a > 0.0 {
                    phi_sf(a) - phi_sf(b)
                } else {
                    phi_cdf(b) - phi_cdf(a)
                };
                let (pa, pb) = (phi_pdf(a), phi_pdf(b));
                let apa = if a.is_infinite() { 0.0 } else { a * pa };
                let bpb = if b.is_infinite() { 0.0 } else { b * pb };
                let shift = (pa - pb) / z;
                (
                    mean + std * shift,
                    std * std * (1.0 + (apa - bpb) / z - shift * shift),
                )
            }
            Law::LogUniform(t_max) => {
                // E[ln U] and E[ln² U] for U ~ U(1, b), by parts.
                let b = t_max - 1.0;
                let lb = b.ln();
                let m1 = (b * lb - b + 1.0) / (b - 1.0);
                let m2 = (b * (lb * lb - 2.0 * lb + 2.0) - 2.0) / (b - 1.0);
                (m1, m2 - m1 * m1)
            }
        }
    }
}

/// The KS statistic `sup |F_n − F|` of `sorted` against `cdf`.
fn ks_statistic(sorted: &[f64], cdf: impl Fn(f64) -> f64) -> f64 {
    let n = sorted.len() as f64;
    sorted
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = cdf(x);
            (f - i as f64 / n).max((i + 1) as f64 / n - f)
        })
        .fold(0.0, f64::max)
}

/// The KS critical value at α = 1e-4 for `n` draws.
fn ks_critical(n: usize) -> f64 {
    ((2.0_f64 / 1e-4).ln() / 2.0).sqrt() / (n as f64).sqrt()
}

/// Checks support, moments and KS of `values` against `law`.
fn assert_draws_from(label: &str, values: &[f32], law: Law) {
    let n = values.len();
    let mut x: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    let (low, high) = law.support();
    let (lo, hi) = (low as f32 as f64, high as f32 as f64);
    assert!(
        x.iter().all(|&v| lo <= v && v <= hi),
        "{label}: a value outside [{low}, {high}]"
    );

    let nf = n as f64;
    let mean = x.iter().sum::<f64>() / nf;
    let m2 = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / nf;
    let m4 = x.iter().map(|v| (v - mean).powi(4)).sum::<f64>() / nf;
    let (want_mean, want_var) = law.mean_var();
    let mean_bound = 5.0 * (m2 / nf).sqrt();
    let var_bound = 5.0 * ((m4 - m2 * m2) / nf).sqrt();
    assert!(
        (mean - want_mean).abs() <= mean_bound,
        "{label}: mean {mean} vs {want_mean} ± {mean_bound}"
    );
    assert!(
        (m2 - want_var).abs() <= var_bound,
        "{label}: variance {m2} vs {want_var} ± {var_bound}"
    );

    x.sort_by(f64::total_cmp);
    let d = ks_statistic(&x, |v| law.cdf(v));
    let critical = ks_critical(n);
    assert!(
        d <= critical,
        "{label}: KS D = {d} > {critical} against {law:?}"
    );
}

fn sample(spec: &str, shape: &[usize], seed: u64) -> Vec<f32> {
    let scheme: Scheme = spec.parse().unwrap_or_else(|e| panic!("{spec}: {e}"));
    scheme
        .sample(shape, &mut init_rng(seed))
        .unwrap_or_else(|e| panic!("{spec} {shape:?}: {e}"))
}

#[test]
fn erfc_matches_reference_values() {
    // Values of Python's `math.erfc`.
    let table = [
        (0.0, 1.0),
        (0.5, 0.479_500_122_186_953_5),
        (1.0, 0.157_299_207_050_285_13),
        (2.9, 4.109_787_809_945_886e-5),
        (3.0, 2.209_049_699_858_544e-5),
        (5.0, 1.537_459_794_428_035_1e-12),
        (-1.0, 1.842_700_792_949_715),
    ];
    for (x, want) in table {
        let got = erfc(x);
        assert!(
            (got - want).abs() <= 1e-15 + 1e-12 * want,
            "erfc({x}) = {got}, want {want}"
        );
    }
}

/// `(spec, shape, law)` for schemes whose elements are i.i.d.
fn iid_cases() -> Vec<(&'static str, Vec<usize>, Law)> {
    let xavier = |fi: f64, fo: f64| (2.0 / (fi + fo)).sqrt();
    vec![
        (
            "uniform(low=-3,high=5)",
            vec![100_000],
            Law::Uniform(-3.0, 5.0),
        ),
        (
            "normal(mean=1.5,std=2)",
            vec![100_000],
            Law::Normal(1.5, 2.0),
        ),
        (
            "truncated-normal",
            vec![100_000],
            Law::Truncated {
                mean: 0.0,
                std: 1.0,
                low: -2.0,
                high: 2.0,
            },
        ),
        (
            "truncated-normal(mean=1,std=2,low=0,high=10)",
            vec![100_000],
            Law::Truncated {
                mean: 1.0,
                std: 2.0,
                low: 0.0,
                high: 10.0,
            },
        ),
        (
            "truncated-normal(low=3,high=inf)",
            vec![100_000],
            Law::Truncated {
                mean: 0.0,
                std: 1.0,
                low: 3.0,
                high: f64::INFINITY,
            },
        ),
        (
            "truncated-normal(low=2,high=2.2)",
            vec![100_000],
            Law::Truncated {
                mean: 0.0,
                std: 1.0,
                low: 2.0,
                high: 2.2,
            },
        ),
        (
            "truncated-normal(low=-0.5,high=1)",
            vec![100_000],
            Law::Truncated {
                mean: 0.0,
                std: 1.0,
                low: -0.5,
                high: 1.0,
            },
        ),
        (
            "truncated-normal(mean=10,std=0.5,low=-inf,high=8)",
            vec![100_000],
            Law::Truncated {
                mean: 10.0,
                std: 0.5,
                low: f64::NEG_INFINITY,
                high: 8.0,
            },
        ),
        (
            "xavier-uniform(gain=2)",
            vec![300, 200],
            Law::symmetric(2.0 * (6.0_f64 / 500.0).sqrt()),
        ),
        (
            "xavier-normalized",
            vec![300, 200],
            Law::symmetric((6.0_f64 / 500.0).sqrt()),
        ),
        (
            "xavier-normal",
            vec![300, 200],
            Law::Normal(0.0, xavier(200.0, 300.0)),
        ),
        (
            "xavier-normal(gain=0.5)",
            vec![300, 200],
            Law::Normal(0.0, 0.5 * xavier(200.0, 300.0)),
        ),
        // Keras glorot_normal.
        (
            "xavier-normal(distribution=truncated-normal)",
            vec![300, 200],
            Law::keras_truncated(xavier(200.0, 300.0)),
        ),
        (
            "xavier-standard",
            vec![400, 250],
            Law::symmetric(1.0 / 250.0_f64.sqrt()),
        ),
        // The RNN/LSTM study's "xavier": n is the first dimension, the fan-out.
        (
            "xavier-standard(mode=fan-out)",
            vec![400, 250],
            Law::symmetric(1.0 / 400.0_f64.sqrt()),
        ),
        (
            // fan_out = 64 · 9 = 576.
            "kaiming-uniform(mode=fan-out,nonlinearity=relu)",
            vec![64, 32, 3, 3],
            Law::symmetric((6.0_f64 / 576.0).sqrt()),
        ),
        (
            "kaiming-uniform",
            vec![200, 500],
            Law::symmetric((6.0_f64 / 500.0).sqrt()),
        ),
        (
            "kaiming-normal",
            vec![200, 500],
            Law::Normal(0.0, (2.0_f64 / 500.0).sqrt()),
        ),
        // Keras he_normal.
        (
            "kaiming-normal(distribution=truncated-normal)",
            vec![200, 500],
            Law::keras_truncated((2.0_f64 / 500.0).sqrt()),
        ),
        (
            "kaiming-normal(mode=fan-out,nonlinearity=tanh)",
            vec![200, 500],
            Law::Normal(0.0, 5.0 / 3.0 / 200.0_f64.sqrt()),
        ),
        (
            "kaiming-normal(a=0.5)",
            vec![200, 500],
            Law::Normal(0.0, (2.0_f64 / 1.25).sqrt() / 500.0_f64.sqrt()),
        ),
        (
            "kaiming-normal(nonlinearity=selu)",
            vec![200, 500],
            Law::Normal(0.0, 0.75 / 500.0_f64.sqrt()),
        ),
        (
            "lecun-uniform",
            vec![200, 500],
            Law::symmetric((3.0_f64 / 500.0).sqrt()),
        ),
        (
            "lecun-normal",
            vec![200, 500],
            Law::Normal(0.0, (1.0_f64 / 500.0).sqrt()),
        ),
        (
            "lecun-normal(distribution=truncated-normal)",
            vec![200, 500],
            Law::keras_truncated((1.0_f64 / 500.0).sqrt()),
        ),
        (
            "variance-scaling",
            vec![200, 500],
            Law::keras_truncated((1.0_f64 / 500.0).sqrt()),
        ),
        (
            "variance-scaling(scale=2,mode=fan-avg,distribution=uniform)",
            vec![200, 500],
            Law::symmetric((3.0_f64 * 2.0 / 350.0).sqrt()),
        ),
        (
            "variance-scaling(scale=3,mode=fan-out,distribution=normal)",
            vec![200, 500],
            Law::Normal(0.0, (3.0_f64 / 200.0).sqrt()),
        ),
        (
            "pytorch-linear-default",
            vec![200, 500],
            Law::symmetric(1.0 / 500.0_f64.sqrt()),
        ),
        (
            "keras-dense-default",
            vec![300, 200],
            Law::symmetric((6.0_f64 / 500.0).sqrt()),
        ),
        ("chrono(t_max=100)", vec![100_000], Law::LogUniform(100.0)),
    ]
}

#[test]
fn iid_schemes_draw_from_their_target_law() {
    for (seed, (spec, shape, law)) in iid_cases().into_iter().enumerate() {
        let values = sample(spec, &shape, 1000 + seed as u64);
        assert_draws_from(spec, &values, law);
    }
}

#[test]
fn keras_truncated_normals_have_exactly_the_target_std() {
    // he_normal for fan_in = 500: std √(2/500) after truncation, bounds ±2s.
    let values = sample(
        "kaiming-normal(distribution=truncated-normal)",
        &[400, 500],
        2000,
    );
    let n = values.len() as f64;
    let var = values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / n;
    let want = 2.0 / 500.0;
    // Var of the sample variance of this law is about 0.6 σ⁴ / n.
    assert!(
        (var / want - 1.0).abs() < 5.0 * (0.6_f64 / n).sqrt(),
        "{var} vs {want}"
    );
}

#[test]
fn biases_with_explicit_fans_draw_from_their_target_law() {
    let fans = Fans {
        fan_in: 500,
        fan_out: 10,
    };
    let scheme: Scheme = "pytorch-linear-default".parse().unwrap();
    let b = scheme
        .sample_with_fans(&[100_000], fans, &mut init_rng(3000))
        .unwrap();
    let bound = 1.0 / 500.0_f64.sqrt();
    assert_draws_from("pytorch-linear-default bias", &b, Law::symmetric(bound));

    let hidden = Fans {
        fan_in: 128,
        fan_out: 512,
    };
    let scheme: Scheme = "pytorch-rnn-default".parse().unwrap();
    let w = scheme
        .sample_with_fans(&[512, 200], hidden, &mut init_rng(3001))
        .unwrap();
    let bound = 1.0 / 128.0_f64.sqrt();
    assert_draws_from("pytorch-rnn-default weight_ih", &w, Law::symmetric(bound));
}

#[test]
fn clipped_normal_has_atoms_at_the_bounds_and_a_truncated_interior() {
    let (mean, std, low, high) = (0.5, 1.0, -1.0, 2.0);
    let values = sample(
        "clipped-normal(mean=0.5,std=1,low=-1,high=2)",
        &[200_000],
        4000,
    );
    let n = values.len() as f64;
    for (bound, p) in [
        (low, phi_cdf((low - mean) / std)),
        (high, phi_sf((high - mean) / std)),
    ] {
        let count = values.iter().filter(|&&v| f64::from(v) == bound).count() as f64;
        let se = (p * (1.0 - p) / n).sqrt();
        assert!(
            (count / n - p).abs() <= 5.0 * se,
            "mass at {bound}: {} vs {p}",
            count / n
        );
    }
    let interior: Vec<f32> = values
        .iter()
        .copied()
        .filter(|&v| f64::from(v) != low && f64::from(v) != high)
        .collect();
    assert_draws_from(
        "clipped-normal interior",
        &interior,
        Law::Truncated {
            mean,
            std,
            low,
            high,
        },
    );
}

#[test]
fn sparse_nonzeros_are_normal_and_zeros_are_exact_per_column() {
    let (rows, cols) = (100, 1000);
    let values = sample("sparse(sparsity=0.9,std=0.5)", &[rows, cols], 5000);
    for col in 0..cols {
        let zeros = (0..rows).filter(|r| values[r * cols + col] == 0.0).count();
        assert_eq!(zeros, 90, "column {col}");
    }
    let nonzero: Vec<f32> = values.iter().copied().filter(|&v| v != 0.0).collect();
    assert_draws_from("sparse nonzeros", &nonzero, Law::Normal(0.0, 0.5));
}

#[test]
fn orthogonal_entries_are_those_of_a_haar_matrix() {
    // Columns of a Haar m×n matrix are uniform on the unit sphere of R^m, so
    // √m · entry is N(0, 1) up to O(1/m).
    let (m, n) = (1024, 128);
    let values = sample("orthogonal(gain=3)", &[m, n], 6000);
    let scaled: Vec<f32> = values
        .iter()
        .map(|&v| v * (m as f32).sqrt() / 3.0)
        .collect();
    let mut x: Vec<f64> = scaled.iter().map(|&v| f64::from(v)).collect();
    x.sort_by(f64::total_cmp);
    let d = ks_statistic(&x, phi_cdf);
    assert!(d <= ks_critical(x.len()), "KS D = {d}");

    // Without the sign correction diag(Q) would be biased (all ≤ 0 for the
    // usual Householder convention); with it, it is symmetric about 0.
    for (seed, (rows, cols)) in [(256, 128), (128, 256)].into_iter().enumerate() {
        let w = sample("orthogonal", &[rows, cols], 6001 + seed as u64);
        let k = rows.min(cols);
        let diag_mean = (0..k).map(|i| f64::from(w[i * cols + i])).sum::<f64>() / k as f64;
        let se = 1.0 / ((rows.max(cols) * k) as f64).sqrt();
        assert!(
            diag_mean.abs() <= 5.0 * se,
            "{rows}x{cols}: mean diag {diag_mean} ± {se}"
        );
    }
}

#[test]
fn orthogonal_gram_is_gain_squared_identity() {
    for (seed, shape) in [vec![1440, 360], vec![360, 1440], vec![64, 16, 3, 3]]
        .into_iter()
        .enumerate()
    {
        let w = sample("orthogonal(gain=2)", &shape, 7000 + seed as u64);
        let o = initlab_init::summary(&w, &shape)
            .unwrap()
            .orthogonality
            .unwrap();
        assert!((o.gram_scale - 4.0).abs() < 1e-5, "{shape:?}: {o:?}");
        assert!(o.max_abs_error < 1e-6, "{shape:?}: {o:?}");
    }
}

#[test]
fn ks_rejects_a_std_off_by_five_percent() {
    let values = sample("normal(std=1.05)", &[100_000], 8000);
    let mut x: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    x.sort_by(f64::total_cmp);
    assert!(ks_statistic(&x, phi_cdf) > ks_critical(x.len()));
}

#[test]
fn ks_rejects_keras_truncation_against_the_untruncated_normal() {
    let std = (2.0_f64 / 500.0).sqrt();
    let values = sample(
        "kaiming-normal(distribution=truncated-normal)",
        &[200, 500],
        8001,
    );
    let mut x: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    x.sort_by(f64::total_cmp);
    assert!(ks_statistic(&x, |v| phi_cdf(v / std)) > ks_critical(x.len()));
    assert!(ks_statistic(&x, |v| Law::keras_truncated(std).cdf(v)) <= ks_critical(x.len()));
}
