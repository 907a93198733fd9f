//! The Elman RNN and the LSTM against PyTorch: parameter layout, loss and every
//! gradient, fused and per-step, from a committed fixture
//! (`tests/fixtures/torch_recurrent.json`, written by
//! `scripts/torch_recurrent_fixture.py` with torch's `nn.RNN` / `nn.LSTM`), so
//! the test needs no torch.
//!
//! The fixture's weights, inputs and projections are float32 values; its loss
//! and gradients were computed from them in float64, so the error measured here
//! is this crate's float32 arithmetic alone.

use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use initlab_models::{
    tensor_to_vec, HostParams, Lstm, LstmConfig, Nonlinearity, ParamSpec, RecurrentImpl, Rnn,
    RnnConfig, RnnLayer, RnnOutput,
};
use serde::Deserialize;

mod common;

type Ad = Autodiff<NdArray>;

/// Bound on every gradient's max abs error over its max abs value, and on the
/// loss's error over max(|loss|, 1). PyTorch's own float32 run is within
/// 1.5e-7 to 4.3e-7 of the float64 reference on these cases
/// (`torch_f32_max_rel_err` in the fixture); 1e-5 leaves room for a different
/// but correct summation order while a wrong formula misses by far more.
const TOL: f64 = 1e-5;

#[derive(Deserialize)]
struct Fixture {
    torch_version: String,
    cases: Vec<Case>,
}

#[derive(Deserialize)]
struct Case {
    name: String,
    /// `RNN` or `LSTM`.
    module: String,
    /// For `RNN` only.
    nonlinearity: Option<Nonlinearity>,
    num_layers: usize,
    bias: bool,
    batch: usize,
    steps: usize,
    input: usize,
    hidden: usize,
    /// In PyTorch's `named_parameters()` order.
    params: Vec<Named>,
    x: Named,
    c_states: Named,
    d_last: Named,
    loss: f64,
    /// Every parameter's gradient in `params` order, then `x`'s.
    grads: Vec<Grad>,
    torch_f32_max_rel_err: f64,
}

#[derive(Deserialize)]
struct Named {
    #[serde(default)]
    name: String,
    shape: Vec<usize>,
    values: Vec<f64>,
}

#[derive(Deserialize)]
struct Grad {
    name: String,
    values: Vec<f64>,
}

fn fixture() -> Fixture {
    serde_json::from_str(include_str!("fixtures/torch_recurrent.json")).expect("fixture parses")
}

fn case(name: &str) -> Case {
    fixture()
        .cases
        .into_iter()
        .find(|c| c.name == name)
        .unwrap_or_else(|| panic!("fixture has no case `{name}`"))
}

/// The values as f32, checking that the fixture wrote float32 numbers
/// (otherwise the float64 reference would be of slightly different inputs).
/// serde_json's default float parser (no `float_roundtrip` feature) may land
/// an f64 ulp or two off the written value, hence 1e-15 rather than equality:
/// still eight orders below half a float32 ulp, so `v as f32` is the value
/// PyTorch used.
fn exact_f32(values: &[f64], what: &str) -> Vec<f32> {
    values
        .iter()
        .map(|&v| {
            let f = v as f32;
            assert!(
                (f as f64 - v).abs() <= 1e-15 * v.abs(),
                "{what}: {v} is not a float32 value"
            );
            f
        })
        .collect()
}

enum Config {
    Rnn(RnnConfig),
    Lstm(LstmConfig),
}

enum Model<B: Backend> {
    Rnn(Rnn<B>),
    Lstm(Lstm<B>),
}

impl Case {
    fn config(&self, implementation: RecurrentImpl) -> Config {
        match self.module.as_str() {
            "RNN" => Config::Rnn(RnnConfig {
                input: self.input,
                hidden: self.hidden,
                layers: self.num_layers,
                nonlinearity: self
                    .nonlinearity
                    .expect("an RNN case names its nonlinearity"),
                bias: self.bias,
                implementation,
            }),
            "LSTM" => Config::Lstm(LstmConfig {
                input: self.input,
                hidden: self.hidden,
                layers: self.num_layers,
                bias: self.bias,
                implementation,
            }),
            other => panic!("{}: unknown module `{other}`", self.name),
        }
    }

    fn fixture_params(&self) -> Vec<Vec<f32>> {
        self.params
            .iter()
            .map(|p| exact_f32(&p.values, &format!("{} {}", self.name, p.name)))
            .collect()
    }

