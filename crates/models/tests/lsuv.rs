//! LSUV's host calibration: checked against burn's own forward passes, by
//! hand on networks small enough to follow, and on a layer that cannot
//! converge within `max_iter`.

use burn::backend::NdArray;
use burn::tensor::{Int, Tensor, TensorData};
use initlab_init::{init_rng, Scheme};
use initlab_models::{
    tensor_to_vec, Activation, EventLstmConfig, HostParams, InitPlan, LsuvBatch, LsuvRecord,
    MlpConfig, Nonlinearity, Recurrence, RecurrentImpl, RecurrentNetConfig,
};

type B = NdArray<f32>;

fn scheme(spec: &str) -> Scheme {
    spec.parse().expect("spec")
}

/// Seeded N(0, 1) values: the calibration batch.
fn batch(n: usize, seed: u64) -> Vec<f32> {
    scheme("normal")
        .sample(&[n], &mut init_rng(seed))
        .expect("batch")
}

fn variance(values: &[f32]) -> f64 {
    let n = values.len() as f64;
    let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    values
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n
}

/// `x W^T + b`, `x` `[rows, in]`, `W` `(out, in)`, in f64 then f32.
fn affine(x: &[f32], w: &[f32], b: &[f32], inputs: usize) -> Vec<f32> {
    x.chunks(inputs)
        .flat_map(|row| {
            w.chunks(inputs).zip(b).map(move |(w, b)| {
                let dot: f64 = w
                    .iter()
                    .zip(row)
                    .map(|(&w, &x)| f64::from(w) * f64::from(x))
                    .sum();
                (dot + f64::from(*b)) as f32
            })
        })
        .collect()
}

/// Every element of `after` is `before` times one factor, `scale`, up to f32
/// rounding of each step.
fn assert_one_factor(before: &[f32], after: &[f32], scale: f64, name: &str) {
    for (b, a) in before.iter().zip(after) {
        let expected = f64::from(*b) * scale;
        assert!(
            (f64::from(*a) - expected).abs() <= 1e-5 * expected.abs().max(1e-6),
            "{name}: {a} is not {b} × {scale}"
        );
    }
}

/// `base` everywhere but the input, recurrent and output weight matrices,
/// which `lsuv` calibrates.
fn lsuv_on_every_matrix(base: &str, lsuv: &str) -> InitPlan {
    let lsuv = scheme(lsuv);
    InitPlan::new(scheme(base))
        .with("input", lsuv.clone())
        .with("recurrent", lsuv.clone())
        .with("weight", lsuv)
}

fn mlp() -> MlpConfig {
    MlpConfig::new(12, vec![16, 9, 7], 4, Activation::Tanh)
}

#[test]
fn every_mlp_layer_ends_within_tolerance_by_burns_own_forward() {
    let config = mlp();
    let plan = InitPlan::new(scheme("pytorch-linear-default"))
        .with("weight", scheme("lsuv(pre=normal,tolerance=0.05)"));
    let pre = HostParams::sample(&config.param_specs(), &plan, 11).expect("sample");
    let mut host = pre.clone();
    let x = batch(40 * 12, 3);
    let records = config
        .calibrate_lsuv(
            &mut host,
            &plan,
            LsuvBatch::Features {
                values: &x,
                features: 12,
            },
        )
        .expect("lsuv");
    let layers: Vec<&str> = records.iter().map(|r| r.layer.as_str()).collect();
    assert_eq!(layers, ["layers.0", "layers.1", "layers.2", "layers.3"]);
    // N(0, 1) weights on 7–16 inputs: every pre-activation well above 1.
    assert!(
        records.iter().all(|r| r.outcome.variance_before > 2.0),
        "{records:?}"
    );

    let model = config.init::<B>(&host, &Default::default()).expect("init");
    let trace = model.trace(Tensor::from_data(
        TensorData::new(x, [40, 12]),
        &Default::default(),
    ));
    for (record, pre_activation) in records.iter().zip(&trace.pre) {
        let measured = variance(pre_activation);
        assert!(record.outcome.converged, "{record:?}");
        assert!(
            (measured - 1.0).abs() < 0.05,
            "{}: {measured}",
            record.layer
        );
        assert!((measured - record.outcome.variance).abs() < 1e-5);
    }
    for (i, record) in records.iter().enumerate() {
        let name = format!("layers.{i}.weight");
        let (before, after) = (pre.get(&name).expect("w"), host.get(&name).expect("w"));
        assert_one_factor(before, after, record.outcome.scale, &name);
        let bias = format!("layers.{i}.bias");
        assert_eq!(pre.get(&bias), host.get(&bias), "biases are untouched");
    }
}

