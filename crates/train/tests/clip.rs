//! Global-norm clipping against hand-computed `clip_grad_norm_` results and
//! against PyTorch's own, from `tests/fixtures/torch_clip.json`.

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use initlab_train::{clip_grad_norm, ClipOutcome, HostOptimizer, OptimizerConfig};

type Ad = Autodiff<NdArray>;

#[derive(Module, Debug)]
struct Two<B: Backend> {
    a: Param<Tensor<B, 1>>,
    b: Param<Tensor<B, 2>>,
}

/// A module whose loss `a·[3, 4] + Σ b·[[12]]` has gradients `[3, 4]` and
/// `[[12]]`: per tensor norms 5 and 12, global norm 13.
fn fixture() -> (Two<Ad>, GradientsParams) {
    let device = Default::default();
    let model = Two::<Ad> {
        a: Param::from_data(TensorData::new(vec![0.5f32, -1.0], [2]), &device),
        b: Param::from_data(TensorData::new(vec![2.0f32], [1, 1]), &device),
    };
    let ca = Tensor::<Ad, 1>::from_data(TensorData::new(vec![3.0f32, 4.0], [2]), &device);
    let loss = (model.a.val() * ca).sum() + model.b.val().mul_scalar(12.0).sum();
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    (model, grads)
}

fn values<const D: usize>(grads: &GradientsParams, param: &Param<Tensor<Ad, D>>) -> Vec<f32> {
    grads
        .get::<NdArray, D>(param.id)
        .expect("gradient")
        .into_data()
        .into_vec::<f32>()
        .expect("f32")
}

#[test]
fn one_global_norm_scales_every_gradient_alike() {
    let (model, grads) = fixture();
    let (grads, outcome) = clip_grad_norm(&model, grads, 1.0);
    assert!((outcome.norm - 13.0).abs() < 1e-12, "{outcome:?}");
    // torch: clip_coef = max_norm / (total_norm + 1e-6) = 1 / 13.000001.
    let c = 1.0 / 13.000001;
    assert!((outcome.coefficient - c).abs() < 1e-15, "{outcome:?}");
    // torch.nn.utils.clip_grad_norm_ gives [0.2307692, 0.3076923] and [[0.9230769]].
    let expected_a = [3.0 * c, 4.0 * c];
    let got_a = values(&grads, &model.a);
    for (g, e) in got_a.iter().zip(expected_a) {
        assert!(
            (*g as f64 - e).abs() < 1e-7,
            "a: {got_a:?} vs {expected_a:?}"
        );
    }
    let got_b = values(&grads, &model.b);
    assert!((got_b[0] as f64 - 12.0 * c).abs() < 1e-7, "b: {got_b:?}");
    // Per-tensor clipping would have left `a` at norm 1 and `b` at norm 1;
    // global clipping keeps their ratio, 5 : 12.
    let norm_a = got_a
        .iter()
        .map(|v| (*v as f64).powi(2))
        .sum::<f64>()
        .sqrt();
    assert!((norm_a / got_b[0] as f64 - 5.0 / 12.0).abs() < 1e-6);
}

#[test]
fn gradients_below_the_limit_are_untouched() {
    let (model, grads) = fixture();
    // max_norm = norm + 1e-6 gives a coefficient of exactly 1, which is not below 1.
    let (grads, outcome) = clip_grad_norm(&model, grads, 13.0 + 1e-6);
    assert_eq!(outcome.coefficient, 1.0);
    assert_eq!(values(&grads, &model.a), vec![3.0, 4.0]);
    assert_eq!(values(&grads, &model.b), vec![12.0]);
    let (model, grads) = fixture();
    let (_, outcome) = clip_grad_norm(&model, grads, 100.0);
    assert_eq!(outcome.coefficient, 1.0);
    assert!((outcome.norm - 13.0).abs() < 1e-12);
}

