"""The Tensor: an n-dimensional array that remembers how it was computed.

A :class:`Tensor` holds an array (``.data``, NumPy or CuPy) and, when an op
computed it from tensors that require gradients, the :class:`~tinyllm.autograd.Function`
node that made it (``.grad_fn``). This file is the data and its methods; the ops
live in :mod:`tinyllm.ops` and the backward walk in :mod:`tinyllm.autograd`, both
imported at the end of this file because they build on ``Tensor``.

Deliberate differences from PyTorch, each for the sake of a smaller engine:

- ``Tensor.data`` is the raw NumPy/CuPy array, not another Tensor.
- In-place ops (``add_``, ``x[i] = v``, ``+=``, ...) only run where no graph is
  being recorded: on tensors that do not require grad, or under ``no_grad``.
  Each bumps the tensor's version counter; a backward that needs a tensor that
  changed since it was used raises instead of returning a wrong gradient.
- After ``backward()`` (without ``retain_graph=True``) the graph is cut and its
  saved arrays freed at once, not when the output tensor is dropped.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy

from tinyllm import backend
from tinyllm.backend import Device

if TYPE_CHECKING:
    from tinyllm.autograd import Function


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Make tensors with :func:`tinyllm.tensor` and friends; ops make the rest.
    """

    __slots__ = ("data", "grad", "_requires_grad", "grad_fn", "output_nr", "_vc", "__weakref__")
    __array_ufunc__ = None  # `ndarray + tensor` defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) is not numpy.ndarray and not backend.is_cuda_array(data):
            data = numpy.asarray(data)
        backend.check_numeric(data.dtype, "Tensor")
        self.data = data
        self.grad: Tensor | None = None
        self._requires_grad = False
        self.grad_fn: Function | None = None  # the node that computed it (None for a leaf)
        self.output_nr = 0  # which of that node's outputs this tensor is
        self._vc = [0]  # the version counter, shared with views and detached aliases
        if requires_grad:
            self.requires_grad_(True)

    # --- what a tensor is

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self) -> numpy.dtype:
        return self.data.dtype

    @property
    def device(self) -> Device:
        return backend.device_of(self.data)

    @property
    def _version(self) -> int:
        """How many in-place changes this tensor's memory has seen (PyTorch's ``_version``)."""
        return self._vc[0]

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    def size(self, dim: int | None = None) -> Any:
        return self.shape if dim is None else self.shape[dim]

    def numel(self) -> int:
        return int(self.data.size)

    def dim(self) -> int:
        return self.data.ndim

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    def __iter__(self) -> Iterator[Tensor]:
        return (self[i] for i in range(len(self)))

    def __repr__(self) -> str:
        body = numpy.array2string(
            backend.to_device(self.data, backend.CPU), separator=", ", prefix="tensor(", precision=4
        )
        extras = []
        if self.device.type != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (backend.float32, backend.int64, backend.bool_):
            extras.append(f"dtype={self.dtype}")
        if self.grad_fn is not None:
            extras.append(f"grad_fn=<{type(self.grad_fn).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__

    # --- autograd

    @property
    def requires_grad(self) -> bool:
        """Whether backward computes a gradient for this tensor (only floating-point ones can)."""
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, requires_grad: bool) -> None:
        self.requires_grad_(requires_grad)

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not backend.is_floating(self.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, but this one has dtype "
                f"{self.dtype}; make it with dtype=tl.float32 (or float64)"
            )
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError("requires_grad_(False) on a tensor computed by an op; use .detach() instead")
        self._requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        autograd.retain_grad(self)

    def backward(self, grad: Tensor | Any | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad
        (see :func:`tinyllm.autograd.backward`)."""
        autograd.backward(self, grad, retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter, like PyTorch's)."""
        t = from_array(self.data)
        t._vc = self._vc
        return t

    def clone(self) -> Tensor:
        return ops.clone(self)

    # --- leaving tinyllm

    def numpy(self) -> numpy.ndarray:
        """The data as a NumPy array on the host (shares memory for CPU tensors)."""
        if self.requires_grad:
            raise RuntimeError("numpy() on a tensor that requires grad; use .detach().numpy()")
        return backend.to_device(self.data, backend.CPU)

    def tolist(self) -> Any:
        return backend.to_device(self.data, backend.CPU).tolist()

    def item(self) -> Any:
        if self.data.size != 1:
            raise ValueError(f"item() needs a tensor with one element, this one has shape {self.shape}")
        return self.data.item()

    def __array__(self, dtype: Any = None, copy: Any = None) -> numpy.ndarray:
        a = self.numpy()
        return a if dtype is None else a.astype(dtype)

    def __dlpack__(self, *args: Any, **kwargs: Any) -> Any:
        """Lend this tensor's memory to another library: ``torch.from_dlpack(x)`` (see tinyllm.interop)."""
        if self.requires_grad:
            raise RuntimeError("DLPack cannot export a tensor that requires grad; use .detach() first")
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self) -> tuple[int, int]:
        return self.data.__dlpack_device__()

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        """An integer one-element tensor as an index: ``data[i:i + 8]`` with ``i`` from ``tl.randint``."""
        if self.data.size != 1 or self.dtype.kind not in "iu":
            raise TypeError(f"only an integer tensor with one element can be an index, not {self.dtype} {self.shape}")
        return int(self.item())

    def __format__(self, spec: str) -> str:
        """``f"{loss:.4f}"``: a one-element tensor formats as its number, others as their repr."""
        return format(self.item(), spec) if self.data.size == 1 else format(repr(self), spec)

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    # --- devices and dtypes (differentiable)

    def to(self, *args: Any, device: str | Device | None = None, dtype: Any = None) -> Tensor:
        """Move to a device, convert to a dtype, or both, as PyTorch reads it: ``x.to("cuda")``,
        ``x.to(tl.float64)``, ``x.to(device, dtype)``, ``x.to(dtype=...)``, ``x.to(other_tensor)``."""
        for arg in args:
            if isinstance(arg, Tensor):
                device, dtype = arg.device, arg.dtype
            elif isinstance(arg, (str, Device)):
                device = arg
            else:
                dtype = arg
        if len(args) > 2 or (device is None and dtype is None):
            raise TypeError(f"to: expected a device, a dtype or both, got {args!r}")
        out = self if dtype is None else ops.to_dtype(self, numpy.dtype(dtype))
        return out if device is None else ops.to_device(out, backend.as_device(device))

    def cpu(self) -> Tensor:
        return self.to("cpu")

    def cuda(self, index: int | None = None) -> Tensor:
        return self.to("cuda" if index is None else f"cuda:{index}")

    def float(self) -> Tensor:
        return self.to(backend.float32)

    def double(self) -> Tensor:
        return self.to(backend.float64)

    def long(self) -> Tensor:
        return self.to(backend.int64)

    def int(self) -> Tensor:
        return self.to(backend.int32)

    def bool(self) -> Tensor:
        return self.to(backend.bool_)

    def type_as(self, other: Tensor) -> Tensor:
        return self.to(other.dtype)

    # --- in-place ops (no graph recorded; see the module docstring)

    def _inplace(self, op: str, value: Any, update: Callable[[Any, Any], Any]) -> Tensor:
        """Apply ``update(self.data, value)`` in place and bump the version counter: the one
        place where a tensor's memory changes (optimizers step through here too)."""
        if autograd.is_grad_enabled() and (
            self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)
        ):
            raise RuntimeError(
                f"{op}: in-place operation on a tensor that takes part in a graph; tinyllm "
                "records no in-place ops. Use the out-of-place form (x = x + y), or do it "
                "under tl.no_grad() (as optimizers do)"
            )
        if isinstance(value, Tensor):
            backend.check_same_device([self.data, value.data], op)
            value = value.data
        update(self.data, value)
        self._vc[0] += 1
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        if alpha == 1.0:
            return self._inplace("add_", other, operator.iadd)
        return self._inplace("add_", other, lambda a, b: operator.iadd(a, alpha * b))

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        return self._inplace("mul_", other, operator.imul)

    def div_(self, other: Any) -> Tensor:
        return self._inplace("div_", other, operator.itruediv)

    def copy_(self, src: Any) -> Tensor:
        return self._inplace("copy_", src, lambda a, b: operator.setitem(a, ..., b))

    def fill_(self, value: Any) -> Tensor:
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.copy_(0)

    def __setitem__(self, index: Any, value: Any) -> None:
        self._inplace("__setitem__", value, lambda a, v: operator.setitem(a, index_data(index), v))

    __iadd__ = add_
    __isub__ = sub_
    __imul__ = mul_
    __itruediv__ = div_

    # --- arithmetic: methods and operators, each a differentiable op in tinyllm.ops

    def add(self, other: Any) -> Tensor:
        return ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return ops.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return ops.pow(self, exponent)

    def neg(self) -> Tensor:
        return ops.neg(self)

    def abs(self) -> Tensor:
        return ops.abs(self)

    def matmul(self, other: Any) -> Tensor:
        return ops.matmul(self, other)

    __add__, __sub__, __mul__, __truediv__, __pow__ = add, sub, mul, div, pow
    __neg__, __abs__, __matmul__ = neg, abs, matmul

    def __radd__(self, other: Any) -> Tensor:
        return ops.add(other, self)

    def __rsub__(self, other: Any) -> Tensor:
        return ops.sub(other, self)

    def __rmul__(self, other: Any) -> Tensor:
        return ops.mul(other, self)

    def __rtruediv__(self, other: Any) -> Tensor:
        return ops.div(other, self)

    def __rpow__(self, base: Any) -> Tensor:
        return ops.pow(base, self)

    def __rmatmul__(self, other: Any) -> Tensor:
        return ops.matmul(other, self)

    def __pos__(self) -> Tensor:
        return self

    def __getitem__(self, index: Any) -> Tensor:
        return ops.getitem(self, index)

    # --- comparisons and logic: bool tensors, not differentiable

    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return compare.eq(self, other) if compare.comparable(other) else NotImplemented

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return compare.ne(self, other) if compare.comparable(other) else NotImplemented

    def __lt__(self, other: Any) -> Tensor:
        return compare.lt(self, other) if compare.comparable(other) else NotImplemented

    def __le__(self, other: Any) -> Tensor:
        return compare.le(self, other) if compare.comparable(other) else NotImplemented

    def __gt__(self, other: Any) -> Tensor:
        return compare.gt(self, other) if compare.comparable(other) else NotImplemented

    def __ge__(self, other: Any) -> Tensor:
        return compare.ge(self, other) if compare.comparable(other) else NotImplemented

    def __invert__(self) -> Tensor:
        return from_array(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return from_array(self.data & data_of(other))

    def __or__(self, other: Any) -> Tensor:
        return from_array(self.data | data_of(other))

    # --- functions and reductions (PyTorch's method names)

    def exp(self) -> Tensor:
        return ops.exp(self)

    def log(self) -> Tensor:
        return ops.log(self)

    def sqrt(self) -> Tensor:
        return ops.sqrt(self)

    def tanh(self) -> Tensor:
        return ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return ops.sigmoid(self)

    def relu(self) -> Tensor:
        return ops.relu(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.clamp(self, min, max)

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        return ops.masked_fill(self, mask, value)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.mean(self, dim, keepdim)

    def var(self, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False) -> Tensor:
        return ops.var(self, dim, correction=correction, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return ops.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return ops.min(self, dim, keepdim)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.amax(self, dim, keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.argmin(self, dim, keepdim)

    def softmax(self, dim: int) -> Tensor:
        return ops.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return ops.log_softmax(self, dim)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        return ops.logsumexp(self, dim, keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        return ops.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return ops.transpose(self, dim0, dim1)

    @property
    def T(self) -> Tensor:
        return ops.permute(self, *reversed(range(self.ndim)))

    def permute(self, *dims: Any) -> Tensor:
        return ops.permute(self, *dims)

    def expand(self, *sizes: Any) -> Tensor:
        return ops.expand(self, *sizes)

    def squeeze(self, dim: int | None = None) -> Tensor:
        return ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return ops.unsqueeze(self, dim)

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return ops.split(self, split_size_or_sections, dim)

    # --- views and memory layout

    def view(self, *shape: Any) -> Tensor:
        """The same memory with a new shape, or a RuntimeError where that needs a copy (see :func:`ops.shape.view`)."""
        return ops.shape.view(self, *shape)

    def view_as(self, other: Tensor) -> Tensor:
        return ops.shape.view(self, other.shape)

    def is_contiguous(self) -> bool:
        """Whether the elements sit in memory in row-major order with no gaps (size-1 axes do not count)."""
        return bool(self.data.flags.c_contiguous)

    def contiguous(self) -> Tensor:
        """``self`` if its memory is already row-major, else a row-major copy (differentiable)."""
        return self if self.is_contiguous() else ops.clone(self)

    def half(self) -> Tensor:
        return self.to(backend.float16)

    # --- comparisons and predicates by name (see tinyllm.ops.compare)

    def eq(self, other: Any) -> Tensor:
        return compare.eq(self, other)

    def ne(self, other: Any) -> Tensor:
        return compare.ne(self, other)

    def gt(self, other: Any) -> Tensor:
        return compare.gt(self, other)

    def ge(self, other: Any) -> Tensor:
        return compare.ge(self, other)

    def lt(self, other: Any) -> Tensor:
        return compare.lt(self, other)

    def le(self, other: Any) -> Tensor:
        return compare.le(self, other)

    def isnan(self) -> Tensor:
        return compare.isnan(self)

    def isinf(self) -> Tensor:
        return compare.isinf(self)

    def isfinite(self) -> Tensor:
        return compare.isfinite(self)

    def all(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return compare.all(self, dim, keepdim)

    def any(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return compare.any(self, dim, keepdim)

    def isclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> Tensor:
        return compare.isclose(self, other, rtol, atol, equal_nan)

    def allclose(self, other: Tensor, rtol: float = 1e-05, atol: float = 1e-08, equal_nan: bool = False) -> bool:
        return compare.allclose(self, other, rtol, atol, equal_nan)

    def equal(self, other: Tensor) -> bool:
        return compare.equal(self, other)

    def unique(self, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
               dim: int | None = None) -> Any:  # fmt: skip
        return compare.unique(self, sorted, return_inverse, return_counts, dim)

    # --- new tensors like this one: same dtype and device unless given

    def _new(self, host: numpy.ndarray, device: Any, requires_grad: bool) -> Tensor:
        t = Tensor(backend.to_device(host, backend.as_device(device) if device is not None else self.device))
        return t.requires_grad_(requires_grad) if requires_grad else t

    def new_full(self, size: Sequence[int], fill_value: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> Tensor:  # fmt: skip
        return self._new(numpy.full(tuple(size), fill_value, dtype=dtype or self.dtype), device, requires_grad)

    def new_zeros(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self.new_full(ops.arguments.shape_args(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        return self.new_full(ops.arguments.shape_args(size), 1, dtype, device, requires_grad)

    def new_tensor(self, data: Any, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
        """A copy of ``data`` (numbers, lists, arrays, a tensor) with this tensor's dtype and device by default."""
        host = numpy.array(backend.to_device(data_of(data), backend.CPU), dtype=dtype or self.dtype)
        return self._new(host, device, requires_grad)

    # --- random draws, and in-place fills (through _inplace, so versions count and graphs are protected)

    def _draw(self, op: str, generator: Any, draw: str) -> Any:
        """Standard draws (``"uniform"`` or ``"normal"``) of this tensor's shape, on its device."""
        if not backend.is_floating(self.dtype):
            raise TypeError(f"{op}: random draws need a floating-point tensor, not dtype {self.dtype}")
        gen = sampling.generator_on(generator, self.device)
        dtype = self.dtype if self.dtype in (backend.float32, backend.float64) else backend.float32
        return getattr(gen, draw)(self.shape, dtype)

    def uniform_(self, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with draws from the uniform distribution on [a, b)."""
        if a > b:
            raise RuntimeError(f"uniform_: needs a <= b for the range [a, b), got a={a}, b={b}")
        u = self._draw("uniform_", generator, "uniform")
        return self._inplace("uniform_", a + (b - a) * u, lambda d, v: operator.setitem(d, ..., v))

    def normal_(self, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
        """Fill with draws from the normal distribution N(mean, std^2)."""
        if std < 0:
            raise RuntimeError(f"normal_: std must be >= 0, got {std}")
        z = self._draw("normal_", generator, "normal")
        return self._inplace("normal_", mean + std * z, lambda d, v: operator.setitem(d, ..., v))

    def bernoulli(self, generator: Any = None) -> Tensor:
        """1 with probability ``self``, else 0, per element (see :func:`ops.sampling.bernoulli`)."""
        return sampling.bernoulli(self, generator)

    def multinomial(self, num_samples: int, replacement: bool = False, generator: Any = None) -> Tensor:
        """Category indices drawn with the weights in ``self``'s rows (see :func:`ops.sampling.multinomial`)."""
        return sampling.multinomial(self, num_samples, replacement, generator)

    def masked_fill_(self, mask: Any, value: float) -> Tensor:
        """``value`` wherever ``mask`` is True, in place (the mask is checked as by :meth:`masked_fill`)."""
        filled = ops.masked_fill(self.detach(), mask, value)
        return self._inplace("masked_fill_", filled, lambda d, v: operator.setitem(d, ..., v))

    # --- more of PyTorch's op methods (each calls the op of the same name in tinyllm.ops)

    def log1p(self) -> Tensor:
        return ops.log1p(self)

    def rsqrt(self) -> Tensor:
        return ops.rsqrt(self)

    def square(self) -> Tensor:
        return ops.square(self)

    def sin(self) -> Tensor:
        return ops.sin(self)

    def cos(self) -> Tensor:
        return ops.cos(self)

    def erf(self) -> Tensor:
        return ops.erf(self)

    def sign(self) -> Tensor:
        return ops.sign(self)

    def floor(self) -> Tensor:
        return ops.floor(self)

    def ceil(self) -> Tensor:
        return ops.ceil(self)

    def round(self, *, decimals: int = 0) -> Tensor:
        return ops.round(self, decimals=decimals)

    def maximum(self, other: Tensor) -> Tensor:
        return ops.maximum(self, other)

    def minimum(self, other: Tensor) -> Tensor:
        return ops.minimum(self, other)

    def clip(self, min: float | None = None, max: float | None = None) -> Tensor:
        return ops.clamp(self, min, max)

    def std(self, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False) -> Tensor:
        return ops.std(self, dim, correction=correction, keepdim=keepdim)

    def prod(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return ops.prod(self, dim, keepdim)

    def norm(self, p: float | str = "fro", dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return ops.norm(self, p, dim, keepdim)

    def cumsum(self, dim: int) -> Tensor:
        return ops.cumsum(self, dim)

    def cumprod(self, dim: int) -> Tensor:
        return ops.cumprod(self, dim)

    def mm(self, other: Tensor) -> Tensor:
        return ops.mm(self, other)

    def bmm(self, other: Tensor) -> Tensor:
        return ops.bmm(self, other)

    def dot(self, other: Tensor) -> Tensor:
        return ops.dot(self, other)

    def outer(self, other: Tensor) -> Tensor:
        return ops.outer(self, other)

    def tril(self, diagonal: int = 0) -> Tensor:
        return ops.tril(self, diagonal)

    def triu(self, diagonal: int = 0) -> Tensor:
        return ops.triu(self, diagonal)

    def diag(self, diagonal: int = 0) -> Tensor:
        return ops.diag(self, diagonal)

    def t(self) -> Tensor:
        return ops.t(self)

    def flip(self, *dims: Any) -> Tensor:
        return ops.flip(self, dims[0] if len(dims) == 1 else dims)

    def repeat(self, *sizes: Any) -> Tensor:
        return ops.repeat(self, *sizes)

    def expand_as(self, other: Tensor) -> Tensor:
        return ops.expand(self, other.shape)

    def chunk(self, chunks: int, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.chunk(self, chunks, dim)

    def unbind(self, dim: int = 0) -> tuple[Tensor, ...]:
        return ops.unbind(self, dim)

    def gather(self, dim: int, index: Tensor) -> Tensor:
        return ops.gather(self, dim, index)

    def scatter(self, dim: int, index: Tensor, src: Any) -> Tensor:
        return ops.scatter(self, dim, index, src)

    def scatter_add(self, dim: int, index: Tensor, src: Tensor) -> Tensor:
        return ops.scatter_add(self, dim, index, src)

    def index_select(self, dim: int, index: Tensor) -> Tensor:
        return ops.index_select(self, dim, index)

    def sort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Any:
        return ops.sort(self, dim, descending, stable=stable)

    def argsort(self, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
        return ops.argsort(self, dim, descending, stable=stable)

    def topk(self, k: int, dim: int = -1, largest: bool = True, sorted: bool = True) -> Any:
        return ops.topk(self, k, dim, largest, sorted)


# ----------------------------------------------------------------------------- helpers shared by the engine


def from_array(data: Any) -> Tensor:
    """A tensor around the array ``data`` — no copy, no dtype change — that requires no grad.

    The engine's fast constructor: ops wrap their results with it. (``tl.tensor``
    is the user's constructor: it copies, and infers a dtype from Python data.)
    """
    t = Tensor.__new__(Tensor)
    t.data = as_array(data)
    t.grad = None
    t._requires_grad = False
    t.grad_fn = None
    t.output_nr = 0
    t._vc = [0]
    return t


def as_array(data: Any) -> Any:
    """``data`` as an array: NumPy returns 0-d results as scalars (``numpy.float32``), which
    in-place ops cannot change, so a tensor holds a 0-d array instead."""
    return numpy.asarray(data) if isinstance(data, numpy.generic) else data


def data_of(x: Any) -> Any:
    """The array inside a tensor; anything else as it is."""
    return x.data if isinstance(x, Tensor) else x


def index_data(index: Any) -> Any:
    """An index (``x[index]``) with every tensor in it replaced by its array."""
    if isinstance(index, tuple):
        return tuple(data_of(i) for i in index)
    return data_of(index)


# Tensor's methods call autograd and the ops, which build on Tensor: they are imported
# here, at the end, once Tensor exists (autograd.py does the same with Tensor).
from tinyllm import autograd, ops  # noqa: E402
from tinyllm.ops import compare, sampling  # noqa: E402
