"""Elementwise ops: arithmetic, activations, clamp, maximum and minimum, where.

Binary ops broadcast like NumPy (and PyTorch): shapes are aligned from the
right and size-1 dimensions stretch. The backward pass undoes the stretching
with :func:`unbroadcast`: a value that was used k times gets the sum of its
k gradients.
"""

from __future__ import annotations

import math
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import floating, meet_number, operands, require_floating
from tinyllm.ops.copy import to_dtype
from tinyllm.ops.special import normal_cdf
from tinyllm.ops.threads import parallel_for
from tinyllm.tensor import Tensor


def unbroadcast(grad: Any, shape: tuple[int, ...]) -> Any:
    """Sum ``grad`` down to ``shape``, the inverse of broadcasting ``shape`` up to ``grad.shape``.

    Dimensions that broadcasting added in front are summed away; dimensions
    where ``shape`` has size 1 are summed with keepdims.
    """
    if grad.shape == shape:
        return grad
    # BEGIN SOLUTION task=unbroadcast
    lead = grad.ndim - len(shape)
    axes = tuple(range(lead)) + tuple(
        lead + i for i, n in enumerate(shape) if n == 1 and grad.shape[lead + i] != 1
    )
    return grad.sum(axis=axes, keepdims=True).reshape(shape)
    # END SOLUTION


# ----------------------------------------------------------------------------- arithmetic


class Add(Function):
    """y = a + b;  dy/da = 1, dy/db = 1."""

    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = a.shape, b.shape
        return a + b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(gy, sb)


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(*operands(a, b, "add"))


class Sub(Function):
    """y = a - b;  dy/da = 1, dy/db = -1."""

    def forward(self, a: Any, b: Any) -> Any:
        self.shapes = a.shape, b.shape
        return a - b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        return unbroadcast(gy, sa), unbroadcast(-gy, sb) if self.needs_grad(1) else None


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(*operands(a, b, "sub"))


class Mul(Function):
    """y = a * b;  dy/da = b, dy/db = a."""

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a * b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # BEGIN SOLUTION task=elementwise
        a, b = self.a, self.b
        ga = unbroadcast(gy * b, a.shape) if self.needs_grad(0) else None
        gb = unbroadcast(gy * a, b.shape) if self.needs_grad(1) else None
        return ga, gb
        # END SOLUTION


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*operands(a, b, "mul"))


class Div(Function):
    """y = a / b;  dy/da = 1/b, dy/db = -a/b^2 = -y/b."""

    def forward(self, a: Any, b: Any) -> Any:
        self.b = b
        self.y = a / b
        self.a_shape = a.shape
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # BEGIN SOLUTION task=elementwise
        ga = gy / self.b
        gb = unbroadcast(-ga * self.y, self.b.shape) if self.needs_grad(1) else None
        return unbroadcast(ga, self.a_shape), gb
        # END SOLUTION


def div(a: Any, b: Any) -> Tensor:
    """True division: integer operands give float32, as in PyTorch."""
    a, b = operands(a, b, "div")
    if not backend.is_floating(a.dtype):  # then neither is floating, after _pair
        a, b = to_dtype(a, backend.DEFAULT_DTYPE), to_dtype(b, backend.DEFAULT_DTYPE)
    return Div.apply(a, b)


class Neg(Function):
    """y = -x;  dy/dx = -1."""

    def forward(self, x: Any) -> Any:
        return -x

    def backward(self, gy: Any) -> Any:
        return -gy


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


class Pow(Function):
    """y = a^b for tensors a and b;  dy/da = b a^(b-1),  dy/db = a^b ln(a) (defined for a > 0).

    Where b = 0, y = 1 whatever a is, so dy/da = 0, also at a = 0 (where b a^(b-1) is 0 * inf).
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        self.y = a**b
        return self.y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        a, b, y = self.a, self.b, self.y
        xp = get_array_module(a)
        # where b = 0 take a^1 instead of a^(b-1): then b a^1 = 0 even at a = 0, and no 0^-1 is formed
        ga = unbroadcast(gy * b * a ** xp.where(b == 0, 1, b - 1), a.shape) if self.needs_grad(0) else None
        gb = unbroadcast(gy * y * xp.log(a), b.shape) if self.needs_grad(1) else None
        return ga, gb


class PowScalar(Function):
    """y = x^p for a Python number p;  dy/dx = p x^(p-1), and 0 for p = 0 (also at x = 0)."""

    def forward(self, x: Any, p: float) -> Any:
        self.x, self.p = x, p
        return x**p

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=penalties
        x, p = self.x, self.p
        if p == 0:
            return get_array_module(gy).zeros_like(gy)
        return gy * (p * x ** (p - 1))
        # END SOLUTION


def pow(base: Any, exponent: Any) -> Tensor:
    """``base ** exponent``; a Python-number exponent uses the simpler ``PowScalar``."""
    if isinstance(base, Tensor) and isinstance(exponent, (int, float)):
        return PowScalar.apply(meet_number(base, exponent), p=exponent)
    return Pow.apply(*operands(base, exponent, "pow"))


# ----------------------------------------------------------------------------- functions


class Exp(Function):
    """y = exp(x);  dy/dx = exp(x) = y."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).exp(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=elementwise
        return gy * self.y
        # END SOLUTION