/// `2 → 2 → 1`, ReLU, zero biases, weights set by hand, four examples.
#[test]
fn a_tiny_mlp_by_hand() {
    let config = MlpConfig::new(2, vec![2], 1, Activation::Relu);
    let calibrate = |w0: [f32; 4], w1: [f32; 2]| -> (Vec<LsuvRecord>, HostParams) {
        let plan = InitPlan::new(scheme("zeros")).with("weight", scheme("lsuv"));
        let mut host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
        for (spec, values) in &mut host.tensors {
            match spec.name.as_str() {
                "layers.0.weight" => values.copy_from_slice(&w0),
                "layers.1.weight" => values.copy_from_slice(&w1),
                _ => {}
            }
        }
        let x = [1.0, 0.0, -1.0, 0.0, 0.0, 1.0, 0.0, -1.0];
        let batch = LsuvBatch::Features {
            values: &x,
            features: 2,
        };
        let records = config
            .calibrate_lsuv(&mut host, &plan, batch)
            .expect("lsuv");
        (records, host)
    };
    // Layer 0, W = 2·I: outputs ±2 and 0 in equal numbers, Var = 16/8 = 2, so
    // one step by 1/√2 gives ±√2, Var 1. ReLU keeps (√2, 0), (0, 0), (0, √2),
    // (0, 0). Layer 1, W = (1, 1): outputs √2, 0, √2, 0, Var = 2/4 = 0.5, one
    // step by √2 gives 2, 0, 2, 0, Var 1.
    let (records, host) = calibrate([2.0, 0.0, 0.0, 2.0], [1.0, 1.0]);
    let expected = [(2.0, 0.5f64.sqrt()), (0.5, 2f64.sqrt())];
    for (record, (before, factor)) in records.iter().zip(expected) {
        let o = &record.outcome;
        assert_eq!(o.iterations, 1, "{record:?}");
        // Exact but for the f32 rounding of the weights.
        assert!((o.variance_before - before).abs() < 1e-6, "{record:?}");
        assert!((o.scale - factor).abs() < 1e-6, "{record:?}");
        assert!((o.variance - 1.0).abs() < 1e-6 && o.converged, "{record:?}");
    }
    let w1 = host.get("layers.1.weight").expect("w1");
    assert!((f64::from(w1[0]) - 2f64.sqrt()).abs() < 1e-6);
    // Layer 1, W = (1.4, 1.4): outputs 1.4·√2, 0, 1.4·√2, 0, Var = 1.96 · 0.5
    // = 0.98, within 0.1 of 1 already after layer 0: no step, factor 1.
    let (records, _) = calibrate([2.0, 0.0, 0.0, 2.0], [1.4, 1.4]);
    let o = &records[1].outcome;
    assert_eq!((o.iterations, o.scale), (0, 1.0), "{o:?}");
    assert!((o.variance - 0.98).abs() < 1e-6 && o.converged, "{o:?}");
}

/// A ReLU RNN of one unit: `a_t = w·x_t + u·h_{t−1}`, `h_t = max(0, a_t)`,
/// zero biases, `w = u = 1` by hand, two examples of two steps, (1, 1) and
/// (−1, −1). After the factors multiply to `s`, the pre-activations are
/// `s`, `s + s²` (the first example) and `−s`, `−s` (the second, whose
/// `h_1 = 0`): the factor reaches into `h_{t−1}`, so one step is not enough.
fn relu_rnn(max_iter: u32) -> (Vec<LsuvRecord>, HostParams) {
    let config = RecurrentNetConfig {
        cell: Recurrence::Rnn,
        nonlinearity: Some(Nonlinearity::Relu),
        input: 1,
        hidden: 1,
        layers: 1,
        outputs: 1,
        implementation: RecurrentImpl::Auto,
    };
    let plan = InitPlan::new(scheme("zeros"))
        .with("weight", scheme("ones"))
        .with("input", scheme(&format!("lsuv(max_iter={max_iter})")))
        .with("recurrent", scheme(&format!("lsuv(max_iter={max_iter})")));
    let mut host = HostParams::sample(&config.param_specs(), &plan, 1).expect("sample");
    for (spec, values) in &mut host.tensors {
        if spec.name.starts_with("rnn.weight") {
            values.fill(1.0);
        }
    }
    let x = [1.0, 1.0, -1.0, -1.0];
    let batch = LsuvBatch::Sequences {
        values: &x,
        steps: 2,
        features: 1,
    };
    let records = config
        .calibrate_lsuv(&mut host, &plan, batch)
        .expect("lsuv");
    (records, host)
}

