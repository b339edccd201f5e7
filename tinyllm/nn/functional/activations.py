"""Activations composed from primitive ops: SiLU, leaky ReLU, ELU and softplus.

Each is built from ``where``, ``exp``, ``log``, ``sigmoid`` and arithmetic, so autograd
derives its gradient; the docstrings give the derivative that results.

``inplace`` is accepted, so that PyTorch code runs unchanged, but it is ignored: the
result is always a new tensor and the input is left as it was (tinyllm records no
in-place ops in a graph).
"""

from __future__ import annotations

from tinyllm import backend, ops
from tinyllm.ops.arguments import require_floating
from tinyllm.tensor import Tensor, from_array


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """x * sigmoid(x) (also called swish);  d/dx = s (1 + x (1 - s)) with s = sigmoid(x)."""
    require_floating(input, "silu")
    return input * ops.sigmoid(input)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """x for x > 0, else negative_slope * x;  d/dx = 1 or negative_slope (the slope at 0, as in PyTorch)."""
    require_floating(input, "leaky_relu")
    return ops.where(input.data > 0, input, input * negative_slope)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """x for x > 0, else alpha (e^x - 1);  d/dx = 1 or alpha e^x (alpha at 0, as in PyTorch).

    The exponential only sees min(x, 0): e^x of a large positive x would overflow to inf
    in the branch that ``where`` discards, and its zero gradient times inf is NaN.
    PyTorch uses expm1; e^x - 1 loses relative precision for |x| below about 1e-8, where
    the result itself is below 1e-8 (absolute error about 1e-16).
    """
    require_floating(input, "elu")
    negative = alpha * (ops.exp(ops.clamp(input, max=0.0)) - 1)
    return ops.where(input.data > 0, input, negative)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """(1 / beta) log(1 + e^(beta x)), a smooth relu;  d/dx = sigmoid(beta x).

    Where beta x > threshold the result is x itself (with slope 1), as in PyTorch: there
    log(1 + e^z) and z agree to within e^-threshold. Elsewhere, with z = beta x,

        log(1 + e^z) = max(z, 0) + log(1 + e^-|z|),

    so no exponential overflows. ``max(z, 0) = (|z| + z) / 2`` and ``|z| = s z`` with a
    constant sign s that is +1 at z = 0: the subgradients of relu and abs (both 0 at 0) would
    give slope 0 at z = 0 instead of 1/2. PyTorch uses log1p; log(1 + e^-|z|) rounds e^-|z|
    away below about 1e-16, where the result is that small (absolute error about 1e-16).
    """
    require_floating(input, "softplus")
    xp = backend.get_array_module(input.data)
    z = input * beta
    sign = from_array(xp.where(z.data < 0, -1, 1).astype(input.dtype))
    abs_z = z * sign
    smooth = ((abs_z + z) * 0.5 + ops.log(1 + ops.exp(-abs_z))) / beta
    return ops.where(z.data > threshold, input, smooth)
