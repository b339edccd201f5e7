"""The differentiable ops, as functions on tensors (PyTorch's names and arguments).

Each function checks and normalises its arguments, then applies one primitive
:class:`~tinyllm.tensor.Function` from the submodules — or, for ``var``,
``split`` and a few others, composes several, so autograd derives the gradient.
``Tensor``'s methods and operators call these.

Python numbers mix with tensors without changing their dtype: ``x * 2`` stays
float32 (PyTorch's rule, and NumPy 2's).
"""

from __future__ import annotations

import builtins
from collections import namedtuple
from typing import Any, Sequence

import numpy

from tinyllm import backend
from tinyllm.ops.copy import Clone, ToDevice, ToDtype
from tinyllm.ops.elementwise import (
    GELU,
    Abs,
    Add,
    Clamp,
    Div,
    Exp,
    GELUTanh,
    Log,
    MaskedFill,
    Mul,
    Neg,
    Pow,
    PowScalar,
    ReLU,
    Sigmoid,
    Sqrt,
    Sub,
    Tanh,
    Where,
)
from tinyllm.ops.index import Embedding
from tinyllm.ops.linalg import Linear, MatMul
from tinyllm.ops.reduce import AMax, AMin, MaxDim, Mean, MinDim, Sum
from tinyllm.ops.shape import Cat, Expand, GetItem, Permute, Reshape, Stack
from tinyllm.tensor import Tensor, _index_arrays, _new_tensor

__all__ = [
    "abs", "add", "amax", "amin", "cat", "clamp", "clone", "div", "embedding", "exp", "expand",
    "flatten", "gelu", "getitem", "linear", "log", "log_softmax", "logsumexp", "masked_fill", "matmul", "max", "mean",
    "min", "mul", "neg", "permute", "pow", "relu", "reshape", "sigmoid", "softmax", "split",
    "sqrt", "squeeze", "stack", "sub", "sum", "tanh", "to_device", "to_dtype", "transpose",
    "unsqueeze", "var", "where",
]  # fmt: skip

#: Public functions that return no gradient (integer results); the registry skips them.
NOT_DIFFERENTIABLE = ("argmax", "argmin")


def _lift(x: Any, like: Tensor) -> Tensor:
    """A constant tensor for ``x`` (a Python number or an array) on ``like``'s device.

    A number takes ``like``'s dtype, so ``x * 2`` stays float32; an array keeps its own.
    """
    if not isinstance(x, (bool, int, float)):
        return _new_tensor(backend.to_device(x, like.device))
    return _new_tensor(backend.get_array_module(like.data).asarray(x, dtype=like.dtype))


def _meet_number(t: Tensor, x: Any) -> Tensor:
    """``t`` converted where a Python number changes the result's kind, as in PyTorch:
    a float makes an integer or bool tensor float32 (``int_tensor * 0.5``), an int makes
    a bool tensor int64 (``mask + 1`` counts rather than or-ing)."""
    if isinstance(x, float) and not backend.is_floating(t.dtype):
        return to_dtype(t, backend.DEFAULT_DTYPE)
    if isinstance(x, int) and not isinstance(x, bool) and t.dtype == backend.bool_:
        return to_dtype(t, backend.int64)
    return t


def _promote(a: Tensor, b: Tensor) -> tuple[Tensor, Tensor]:
    """A floating tensor meeting an integer or bool one keeps its dtype (PyTorch's rule;
    NumPy would widen float32 with int64 to float64)."""
    if backend.is_floating(a.dtype) and not backend.is_floating(b.dtype):
        return a, to_dtype(b, a.dtype)
    if backend.is_floating(b.dtype) and not backend.is_floating(a.dtype):
        return to_dtype(a, b.dtype), b
    return a, b


def _pair(a: Any, b: Any, op: str) -> tuple[Tensor, Tensor]:
    """Both operands of a binary op as tensors, converted by PyTorch's dtype rules."""
    if isinstance(a, Tensor):
        if isinstance(b, Tensor):
            return _promote(a, b)
        a = _meet_number(a, b)
        return _promote(a, _lift(b, a))
    if isinstance(b, Tensor):
        b = _meet_number(b, a)
        return _promote(_lift(a, b), b)
    raise TypeError(f"{op}: expected at least one Tensor, got {type(a).__name__} and {type(b).__name__}")