    /// `HostParams` from the config's specs and `values` (in fixture order),
    /// after checking that the specs have PyTorch's names and shapes in
    /// PyTorch's order: the layout test.
    fn host_params(&self, specs: Vec<ParamSpec>, values: &[Vec<f32>]) -> HostParams {
        let ours: Vec<(&str, &[usize])> = specs
            .iter()
            .map(|s| (s.name.as_str(), s.shape.as_slice()))
            .collect();
        let torch: Vec<(&str, &[usize])> = self
            .params
            .iter()
            .map(|p| (p.name.as_str(), p.shape.as_slice()))
            .collect();
        assert_eq!(ours, torch, "{}: param_specs() vs PyTorch", self.name);
        HostParams {
            tensors: specs.into_iter().zip(values.iter().cloned()).collect(),
        }
    }

    fn model<B: Backend>(&self, values: &[Vec<f32>], implementation: RecurrentImpl) -> Model<B> {
        let device = Default::default();
        match self.config(implementation) {
            Config::Rnn(c) => Model::Rnn(
                c.init(&self.host_params(c.param_specs(), values), &device)
                    .expect("init RNN"),
            ),
            Config::Lstm(c) => Model::Lstm(
                c.init(&self.host_params(c.param_specs(), values), &device)
                    .expect("init LSTM"),
            ),
        }
    }

    fn tensor<B: Backend, const D: usize>(&self, t: &Named, what: &str) -> Tensor<B, D> {
        let shape: [usize; D] = t.shape.clone().try_into().expect("rank");
        Tensor::from_data(
            TensorData::new(
                exact_f32(&t.values, &format!("{} {what}", self.name)),
                shape,
            ),
            &Default::default(),
        )
    }

    /// Loss and the named gradients (PyTorch names, then `x`) for parameter
    /// values `values`.
    fn run(&self, values: &[Vec<f32>], implementation: RecurrentImpl) -> Run {
        let model = self.model::<Ad>(values, implementation);
        let device = Default::default();
        assert_eq!(
            model.runs_fused(&device),
            implementation == RecurrentImpl::Fused,
            "{}: {implementation:?} takes its own path",
            self.name
        );
        let x = self.tensor::<Ad, 3>(&self.x, "x").require_grad();
        let out = model.forward(x.clone());
        assert_eq!(out.states.dims(), [self.batch, self.steps, self.hidden]);
        let c = self.tensor::<Ad, 3>(&self.c_states, "c_states");
        let d = self.tensor::<Ad, 2>(&self.d_last, "d_last");
        let loss = (out.states * c).sum() + (out.last * d).sum();
        let value = tensor_to_vec(loss.clone())[0];
        let grads = loss.backward();
        let named = common::named_grads(model.layers(), &x, &grads);
        Run {
            loss: value,
            grads: named,
        }
    }

    fn loss_err(&self, loss: f32) -> f64 {
        (loss as f64 - self.loss).abs() / self.loss.abs().max(1.0)
    }

    /// The largest of the errors [`check`] bounds by `TOL`: loss and every gradient.
    fn miss(&self, run: &Run) -> f64 {
        run.grads
            .iter()
            .zip(&self.grads)
            .map(|((_, g), reference)| rel_err(g, &reference.values))
            .fold(self.loss_err(run.loss), f64::max)
    }
}

impl<B: AutodiffBackend> Model<B> {
    fn forward(&self, x: Tensor<B, 3>) -> RnnOutput<B> {
        match self {
            Model::Rnn(m) => m.forward_autodiff(x),
            Model::Lstm(m) => m.forward_autodiff(x),
        }
        .expect("forward")
    }

    fn runs_fused(&self, device: &B::Device) -> bool {
        match self {
            Model::Rnn(m) => m.runs_fused(device),
            Model::Lstm(m) => m.runs_fused(device),
        }
    }

    fn layers(&self) -> &[RnnLayer<B>] {
        match self {
            Model::Rnn(m) => &m.layers,
            Model::Lstm(m) => &m.layers,
        }
    }
}

struct Run {
    loss: f32,
    grads: Vec<(String, Vec<f32>)>,
}

/// Max |a − b| over max |b|: the error relative to the gradient's scale.
fn rel_err(a: &[f32], b: &[f64]) -> f64 {
    assert_eq!(a.len(), b.len(), "gradient sizes");
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - y).abs()));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

/// Runs `name` fused and per-step against PyTorch.
fn check(name: &str) {
    let c = case(name);
    let values = c.fixture_params();
    let mut worst = [0.0f64; 2];
    for (k, implementation) in [RecurrentImpl::Fused, RecurrentImpl::PerStep]
        .into_iter()
        .enumerate()
    {
        let run = c.run(&values, implementation);
        let label = format!("{name} ({implementation:?})");
        let err = c.loss_err(run.loss);
        assert!(
            err <= TOL,
            "{label}: loss {} vs PyTorch {} (error {err:e} > {TOL:e})",
            run.loss,
            c.loss
        );
        let ours: Vec<&str> = run.grads.iter().map(|(n, _)| n.as_str()).collect();
        let torch: Vec<&str> = c.grads.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(ours, torch, "{label}: gradient names");
        for ((param, g), reference) in run.grads.iter().zip(&c.grads) {
            let err = rel_err(g, &reference.values);
            worst[k] = worst[k].max(err);
            assert!(
                err <= TOL,
                "{label}: d{param} off by {err:e} of its max abs (tolerance {TOL:e})"
            );
        }
        eprintln!(
            "{label}: loss error {:e}, worst gradient error {:e} (torch f32: {:e})",
            err, worst[k], c.torch_f32_max_rel_err
        );
    }
}

