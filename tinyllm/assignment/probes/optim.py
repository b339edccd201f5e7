"""Probes of the optimizers' steps: SGD with momentum, Adam and AdamW."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinyllm as tl
from tinyllm import nn, optim

from .common import Seen, manual_seed, probe, rng, shape_and_dtype, train


def _follow(seen: Seen, make: Callable[[list[tl.Tensor]], Any], what: str, r: np.random.Generator) -> None:
    """Five steps of the optimizer on given gradients: the parameter after each."""
    p = tl.tensor(r.standard_normal((3, 4)), requires_grad=True)
    opt = make([p])
    for step in range(5):
        p.grad = tl.tensor(r.standard_normal((3, 4)))
        opt.step()
        seen(f"{what}, after step {step + 1}", p)


def _shapes(seen: Seen, make: Callable[[list[tl.Tensor]], Any], name: str, r: np.random.Generator) -> None:
    p = tl.tensor(r.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    idle = tl.tensor(r.standard_normal(5).astype(np.float32), requires_grad=True)
    opt = make([p, idle])
    for _ in range(2):
        p.grad = tl.tensor(r.standard_normal((3, 4)).astype(np.float32))
        opt.step()
    shape_and_dtype(seen, f"{name}: the parameter after two steps", p)
    seen(f"{name}: the parameter after two steps", p)
    seen(f"{name}: a parameter without gradient (unchanged)", idle)


def _fit(seen: Seen, make: Callable[[list[tl.Tensor]], Any], steps: int, name: str, seed: int) -> None:
    """Linear regression from a random start."""
    manual_seed(seed)
    r = rng(seed, 60)
    x = tl.tensor(r.standard_normal((64, 5)), dtype=tl.float32)
    y = x @ tl.tensor(r.standard_normal((5, 1)), dtype=tl.float32) - 1.0
    model = nn.Linear(5, 1)
    train(seen, f"{name} on a linear regression", lambda: ((model(x) - y) ** 2).mean(),
          make(list(model.parameters())), steps)  # fmt: skip


# ----------------------------------------------------------------------------- SGD

_SGD_CASES = [
    {}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.1}, {"momentum": 0.3, "maximize": True},
]  # fmt: skip


@probe
def sgd_shapes(seen: Seen, seed: int) -> None:
    _shapes(seen, lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "SGD", rng(seed, 61))


@probe
def sgd_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 62)
    for kw in _SGD_CASES:
        _follow(seen, lambda ps, kw=kw: optim.SGD(ps, lr=0.1, **kw), f"SGD({kw})", r)


@probe
def sgd_training(seen: Seen, seed: int) -> None:
    _fit(seen, lambda ps: optim.SGD(ps, lr=0.02, momentum=0.9), 150, "SGD with momentum", seed)


# ----------------------------------------------------------------------------- Adam

_ADAM_CASES = [{}, {"weight_decay": 0.1}, {"amsgrad": True}, {"maximize": True, "betas": (0.8, 0.9)}]


@probe
def adam_shapes(seen: Seen, seed: int) -> None:
    _shapes(seen, lambda ps: optim.Adam(ps, lr=0.1), "Adam", rng(seed, 63))


@probe
def adam_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 64)
    for kw in _ADAM_CASES:
        _follow(seen, lambda ps, kw=kw: optim.Adam(ps, lr=0.1, **kw), f"Adam({kw})", r)


@probe
def adamw_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 65)
    for kw in ({"weight_decay": 0.1}, {"weight_decay": 0.5, "amsgrad": True}):
        _follow(seen, lambda ps, kw=kw: optim.AdamW(ps, lr=0.1, **kw), f"AdamW({kw})", r)


@probe
def adam_training(seen: Seen, seed: int) -> None:
    _fit(seen, lambda ps: optim.Adam(ps, lr=0.05), 200, "Adam", seed)
