"""Comparisons and predicates: questions about values, answered with bool tensors.

``eq``, ``lt``, ``isnan``, ``all``, ``isclose``, ``unique`` ... carry no gradient (a
bool has no derivative), so none of them is a :class:`~tinyllm.autograd.Function`:
each reads its inputs' arrays and wraps the answer in a tensor that requires no grad.
The operators ``==``, ``<``, ... of :class:`~tinyllm.tensor.Tensor` call these.

Operands broadcast, and meet in the dtype PyTorch would compute in: a Python float
meets an integer tensor as float32, so ``tl.tensor([16777217]) == 16777216.0`` is True
(in float32 both round to 16777216) exactly as in PyTorch, where NumPy alone would
compare in float64. Shapes that do not broadcast raise a RuntimeError, as in PyTorch.

Deliberate differences from PyTorch: ``all``/``any`` always return bool (PyTorch keeps
uint8 for uint8 input); ``unique`` always sorts (PyTorch leaves the order of
``sorted=False`` unspecified, and sorts on the CPU too).
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index, operands
from tinyllm.tensor import Tensor, from_array

#: What a comparison accepts beside a tensor: Python and NumPy numbers, and arrays.
COMPARABLE = (Tensor, bool, int, float, numpy.generic, numpy.ndarray)


def comparable(x: Any) -> bool:
    """Whether ``x`` can stand on one side of a comparison with a tensor (a tensor, a number, an array)."""
    return isinstance(x, COMPARABLE) or backend.is_cuda_array(x)


def _arrays(a: Any, b: Any, op: str) -> tuple[Any, Any]:
    """The arrays of both operands, in PyTorch's common dtype, checked to broadcast and share a device."""
    for x in (a, b):
        if not comparable(x):
            raise TypeError(f"{op}: expected a tensor or a number, got {type(x).__name__}")
    a, b = (x.item() if isinstance(x, numpy.generic) else x.detach() if isinstance(x, Tensor) else x for x in (a, b))
    ta, tb = operands(a, b, op)
    backend.check_same_device([ta.data, tb.data], op)
    try:
        numpy.broadcast_shapes(ta.shape, tb.shape)
    except ValueError:
        raise RuntimeError(f"{op}: shapes {ta.shape} and {tb.shape} do not broadcast together") from None
    return ta.data, tb.data


def eq(input: Any, other: Any) -> Tensor:
    """``input == other`` elementwise, as a bool tensor."""
    a, b = _arrays(input, other, "eq")
    return from_array(a == b)


def ne(input: Any, other: Any) -> Tensor:
    """``input != other`` elementwise (True where either is NaN)."""
    a, b = _arrays(input, other, "ne")
    return from_array(a != b)


def gt(input: Any, other: Any) -> Tensor:
    """``input > other`` elementwise."""
    a, b = _arrays(input, other, "gt")
    return from_array(a > b)


def ge(input: Any, other: Any) -> Tensor:
    """``input >= other`` elementwise."""
    a, b = _arrays(input, other, "ge")
    return from_array(a >= b)


def lt(input: Any, other: Any) -> Tensor:
    """``input < other`` elementwise."""
    a, b = _arrays(input, other, "lt")
    return from_array(a < b)


def le(input: Any, other: Any) -> Tensor:
    """``input <= other`` elementwise."""
    a, b = _arrays(input, other, "le")
    return from_array(a <= b)


def _tensor(x: Any, op: str) -> Tensor:
    if not isinstance(x, Tensor):
        raise TypeError(f"{op}: expected a Tensor, got {type(x).__name__}")
    return x


def isnan(input: Tensor) -> Tensor:
    """True where an element is NaN (never for integers and bools)."""
    x = _tensor(input, "isnan").data
    return from_array(get_array_module(x).isnan(x))


def isinf(input: Tensor) -> Tensor:
    """True where an element is +inf or -inf."""
    x = _tensor(input, "isinf").data
    return from_array(get_array_module(x).isinf(x))


def isfinite(input: Tensor) -> Tensor:
    """True where an element is neither NaN nor infinite."""
    x = _tensor(input, "isfinite").data
    return from_array(get_array_module(x).isfinite(x))


def _axes(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """The axes ``all``/``any`` reduce: None for every axis; an empty ``dim=()`` reduces none (as in PyTorch)."""
    if dim is None:
        return None
    return tuple(dim_index(d, ndim, op) for d in ((dim,) if isinstance(dim, int) else dim))


def all(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Whether every element (along ``dim``, or of the whole tensor) is nonzero; an empty tensor gives True."""
    x = _tensor(input, "all").data
    return from_array(get_array_module(x).all(x, axis=_axes(dim, x.ndim, "all"), keepdims=keepdim))


def any(input: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Whether some element (along ``dim``, or of the whole tensor) is nonzero; an empty tensor gives False."""
    x = _tensor(input, "any").data
    return from_array(get_array_module(x).any(x, axis=_axes(dim, x.ndim, "any"), keepdims=keepdim))


def isclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
    """Where ``|input - other| <= atol + rtol * |other|`` (infinities close only to themselves).

    The test is not symmetric: ``rtol`` scales ``other``. Both must be tensors of one dtype,
    as PyTorch asks, so that "close" is measured at one precision.
    """
    a, b = _tensor(input, "isclose"), _tensor(other, "isclose")
    if a.dtype != b.dtype:
        raise RuntimeError(f"isclose: both tensors need the same dtype, got {a.dtype} and {b.dtype}")
    if rtol < 0 or atol < 0:
        raise RuntimeError(f"isclose: rtol and atol must be non-negative, got rtol={rtol}, atol={atol}")
    x, y = _arrays(a, b, "isclose")
    if a.dtype == backend.bool_:
        return from_array(x == y)  # bools have no distance; close means equal
    return from_array(get_array_module(x).isclose(x, y, rtol=rtol, atol=atol, equal_nan=equal_nan))


def allclose(input: Tensor, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
    """Whether every element pair is close in the sense of :func:`isclose` (a Python bool)."""
    return builtins.bool(isclose(input, other, rtol, atol, equal_nan).data.all())


def equal(input: Tensor, other: Tensor) -> bool:
    """Whether both tensors have the same shape and the same values (a Python bool; NaN equals nothing)."""
    a, b = _tensor(input, "equal"), _tensor(other, "equal")
    if a.shape != b.shape:
        return False
    x, y = _arrays(a, b, "equal")
    return builtins.bool((x == y).all())


def unique(
    input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
    dim: int | None = None,
) -> Tensor | tuple[Tensor, ...]:  # fmt: skip
    """The distinct elements (or, with ``dim``, the distinct slices along ``dim``), in ascending order.

    With ``return_inverse`` also where each element went (``values[inverse]`` rebuilds the
    input: the input's shape, or ``(input.shape[dim],)`` with ``dim``); with
    ``return_counts`` how often each value occurs. NaNs are all distinct, as in PyTorch.
    ``sorted=False`` is accepted and still sorts (PyTorch promises no order then).
    """
    x = _tensor(input, "unique").data
    xp = get_array_module(x)
    axis = None if dim is None else dim_index(dim, x.ndim, "unique")
    values, inverse, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=axis, equal_nan=False)
    inverse = inverse.reshape(x.shape if axis is None else (x.shape[axis],)).astype(backend.int64)
    extras = [from_array(inverse)] * return_inverse + [from_array(counts.astype(backend.int64))] * return_counts
    return (from_array(values), *extras) if extras else from_array(values)
