"""Making tensors: from data, filled with a constant, ranges, and random draws.

Names and defaults follow PyTorch: float32 unless a dtype is given, ``device="cpu"``,
``requires_grad=False``. Random draws come from the device's default generator
(seeded by :func:`tinyllm.manual_seed`) unless a :class:`tinyllm.Generator` is passed.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.backend import Device, Generator
from tinyllm.tensor import Tensor

DeviceLike = str | Device
DTypeLike = Any


def _shape(size: Sequence[Any]) -> tuple[int, ...]:
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = size[0]
    return tuple(int(n) for n in size)


def _finish(data: Any, dtype: DTypeLike, device: DeviceLike, requires_grad: bool) -> Tensor:
    if dtype is not None:
        data = data.astype(numpy.dtype(dtype), copy=False)
    dev = backend.as_device(device)
    if dev != backend.device_of(data):
        data = backend.to_device(data, dev)
    return Tensor(data, requires_grad=requires_grad)


def tensor(
    data: Any, dtype: DTypeLike = None, requires_grad: bool = False, device: DeviceLike = "cpu"
) -> Tensor:
    """A new tensor holding a copy of ``data`` (nested lists, numbers, arrays or a Tensor).

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


def _filled(fill: Any, size: Sequence[Any], dtype: DTypeLike, device: DeviceLike, requires_grad: bool) -> Tensor:
    dt = numpy.dtype(dtype) if dtype is not None else backend.DEFAULT_DTYPE
    xp = backend.array_module(backend.as_device(device))
    with _on(device):
        data = xp.full(_shape(size), fill, dtype=dt)
    return Tensor(data, requires_grad=requires_grad)


class _on:
    """Make CuPy allocate on the right GPU (nothing to do for the CPU)."""

    def __init__(self, device: DeviceLike) -> None:
        dev = backend.as_device(device)
        self.ctx = None if dev.type == "cpu" else backend.cupy().cuda.Device(dev.index)

    def __enter__(self) -> None:
        if self.ctx is not None:
            self.ctx.__enter__()

    def __exit__(self, *exc: object) -> None:
        if self.ctx is not None:
            self.ctx.__exit__(*exc)


def zeros(*size: Any, dtype: DTypeLike = None, device: DeviceLike = "cpu", requires_grad: bool = False) -> Tensor:
    return _filled(0, size, dtype, device, requires_grad)


def ones(*size: Any, dtype: DTypeLike = None, device: DeviceLike = "cpu", requires_grad: bool = False) -> Tensor:
    return _filled(1, size, dtype, device, requires_grad)


def full(
    size: Sequence[int], fill_value: float, dtype: DTypeLike = None, device: DeviceLike = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    if dtype is None and not isinstance(fill_value, float):
        dtype = numpy.asarray(fill_value).dtype
    return _filled(fill_value, (size,), dtype, device, requires_grad)


def arange(
    start: float, end: float | None = None, step: float = 1, dtype: DTypeLike = None, device: DeviceLike = "cpu",
    requires_grad: bool = False,
) -> Tensor:  # fmt: skip
    """Numbers from ``start`` up to (not including) ``end``; int64 if all arguments are ints."""
    if end is None:
        start, end = 0, start
    if dtype is None:
        ints = all(isinstance(v, int) for v in (start, end, step))
        dtype = backend.int64 if ints else backend.DEFAULT_DTYPE
    return _finish(numpy.arange(start, end, step), dtype, device, requires_grad)


def _generator(generator: Generator | None, device: DeviceLike) -> Generator:
    if generator is None:
        return backend.default_generator(device)
    if generator.device != backend.as_device(device):
        raise backend.DeviceError(f"a generator for {generator.device} cannot draw on {device}")
    return generator


def _float_dtype(dtype: DTypeLike) -> numpy.dtype:
    dt = numpy.dtype(dtype) if dtype is not None else backend.DEFAULT_DTYPE
    if not backend.is_floating(dt):
        raise TypeError(f"random draws need a floating dtype, got {dt}")
    return dt


def randn(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = "cpu", requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:  # fmt: skip
    """Draws from the standard normal distribution N(0, 1)."""
    data = _generator(generator, device).normal(_shape(size), _float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def rand(
    *size: Any, dtype: DTypeLike = None, device: DeviceLike = "cpu", requires_grad: bool = False,
    generator: Generator | None = None,
) -> Tensor:  # fmt: skip
    """Draws from the uniform distribution on [0, 1)."""
    data = _generator(generator, device).uniform(_shape(size), _float_dtype(dtype))
    return Tensor(data, requires_grad=requires_grad)


def randint(*args: Any, size: Sequence[int] | None = None, device: DeviceLike = "cpu",
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
    return Tensor(_generator(generator, device).integers(low, high, tuple(size)))


def randperm(n: int, device: DeviceLike = "cpu", generator: Generator | None = None) -> Tensor:
    """A random permutation of 0 .. n-1, int64."""
    return Tensor(_generator(generator, device).permutation(n))


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
