//! The Elman RNN: the fused op against the per-step reference, both against
//! central finite differences in f64, and the parameter layout.

use burn::backend::autodiff::checkpoint::strategy::BalancedCheckpointing;
use burn::backend::{Autodiff, NdArray};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use initlab_models::{
    tensor_to_vec, HostParams, InitPlan, Lstm, LstmConfig, Nonlinearity, ParamSpec, RecurrentImpl,
    Rnn, RnnConfig, RnnOutput,
};

mod common;

type Ad = Autodiff<NdArray>;

/// A deterministic U(-1, 1) stream (a 64-bit LCG), so the tests need no RNG crate.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 11) as f64 / (1u64 << 53) as f64) * 2.0 - 1.0
    }

    fn vec(&mut self, n: usize, scale: f64) -> Vec<f64> {
        (0..n).map(|_| self.next() * scale).collect()
    }
}

#[derive(Clone, Copy, Debug)]
enum Recurrent {
    /// 0.01·I: gradients vanish after a few steps.
    SmallIdentity,
    /// I: gradients flow through every step (the IRNN).
    Identity,
    /// U(±1/√H).
    Random,
}

/// One test instance: config (an RNN's unless said), parameters (f64,
/// PyTorch layout, by name), a batch and the loss weights.
struct Case<C = RnnConfig> {
    config: C,
    params: Params,
    batch: usize,
    steps: usize,
    x: Vec<f64>,
    /// Loss = Σ states·c_states + Σ last·c_last.
    c_states: Vec<f64>,
    c_last: Vec<f64>,
}

fn case(
    nonlinearity: Nonlinearity,
    layers: usize,
    recurrent: Recurrent,
    steps: usize,
    (batch, input, hidden): (usize, usize, usize),
    seed: u64,
) -> Case {
    let config = RnnConfig {
        input,
        hidden,
        layers,
        nonlinearity,
        bias: true,
        implementation: RecurrentImpl::Fused,
    };
    let mut rng = Lcg(seed);
    let scale = 1.0 / (hidden as f64).sqrt();
    let params = config
        .param_specs()
        .into_iter()
        .map(|spec| {
            let n: usize = spec.shape.iter().product();
            let values = if spec.group == "recurrent" {
                let diag = match recurrent {
                    Recurrent::SmallIdentity => Some(0.01),
                    Recurrent::Identity => Some(1.0),
                    Recurrent::Random => None,
                };
                match diag {
                    Some(d) => (0..n)
                        .map(|k| if k / hidden == k % hidden { d } else { 0.0 })
                        .collect(),
                    None => rng.vec(n, scale),
                }
            } else {
                rng.vec(n, scale)
            };
            (spec.name, values)
        })
        .collect();
    // With I and ReLU the states add up over time: keep the inputs small
    // enough that 150 steps stay far from f32 overflow.
    let x = rng.vec(batch * steps * input, 0.5);
    let c_states = rng.vec(batch * steps * hidden, 1.0 / steps as f64);
    let c_last = rng.vec(batch * hidden, 1.0);
    Case {
        config,
        params,
        batch,
        steps,
        x,
        c_states,
        c_last,
    }
}

fn to_f32(v: &[f64]) -> Vec<f32> {
    v.iter().map(|&x| x as f32).collect()
}

impl Case {
    fn host_params(&self) -> HostParams {
        host_params(self.config.param_specs(), &self.params)
    }

    fn model<B: Backend>(&self) -> Rnn<B> {
        self.config
            .init(&self.host_params(), &Default::default())
            .expect("init")
    }

    fn input<B: Backend>(&self) -> Tensor<B, 3> {
        Tensor::from_data(
            TensorData::new(to_f32(&self.x), [self.batch, self.steps, self.config.input]),
            &Default::default(),
        )
    }

    fn loss<B: Backend>(&self, out: RnnOutput<B>) -> Tensor<B, 1> {
        let device = Default::default();
        let h = self.config.hidden;
        let cs = Tensor::<B, 3>::from_data(
            TensorData::new(to_f32(&self.c_states), [self.batch, self.steps, h]),
            &device,
        );
        let cl = Tensor::<B, 2>::from_data(
            TensorData::new(to_f32(&self.c_last), [self.batch, h]),
            &device,
        );
        (out.states * cs).sum() + (out.last * cl).sum()
    }

