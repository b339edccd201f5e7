"""More elementwise functions: log1p, rsqrt, square, sin, cos, erf, and the step functions.

Each is the derivative rule of one function of a single number, applied element by
element. The step functions (``sign``, ``floor``, ``ceil``, ``round``) are flat
between their jumps, so their gradient is zero everywhere, as in PyTorch: they pass
no signal back, but a graph through them still runs.
"""

from __future__ import annotations

import math
from typing import Any

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops import special
from tinyllm.ops.arguments import floating
from tinyllm.ops.elementwise import pow
from tinyllm.tensor import Tensor


class Log1p(Function):
    """y = ln(1 + x), accurate for small x where 1 + x would round;  dy/dx = 1 / (1 + x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).log1p(x)

    def backward(self, gy: Any) -> Any:
        return gy / (1 + self.x)


def log1p(x: Tensor) -> Tensor:
    return Log1p.apply(floating(x))


class Rsqrt(Function):
    """y = 1 / sqrt(x);  dy/dx = -1/2 x^(-3/2) = -y^3 / 2."""

    def forward(self, x: Any) -> Any:
        self.y = 1 / get_array_module(x).sqrt(x)
        return self.y

    def backward(self, gy: Any) -> Any:
        y = self.y
        return gy * (-0.5 * y * y * y)


def rsqrt(x: Tensor) -> Tensor:
    return Rsqrt.apply(floating(x))


def square(x: Tensor) -> Tensor:
    """x * x (through ``pow``, whose gradient is 2x)."""
    return pow(x, 2)


class Sin(Function):
    """y = sin(x);  dy/dx = cos(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).sin(x)

    def backward(self, gy: Any) -> Any:
        return gy * get_array_module(gy).cos(self.x)


def sin(x: Tensor) -> Tensor:
    return Sin.apply(floating(x))


class Cos(Function):
    """y = cos(x);  dy/dx = -sin(x)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return get_array_module(x).cos(x)

    def backward(self, gy: Any) -> Any:
        return -gy * get_array_module(gy).sin(self.x)


def cos(x: Tensor) -> Tensor:
    return Cos.apply(floating(x))


_TWO_OVER_SQRT_PI = 2.0 / math.sqrt(math.pi)


class Erf(Function):
    """y = erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt;  dy/dx = 2/sqrt(pi) exp(-x^2)."""

    def forward(self, x: Any) -> Any:
        self.x = x
        return special.erf(x)

    def backward(self, gy: Any) -> Any:
        x = self.x
        return gy * (_TWO_OVER_SQRT_PI * get_array_module(x).exp(-(x * x)))


def erf(x: Tensor) -> Tensor:
    return Erf.apply(floating(x))


# ----------------------------------------------------------------------------- step functions


class Step(Function):
    """y = a piecewise-constant function of x (``fn``, an array-module name);  dy/dx = 0."""

    def forward(self, x: Any, fn: str, decimals: int = 0) -> Any:
        xp = get_array_module(x)
        return xp.round(x, decimals) if fn == "round" else getattr(xp, fn)(x)

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).zeros_like(gy)


def sign(x: Tensor) -> Tensor:
    """-1, 0 or 1 by the sign of each element; zero gradient."""
    return Step.apply(x, fn="sign")


def floor(x: Tensor) -> Tensor:
    """The largest integer <= x, elementwise; an integer tensor comes back unchanged. Zero gradient."""
    return x.clone() if not backend.is_floating(x.dtype) else Step.apply(x, fn="floor")


def ceil(x: Tensor) -> Tensor:
    """The smallest integer >= x, elementwise; an integer tensor comes back unchanged. Zero gradient."""
    return x.clone() if not backend.is_floating(x.dtype) else Step.apply(x, fn="ceil")


def round(x: Tensor, *, decimals: int = 0) -> Tensor:
    """x rounded to ``decimals`` places, halves to even (as PyTorch and NumPy do). Zero gradient."""
    return x.clone() if not backend.is_floating(x.dtype) else Step.apply(x, fn="round", decimals=decimals)
