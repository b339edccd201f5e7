"""NumPy or CuPy: devices, the array module, random generators.

This is the only module in tinyllm that knows there are two array libraries.
Everything else asks it for ``xp`` — the module whose functions work on a given
array — and writes ``xp.exp(x)`` once for both devices.

A device is named like PyTorch's: ``"cpu"``, ``"cuda"`` (the current GPU) or
``"cuda:N"``. CuPy is imported only when a CUDA device is first asked for, so
tinyllm installs and runs without it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Sequence

import numpy

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")

#: The dtype of floating-point tensors made from Python numbers (PyTorch's default).
DEFAULT_DTYPE = float32

CUDA_INSTALL_HINT = 'pip install "tinyllm[cuda]"'


class DeviceError(RuntimeError):
    """A device that is unavailable, malformed, or mixed with another one in an op."""


# ----------------------------------------------------------------------------- devices


@dataclass(frozen=True)
class Device:
    """Where a tensor's data lives: ``Device("cpu")`` or ``Device("cuda", 0)``.

    Compares equal to its string form, so ``x.device == "cpu"`` reads naturally.
    """

    type: str
    index: int | None = None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = as_device(other)
            except DeviceError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)

    def __hash__(self) -> int:
        return hash((self.type, self.index))


CPU = Device("cpu")


def as_device(spec: str | Device) -> Device:
    """Parse ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a :class:`Device`.

    ``"cuda"`` means the current GPU and resolves to its index, so that two
    spellings of the same GPU compare equal.
    """
    if isinstance(spec, Device):
        return spec
    if not isinstance(spec, str):
        raise DeviceError(f"device must be a string like 'cpu' or 'cuda:0', got {spec!r}")
    if spec == "cpu":
        return CPU
    kind, _, index = spec.partition(":")
    if kind != "cuda" or (index and not index.isdigit()):
        raise DeviceError(f"unknown device {spec!r}: expected 'cpu', 'cuda' or 'cuda:N'")
    cp = cupy()
    if not index:
        return Device("cuda", cp.cuda.runtime.getDevice())
    n = int(index)
    count = cp.cuda.runtime.getDeviceCount()
    if n >= count:
        raise DeviceError(f"device {spec!r} does not exist: this machine has {count} GPU(s)")
    return Device("cuda", n)


_cupy: ModuleType | None = None


def cupy() -> ModuleType:
    """Import CuPy and check that it sees a GPU, or raise a :class:`DeviceError` saying why."""
    global _cupy
    if _cupy is not None:
        return _cupy
    try:
        import cupy as cp  # noqa: PLC0415 (optional dependency, imported on first use)

        count = cp.cuda.runtime.getDeviceCount()
    except Exception as error:  # ImportError, or CUDA's own driver/runtime errors
        raise DeviceError(
            "device 'cuda' is not available: CuPy could not be used "
            f"({type(error).__name__}: {error}). Install it with: {CUDA_INSTALL_HINT}"
        ) from error
    if count == 0:
        raise DeviceError(f"device 'cuda' is not available: CuPy sees no GPU. ({CUDA_INSTALL_HINT})")
    _cupy = cp
    return cp


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        cupy()
    except DeviceError:
        return False
    return True


def is_cuda_array(a: Any) -> bool:
    return type(a) is not numpy.ndarray and _cupy is not None and isinstance(a, _cupy.ndarray)


def device_of(a: Any) -> Device:
    """The device an array lives on."""
    if type(a) is numpy.ndarray or not is_cuda_array(a):
        return CPU
    return Device("cuda", a.device.id)


def get_array_module(a: Any) -> ModuleType:
    """``numpy`` for host arrays, ``cupy`` for GPU arrays: the ``xp`` of the docstrings."""
    if type(a) is numpy.ndarray or _cupy is None:
        return numpy
    return _cupy.get_array_module(a)


def array_module(dev: Device) -> ModuleType:
    return numpy if dev.type == "cpu" else cupy()


def to_device(a: Any, dev: Device) -> Any:
    """Return ``a`` as an array on ``dev`` (the same object when it is already there)."""
    if dev.type == "cpu":
        return a.get() if is_cuda_array(a) else numpy.asarray(a)
    cp = cupy()
    with cp.cuda.Device(dev.index):
        if is_cuda_array(a) and a.device.id == dev.index:
            return a
        return cp.asarray(a)


def check_same_device(arrays: Sequence[Any], op: str) -> None:
    """Raise a :class:`DeviceError` naming the op and both devices when arrays live apart."""
    first = arrays[0]
    if type(first) is numpy.ndarray:  # the common case, kept cheap: all on the host
        if all(type(a) is numpy.ndarray or not is_cuda_array(a) for a in arrays):
            return
    dev = device_of(first)
    for other in arrays[1:]:
        if device_of(other) != dev:
            raise DeviceError(
                f"{op}: tensors on different devices ({dev} and {device_of(other)}); "
                "move them with .to(device) first"
            )


# ----------------------------------------------------------------------------- dtypes


def is_floating(dtype: numpy.dtype) -> bool:
    return dtype.kind == "f"


def default_dtype_for(data: Any) -> numpy.dtype | None:
    """The dtype PyTorch would give a tensor made from Python data.

    Python floats become float32 (not NumPy's float64); ints int64; bools bool.
    Arrays keep their own dtype, so ``tl.tensor(np.zeros(3))`` stays float64.
    """
    if hasattr(data, "dtype"):
        return None
    probe = numpy.asarray(data)
    if probe.dtype.kind == "f":
        return DEFAULT_DTYPE
    return None


# ----------------------------------------------------------------------------- special functions


_erf_scalar = numpy.frompyfunc(math.erf, 1, 1)

# Two least-squares Chebyshev fits of degree 6 (references math.erf and math.erfc on
# 200,001 and 300,001 points), turned into power series; each errs by less than 1e-8,
# under float32's resolution.
#: erf(x) / x ~= sum_k ERF_SMALL[k] u^k with u = x^2, for |x| <= 1.
ERF_SMALL = (
    1.128379166232738, -0.37612629768903344, 0.11283634662785022, -0.026856071071595173,
    0.0051929613257727675, -0.0008053786972762974, 8.007011265694094e-05,
)  # fmt: skip
#: erfc(x) exp(x^2) ~= sum_k ERFC_LARGE[k] t^k with t = 1 / (1 + x / 2), for x >= 1.
ERFC_LARGE = (
    0.0005727582185266981, 0.2740723352595891, 0.32832460018099907, 0.10859337354469512,
    0.39201362321705024, -0.04729886715565057, -0.05704522022079539,
)  # fmt: skip


def _horner(coeffs: tuple[float, ...], z: Any) -> Any:
    """sum_k coeffs[k] z^k, updating one array in place."""
    acc = z * coeffs[-1]
    acc += coeffs[-2]
    for c in coeffs[-3::-1]:
        acc *= z
        acc += c
    return acc


def erf(x: Any) -> Any:
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise.

    NumPy has none. float64 host arrays get the C library's ``math.erf``, exact
    to the last bit but one Python call per element (fine for float64 checks).
    Other float host arrays — float32 training — get two fitted series: x p(x^2)
    for |x| <= 1, where 1 - erfc would cancel, and, only for the elements beyond,
    sign(x) (1 - exp(-x^2) r(1 / (1 + |x|/2))). Their error is about one float32
    unit, at a few percent of the cost. CuPy has a kernel.
    """
    if is_cuda_array(x):
        from cupyx.scipy.special import erf as cupy_erf  # noqa: PLC0415

        return cupy_erf(x)
    if x.dtype == numpy.float64 or x.dtype.kind != "f":
        return numpy.asarray(_erf_scalar(x), dtype=x.dtype)  # a 0-d input gives back a Python float
    if x.ndim == 0:
        return erf(x.reshape(1)).reshape(())
    with numpy.errstate(over="ignore", invalid="ignore"):  # |x| large: the small series overflows, unused
        out = _horner(ERF_SMALL, x * x)
        out *= x
    far = numpy.flatnonzero(numpy.abs(x) > 1)
    if far.size:
        xf = x.reshape(-1)[far]
        out.reshape(-1)[far] = numpy.copysign(1 - _erfc_far(numpy.abs(xf)), xf)
    return out


def _erfc_far(z: Any) -> Any:
    """erfc(z) for z >= 1 from the fitted series: exp(-z^2) r(1 / (1 + z / 2))."""
    return numpy.exp(-(z * z)) * _horner(ERFC_LARGE, 1 / (1 + 0.5 * z))


#: Phi(x) - 1/2 = x * sum_k NORMAL_CDF_SMALL[k] (x^2)^k for |x| <= sqrt 2: ERF_SMALL with
#: erf(z) = 2 Phi(z sqrt 2) - 1 folded into the coefficients (one pass fewer for each).
NORMAL_CDF_SMALL = tuple(c * 0.5 / math.sqrt(2.0) * 0.5**k for k, c in enumerate(ERF_SMALL))


def normal_cdf(x: Any) -> Any:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, elementwise (GELU's gate).

    float32 host arrays use the series of :func:`erf` with the scaling folded in
    (absolute error about one float32 unit at 1, which is what GELU needs; deep in the
    left tail the relative error grows); other arrays go through :func:`erf`.
    """
    if is_cuda_array(x) or x.dtype == numpy.float64 or x.dtype.kind != "f":
        out = erf(x * (1 / math.sqrt(2.0)))
        out += 1
        out *= 0.5
        return out
    if x.ndim == 0:
        return normal_cdf(x.reshape(1)).reshape(())
    with numpy.errstate(over="ignore", invalid="ignore"):
        out = _horner(NORMAL_CDF_SMALL, x * x)
        out *= x
        out += 0.5
    far = numpy.flatnonzero(numpy.abs(x) > math.sqrt(2.0))
    if far.size:
        xf = x.reshape(-1)[far]
        tail = 0.5 * _erfc_far(numpy.abs(xf) * (1 / math.sqrt(2.0)))  # Phi(-|x|)
        out.reshape(-1)[far] = numpy.where(xf > 0, 1 - tail, tail)
    return out


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` where repeated indices accumulate (unlike ``+=``)."""
    if is_cuda_array(target):
        import cupyx  # noqa: PLC0415

        cupyx.scatter_add(target, index, values)
    elif _is_row_index(index, target) and values.ndim > 1:
        _scatter_add_rows(target, index, values)
    else:
        numpy.add.at(target, index, values)


def _is_row_index(index: Any, target: Any) -> bool:
    return isinstance(index, numpy.ndarray) and index.ndim == 1 and index.dtype.kind in "iu" and target.ndim > 1


def _scatter_add_rows(target: Any, rows: Any, values: Any) -> None:
    """``target[rows] += values`` for whole rows, summing repeated rows first.

    Sort the rows, add up each run of equal ones with ``add.reduceat``, then add
    each sum once: a few vectorized passes, where ``add.at`` would work row by row.
    """
    rows = rows % target.shape[0]  # negative rows count from the end, as in indexing
    order = numpy.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = numpy.flatnonzero(numpy.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    target[sorted_rows[starts]] += numpy.add.reduceat(values[order], starts, axis=0)



# ----------------------------------------------------------------------------- random numbers


class Generator:
    """A seeded source of random numbers for one device.

    Draws are made on the host by NumPy's PCG64 and copied to the device, so the
    same seed gives the same numbers on CPU and GPU — initialization, dropout
    masks and shuffles agree across devices (at the cost of a host-to-device copy
    on GPU).
    """

    def __init__(self, device: str | Device = "cpu", seed: int | None = None) -> None:
        self.device = as_device(device)
        self._rng = numpy.random.Generator(numpy.random.PCG64(seed))

    def manual_seed(self, seed: int) -> Generator:
        self._rng = numpy.random.Generator(numpy.random.PCG64(seed))
        return self

    def get_state(self) -> dict:
        return self._rng.bit_generator.state

    def set_state(self, state: dict) -> None:
        self._rng.bit_generator.state = state

    def _place(self, a: numpy.ndarray) -> Any:
        return a if self.device.type == "cpu" else to_device(a, self.device)

    def normal(self, shape: tuple[int, ...], dtype: numpy.dtype) -> Any:
        """Standard normal draws N(0, 1)."""
        return self._place(self._rng.standard_normal(shape, dtype=dtype))

    def uniform(self, shape: tuple[int, ...], dtype: numpy.dtype) -> Any:
        """Uniform draws in [0, 1)."""
        return self._place(self._rng.random(shape, dtype=dtype))

    def integers(self, low: int, high: int, shape: tuple[int, ...]) -> Any:
        """Integers drawn uniformly from [low, high)."""
        return self._place(self._rng.integers(low, high, shape, dtype=numpy.int64))

    def permutation(self, n: int) -> Any:
        return self._place(self._rng.permutation(n))


_default_generators: dict[Device, Generator] = {}
_default_seed: int | None = None


def default_generator(dev: str | Device = "cpu") -> Generator:
    """The generator that random draws on ``dev`` use when none is passed."""
    dev = as_device(dev)
    gen = _default_generators.get(dev)
    if gen is None:
        gen = _default_generators[dev] = Generator(dev, _default_seed)
    return gen


def manual_seed(seed: int) -> None:
    """Seed every device's default generator, so that all later draws repeat exactly."""
    global _default_seed
    _default_seed = seed
    for gen in _default_generators.values():
        gen.manual_seed(seed)
    default_generator(CPU).manual_seed(seed)


def get_rng_state() -> dict[Device, dict]:
    """The state of every default generator (for :func:`set_rng_state`)."""
    default_generator(CPU)
    return {dev: gen.get_state() for dev, gen in _default_generators.items()}


def set_rng_state(state: dict[Device, dict]) -> None:
    for dev, s in state.items():
        default_generator(dev).set_state(s)