/// The variance of `s`, `s + s²`, `−s`, `−s`.
fn rnn_variance(s: f64) -> f64 {
    let a = [s, s + s * s, -s, -s];
    let mean = a.iter().sum::<f64>() / 4.0;
    a.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / 4.0
}

#[test]
fn a_recurrent_layer_by_hand_takes_two_steps() {
    // By hand: Var(1, 2, −1, −1) = 6.75/4 = 1.6875; s₁ = 1/√1.6875 ≈ 0.7698
    // gives Var ≈ 0.886, still 0.11 from 1; s₂ = s₁/√0.886 ≈ 0.8176 gives
    // Var ≈ 1.026: converged after two steps.
    assert!((rnn_variance(1.0) - 1.6875).abs() < 1e-12);
    let s1 = 1.0 / 1.6875f64.sqrt();
    let s2 = s1 / rnn_variance(s1).sqrt();
    assert!((rnn_variance(s1) - 1.0).abs() > 0.1);
    assert!((rnn_variance(s2) - 1.0).abs() < 0.1);

    let (records, host) = relu_rnn(10);
    assert_eq!(
        records.len(),
        1,
        "the head's weight is not lsuv: {records:?}"
    );
    let o = &records[0].outcome;
    assert_eq!(records[0].layer, "rnn.l0");
    assert_eq!(o.iterations, 2, "{o:?}");
    assert!(o.converged);
    assert!((o.variance_before - 1.6875).abs() < 1e-12);
    assert!((o.scale - s2).abs() < 1e-6, "{} vs {s2}", o.scale);
    assert!((o.variance - rnn_variance(s2)).abs() < 1e-6);
    // One factor divides the input and the recurrent matrix alike.
    for name in ["rnn.weight_ih_l0", "rnn.weight_hh_l0"] {
        let w = host.get(name).expect("w")[0];
        assert!((f64::from(w) - s2).abs() < 1e-6, "{name}: {w}");
    }
    assert_eq!(host.get("head.weight"), Some(&[1.0f32][..]));
}

#[test]
fn a_layer_that_runs_out_of_steps_is_recorded_not_an_error() {
    let (records, host) = relu_rnn(1);
    let o = &records[0].outcome;
    let s1 = 1.0 / 1.6875f64.sqrt();
    assert_eq!(o.iterations, 1);
    assert!(!o.converged, "{o:?}");
    assert!((o.variance - rnn_variance(s1)).abs() < 1e-6, "{o:?}");
    let w = host.get("rnn.weight_hh_l0").expect("w")[0];
    assert!((f64::from(w) - s1).abs() < 1e-6);
}

/// Two stacked LSTM layers and the read-out: each layer's gate
/// pre-activations, rebuilt from the states burn's LSTM computes, and the
/// logits of burn's forward pass, all within the tolerance.
#[test]
fn a_stacked_lstm_by_burns_own_states() {
    let (batch_size, steps, input, hidden) = (24, 6, 3, 5);
    let config = RecurrentNetConfig {
        cell: Recurrence::Lstm,
        nonlinearity: None,
        input,
        hidden,
        layers: 2,
        outputs: 4,
        implementation: RecurrentImpl::PerStep,
    };
    let plan = lsuv_on_every_matrix("pytorch-rnn-default", "lsuv");
    let pre = HostParams::sample(&config.param_specs(), &plan, 5).expect("sample");
    let mut host = pre.clone();
    let x = batch(batch_size * steps * input, 9);
    let records = config
        .calibrate_lsuv(
            &mut host,
            &plan,
            LsuvBatch::Sequences {
                values: &x,
                steps,
                features: input,
            },
        )
        .expect("lsuv");
    let layers: Vec<&str> = records.iter().map(|r| r.layer.as_str()).collect();
    assert_eq!(layers, ["rnn.l0", "rnn.l1", "head"]);

    let device = Default::default();
    let model = config.init::<B>(&host, &device).expect("init");
    let xs = || {
        Tensor::<B, 3>::from_data(
            TensorData::new(x.clone(), [batch_size, steps, input]),
            &device,
        )
    };
    let states = model.trace(xs()).expect("trace");
    let get = |name: &str| host.get(name).expect(name);
    for (l, record) in records.iter().take(2).enumerate() {
        let layer_input: &[f32] = if l == 0 { &x } else { &states[0] };
        let features = if l == 0 { input } else { hidden };
        let w_ih = get(&format!("rnn.weight_ih_l{l}"));
        let w_hh = get(&format!("rnn.weight_hh_l{l}"));
        let b_ih = get(&format!("rnn.bias_ih_l{l}"));
        let b_hh = get(&format!("rnn.bias_hh_l{l}"));
        // h_{t−1}: zeros at t = 0, else the state burn computed.
        let mut previous = vec![0.0f32; batch_size * steps * hidden];
        for b in 0..batch_size {
            for t in 1..steps {
                let (to, from) = ((b * steps + t) * hidden, (b * steps + t - 1) * hidden);
                previous[to..to + hidden].copy_from_slice(&states[l][from..from + hidden]);
            }
        }
        let from_input = affine(layer_input, w_ih, b_ih, features);
        let from_state = affine(&previous, w_hh, b_hh, hidden);
        let gates: Vec<f32> = from_input
            .iter()
            .zip(&from_state)
            .map(|(a, b)| a + b)
            .collect();
        let measured = variance(&gates);
        assert!(record.outcome.converged, "{record:?}");
        assert!((measured - 1.0).abs() < 0.1, "{}: {measured}", record.layer);
        assert!(
            (measured - record.outcome.variance).abs() < 1e-4,
            "{record:?}"
        );
        for name in [format!("rnn.weight_ih_l{l}"), format!("rnn.weight_hh_l{l}")] {
            let before = pre.get(&name).expect("w");
            assert_one_factor(before, get(&name), record.outcome.scale, &name);
        }
    }
    let logits = tensor_to_vec(model.forward(xs()).expect("forward"));
    let measured = variance(&logits);
    assert!(records[2].outcome.converged && (measured - 1.0).abs() < 0.1);
    assert!((measured - records[2].outcome.variance).abs() < 1e-4);
}

