"""Making tensors: from data, filled with a constant, ranges, and random draws.

Names and defaults follow PyTorch: float32 unless a dtype is given, ``requires_grad=False``, and
``device=None``, the default device (:func:`tinyllm.set_default_device`; the CPU unless set). Random
draws come from the device's default generator (seeded by :func:`tinyllm.manual_seed`) unless a
:class:`tinyllm.Generator` is passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.backend import Device, Generator
from tinyllm.ops.sampling import generator_on
from tinyllm.tensor import Tensor

DeviceLike = str | Device
DTypeLike = Any


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(n) for n in size)


def _finish(data: Any, dtype: DTypeLike, device: DeviceLike | None, requires_grad: bool) -> Tensor:
    if dtype is not None:
        data = data.astype(numpy.dtype(dtype), copy=False)
    dev = backend.as_device(device)
    if dev != backend.device_of(data):
        data = backend.to_device(data, dev)
    return Tensor(data, requires_grad=requires_grad)


def tensor(
    data: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: DeviceLike | None = None
) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or a Tensor), on ``device``
    (None: the default device, even for a tensor or array that lives elsewhere, as in PyTorch).

    Python floats give float32, ints int64, bools bool; arrays keep their dtype.
    """
    if isinstance(data, Tensor):
        data = data.data
    if backend.is_cuda_array(data):
        array = data.copy()
    else:  # straight to the dtype asked for: tensor([0.1], dtype=float64) must not round through float32
        array = numpy.array(data, dtype=backend.default_dtype_for(data) if dtype is None else numpy.dtype(dtype))
    if array.dtype == object:
        raise TypeError(f"tensor: cannot make a tensor from {type(data).__name__} (ragged or non-numeric data)")
    backend.check_numeric(array.dtype, "tensor")
    return _finish(array, dtype, device, requires_grad)


def _filled(fill: Any, size: Sequence[Any], dtype: DTypeLike, device: DeviceLike | None, requires_grad: bool) -> Tensor:
    dt = numpy.dtype(dtype) if dtype is not None else backend.DEFAULT_DTYPE
    xp = backend.array_module(backend.as_device(device))
    with _on(device):
        data = xp.full(_shape(size), fill, dtype=dt)
    return Tensor(data, requires_grad=requires_grad)


class _on:
    """Make CuPy allocate on the right GPU (nothing to do for the CPU)."""

    def __init__(self, device: DeviceLike | None) -> None:
        dev = backend.as_device(device)
        self.ctx = None if dev.type == "cpu" else backend.cupy().cuda.Device(dev.index)

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


