//! The Elman recurrence in plain Rust on the host: forward keeping every
//! hidden state, and backpropagation through time with a few large matmuls.
//!
//! Inside a kernel the sequence is stored time-major (`[T, batch, ·]`) so that
//! each step's rows are one contiguous block: the step's matmul then reads the
//! previous block and writes the current one through two disjoint slices.
//! The batch is split into groups that run on their own threads; a group's
//! rows never meet another group's until the weight gradients are summed.

#[cfg(test)]
use std::slice;

use rayon::prelude::*;

use super::packed::{self, PackedRhs};
use super::Nonlinearity;
use crate::host_node::gemm;
use crate::math;

/// Sizes of one layer's recurrence.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims {
    pub batch: usize,
    pub steps: usize,
    pub input: usize,
    pub hidden: usize,
}

/// Which recurrence a kernel runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Cell {
    /// `h_t = φ(a_t)`: one gate.
    Elman(Nonlinearity),
    /// PyTorch's LSTM, gates stacked `i, f, g, o`.
    Lstm,
}

impl Cell {
    /// Rows of `w_ih` and `w_hh` per hidden unit.
    pub fn gates(self) -> usize {
        match self {
            Cell::Elman(_) => 1,
            Cell::Lstm => 4,
        }
    }
}

/// One layer's parameters, PyTorch layout: `w_ih` `[G·H, I]`, `w_hh` `[G·H, H]`,
/// `bias` `[G·H]` (`b_ih + b_hh`), `G` gates.
#[derive(Clone, Debug)]
pub(crate) struct Weights {
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub bias: Vec<f32>,
    pub cell: Cell,
}

/// Gradients of one layer; `None` where the caller did not ask for them.
#[derive(Debug, Default)]
pub(crate) struct Grads {
    /// `[batch, T, I]`.
    pub x: Option<Vec<f32>>,
    pub w_ih: Vec<f32>,
    pub w_hh: Vec<f32>,
    pub bias: Vec<f32>,
    /// `[T]`: `Σ_rows ‖∂L/∂h_t‖²`, the total gradient reaching each hidden
    /// state (from the output at `t` and from step `t + 1`), when asked for.
    pub h_grad_sq: Option<Vec<f64>>,
}

/// `Σ v²` in f64, for the per-step gradient norms.
fn sum_sq(values: impl Iterator<Item = f32>) -> f64 {
    values.map(|v| f64::from(v) * f64::from(v)).sum()
}

/// `[B, T, F]` → `[T, B, F]` (or back, swapping `outer` and `inner`).
/// Written in the destination's order, so it is never zeroed first; with one
/// feature (a matrix transpose) element by element, not a copy call each.
fn swap_01(src: &[f32], outer: usize, inner: usize, features: usize) -> Vec<f32> {
    let mut dst = Vec::with_capacity(src.len());
    swap_01_onto(src, outer, inner, features, &mut dst);
    dst
}

/// [`swap_01`] appended to `dst`: the batch groups' blocks, swapped one after
/// another, make the whole batch's without a zeroed buffer to copy into.
fn swap_01_onto(src: &[f32], outer: usize, inner: usize, features: usize, dst: &mut Vec<f32>) {
    for i in 0..inner {
        if features == 1 {
            dst.extend((0..outer).map(|o| src[o * inner + i]));
            continue;
        }
        for o in 0..outer {
            let s = (o * inner + i) * features;
            dst.extend_from_slice(&src[s..s + features]);
        }
    }
}

/// `rows` copies of `bias` one after another: the pre-activations' starting
/// value, which the input projection then adds to.
fn repeated(bias: &[f32], rows: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(rows * bias.len());
    for _ in 0..rows {
        out.extend_from_slice(bias);
    }
    out
}

/// `w_ihᵀ` `[I, G·H]`, row-major, for the one input projection over all steps,
/// and `w_hhᵀ` `[H, G·H]` packed for the per-step products. Made once per forward.
pub(crate) struct Transposed {
    ih: Vec<f32>,
    hh: PackedRhs,
}

impl Transposed {
    fn new(w: &Weights, d: Dims) -> Self {
        let rows = w.cell.gates() * d.hidden;
        Transposed {
            ih: swap_01(&w.w_ih, rows, d.input, 1),
            hh: PackedRhs::new(&swap_01(&w.w_hh, rows, d.hidden, 1), d.hidden, rows),
        }
    }
}