    /// Loss and the gradients of every parameter and of the input, named.
    fn gradients(&self, fused: bool) -> (f32, Vec<(String, Vec<f32>)>) {
        self.gradients_on::<Ad>(fused)
    }

    fn gradients_on<A: AutodiffBackend>(&self, fused: bool) -> (f32, Vec<(String, Vec<f32>)>) {
        let model: Rnn<A> = self.model();
        let x = self.input::<A>().require_grad();
        let out = if fused {
            assert!(model.runs_fused(&Default::default()), "fused path taken");
            model.forward_autodiff(x.clone())
        } else {
            model.forward_per_step(x.clone())
        }
        .expect("forward");
        let loss = self.loss(out);
        let value = tensor_to_vec(loss.clone())[0];
        let grads = loss.backward();
        (value, common::named_grads(&model.layers, &x, &grads))
    }

    /// The loss in plain f64 Rust, straight from the formula.
    fn loss_f64(&self, params: &[(String, Vec<f64>)], x: &[f64]) -> f64 {
        let c = &self.config;
        let get = |name: String| param(params, &name);
        let reference = Reference {
            batch: self.batch,
            steps: self.steps,
            input: c.input,
            hidden: c.hidden,
            layers: c.layers,
            c_states: &self.c_states,
            c_last: &self.c_last,
        };
        reference.loss(x, get, |[w_ih, w_hh, b_ih, b_hh], xt, h, _| {
            let width = xt.len();
            let h_n = h.len();
            let next: Vec<f64> = (0..h_n)
                .map(|o| {
                    let mut a = b_ih[o] + b_hh[o];
                    a += (0..width).map(|j| w_ih[o * width + j] * xt[j]).sum::<f64>();
                    a += (0..h_n).map(|j| w_hh[o * h_n + j] * h[j]).sum::<f64>();
                    match c.nonlinearity {
                        Nonlinearity::Tanh => a.tanh(),
                        Nonlinearity::Relu => a.max(0.0),
                    }
                })
                .collect();
            h.copy_from_slice(&next);
        })
    }
}

/// What the f64 references of the RNN and the LSTM share: the stack of
/// layers run over a batch, and the loss Σ states·c_states + Σ last·c_last.
struct Reference<'a> {
    batch: usize,
    steps: usize,
    input: usize,
    hidden: usize,
    layers: usize,
    c_states: &'a [f64],
    c_last: &'a [f64],
}

impl Reference<'_> {
    /// The loss of `x` `[batch, steps, input]` through the layers whose
    /// PyTorch-named weights `get` returns; `step(weights, x_t, h, c)`
    /// advances one example's hidden state `h` (and cell state `c`, which
    /// starts at zero too) by one step.
    fn loss<'p>(
        &self,
        x: &[f64],
        get: impl Fn(String) -> &'p [f64],
        step: impl Fn([&[f64]; 4], &[f64], &mut [f64], &mut [f64]),
    ) -> f64 {
        let (b_n, t_n, h_n) = (self.batch, self.steps, self.hidden);
        let mut seq = x.to_vec(); // [b, t, in]
        let mut width = self.input;
        for l in 0..self.layers {
            let weights = [
                get(format!("weight_ih_l{l}")),
                get(format!("weight_hh_l{l}")),
                get(format!("bias_ih_l{l}")),
                get(format!("bias_hh_l{l}")),
            ];
            let mut out = vec![0.0; b_n * t_n * h_n];
            for b in 0..b_n {
                let (mut h, mut c) = (vec![0.0; h_n], vec![0.0; h_n]);
                for t in 0..t_n {
                    let xt = &seq[(b * t_n + t) * width..(b * t_n + t + 1) * width];
                    step(weights, xt, &mut h, &mut c);
                    out[(b * t_n + t) * h_n..(b * t_n + t + 1) * h_n].copy_from_slice(&h);
                }
            }
            seq = out;
            width = h_n;
        }
        let mut loss: f64 = seq.iter().zip(self.c_states).map(|(a, b)| a * b).sum();
        for b in 0..b_n {
            for o in 0..h_n {
                loss += seq[(b * t_n + t_n - 1) * h_n + o] * self.c_last[b * h_n + o];
            }
        }
        loss
    }
}