def exp(x: Tensor) -> Tensor:
    return Exp.apply(floating(x))


class Log(Function):
    """y = ln(x);  dy/dx = 1/x."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log(x)

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=elementwise
        return gy / self.x
        # END SOLUTION


def log(x: Tensor) -> Tensor:
    return Log.apply(floating(x))


class Sqrt(Function):
    """y = sqrt(x);  dy/dx = 1 / (2 sqrt(x)) = 0.5 / y."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        return gy * 0.5 / self.y


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(floating(x))


class Abs(Function):
    """y = |x|;  dy/dx = sign(x), taken as 0 at x = 0 (as PyTorch does)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).abs(x)

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=penalties
        return gy * get_array_module(gy).sign(self.x)
        # END SOLUTION


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


class Tanh(Function):
    """y = tanh(x);  dy/dx = 1 - tanh(x)^2 = 1 - y^2."""

    def forward(self, x: Any) -> Any:
        self.y = get_array_module(x).tanh(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=elementwise
        y = self.y
        return gy * (1 - y * y)
        # END SOLUTION


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(floating(x))


class Sigmoid(Function):
    """y = 1 / (1 + exp(-x));  dy/dx = y (1 - y).

    Computed from z = exp(-|x|) <= 1 so that no exp overflows: for x >= 0,
    y = 1 / (1 + z); for x < 0, y = z / (1 + z).
    """

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        z = xp.exp(-xp.abs(x))
        self.y = xp.where(x >= 0, 1, z) / (1 + z)
        return self.y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * y * (1 - y)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(floating(x))


class ReLU(Function):
    """y = max(x, 0);  dy/dx = 1 where x > 0, else 0 (0 at the kink x = 0)."""

    def forward(self, x: Any) -> Any:
        self.positive = x > 0
        return x * self.positive

    def backward(self, gy: Any) -> Any:
        return gy * self.positive


def relu(x: Tensor) -> Tensor:
    return ReLU.apply(x)


_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_GRAIN = 1 << 15  # elements per thread at least: below, one thread is faster


class GELU(Function):
    """y = x Phi(x), with Phi the standard normal CDF, Phi(x) = (1 + erf(x / sqrt 2)) / 2;
    dy/dx = Phi(x) + x phi(x), with phi(x) = exp(-x^2 / 2) / sqrt(2 pi).

    Both passes run over slices of the flattened array on several threads
    (:func:`~tinyllm.ops.threads.parallel_for`): an MLP's activations are large.
    """

    def forward(self, x: Any) -> Any:
        xp = get_array_module(x)
        x = x if x.flags.c_contiguous else x.copy()  # flat slices below
        y, cdf = xp.empty_like(x), xp.empty_like(x)
        xf, yf, cf = x.reshape(-1), y.reshape(-1), cdf.reshape(-1)

        def part(lo: int, hi: int) -> None:
            normal_cdf(xf[lo:hi], out=cf[lo:hi])
            xp.multiply(xf[lo:hi], cf[lo:hi], out=yf[lo:hi])

        parallel_for(part, xf.size, _GRAIN, like=x)
        self.x, self.cdf = x, cdf
        return y

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        g = xp.empty_like(self.x)
        gy = gy if gy.flags.c_contiguous else gy.copy()
        xf, cf, gf, gyf = self.x.reshape(-1), self.cdf.reshape(-1), g.reshape(-1), gy.reshape(-1)

        def part(lo: int, hi: int) -> None:
            x, out = xf[lo:hi], gf[lo:hi]
            xp.multiply(x, x, out=out)
            out *= -0.5
            xp.exp(out, out=out)
            out *= x
            out *= _INV_SQRT_2PI  # x phi(x)
            out += cf[lo:hi]
            out *= gyf[lo:hi]

        parallel_for(part, xf.size, _GRAIN, like=gy)
        return g


class GELUTanh(Function):
    """GPT-2's approximation: y = x (1 + tanh(u)) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3);
    dy/dx = (1 + t) / 2 + x (1 - t^2) / 2 * sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh(u).
    """

    def forward(self, x: Any) -> Any:
        self.x = x
        self.t = get_array_module(x).tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return 0.5 * x * (1 + self.t)

    def backward(self, gy: Any) -> Any:
        x, t = self.x, self.t
        du_dx = _SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x)
        return gy * (0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du_dx)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU, exact (``approximate="none"``) or GPT-2's tanh approximation (``"tanh"``)."""
    require_floating(x, "gelu")
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


