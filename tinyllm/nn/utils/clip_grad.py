"""Gradient clipping: bound the size of a step when a gradient explodes."""

from __future__ import annotations

import math
from collections.abc import Iterable

import numpy

from tinyllm import backend
from tinyllm.tensor import Tensor, from_array


def _grads(parameters: Iterable[Tensor] | Tensor) -> list[Tensor]:
    params = [parameters] if isinstance(parameters, Tensor) else list(parameters)
    return [p.grad for p in params if p.grad is not None]


def clip_grad_norm_(
    parameters: Iterable[Tensor] | Tensor, max_norm: float, norm_type: float = 2.0,
    error_if_nonfinite: bool = False,
) -> Tensor:  # fmt: skip
    """Scale all gradients together so that their joint norm is at most ``max_norm``.

    The total norm is taken over every gradient as if concatenated into one vector
    (``norm_type`` 2, 1, ... or ``math.inf``); each gradient is multiplied by
    min(1, max_norm / (total + 1e-6)), which keeps the step's direction and only
    shortens it. Returns the total norm before clipping (PyTorch's semantics).
    """
    grads = _grads(parameters)
    if not grads:
        return from_array(numpy.zeros((), dtype=backend.DEFAULT_DTYPE))
    xp = backend.get_array_module(grads[0].data)
    if norm_type == math.inf:
        norms = [xp.abs(g.data).max() for g in grads]
        total = xp.max(xp.stack(norms))
    else:
        norms = [(xp.abs(g.data) ** norm_type).sum() ** (1.0 / norm_type) for g in grads]
        total = (xp.stack(norms) ** norm_type).sum() ** (1.0 / norm_type)
    if error_if_nonfinite and not bool(xp.isfinite(total)):
        raise RuntimeError(
            f"clip_grad_norm_: the total norm of the gradients is {float(total)}; "
            "pass error_if_nonfinite=False to clip anyway"
        )
    coef = min(1.0, float(max_norm) / (float(total) + 1e-6))
    for g in grads:
        g.data *= g.data.dtype.type(coef)
    return from_array(xp.asarray(total))


def clip_grad_value_(parameters: Iterable[Tensor] | Tensor, clip_value: float) -> None:
    """Clamp every gradient element into [-clip_value, clip_value] (changes the direction)."""
    for g in _grads(parameters):
        backend.get_array_module(g.data).clip(g.data, -clip_value, clip_value, out=g.data)
