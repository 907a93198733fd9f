//! The per-time-step norms a probed fused pass records, against a per-step
//! reference whose every hidden state gets a zero "perturbation" leaf
//! `h_t + e_t`: burn then gives `∂L/∂e_t = ∂L/∂h_t`, the total gradient
//! reaching step `t`, which is what the fused backward records.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::{activation, Tensor, TensorData};
use initlab_models::{
    BpttProbe, HostParams, InitPlan, LstmConfig, Nonlinearity, RecurrentImpl, Rnn, RnnConfig,
};

type Ad = Autodiff<NdArray>;

const BATCH: usize = 3;
const INPUT: usize = 4;
const HIDDEN: usize = 5;
const STEPS: usize = 9;

/// A deterministic U(-1, 1) stream, so the test needs no RNG crate.
fn stream(seed: u64, n: usize, scale: f32) -> Vec<f32> {
    let mut s = seed;
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (((s >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0) as f32 * scale
        })
        .collect()
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> Tensor<Ad, D> {
    Tensor::from_data(TensorData::new(values, shape), &Default::default())
}

/// `Σ states·C + Σ last·D`: every step's state feeds the loss directly, and
/// the last one twice, so `∂L/∂h_t` has a direct and a recurrent part.
struct Loss {
    c: Tensor<Ad, 3>,
    d: Tensor<Ad, 2>,
}

impl Loss {
    fn new(seed: u64) -> Self {
        Loss {
            c: tensor(
                stream(seed, BATCH * STEPS * HIDDEN, 0.3),
                [BATCH, STEPS, HIDDEN],
            ),
            d: tensor(stream(seed + 1, BATCH * HIDDEN, 1.0), [BATCH, HIDDEN]),
        }
    }

    fn of(&self, states: Tensor<Ad, 3>, last: Tensor<Ad, 2>) -> Tensor<Ad, 1> {
        (states * self.c.clone()).sum() + (last * self.d.clone()).sum()
    }
}

/// Per step: `‖∂L/∂h_t‖` over the batch, and the RMS over examples of `‖h_t‖`.
struct Norms {
    grad_h: Vec<f32>,
    h: Vec<f32>,
}

/// One layer stepped by hand, `h_t = cell(x_t, h_{t−1}) + e_t`: the leaf is
/// in the state the next step reads, so its gradient is the total one.
fn reference(
    x: &Tensor<Ad, 3>,
    loss: &Loss,
    mut cell: impl FnMut(Tensor<Ad, 2>, Tensor<Ad, 2>) -> Tensor<Ad, 2>,
) -> Norms {
    let mut leaves = Vec::new();
    let mut states: Vec<Tensor<Ad, 2>> = Vec::new();
    let mut h = Tensor::<Ad, 2>::zeros([BATCH, HIDDEN], &Default::default());
    for t in 0..STEPS {
        let x_t = x
            .clone()
            .slice([0..BATCH, t..t + 1, 0..INPUT])
            .reshape([BATCH, INPUT]);
        let e = Tensor::<Ad, 2>::zeros([BATCH, HIDDEN], &Default::default()).require_grad();
        h = cell(x_t, h) + e.clone();
        leaves.push(e);
        states.push(h.clone());
    }
    let last = states[STEPS - 1].clone();
    let all = Tensor::stack::<3>(states.clone(), 1);
    let grads = loss.of(all, last).backward();
    let norm = |t: Tensor<NdArray, 2>| -> f32 {
        let v: Vec<f32> = t.into_data().into_vec().expect("f32");
        v.iter().map(|x| x * x).sum::<f32>().sqrt()
    };
    Norms {
        grad_h: leaves
            .iter()
            .map(|e| norm(e.grad(&grads).expect("leaf gradient")))
            .collect(),
        h: states
            .iter()
            .map(|h| norm(h.clone().inner()) / (BATCH as f32).sqrt())
            .collect(),
    }
}

fn close(what: &str, got: &[f32], want: &[f32]) {
    assert_eq!(got.len(), want.len(), "{what}: {got:?} vs {want:?}");
    for (t, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            (g - w).abs() <= 1e-5 * w.abs().max(1e-3),
            "{what}, step {t}: fused {g} vs per-step {w}"
        );
    }
}

fn params(specs: Vec<initlab_models::ParamSpec>, seed: u64, scale: f32) -> HostParams {
    HostParams {
        tensors: specs
            .into_iter()
            .enumerate()
            .map(|(i, s)| {
                let n = s.shape.iter().product();
                (s, stream(seed + i as u64, n, scale))
            })
            .collect(),
    }
}

fn probed(model: &Rnn<Ad>, x: &Tensor<Ad, 3>, loss: &Loss) -> Vec<initlab_models::StepNorms> {
    let probe = BpttProbe::new();
    let out = model
        .forward_autodiff_probed(x.clone(), Some(&probe))
        .expect("forward");
    let _ = loss.of(out.states, out.last).backward();
    probe.layers()
}

