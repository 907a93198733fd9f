#!/usr/bin/env python3
"""PyTorch reference values for initlab's recurrent layers and global-norm clipping.

Writes two JSON fixtures that the Rust tests read (torch is not needed to run
the tests, only to regenerate the fixtures):

crates/models/tests/fixtures/torch_recurrent.json
    Five cases: nn.RNN tanh 1 layer, nn.RNN relu 2 layers, nn.RNN tanh without
    bias, nn.LSTM 1 layer, nn.LSTM 2 layers (all batch_first=True, batch 3,
    input 4, hidden 5, T 5 to 7). Per case: every parameter by PyTorch name in
    named_parameters() order (shape, row-major values), the input x, two fixed
    projections C [batch, T, H] and D [batch, H], and for

        loss = sum(output * C) + sum(h_n[-1] * D)

    PyTorch's loss and the gradient of every parameter and of x. Read by
    crates/models/tests/torch_fixture.rs.

crates/train/tests/fixtures/torch_clip.json
    Gradient tensors, max_norm, and what torch.nn.utils.clip_grad_norm_
    (norm_type 2) returns and leaves in .grad, for a case that clips, one that
    does not and one with an all-zero tensor. Read by crates/train/tests/clip.rs.

Inputs (weights, x, C, D, gradients to clip) are drawn in float32 with a fixed
torch.manual_seed; the references are computed in float64 from exactly those
values, so a float32 implementation is compared against exact results. JSON
numbers are Python float reprs, so every float32 input reads back bit-exactly.
Each case also records how far PyTorch's own float32 run is from the float64
reference (`torch_f32_max_rel_err`), the scale of error a float32 port can have.

Run from the workspace root (needs torch 2.9; numpy is not needed):

    .venv-torch/bin/python scripts/torch_recurrent_fixture.py
"""

import copy
import json
import os
import struct
import sys
import warnings

# torch warns at import when numpy is absent; nothing here uses numpy.
warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RECURRENT_OUT = os.path.join(ROOT, "crates/models/tests/fixtures/torch_recurrent.json")
CLIP_OUT = os.path.join(ROOT, "crates/train/tests/fixtures/torch_clip.json")

BATCH, INPUT, HIDDEN = 3, 4, 5


def f32_list(t):
    """A float32 tensor's values, flattened row-major, as Python floats (exact)."""
    assert t.dtype == torch.float32, t.dtype
    values = t.detach().reshape(-1).tolist()
    for v in values:
        # The repr written to JSON reads back as this exact float32 value.
        assert struct.unpack("f", struct.pack("f", float(repr(v))))[0] == v
    return values


def f64_list(t):
    assert t.dtype == torch.float64, t.dtype
    return t.detach().reshape(-1).tolist()


def max_rel_err(a, ref):
    """max |a - ref| / max |ref|, as the Rust test measures it."""
    scale = ref.abs().max().item()
    diff = (a.double() - ref).abs().max().item()
    return diff / scale if scale > 0 else diff


def loss_and_grads(module, x, c, d):
    """The loss and its gradients (parameters by name, then x) for `module`."""
    x = x.clone().requires_grad_(True)
    out, h_n = module(x)
    if isinstance(h_n, tuple):  # LSTM: (h_n, c_n)
        h_n = h_n[0]
    # h_n[-1] is the top layer's last state; with batch_first it equals out[:, -1].
    loss = (out * c).sum() + (h_n[-1] * d).sum()
    module.zero_grad()
    loss.backward()
    grads = [(name, p.grad.detach().clone()) for name, p in module.named_parameters()]
    grads.append(("x", x.grad.detach().clone()))
    return loss.detach(), grads, out.detach()


def relu_preactivations(rnn, x):
    """Every pre-activation of a relu nn.RNN, recomputed by hand."""
    pre, seq = [], x
    with torch.no_grad():
        for l in range(rnn.num_layers):
            w_ih, w_hh = getattr(rnn, f"weight_ih_l{l}"), getattr(rnn, f"weight_hh_l{l}")
            b = getattr(rnn, f"bias_ih_l{l}") + getattr(rnn, f"bias_hh_l{l}")
            h = torch.zeros(x.shape[0], rnn.hidden_size, dtype=x.dtype)
            states = []
            for t in range(seq.shape[1]):
                a = seq[:, t] @ w_ih.T + h @ w_hh.T + b
                pre.append(a)
                h = torch.relu(a)
                states.append(h)
            seq = torch.stack(states, 1)
        out, _ = rnn(x)
        assert (out - seq).abs().max().item() < 1e-12, "hand recurrence disagrees with nn.RNN"
    return torch.cat([a.reshape(-1) for a in pre])