/// Parameters by PyTorch name, f64, PyTorch layout.
type Params = Vec<(String, Vec<f64>)>;

/// The values of parameter `name`.
fn param<'a>(params: &'a [(String, Vec<f64>)], name: &str) -> &'a [f64] {
    &params.iter().find(|(n, _)| n == name).expect("param").1
}

/// `params` as f32 host parameters of `specs`, in the same order.
fn host_params(specs: Vec<ParamSpec>, params: &[(String, Vec<f64>)]) -> HostParams {
    HostParams {
        tensors: specs
            .into_iter()
            .zip(params)
            .map(|(spec, (_, v))| (spec, to_f32(v)))
            .collect(),
    }
}

/// Asserts the fused op's loss and gradients agree with the per-step
/// reference's: the loss to 1e-5 relative, each gradient to 1e-5 of its max.
/// The worst gradient error.
fn assert_fused_matches_per_step(
    label: &str,
    (loss_f, grads_f): (f32, Vec<(String, Vec<f32>)>),
    (loss_r, grads_r): (f32, Vec<(String, Vec<f32>)>),
) -> f64 {
    assert!(
        (loss_f - loss_r).abs() <= 1e-5 * loss_r.abs().max(1.0),
        "{label}: loss fused {loss_f} vs per-step {loss_r}"
    );
    let mut worst = 0.0f64;
    for ((name, gf), (_, gr)) in grads_f.iter().zip(&grads_r) {
        let err = rel_err(gf, gr);
        worst = worst.max(err);
        assert!(err <= 1e-5, "{label}: d{name} off by {err:e} of its max");
    }
    worst
}

/// Asserts the f32 `loss` and `grads` (`x` and every parameter) agree with
/// the f64 reference `loss_f64(params, x)`: the loss to 1e-5 relative, each
/// gradient with central differences to 1e-5 of its max (truncation error
/// ~eps², rounding ~1e-10/eps).
fn assert_matches_f64(
    label: &str,
    (loss, grads): (f32, Vec<(String, Vec<f32>)>),
    params: &[(String, Vec<f64>)],
    x: &[f64],
    loss_f64: impl Fn(&[(String, Vec<f64>)], &[f64]) -> f64,
) {
    let eps = 1e-6;
    let exact = loss_f64(params, x);
    assert!(
        (loss as f64 - exact).abs() <= 1e-5 * exact.abs().max(1.0),
        "{label}: loss {loss} vs f64 {exact}"
    );
    for (name, g) in &grads {
        let fd = if name == "x" {
            central_differences(x, eps, |x| loss_f64(params, x))
        } else {
            let p = params.iter().position(|(n, _)| n == name).expect("param");
            central_differences(&params[p].1, eps, |v| {
                let mut params = params.to_vec();
                params[p].1 = v.to_vec();
                loss_f64(&params, x)
            })
        };
        let err = rel_err(g, &fd);
        assert!(
            err <= 1e-5,
            "{label}: d{name} off by {err:e}\n{g:?}\n{fd:?}"
        );
    }
}

/// `∂f/∂v_i` for every `i` by central differences in f64.
fn central_differences(v: &[f64], eps: f64, f: impl Fn(&[f64]) -> f64) -> Vec<f32> {
    (0..v.len())
        .map(|i| {
            let (mut up, mut down) = (v.to_vec(), v.to_vec());
            up[i] += eps;
            down[i] -= eps;
            ((f(&up) - f(&down)) / (2.0 * eps)) as f32
        })
        .collect()
}

/// Max |a − b| over max |b|: the error relative to the gradient's scale.
fn rel_err(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0.0f64, |m, v| m.max(v.abs() as f64));
    let diff = a
        .iter()
        .zip(b)
        .fold(0.0f64, |m, (x, y)| m.max((*x as f64 - *y as f64).abs()));
    if scale == 0.0 {
        diff
    } else {
        diff / scale
    }
}