def _dim(dim: int, ndim: int, op: str) -> int:
    """A dimension index made non-negative, or an IndexError naming the op (a 0-d tensor has none)."""
    if not -ndim <= dim < ndim:
        raise IndexError(f"{op}: dim {dim} is out of range for a tensor with {ndim} dimension(s)")
    return dim % ndim


def _dims(dim: int | Sequence[int] | None, ndim: int, op: str) -> tuple[int, ...] | None:
    """The axes to reduce over; None for all of them, also for an empty ``dim`` (PyTorch's reading)."""
    dims = () if dim is None else (dim,) if isinstance(dim, int) else tuple(dim)
    return tuple(_dim(d, ndim, op) for d in dims) or None


def _shape_args(shape: tuple[Any, ...]) -> tuple[int, ...]:
    """Accept both ``f(2, 3)`` and ``f((2, 3))``, as PyTorch does."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        return tuple(shape[0])
    return tuple(shape)


# ----------------------------------------------------------------------------- arithmetic


def add(a: Any, b: Any) -> Tensor:
    return Add.apply(*_pair(a, b, "add"))


def sub(a: Any, b: Any) -> Tensor:
    return Sub.apply(*_pair(a, b, "sub"))


def mul(a: Any, b: Any) -> Tensor:
    return Mul.apply(*_pair(a, b, "mul"))


def div(a: Any, b: Any) -> Tensor:
    """True division: integer operands give float32, as in PyTorch."""
    a, b = _pair(a, b, "div")
    if not backend.is_floating(a.dtype):  # then neither is floating, after _pair
        a, b = to_dtype(a, backend.DEFAULT_DTYPE), to_dtype(b, backend.DEFAULT_DTYPE)
    return Div.apply(a, b)


def neg(x: Tensor) -> Tensor:
    return Neg.apply(x)


def pow(base: Any, exponent: Any) -> Tensor:
    """``base ** exponent``; a Python-number exponent uses the simpler ``PowScalar``."""
    if isinstance(base, Tensor) and isinstance(exponent, (int, float)):
        return PowScalar.apply(_meet_number(base, exponent), p=exponent)
    return Pow.apply(*_pair(base, exponent, "pow"))


def matmul(a: Tensor, b: Tensor) -> Tensor:
    """Matrix product over the last two axes; leading (batch) axes broadcast."""
    a, b = _pair(a, b, "matmul")
    if a.ndim == 0 or b.ndim == 0:
        raise ValueError(f"matmul: both operands need at least 1 dimension, got shapes {a.shape} and {b.shape}")
    k_a = a.shape[-1]
    k_b = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if k_a != k_b:
        raise ValueError(f"matmul: shapes {a.shape} and {b.shape} do not align ({k_a} != {k_b})")
    try:
        return MatMul.apply(a, b)
    except ValueError as error:
        raise ValueError(f"matmul: batch axes of shapes {a.shape} and {b.shape} do not broadcast") from error


# ----------------------------------------------------------------------------- functions


def linear(x: Tensor, weight: Tensor, bias: Tensor | None = None) -> Tensor:
    """x @ weight^T + bias: x (..., in), weight (out, in), bias (out,) -> (..., out)."""
    if weight.ndim != 2 or x.ndim == 0 or x.shape[-1] != weight.shape[1]:
        raise ValueError(
            f"linear: input of shape {x.shape} needs a last dim equal to the weight's in_features, "
            f"but the weight has shape {weight.shape} (out_features, in_features)"
        )
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"linear: bias of shape {bias.shape} should have shape ({weight.shape[0]},)")
    x, weight = _promote(x, weight)
    if bias is None:
        return Linear.apply(x, weight)
    return Linear.apply(x, weight, bias.to(weight.dtype))


def embedding(ids: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of ``weight`` (V, C) picked by integer ``ids`` (any shape) -> ids.shape + (C,).

    An id outside [0, V) raises an IndexError naming it; the ``padding_idx`` row
    (if any) receives no gradient.
    """
    ids_array = ids.data if isinstance(ids, Tensor) else backend.get_array_module(weight.data).asarray(ids)
    if not numpy.issubdtype(ids_array.dtype, numpy.integer):
        raise TypeError(f"embedding: ids must be integers, not {ids_array.dtype}")
    if weight.ndim != 2:
        raise ValueError(f"embedding: the weight must be a (num_embeddings, embedding_dim) table, not shape {weight.shape}")
    vocab = weight.shape[0]
    if ids_array.size:
        lo, hi = int(ids_array.min()), int(ids_array.max())
        if lo < 0 or hi >= vocab:
            bad = hi if hi >= vocab else lo
            raise IndexError(
                f"embedding: id {bad} is out of range for a vocabulary of {vocab} "
                f"(ids must be in [0, {vocab}))"
            )
    if padding_idx is not None:
        if not -vocab <= padding_idx < vocab:
            raise ValueError(f"embedding: padding_idx {padding_idx} is outside a vocabulary of {vocab}")
        padding_idx %= vocab
    backend.check_same_device([weight.data, ids_array], "embedding")
    return Embedding.apply(weight, ids=ids_array, padding_idx=padding_idx)


