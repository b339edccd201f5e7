"""Tensor, Function and the backward walk: tinyllm's autograd engine.

A :class:`Tensor` holds an array (``.data``) and, when it was computed by an op
from tensors that require gradients, a link to the :class:`Function` node that
made it (``._ctx``). The links form a graph, built as the code runs
("define by run"). ``loss.backward()`` walks that graph from ``loss`` back to
the leaves in reverse topological order, and at each node applies the chain rule:
the node's ``backward`` turns the gradient of its output into gradients of its
inputs.

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

import functools
import weakref
from typing import Any, Callable, Iterator, Sequence, TypeVar

import numpy

from tinyllm import backend
from tinyllm.backend import Device

F = TypeVar("F", bound=Callable[..., Any])

# ----------------------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    return _grad_enabled


class _GradMode:
    """Switch graph recording for a ``with`` block or, used as a decorator, for a function."""

    mode: bool

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """``with tl.no_grad():`` — ops inside record no graph (evaluation, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """``with tl.enable_grad():`` — record a graph again inside a ``no_grad`` block."""

    mode = True


class set_grad_enabled(_GradMode):
    """``tl.set_grad_enabled(False)`` switches at once; as a context manager it restores on exit."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.mode = mode
        self.prev, _grad_enabled = _grad_enabled, mode

    def __enter__(self) -> None:
        pass

    def __call__(self, func: F) -> F:
        global _grad_enabled
        _grad_enabled = self.prev  # used as a decorator: switch only while func runs
        return super().__call__(func)


# ----------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` beside it.

    A subclass implements

    - ``forward(self, *arrays, **params) -> array``: compute the output and keep on
      ``self`` whatever ``backward`` will need;
    - ``backward(self, grad_out) -> array | tuple``: given dL/d(output), return
      dL/d(input) for each input (``None`` for one that needs none), each with
      that input's shape.

    ``Op.apply(*tensors, **params)`` runs ``forward`` and, when a graph is being
    recorded and some input requires grad, links the output to this node.

    A node may have several outputs (an LSTM returns its outputs and its final
    states): ``forward`` returns a tuple, ``apply`` returns a tuple of tensors, and
    ``backward(*grads_out)`` receives one gradient per output, ``None`` for an
    output that no path to the loss used.
    """

    inputs: tuple[Tensor, ...] | None
    versions: tuple[int, ...]
    out_versions: tuple[int, ...]
    #: Non-leaf outputs that asked for ``retain_grad()``, by output index (weak references).
    retained: dict[int, Any] | None = None
    n_outputs: int = 1
    released: bool = False
    #: True for ops whose output is a view of input 0's memory (reshape, permute, ...):
    #: the two then share one version counter, so an in-place change through either shows.
    shares_memory: bool = False

    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_out: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Any:
        arrays = [t.data for t in inputs]
        if len(arrays) > 1:
            backend.check_same_device(arrays, cls.__name__)
        fn = cls()
        result = fn.forward(*arrays, **params)
        many = isinstance(result, tuple)
        outs = tuple([_new_tensor(r) for r in result]) if many else (_new_tensor(result),)
        if cls.shares_memory:
            outs[0]._vc = inputs[0]._vc
        if _grad_enabled:
            for t in inputs:
                if t.requires_grad:
                    for i, out in enumerate(outs):
                        out.requires_grad = True
                        out._ctx = fn
                        out._oi = i
                    fn.inputs = inputs
                    fn.versions = tuple([i._vc[0] for i in inputs])
                    fn.out_versions = tuple([o._vc[0] for o in outs])
                    fn.n_outputs = len(outs)
                    break
        return outs if many else outs[0]

    def needs_grad(self, i: int) -> bool:
        """Whether input ``i`` wants a gradient (lets backward skip needless work)."""
        return self.inputs[i].requires_grad  # type: ignore[index]

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs, once backward is done with them."""
        self.__dict__.clear()
        self.inputs = None
        self.released = True


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An n-dimensional array that remembers how it was computed.

    Make tensors with :func:`tinyllm.tensor` and friends; ops make the rest.
    """

    __slots__ = ("data", "grad", "requires_grad", "_ctx", "_oi", "_vc", "__weakref__")
    __array_ufunc__ = None  # `ndarray + tensor` defers to Tensor.__radd__

    def __init__(self, data: Any, requires_grad: bool = False) -> None:
        if isinstance(data, Tensor):
            data = data.data
        elif type(data) is not numpy.ndarray and not backend.is_cuda_array(data):
            data = numpy.asarray(data)
        self.data = data
        self.grad: Tensor | None = None
        self.requires_grad = False
        self._ctx: Function | None = None
        self._oi = 0  # which of its node's outputs this tensor is
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
        return self._ctx is None

    @property
    def grad_fn(self) -> Function | None:
        return self._ctx

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
        if self._ctx is not None:
            extras.append(f"grad_fn=<{type(self._ctx).__name__}Backward>")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + ", ".join([body, *extras]) + ")"

    __hash__ = object.__hash__

    # --- autograd

    def requires_grad_(self, requires_grad: bool = True) -> Tensor:
        if requires_grad and not backend.is_floating(self.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, but this one has dtype "
                f"{self.dtype}; make it with dtype=tl.float32 (or float64)"
            )
        if not requires_grad and self._ctx is not None:
            raise RuntimeError(
                "requires_grad_(False) on a tensor computed by an op; use .detach() instead"
            )
        self.requires_grad = requires_grad
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` on this non-leaf tensor after backward (leaves always keep it)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad() on a tensor that does not require grad")
        if self._ctx is not None:
            if self._ctx.retained is None:
                self._ctx.retained = {}
            self._ctx.retained[self._oi] = weakref.ref(self)

    def backward(self, grad: Tensor | Any | None = None, retain_graph: bool = False) -> None:
        """Accumulate d(self)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

        ``grad`` is the gradient of some final scalar with respect to ``self``
        (the "upstream" gradient); it may be omitted only when ``self`` holds
        one element, and then is 1.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward: this tensor does not require grad and has no graph; set "
                "requires_grad=True on the inputs, and do not compute it under tl.no_grad()"
            )
        if grad is None:
            if self.data.size != 1:
                raise RuntimeError(
                    f"backward: grad can be omitted only for a one-element output, but this "
                    f"tensor has shape {self.shape}; reduce it first (e.g. .sum()) or pass "
                    f"grad= with shape {self.shape}"
                )
            g = backend.get_array_module(self.data).ones_like(self.data)
        else:
            g = grad.data if isinstance(grad, Tensor) else grad
            if not hasattr(g, "shape") or g.shape != self.shape:
                raise RuntimeError(
                    f"backward: grad has shape {getattr(g, 'shape', type(g).__name__)} "
                    f"but the tensor has shape {self.shape}"
                )
            backend.check_same_device([self.data, g], "backward")
        _run_backward(self, g, retain_graph)

    def detach(self) -> Tensor:
        """The same data, cut from the graph (shares memory and the version counter, like PyTorch's)."""
        t = _new_tensor(self.data)
        t._vc = self._vc
        return t

    def clone(self) -> Tensor:
        from tinyllm import ops

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

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __bool__(self) -> bool:
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with shape {self.shape} is ambiguous; use .any() or .all()"
            )
        return bool(self.data)

    # --- devices and dtypes (differentiable)

    def to(self, target: str | Device | numpy.dtype | type) -> Tensor:
        """Move to a device (``"cuda"``) or convert to a dtype (``tl.float64``)."""
        from tinyllm import ops

        if isinstance(target, (str, Device)):
            return ops.to_device(self, backend.as_device(target))
        return ops.to_dtype(self, numpy.dtype(target))

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

    def _check_inplace(self, op: str, value: Any = None) -> None:
        if _grad_enabled and (self.requires_grad or (isinstance(value, Tensor) and value.requires_grad)):
            raise RuntimeError(
                f"{op}: in-place operation on a tensor that takes part in a graph; tinyllm "
                "records no in-place ops. Use the out-of-place form (x = x + y), or do it "
                "under tl.no_grad() (as optimizers do)"
            )

    def _inplace(self, op: str, value: Any, update: Callable[[Any, Any], Any]) -> Tensor:
        self._check_inplace(op, value)
        v = value.data if isinstance(value, Tensor) else value
        if isinstance(value, Tensor):
            backend.check_same_device([self.data, v], op)
        update(self.data, v)
        self._vc[0] += 1
        return self

    def add_(self, other: Any, alpha: float = 1.0) -> Tensor:
        def update(a: Any, b: Any) -> None:
            a += b if alpha == 1.0 else alpha * b

        return self._inplace("add_", other, update)

    def sub_(self, other: Any, alpha: float = 1.0) -> Tensor:
        return self.add_(other, -alpha)

    def mul_(self, other: Any) -> Tensor:
        def update(a: Any, b: Any) -> None:
            a *= b

        return self._inplace("mul_", other, update)

    def div_(self, other: Any) -> Tensor:
        def update(a: Any, b: Any) -> None:
            a /= b

        return self._inplace("div_", other, update)

    def copy_(self, src: Any) -> Tensor:
        def update(a: Any, b: Any) -> None:
            a[...] = b

        return self._inplace("copy_", src, update)

    def fill_(self, value: Any) -> Tensor:
        return self.copy_(value)

    def zero_(self) -> Tensor:
        return self.copy_(0)

    def __setitem__(self, index: Any, value: Any) -> None:
        def update(a: Any, b: Any) -> None:
            a[_index_arrays(index)] = b

        self._inplace("__setitem__", value, update)

    def __iadd__(self, other: Any) -> Tensor:
        return self.add_(other)

    def __isub__(self, other: Any) -> Tensor:
        return self.sub_(other)

    def __imul__(self, other: Any) -> Tensor:
        return self.mul_(other)

    def __itruediv__(self, other: Any) -> Tensor:
        return self.div_(other)

    # --- arithmetic (each a differentiable op in tinyllm.ops)

    def __add__(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def __radd__(self, other: Any) -> Tensor:
        return _ops.add(other, self)

    def __sub__(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def __rsub__(self, other: Any) -> Tensor:
        return _ops.sub(other, self)

    def __mul__(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def __rmul__(self, other: Any) -> Tensor:
        return _ops.mul(other, self)

    def __truediv__(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def __rtruediv__(self, other: Any) -> Tensor:
        return _ops.div(other, self)

    def __pow__(self, exponent: Any) -> Tensor:
        return _ops.pow(self, exponent)

    def __rpow__(self, base: Any) -> Tensor:
        return _ops.pow(base, self)

    def __neg__(self) -> Tensor:
        return _ops.neg(self)

    def __pos__(self) -> Tensor:
        return self

    def __abs__(self) -> Tensor:
        return _ops.abs(self)

    def __matmul__(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def __rmatmul__(self, other: Any) -> Tensor:
        return _ops.matmul(other, self)

    def __getitem__(self, index: Any) -> Tensor:
        return _ops.getitem(self, index)

    # comparisons give bool tensors and are not differentiable
    def __eq__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _new_tensor(self.data == _data(other))

    def __ne__(self, other: Any) -> Tensor:  # type: ignore[override]
        return _new_tensor(self.data != _data(other))

    def __lt__(self, other: Any) -> Tensor:
        return _new_tensor(self.data < _data(other))

    def __le__(self, other: Any) -> Tensor:
        return _new_tensor(self.data <= _data(other))

    def __gt__(self, other: Any) -> Tensor:
        return _new_tensor(self.data > _data(other))

    def __ge__(self, other: Any) -> Tensor:
        return _new_tensor(self.data >= _data(other))

    def __invert__(self) -> Tensor:
        return _new_tensor(~self.data)

    def __and__(self, other: Any) -> Tensor:
        return _new_tensor(self.data & _data(other))

    def __or__(self, other: Any) -> Tensor:
        return _new_tensor(self.data | _data(other))

    # --- methods that mirror tinyllm.ops (PyTorch's method names)

    def add(self, other: Any) -> Tensor:
        return _ops.add(self, other)

    def sub(self, other: Any) -> Tensor:
        return _ops.sub(self, other)

    def mul(self, other: Any) -> Tensor:
        return _ops.mul(self, other)

    def div(self, other: Any) -> Tensor:
        return _ops.div(self, other)

    def pow(self, exponent: Any) -> Tensor:
        return _ops.pow(self, exponent)

    def neg(self) -> Tensor:
        return _ops.neg(self)

    def matmul(self, other: Any) -> Tensor:
        return _ops.matmul(self, other)

    def exp(self) -> Tensor:
        return _ops.exp(self)

    def log(self) -> Tensor:
        return _ops.log(self)

    def sqrt(self) -> Tensor:
        return _ops.sqrt(self)

    def abs(self) -> Tensor:
        return _ops.abs(self)

    def tanh(self) -> Tensor:
        return _ops.tanh(self)

    def sigmoid(self) -> Tensor:
        return _ops.sigmoid(self)

    def relu(self) -> Tensor:
        return _ops.relu(self)

    def clamp(self, min: float | None = None, max: float | None = None) -> Tensor:
        return _ops.clamp(self, min, max)

    def masked_fill(self, mask: Any, value: float) -> Tensor:
        return _ops.masked_fill(self, mask, value)

    def sum(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.sum(self, dim, keepdim)

    def mean(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.mean(self, dim, keepdim)

    def var(
        self, dim: int | Sequence[int] | None = None, correction: int = 1, keepdim: bool = False
    ) -> Tensor:
        return _ops.var(self, dim, correction=correction, keepdim=keepdim)

    def max(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _ops.max(self, dim, keepdim)

    def min(self, dim: int | None = None, keepdim: bool = False) -> Any:
        return _ops.min(self, dim, keepdim)

    def amax(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.amax(self, dim, keepdim)

    def amin(self, dim: int | Sequence[int] | None = None, keepdim: bool = False) -> Tensor:
        return _ops.amin(self, dim, keepdim)

    def argmax(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _ops.argmax(self, dim, keepdim)

    def argmin(self, dim: int | None = None, keepdim: bool = False) -> Tensor:
        return _ops.argmin(self, dim, keepdim)

    def softmax(self, dim: int) -> Tensor:
        return _ops.softmax(self, dim)

    def log_softmax(self, dim: int) -> Tensor:
        return _ops.log_softmax(self, dim)

    def logsumexp(self, dim: int | Sequence[int], keepdim: bool = False) -> Tensor:
        return _ops.logsumexp(self, dim, keepdim)

    def reshape(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    def view(self, *shape: Any) -> Tensor:
        return _ops.reshape(self, *shape)

    def flatten(self, start_dim: int = 0, end_dim: int = -1) -> Tensor:
        return _ops.flatten(self, start_dim, end_dim)

    def transpose(self, dim0: int, dim1: int) -> Tensor:
        return _ops.transpose(self, dim0, dim1)

    @property
    def T(self) -> Tensor:
        return _ops.permute(self, *reversed(range(self.ndim)))

    def permute(self, *dims: Any) -> Tensor:
        return _ops.permute(self, *dims)

    def expand(self, *sizes: Any) -> Tensor:
        return _ops.expand(self, *sizes)

    def squeeze(self, dim: int | None = None) -> Tensor:
        return _ops.squeeze(self, dim)

    def unsqueeze(self, dim: int) -> Tensor:
        return _ops.unsqueeze(self, dim)

    def split(self, split_size_or_sections: int | Sequence[int], dim: int = 0) -> tuple[Tensor, ...]:
        return _ops.split(self, split_size_or_sections, dim)


# ----------------------------------------------------------------------------- helpers


def _new_tensor(data: Any) -> Tensor:
    """A fresh tensor around ``data`` that requires no grad (the engine's fast constructor)."""
    t = Tensor.__new__(Tensor)
    t.data = _array(data)
    t.grad = None
    t.requires_grad = False
    t._ctx = None
    t._oi = 0
    t._vc = [0]
    return t


def _array(data: Any) -> Any:
    """NumPy returns 0-d results as scalars (``numpy.float32``), which in-place ops cannot
    change; a tensor holds a 0-d array instead."""
    return numpy.asarray(data) if isinstance(data, numpy.generic) else data


def _data(x: Any) -> Any:
    return x.data if isinstance(x, Tensor) else x


def _index_arrays(index: Any) -> Any:
    """An index with every Tensor in it replaced by its array."""
    if isinstance(index, tuple):
        return tuple(_data(i) for i in index)
    return _data(index)


# ----------------------------------------------------------------------------- the backward walk


def _topological_order(root: Tensor) -> list[Function]:
    """Every node that ``root`` depends on through a recorded graph, inputs before outputs.

    An iterative depth-first search, so graphs of any depth work (no recursion
    limit). Also checks, before anything is accumulated, that each node can still
    run its backward.
    """
    order: list[Function] = []
    visited: set[int] = set()
    _check_output_unchanged(root)
    stack: list[tuple[Function, bool]] = [(root._ctx, False)]  # type: ignore[list-item]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if id(fn) in visited:
            continue
        visited.add(id(fn))
        stack.append((fn, True))
        _check_can_backward(fn)
        for inp in fn.inputs:  # type: ignore[union-attr]
            if inp._ctx is not None and inp.requires_grad:
                _check_output_unchanged(inp)
                if id(inp._ctx) not in visited:
                    stack.append((inp._ctx, False))
    return order


def _check_can_backward(fn: Function) -> None:
    name = type(fn).__name__
    if fn.released:
        raise RuntimeError(
            f"backward through a graph a second time: {name}'s saved arrays were freed by the "
            "first backward. Pass retain_graph=True to the first backward if you need a second"
        )
    for i, (t, v) in enumerate(zip(fn.inputs, fn.versions)):  # type: ignore[arg-type]
        if t._vc[0] != v:
            raise RuntimeError(
                f"backward of {name}: its input {i} (shape {t.shape}, dtype {t.dtype}) was "
                f"modified in place after {name} used it (version {t._vc[0]}, was {v}); "
                "the gradient would be wrong. Modify a copy (.clone()) or change it after backward"
            )


def _check_output_unchanged(out: Tensor) -> None:
    fn = out._ctx
    if fn is not None and not fn.released and out._vc[0] != fn.out_versions[out._oi]:
        raise RuntimeError(
            f"backward of {type(fn).__name__}: its output (shape {out.shape}) was modified in "
            "place; the gradient would be wrong. Modify a copy (.clone()) instead"
        )


def _run_backward(root: Tensor, grad: Any, retain_graph: bool) -> None:
    # Arrays already stored where the user can reach them (.grad, or the grad they
    # passed in): a second leaf that receives the same array gets a copy, so an
    # in-place update of one .grad never changes another.
    handed_out: set[int] = {id(grad)}
    if root._ctx is None:
        _accumulate_grad(root, grad, handed_out)
        return
    order = _topological_order(root)
    grads: dict[int, list[Any]] = {id(root._ctx): _slots(root._ctx)}  # per node, one per output
    grads[id(root._ctx)][root._oi] = grad
    leaves: dict[int, tuple[Tensor, Any]] = {}
    for fn in reversed(order):
        out_grads = grads.pop(id(fn), None)
        if out_grads is None:
            continue
        if fn.retained:
            for i, ref in fn.retained.items():
                t = ref()
                if t is not None and out_grads[i] is not None:
                    _accumulate_grad(t, out_grads[i], handed_out)
        in_grads = fn.backward(*out_grads)
        if not isinstance(in_grads, tuple):
            in_grads = (in_grads,)
        for i, (inp, ig) in enumerate(zip(fn.inputs, in_grads)):  # type: ignore[arg-type]
            if ig is None or not inp.requires_grad:
                continue
            if ig.shape != inp.data.shape:
                raise RuntimeError(
                    f"{type(fn).__name__}.backward returned a gradient of shape {ig.shape} "
                    f"for input {i}, whose shape is {inp.data.shape}"
                )
            if ig.dtype != inp.data.dtype:  # a float32 input mixed with float64 in one op
                ig = ig.astype(inp.data.dtype)
            if inp._ctx is None:
                prev = leaves.get(id(inp))
                leaves[id(inp)] = (inp, ig if prev is None else prev[1] + ig)
                continue
            slots = grads.get(id(inp._ctx))
            if slots is None:
                slots = grads[id(inp._ctx)] = _slots(inp._ctx)
            prev = slots[inp._oi]
            slots[inp._oi] = ig if prev is None else prev + ig
        if not retain_graph:
            fn.release()
    for leaf, g in leaves.values():
        _accumulate_grad(leaf, g, handed_out)


def _slots(fn: Function) -> list[Any]:
    return [None] * fn.n_outputs


def _accumulate_grad(t: Tensor, g: Any, handed_out: set[int]) -> None:
    if t.grad is not None:
        t.grad.data = _array(t.grad.data + g)
        return
    if id(g) in handed_out or not g.flags.owndata:
        g = g.copy()
    handed_out.add(id(g))
    t.grad = _new_tensor(g)


from tinyllm import ops as _ops  # noqa: E402  (ops import Tensor and Function from here)