/// How many batch groups a pass is split into, run in parallel where threads
/// are free. The split decides the order in which the groups' weight
/// gradients are summed, so it depends on the shapes alone, never on the
/// thread count: `--jobs 1` and `--jobs 2` give the same bits. Two groups keep
/// both cores of the 2-core machine busy; a group is one only where a step's
/// matmul would not outweigh the cost of a thread hand-off.
fn groups(d: Dims, cell: Cell) -> usize {
    const MAX_GROUPS: usize = 2;
    let work_per_row = d.steps * cell.gates() * d.hidden * (d.hidden + d.input);
    if work_per_row * d.batch < 200_000 {
        return 1;
    }
    MAX_GROUPS.min(d.batch / 4).max(1)
}

fn group_bounds(batch: usize, groups: usize) -> Vec<(usize, usize)> {
    (0..groups)
        .map(|g| (g * batch / groups, (g + 1) * batch / groups))
        .filter(|(a, b)| b > a)
        .collect()
}

/// Every hidden state, time-major `[T, batch, H]`, of one group of rows.
fn forward_group(
    d: Dims,
    w: &Weights,
    wt: &Transposed,
    nonlinearity: Nonlinearity,
    x_tm: &[f32],
) -> Vec<f32> {
    let (bt, h) = (d.batch * d.steps, d.hidden);
    let mut hs = repeated(&w.bias, bt);
    // All input projections at once: [T·b, I] × W_ihᵀ.
    gemm(
        (bt, d.input, h),
        x_tm,
        (d.input, 1),
        &wt.ih,
        (h, 1),
        1.0,
        &mut hs,
        (h, 1),
    );
    let block = d.batch * h;
    for t in 0..d.steps {
        let (done, rest) = hs.split_at_mut(t * block);
        let cur = &mut rest[..block];
        if t > 0 {
            packed::gemm(d.batch, &done[(t - 1) * block..], &wt.hh, true, cur);
        }
        nonlinearity.apply_host(cur);
    }
    hs
}

/// What a backward pass is asked for besides the weight gradients.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Want {
    /// `dL/dx`, for a layer whose input is itself trained.
    pub x: bool,
    /// `Σ ‖∂L/∂h_t‖²` per step, for a BPTT probe.
    pub h_grad: bool,
}

/// BPTT over one group of rows, given its time-major inputs, states and
/// `dL/dh` (`dy`, `[T, b, H]`).
#[allow(clippy::too_many_arguments)]
fn backward_group(
    d: Dims,
    w: &Weights,
    w_hh: &PackedRhs,
    nonlinearity: Nonlinearity,
    x_tm: &[f32],
    hs: &[f32],
    dy: &[f32],
    want: Want,
) -> Grads {
    let (bt, h) = (d.batch * d.steps, d.hidden);
    let block = d.batch * h;
    let mut da = vec![0.0f32; bt * h]; // dL/da_t, [T, b, H]
    let mut carry = vec![0.0f32; block]; // dL/dh_t from step t+1
    let mut h_grad_sq = want.h_grad.then(|| vec![0.0f64; d.steps]);
    for t in (0..d.steps).rev() {
        let range = t * block..(t + 1) * block;
        if let Some(sq) = h_grad_sq.as_mut() {
            sq[t] = sum_sq(dy[range.clone()].iter().zip(&carry).map(|(a, b)| a + b));
        }
        let da_t = &mut da[range.clone()];
        for (((g, &dyv), &hv), &c) in da_t
            .iter_mut()
            .zip(&dy[range.clone()])
            .zip(&hs[range])
            .zip(&carry)
        {
            *g = (dyv + c) * nonlinearity.derivative_from_output(hv);
        }
        if t > 0 {
            packed::gemm(d.batch, da_t, w_hh, false, &mut carry);
        }
    }
    let mut grads = weight_grads(d, h, &da, x_tm, hs, w, want.x);
    grads.h_grad_sq = h_grad_sq;
    grads
}

