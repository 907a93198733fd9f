//! One recurrent layer's whole recurrence, or a whole stack of layers, as a
//! single burn autodiff node.
//!
//! A loop of tensor ops records a few hundred tiny nodes per time step, and on
//! a CPU their bookkeeping, not the arithmetic, is what a training step costs.
//! Here the forward runs on the host ([`super::host`]), keeps every hidden
//! state, and registers one node whose backward is explicit BPTT with a few
//! large matmuls over all `T·batch` rows. A stack in one node also keeps the
//! states between its layers time-major on the host, where a node per layer
//! would lay them out batch-major, upload them and read them back, in the
//! forward and again in the backward.
//!
//! burn's custom-op API (`Backward`, `OpsPrep`) exists only for the concrete
//! `Autodiff<I, C>` backend. The training loop is generic over
//! `B: AutodiffBackend`, so [`try_fused_stack`] checks at run time, by `TypeId`,
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
use burn::backend::autodiff::NodeId;
use burn::backend::Autodiff;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorData, TensorPrimitive};

use super::host::{self, Cell, Dims, Grads, Saved, Want, Weights};
use super::probe::BpttProbe;
use crate::host_node::tensor_to_vec;
use crate::host_node::{host_vec, retype};

/// Hands `values` to `node` as its gradient, where it asked for one.
fn register<I: Backend>(
    grads: &mut Gradients,
    device: &I::Device,
    node: Option<NodeId>,
    values: Vec<f32>,
    shape: Vec<usize>,
) {
    if let Some(id) = node {
        grads.register::<I>(
            id,
            I::float_from_data(TensorData::new(values, shape), device),
        );
    }
}