#[test]
fn fused_matches_per_step_reference() {
    let mut seed = 1;
    let mut worst = 0.0f64;
    for nonlinearity in [Nonlinearity::Tanh, Nonlinearity::Relu] {
        for layers in [1, 2] {
            for recurrent in [
                Recurrent::SmallIdentity,
                Recurrent::Identity,
                Recurrent::Random,
            ] {
                for steps in [1, 7, 150] {
                    seed += 1;
                    let c = case(nonlinearity, layers, recurrent, steps, (3, 5, 8), seed);
                    let label = format!("{nonlinearity:?} layers={layers} {recurrent:?} T={steps}");
                    let err = assert_fused_matches_per_step(
                        &label,
                        c.gradients(true),
                        c.gradients(false),
                    );
                    worst = worst.max(err);
                }
            }
        }
    }
    eprintln!("worst gradient error relative to its max: {worst:e}");
}

#[test]
fn fused_matches_per_step_over_784_pixel_steps() {
    // Sequential MNIST pixel by pixel: one input, 784 steps.
    for nonlinearity in [Nonlinearity::Tanh, Nonlinearity::Relu] {
        let c = case(nonlinearity, 1, Recurrent::Identity, 784, (2, 1, 16), 99);
        assert_fused_matches_per_step(
            &format!("{nonlinearity:?} T=784"),
            c.gradients(true),
            c.gradients(false),
        );
    }
}

#[test]
fn fused_gradients_match_f64_finite_differences() {
    for (k, nonlinearity) in [Nonlinearity::Tanh, Nonlinearity::Relu]
        .into_iter()
        .enumerate()
    {
        for layers in [1, 2] {
            let c = case(
                nonlinearity,
                layers,
                Recurrent::Random,
                4,
                (2, 2, 3),
                50 + k as u64 * 2 + layers as u64,
            );
            assert_matches_f64(
                &format!("{nonlinearity:?} layers={layers}"),
                c.gradients(true),
                &c.params,
                &c.x,
                |params, x| c.loss_f64(params, x),
            );
        }
    }
}

#[test]
fn untracked_fused_forward_matches_per_step() {
    let c = case(Nonlinearity::Tanh, 2, Recurrent::Random, 30, (4, 3, 6), 7);
    let model: Rnn<NdArray> = c.model();
    let fused = model.forward(c.input()).expect("forward");
    let reference = model.forward_per_step(c.input()).expect("forward");
    let err = rel_err(
        &tensor_to_vec(fused.states),
        &tensor_to_vec(reference.states),
    );
    assert!(err <= 1e-6, "states off by {err:e}");
    let err = rel_err(&tensor_to_vec(fused.last), &tensor_to_vec(reference.last));
    assert!(err <= 1e-6, "last off by {err:e}");
}

#[test]
fn parameters_follow_pytorch_names_shapes_and_groups() {
    let config = RnnConfig {
        input: 28,
        hidden: 128,
        layers: 2,
        nonlinearity: Nonlinearity::Tanh,
        bias: true,
        implementation: RecurrentImpl::Auto,
    };
    let specs = config.param_specs();
    let got: Vec<(&str, &str, Vec<usize>)> = specs
        .iter()
        .map(|s| (s.name.as_str(), s.group, s.shape.clone()))
        .collect();
    assert_eq!(
        got,
        vec![
            ("weight_ih_l0", "input", vec![128, 28]),
            ("weight_hh_l0", "recurrent", vec![128, 128]),
            ("bias_ih_l0", "bias", vec![128]),
            ("bias_hh_l0", "bias", vec![128]),
            ("weight_ih_l1", "input", vec![128, 128]),
            ("weight_hh_l1", "recurrent", vec![128, 128]),
            ("bias_ih_l1", "bias", vec![128]),
            ("bias_hh_l1", "bias", vec![128]),
        ]
    );
    // PyTorch's default, U(±1/√H), for every parameter including the biases.
    let default = "pytorch-linear-default".parse().expect("spec");
    let host = HostParams::sample(&specs, &InitPlan::new(default), 5).expect("sample");
    let bound = 1.0 / 128f32.sqrt();
    for (spec, values) in &host.tensors {
        if spec.group != "input" || spec.name.ends_with("l1") {
            assert!(
                values.iter().all(|v| v.abs() <= bound),
                "{} beyond 1/√H",
                spec.name
            );
        }
    }
    let no_bias = RnnConfig {
        bias: false,
        ..config
    };
    assert_eq!(no_bias.param_specs().len(), 4);
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let c = case(Nonlinearity::Tanh, 1, Recurrent::Random, 3, (2, 3, 4), 3);
    let model: Rnn<NdArray> = c.model();
    let wrong_width = Tensor::<NdArray, 3>::zeros([2, 3, 5], &Default::default());
    assert!(model.forward(wrong_width).is_err());
    let no_steps = Tensor::<NdArray, 3>::zeros([2, 0, 3], &Default::default());
    assert!(model.forward(no_steps).is_err());
    let zero = RnnConfig {
        hidden: 0,
        ..c.config.clone()
    };
    assert!(zero
        .init::<NdArray>(&c.host_params(), &Default::default())
        .is_err());
}