/// `tests/fixtures/torch_clip.json`, written by
/// `scripts/torch_recurrent_fixture.py` from `torch.nn.utils.clip_grad_norm_`
/// (norm_type 2) run in float64 on float32 gradients.
#[derive(serde::Deserialize)]
struct TorchClip {
    torch_version: String,
    cases: Vec<TorchClipCase>,
}

#[derive(serde::Deserialize)]
struct TorchClipCase {
    name: String,
    max_norm: f64,
    norm_type: f64,
    grads: Vec<TorchGrad>,
    /// What `clip_grad_norm_` returned.
    total_norm: f64,
    clips: bool,
    /// `.grad` after the call, in `grads` order.
    clipped: Vec<Vec<f64>>,
}

#[derive(serde::Deserialize)]
struct TorchGrad {
    shape: Vec<usize>,
    values: Vec<f64>,
}

/// Parameters of rank 1 and 2 in any number, one per fixture gradient.
#[derive(Module, Debug)]
struct Many<B: Backend> {
    matrices: Vec<Param<Tensor<B, 2>>>,
    vectors: Vec<Param<Tensor<B, 1>>>,
}

/// Where fixture gradient `k` lives in [`Many`].
enum Slot {
    Matrix(usize),
    Vector(usize),
}

/// A module whose loss `Σ_k Σ p_k·G_k` has exactly the fixture's gradients
/// `G_k`, with every parameter at `start`.
fn torch_module(case: &TorchClipCase, start: f32) -> (Many<Ad>, Vec<Slot>, Tensor<Ad, 1>) {
    let device = Default::default();
    let mut model = Many::<Ad> {
        matrices: Vec::new(),
        vectors: Vec::new(),
    };
    let mut slots = Vec::new();
    let mut loss = Tensor::<Ad, 1>::zeros([1], &device);
    for (k, g) in case.grads.iter().enumerate() {
        let values: Vec<f32> = g
            .values
            .iter()
            .map(|&v| {
                // serde_json's default parser may be an f64 ulp off the written
                // float32 value; far below half a float32 ulp.
                assert!(((v as f32) as f64 - v).abs() <= 1e-15 * v.abs());
                v as f32
            })
            .collect();
        let ones = vec![start; values.len()];
        match g.shape.as_slice() {
            &[n] => {
                let p = Param::from_data(TensorData::new(ones, [n]), &device);
                let c = Tensor::<Ad, 1>::from_data(TensorData::new(values, [n]), &device);
                loss = loss + (p.val() * c).sum();
                slots.push(Slot::Vector(model.vectors.len()));
                model.vectors.push(p);
            }
            &[r, c] => {
                let p = Param::from_data(TensorData::new(ones, [r, c]), &device);
                let g = Tensor::<Ad, 2>::from_data(TensorData::new(values, [r, c]), &device);
                loss = loss + (p.val() * g).sum();
                slots.push(Slot::Matrix(model.matrices.len()));
                model.matrices.push(p);
            }
            other => panic!("{}: gradient {k} has shape {other:?}", case.name),
        }
    }
    (model, slots, loss)
}

fn slot_values(grads: &GradientsParams, model: &Many<Ad>, slot: &Slot) -> Vec<f32> {
    match slot {
        Slot::Matrix(i) => values(grads, &model.matrices[*i]),
        Slot::Vector(i) => values(grads, &model.vectors[*i]),
    }
}

/// Asserts the norm (to 1e-6 relative) and whether it clipped agree with
/// PyTorch's; the norm's relative error.
fn check_outcome(case: &TorchClipCase, outcome: &ClipOutcome) -> f64 {
    let name = &case.name;
    let norm_err = (outcome.norm - case.total_norm).abs() / case.total_norm;
    assert!(
        norm_err <= 1e-6,
        "{name}: norm {} vs PyTorch {} (relative error {norm_err:e})",
        outcome.norm,
        case.total_norm
    );
    assert_eq!(
        outcome.coefficient < 1.0,
        case.clips,
        "{name}: clipped or not as PyTorch, {outcome:?}"
    );
    norm_err
}

