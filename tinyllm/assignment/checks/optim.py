"""Checks of the optimizers' steps: SGD with momentum, Adam and AdamW, against PyTorch's rules in NumPy."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

import tinyllm as tl
from tinyllm import nn, optim

from .common import check, close, expect, rng, train


def _sgd(p: np.ndarray, grads: list[np.ndarray], lr: float, momentum: float = 0.0, dampening: float = 0.0,
         weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False) -> list[np.ndarray]:  # fmt: skip
    """PyTorch's SGD in NumPy: the parameter after each step."""
    trajectory, buf = [], None
    for g in grads:
        g = -g if maximize else g
        g = g + weight_decay * p
        if momentum:
            buf = g.copy() if buf is None else momentum * buf + (1 - dampening) * g
            g = g + momentum * buf if nesterov else buf
        p = p - lr * g
        trajectory.append(p)
    return trajectory


def _adam(p: np.ndarray, grads: list[np.ndarray], lr: float, betas: tuple[float, float] = (0.9, 0.999),
          eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False, maximize: bool = False,
          decoupled: bool = False) -> list[np.ndarray]:  # fmt: skip
    """PyTorch's Adam (``decoupled=True``: AdamW) in NumPy: the parameter after each step."""
    b1, b2 = betas
    m = v = v_max = np.zeros_like(p)
    trajectory = []
    for t, g in enumerate(grads, 1):
        g = -g if maximize else g
        if not decoupled:
            g = g + weight_decay * p
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        v_max = np.maximum(v_max, v)
        v_hat = (v_max if amsgrad else v) / (1 - b2**t)
        p = p - lr * (m / (1 - b1**t)) / (np.sqrt(v_hat) + eps) - (lr * weight_decay * p if decoupled else 0)
        trajectory.append(p)
    return trajectory


def _follows(make: Callable[[list[tl.Tensor]], Any], reference: Callable[..., list[np.ndarray]], what: str,
             seed: int, rtol: float = 1e-9) -> None:  # fmt: skip
    """Five steps of the optimizer on given gradients land where the NumPy rule says."""
    r = rng(seed)
    p0 = r.standard_normal((3, 4))
    grads = [r.standard_normal((3, 4)) for _ in range(5)]
    p = tl.tensor(p0, requires_grad=True)
    opt = make([p])
    for step, (g, expected) in enumerate(zip(grads, reference(p0, grads))):
        p.grad = tl.tensor(g)
        opt.step()
        close(p, expected, f"{what}, after step {step + 1}", rtol=rtol, atol=1e-12)


def _shapes(make: Callable[[list[tl.Tensor]], Any], name: str) -> None:
    r = rng(60)
    p = tl.tensor(r.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    idle = tl.tensor(r.standard_normal(5).astype(np.float32), requires_grad=True)
    before, idle_before = p.detach().numpy().copy(), idle.detach().numpy().copy()
    opt = make([p, idle])
    for _ in range(2):
        p.grad = tl.tensor(r.standard_normal((3, 4)).astype(np.float32))
        opt.step()
    expect(p.shape == (3, 4) and p.dtype == tl.float32, f"{name}: the parameter became {p.shape} {p.dtype}")
    expect((p.detach().numpy() != before).all(), f"{name}: step() did not change every element of the parameter")
    expect((idle.detach().numpy() == idle_before).all(), f"{name}: a parameter without gradient changed")


def _fit(make: Callable[[list[tl.Tensor]], Any], steps: int, name: str) -> None:
    """Linear regression from a random start; the loss must fall by 100x."""
    tl.manual_seed(0)
    r = rng(61)
    x = tl.tensor(r.standard_normal((64, 5)), dtype=tl.float32)
    y = x @ tl.tensor(r.standard_normal((5, 1)), dtype=tl.float32) - 1.0
    model = nn.Linear(5, 1)
    opt = make(list(model.parameters()))

    first, last = train(lambda: ((model(x) - y) ** 2).mean(), opt, steps)
    expect(last < 0.01 * first, f"{name} did not fit a linear regression: loss {first:.3g} -> {last:.3g}")


# ----------------------------------------------------------------------------- SGD

_SGD_CASES = [
    {}, {"momentum": 0.9}, {"momentum": 0.9, "dampening": 0.5}, {"momentum": 0.9, "nesterov": True},
    {"momentum": 0.5, "weight_decay": 0.1}, {"momentum": 0.3, "maximize": True},
]  # fmt: skip


@check
def sgd_shapes() -> None:
    _shapes(lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), "SGD")


@check
def sgd_values() -> None:
    for i, kw in enumerate(_SGD_CASES):
        _follows(lambda ps, kw=kw: optim.SGD(ps, lr=0.1, **kw), lambda p, g, kw=kw: _sgd(p, g, 0.1, **kw),
                 f"SGD({kw})", seed=62 + i)  # fmt: skip


@check
def sgd_training() -> None:
    _fit(lambda ps: optim.SGD(ps, lr=0.02, momentum=0.9), 150, "SGD with momentum")


# ----------------------------------------------------------------------------- Adam

_ADAM_CASES = [{}, {"weight_decay": 0.1}, {"amsgrad": True}, {"maximize": True, "betas": (0.8, 0.9)}]


@check
def adam_shapes() -> None:
    _shapes(lambda ps: optim.Adam(ps, lr=0.1), "Adam")


@check
def adam_values() -> None:
    for i, kw in enumerate(_ADAM_CASES):
        _follows(lambda ps, kw=kw: optim.Adam(ps, lr=0.1, **kw), lambda p, g, kw=kw: _adam(p, g, 0.1, **kw),
                 f"Adam({kw})", seed=70 + i)  # fmt: skip


@check
def adamw_values() -> None:
    for i, kw in enumerate([{"weight_decay": 0.1}, {"weight_decay": 0.5, "amsgrad": True}]):
        _follows(lambda ps, kw=kw: optim.AdamW(ps, lr=0.1, **kw),
                 lambda p, g, kw=kw: _adam(p, g, 0.1, decoupled=True, **kw), f"AdamW({kw})", seed=80 + i)  # fmt: skip


@check
def adam_training() -> None:
    _fit(lambda ps: optim.Adam(ps, lr=0.05), 200, "Adam")