/// Hands one layer's weight gradients to the parents that asked for them
/// (`w_ih`, `w_hh`, `bias`).
fn register_weights<I: Backend>(
    grads: &mut Gradients,
    device: &I::Device,
    dims: Dims,
    cell: Cell,
    parents: [Option<NodeId>; 3],
    g: Grads,
) {
    let rows = cell.gates() * dims.hidden;
    let [pih, phh, pb] = parents;
    register::<I>(grads, device, pih, g.w_ih, vec![rows, dims.input]);
    register::<I>(grads, device, phh, g.w_hh, vec![rows, dims.hidden]);
    register::<I>(grads, device, pb, g.bias, vec![rows]);
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

/// Whether `B` is burn's `Autodiff` backend (either checkpoint strategy), the
/// one the fused node can be registered on.
pub(crate) fn supports<B: AutodiffBackend>() -> bool {
    let b = TypeId::of::<B>();
    b == TypeId::of::<Autodiff<B::InnerBackend, NoCheckpointing>>()
        || b == TypeId::of::<Autodiff<B::InnerBackend, BalancedCheckpointing>>()
}

/// What a stack's backward needs: each layer's sizes and weights (input layer
/// first), every group's time-major states, and the probe (with the layer's
/// index) that wants a one-layer stack's per-step norms.
#[derive(Clone, Debug)]
struct StackState {
    dims: Vec<Dims>,
    weights: Arc<Vec<Weights>>,
    saved: Arc<Saved>,
    probe: Option<(BpttProbe, usize)>,
}

/// A stack's node; its `N = 1 + 3·layers` parents are the input, then each
/// layer's `w_ih`, `w_hh` and bias.
#[derive(Debug)]
struct StackBackward<const N: usize>;

impl<I: Backend, const N: usize> Backward<I, N> for StackBackward<N> {
    type State = StackState;

    fn backward(
        self,
        ops: Ops<StackState, N>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let StackState {
            dims,
            weights,
            saved,
            probe,
        } = ops.state;
        let dy = grads.consume::<I>(&ops.node);
        let dy = Tensor::<I, 3>::from_primitive(TensorPrimitive::Float(dy));
        let device = dy.device();
        let dy = tensor_to_vec(dy);
        let mut parents = ops.parents.into_iter();
        let px = parents.next().flatten();
        let want = Want {
            x: px.is_some(),
            h_grad: probe.is_some(),
        };
        let (dx, layers) = host::backward_stack(&dims, &weights, &saved, &dy, want);
        if let (Some((probe, layer)), Some(sq)) =
            (&probe, layers.first().and_then(|g| g.h_grad_sq.as_ref()))
        {
            probe.record_grad_sq(*layer, sq);
        }
        if let (Some(dx), Some(d)) = (dx, dims.first()) {
            let shape = vec![d.batch, d.steps, d.input];
            register::<I>(grads, &device, px.map(|node| node.id), dx, shape);
        }
        for ((d, w), g) in dims.iter().zip(weights.iter()).zip(layers) {
            let mut next = || parents.next().flatten().map(|node| node.id);
            let layer_parents = [next(), next(), next()];
            register_weights::<I>(grads, &device, *d, w.cell, layer_parents, g);
        }
    }
}

/// The inputs of a stack of fused layers (one layer is a stack of one).
pub(crate) struct StackInputs<B: Backend> {
    /// `[batch, T, I]`.
    pub x: Tensor<B, 3>,
    /// `(w_ih, w_hh, bias)` per layer, input layer first: `[G·H, I]`,
    /// `[G·H, H]`, `[G·H]` (`b_ih + b_hh`, or zeros for a layer without bias).
    pub layers: Vec<(Tensor<B, 2>, Tensor<B, 2>, Tensor<B, 1>)>,
    /// Where a one-layer stack's per-step norms go, with the layer's index in
    /// the network (a probe reads each layer's states: layer by layer then).
    pub probe: Option<(BpttProbe, usize)>,
}

/// The most layers one stack node takes (its parents are an array whose
/// length is fixed at compile time).
const MAX_STACK: usize = 4;
// `fused_stack` spells out each array length up to MAX_STACK's.
const _: () = assert!(1 + 3 * MAX_STACK == 13);

fn stack_dims<B: Backend>(inputs: &StackInputs<B>) -> Vec<Dims> {
    let [batch, steps, mut input] = inputs.x.dims();
    inputs
        .layers
        .iter()
        .map(|(_, w_hh, _)| {
            let d = Dims {
                batch,
                steps,
                input,
                hidden: w_hh.dims()[1],
            };
            input = d.hidden;
            d
        })
        .collect()
}

/// The batch groups a stack of these shapes runs in as one node: one to
/// [`MAX_STACK`] layers whose groups agree, one alone where a probe asks;
/// `None` runs it layer by layer.
fn stack_groups<B: Backend>(inputs: &StackInputs<B>, cell: Cell) -> Option<usize> {
    let most = if inputs.probe.is_some() { 1 } else { MAX_STACK };
    if !(1..=most).contains(&inputs.layers.len()) {
        return None;
    }
    host::stack_groups(&stack_dims(inputs), cell)
}

fn stack_weights<B: Backend>(inputs: &StackInputs<B>, cell: Cell) -> Vec<Weights> {
    inputs
        .layers
        .iter()
        .map(|(w_ih, w_hh, bias)| host_weights(w_ih.clone(), w_hh.clone(), bias.clone(), cell))
        .collect()
}

/// A stack's forward on the host: the top layer's states, and what its
/// backward needs.
fn host_stack<B: Backend>(
    inputs: StackInputs<B>,
    cell: Cell,
    groups: usize,
) -> (Tensor<B, 3>, StackState) {
    let dims = stack_dims(&inputs);
    let weights = stack_weights(&inputs, cell);
    let device = inputs.x.device();
    let x = host_vec(inputs.x);
    let (out, saved) = host::forward_stack(&dims, &weights, &x, groups);
    let top = dims[dims.len() - 1];
    if let Some((probe, layer)) = &inputs.probe {
        probe.record_states(*layer, &out, top.batch, top.steps);
    }
    let out = Tensor::from_data(
        TensorData::new(out, [top.batch, top.steps, top.hidden]),
        &device,
    );
    let state = StackState {
        dims,
        weights: Arc::new(weights),
        saved: Arc::new(saved),
        probe: inputs.probe,
    };
    (out, state)
}

/// A whole stack's forward on the host, for a backend that records no graph;
/// the inputs back where the stack does not run as one.
///
/// # Shapes
/// `x` `[batch, T, I]` → the top layer's `[batch, T, H]`
pub(crate) fn stack_untracked<B: Backend>(
    inputs: StackInputs<B>,
    cell: Cell,
) -> Result<Tensor<B, 3>, StackInputs<B>> {
    let Some(groups) = stack_groups(&inputs, cell) else {
        return Err(inputs);
    };
    Ok(host_stack(inputs, cell, groups).0)
}

fn fused_stack<I: Backend, C: CheckpointStrategy>(
    inputs: StackInputs<Autodiff<I, C>>,
    cell: Cell,
    groups: usize,
) -> Tensor<Autodiff<I, C>, 3> {
    let inner = StackInputs {
        x: inputs.x.clone().inner(),
        layers: inputs
            .layers
            .iter()
            .map(|(a, b, c)| (a.clone().inner(), b.clone().inner(), c.clone().inner()))
            .collect(),
        probe: inputs.probe.clone(),
    };
    let (out, state) = host_stack(inner, cell, groups);
    let out: FloatTensor<I> = out.into_primitive().tensor();
    let mut nodes = vec![inputs.x.into_primitive().tensor().node];
    for (w_ih, w_hh, bias) in inputs.layers {
        nodes.push(w_ih.into_primitive().tensor().node);
        nodes.push(w_hh.into_primitive().tensor().node);
        nodes.push(bias.into_primitive().tensor().node);
    }
    // The parents are an array of a length fixed at compile time (burn's node
    // type cannot be named outside burn, so each length is spelled out here):
    // `stack_groups` allowed 1 to MAX_STACK layers, 4, 7, 10 or 13 parents.
    macro_rules! node_of {
        ($($n:literal)+) => {'node: {
            $(
                let nodes = match <[_; $n]>::try_from(nodes) {
                    Ok(nodes) => {
                        let prep = StackBackward::<$n>.prepare::<C>(nodes).compute_bound();
                        break 'node match prep.stateful() {
                            OpsKind::Tracked(prep) => prep.finish(state, out),
                            OpsKind::UnTracked(prep) => prep.finish(out),
                        };
                    }
                    Err(nodes) => nodes,
                };
            )+
            unreachable!("a stack node with {} parents", nodes.len())
        }};
    }
    let output = node_of!(4 7 10 13);
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

