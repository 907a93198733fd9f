#!/usr/bin/env python3
"""PyTorch reference values for initlab's host AdamW (torch.optim.AdamW).

Writes crates/train/tests/fixtures/torch_adamw.json, read by
crates/train/tests/optimizers.rs (torch is needed only to regenerate it).

Three parameter tensors of the shapes a recurrent study has (a matrix, a
square matrix, a bias), drawn in float32 with a fixed seed, and for each of
six steps a gradient per tensor (also float32, with a large and a tiny
scale so both the ε and the decay terms matter). torch.optim.AdamW with the
RNN study's settings (lr 0.01, betas 0.9/0.999, eps 1e-8, weight_decay 0.01)
takes the steps on float32 parameters, on the CPU, its default single-tensor
path (foreach and fused off), and the fixture records every tensor after
every step. JSON numbers are Python float reprs of float32 values, so they
read back bit-exactly.

Run from the workspace root (needs torch 2.9; numpy is not needed):

    .venv-torch/bin/python scripts/torch_adamw_fixture.py
"""

import json
import os
import warnings

warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
import torch  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "crates/train/tests/fixtures/torch_adamw.json")

SHAPES = {"w_ih": [6, 4], "w_hh": [6, 6], "bias": [6]}
SETTINGS = {"lr": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.01}
STEPS = 6


def values(t):
    return t.detach().reshape(-1).tolist()


def main():
    torch.manual_seed(20240611)
    params = {n: torch.nn.Parameter(torch.randn(s, dtype=torch.float32)) for n, s in SHAPES.items()}
    initial = {n: values(p) for n, p in params.items()}
    optim = torch.optim.AdamW(
        list(params.values()),
        lr=SETTINGS["lr"],
        betas=(SETTINGS["beta1"], SETTINGS["beta2"]),
        eps=SETTINGS["epsilon"],
        weight_decay=SETTINGS["weight_decay"],
        foreach=False,
        fused=False,
    )
    steps = []
    for step in range(STEPS):
        grads = {}
        for i, (name, p) in enumerate(params.items()):
            scale = [1.0, 1e-3, 30.0][(step + i) % 3]
            g = (torch.randn(p.shape, dtype=torch.float32) * scale).to(torch.float32)
            p.grad = g.clone()
            grads[name] = values(g)
        optim.step()
        steps.append({"grads": grads, "params": {n: values(p) for n, p in params.items()}})
    fixture = {
        "torch": torch.__version__,
        "settings": SETTINGS,
        "shapes": SHAPES,
        "initial": initial,
        "steps": steps,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(fixture, f, indent=1)
        f.write("\n")
    print(f"wrote {OUT} ({STEPS} steps, torch {torch.__version__})")


if __name__ == "__main__":
    main()