#[test]
fn auto_fuses_on_ndarray_and_per_step_can_be_forced() {
    let c = case(Nonlinearity::Relu, 1, Recurrent::Identity, 5, (2, 2, 4), 11);
    let model: Rnn<Ad> = c.model();
    let device = Default::default();
    let auto = model.with_implementation(RecurrentImpl::Auto);
    assert!(auto.runs_fused(&device));
    let per_step = auto.with_implementation(RecurrentImpl::PerStep);
    assert!(!per_step.runs_fused(&device));
}

#[test]
fn fused_runs_under_balanced_checkpointing_and_without_bias() {
    type Balanced = Autodiff<NdArray, BalancedCheckpointing>;
    let c = case(Nonlinearity::Tanh, 2, Recurrent::Random, 20, (3, 4, 5), 21);
    assert_fused_matches_per_step(
        "checkpointed",
        c.gradients_on::<Balanced>(true),
        c.gradients_on::<Balanced>(false),
    );
    let mut c = case(Nonlinearity::Relu, 2, Recurrent::Random, 20, (3, 4, 5), 22);
    c.config.bias = false;
    c.params.retain(|(name, _)| !name.starts_with("bias"));
    let fused = c.gradients(true);
    assert_eq!(fused.1.len(), 5, "two weights per layer and the input");
    assert_fused_matches_per_step("no bias", fused, c.gradients(false));
}

/// An LSTM instance.
type LstmCase = Case<LstmConfig>;

fn lstm_case(layers: usize, steps: usize, w_scale: f64, seed: u64) -> LstmCase {
    let (batch, input, hidden) = (3, 4, 5);
    let config = LstmConfig {
        input,
        hidden,
        layers,
        bias: true,
        implementation: RecurrentImpl::Fused,
    };
    let mut rng = Lcg(seed);
    let params = config
        .param_specs()
        .into_iter()
        .map(|s| {
            let n = s.shape.iter().product();
            (s.name, rng.vec(n, w_scale))
        })
        .collect();
    LstmCase {
        x: rng.vec(batch * steps * input, 1.0),
        c_states: rng.vec(batch * steps * hidden, 1.0 / steps as f64),
        c_last: rng.vec(batch * hidden, 1.0),
        config,
        params,
        batch,
        steps,
    }
}

impl LstmCase {
    fn gradients(&self, fused: bool) -> (f32, Vec<(String, Vec<f32>)>) {
        let device = Default::default();
        let host = host_params(self.config.param_specs(), &self.params);
        let model: Lstm<Ad> = self.config.init(&host, &device).expect("init");
        let (b, t, h) = (self.batch, self.steps, self.config.hidden);
        let x = Tensor::<Ad, 3>::from_data(
            TensorData::new(to_f32(&self.x), [b, t, self.config.input]),
            &device,
        )
        .require_grad();
        let out = if fused {
            model.forward_autodiff(x.clone())
        } else {
            model.forward_per_step(x.clone())
        }
        .expect("forward");
        let cs =
            Tensor::<Ad, 3>::from_data(TensorData::new(to_f32(&self.c_states), [b, t, h]), &device);
        let cl = Tensor::<Ad, 2>::from_data(TensorData::new(to_f32(&self.c_last), [b, h]), &device);
        let loss = (out.states * cs).sum() + (out.last * cl).sum();
        let value = tensor_to_vec(loss.clone())[0];
        let grads = loss.backward();
        (value, common::named_grads(&model.layers, &x, &grads))
    }