def exp(x: Tensor) -> Tensor:
    return Exp.apply(x)


def log(x: Tensor) -> Tensor:
    return Log.apply(x)


def sqrt(x: Tensor) -> Tensor:
    return Sqrt.apply(x)


def abs(x: Tensor) -> Tensor:
    return Abs.apply(x)


def tanh(x: Tensor) -> Tensor:
    return Tanh.apply(x)


def sigmoid(x: Tensor) -> Tensor:
    return Sigmoid.apply(x)


def relu(x: Tensor) -> Tensor:
    return ReLU.apply(x)


def gelu(x: Tensor, approximate: str = "none") -> Tensor:
    """GELU, exact (``approximate="none"``) or GPT-2's tanh approximation (``"tanh"``)."""
    if approximate == "none":
        return GELU.apply(x)
    if approximate == "tanh":
        return GELUTanh.apply(x)
    raise ValueError(f"gelu: approximate must be 'none' or 'tanh', got {approximate!r}")


def clamp(x: Tensor, min: float | None = None, max: float | None = None) -> Tensor:
    if min is None and max is None:
        raise ValueError("clamp: give min, max or both")
    return Clamp.apply(x, lo=min, hi=max)


def where(condition: Any, a: Any, b: Any) -> Tensor:
    """Elementwise ``a if condition else b``; the three broadcast together."""
    a, b = _pair(a, b, "where")
    cond = condition.data if isinstance(condition, Tensor) else condition
    if getattr(cond, "dtype", None) != bool:
        raise TypeError(f"where: condition must be a bool tensor, got {getattr(cond, 'dtype', type(cond))}")
    return Where.apply(a, b, cond=cond)


def masked_fill(x: Tensor, mask: Any, value: float) -> Tensor:
    """``x`` with ``value`` wherever ``mask`` (bool, broadcastable to x's shape) is True."""
    m = mask.data if isinstance(mask, Tensor) else mask
    if getattr(m, "dtype", None) != bool:
        raise TypeError(f"masked_fill: mask must be a bool tensor, got {getattr(m, 'dtype', type(m))}")
    if numpy.broadcast_shapes(m.shape, x.shape) != x.shape:
        raise ValueError(f"masked_fill: mask of shape {m.shape} does not broadcast to {x.shape}")
    return MaskedFill.apply(x, mask=m, value=value)


# ----------------------------------------------------------------------------- reductions

MaxMin = namedtuple("MaxMin", ["values", "indices"])


