//! A wide affine layer as one burn autodiff node computed on the host.
//!
//! The event LSTM's read-out is `Linear(11 520 → 359)` on a batch of 64: a
//! 4.1 M-parameter weight against few rows. burn-ndarray's matmul backward
//! copies the transposed weight and input into standard layout before each
//! product (16 MB a step), which with the matmuls made the head a third of
//! the whole train step. Here the three products read the stored buffers
//! through strides, with no copy, on every core `matrixmultiply` uses.
//!
//! Like the fused recurrence, the node exists only on burn's own `Autodiff`
//! backend, found by `TypeId`; any other backend keeps burn's matmul.

use std::any::TypeId;

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};

use crate::activation::Activation;
use crate::host_node::tensor_to_vec;
use crate::host_node::{gemm, host_vec, retype};

/// `y = φ(x·W + b)` for `x` `[m, k]`, `W` `[k, n]` (burn's `Dense` layout),
/// `b` `[n]`; `φ` the identity when `activation` is `None`.
fn forward(
    (m, k, n): (usize, usize, usize),
    x: &[f32],
    w: &[f32],
    b: &[f32],
    activation: Option<Activation>,
) -> Vec<f32> {
    let mut y = vec![0.0f32; m * n];
    for row in y.chunks_exact_mut(n) {
        row.copy_from_slice(b);
    }
    gemm((m, k, n), x, (k, 1), w, (n, 1), 1.0, &mut y, (n, 1));
    if let Some(activation) = activation {
        activation.apply_host(&mut y);
    }
    y
}

/// `(dx, dW, db)` = `(dz·Wᵀ, xᵀ·dz, Σ_rows dz)` for `dz` the gradient
/// before the activation (`dy` itself without one); `dx` only when asked for.
fn backward(
    (m, k, n): (usize, usize, usize),
    x: &[f32],
    w: &[f32],
    activated: Option<(Activation, &[f32])>,
    mut dy: Vec<f32>,
    want_x: bool,
) -> (Option<Vec<f32>>, Vec<f32>, Vec<f32>) {
    if let Some((activation, y)) = activated {
        activation.backward_host(&mut dy, y);
    }
    let dy = &dy[..];
    let dx = want_x.then(|| {
        let mut dx = vec![0.0f32; m * k];
        gemm((m, n, k), dy, (n, 1), w, (1, n), 0.0, &mut dx, (k, 1));
        dx
    });
    let mut dw = vec![0.0f32; k * n];
    gemm((k, m, n), x, (1, k), dy, (n, 1), 0.0, &mut dw, (n, 1));
    let mut db = vec![0.0f32; n];
    for row in dy.chunks_exact(n) {
        db.iter_mut().zip(row).for_each(|(d, v)| *d += v);
    }
    (dx, dw, db)
}

#[derive(Clone, Debug)]
struct State {
    dims: (usize, usize, usize),
    x: Vec<f32>,
    w: Vec<f32>,
    /// The activation and its outputs, from which its gradient is written.
    activated: Option<(Activation, Vec<f32>)>,
}

#[derive(Debug)]
struct DenseBackward;

impl<I: Backend> Backward<I, 3> for DenseBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 3>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let State {
            dims,
            x,
            w,
            activated,
        } = ops.state;
        let [px, pw, pb] = ops.parents;
        let dy =
            Tensor::<I, 2>::from_primitive(TensorPrimitive::Float(grads.consume::<I>(&ops.node)));
        let device = dy.device();
        let activated = activated.as_ref().map(|(a, y)| (*a, &y[..]));
        let (dx, dw, db) = backward(dims, &x, &w, activated, tensor_to_vec(dy), px.is_some());
        let (m, k, n) = dims;
        let upload = |values: Vec<f32>, shape: Vec<usize>| -> FloatTensor<I> {
            I::float_from_data(TensorData::new(values, shape), &device)
        };
        if let (Some(node), Some(dx)) = (px, dx) {
            grads.register::<I>(node.id, upload(dx, vec![m, k]));
        }
        if let Some(node) = pw {
            grads.register::<I>(node.id, upload(dw, vec![k, n]));
        }
        if let Some(node) = pb {
            grads.register::<I>(node.id, upload(db, vec![n]));
        }
    }
}

fn fused<I: Backend, C: CheckpointStrategy>(
    x: Tensor<Autodiff<I, C>, 2>,
    w: Tensor<Autodiff<I, C>, 2>,
    b: Tensor<Autodiff<I, C>, 1>,
    activation: Option<Activation>,
) -> Tensor<Autodiff<I, C>, 2> {
    let ([m, k], [_, n]) = (x.dims(), w.dims());
    let device = x.device();
    let (x_host, w_host) = (host_vec(x.clone().inner()), host_vec(w.clone().inner()));
    let b_host = host_vec(b.clone().inner());
    let y_host = forward((m, k, n), &x_host, &w_host, &b_host, activation);
    let activated = activation.map(|a| (a, y_host.clone()));
    let y: FloatTensor<I> = Tensor::<I, 2>::from_data(TensorData::new(y_host, [m, n]), &device)
        .into_primitive()
        .tensor();
    let nodes = [
        x.into_primitive().tensor().node,
        w.into_primitive().tensor().node,
        b.into_primitive().tensor().node,
    ];
    let output = match DenseBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            State {
                dims: (m, k, n),
                x: x_host,
                w: w_host,
                activated,
            },
            y,
        ),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

