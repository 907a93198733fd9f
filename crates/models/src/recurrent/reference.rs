//! One Elman layer as a loop of burn tensor ops over time: runs on every
//! backend (libtorch, CUDA, ...) and gets its gradient from burn's autodiff,
//! which makes it the reference the fused op is tested against.

use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

use super::Nonlinearity;

/// `h_t = φ(x_t·W_ihᵀ + h_{t-1}·W_hhᵀ + b)` with `h_{-1} = 0`, step by step.
///
/// # Shapes
/// `x` `[batch, T, I]`, `w_ih` `[H, I]`, `w_hh` `[H, H]`, `bias` `[H]` →
/// `[batch, T, H]`
pub(crate) fn forward<B: Backend>(
    x: Tensor<B, 3>,
    w_ih: Tensor<B, 2>,
    w_hh: Tensor<B, 2>,
    bias: Option<Tensor<B, 1>>,
    nonlinearity: Nonlinearity,
) -> Tensor<B, 3> {
    let [batch, steps, input] = x.dims();
    let w_ih_t = w_ih.transpose(); // [I, H]
    let w_hh_t = w_hh.transpose(); // [H, H]
    let bias = bias.map(|b| b.unsqueeze::<2>()); // [1, H]
    let mut states = Vec::with_capacity(steps);
    let mut h: Option<Tensor<B, 2>> = None;
    for t in 0..steps {
        let x_t = x
            .clone()
            .slice([0..batch, t..t + 1, 0..input])
            .reshape([batch, input]);
        let mut a = x_t.matmul(w_ih_t.clone()); // [batch, H]
        if let Some(prev) = h {
            a = a + prev.matmul(w_hh_t.clone());
        }
        if let Some(b) = &bias {
            a = a + b.clone();
        }
        let next = nonlinearity.apply(a); // [batch, H]
        states.push(next.clone().unsqueeze_dim::<3>(1)); // [batch, 1, H]
        h = Some(next);
    }
    Tensor::cat(states, 1) // [batch, T, H]
}