def sum(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return Sum.apply(x, axes=_dims(dim, x.ndim, "sum"), keepdim=keepdim)


def mean(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    return Mean.apply(x, axes=_dims(dim, x.ndim, "mean"), keepdim=keepdim)


def var(
    x: Tensor, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False
) -> Tensor:
    """Variance sum((x - mean)^2) / (n - correction); ``correction=1`` (PyTorch's default) is unbiased."""
    axes = _dims(dim, x.ndim, "var")
    n = x.numel() if axes is None else int(numpy.prod([x.shape[d] for d in axes]))
    centered = x - mean(x, axes, keepdim=True)
    return sum(centered * centered, axes, keepdim) / builtins.max(n - correction, 0)


def amax(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Largest value over ``dim``; tied maxima share the gradient equally."""
    return AMax.apply(x, axes=_dims(dim, x.ndim, "amax"), keepdim=keepdim)


def amin(x: Tensor, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
    """Smallest value over ``dim``; tied minima share the gradient equally."""
    return AMin.apply(x, axes=_dims(dim, x.ndim, "amin"), keepdim=keepdim)


def max(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """``max(x)``: the largest element (ties share the gradient).
    ``max(x, dim)``: ``(values, indices)`` along ``dim``; the gradient goes to the indexed element.
    """
    if dim is None:
        return amax(x)
    d = _dim(dim, x.ndim, "max")
    return MaxMin(MaxDim.apply(x, dim=d, keepdim=keepdim), argmax(x, d, keepdim))


def min(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Any:
    """Like :func:`max`, for the smallest element."""
    if dim is None:
        return amin(x)
    d = _dim(dim, x.ndim, "min")
    return MaxMin(MinDim.apply(x, dim=d, keepdim=keepdim), argmin(x, d, keepdim))


def _arg(x: Tensor, kind: str, dim: int | None, keepdim: bool) -> Any:
    if dim is None:  # an index into the flattened tensor; keepdim keeps every axis, with size 1
        index = getattr(x.data, kind)()
        return index.reshape((1,) * x.ndim) if keepdim else index
    return getattr(x.data, kind)(axis=_dim(dim, x.ndim, kind), keepdims=keepdim)


def argmax(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest element (flattened when ``dim`` is None); int64, no gradient."""
    return _new_tensor(_arg(x, "argmax", dim, keepdim).astype(backend.int64))


def argmin(x: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    return _new_tensor(_arg(x, "argmin", dim, keepdim).astype(backend.int64))


# ----------------------------------------------------------------------------- shapes


def reshape(x: Tensor, *shape: Any) -> Tensor:
    shape = _shape_args(shape)
    known = int(numpy.prod([n for n in shape if n != -1]))
    free = shape.count(-1)
    size = x.data.size
    if free > 1 or (free == 0 and known != size) or (free == 1 and (known == 0 or size % known)):
        raise ValueError(f"reshape: cannot reshape a tensor of shape {x.shape} ({size} elements) into {shape}")
    return Reshape.apply(x, shape=shape)


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = _dim(start_dim, x.ndim, "flatten"), _dim(end_dim, x.ndim, "flatten")
    return reshape(x, *x.shape[:s], -1, *x.shape[e + 1 :])


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = tuple(_dim(d, x.ndim, "permute") for d in _shape_args(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} axes")
    return Permute.apply(x, dims=dims)


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes."""
    dims = list(range(x.ndim))
    d0, d1 = _dim(dim0, x.ndim, "transpose"), _dim(dim1, x.ndim, "transpose")
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(x, dims=tuple(dims))


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension's size."""
    sizes = _shape_args(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dimensions {sizes}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    for old, new in zip(x.shape, shape[lead:]):
        if old != 1 and old != new:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {sizes}")
    return Expand.apply(x, shape=shape)


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    """Drop size-1 axes (all of them, or ``dim`` if it has size 1)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        d = _dim(dim, x.ndim, "squeeze")
        shape = x.shape if x.shape[d] != 1 else x.shape[:d] + x.shape[d + 1 :]
    return Reshape.apply(x, shape=shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 axis at ``dim`` (negative dims count from the end of the result)."""
    if not -(x.ndim + 1) <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dimension(s)")
    d = dim % (x.ndim + 1)
    return Reshape.apply(x, shape=x.shape[:d] + (1,) + x.shape[d:])


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: ints, slices, None, ``...``, integer arrays/tensors and bool masks."""
    index = _index_arrays(index)
    try:
        return GetItem.apply(x, index=index)
    except IndexError as error:
        raise IndexError(f"indexing a tensor of shape {x.shape}: {error}") from None


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing axis; their other axes must match."""
    if len(tensors) == 0:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = _dim(dim, tensors[0].ndim, "cat")
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1 :] != ref[:d] + ref[d + 1 :]:
            raise ValueError(f"cat: shapes {ref} and {t.shape} differ outside dim {d}")
    return Cat.apply(*tensors, dim=d)


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis ``dim``."""
    if len(tensors) == 0:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors need the same shape, got {tensors[0].shape} and {t.shape}")
    return Stack.apply(*tensors, dim=_dim(dim, tensors[0].ndim + 1, "stack"))


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Cut ``x`` along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    d = _dim(dim, x.ndim, "split")
    n = x.shape[d]
    if isinstance(split_size_or_sections, int):
        if split_size_or_sections <= 0:
            raise ValueError(f"split: split_size must be positive, got {split_size_or_sections}")
        sizes = [builtins.min(split_size_or_sections, n - s) for s in range(0, n, split_size_or_sections)]
    else:
        sizes = list(split_size_or_sections)
        if builtins.sum(sizes) != n:
            raise ValueError(f"split: sizes {sizes} do not add up to {n}, the length of dim {d}")
    pieces, start = [], 0
    for size in sizes:
        index = (slice(None),) * d + (slice(start, start + size),)
        pieces.append(getitem(x, index))
        start += size
    return tuple(pieces)


# ----------------------------------------------------------------------------- softmax family


def logsumexp(x: Tensor, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
    """log(sum(exp(x))) over ``dim``, computed as m + log(sum(exp(x - m))) with m = max(x).

    Shifting by the max keeps exp from overflowing (every exponent is <= 0). The
    shift is a constant for autograd; the gradient is unaffected: softmax(x).
    """
    axes = _dims(dim, x.ndim, "logsumexp")
    xp = backend.get_array_module(x.data)
    m = x.data.max(axis=axes, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)  # a slice of all -inf: shift by 0, not by -inf
    s = sum(exp(x - _new_tensor(m)), axes, keepdim)
    return log(s) + _new_tensor(m if keepdim else m.squeeze(axes))


def softmax(x: Tensor, dim: int) -> Tensor:
    """exp(x_i) / sum_j exp(x_j) along ``dim``, shifted by the max for stability."""
    d = _dim(dim, x.ndim, "softmax")
    e = exp(x - _new_tensor(x.data.max(axis=d, keepdims=True)))
    return e / sum(e, d, keepdim=True)


def log_softmax(x: Tensor, dim: int) -> Tensor:
    """x_i - logsumexp(x) along ``dim``: the log of softmax without forming tiny ratios.

    Computed as (x - m) - log(sum(exp(x - m))) with m = max(x): subtracting m first keeps
    the result exact to rounding of the (small) shifted values, not of max|x|.
    """
    d = _dim(dim, x.ndim, "log_softmax")
    xp = backend.get_array_module(x.data)
    m = x.data.max(axis=d, keepdims=True)
    m = xp.where(xp.isfinite(m), m, 0)
    shifted = x - _new_tensor(m)
    return shifted - log(sum(exp(shifted), d, keepdim=True))


# ----------------------------------------------------------------------------- copies


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


def to_dtype(x: Tensor, dtype: numpy.dtype) -> Tensor:
    if x.dtype == dtype:
        return x
    if not backend.is_floating(dtype):
        return _new_tensor(x.data.astype(dtype))  # integers carry no gradient
    return ToDtype.apply(x, dtype=dtype)


def to_device(x: Tensor, device: str | backend.Device) -> Tensor:
    device = backend.as_device(device)
    if x.device == device:
        return x
    return ToDevice.apply(x, device=device)
