"""Reading and writing along one dim by index: gather, scatter, scatter_add, index_select.

``gather(x, dim, index)`` reads, for every position of ``index``, the element of ``x``
at that position with its ``dim`` coordinate replaced by the index value: for a
2-D x and dim = 1, ``out[i][j] = x[i][index[i][j]]``. ``scatter`` writes the other
way round, ``out[i][index[i][j]] = src[i][j]``. So each one's backward is the other:
the gradient of a gather is scattered back (and added, since an index may repeat),
and the gradient reaching a scattered ``src`` is gathered.
"""

from __future__ import annotations

from typing import Any

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index, lift
from tinyllm.ops.scatter import scatter_add as add_into
from tinyllm.tensor import Tensor


def along_axis(index: Any, axis: int) -> tuple[Any, ...]:
    """The NumPy index that reads ``a[along_axis(index, axis)]`` as ``gather`` does:
    ``index`` for ``axis``, and each other axis's own position (an ``arange`` that broadcasts)."""
    xp = get_array_module(index)
    return tuple(
        index if d == axis else xp.arange(n).reshape([-1 if k == d else 1 for k in range(index.ndim)])
        for d, n in enumerate(index.shape)
    )


def check_index(x: Tensor, dim: int, index: Any, op: str, src: Tensor | None = None) -> int:
    """PyTorch's rules for gather and scatter, checked on tensors of at least 1 dim: an int64
    ``index`` with x's number of dims, no larger than x outside ``dim`` (nor than ``src``
    anywhere), on x's device, its values inside [0, n) for the n places along ``dim``. Returns
    ``dim`` made non-negative."""
    if not isinstance(index, Tensor) or index.dtype != backend.int64:
        raise TypeError(f"{op}: index must be an int64 tensor, got {getattr(index, 'dtype', type(index).__name__)}")
    backend.check_same_device([x.data, index.data], op)
    d = dim_index(dim, x.ndim, op)
    if index.ndim != x.ndim:
        raise ValueError(f"{op}: index has {index.ndim} dims but the input has {x.ndim}; they must have the same")
    if any(i > n for k, (i, n) in enumerate(zip(index.shape, x.shape)) if k != d):
        raise ValueError(f"{op}: index of shape {index.shape} is larger than the input {x.shape} outside dim {d}")
    if src is not None and (src.ndim != x.ndim or any(i > n for i, n in zip(index.shape, src.shape))):
        raise ValueError(f"{op}: index of shape {index.shape} does not fit in src of shape {src.shape}")
    check_range(index, x.shape[d], d, op)
    return d


def check_range(index: Tensor, n: int, dim: int, op: str) -> None:
    """Index values must lie in [0, n): these ops, like PyTorch's, take no negative index."""
    if index.numel() and not (0 <= int(index.data.min()) and int(index.data.max()) < n):
        raise IndexError(f"{op}: index values must lie in [0, {n}) for dim {dim} of size {n}")


def as_1d(op: Any, input: Tensor, *tensors: Any, shape: tuple[int, ...] = ()) -> Any:
    """``op(input, *tensors)``, where a 0-d ``input`` (PyTorch accepts one, with dim 0 or -1)
    is treated as a 1-element tensor, with its 0-d companions, and the result given ``shape``."""
    if input.ndim > 0:
        return op(input, *tensors)
    ones = (t.reshape(1) if isinstance(t, Tensor) and t.ndim == 0 else t for t in tensors)
    return op(input.reshape(1), *ones).reshape(shape)


class Gather(Function):
    """y[p] = x[p with its ``axis`` coordinate replaced by index[p]];  dx = dy scatter-added there."""

    def forward(self, x: Any, index: Any, axis: int) -> Any:
        self.shape, self.where = x.shape, along_axis(index, axis)
        return x[self.where]

    def backward(self, gy: Any) -> Any:
        gx = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        add_into(gx, self.where, gy)  # an index may repeat: its gradients add up
        return gx