    /// PyTorch's LSTM equations in plain f64.
    fn loss_f64(&self, params: &[(String, Vec<f64>)], x: &[f64]) -> f64 {
        let sig = |v: f64| 1.0 / (1.0 + (-v).exp());
        let get = |name: String| param(params, &name);
        let reference = Reference {
            batch: self.batch,
            steps: self.steps,
            input: self.config.input,
            hidden: self.config.hidden,
            layers: self.config.layers,
            c_states: &self.c_states,
            c_last: &self.c_last,
        };
        reference.loss(x, get, |[w_ih, w_hh, b_ih, b_hh], xt, h, c| {
            let width = xt.len();
            let h_n = h.len();
            let pre: Vec<f64> = (0..4 * h_n)
                .map(|q| {
                    b_ih[q]
                        + b_hh[q]
                        + (0..width).map(|j| w_ih[q * width + j] * xt[j]).sum::<f64>()
                        + (0..h_n).map(|j| w_hh[q * h_n + j] * h[j]).sum::<f64>()
                })
                .collect();
            for k in 0..h_n {
                let (i, f) = (sig(pre[k]), sig(pre[h_n + k]));
                let (g, o) = (pre[2 * h_n + k].tanh(), sig(pre[3 * h_n + k]));
                c[k] = f * c[k] + i * g;
                h[k] = o * c[k].tanh();
            }
        })
    }
}

#[test]
fn fused_lstm_matches_per_step_reference() {
    let mut seed = 200;
    for layers in [1, 2] {
        // Small weights, PyTorch's default scale (1/√5 ≈ 0.45) and large ones
        // that saturate the gates.
        for w_scale in [0.01, 0.45, 2.0] {
            // 784: pixel-by-pixel MNIST, the host kernels' own exp, σ and tanh
            // against the backend's accumulated over every step.
            for steps in [1, 7, 150, 784] {
                seed += 1;
                let c = lstm_case(layers, steps, w_scale, seed);
                let label = format!("LSTM layers={layers} scale={w_scale} T={steps}");
                assert_fused_matches_per_step(&label, c.gradients(true), c.gradients(false));
            }
        }
    }
}

#[test]
fn fused_lstm_gradients_match_f64_finite_differences() {
    for layers in [1, 2] {
        let c = lstm_case(layers, 4, 0.6, 300 + layers as u64);
        assert_matches_f64(
            &format!("LSTM layers={layers}"),
            c.gradients(true),
            &c.params,
            &c.x,
            |params, x| c.loss_f64(params, x),
        );
    }
}

#[test]
fn untracked_fused_lstm_forward_matches_per_step() {
    let c = lstm_case(2, 30, 0.45, 400);
    let host = host_params(c.config.param_specs(), &c.params);
    let device = Default::default();
    let model: Lstm<NdArray> = c.config.init(&host, &device).expect("init");
    let x = || {
        Tensor::<NdArray, 3>::from_data(
            TensorData::new(to_f32(&c.x), [c.batch, c.steps, 4]),
            &device,
        )
    };
    let fused = tensor_to_vec(model.forward(x()).expect("forward").states);
    let reference = tensor_to_vec(model.forward_per_step(x()).expect("forward").states);
    let err = rel_err(&fused, &reference);
    assert!(err <= 1e-6, "states off by {err:e}");
}

/// A small two-layer LSTM for the gate-bias tests: `H = 4`, so gate `k`'s
/// rows are `4k..4k + 4` of each bias.
/// A 2-layer tanh RNN, 3 → 4, for the init-plan tests.
fn small_rnn() -> RnnConfig {
    RnnConfig {
        input: 3,
        hidden: 4,
        layers: 2,
        nonlinearity: Nonlinearity::Tanh,
        bias: true,
        implementation: RecurrentImpl::Auto,
    }
}

fn gate_lstm() -> LstmConfig {
    LstmConfig {
        input: 3,
        hidden: 4,
        layers: 2,
        bias: true,
        implementation: RecurrentImpl::Auto,
    }
}