/// The gradients that follow from the pre-activation gradients `da`
/// (`[T, b, rows]`, `rows` = G·H) and the time-major inputs `x_tm`
/// (`[T, b, I]`) once BPTT has them: `dW_ih = daᵀ·x` and
/// `dW_hh = Σ_{t≥1} da_tᵀ·h_{t-1}` over all T·b rows at once, the bias's as
/// the column sums, and `dx = da·W_ih` (time-major) when asked for.
fn weight_grads(
    d: Dims,
    rows: usize,
    da: &[f32],
    x_tm: &[f32],
    hs: &[f32],
    w: &Weights,
    want_x: bool,
) -> Grads {
    let (bt, h, i) = (d.batch * d.steps, d.hidden, d.input);
    let mut grads = Grads {
        x: None,
        w_ih: vec![0.0; rows * i],
        w_hh: vec![0.0; rows * h],
        bias: vec![0.0; rows],
        h_grad_sq: None,
    };
    gemm(
        (rows, bt, i),
        da,
        (1, rows),
        x_tm,
        (i, 1),
        0.0,
        &mut grads.w_ih,
        (i, 1),
    );
    // Time-major storage makes steps 1.. of `da` and steps ..T-1 of `hs` one
    // contiguous block each.
    let shifted = bt - d.batch;
    gemm(
        (rows, shifted, h),
        &da[d.batch * rows..],
        (1, rows),
        &hs[..shifted * h],
        (h, 1),
        0.0,
        &mut grads.w_hh,
        (h, 1),
    );
    for row in da.chunks_exact(rows) {
        add(&mut grads.bias, row);
    }
    if want_x {
        let mut dx = vec![0.0f32; bt * i];
        gemm(
            (bt, rows, i),
            da,
            (rows, 1),
            &w.w_ih,
            (i, 1),
            0.0,
            &mut dx,
            (i, 1),
        );
        grads.x = Some(dx);
    }
    grads
}

/// One group's forward, time-major: its input `x` `[T, rows, I]` (the weight
/// gradients' operand; empty in a stack's upper layers, whose input is the
/// `h` of the layer below), `h` `[T, rows, H]`; for an LSTM also the cell
/// states `c` and `tanh(c)` `[T, rows, H]` and the activated gates `[T, rows, 4H]`.
#[derive(Clone, Debug, Default)]
pub(crate) struct GroupState {
    pub x: Vec<f32>,
    pub h: Vec<f32>,
    pub c: Vec<f32>,
    pub tanh_c: Vec<f32>,
    pub gates: Vec<f32>,
}

/// One layer's forward over one group of rows, from its time-major input;
/// the caller decides whether the state keeps that input.
fn layer_forward(d: Dims, w: &Weights, wt: &Transposed, x_tm: &[f32]) -> GroupState {
    match w.cell {
        Cell::Elman(nl) => GroupState {
            h: forward_group(d, w, wt, nl, x_tm),
            ..GroupState::default()
        },
        Cell::Lstm => lstm_forward_group(d, w, wt, x_tm),
    }
}

/// One layer's BPTT over one group of rows; `dy` and the `dL/dx` it returns
/// are time-major.
fn layer_backward(
    d: Dims,
    w: &Weights,
    w_hh: &PackedRhs,
    state: &GroupState,
    x_tm: &[f32],
    dy: &[f32],
    want: Want,
) -> Grads {
    match w.cell {
        Cell::Elman(nl) => backward_group(d, w, w_hh, nl, x_tm, &state.h, dy, want),
        Cell::Lstm => lstm_backward_group(d, w, w_hh, state, x_tm, dy, want),
    }
}

/// The whole batch's `[batch, T, features]` from each group's time-major
/// `[T, rows, features]`, in group order.
fn batch_major<'a>(
    parts: impl Iterator<Item = (usize, usize, &'a [f32])>,
    steps: usize,
    features: usize,
    len: usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(len);
    for (lo, hi, part) in parts {
        swap_01_onto(part, steps, hi - lo, features, &mut out);
    }
    out
}

/// Sums the groups' weight gradients in group order (the order fixes the
/// bits) and lays their time-major `dL/dx` out batch-major.
fn sum_groups(d: Dims, w: &Weights, want: Want, parts: Vec<(usize, usize, Grads)>) -> Grads {
    let mut total = Grads {
        x: None,
        w_ih: vec![0.0; w.w_ih.len()],
        w_hh: vec![0.0; w.w_hh.len()],
        bias: vec![0.0; w.bias.len()],
        h_grad_sq: want.h_grad.then(|| vec![0.0f64; d.steps]),
    };
    for (_, _, g) in &parts {
        add(&mut total.w_ih, &g.w_ih);
        add(&mut total.w_hh, &g.w_hh);
        add(&mut total.bias, &g.bias);
        if let (Some(dst), Some(src)) = (total.h_grad_sq.as_mut(), &g.h_grad_sq) {
            dst.iter_mut().zip(src).for_each(|(d, s)| *d += s);
        }
    }
    if want.x {
        total.x = Some(batch_major(
            parts
                .iter()
                .map(|(lo, hi, g)| (*lo, *hi, g.x.as_deref().unwrap_or_default())),
            d.steps,
            d.input,
            d.batch * d.steps * d.input,
        ));
    }
    total
}

