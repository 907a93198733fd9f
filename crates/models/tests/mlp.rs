//! Study 2's MLP: the `output_activation` option (the original's bug) and
//! PyTorch's `nn.Linear` default for the biases, tested as a law.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{Tensor, TensorData};
use initlab_models::{tensor_to_vec, Activation, HostParams, InitPlan, Mlp, MlpConfig};

type B = NdArray<f32>;

fn config(output_activation: Option<bool>) -> MlpConfig {
    MlpConfig {
        inputs: 4,
        hidden: vec![3],
        outputs: 2,
        activation: Activation::Relu,
        output_activation,
    }
}

/// Weights that make output 1 negative for every non-negative input: its
/// bias is −5 and its weights are 0, the picture of a dead output unit.
fn host(config: &MlpConfig) -> HostParams {
    let mut host = HostParams::sample(
        &config.param_specs(),
        &InitPlan::new("uniform(low=0,high=1)".parse().expect("spec")),
        1,
    )
    .expect("sample");
    for (spec, values) in &mut host.tensors {
        if spec.name == "layers.1.bias" {
            values[1] = -5.0;
        }
        if spec.name == "layers.1.weight" {
            values[3..6].fill(0.0);
        }
    }
    host
}

fn input() -> Tensor<B, 2> {
    Tensor::from_data(
        TensorData::new(vec![0.5f32, 1.0, 0.0, 2.0, 1.0, 1.0, 1.0, 1.0], [2, 4]),
        &Default::default(),
    )
}

#[test]
fn the_output_activation_is_off_unless_asked_for() {
    let (off, absent, on) = (config(Some(false)), config(None), config(Some(true)));
    let forward = |c: &MlpConfig| -> Vec<f32> {
        let m: Mlp<B> = c.init(&host(c), &Default::default()).expect("init");
        tensor_to_vec(m.forward(input()))
    };
    let plain = forward(&off);
    assert_eq!(plain, forward(&absent), "absent means off");
    assert!(
        plain[1] < 0.0 && plain[3] < 0.0,
        "class 1's logit is negative: {plain:?}"
    );
    let relu = forward(&on);
    assert_eq!(relu, plain.iter().map(|v| v.max(0.0)).collect::<Vec<_>>());
    // The canonical config names the option only when the study file does.
    let json = |c: &MlpConfig| serde_json::to_string(c).expect("json");
    assert!(!json(&absent).contains("output_activation"));
    assert!(json(&off).contains("\"output_activation\":false"));
}

#[test]
fn a_dead_output_unit_gets_no_gradient_with_the_output_activation() {
    type Ad = Autodiff<B>;
    let grad_of_class_1 = |c: &MlpConfig| -> f32 {
        let m: Mlp<Ad> = c.init(&host(c), &Default::default()).expect("init");
        let x: Tensor<Ad, 2> = Tensor::from_data(input().into_data(), &Default::default());
        // Pull class 1's output up: its bias gets gradient −1 per example when alive.
        let loss = m.forward(x).slice([0..2, 1..2]).sum().neg();
        let grads = loss.backward();
        let g = m.layers[1].bias.val().grad(&grads).expect("bias gradient");
        tensor_to_vec(g)[1]
    };
    assert_eq!(grad_of_class_1(&config(Some(false))), -2.0);
    assert_eq!(
        grad_of_class_1(&config(Some(true))),
        0.0,
        "behind a ReLU a negative output never recovers: its class cannot be predicted"
    );
}

/// Kolmogorov–Smirnov distance of `samples` from U(−1, 1).
fn ks_uniform(samples: &mut [f64]) -> f64 {
    samples.sort_by(f64::total_cmp);
    let n = samples.len() as f64;
    samples
        .iter()
        .enumerate()
        .map(|(i, &x)| {
            let f = ((x + 1.0) / 2.0).clamp(0.0, 1.0);
            (f - i as f64 / n).abs().max(((i + 1) as f64 / n - f).abs())
        })
        .fold(0.0, f64::max)
}

#[test]
fn pytorch_linear_default_biases_are_uniform_within_one_over_root_fan_in() {
    // Study 2's network: biases of 128, 64 and 10 units whose fan-in is 784, 128, 64.
    let c = MlpConfig {
        inputs: 784,
        hidden: vec![128, 64],
        outputs: 10,
        activation: Activation::Relu,
        output_activation: Some(false),
    };
    let plan = InitPlan::new("pytorch-linear-default".parse().expect("spec"));
    let mut scaled = Vec::new();
    for seed in 0..8 {
        let host = HostParams::sample(&c.param_specs(), &plan, seed).expect("sample");
        for (layer, fan_in) in [(0, 784.0f64), (1, 128.0), (2, 64.0)] {
            let bias = host.get(&format!("layers.{layer}.bias")).expect("bias");
            let bound = 1.0 / fan_in.sqrt();
            assert!(
                bias.iter().all(|b| f64::from(b.abs()) <= bound),
                "layer {layer}"
            );
            scaled.extend(bias.iter().map(|&b| f64::from(b) / bound));
        }
    }
    // n = 8 × 202 = 1616; the KS critical value at α = 1e-4 is 1.95/√n ≈ 0.0485.
    let n = scaled.len() as f64;
    let d = ks_uniform(&mut scaled);
    assert!(
        d < 1.95 / n.sqrt(),
        "KS distance {d} from U(−1/√fan_in, 1/√fan_in)"
    );
    // The test can fail: the same draws read against a bound twice as wide
    // (what a wrong fan would give) are rejected.
    let mut wrong: Vec<f64> = scaled.iter().map(|u| u * 0.5).collect();
    assert!(ks_uniform(&mut wrong) > 1.95 / n.sqrt());
}
