//! One Elman layer's whole recurrence as a single burn autodiff node.
//!
//! A loop of tensor ops records a few hundred tiny nodes per time step, and on
//! a CPU their bookkeeping, not the arithmetic, is what a training step costs.
//! Here the forward runs on the host ([`super::host`]), keeps every hidden
//! state, and registers one node whose backward is explicit BPTT with a few
//! large matmuls over all `T·batch` rows.
//!
//! burn's custom-op API (`Backward`, `OpsPrep`) exists only for the concrete
//! `Autodiff<I, C>` backend. The training loop is generic over
//! `B: AutodiffBackend`, so [`try_fused`] checks at run time, by `TypeId`,
//! whether `B` is `Autodiff<B::InnerBackend, C>` for one of burn's two
//! checkpoint strategies and moves the tensors across with `Any` (no
//! `unsafe`); any other autodiff backend gets `None` and the per-step path.

use std::any::TypeId;
use std::sync::Arc;

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

use super::host::{self, Cell, Dims, Saved, Want, Weights};
use super::probe::BpttProbe;
use crate::host_node::tensor_to_vec;
use crate::host_node::{host_vec, retype};

/// What the backward needs: the weights, the inputs and every hidden state
/// (time-major, in [`Saved`]) on the host, and the probe (with the layer's
/// index) that wants the per-step norms.
#[derive(Clone, Debug)]
struct State {
    dims: Dims,
    weights: Arc<Weights>,
    saved: Arc<Saved>,
    probe: Option<(BpttProbe, usize)>,
}

#[derive(Debug)]
struct ElmanBackward;

impl<I: Backend> Backward<I, 4> for ElmanBackward {
    type State = State;

    fn backward(self, ops: Ops<State, 4>, grads: &mut Gradients, _checkpointer: &mut Checkpointer) {
        let State {
            dims,
            weights,
            saved,
            probe,
        } = ops.state;
        let [px, pih, phh, pb] = ops.parents;
        let dy = grads.consume::<I>(&ops.node);
        let dy = Tensor::<I, 3>::from_primitive(TensorPrimitive::Float(dy));
        let device = dy.device();
        let dy = tensor_to_vec(dy);
        let want = Want {
            x: px.is_some(),
            h_grad: probe.is_some(),
        };
        let g = host::backward(dims, &weights, &saved, &dy, want);
        if let (Some((probe, layer)), Some(sq)) = (&probe, &g.h_grad_sq) {
            probe.record_grad_sq(*layer, sq);
        }
        let upload = |values: Vec<f32>, shape: Vec<usize>| -> FloatTensor<I> {
            I::float_from_data(TensorData::new(values, shape), &device)
        };
        let Dims {
            batch,
            steps,
            input,
            hidden,
        } = dims;
        let rows = weights.cell.gates() * hidden;
        if let (Some(node), Some(dx)) = (px, g.x) {
            grads.register::<I>(node.id, upload(dx, vec![batch, steps, input]));
        }
        if let Some(node) = pih {
            grads.register::<I>(node.id, upload(g.w_ih, vec![rows, input]));
        }
        if let Some(node) = phh {
            grads.register::<I>(node.id, upload(g.w_hh, vec![rows, hidden]));
        }
        if let Some(node) = pb {
            grads.register::<I>(node.id, upload(g.bias, vec![rows]));
        }
    }
}

/// The inputs of one layer's fused recurrence.
pub(crate) struct LayerInputs<B: Backend> {
    /// `[batch, T, I]`.
    pub x: Tensor<B, 3>,
    /// `[H, I]`.
    pub w_ih: Tensor<B, 2>,
    /// `[H, H]`.
    pub w_hh: Tensor<B, 2>,
    /// `[H]`: `b_ih + b_hh`, or zeros for a layer without bias.
    pub bias: Tensor<B, 1>,
    /// Where this layer's per-step norms go, with its index in the stack.
    pub probe: Option<(BpttProbe, usize)>,
}

fn host_dims<B: Backend>(x: &Tensor<B, 3>, w_hh: &Tensor<B, 2>) -> Dims {
    let [batch, steps, input] = x.dims();
    Dims {
        batch,
        steps,
        input,
        hidden: w_hh.dims()[1],
    }
}

fn host_weights<B: Backend>(
    w_ih: Tensor<B, 2>,
    w_hh: Tensor<B, 2>,
    bias: Tensor<B, 1>,
    cell: Cell,
) -> Weights {
    Weights {
        w_ih: host_vec(w_ih),
        w_hh: host_vec(w_hh),
        bias: host_vec(bias),
        cell,
    }
}

