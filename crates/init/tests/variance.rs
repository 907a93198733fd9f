//! `Scheme::variance` against the draws: the stated variance is what the
//! samples have, and the named schemes give the σ_w² mean-field theory expects.

use initlab_init::defaults::FrameworkDefault;
use initlab_init::variance_scaling::Lecun;
use initlab_init::{init_rng, Distribution, Fans, Scheme};

fn mean_square(values: &[f32]) -> f64 {
    values.iter().map(|&v| f64::from(v).powi(2)).sum::<f64>() / values.len() as f64
}

#[test]
fn stated_variance_is_the_variance_of_the_draws() {
    let shape = [300, 500];
    let specs = [
        "zeros",
        "normal(mean=0,std=0.3)",
        "uniform(high=0.5,low=-0.5)",
        "xavier-uniform(gain=1)",
        "xavier-normal(distribution=truncated-normal,gain=2)",
        "xavier-standard(mode=fan-out)",
        "kaiming-uniform(mode=fan-in,nonlinearity=relu)",
        "kaiming-normal(distribution=normal,mode=fan-out,nonlinearity=tanh)",
        "lecun-uniform",
        "lecun-normal(distribution=truncated-normal)",
        "variance-scaling(distribution=uniform,mode=fan-avg,scale=3)",
        "variance-scaling(distribution=normal,mode=fan-in,scale=1.76)",
        "orthogonal(gain=1.5)",
        "sparse(sparsity=0.3,std=0.2)",
        "pytorch-linear-default",
        "keras-dense-default",
    ];
    for spec in specs {
        let scheme: Scheme = spec.parse().unwrap();
        let variance = scheme.variance(&shape, None).unwrap().unwrap();
        let drawn = mean_square(&scheme.sample(&shape, &mut init_rng(5)).unwrap());
        // 150 000 draws: the mean square's relative error is about 0.4 %.
        let tolerance = 0.02 * variance + 1e-12;
        assert!(
            (drawn - variance).abs() <= tolerance,
            "{spec}: stated {variance}, drawn {drawn}"
        );
    }
}

#[test]
fn sigma_w2_of_the_named_schemes() {
    let sigma_w2 = |spec: &str, shape: &[usize]| {
        let scheme: Scheme = spec.parse().unwrap();
        let fan_in = shape[1] as f64;
        scheme.variance(shape, None).unwrap().unwrap() * fan_in
    };
    assert_eq!(sigma_w2("normal(mean=0,std=1)", &[128, 784]), 784.0);
    let kaiming = sigma_w2("kaiming-normal(nonlinearity=relu)", &[128, 784]);
    assert!((kaiming - 2.0).abs() < 1e-12);
    let xavier = sigma_w2("xavier-uniform", &[128, 784]);
    assert!((xavier - 2.0 * 784.0 / (784.0 + 128.0)).abs() < 1e-12);
    // A bias takes its layer's fans.
    let bias = Scheme::new(FrameworkDefault::PytorchLinear)
        .variance(
            &[128],
            Some(Fans {
                fan_in: 784,
                fan_out: 128,
            }),
        )
        .unwrap()
        .unwrap();
    assert!((bias - 1.0 / (3.0 * 784.0)).abs() < 1e-15);
}

#[test]
fn schemes_the_theory_cannot_describe_say_so() {
    for spec in [
        "ones",
        "normal(mean=1,std=1)",
        "identity",
        "lsuv",
        "chrono(t_max=10)",
    ] {
        let scheme: Scheme = spec.parse().unwrap();
        assert_eq!(scheme.variance(&[10, 10], None).unwrap(), None, "{spec}");
    }
    // Fans are needed and a 1-D shape has none.
    let lecun = Scheme::new(Lecun {
        distribution: Some(Distribution::Normal),
    });
    assert!(lecun.variance(&[10], None).is_err());
}