#[test]
fn the_event_lstm_calibrates_on_tokens_and_keeps_its_embedding() {
    let config = EventLstmConfig {
        vocabulary: 7,
        dim: 3,
        hidden: 4,
        window: 5,
        implementation: RecurrentImpl::PerStep,
    };
    let plan = lsuv_on_every_matrix("normal", "lsuv(tolerance=0.05)").with("bias", scheme("zeros"));
    let pre = HostParams::sample(&config.param_specs(), &plan, 2).expect("sample");
    let mut host = pre.clone();
    let ids: Vec<i64> = (0..16 * 5).map(|i| (i * 5 + i / 7) % 7).collect();
    let batch = LsuvBatch::Tokens {
        ids: &ids,
        steps: 5,
    };
    let records = config
        .calibrate_lsuv(&mut host, &plan, batch)
        .expect("lsuv");
    let layers: Vec<&str> = records.iter().map(|r| r.layer.as_str()).collect();
    assert_eq!(layers, ["lstm.l0", "head"]);
    assert!(records.iter().all(|r| r.outcome.converged), "{records:?}");
    assert_eq!(pre.get("embedding.weight"), host.get("embedding.weight"));
    let device = Default::default();
    let model = config.init::<B>(&host, &device).expect("init");
    let tokens = Tensor::<B, 2, Int>::from_data(TensorData::new(ids.clone(), [16, 5]), &device);
    let measured = variance(&tensor_to_vec(model.forward(tokens).expect("forward")));
    assert!((measured - 1.0).abs() < 0.05, "{measured}");
    // A token outside the vocabulary is an error, not a panic.
    let bad = [9i64; 5];
    let err = config
        .calibrate_lsuv(
            &mut pre.clone(),
            &plan,
            LsuvBatch::Tokens {
                ids: &bad,
                steps: 5,
            },
        )
        .expect_err("token 9 of 7");
    assert!(err.to_string().contains("0..7"), "{err}");
}

#[test]
fn lsuv_on_a_bias_or_with_two_settings_is_an_error() {
    let config = mlp();
    let on_bias = InitPlan::new(scheme("zeros"))
        .with("weight", scheme("lsuv"))
        .with("bias", scheme("lsuv(pre=normal)"));
    let err = config
        .lsuv_settings(&on_bias)
        .expect_err("bias")
        .to_string();
    assert!(
        err.contains("layers.0.bias") && err.contains("weight matrices"),
        "{err}"
    );
    let two = InitPlan::new(scheme("zeros"))
        .with("weight", scheme("lsuv"))
        .with("layers.2.weight", scheme("lsuv(tolerance=0.01)"));
    let err = config.lsuv_settings(&two).expect_err("two").to_string();
    assert!(
        err.contains("layers.2.weight") && err.contains("agree"),
        "{err}"
    );
    let none = InitPlan::new(scheme("orthogonal")).with("bias", scheme("zeros"));
    assert_eq!(config.lsuv_settings(&none).expect("no lsuv"), None);
}