/// The states a forward pass keeps for its backward.
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    /// `(first row, end row, one state per layer, input layer first)` per
    /// batch group.
    pub groups: Vec<(usize, usize, Vec<GroupState>)>,
}

/// One layer over `x` (`[batch, T, I]`): every hidden state `[batch, T, H]`
/// and what the backward needs. The tests' layer-at-a-time reference.
#[cfg(test)]
fn forward(d: Dims, w: &Weights, x: &[f32]) -> (Vec<f32>, Saved) {
    forward_stack(
        slice::from_ref(&d),
        slice::from_ref(w),
        x,
        groups(d, w.cell),
    )
}

/// One layer's backpropagation through time given `dL/dh` for every state
/// (`[batch, T, H]`). The tests' layer-at-a-time reference.
#[cfg(test)]
fn backward(d: Dims, w: &Weights, saved: &Saved, dy: &[f32], want: Want) -> Grads {
    let (dx, grads) = backward_stack(slice::from_ref(&d), slice::from_ref(w), saved, dy, want);
    let mut g = grads.into_iter().next().unwrap_or_default();
    g.x = dx;
    g
}

/// The batch groups of a stack run layer after layer on each group's own
/// thread, or `None` where its layers would split the batch differently
/// (each layer alone must give the bits it gives in a stack: a stack whose
/// layers disagree runs as one-layer stacks).
pub(crate) fn stack_groups(dims: &[Dims], cell: Cell) -> Option<usize> {
    let first = groups(*dims.first()?, cell);
    dims.iter()
        .all(|d| groups(*d, cell) == first)
        .then_some(first)
}

/// A stack of layers (`dims[l]`, `weights[l]`, input layer first) over `x`
/// (`[batch, T, I]`) in `groups` batch groups: each group's time-major states
/// are the next layer's input where they lie, never laid out batch-major and
/// back between layers. Returns the top layer's states `[batch, T, H]`;
/// every bit is what the layers give one at a time through [`forward`].
pub(crate) fn forward_stack(
    dims: &[Dims],
    weights: &[Weights],
    x: &[f32],
    groups: usize,
) -> (Vec<f32>, Saved) {
    let (Some(first), Some(top)) = (dims.first(), dims.last()) else {
        return (x.to_vec(), Saved { groups: Vec::new() });
    };
    let row_x = first.steps * first.input;
    let wts: Vec<Transposed> = dims
        .iter()
        .zip(weights)
        .map(|(d, w)| Transposed::new(w, *d))
        .collect();
    let groups: Vec<(usize, usize, Vec<GroupState>)> = group_bounds(first.batch, groups)
        .into_par_iter()
        .map(|(lo, hi)| {
            let x_tm = swap_01(
                &x[lo * row_x..hi * row_x],
                hi - lo,
                first.steps,
                first.input,
            );
            let mut states: Vec<GroupState> = Vec::with_capacity(dims.len());
            for ((d, w), wt) in dims.iter().zip(weights).zip(&wts) {
                let gd = Dims {
                    batch: hi - lo,
                    ..*d
                };
                let input = states.last().map_or(&x_tm[..], |below| &below.h[..]);
                let state = layer_forward(gd, w, wt, input);
                states.push(state);
            }
            if let Some(bottom) = states.first_mut() {
                bottom.x = x_tm;
            }
            (lo, hi, states)
        })
        .collect();
    let out = batch_major(
        groups
            .iter()
            .map(|(lo, hi, s)| (*lo, *hi, s.last().map_or(&[][..], |t| &t.h[..]))),
        top.steps,
        top.hidden,
        top.batch * top.steps * top.hidden,
    );
    (out, Saved { groups })
}