def recurrent_case(name, seed, kind, steps, **kwargs):
    torch.manual_seed(seed)
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM}[kind]
    # PyTorch's default init, U(±1/√H), in float32.
    m32 = cls(INPUT, HIDDEN, batch_first=True, **kwargs)
    x = torch.randn(BATCH, steps, INPUT)
    c = torch.randn(BATCH, steps, HIDDEN) / steps
    d = torch.randn(BATCH, HIDDEN)

    m64 = copy.deepcopy(m32).double()
    loss, grads, out = loss_and_grads(m64, x.double(), c.double(), d.double())
    loss32, grads32, _ = loss_and_grads(m32, x, c, d)
    f32_err = max(max_rel_err(g32, g) for (_, g32), (_, g) in zip(grads32, grads))
    f32_err = max(f32_err, abs(loss32.item() - loss.item()) / max(abs(loss.item()), 1.0))

    if kwargs.get("nonlinearity") == "relu":
        # A pre-activation near the kink would make float32 and float64 take
        # different branches of relu: keep every one well away from 0.
        pre = relu_preactivations(m64, x.double())
        assert (pre > 0).any() and (pre < 0).any(), "relu case should use both sides"
        assert pre.abs().min().item() > 1e-4, f"pre-activation {pre.abs().min().item()} near 0"

    return {
        "name": name,
        "module": {"rnn": "RNN", "lstm": "LSTM"}[kind],
        "nonlinearity": kwargs.get("nonlinearity", "tanh") if kind == "rnn" else None,
        "num_layers": kwargs.get("num_layers", 1),
        "bias": kwargs.get("bias", True),
        "batch": BATCH,
        "steps": steps,
        "input": INPUT,
        "hidden": HIDDEN,
        "seed": seed,
        "params": [
            {"name": n, "shape": list(p.shape), "values": f32_list(p)}
            for n, p in m32.named_parameters()
        ],
        "x": {"shape": list(x.shape), "values": f32_list(x)},
        "c_states": {"shape": list(c.shape), "values": f32_list(c)},
        "d_last": {"shape": list(d.shape), "values": f32_list(d)},
        "loss": loss.item(),
        "grads": [{"name": n, "values": f64_list(g)} for n, g in grads],
        "torch_f32_max_rel_err": f32_err,
    }


def clip_case(name, seed, shapes, scales, max_norm):
    torch.manual_seed(seed)
    grads32 = [torch.randn(*s) * k for s, k in zip(shapes, scales)]

    def run(dtype):
        params = [torch.zeros(s, dtype=dtype, requires_grad=True) for s in shapes]
        for p, g in zip(params, grads32):
            p.grad = g.to(dtype).clone()
        total = torch.nn.utils.clip_grad_norm_(params, max_norm, norm_type=2.0)
        return total.item(), [p.grad for p in params]

    total, clipped = run(torch.float64)
    total32, clipped32 = run(torch.float32)
    assert abs(total32 - total) <= 1e-6 * total
    for g32, g in zip(clipped32, clipped):
        assert max_rel_err(g32, g) <= 1e-6
    return {
        "name": name,
        "max_norm": max_norm,
        "norm_type": 2.0,
        "grads": [{"shape": list(g.shape), "values": f32_list(g)} for g in grads32],
        "total_norm": total,
        "clips": max_norm / (total + 1e-6) < 1.0,
        "clipped": [f64_list(g) for g in clipped],
    }


def write(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(data, f, separators=(",", ":"))
        f.write("\n")
    print(f"wrote {os.path.relpath(path, ROOT)} ({os.path.getsize(path)} bytes)")


def main():
    torch.use_deterministic_algorithms(True)
    header = {
        "generator": "scripts/torch_recurrent_fixture.py",
        "torch_version": torch.__version__,
        "python_version": sys.version.split()[0],
    }
    cases = [
        recurrent_case("rnn_tanh_1_layer", 1, "rnn", 5, nonlinearity="tanh"),
        recurrent_case("rnn_relu_2_layers", 2, "rnn", 7, nonlinearity="relu", num_layers=2),
        recurrent_case("rnn_tanh_no_bias", 3, "rnn", 6, nonlinearity="tanh", bias=False),
        recurrent_case("lstm_1_layer", 4, "lstm", 6),
        recurrent_case("lstm_2_layers", 5, "lstm", 7, num_layers=2),
    ]
    for c in cases:
        print(f"{c['name']}: loss {c['loss']:.6f}, torch f32 vs f64 {c['torch_f32_max_rel_err']:.2e}")
    write(
        RECURRENT_OUT,
        {
            **header,
            "loss": "sum(output * c_states) + sum(h_n[-1] * d_last)",
            "reference_dtype": "float64",
            "cases": cases,
        },
    )
    shapes = [[3, 4], [3], [2, 5]]
    clips = [
        clip_case("clips", 10, shapes, [1.0, 0.5, 2.0], 1.0),
        clip_case("below_max_norm", 11, shapes, [0.1, 0.1, 0.1], 5.0),
        clip_case("clips_with_zero_tensor", 12, shapes, [3.0, 0.0, 1.0], 0.25),
    ]
    for c in clips:
        print(f"clip {c['name']}: total norm {c['total_norm']:.6f}, max_norm {c['max_norm']}, clips {c['clips']}")
    assert [c["clips"] for c in clips] == [True, False, True]
    write(CLIP_OUT, {**header, "reference_dtype": "float64", "cases": clips})


if __name__ == "__main__":
    main()