#[test]
fn lstm_init_is_unchanged_when_no_gate_bias_group_is_named() {
    // Pinned from the sampler before gate-bias groups existed: naming no part
    // group must leave every existing initialization bit-identical.
    let default = "xavier-uniform".parse().expect("spec");
    let plan = InitPlan::new(default)
        .with("recurrent", "orthogonal".parse().expect("spec"))
        .with("bias", "normal(std=0.1)".parse().expect("spec"));
    let lstm = HostParams::sample(&gate_lstm().param_specs(), &plan, 17).expect("sample");
    let rnn_config = small_rnn();
    let default_plan = InitPlan::new("pytorch-linear-default".parse().expect("spec"));
    let rnn = HostParams::sample(&rnn_config.param_specs(), &default_plan, 17).expect("sample");
    let lstm_default =
        HostParams::sample(&gate_lstm().param_specs(), &default_plan, 17).expect("sample");
    assert_eq!(
        lstm.sha256(),
        "d643d294702483d27f8dc287d2df48a1af52b77d6a75c6cbfc40dc50e0ff9713"
    );
    assert_eq!(
        rnn.sha256(),
        "d6699a8c1806ae739b0a8b752325e545a01763dbc439fe2a0456b34b0d0c57b6"
    );
    assert_eq!(
        lstm_default.sha256(),
        "7198b5b1580785b50d8a5beadaa436acfc79833e5ea8a8694c3650d08be8036f"
    );
}

#[test]
fn gate_bias_groups_overwrite_only_their_gates_rows() {
    let config = gate_lstm();
    let h = config.hidden;
    let default = "pytorch-linear-default".parse().expect("spec");
    let base = InitPlan::new(default);
    let forget = base
        .clone()
        .with("gate-bias.f", "constant(value=0.5)".parse().expect("spec"));
    let specs = config.param_specs();
    let a = HostParams::sample(&specs, &base, 23).expect("sample");
    let b = HostParams::sample(&specs, &forget, 23).expect("sample");
    let bound = 1.0 / (h as f32).sqrt();
    for l in 0..config.layers {
        for name in [format!("bias_ih_l{l}"), format!("bias_hh_l{l}")] {
            let (before, after) = (a.get(&name).expect("bias"), b.get(&name).expect("bias"));
            assert_eq!(after.len(), 4 * h);
            assert!(
                after[h..2 * h].iter().all(|&v| v == 0.5),
                "{name}: {after:?}"
            );
            for gate in [0, 2, 3] {
                let rows = gate * h..(gate + 1) * h;
                assert_eq!(
                    after[rows.clone()],
                    before[rows.clone()],
                    "{name} gate {gate}"
                );
                assert!(after[rows].iter().all(|v| v.abs() <= bound && *v != 0.0));
            }
        }
        for name in [format!("weight_ih_l{l}"), format!("weight_hh_l{l}")] {
            assert_eq!(a.get(&name), b.get(&name), "{name} untouched");
        }
    }
    // Each gate group draws on its own stream: a fan-based default on the
    // input gate fits the (H, H) fans and leaves the forget gate's rows alone.
    let both = forget.with(
        "gate-bias.i",
        "pytorch-linear-default".parse().expect("spec"),
    );
    let c = HostParams::sample(&specs, &both, 23).expect("sample");
    let (bb, cb) = (
        b.get("bias_hh_l1").expect("bias"),
        c.get("bias_hh_l1").expect("bias"),
    );
    assert_ne!(cb[..h], bb[..h], "the input gate was redrawn");
    assert!(cb[..h].iter().all(|v| v.abs() <= bound));
    assert_eq!(cb[h..], bb[h..]);
    // The part groups appear on the two LSTM biases of every layer, gates i, f, g, o.
    let parts: Vec<(&str, &str, std::ops::Range<usize>)> = specs
        .iter()
        .flat_map(|s| {
            s.parts
                .iter()
                .map(|p| (s.name.as_str(), p.group, p.rows.clone()))
        })
        .filter(|(name, _, _)| *name == "bias_hh_l0")
        .collect();
    assert_eq!(
        parts,
        vec![
            ("bias_hh_l0", "gate-bias.i", 0..4),
            ("bias_hh_l0", "gate-bias.f", 4..8),
            ("bias_hh_l0", "gate-bias.g", 8..12),
            ("bias_hh_l0", "gate-bias.o", 12..16),
        ]
    );
    assert_eq!(specs.iter().filter(|s| !s.parts.is_empty()).count(), 4);
}