/// BPTT through a stack given `dL/dh` of the top layer's states
/// (`[batch, T, H]`): each layer's time-major `dL/dx` is the `dy` of the layer
/// below where it lies. Returns `dL/dx` of the stack's input when `want.x`,
/// and each layer's gradients (input layer first; with the per-step norms
/// when `want.h_grad`), bit for bit what [`backward`] gives layer by layer.
pub(crate) fn backward_stack(
    dims: &[Dims],
    weights: &[Weights],
    saved: &Saved,
    dy: &[f32],
    want: Want,
) -> (Option<Vec<f32>>, Vec<Grads>) {
    let Some(top) = dims.last() else {
        return (want.x.then(|| dy.to_vec()), Vec::new());
    };
    let row_h = top.steps * top.hidden;
    let packed: Vec<PackedRhs> = dims
        .iter()
        .zip(weights)
        .map(|(d, w)| PackedRhs::new(&w.w_hh, w.cell.gates() * d.hidden, d.hidden))
        .collect();
    let parts: Vec<(usize, usize, Vec<Grads>)> = saved
        .groups
        .par_iter()
        .map(|(lo, hi, states)| {
            let mut dy = swap_01(&dy[lo * row_h..hi * row_h], hi - lo, top.steps, top.hidden);
            let mut grads: Vec<Grads> = Vec::with_capacity(dims.len());
            for l in (0..dims.len()).rev() {
                let gd = Dims {
                    batch: hi - lo,
                    ..dims[l]
                };
                let x_tm = if l == 0 {
                    &states[0].x
                } else {
                    &states[l - 1].h
                };
                let want = Want {
                    x: l > 0 || want.x,
                    ..want
                };
                let mut g =
                    layer_backward(gd, &weights[l], &packed[l], &states[l], x_tm, &dy, want);
                if l > 0 {
                    dy = g.x.take().unwrap_or_default();
                }
                grads.push(g);
            }
            grads.reverse();
            (*lo, *hi, grads)
        })
        .collect();
    // Regroup per layer, each layer's groups in group order.
    let mut per_layer: Vec<Vec<(usize, usize, Grads)>> = dims.iter().map(|_| Vec::new()).collect();
    for (lo, hi, grads) in parts {
        for (layer, g) in per_layer.iter_mut().zip(grads) {
            layer.push((lo, hi, g));
        }
    }
    let mut totals: Vec<Grads> = per_layer
        .into_iter()
        .zip(dims.iter().zip(weights))
        .enumerate()
        .map(|(l, (parts, (d, w)))| {
            let want = Want {
                x: l == 0 && want.x,
                ..want
            };
            sum_groups(*d, w, want, parts)
        })
        .collect();
    let dx = totals.first_mut().and_then(|g| g.x.take());
    (dx, totals)
}

fn add(dst: &mut [f32], src: &[f32]) {
    for (d, s) in dst.iter_mut().zip(src) {
        *d += s;
    }
}

/// An LSTM group's forward: `i, f, o = σ(·)`, `g = tanh(·)`,
/// `c_t = f⊙c_{t-1} + i⊙g`, `h_t = o⊙tanh(c_t)`, `h_{-1} = c_{-1} = 0`.
fn lstm_forward_group(d: Dims, w: &Weights, wt: &Transposed, x_tm: &[f32]) -> GroupState {
    let (bt, h, i) = (d.batch * d.steps, d.hidden, d.input);
    let g4 = 4 * h;
    let (hblock, gblock) = (d.batch * h, d.batch * g4);
    let mut gates = repeated(&w.bias, bt);
    gemm(
        (bt, i, g4),
        x_tm,
        (i, 1),
        &wt.ih,
        (g4, 1),
        1.0,
        &mut gates,
        (g4, 1),
    );
    let mut hs = vec![0.0f32; bt * h];
    let mut cs = vec![0.0f32; bt * h];
    let mut tcs = vec![0.0f32; bt * h];
    let zeros = vec![0.0f32; h];
    for t in 0..d.steps {
        let g_t = &mut gates[t * gblock..(t + 1) * gblock];
        if t > 0 {
            packed::gemm(
                d.batch,
                &hs[(t - 1) * hblock..t * hblock],
                &wt.hh,
                true,
                g_t,
            );
        }
        let (c_done, c_rest) = cs.split_at_mut(t * hblock);
        let c_t = &mut c_rest[..hblock];
        let tc_t = &mut tcs[t * hblock..(t + 1) * hblock];
        let h_t = &mut hs[t * hblock..(t + 1) * hblock];
        for r in 0..d.batch {
            let row = r * h..(r + 1) * h;
            let (ifg, go) = g_t[r * g4..(r + 1) * g4].split_at_mut(2 * h);
            let (gg, og) = go.split_at_mut(h);
            math::sigmoid_in_place(ifg);
            math::tanh_in_place(gg);
            math::sigmoid_in_place(og);
            let (ig, fg) = ifg.split_at(h);
            let cp = if t > 0 {
                &c_done[(t - 1) * hblock..][row.clone()]
            } else {
                &zeros[..]
            };
            let (c, tc, hv) = (&mut c_t[row.clone()], &mut tc_t[row.clone()], &mut h_t[row]);
            math::on_widest_vectors(&mut CellForward {
                gates: [ig, fg, gg, og],
                cp,
                c,
                tc,
                h: hv,
            });
        }
    }
    GroupState {
        x: Vec::new(),
        h: hs,
        c: cs,
        tanh_c: tcs,
        gates,
    }
}