# ----------------------------------------------------------------------------- selection


class Clamp(Function):
    """y = min(max(x, lo), hi);  dy/dx = 1 where lo <= x <= hi, else 0 (PyTorch's convention)."""

    def forward(self, x: Any, lo: float | None, hi: float | None) -> Any:
        xp = get_array_module(x)
        self.inside = xp.ones(x.shape, dtype=bool)
        if lo is not None:
            self.inside &= x >= lo
        if hi is not None:
            self.inside &= x <= hi
        return xp.clip(x, lo, hi)

    def backward(self, gy: Any) -> Any:
        return gy * self.inside


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    return Clamp.apply(x, lo=min, hi=max)


clip = clamp  # PyTorch's alias


class Maximum(Function):
    """y = max(a, b) elementwise (broadcast);  dy/da = 1 where a > b, 0 where a < b, and 1/2 at
    a tie, where PyTorch splits the gradient between the two equally (dy/db the mirror image)."""

    def forward(self, a: Any, b: Any, pick: str) -> Any:
        xp = get_array_module(a)
        self.shapes = a.shape, b.shape
        y = getattr(xp, pick)(a, b)
        wins = a > b if pick == "maximum" else a < b
        self.share_a = xp.where(a == b, 0.5, wins).astype(y.dtype)
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        ga = gy * self.share_a
        gb = unbroadcast(gy - ga, sb) if self.needs_grad(1) else None
        return unbroadcast(ga, sa), gb


def _both_tensors(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Two tensor operands, as PyTorch's maximum and minimum require (no Python numbers)."""
    if not isinstance(a, Tensor) or not isinstance(b, Tensor):
        raise TypeError(f"{op}: both arguments must be tensors, got {type(a).__name__} and {type(b).__name__}")
    return operands(a, b, op)


def maximum(a: Tensor, b: Tensor) -> Tensor:
    """The larger of ``a`` and ``b`` elementwise (they broadcast); a tie splits the gradient in half."""
    return Maximum.apply(*_both_tensors(a, b, "maximum"), pick="maximum")


def minimum(a: Tensor, b: Tensor) -> Tensor:
    """The smaller of ``a`` and ``b`` elementwise (they broadcast); a tie splits the gradient in half."""
    return Maximum.apply(*_both_tensors(a, b, "minimum"), pick="minimum")


class Where(Function):
    """y = a where cond else b (cond a bool array, broadcast);  dy/da = cond, dy/db = not cond."""

    def forward(self, a: Any, b: Any, cond: Any) -> Any:
        self.cond = cond
        self.shapes = a.shape, b.shape
        return get_array_module(a).where(cond, a, b)

    def backward(self, gy: Any) -> tuple[Any, Any]:
        sa, sb = self.shapes
        zero = gy.dtype.type(0)
        xp = get_array_module(gy)
        ga = unbroadcast(xp.where(self.cond, gy, zero), sa) if self.needs_grad(0) else None
        gb = unbroadcast(xp.where(self.cond, zero, gy), sb) if self.needs_grad(1) else None
        return ga, gb


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b``; the three broadcast together."""
    a, b = operands(a, b, "where")
    cond = condition.data if isinstance(condition, Tensor) else condition
    if getattr(cond, "dtype", None) != backend.bool_:
        raise TypeError(f"where: condition must be a bool tensor, got {getattr(cond, 'dtype', type(cond))}")
    return Where.apply(a, b, cond=cond)


class MaskedFill(Function):
    """y = value where mask else x;  dy/dx = not mask (mask broadcasts to x's shape)."""

    def forward(self, x: Any, mask: Any, value: float) -> Any:
        xp = get_array_module(x)
        self.mask = mask
        return xp.where(mask, x.dtype.type(value), x)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).where(self.mask, gy.dtype.type(0), gy)


def masked_fill(x: Tensor, mask: Any, value: float) -> Tensor:
    """``x`` with ``value`` wherever ``mask`` (bool, broadcastable to x's shape) is True."""
    m = mask.data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) != backend.bool_:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(m, 'dtype', type(m))}")
    if numpy.broadcast_shapes(m.shape, x.shape) != x.shape:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to {x.shape}")
    return MaskedFill.apply(x, mask=m, value=value)