#[test]
fn matches_pytorch_clip_grad_norm_fixture() {
    let fixture: TorchClip = serde_json::from_str(include_str!("fixtures/torch_clip.json"))
        .expect("torch_clip.json parses");
    assert!(fixture.torch_version.starts_with("2."));
    let clipping: Vec<bool> = fixture.cases.iter().map(|c| c.clips).collect();
    assert!(
        clipping.contains(&true) && clipping.contains(&false),
        "the fixture has a case that clips and one that does not: {clipping:?}"
    );
    for case in &fixture.cases {
        let name = &case.name;
        assert_eq!(
            case.norm_type, 2.0,
            "{name}: only the L2 norm is implemented"
        );
        let (model, slots, loss) = torch_module(case, 1.0);
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        // The loss's gradients are the fixture's, before any clipping.
        for (k, slot) in slots.iter().enumerate() {
            let g = slot_values(&grads, &model, slot);
            let expected: Vec<f32> = case.grads[k].values.iter().map(|&v| v as f32).collect();
            assert_eq!(g, expected, "{name}: gradient {k} before clipping");
        }
        let (clipped, outcome) = clip_grad_norm(&model, grads, case.max_norm);
        let norm_err = check_outcome(case, &outcome);
        let mut worst = 0.0f64;
        for (k, slot) in slots.iter().enumerate() {
            let got = slot_values(&clipped, &model, slot);
            let expected = &case.clipped[k];
            let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = got
                .iter()
                .zip(expected)
                .fold(0.0f64, |m, (g, e)| m.max((*g as f64 - e).abs()));
            let err = if scale == 0.0 { diff } else { diff / scale };
            worst = worst.max(err);
            assert!(
                err <= 1e-6,
                "{name}: clipped gradient {k} off by {err:e} of its max abs"
            );
            if !case.clips {
                // Not clipped: left exactly as they were, as in PyTorch.
                let original: Vec<f32> = case.grads[k].values.iter().map(|&v| v as f32).collect();
                assert_eq!(got, original, "{name}: gradient {k} changed");
            }
        }
        eprintln!(
            "{name}: norm {} (PyTorch {}, error {norm_err:e}), coefficient {}, worst clipped-gradient error {worst:e}",
            outcome.norm, case.total_norm, outcome.coefficient
        );
    }
}

/// The training loop clips on the host, inside its optimizer step: the same
/// rule, checked against the same PyTorch fixture. With every parameter at 0
/// and SGD at lr 1, the step leaves `−g_clipped` in the parameters exactly.
#[test]
fn the_host_optimizer_clips_as_pytorch() {
    let fixture: TorchClip = serde_json::from_str(include_str!("fixtures/torch_clip.json"))
        .expect("torch_clip.json parses");
    let sgd = OptimizerConfig::Sgd {
        lr: 1.0,
        momentum: 0.0,
    };
    for case in &fixture.cases {
        let name = &case.name;
        let (model, slots, loss) = torch_module(case, 0.0);
        let mut optim = HostOptimizer::new(&sgd, Some(case.max_norm));
        let (model, report) = optim.step(model, loss.backward());
        let outcome = report.clip.expect("clipping was asked for");
        check_outcome(case, &outcome);
        for (k, slot) in slots.iter().enumerate() {
            let got: Vec<f32> = match slot {
                Slot::Matrix(i) => model.matrices[*i]
                    .val()
                    .into_data()
                    .into_vec()
                    .expect("f32"),
                Slot::Vector(i) => model.vectors[*i].val().into_data().into_vec().expect("f32"),
            };
            let expected = &case.clipped[k];
            let scale = expected.iter().fold(0.0f64, |m, v| m.max(v.abs()));
            let diff = got
                .iter()
                .zip(expected)
                .fold(0.0f64, |m, (g, e)| m.max((-f64::from(*g) - e).abs()));
            let err = if scale == 0.0 { diff } else { diff / scale };
            assert!(err <= 1e-6, "{name}: clipped gradient {k} off by {err:e}");
        }
    }
}