/// The forward alone on the host, for a backend that records no graph
/// (inference, validation). On an autodiff backend it would cut the graph.
///
/// # Shapes
/// `x` `[batch, T, I]` → `[batch, T, H]`
pub(crate) fn forward_untracked<B: Backend>(inputs: LayerInputs<B>, cell: Cell) -> Tensor<B, 3> {
    let dims = host_dims(&inputs.x, &inputs.w_hh);
    let device = inputs.x.device();
    let weights = host_weights(
        inputs.w_ih.clone(),
        inputs.w_hh.clone(),
        inputs.bias.clone(),
        cell,
    );
    let x = host_vec(inputs.x);
    let (out, _) = host::forward(dims, &weights, &x);
    if let Some((probe, layer)) = &inputs.probe {
        probe.record_states(*layer, &out, dims.batch, dims.steps);
    }
    Tensor::from_data(
        TensorData::new(out, [dims.batch, dims.steps, dims.hidden]),
        &device,
    )
}

fn fused<I: Backend, C: CheckpointStrategy>(
    inputs: LayerInputs<Autodiff<I, C>>,
    cell: Cell,
) -> Tensor<Autodiff<I, C>, 3> {
    let dims = host_dims(&inputs.x, &inputs.w_hh);
    let weights = Arc::new(host_weights(
        inputs.w_ih.clone().inner(),
        inputs.w_hh.clone().inner(),
        inputs.bias.clone().inner(),
        cell,
    ));
    let x_host = host_vec(inputs.x.clone().inner());
    let device = inputs.x.device();
    let (out, saved) = host::forward(dims, &weights, &x_host);
    if let Some((probe, layer)) = &inputs.probe {
        probe.record_states(*layer, &out, dims.batch, dims.steps);
    }
    let out: FloatTensor<I> = Tensor::<I, 3>::from_data(
        TensorData::new(out, [dims.batch, dims.steps, dims.hidden]),
        &device,
    )
    .into_primitive()
    .tensor();
    let probe = inputs.probe;
    let prim = |t: FloatTensor<Autodiff<I, C>>| t;
    let x = prim(inputs.x.into_primitive().tensor());
    let w_ih = prim(inputs.w_ih.into_primitive().tensor());
    let w_hh = prim(inputs.w_hh.into_primitive().tensor());
    let bias = prim(inputs.bias.into_primitive().tensor());
    let nodes = [
        x.node.clone(),
        w_ih.node.clone(),
        w_hh.node.clone(),
        bias.node.clone(),
    ];
    let output = match ElmanBackward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(prep) => prep.finish(
            State {
                dims,
                weights,
                saved: Arc::new(saved),
                probe,
            },
            out,
        ),
        OpsKind::UnTracked(prep) => prep.finish(out),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

fn try_strategy<B: AutodiffBackend, C: CheckpointStrategy>(
    inputs: LayerInputs<B>,
    cell: Cell,
) -> Result<Tensor<B, 3>, LayerInputs<B>> {
    if TypeId::of::<B>() != TypeId::of::<Autodiff<B::InnerBackend, C>>() {
        return Err(inputs);
    }
    let LayerInputs {
        x,
        w_ih,
        w_hh,
        bias,
        probe,
    } = inputs;
    // `TypeId` said `B` is this very type, so every move succeeds.
    let out = fused::<B::InnerBackend, C>(
        LayerInputs {
            x: retype(x),
            w_ih: retype(w_ih),
            w_hh: retype(w_hh),
            bias: retype(bias),
            probe,
        },
        cell,
    );
    Ok(retype(out))
}

/// Whether `B` is burn's `Autodiff` backend (either checkpoint strategy), the
/// one the fused node can be registered on.
pub(crate) fn supports<B: AutodiffBackend>() -> bool {
    let b = TypeId::of::<B>();
    b == TypeId::of::<Autodiff<B::InnerBackend, NoCheckpointing>>()
        || b == TypeId::of::<Autodiff<B::InnerBackend, BalancedCheckpointing>>()
}

/// The fused recurrence when `B` is burn's `Autodiff` backend (either
/// checkpoint strategy); the inputs back otherwise.
///
/// # Shapes
/// `x` `[batch, T, I]` → `[batch, T, H]`
pub(crate) fn try_fused<B: AutodiffBackend>(
    inputs: LayerInputs<B>,
    cell: Cell,
) -> Result<Tensor<B, 3>, LayerInputs<B>> {
    try_strategy::<B, NoCheckpointing>(inputs, cell)
        .or_else(|inputs| try_strategy::<B, BalancedCheckpointing>(inputs, cell))
}