def gather(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """Values of ``input`` picked along ``dim`` by ``index`` (int64, as many dims); the shape of ``index``."""

    def apply(x: Tensor, i: Tensor) -> Tensor:
        return Gather.apply(x, index=i.data, axis=check_index(x, dim, i, "gather"))

    return as_1d(apply, input, index, shape=index.shape)


class Scatter(Function):
    """y = x, then y[where] = src[:index.shape] (``add=False``) or y[where] += it (``add=True``),
    with where = ``index`` along ``axis``;
    dx = dy, zeroed where overwritten;  dsrc = dy gathered at where, 0 beyond ``index.shape``.

    Where an index repeats, a plain scatter writes one of its sources, which one is not
    specified (as in PyTorch); every source still gets the gradient of its target.
    """

    def forward(self, x: Any, src: Any, index: Any, axis: int, add: bool) -> Any:
        self.where, self.src_shape, self.add = along_axis(index, axis), src.shape, add
        self.used = tuple(slice(0, n) for n in index.shape)  # the part of src that is written
        y = x.copy()
        if add:
            add_into(y, self.where, src[self.used])
        else:
            y[self.where] = src[self.used]
        return y

    def backward(self, gy: Any) -> tuple[Any, Any]:
        gx = gsrc = None
        if self.needs_grad(0):
            gx = gy
            if not self.add:
                gx = gy.copy()
                gx[self.where] = 0
        if self.needs_grad(1):
            gsrc = get_array_module(gy).zeros(self.src_shape, dtype=gy.dtype)
            gsrc[self.used] = gy[self.where]
        return gx, gsrc


def _scatter(input: Tensor, dim: int, index: Tensor, src: Any, op: str, add: bool) -> Tensor:
    if not isinstance(src, Tensor):  # a number is written at every indexed place (PyTorch's ``value``)
        if not isinstance(src, (int, float)):
            raise TypeError(f"{op}: src must be a tensor or a number, got {type(src).__name__}")
        src = lift(src, input).expand(*index.shape)
    if src.dtype != input.dtype:
        raise TypeError(f"{op}: src has dtype {src.dtype} but the input has {input.dtype}; they must match")

    def apply(x: Tensor, i: Tensor, s: Tensor) -> Tensor:
        return Scatter.apply(x, s, index=i.data, axis=check_index(x, dim, i, op, s), add=add)

    return as_1d(apply, input, index, src)


def scatter(input: Tensor, dim: int, index: Tensor, src: Tensor | float) -> Tensor:
    """A copy of ``input`` with ``src`` written along ``dim`` at ``index``: for dim = 1,
    ``out[i][index[i][j]] = src[i][j]``. Differentiable in ``input`` and ``src``; not in place."""
    return _scatter(input, dim, index, src, "scatter", add=False)


def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """A copy of ``input`` with ``src`` added along ``dim`` at ``index`` (repeated indices add up)."""
    return _scatter(input, dim, index, src, "scatter_add", add=True)


class IndexSelect(Function):
    """y = x with only the entries ``index`` along ``axis`` (in that order, repeats allowed);
    dx = dy added back into those entries."""

    def forward(self, x: Any, index: Any, axis: int) -> Any:
        self.shape, self.index, self.axis = x.shape, index, axis
        return get_array_module(x).take(x, index, axis=axis)

    def backward(self, gy: Any) -> Any:
        xp = get_array_module(gy)
        gx = xp.zeros(self.shape, dtype=gy.dtype)
        # a view with ``axis`` first, so that the entries are whole rows
        add_into(xp.moveaxis(gx, self.axis, 0), self.index, xp.moveaxis(gy, self.axis, 0))
        return gx


def index_select(input: Tensor, dim: int, index: Tensor) -> Tensor:
    """The entries of ``input`` at ``index`` (an int64 tensor of 1 or 0 dims) along ``dim``."""
    if not isinstance(index, Tensor) or index.dtype.kind not in "iu" or index.ndim > 1:
        raise TypeError(f"index_select: index must be an integer tensor of 1 or 0 dims, got {index!r}")
    if input.ndim == 0 and index.numel() != 1:
        raise IndexError(f"index_select: a 0-d input takes an index of one value, got {index.numel()}")

    def apply(x: Tensor) -> Tensor:
        d = dim_index(dim, x.ndim, "index_select")
        backend.check_same_device([x.data, index.data], "index_select")
        check_range(index, x.shape[d], d, "index_select")
        return IndexSelect.apply(x, index=index.data.reshape(-1), axis=d)

    return as_1d(apply, input)