/// An LSTM group's BPTT, given its time-major input, saved states and `dL/dh`
/// (`dy`, `[T, b, H]`).
fn lstm_backward_group(
    d: Dims,
    w: &Weights,
    w_hh: &PackedRhs,
    s: &GroupState,
    x_tm: &[f32],
    dy: &[f32],
    want: Want,
) -> Grads {
    let (bt, h) = (d.batch * d.steps, d.hidden);
    let g4 = 4 * h;
    let (hblock, gblock) = (d.batch * h, d.batch * g4);
    let mut dgates = vec![0.0f32; bt * g4]; // dL/d(pre-activation gates)
    let mut dh = vec![0.0f32; hblock]; // dL/dh_t through step t+1
    let mut dc = vec![0.0f32; hblock]; // dL/dc_t through step t+1
    let zeros = vec![0.0f32; h];
    let mut h_grad_sq = want.h_grad.then(|| vec![0.0f64; d.steps]);
    for t in (0..d.steps).rev() {
        if let Some(sq) = h_grad_sq.as_mut() {
            let dy_t = &dy[t * hblock..(t + 1) * hblock];
            sq[t] = sum_sq(dy_t.iter().zip(&dh).map(|(a, b)| a + b));
        }
        let dg_t = &mut dgates[t * gblock..(t + 1) * gblock];
        for r in 0..d.batch {
            let at = t * hblock + r * h..t * hblock + (r + 1) * h;
            let gates = &s.gates[t * gblock + r * g4..t * gblock + (r + 1) * g4];
            let (ig, fg, gg, og) = (
                &gates[..h],
                &gates[h..2 * h],
                &gates[2 * h..3 * h],
                &gates[3 * h..],
            );
            let (tc, dyr) = (&s.tanh_c[at.clone()], &dy[at.clone()]);
            let cp = if t > 0 {
                &s.c[at.start - hblock..at.end - hblock]
            } else {
                &zeros[..]
            };
            let (dhr, dcr) = (&dh[r * h..(r + 1) * h], &mut dc[r * h..(r + 1) * h]);
            let (di, rest) = dg_t[r * g4..(r + 1) * g4].split_at_mut(h);
            let (df, rest) = rest.split_at_mut(h);
            let (dgg, dog) = rest.split_at_mut(h);
            math::on_widest_vectors(&mut CellBackward {
                gates: [ig, fg, gg, og],
                tc,
                cp,
                dy: dyr,
                dh: dhr,
                dc: dcr,
                dgates: [di, df, dgg, dog],
            });
        }
        if t > 0 {
            packed::gemm(d.batch, dg_t, w_hh, false, &mut dh);
        }
    }
    let mut grads = weight_grads(d, g4, &dgates, x_tm, &s.h, w, want.x);
    grads.h_grad_sq = h_grad_sq;
    grads
}

/// One row's LSTM cell update from its activated gates: `c = f⊙c_prev + i⊙g`,
/// `tc = tanh(c)`, `h = o⊙tc`.
struct CellForward<'a> {
    gates: [&'a [f32]; 4],
    cp: &'a [f32],
    c: &'a mut [f32],
    tc: &'a mut [f32],
    h: &'a mut [f32],
}

impl math::VectorLoop for CellForward<'_> {
    #[inline(always)]
    fn run(&mut self) {
        let [ig, fg, gg, og] = self.gates;
        let n = self.c.len();
        let (cp, c, tc, h) = (
            &self.cp[..n],
            &mut *self.c,
            &mut self.tc[..n],
            &mut self.h[..n],
        );
        let (ig, fg, gg, og) = (&ig[..n], &fg[..n], &gg[..n], &og[..n]);
        for k in 0..n {
            c[k] = fg[k] * cp[k] + ig[k] * gg[k];
            tc[k] = math::tanh(c[k]);
            h[k] = og[k] * tc[k];
        }
    }
}

