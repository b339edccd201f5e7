"""Shape ops: reshape and view, permute, expand, cat, stack, split and chunk, unbind, flip, repeat, indexing.

None of these computes anything new; each moves elements around. So each
backward moves the gradient back the same way: reshape it back, permute it by
the inverse permutation, sum it over expanded axes, cut it into the pieces that
were joined, or scatter it into the positions that were read.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.arguments import dim_index, shape_args
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.ops.scatter import scatter_add
from tinyllm.tensor import Tensor, index_data


class Reshape(Function):
    """y = x with a new shape (same elements, same order);  dx = dy reshaped back."""

    shares_memory = True

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.shape = x.shape
        return x.reshape(shape)

    def backward(self, gy: Any) -> Any:
        return gy.reshape(self.shape)


def reshape(x: Tensor, *shape: Any) -> Tensor:
    """``x`` with a new shape: a view of its memory where the strides allow one, else a copy."""
    return Reshape.apply(x, shape=checked_shape(x, shape_args(shape), "reshape"))


def checked_shape(x: Tensor, shape: tuple[int, ...], op: str) -> tuple[int, ...]:
    """``shape`` with its -1 (if any) worked out, or a ValueError if it does not hold ``x``'s elements."""
    known = int(numpy.prod([n for n in shape if n != -1]))
    free = shape.count(-1)
    size = x.data.size
    if free > 1 or (free == 0 and known != size) or (free == 1 and (known == 0 or size % known)):
        raise ValueError(f"{op}: cannot reshape a tensor of shape {x.shape} ({size} elements) into {shape}")
    return tuple(size // known if n == -1 else n for n in shape)


def view(x: Tensor, *shape: Any) -> Tensor:
    """``x`` with a new shape, sharing its memory, or a RuntimeError if no view can: PyTorch's rule.

    A view reads the same memory through new strides, which exist when each new
    dimension either lies inside one old dimension or joins old dimensions that sit
    back to back in memory. After ``transpose`` the rows no longer sit back to back,
    so ``x.transpose(0, 1).view(-1)`` has no strides to read it with and raises;
    ``reshape`` copies instead, and ``contiguous().view(...)`` copies first.
    (Deliberate difference: a shape that does not hold the elements raises ValueError,
    as tinyllm's ``reshape`` does, where PyTorch raises RuntimeError.)
    """
    shape = checked_shape(x, shape_args(shape), "view")
    alias = x.data.view()
    try:
        alias.shape = shape  # NumPy and CuPy refuse to set a shape that needs a copy
    except AttributeError:
        raise RuntimeError(
            f"view: size {shape} is not compatible with the input's size {x.shape} and stride "
            f"{tuple(n // x.data.itemsize for n in x.data.strides)} (a dimension would span memory that is "
            "not back to back); use .reshape(...) instead, which copies"
        ) from None
    return Reshape.apply(x, shape=shape)  # reshape returns a view whenever one exists, as here


def flatten(x: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    if x.ndim == 0:
        return reshape(x, 1)
    s, e = dim_index(start_dim, x.ndim, "flatten"), dim_index(end_dim, x.ndim, "flatten")
    if s > e:
        raise ValueError(f"flatten: start_dim {start_dim} comes after end_dim {end_dim} (tensor of shape {x.shape})")
    return reshape(x, *x.shape[:s], -1, *x.shape[e + 1 :])


def squeeze(x: Tensor, dim: int | None = None) -> Tensor:
    """Drop size-1 axes (all of them, or ``dim`` if it has size 1)."""
    if dim is None:
        shape = tuple(n for n in x.shape if n != 1)
    else:
        d = dim_index(dim, x.ndim, "squeeze")
        shape = x.shape if x.shape[d] != 1 else x.shape[:d] + x.shape[d + 1 :]
    return Reshape.apply(x, shape=shape)


def unsqueeze(x: Tensor, dim: int) -> Tensor:
    """Insert a size-1 axis at ``dim`` (negative dims count from the end of the result)."""
    if not -(x.ndim + 1) <= dim <= x.ndim:
        raise IndexError(f"unsqueeze: dim {dim} is out of range for a tensor with {x.ndim} dimension(s)")
    d = dim % (x.ndim + 1)
    return Reshape.apply(x, shape=x.shape[:d] + (1,) + x.shape[d:])


class Permute(Function):
    """y = x with its axes reordered: y.shape[i] = x.shape[dims[i]];  dx = dy permuted back."""

    shares_memory = True

    def forward(self, x: Any, dims: tuple[int, ...]) -> Any:
        self.dims = dims
        return x.transpose(dims)

    def backward(self, gy: Any) -> Any:
        inverse = [0] * len(self.dims)
        for i, d in enumerate(self.dims):
            inverse[d] = i
        return gy.transpose(inverse)


def permute(x: Tensor, *dims: Any) -> Tensor:
    dims = tuple(dim_index(d, x.ndim, "permute") for d in shape_args(dims))
    if sorted(dims) != list(range(x.ndim)):
        raise ValueError(f"permute: dims {dims} are not a permutation of the {x.ndim} axes")
    return Permute.apply(x, dims=dims)


def t(x: Tensor) -> Tensor:
    """The transpose of a matrix; a vector or a 0-d tensor comes back as it is (PyTorch's ``t``)."""
    if x.ndim > 2:
        raise ValueError(f"t: expects a tensor with at most 2 dimensions, got shape {x.shape}; use transpose")
    return Permute.apply(x, dims=tuple(reversed(range(x.ndim))))


def transpose(x: Tensor, dim0: int, dim1: int) -> Tensor:
    """Swap two axes."""
    dims = list(range(x.ndim))
    d0, d1 = dim_index(dim0, x.ndim, "transpose"), dim_index(dim1, x.ndim, "transpose")
    dims[d0], dims[d1] = dims[d1], dims[d0]
    return Permute.apply(x, dims=tuple(dims))


class Expand(Function):
    """y = x broadcast to a larger shape (no copy);  dx = dy summed over the stretched axes."""

    shares_memory = True

    def forward(self, x: Any, shape: tuple[int, ...]) -> Any:
        self.shape = x.shape
        return get_array_module(x).broadcast_to(x, shape)

    def backward(self, gy: Any) -> Any:
        return unbroadcast(gy, self.shape)


def expand(x: Tensor, *sizes: Any) -> Tensor:
    """Broadcast to ``sizes`` without copying; -1 keeps a dimension's size."""
    sizes = shape_args(sizes)
    lead = len(sizes) - x.ndim
    if lead < 0:
        raise ValueError(f"expand: cannot expand shape {x.shape} to fewer dimensions {sizes}")
    shape = tuple(x.shape[i - lead] if n == -1 and i >= lead else n for i, n in enumerate(sizes))
    for old, new in zip(x.shape, shape[lead:]):
        if old != 1 and old != new:
            raise ValueError(f"expand: cannot expand shape {x.shape} to {sizes}")
    return Expand.apply(x, shape=shape)


class Cat(Function):
    """y = the inputs joined along ``dim``;  each dx_k = the slice of dy where x_k went."""

    def forward(self, *xs: Any, dim: int) -> Any:
        self.dim = dim
        self.ends = []
        end = 0
        for x in xs:
            end += x.shape[dim]
            self.ends.append(end)
        return get_array_module(xs[0]).concatenate(xs, axis=dim)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        return tuple(get_array_module(gy).split(gy, self.ends[:-1], axis=self.dim))


def cat(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join tensors along an existing axis; their other axes must match."""
    if len(tensors) == 0:
        raise ValueError("cat: expected a non-empty sequence of tensors")
    d = dim_index(dim, tensors[0].ndim, "cat")
    ref = tensors[0].shape
    for t in tensors[1:]:
        if t.ndim != len(ref) or t.shape[:d] + t.shape[d + 1 :] != ref[:d] + ref[d + 1 :]:
            raise ValueError(f"cat: shapes {ref} and {t.shape} differ outside dim {d}")
    return Cat.apply(*tensors, dim=d)


class Stack(Function):
    """y = the inputs stacked along a new axis ``dim``;  dx_k = dy[..., k, ...] along that axis."""

    def forward(self, *xs: Any, dim: int) -> Any:
        self.dim = dim
        return get_array_module(xs[0]).stack(xs, axis=dim)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xp = get_array_module(gy)
        return tuple(xp.moveaxis(gy, self.dim, 0))


def stack(tensors: Sequence[Tensor], dim: int = 0) -> Tensor:
    """Join same-shaped tensors along a new axis ``dim``."""
    if len(tensors) == 0:
        raise ValueError("stack: expected a non-empty sequence of tensors")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: all tensors need the same shape, got {tensors[0].shape} and {t.shape}")
    return Stack.apply(*tensors, dim=dim_index(dim, tensors[0].ndim + 1, "stack"))


concat = cat  # PyTorch's alias


def split(x: Tensor, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
    """Cut ``x`` along ``dim`` into pieces of ``split_size`` (the last may be smaller) or of the given sizes."""
    d = dim_index(dim, x.ndim, "split")
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


def chunk(x: Tensor, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
    """Cut ``x`` along ``dim`` into ``chunks`` pieces of ceil(n / chunks) (PyTorch's sizes): the
    last is smaller, and there may be fewer pieces than asked (5 into 4 gives 2, 2, 1)."""
    if chunks <= 0:
        raise ValueError(f"chunk: chunks must be positive, got {chunks}")
    n = x.shape[dim_index(dim, x.ndim, "chunk")]
    size = -(-n // chunks)
    return split(x, size if size else [0] * chunks, dim)


class Unbind(Function):
    """ys = the slices of x along ``axis``, one tensor each;  dx = the slices' gradients stacked
    (zeros for a slice that was not used)."""

    shares_memory = True  # each slice is a view of x: writing one changes x

    def forward(self, x: Any, axis: int) -> tuple[Any, ...]:
        self.shape, self.axis = x.shape, axis
        return tuple(get_array_module(x).moveaxis(x, axis, 0))

    def backward(self, *gys: Any) -> Any:
        used = next(g for g in gys if g is not None)
        xp = get_array_module(used)
        gx = (xp.empty if all(g is not None for g in gys) else xp.zeros)(self.shape, dtype=used.dtype)
        rows = xp.moveaxis(gx, self.axis, 0)  # a view: writing a row writes gx
        for i, g in enumerate(gys):
            if g is not None:
                rows[i] = g
        return gx


def unbind(x: Tensor, dim: int = 0) -> tuple[Tensor, ...]:
    """The slices of ``x`` along ``dim``, without that dim: ``x[0], x[1], ...`` for dim 0."""
    return Unbind.apply(x, axis=dim_index(dim, x.ndim, "unbind"))


class Flip(Function):
    """y = x with the order of ``axes`` reversed;  dx = dy reversed back."""

    def forward(self, x: Any, axes: tuple[int, ...]) -> Any:
        self.axes = axes
        return get_array_module(x).flip(x, axes).copy()  # NumPy's flip is a view

    def backward(self, gy: Any) -> Any:
        return get_array_module(gy).flip(gy, self.axes)


def flip(x: Tensor, dims: int | Sequence[int]) -> Tensor:
    """``x`` with the elements along each of ``dims`` in reverse order (a copy, as in PyTorch)."""
    axes = tuple(dim_index(d, x.ndim, "flip") for d in ((dims,) if isinstance(dims, int) else dims))
    for d in axes:
        if axes.count(d) > 1:
            raise ValueError(f"flip: dim {d} appears more than once in dims {dims}")
    return Flip.apply(x, axes=axes)


class Repeat(Function):
    """y = x tiled ``reps[d]`` times along each dim d (x first gets leading size-1 dims);
    dx = the sum of dy over the copies: dy seen as (r0, n0, r1, n1, ...), summed over the r's."""

    def forward(self, x: Any, reps: tuple[int, ...]) -> Any:
        self.shape, self.reps = x.shape, reps
        return get_array_module(x).tile(x, reps)

    def backward(self, gy: Any) -> Any:
        sizes = (1,) * (len(self.reps) - len(self.shape)) + self.shape
        pairs = [n for pair in zip(self.reps, sizes) for n in pair]
        return gy.reshape(pairs).sum(axis=tuple(range(0, len(pairs), 2))).reshape(self.shape)


def repeat(x: Tensor, *sizes: Any) -> Tensor:
    """``x`` copied ``sizes[d]`` times along each dim d (``Tensor.repeat``; NumPy calls it tile).
    ``sizes`` may be longer than ``x.ndim``: then ``x`` gets leading dims of size 1 first."""
    reps = shape_args(sizes)
    if len(reps) < x.ndim:
        raise ValueError(f"repeat: {len(reps)} sizes {reps} are fewer than the {x.ndim} dims of shape {x.shape}")
    if any(r < 0 for r in reps):
        raise ValueError(f"repeat: sizes must be non-negative, got {reps}")
    return Repeat.apply(x, reps=reps)


class GetItem(Function):
    """y = x[index], with NumPy's (and PyTorch's) indexing rules;  dx = dy put back at index.

    With basic indexing (ints, slices, None, ...) or a bool mask each element of x is read at most
    once, so the gradient is written into place. With integer arrays an element may
    be read several times (``x[[0, 0]]``); then its gradients must add up, which a
    plain assignment would not do, so they are scatter-added.
    """

    shares_memory = True  # integer-array indexing copies; sharing the counter is then merely cautious

    def forward(self, x: Any, index: Any) -> Any:
        self.shape, self.dtype, self.index = x.shape, x.dtype, index
        return x[index]

    def backward(self, gy: Any) -> Any:
        gx = get_array_module(gy).zeros(self.shape, dtype=self.dtype)
        if reads_each_element_once(self.index):
            gx[self.index] = gy
        else:
            scatter_add(gx, self.index, gy)
        return gx


def getitem(x: Tensor, index: Any) -> Tensor:
    """``x[index]``: ints, slices, None, ``...``, integer arrays/tensors and bool masks."""
    index = index_data(index)
    try:
        return GetItem.apply(x, index=index)
    except IndexError as error:
        raise IndexError(f"indexing a tensor of shape {x.shape}: {error}") from None


def reads_each_element_once(index: Any) -> bool:
    """True for an index that reads no element twice: ints, slices, None, Ellipsis, bool masks."""
    parts = index if isinstance(index, tuple) else (index,)
    return all(
        isinstance(p, (int, slice)) or p is None or p is Ellipsis or getattr(p, "dtype", None) == backend.bool_
        for p in parts
    )
