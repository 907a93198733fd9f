//! The host optimizers: AdamW against `torch.optim.AdamW`
//! (`fixtures/torch_adamw.json`, written by `scripts/torch_adamw_fixture.py`),
//! and SGD and Adam bit for bit against burn's, which study 1 was trained with.

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, Param};
use burn::optim::momentum::MomentumConfig;
use burn::optim::{AdamConfig, GradientsParams, Optimizer, SgdConfig};
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use initlab_train::{HostOptimizer, OptimizerConfig};
use serde::Deserialize;
use std::collections::BTreeMap;

type Ad = Autodiff<NdArray>;

#[derive(Module, Debug)]
struct Three<B: Backend> {
    w_ih: Param<Tensor<B, 2>>,
    w_hh: Param<Tensor<B, 2>>,
    bias: Param<Tensor<B, 1>>,
}

const NAMES: [&str; 3] = ["w_ih", "w_hh", "bias"];

impl Three<Ad> {
    fn new(values: &BTreeMap<String, Vec<f32>>) -> Self {
        let device = Default::default();
        let m = |name: &str, shape: [usize; 2]| {
            Param::from_data(TensorData::new(values[name].clone(), shape), &device)
        };
        Three {
            w_ih: m("w_ih", [6, 4]),
            w_hh: m("w_hh", [6, 6]),
            bias: Param::from_data(TensorData::new(values["bias"].clone(), [6]), &device),
        }
    }

    /// `Σ_p Σ p·G_p`, whose gradient is exactly `G`.
    fn loss(&self, grads: &BTreeMap<String, Vec<f32>>) -> Tensor<Ad, 1> {
        let device = Default::default();
        let g2 = |name: &str, shape: [usize; 2]| {
            Tensor::<Ad, 2>::from_data(TensorData::new(grads[name].clone(), shape), &device)
        };
        let gb = Tensor::<Ad, 1>::from_data(TensorData::new(grads["bias"].clone(), [6]), &device);
        (self.w_ih.val() * g2("w_ih", [6, 4])).sum()
            + (self.w_hh.val() * g2("w_hh", [6, 6])).sum()
            + (self.bias.val() * gb).sum()
    }

    fn values(&self) -> BTreeMap<String, Vec<f32>> {
        let v = |t: Vec<f32>| t;
        [
            (
                "w_ih",
                v(self.w_ih.val().into_data().into_vec().expect("f32")),
            ),
            (
                "w_hh",
                v(self.w_hh.val().into_data().into_vec().expect("f32")),
            ),
            (
                "bias",
                v(self.bias.val().into_data().into_vec().expect("f32")),
            ),
        ]
        .into_iter()
        .map(|(n, v)| (n.to_string(), v))
        .collect()
    }
}

#[derive(Deserialize)]
struct Fixture {
    torch: String,
    settings: Settings,
    initial: BTreeMap<String, Vec<f64>>,
    steps: Vec<Step>,
}

#[derive(Deserialize)]
struct Settings {
    lr: f64,
    beta1: f64,
    beta2: f64,
    epsilon: f64,
    weight_decay: f64,
}

#[derive(Deserialize)]
struct Step {
    grads: BTreeMap<String, Vec<f64>>,
    params: BTreeMap<String, Vec<f64>>,
}

fn f32s(m: &BTreeMap<String, Vec<f64>>) -> BTreeMap<String, Vec<f32>> {
    m.iter()
        .map(|(k, v)| (k.clone(), v.iter().map(|&x| x as f32).collect()))
        .collect()
}