/// One row's LSTM cell backward: the gates' pre-activation gradients from
/// `dL/dh` (the output's `dy` plus step t+1's `dh`) and `dL/dc`, which it
/// carries back one step.
struct CellBackward<'a> {
    gates: [&'a [f32]; 4],
    tc: &'a [f32],
    cp: &'a [f32],
    dy: &'a [f32],
    dh: &'a [f32],
    dc: &'a mut [f32],
    dgates: [&'a mut [f32]; 4],
}

impl math::VectorLoop for CellBackward<'_> {
    #[inline(always)]
    fn run(&mut self) {
        let [ig, fg, gg, og] = self.gates;
        let n = self.dc.len();
        let (ig, fg, gg, og) = (&ig[..n], &fg[..n], &gg[..n], &og[..n]);
        let (tc, cp, dy, dh) = (&self.tc[..n], &self.cp[..n], &self.dy[..n], &self.dh[..n]);
        let dc = &mut *self.dc;
        let [di, df, dgg, dog] = &mut self.dgates;
        let (di, df, dgg, dog) = (&mut di[..n], &mut df[..n], &mut dgg[..n], &mut dog[..n]);
        for k in 0..n {
            let dhv = dy[k] + dh[k];
            let dcv = dc[k] + dhv * og[k] * (1.0 - tc[k] * tc[k]);
            di[k] = dcv * gg[k] * ig[k] * (1.0 - ig[k]);
            df[k] = dcv * cp[k] * fg[k] * (1.0 - fg[k]);
            dgg[k] = dcv * ig[k] * (1.0 - gg[k] * gg[k]);
            dog[k] = dhv * tc[k] * og[k] * (1.0 - og[k]);
            dc[k] = dcv * fg[k];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batch_groups_give_the_single_group_result() {
        let d = Dims {
            batch: 9,
            steps: 12,
            input: 3,
            hidden: 5,
        };
        let mut state = 7u32;
        let mut next = |n: usize, scale: f32| -> Vec<f32> {
            (0..n)
                .map(|_| {
                    state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((state >> 8) as f32 / (1u32 << 24) as f32 * 2.0 - 1.0) * scale
                })
                .collect()
        };
        for nonlinearity in [Nonlinearity::Tanh, Nonlinearity::Relu] {
            let w = Weights {
                w_ih: next(15, 0.5),
                w_hh: next(25, 0.5),
                bias: next(5, 0.5),
                cell: Cell::Elman(nonlinearity),
            };
            let x = next(9 * 12 * 3, 1.0);
            let dy = next(9 * 12 * 5, 1.0);
            let layer =
                |groups| forward_stack(slice::from_ref(&d), slice::from_ref(&w), &x, groups);
            let (one, saved_one) = layer(1);
            let (three, saved_three) = layer(3);
            assert_eq!(saved_three.groups.len(), 3);
            // Summing the groups' weight gradients reorders float additions:
            // equal to 1e-6 of the largest entry, not bit for bit.
            let close = |a: &[f32], b: &[f32]| {
                let scale = a.iter().fold(1e-30f32, |m, v| m.max(v.abs()));
                let diff = a
                    .iter()
                    .zip(b)
                    .fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
                assert!(
                    a.len() == b.len() && diff <= 1e-6 * scale,
                    "{diff} of {scale}"
                );
                true
            };
            assert!(close(&one, &three), "{nonlinearity:?} states");
            let all = Want {
                x: true,
                h_grad: true,
            };
            let g1 = backward(d, &w, &saved_one, &dy, all);
            let g3 = backward(d, &w, &saved_three, &dy, all);
            assert!(close(&g1.w_ih, &g3.w_ih) && close(&g1.w_hh, &g3.w_hh));
            assert!(close(&g1.bias, &g3.bias));
            assert!(close(
                g1.x.as_deref().unwrap_or_default(),
                g3.x.as_deref().unwrap_or_default()
            ));
            let (s1, s3) = (
                g1.h_grad_sq.unwrap_or_default(),
                g3.h_grad_sq.unwrap_or_default(),
            );
            assert!(
                s1.len() == 12
                    && s1
                        .iter()
                        .zip(&s3)
                        .all(|(a, b)| (a - b).abs() <= 1e-9 * a.abs().max(1.0))
            );
            let none = backward(d, &w, &saved_one, &dy, Want::default());
            assert!(g1.x.is_some() && none.x.is_none() && none.h_grad_sq.is_none());
        }
    }

    /// A stack run as one keeps its layers' states where they lie; it must
    /// give every bit that the layers give one at a time.
    #[test]
    fn a_stack_gives_the_bits_of_its_layers_one_at_a_time() {
        let wave =
            |n: usize, k: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * k).sin() * 0.4).collect() };
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        let (batch, steps, input, hidden) = (16, 20, 5, 32);
        for (cell, layers) in [
            (Cell::Elman(Nonlinearity::Tanh), 2),
            (Cell::Elman(Nonlinearity::Relu), 3),
            (Cell::Lstm, 2),
        ] {
            let rows = cell.gates() * hidden;
            let dims: Vec<Dims> = (0..layers)
                .map(|l| Dims {
                    batch,
                    steps,
                    input: if l == 0 { input } else { hidden },
                    hidden,
                })
                .collect();
            let weights: Vec<Weights> = dims
                .iter()
                .enumerate()
                .map(|(l, d)| Weights {
                    w_ih: wave(rows * d.input, 0.31 + l as f32 * 0.07),
                    w_hh: wave(rows * hidden, 0.13 + l as f32 * 0.05),
                    bias: wave(rows, 0.7),
                    cell,
                })
                .collect();
            let x = wave(batch * steps * input, 0.017);
            let dy = wave(batch * steps * hidden, 0.023);
            let split = stack_groups(&dims, cell).expect("the layers split alike");
            assert!(
                split > 1,
                "the shapes must be split for the test to mean anything"
            );

            let (top, saved) = forward_stack(&dims, &weights, &x, split);
            let want = Want {
                x: true,
                h_grad: true,
            };
            let (dx, grads) = backward_stack(&dims, &weights, &saved, &dy, want);

            let mut h = x.clone();
            let mut saved_each = Vec::new();
            for (d, w) in dims.iter().zip(&weights) {
                let (out, s) = forward(*d, w, &h);
                saved_each.push(s);
                h = out;
            }
            assert_eq!(bits(&top), bits(&h), "{cell:?}: top states");
            let mut g = dy.clone();
            for l in (0..layers).rev() {
                let each = backward(dims[l], &weights[l], &saved_each[l], &g, want);
                assert_eq!(grads[l].h_grad_sq, each.h_grad_sq, "{cell:?} layer {l}");
                assert_eq!(bits(&grads[l].w_ih), bits(&each.w_ih), "{cell:?} layer {l}");
                assert_eq!(bits(&grads[l].w_hh), bits(&each.w_hh), "{cell:?} layer {l}");
                assert_eq!(bits(&grads[l].bias), bits(&each.bias), "{cell:?} layer {l}");
                g = each.x.unwrap_or_default();
            }
            assert_eq!(bits(&dx.unwrap_or_default()), bits(&g), "{cell:?}: dL/dx");
        }
    }

    /// The regression this guards: the split once followed the pool's thread
    /// count, so `--jobs 1` and `--jobs 2` trained the same run to different
    /// bits.
    #[test]
    fn thread_count_changes_no_bit() {
        let d = Dims {
            batch: 16,
            steps: 20,
            input: 4,
            hidden: 24,
        };
        let cell = Cell::Lstm;
        assert!(
            groups(d, cell) > 1,
            "the shapes must be split for the test to mean anything"
        );
        let rows = cell.gates() * d.hidden;
        let wave =
            |n: usize, k: f32| -> Vec<f32> { (0..n).map(|i| (i as f32 * k).sin() * 0.3).collect() };
        let w = Weights {
            w_ih: wave(rows * d.input, 0.37),
            w_hh: wave(rows * d.hidden, 0.11),
            bias: wave(rows, 0.7),
            cell,
        };
        let x = wave(d.batch * d.steps * d.input, 0.013);
        let dy = wave(d.batch * d.steps * d.hidden, 0.029);
        let pass = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .expect("a thread pool");
            pool.install(|| {
                let (h, saved) = forward(d, &w, &x);
                (h, backward(d, &w, &saved, &dy, Want::default()))
            })
        };
        let differing = |a: &[f32], b: &[f32]| {
            a.iter()
                .zip(b)
                .filter(|(x, y)| x.to_bits() != y.to_bits())
                .count()
        };
        let ((h1, g1), (h2, g2), (h3, g3)) = (pass(1), pass(2), pass(3));
        for (threads, (h, g)) in [(2, (&h2, &g2)), (3, (&h3, &g3))] {
            let counts = [
                differing(&h1, h),
                differing(&g1.w_hh, &g.w_hh),
                differing(&g1.w_ih, &g.w_ih),
                differing(&g1.bias, &g.bias),
            ];
            assert_eq!(
                counts, [0; 4],
                "entries of h, dW_hh, dW_ih, db that differ between 1 and {threads} threads"
            );
        }
    }
}