#[test]
fn elman_probe_matches_per_step_gradients() {
    for (nonlinearity, scale) in [(Nonlinearity::Tanh, 0.6), (Nonlinearity::Relu, 0.4)] {
        let config = RnnConfig {
            input: INPUT,
            hidden: HIDDEN,
            layers: 1,
            nonlinearity,
            bias: true,
            implementation: RecurrentImpl::Fused,
        };
        let host = params(config.param_specs(), 11, scale);
        let model: Rnn<Ad> = config.init(&host, &Default::default()).expect("init");
        let x = tensor(stream(7, BATCH * STEPS * INPUT, 1.0), [BATCH, STEPS, INPUT]);
        let loss = Loss::new(3);
        let fused = probed(&model, &x, &loss);
        assert_eq!(fused.len(), 1);
        let get =
            |name: &str, shape: [usize; 2]| tensor(host.get(name).expect(name).to_vec(), shape);
        let (w_ih, w_hh) = (
            get("weight_ih_l0", [HIDDEN, INPUT]),
            get("weight_hh_l0", [HIDDEN, HIDDEN]),
        );
        let bias = tensor(host.get("bias_ih_l0").expect("b").to_vec(), [HIDDEN])
            + tensor(host.get("bias_hh_l0").expect("b").to_vec(), [HIDDEN]);
        let want = reference(&x, &loss, |x_t, h| {
            let a = x_t.matmul(w_ih.clone().transpose())
                + h.matmul(w_hh.clone().transpose())
                + bias.clone().unsqueeze();
            match nonlinearity {
                Nonlinearity::Tanh => activation::tanh(a),
                Nonlinearity::Relu => activation::relu(a),
            }
        });
        close(
            &format!("{nonlinearity:?} ‖∂L/∂h_t‖"),
            &fused[0].grad_h,
            &want.grad_h,
        );
        close(&format!("{nonlinearity:?} ‖h_t‖"), &fused[0].h, &want.h);
        // The gradient decays back through time with these small weights:
        // the probe sees the shape, not just the scale.
        assert!(want.grad_h[0] < want.grad_h[STEPS - 1], "{:?}", want.grad_h);
    }
}

#[test]
fn lstm_probe_matches_per_step_gradients() {
    let config = LstmConfig {
        input: INPUT,
        hidden: HIDDEN,
        layers: 1,
        bias: true,
        implementation: RecurrentImpl::Fused,
    };
    let host = params(config.param_specs(), 21, 0.5);
    let model: Rnn<Ad> = config.init(&host, &Default::default()).expect("init");
    let x = tensor(stream(8, BATCH * STEPS * INPUT, 1.0), [BATCH, STEPS, INPUT]);
    let loss = Loss::new(5);
    let fused = probed(&model, &x, &loss);
    let get = |name: &str, shape: [usize; 2]| tensor(host.get(name).expect(name).to_vec(), shape);
    let (w_ih, w_hh) = (
        get("weight_ih_l0", [4 * HIDDEN, INPUT]),
        get("weight_hh_l0", [4 * HIDDEN, HIDDEN]),
    );
    let bias = tensor(host.get("bias_ih_l0").expect("b").to_vec(), [4 * HIDDEN])
        + tensor(host.get("bias_hh_l0").expect("b").to_vec(), [4 * HIDDEN]);
    let mut c = Tensor::<Ad, 2>::zeros([BATCH, HIDDEN], &Default::default());
    let want = reference(&x, &loss, |x_t, h| {
        let a = x_t.matmul(w_ih.clone().transpose())
            + h.matmul(w_hh.clone().transpose())
            + bias.clone().unsqueeze();
        let gate = |k: usize| a.clone().slice([0..BATCH, k * HIDDEN..(k + 1) * HIDDEN]);
        let (i, f) = (activation::sigmoid(gate(0)), activation::sigmoid(gate(1)));
        let (g, o) = (activation::tanh(gate(2)), activation::sigmoid(gate(3)));
        c = f * c.clone() + i * g;
        o * activation::tanh(c.clone())
    });
    close("LSTM ‖∂L/∂h_t‖", &fused[0].grad_h, &want.grad_h);
    close("LSTM ‖h_t‖", &fused[0].h, &want.h);
}

#[test]
fn every_layer_of_a_stack_is_probed_and_a_plain_pass_records_nothing() {
    let config = RnnConfig {
        input: INPUT,
        hidden: HIDDEN,
        layers: 2,
        nonlinearity: Nonlinearity::Tanh,
        bias: true,
        implementation: RecurrentImpl::Fused,
    };
    let host = HostParams::sample(
        &config.param_specs(),
        &InitPlan::new("pytorch-rnn-default".parse().expect("spec")),
        4,
    )
    .expect("sample");
    let model: Rnn<Ad> = config.init(&host, &Default::default()).expect("init");
    let x = tensor(stream(9, BATCH * STEPS * INPUT, 1.0), [BATCH, STEPS, INPUT]);
    let layers = probed(&model, &x, &Loss::new(6));
    assert_eq!(layers.len(), 2);
    assert!(layers
        .iter()
        .all(|l| l.grad_h.len() == STEPS && l.h.len() == STEPS));
    // A probe given to no pass stays empty.
    assert!(BpttProbe::new().layers().is_empty());
}