#[test]
fn gate_bias_groups_are_checked_when_the_plan_is_loaded() {
    let zeros: initlab_init::Scheme = "zeros".parse().expect("spec");
    let rnn = small_rnn();
    // Elman has one gate: no gate-bias groups.
    let plan = InitPlan::new(zeros.clone()).with("gate-bias.f", zeros.clone());
    match plan.validate(&rnn.param_specs()) {
        Err(initlab_models::Error::UnknownGroup { group, allowed, .. }) => {
            assert_eq!(group, "gate-bias.f");
            assert_eq!(allowed, ["input", "recurrent", "bias"]);
        }
        other => panic!("expected UnknownGroup, got {other:?}"),
    }
    // The LSTM lists its gate groups among the allowed ones.
    let plan = InitPlan::new(zeros.clone()).with("gate-bias.x", zeros.clone());
    let err = plan
        .validate(&gate_lstm().param_specs())
        .expect_err("no gate x")
        .to_string();
    assert!(
        err.contains("input, recurrent, bias, gate-bias.i, gate-bias.f, gate-bias.g, gate-bias.o"),
        "{err}"
    );
    // A scheme that cannot fill a gate's [H] rows names the parameter.
    let plan = InitPlan::new(zeros).with("gate-bias.f", "orthogonal".parse().expect("spec"));
    let err = HostParams::sample(&gate_lstm().param_specs(), &plan, 1)
        .expect_err("orthogonal gate bias")
        .to_string();
    assert!(err.contains("bias_ih_l0"), "{err}");
}

#[test]
fn pytorch_rnn_default_fills_every_recurrent_parameter_and_shape_schemes_keep_their_fans() {
    let rnn = RnnConfig {
        input: 3,
        hidden: 16,
        layers: 2,
        nonlinearity: Nonlinearity::Tanh,
        bias: true,
        implementation: RecurrentImpl::Auto,
    };
    let lstm = LstmConfig {
        input: 5,
        hidden: 9,
        layers: 1,
        bias: true,
        implementation: RecurrentImpl::Auto,
    };
    let rnn_default: initlab_init::Scheme = "pytorch-rnn-default".parse().expect("spec");
    let xavier: initlab_init::Scheme = "xavier-uniform".parse().expect("spec");
    for (specs, h) in [
        (rnn.param_specs(), rnn.hidden),
        (lstm.param_specs(), lstm.hidden),
    ] {
        // PyTorch's reset_parameters: U(±1/√H) for every weight and bias.
        let host = HostParams::sample(&specs, &InitPlan::new(rnn_default.clone()), 31)
            .expect("pytorch-rnn-default samples every recurrent parameter");
        let bound = 1.0 / (h as f32).sqrt();
        assert_eq!(host.tensors.len(), specs.len());
        for (spec, values) in &host.tensors {
            let name = &spec.name;
            assert!(
                values.iter().all(|v| v.abs() <= bound),
                "{name} beyond 1/√H"
            );
            assert!(values.iter().any(|v| *v != values[0]), "{name} constant");
            if values.len() >= 100 {
                let max = values.iter().fold(0f32, |m, v| m.max(v.abs()));
                assert!(max > 0.9 * bound, "{name}: max |v| {max} of bound {bound}");
            }
        }
        // A shape-based scheme on `input` keeps weight_ih_l0's fans (out = gates·H,
        // in = I): its bound √(6 / (fan_in + fan_out)) is well above 1/√H here.
        let plan = InitPlan::new(rnn_default.clone()).with("input", xavier.clone());
        let host = HostParams::sample(&specs, &plan, 31).expect("sample");
        let spec = &specs[0];
        assert_eq!(spec.name, "weight_ih_l0");
        let (out, inp) = (spec.shape[0] as f32, spec.shape[1] as f32);
        let xavier_bound = (6.0 / (out + inp)).sqrt();
        assert!(xavier_bound > 1.1 * bound, "{xavier_bound} vs {bound}");
        let w = host.get("weight_ih_l0").expect("weight");
        let max = w.iter().fold(0f32, |m, v| m.max(v.abs()));
        assert!(
            max > 1.05 * bound && max <= xavier_bound,
            "weight_ih_l0: max |v| {max}, 1/√H {bound}, xavier {xavier_bound}"
        );
        // And the same draw as xavier on the weight alone, with no hidden size.
        let alone = initlab_models::ParamSpec::new("weight_ih_l0", "input", spec.shape.clone());
        let alone =
            HostParams::sample(&[alone], &InitPlan::new(xavier.clone()), 31).expect("sample");
        assert_eq!(alone.get("weight_ih_l0"), Some(w));
    }
}