#[test]
fn rnn_tanh_1_layer_matches_pytorch() {
    check("rnn_tanh_1_layer");
}

#[test]
fn rnn_relu_2_layers_matches_pytorch() {
    check("rnn_relu_2_layers");
}

#[test]
fn rnn_tanh_no_bias_matches_pytorch() {
    check("rnn_tanh_no_bias");
}

#[test]
fn lstm_1_layer_matches_pytorch() {
    check("lstm_1_layer");
}

#[test]
fn lstm_2_layers_matches_pytorch() {
    check("lstm_2_layers");
}

#[test]
fn fixture_covers_every_case_and_is_from_torch_2() {
    let f = fixture();
    assert!(f.torch_version.starts_with("2."), "{}", f.torch_version);
    let names: Vec<&str> = f.cases.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "rnn_tanh_1_layer",
            "rnn_relu_2_layers",
            "rnn_tanh_no_bias",
            "lstm_1_layer",
            "lstm_2_layers"
        ]
    );
    for c in &f.cases {
        assert_eq!(
            c.grads.len(),
            c.params.len() + 1,
            "{}: a gradient per parameter and x",
            c.name
        );
        assert!(c.torch_f32_max_rel_err < TOL / 10.0, "{}", c.name);
    }
}

/// Swaps gate blocks `a` and `b` (rows `a·H..(a+1)·H`) in every parameter of
/// layer 0: what reading PyTorch's `i, f, g, o` in another order amounts to.
fn swap_gates(c: &Case, values: &mut [Vec<f32>], a: usize, b: usize) {
    let h = c.hidden;
    for (p, v) in c.params.iter().zip(values.iter_mut()) {
        if !p.name.ends_with("_l0") {
            continue;
        }
        let cols = p.shape.get(1).copied().unwrap_or(1);
        assert_eq!(p.shape[0], 4 * h, "{}", p.name);
        for r in 0..h {
            for j in 0..cols {
                v.swap((a * h + r) * cols + j, (b * h + r) * cols + j);
            }
        }
    }
}

/// The controls: with PyTorch's gates read in any other order, or `W_hh`
/// read transposed, the loss alone, and the loss or some gradient, miss
/// PyTorch's by far more than the tolerance, so the checks above would fail on
/// such a bug.
#[test]
fn a_wrong_gate_order_or_transposed_weight_misses_by_far_more_than_the_tolerance() {
    let mut smallest = [f64::INFINITY; 2];
    let mut control = |c: &Case, values: &[Vec<f32>], what: &str| {
        let run = c.run(values, RecurrentImpl::Fused);
        let (loss, miss) = (c.loss_err(run.loss), c.miss(&run));
        smallest = [smallest[0].min(loss), smallest[1].min(miss)];
        // Gate swaps move the loss by ≥ 2e-2; the relu case's transposed W_hh
        // by 1.2e-3, its gradients by far more.
        assert!(
            loss > 100.0 * TOL,
            "{}: {what} moves the loss by only {loss:e}",
            c.name
        );
        assert!(
            miss > 1000.0 * TOL,
            "{}: {what} misses by only {miss:e}",
            c.name
        );
    };
    for name in ["lstm_1_layer", "lstm_2_layers"] {
        let c = case(name);
        for a in 0..4 {
            for b in a + 1..4 {
                let mut values = c.fixture_params();
                swap_gates(&c, &mut values, a, b);
                control(&c, &values, &format!("gates {a} and {b} swapped"));
            }
        }
    }
    for name in ["rnn_tanh_1_layer", "rnn_relu_2_layers", "rnn_tanh_no_bias"] {
        let c = case(name);
        let mut values = c.fixture_params();
        let w_hh = c
            .params
            .iter()
            .position(|p| p.name == "weight_hh_l0")
            .expect("weight_hh_l0");
        let h = c.hidden;
        let original = values[w_hh].clone();
        for r in 0..h {
            for j in 0..h {
                values[w_hh][r * h + j] = original[j * h + r];
            }
        }
        control(&c, &values, "W_hh transposed");
    }
    eprintln!(
        "smallest error under a layout bug: loss {:e}, loss or gradient {:e} (tolerance {TOL:e})",
        smallest[0], smallest[1]
    );
}
