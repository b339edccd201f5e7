"""NumPy or CuPy: devices, the array module, dtypes, random generators.

The only module in tinyllm that knows there are two array libraries, and the only
one that imports CuPy: when a CUDA device is first asked for, so tinyllm runs
without it. Everything else asks for ``xp``, the module whose functions work on a
given array, and writes ``xp.exp(x)`` once for both devices. Devices are named as
in PyTorch: ``"cpu"``, ``"cuda"`` (the current GPU) or ``"cuda:N"``. A device argument
left at None means the default device (:func:`set_default_device`), the CPU unless set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy

# ----------------------------------------------------------------------------- dtypes

float32 = numpy.dtype("float32")
float64 = numpy.dtype("float64")
float16 = numpy.dtype("float16")
int32 = numpy.dtype("int32")
int64 = numpy.dtype("int64")
bool_ = numpy.dtype("bool")

#: The dtype of floating-point tensors made from Python numbers (PyTorch's default).
DEFAULT_DTYPE = float32


def is_floating(dtype: numpy.dtype) -> bool:
    return dtype.kind == "f"


def check_numeric(dtype: numpy.dtype, where: str) -> None:
    """Refuse arrays of strings, bytes, Python objects, dates: arithmetic on them means
    something else (``"a" + "1"`` concatenates), so a tensor holds only bool and numbers."""
    if dtype.kind not in "biufc":
        raise TypeError(
            f"{where}: a tensor holds bool or numbers, not dtype {dtype} "
            "(strings, bytes, objects and dates are refused)"
        )


def default_dtype_for(data: Any) -> numpy.dtype | None:
    """float32 for Python floats (PyTorch's default, not NumPy's float64); None where NumPy's dtype is right.

    Python ints and bools get NumPy's int64 and bool, as in PyTorch; arrays keep their own
    dtype, so ``tl.tensor(np.zeros(3))`` stays float64.
    """
    if hasattr(data, "dtype") or numpy.asarray(data).dtype.kind != "f":
        return None
    return DEFAULT_DTYPE


# ----------------------------------------------------------------------------- devices


CUDA_INSTALL_HINT = 'pip install "tinyllm[cuda]"'


class DeviceError(RuntimeError):
    """A device that is unavailable, malformed, or mixed with another one in an op."""


@dataclass(frozen=True)
class Device:
    """Where a tensor's data lives: ``Device("cpu")`` or ``Device("cuda", 0)``, equal to its string form."""

    type: str
    index: int | None = None

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"

    def __repr__(self) -> str:
        return f"device('{self}')"

    def __enter__(self) -> Device:
        """``with tl.device("cuda"):`` makes this the default device until the block ends, as in PyTorch."""
        _outer_defaults.append(_default_device)
        set_default_device(self)
        return self

    def __exit__(self, *exc: object) -> None:
        set_default_device(_outer_defaults.pop())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            try:
                other = as_device(other)
            except DeviceError:
                return False
        if not isinstance(other, Device):
            return NotImplemented
        return (self.type, self.index) == (other.type, other.index)  # frozen: hashed by the same pair


CPU = Device("cpu")
_default_device = CPU
_outer_defaults: list[Device] = []  # the defaults that enclosing `with device:` blocks restore


def set_default_device(device: str | Device | None) -> None:
    """Make ``device`` where new tensors and parameters go when no device is given (None: the CPU again).

    PyTorch's ``torch.set_default_device``: ``tl.set_default_device("cuda")`` puts the
    factory functions' results (``tl.tensor``, ``zeros``, ``randn``, ``arange``, ...), the
    parameters of modules built afterwards and the data loaders' batches on the GPU;
    an explicit ``device=`` still wins, ``*_like`` and ``x.new_*`` keep their input's
    device and :func:`tinyllm.from_numpy` stays on the CPU. A device that is not
    available raises :class:`DeviceError` here, at once. The setting holds for the whole
    process (PyTorch's holds per thread); ``with tl.device("cuda"):`` sets it for a block.
    """
    global _default_device
    _default_device = CPU if device is None else as_device(device)


def get_default_device() -> Device:
    """Where new tensors go when no device is given: the CPU unless :func:`set_default_device` chose another."""
    return _default_device


def as_device(spec: str | Device | None) -> Device:
    """Parse ``"cpu"``, ``"cuda"`` or ``"cuda:N"`` into a :class:`Device`; None is the default device.

    ``"cuda"`` resolves to the current GPU's index, so both spellings of one GPU compare equal.
    """
    if spec is None:
        return _default_device
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
        import cupy as cp  # optional dependency, imported on first use

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


def cupyx() -> ModuleType:
    """CuPy's extras (``cupyx.scatter_add``, ``cupyx.scipy.special``), for arrays already on a GPU."""
    cupy()
    import cupyx.scipy.special

    return cupyx


def cuda_is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    try:
        return cupy() is not None
    except DeviceError:
        return False


def is_cuda_array(a: Any) -> bool:
    return type(a) is not numpy.ndarray and _cupy is not None and isinstance(a, _cupy.ndarray)


def device_of(a: Any) -> Device:
    """The device an array lives on."""
    return CPU if type(a) is numpy.ndarray or not is_cuda_array(a) else Device("cuda", a.device.id)


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
    if not any(is_cuda_array(a) for a in arrays):  # the common case, kept cheap: all on the host
        return
    dev = device_of(arrays[0])
    for other in arrays[1:]:
        if device_of(other) != dev:
            raise DeviceError(
                f"{op}: tensors on different devices ({dev} and {device_of(other)}); "
                "move them with .to(device) first"
            )


# ----------------------------------------------------------------------------- random numbers


class Generator:
    """A seeded source of random numbers for one device.

    Draws are made on the host by NumPy's PCG64 and copied to the device, so one seed gives
    the same initialization, dropout masks and shuffles on CPU and GPU (for a copy on GPU).
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