def zeros(*size: Any, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def full(
    size: Sequence[int], fill_value: float, dtype: DTypeLike = None, device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    if dtype is None and not isinstance(fill_value, float):
        dtype = numpy.asarray(fill_value).dtype
    return _filled(fill_value, (size,), dtype, device, requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: DTypeLike = None, device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Numbers from ``start`` up to (not including) ``end``; int64 if all arguments are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.DEFAULT_DTYPE
    return _finish(numpy.arange(start, end, step), dtype, device, requires_grad)


def _float_dtype(dtype: DTypeLike) -> numpy.dtype:
    dt = numpy.dtype(dtype) if dtype is not None else backend.DEFAULT_DTYPE
    if not backend.is_floating(dt):
        raise TypeError(f"random draws need a floating dtype, got {dt}")
    return dt


def randn(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:  # fmt: skip
    """Draws from the standard normal distribution N(0, 1)."""
    data = generator_on(generator, device).normal(_shape(size), _float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:  # fmt: skip
    """Draws from the uniform distribution on [0, 1)."""
    data = generator_on(generator, device).uniform(_shape(size), _float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randint(*args: Any, size: Sequence[int] | None = None, device: DeviceLike | None = None,
            generator: Generator | None = None) -> Tensor:  # fmt: skip
    """Integers drawn uniformly from [low, high), int64: ``randint(high, size)`` (low is 0) or
    ``randint(low, high, size)``, as in PyTorch; ``size`` may also be given by keyword."""
    if size is None and args and isinstance(args[-1], (tuple, list)):
        *args, size = args
    if size is None or len(args) not in (1, 2):
        raise TypeError("randint: call it as randint(high, size) or randint(low, high, size), size a tuple")
    low, high = (0, args[0]) if len(args) == 1 else args
    for name, value in (("low", low), ("high", high)):
        if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool):
            raise TypeError(f"randint: {name} must be an int, not {value!r}")
    if low >= high:
        raise ValueError(f"randint: need low < high (high is excluded), got low={low}, high={high}")
    return Tensor(generator_on(generator, device).integers(low, high, tuple(size)))


def randperm(n: int, device: DeviceLike | None = None, generator: Generator | None = None) -> Tensor:
    """A random permutation of 0 .. n-1, int64."""
    return Tensor(generator_on(generator, device).permutation(n))


def _like(fn: Any, x: Tensor, dtype: DTypeLike, requires_grad: bool, **kw: Any) -> Tensor:
    return fn(*x.shape, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad, **kw)


def zeros_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(zeros, x, dtype, requires_grad)


def ones_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return _like(ones, x, dtype, requires_grad)


def full_like(x: Tensor, fill_value: float, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    return full(x.shape, fill_value, dtype=dtype or x.dtype, device=x.device, requires_grad=requires_grad)


def randn_like(
    x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False, generator: Generator | None = None
) -> Tensor:
    return _like(randn, x, dtype, requires_grad, generator=generator)


def rand_like(
    x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False, generator: Generator | None = None
) -> Tensor:
    return _like(rand, x, dtype, requires_grad, generator=generator)


# ----------------------------------------------------------------------------- from arrays, without copying


def as_tensor(data: Any, dtype: DTypeLike = None, device: DeviceLike | None = None) -> Tensor:
    """``data`` as a tensor, sharing memory where it can (PyTorch's rule).

    A NumPy (or CuPy) array of the right dtype on the right device is wrapped, not copied,
    so a change through either shows in both; a tensor comes back as it is. Anything
    else, or a dtype or device that differs, is converted into a new tensor. With
    ``device=None`` an array or tensor stays where it is, unless a default device other
    than the CPU is set (:func:`tinyllm.set_default_device`): then it goes there, and
    lists and numbers always do.
    """
    if device is None and backend.get_default_device() != backend.CPU:
        device = backend.get_default_device()
    if isinstance(data, Tensor):
        out = data
    elif type(data) is numpy.ndarray or backend.is_cuda_array(data):
        backend.check_numeric(data.dtype, "as_tensor")
        out = Tensor(data)  # Tensor keeps the array itself
    else:
        return tensor(data, dtype=dtype, device=device)
    return out.to(device=device, dtype=dtype) if dtype is not None or device is not None else out


def from_numpy(ndarray: numpy.ndarray) -> Tensor:
    """A tensor over a NumPy array's memory (no copy): writing to one changes the other.

    Always on the CPU, where the array is, whatever the default device (as in PyTorch)."""
    if not isinstance(ndarray, numpy.ndarray):
        raise TypeError(f"from_numpy: expected a numpy.ndarray, got {type(ndarray).__name__}")
    backend.check_numeric(ndarray.dtype, "from_numpy")
    return Tensor(ndarray)


def is_tensor(obj: Any) -> bool:
    return isinstance(obj, Tensor)


def numel(input: Tensor) -> int:
    """The number of elements of ``input`` (the product of its shape)."""
    return input.numel()


# ----------------------------------------------------------------------------- more shapes of constants


def empty(*size: Any, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False) -> Tensor:
    """A tensor whose values do not matter yet. tinyllm fills it with zeros (PyTorch leaves
    whatever the memory held), which costs little and makes a forgotten fill reproducible."""
    return zeros(*size, dtype=dtype, device=device, requires_grad=requires_grad)


def empty_like(x: Tensor, dtype: DTypeLike = None, requires_grad: bool = False) -> Tensor:
    """Like :func:`empty` (zeros, in tinyllm) with ``x``'s shape, dtype and device."""
    return _like(empty, x, dtype, requires_grad)


def linspace(
    start: float, end: float, steps: int, dtype: DTypeLike = None, device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """``steps`` evenly spaced numbers from ``start`` to ``end``, both included (float32 by default).

    The points are computed in float64 and rounded once to the dtype, so they can differ from
    PyTorch's float32 arithmetic in the last bit.
    """
    if not isinstance(steps, (int, numpy.integer)) or steps < 0:
        raise RuntimeError(f"linspace: number of steps must be a non-negative integer, got {steps!r}")
    return _finish(numpy.linspace(start, end, int(steps)), dtype or backend.DEFAULT_DTYPE, device, requires_grad)


def eye(
    n: int, m: int | None = None, dtype: DTypeLike = None, device: DeviceLike | None = None, requires_grad: bool = False
) -> Tensor:
    """The n x m identity matrix: ones on the diagonal, zeros elsewhere (``m`` defaults to ``n``)."""
    for name, value in (("n", n), ("m", m)):
        if value is not None and value < 0:
            raise RuntimeError(f"eye: {name} must be greater or equal to 0, got {value}")
    return _finish(numpy.eye(n, m), dtype or backend.DEFAULT_DTYPE, device, requires_grad)


# ----------------------------------------------------------------------------- more random draws


def randint_like(x: Tensor, *args: int, dtype: DTypeLike = None, requires_grad: bool = False,
                 generator: Generator | None = None) -> Tensor:  # fmt: skip
    """Integers from [low, high) with ``x``'s shape, device and (unless given) dtype, as in PyTorch:
    ``randint_like(x, high)`` or ``randint_like(x, low, high)``."""
    ints = randint(*args, x.shape, device=x.device, generator=generator)
    return _finish(ints.data, dtype or x.dtype, x.device, requires_grad)


def normal(
    mean: float | Tensor, std: float | Tensor = 1.0, size: Sequence[int] | None = None, *,
    generator: Generator | None = None, dtype: DTypeLike = None, device: DeviceLike | None = None,
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Draws from N(mean, std^2): ``normal(0.0, 1.0, size)`` with numbers, or elementwise with a
    tensor ``mean`` and/or ``std`` (they broadcast; the result takes their shape, dtype and device).

    The draws carry no gradient to a tensor ``mean`` or ``std`` (PyTorch passes zero gradients).
    """
    tensors = [t for t in (mean, std) if isinstance(t, Tensor)]
    if not tensors:
        if size is None:
            raise TypeError("normal: with a number mean and std, give the size: normal(0.0, 1.0, (2, 3))")
        if std < 0:
            raise RuntimeError(f"normal: std must be >= 0, got {std}")
        z = randn(*_shape((size,)), dtype=dtype, device=device, generator=generator)
        return Tensor(mean + std * z.data, requires_grad=requires_grad)
    ref = tensors[0]
    m = mean.data if isinstance(mean, Tensor) else mean
    s = std.data if isinstance(std, Tensor) else std
    backend.check_same_device([t.data for t in tensors], "normal")
    if backend.get_array_module(ref.data).any(backend.get_array_module(ref.data).asarray(s) < 0):
        raise RuntimeError("normal: std must be >= 0 everywhere")
    try:
        shape = numpy.broadcast_shapes(numpy.shape(m), numpy.shape(s))
    except ValueError:
        raise RuntimeError(f"normal: mean of shape {numpy.shape(m)} and std of shape {numpy.shape(s)} "
                           "do not broadcast together") from None  # fmt: skip
    dt = numpy.result_type(*[t.dtype for t in tensors])
    z = generator_on(generator, ref.device).normal(shape, _float_dtype(dt))
    return Tensor((m + s * z).astype(dt, copy=False), requires_grad=requires_grad)
