//! What the recurrent-layer test files share.

use burn::tensor::backend::AutodiffBackend;
use burn::tensor::Tensor;
use initlab_models::{tensor_to_vec, RnnLayer};

/// Every parameter's gradient under its PyTorch name, layer by layer
/// (`weight_ih_l0`, `weight_hh_l0`, `bias_ih_l0`, `bias_hh_l0`, ...), then the
/// input's as `x`: the order PyTorch's `named_parameters()` lists them in. A
/// weight the graph never reached (`W_hh` when T = 1 on the per-step path)
/// gets a zero gradient, which is what it is.
pub fn named_grads<A: AutodiffBackend>(
    layers: &[RnnLayer<A>],
    x: &Tensor<A, 3>,
    grads: &A::Gradients,
) -> Vec<(String, Vec<f32>)> {
    let g2 = |t: Tensor<A, 2>| {
        let n = t.dims().iter().product();
        t.grad(grads).map_or(vec![0.0; n], tensor_to_vec)
    };
    let g1 = |t: Tensor<A, 1>| tensor_to_vec(t.grad(grads).expect("bias gradient"));
    let mut named = Vec::new();
    for (l, layer) in layers.iter().enumerate() {
        named.push((format!("weight_ih_l{l}"), g2(layer.w_ih.val())));
        named.push((format!("weight_hh_l{l}"), g2(layer.w_hh.val())));
        if let Some(b) = &layer.b_ih {
            named.push((format!("bias_ih_l{l}"), g1(b.val())));
        }
        if let Some(b) = &layer.b_hh {
            named.push((format!("bias_hh_l{l}"), g1(b.val())));
        }
    }
    named.push((
        "x".into(),
        tensor_to_vec(x.grad(grads).expect("input gradient")),
    ));
    named
}