fn try_stack_strategy<B: AutodiffBackend, C: CheckpointStrategy>(
    inputs: StackInputs<B>,
    cell: Cell,
    groups: usize,
) -> Result<Tensor<B, 3>, StackInputs<B>> {
    if TypeId::of::<B>() != TypeId::of::<Autodiff<B::InnerBackend, C>>() {
        return Err(inputs);
    }
    // `TypeId` said `B` is this very type, so every move succeeds.
    let inputs = StackInputs {
        x: retype(inputs.x),
        layers: inputs
            .layers
            .into_iter()
            .map(|(a, b, c)| (retype(a), retype(b), retype(c)))
            .collect(),
        probe: inputs.probe,
    };
    Ok(retype(fused_stack::<B::InnerBackend, C>(
        inputs, cell, groups,
    )))
}

/// The whole stack as one fused node when `B` is burn's `Autodiff` backend
/// and the stack runs as one (see [`stack_groups`]); the inputs back otherwise.
///
/// # Shapes
/// `x` `[batch, T, I]` → the top layer's `[batch, T, H]`
pub(crate) fn try_fused_stack<B: AutodiffBackend>(
    inputs: StackInputs<B>,
    cell: Cell,
) -> Result<Tensor<B, 3>, StackInputs<B>> {
    let Some(groups) = stack_groups(&inputs, cell) else {
        return Err(inputs);
    };
    try_stack_strategy::<B, NoCheckpointing>(inputs, cell, groups)
        .or_else(|inputs| try_stack_strategy::<B, BalancedCheckpointing>(inputs, cell, groups))
}

/// The node that picks the last step's states out of all of them: its
/// backward writes the gradient into a zeroed host buffer, where burn's slice
/// backward fills its zeros value by value (`TensorData::full_dtype`, 4 % of
/// an RNN-MNIST step on one core while the other waited).
#[derive(Debug)]
struct LastStepBackward;

impl<I: Backend> Backward<I, 1> for LastStepBackward {
    /// `[batch, T, H]` of the states.
    type State = [usize; 3];

    fn backward(
        self,
        ops: Ops<[usize; 3], 1>,
        grads: &mut Gradients,
        _checkpointer: &mut Checkpointer,
    ) {
        let [batch, steps, hidden] = ops.state;
        let grad = grads.consume::<I>(&ops.node);
        let [parent] = ops.parents;
        let Some(parent) = parent else {
            return;
        };
        let grad = Tensor::<I, 2>::from_primitive(TensorPrimitive::Float(grad));
        let device = grad.device();
        let last = tensor_to_vec(grad);
        let mut all = vec![0.0f32; batch * steps * hidden];
        for (b, row) in last.chunks_exact(hidden).enumerate() {
            let at = (b * steps + steps - 1) * hidden;
            all[at..at + hidden].copy_from_slice(row);
        }
        register::<I>(
            grads,
            &device,
            Some(parent.id),
            all,
            vec![batch, steps, hidden],
        );
    }
}

fn last_step<I: Backend, C: CheckpointStrategy>(
    states: Tensor<Autodiff<I, C>, 3>,
) -> Tensor<Autodiff<I, C>, 2> {
    let [batch, steps, hidden] = states.dims();
    let last: FloatTensor<I> = states
        .clone()
        .inner()
        .slice([0..batch, steps - 1..steps, 0..hidden])
        .reshape([batch, hidden])
        .into_primitive()
        .tensor();
    let node = states.into_primitive().tensor().node;
    let output = match LastStepBackward
        .prepare::<C>([node])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish([batch, steps, hidden], last),
        OpsKind::UnTracked(prep) => prep.finish(last),
    };
    Tensor::from_primitive(TensorPrimitive::Float(output))
}

fn try_last_step_strategy<B: AutodiffBackend, C: CheckpointStrategy>(
    states: Tensor<B, 3>,
) -> Result<Tensor<B, 2>, Tensor<B, 3>> {
    if TypeId::of::<B>() != TypeId::of::<Autodiff<B::InnerBackend, C>>() {
        return Err(states);
    }
    // `TypeId` said `B` is this very type, so the moves succeed.
    Ok(retype(last_step::<B::InnerBackend, C>(retype(states))))
}

/// The last step `[batch, H]` of `states` `[batch, T, H]` as its own node
/// when `B` is burn's `Autodiff` backend; the states back otherwise.
pub(crate) fn try_last_step<B: AutodiffBackend>(
    states: Tensor<B, 3>,
) -> Result<Tensor<B, 2>, Tensor<B, 3>> {
    try_last_step_strategy::<B, NoCheckpointing>(states)
        .or_else(try_last_step_strategy::<B, BalancedCheckpointing>)
}