#[test]
fn adamw_matches_torch_optim_adamw() {
    let fixture: Fixture = serde_json::from_str(include_str!("fixtures/torch_adamw.json"))
        .expect("torch_adamw.json parses");
    assert!(fixture.torch.starts_with("2."), "{}", fixture.torch);
    let s = &fixture.settings;
    let config = OptimizerConfig::AdamW {
        lr: s.lr,
        beta1: s.beta1,
        beta2: s.beta2,
        epsilon: s.epsilon,
        weight_decay: s.weight_decay,
    };
    let mut optim = HostOptimizer::new(&config, None);
    let mut model = Three::new(&f32s(&fixture.initial));
    let mut worst = 0.0f64;
    for (i, step) in fixture.steps.iter().enumerate() {
        let loss = model.loss(&f32s(&step.grads));
        model = optim.step(model, loss.backward()).0;
        let got = model.values();
        for name in NAMES {
            for (g, e) in got[name].iter().zip(&step.params[name]) {
                // In units of the float32 spacing at the expected value.
                let ulp =
                    f64::from((*e as f32).abs().max(f32::MIN_POSITIVE)) * f64::from(f32::EPSILON);
                worst = worst.max((f64::from(*g) - e).abs() / ulp);
            }
        }
        // Measured: under 1 ulp; the float operations follow PyTorch's order.
        assert!(worst <= 2.0, "step {}: {worst} ulp from PyTorch", i + 1);
    }
    eprintln!(
        "AdamW: at most {worst} float32 ulp from torch.optim.AdamW over {} steps",
        fixture.steps.len()
    );
    // Weight decay is decoupled: a zero gradient still shrinks the weights.
    let mut optim = HostOptimizer::new(&config, None);
    let before = f32s(&fixture.initial);
    let zeros: BTreeMap<String, Vec<f32>> = before
        .iter()
        .map(|(k, v)| (k.clone(), vec![0.0; v.len()]))
        .collect();
    let model = Three::new(&before);
    let loss = model.loss(&zeros);
    let after = optim.step(model, loss.backward()).0.values();
    let factor = (1.0 - s.lr * s.weight_decay) as f32;
    assert_eq!(
        after["bias"],
        before["bias"]
            .iter()
            .map(|v| v * factor)
            .collect::<Vec<_>>()
    );
}

/// Six steps of `config` on the host and of `burn` on the same module.
fn against_burn<O: Optimizer<Three<Ad>, Ad>>(config: OptimizerConfig, mut burn: O, lr: f64) {
    let fixture: Fixture =
        serde_json::from_str(include_str!("fixtures/torch_adamw.json")).expect("fixture");
    let mut host = HostOptimizer::new(&config, None);
    let (mut a, mut b) = (
        Three::new(&f32s(&fixture.initial)),
        Three::new(&f32s(&fixture.initial)),
    );
    for step in &fixture.steps {
        let grads = f32s(&step.grads);
        let loss = a.loss(&grads);
        a = host.step(a, loss.backward()).0;
        let loss = b.loss(&grads);
        let g = GradientsParams::from_grads(loss.backward(), &b);
        b = burn.step(lr, b, g);
        assert_eq!(a.values(), b.values(), "{config:?}");
    }
}

#[test]
fn sgd_and_adam_are_burns_bit_for_bit() {
    // Study 1's Adam (Keras's ε) and plain SGD, as the training loop used them.
    let adam = OptimizerConfig::Adam {
        lr: 1e-3,
        beta1: 0.9,
        beta2: 0.999,
        epsilon: 1e-7,
    };
    let burn_adam = AdamConfig::new()
        .with_beta_1(0.9)
        .with_beta_2(0.999)
        .with_epsilon(1e-7)
        .init();
    against_burn(adam, burn_adam, 1e-3);
    let sgd = OptimizerConfig::Sgd {
        lr: 0.01,
        momentum: 0.0,
    };
    against_burn(sgd, SgdConfig::new().init(), 0.01);
    let momentum = OptimizerConfig::Sgd {
        lr: 0.01,
        momentum: 0.9,
    };
    let burn_momentum = SgdConfig::new()
        .with_momentum(Some(
            MomentumConfig::new()
                .with_momentum(0.9)
                .with_dampening(0.0)
                .with_nesterov(false),
        ))
        .init();
    against_burn(momentum, burn_momentum, 0.01);
}