type Inputs<B> = (Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>);

/// `φ(x·W + b)` on the host with no autodiff node, on any backend: evaluation
/// then runs the very arithmetic that training ran.
///
/// # Shapes
/// `x` `[m, k]`, `w` `[k, n]`, `b` `[n]` → `[m, n]`
pub(crate) fn infer<B: Backend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    b: Tensor<B, 1>,
    activation: Option<Activation>,
) -> Tensor<B, 2> {
    let ([m, k], [_, n]) = (x.dims(), w.dims());
    let device = x.device();
    let y = forward(
        (m, k, n),
        &host_vec(x),
        &host_vec(w),
        &host_vec(b),
        activation,
    );
    Tensor::from_data(TensorData::new(y, [m, n]), &device)
}

fn try_strategy<B: AutodiffBackend, C: CheckpointStrategy>(
    (x, w, b): Inputs<B>,
    activation: Option<Activation>,
) -> Result<Tensor<B, 2>, Inputs<B>> {
    if TypeId::of::<B>() != TypeId::of::<Autodiff<B::InnerBackend, C>>() {
        return Err((x, w, b));
    }
    // `TypeId` said `B` is this very type, so every move succeeds.
    let y = fused::<B::InnerBackend, C>(retype(x), retype(w), retype(b), activation);
    Ok(retype(y))
}

/// `φ(x·W + b)` as one host node when `B` is burn's `Autodiff` backend (either
/// checkpoint strategy); the inputs back otherwise.
///
/// # Shapes
/// `x` `[m, k]`, `w` `[k, n]`, `b` `[n]` → `[m, n]`
pub(crate) fn try_fused<B: AutodiffBackend>(
    x: Tensor<B, 2>,
    w: Tensor<B, 2>,
    b: Tensor<B, 1>,
    activation: Option<Activation>,
) -> Result<Tensor<B, 2>, Inputs<B>> {
    try_strategy::<B, NoCheckpointing>((x, w, b), activation)
        .or_else(|inputs| try_strategy::<B, BalancedCheckpointing>(inputs, activation))
}

#[cfg(test)]
mod tests {
    use burn::backend::ndarray::NdArray;
    use burn::tensor::Distribution;

    use super::*;

    type Ad = Autodiff<NdArray>;

    /// The host node and burn's own matmul and activation give the same
    /// output and the same three gradients, with and without an activation.
    #[test]
    fn the_host_node_matches_burns_matmul_and_its_gradients() {
        let device = Default::default();
        let x = Tensor::<Ad, 2>::random([5, 7], Distribution::Normal(0.0, 1.0), &device);
        let w = Tensor::<Ad, 2>::random([7, 3], Distribution::Normal(0.0, 1.0), &device);
        let b = Tensor::<Ad, 1>::random([3], Distribution::Normal(0.0, 1.0), &device);
        let target = Tensor::<Ad, 2>::random([5, 3], Distribution::Normal(0.0, 1.0), &device);
        let activations = [
            None,
            Some(Activation::Relu),
            Some(Activation::Tanh),
            Some(Activation::Sigmoid),
        ];
        for activation in activations {
            let grads_of = |fused: bool| {
                let (x, w, b) = (
                    x.clone().require_grad(),
                    w.clone().require_grad(),
                    b.clone().require_grad(),
                );
                let y = if fused {
                    try_fused(x.clone(), w.clone(), b.clone(), activation)
                        .unwrap_or_else(|_| panic!("Autodiff<NdArray> takes the host node"))
                } else {
                    let z = x.clone().matmul(w.clone()) + b.clone().unsqueeze();
                    activation.map_or(z.clone(), |a| a.apply(z))
                };
                let loss = (y.clone() * target.clone()).sum();
                let g = loss.backward();
                let get = |t: &Tensor<Ad, 2>| tensor_to_vec(t.grad(&g).expect("grad"));
                (
                    tensor_to_vec(y),
                    get(&x),
                    get(&w),
                    tensor_to_vec(b.grad(&g).expect("grad")),
                )
            };
            let (fused, plain) = (grads_of(true), grads_of(false));
            let close = |a: &[f32], b: &[f32]| {
                a.len() == b.len()
                    && a.iter()
                        .zip(b)
                        .all(|(p, q)| (p - q).abs() <= 1e-5 * (1.0 + q.abs()))
            };
            assert!(close(&fused.0, &plain.0), "{activation:?}: output");
            assert!(close(&fused.1, &plain.1), "{activation:?}: dx");
            assert!(close(&fused.2, &plain.2), "{activation:?}: dW");
            assert!(close(&fused.3, &plain.3), "{activation:?}: db");
        }
    }
}
