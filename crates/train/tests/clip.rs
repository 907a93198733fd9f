//! Global-norm clipping against hand-computed `clip_grad_norm_` results.

use burn::backend::{Autodiff, NdArray};
use burn::module::{Module, Param};
use burn::optim::GradientsParams;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use initlab_train::clip_grad_norm;

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
