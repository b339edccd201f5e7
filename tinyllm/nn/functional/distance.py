"""Vector norms and angles: ``normalize`` (unit vectors along a dim) and ``cosine_similarity``.

Both divide by a norm floored at a small eps, so a zero vector gives zeros, not NaN.
"""

from __future__ import annotations

import math

import numpy

from tinyllm import backend, ops
from tinyllm.ops.arguments import dim_index, require_floating
from tinyllm.tensor import Tensor


def clamped_norm(x: Tensor, p: float, dim: int, eps: float) -> Tensor:
    """max(||x||_p, eps) along ``dim`` (kept, size 1), for p > 0 or p = inf.

    Where the norm is below eps the result is the constant eps, with zero gradient, as
    PyTorch's clamp gives. The norm is computed there from a stand-in (1) rather than from
    x: the derivative of ||x|| at x = 0 is 0 / 0, and NaN times a zero gradient stays NaN.
    """
    if p == math.inf:
        norm = ops.amax(ops.abs(x), dim=dim, keepdim=True)
        return ops.where(norm.data < eps, eps, norm)
    powers = x * x if p == 2 else ops.abs(x) ** p
    total = powers.sum(dim=dim, keepdim=True)
    small = total.data ** (1.0 / p) < eps
    norm = ops.where(small, 1.0, total) ** (1.0 / p)
    return ops.where(small, eps, norm)


def normalize(input: Tensor, p: float = 2.0, dim: int = 1, eps: float = 1e-12) -> Tensor:
    """x / max(||x||_p, eps) along ``dim``: each vector scaled to unit p-norm (a zero vector stays zero).

    ``p`` is a positive number or ``math.inf``; PyTorch also reads p <= 0 (p = 0 counts the
    non-zero elements), which tinyllm refuses.
    """
    fn = "normalize"
    require_floating(input, fn)
    if not p > 0:
        raise ValueError(f"{fn}: p must be positive (or math.inf), not {p}")
    return input / clamped_norm(input, p, dim_index(dim, input.ndim, fn), eps)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    """cos(x1, x2) = sum(x1 * x2) / (max(||x1||, eps) max(||x2||, eps)) along ``dim``, which is removed.

    x1 and x2 broadcast to a common shape, and ``dim`` counts in that shape. Each vector is
    divided by its own floored norm before the product (PyTorch's order), so the result stays
    in [-1, 1] and a zero vector gives 0.

    The gradient is that of this formula. Where 0 < ||x|| < eps, PyTorch's also carries the
    derivative of the unclamped norm (it clamps outside autograd); the two differ there by a
    relative ||x|| / eps.
    """
    fn = "cosine_similarity"
    for x in (x1, x2):
        require_floating(x, fn)
    try:
        shape = numpy.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"{fn}: shapes {x1.shape} and {x2.shape} do not broadcast") from None
    d = dim_index(dim, len(shape), fn)
    a = x1 if x1.shape == shape else ops.expand(x1, *shape)
    b = x2 if x2.shape == shape else ops.expand(x2, *shape)
    backend.check_same_device([a.data, b.data], fn)
    return ((a / clamped_norm(a, 2.0, d, eps)) * (b / clamped_norm(b, 2.0, d, eps))).sum(dim=d)
