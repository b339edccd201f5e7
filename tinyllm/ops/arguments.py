"""Reading an op's arguments the way PyTorch does: operands, dtypes, dims and shapes.

Every public op checks and normalises its arguments with these before it applies
its :class:`~tinyllm.autograd.Function`. Python numbers mix with tensors without
changing their dtype: ``x * 2`` stays float32 (PyTorch's rule, and NumPy 2's).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tinyllm import backend
from tinyllm.ops.copy import to_dtype
from tinyllm.tensor import Tensor, from_array


def lift(x: Any, like: Tensor) -> Tensor:
    """A constant tensor for ``x`` (a Python number or an array) on ``like``'s device.

    A number takes ``like``'s dtype, so ``x * 2`` stays float32; an array keeps its own.
    """
    if not isinstance(x, (bool, int, float)):
        return from_array(backend.to_device(x, like.device))
    return from_array(backend.get_array_module(like.data).asarray(x, dtype=like.dtype))


def meet_number(t: Tensor, x: Any) -> Tensor:
    """``t`` converted where a Python number changes the result's kind, as in PyTorch:
    a float makes an integer or bool tensor float32 (``int_tensor * 0.5``), an int makes
    a bool tensor int64 (``mask + 1`` counts rather than or-ing)."""
    if isinstance(x, float) and not backend.is_floating(t.dtype):
        return to_dtype(t, backend.DEFAULT_DTYPE)
    if isinstance(x, int) and not isinstance(x, bool) and t.dtype == backend.bool_:
        return to_dtype(t, backend.int64)
    return t


def floating(x: Tensor) -> Tensor:
    """The input of a float op (exp, log, tanh, ...): an integer or bool tensor becomes
    float32, the default dtype, as in PyTorch (NumPy would give float64)."""
    return x if backend.is_floating(x.dtype) else to_dtype(x, backend.DEFAULT_DTYPE)


def require_floating(x: Tensor, op: str) -> None:
    """Refuse an integer or bool tensor where PyTorch does (mean, var, softmax, gelu, ...)."""
    if not backend.is_floating(x.dtype):
        raise TypeError(f"{op}: needs a floating-point tensor, not dtype {x.dtype}; convert it first with .float()")


def promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """A floating tensor meeting an integer or bool one keeps its dtype (PyTorch's rule;
    NumPy would widen float32 with int64 to float64)."""
    if a.dtype == b.dtype:  # the common case: nothing to convert
        return a, b
    if backend.is_floating(a.dtype) and not backend.is_floating(b.dtype):
        return a, to_dtype(b, a.dtype)
    if backend.is_floating(b.dtype) and not backend.is_floating(a.dtype):
        return to_dtype(a, b.dtype), b
    return a, b


def operands(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors, converted by PyTorch's dtype rules."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return promote(a, b)
        a = meet_number(a, b)
        return promote(a, lift(b, a))
    if isinstance(b, Tensor):
        b = meet_number(b, a)
        return promote(lift(a, b), b)
    raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")


def dim_index(dim: int, ndim: int, op: str) -> int:
    """A dimension index made non-negative, or an IndexError naming the op (a 0-d tensor has none)."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimension(s)")
    return dim % ndim


def reduce_dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """The axes to reduce over; None for all of them, also for an empty ``dim`` (PyTorch's reading)."""
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(dim_index(d, ndim, op) for d in dims) or None


def shape_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)
