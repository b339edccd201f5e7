"""A pretend GPU for machines without one: NumPy arrays that say they live on "cuda:0".

``install(monkeypatch)`` makes tinyllm's backend see a CuPy whose arrays are a NumPy subclass
reporting ``device.id == 0``, so ``tl.device("cuda")`` exists and tensors made there report
``cuda:0``. What it checks is the plumbing, not CUDA: a tensor left on the CPU meets a
"GPU" tensor in an op and raises tinyllm's DeviceError, and an elementwise op between a
GPU array and a plain NumPy array raises TypeError, as CuPy does. What it cannot check:
implicit conversions to NumPy (``numpy.asarray(gpu_array)`` works here and fails on CuPy),
functions NumPy has and CuPy lacks, and CUDA's own rules (a process forked after CUDA started
cannot use the GPU). ``python tests/fake_gpu.py lessons/NN_name.py`` runs a lesson on it.
"""

from __future__ import annotations

import contextlib
import types
from typing import Any

import numpy


class FakeGPUArray(numpy.ndarray):
    """A host array that calls itself a GPU array."""

    @property
    def device(self) -> Any:  # CuPy's ndarray.device.id
        return types.SimpleNamespace(id=0)

    def __array_wrap__(self, array: Any, context: Any = None, return_scalar: bool = False) -> Any:
        return array.view(FakeGPUArray)  # CuPy's reductions give 0-d arrays, never NumPy scalars

    def __getitem__(self, index: Any) -> Any:
        return _to_gpu(super().__getitem__(index))

    def argmax(self, *args: Any, **kwargs: Any) -> Any:
        return _to_gpu(super().argmax(*args, **kwargs))

    def argmin(self, *args: Any, **kwargs: Any) -> Any:
        return _to_gpu(super().argmin(*args, **kwargs))

    def get(self) -> numpy.ndarray:
        return numpy.array(self.view(numpy.ndarray))

    def __array_ufunc__(self, ufunc: Any, method: str, *inputs: Any, **kwargs: Any) -> Any:
        if any(type(x) is numpy.ndarray for x in inputs):
            raise TypeError(f"Unsupported type {numpy.ndarray} (a NumPy array in a GPU op: {ufunc.__name__})")
        plain = [x.view(numpy.ndarray) if isinstance(x, FakeGPUArray) else x for x in inputs]
        if "out" in kwargs:
            kwargs["out"] = tuple(o.view(numpy.ndarray) if isinstance(o, FakeGPUArray) else o for o in kwargs["out"])
        return _to_gpu(getattr(ufunc, method)(*plain, **kwargs))


def _to_gpu(result: Any) -> Any:
    if type(result) is numpy.ndarray or isinstance(result, numpy.generic):
        return numpy.asarray(result).view(FakeGPUArray)
    if isinstance(result, tuple):
        return tuple(_to_gpu(r) for r in result)
    return result


class FakeCupy(types.ModuleType):
    """NumPy's functions, returning FakeGPUArrays."""

    ndarray = FakeGPUArray

    def __init__(self) -> None:
        super().__init__("cupy")
        self.cuda = types.SimpleNamespace(
            Device=lambda index=None: contextlib.nullcontext(),
            runtime=types.SimpleNamespace(getDevice=lambda: 0, getDeviceCount=lambda: 1),
        )

    def get_array_module(self, *arrays: Any) -> Any:
        return self if any(isinstance(a, FakeGPUArray) for a in arrays) else numpy

    def asarray(self, a: Any, dtype: Any = None) -> FakeGPUArray:
        if isinstance(a, FakeGPUArray):
            a = a.view(numpy.ndarray)
        return numpy.array(a, dtype=dtype).view(FakeGPUArray)

    def __getattr__(self, name: str) -> Any:
        value = getattr(numpy, name)
        if not callable(value) or isinstance(value, type):
            return value

        def on_gpu(*args: Any, **kwargs: Any) -> Any:
            return _to_gpu(value(*args, **kwargs))

        return on_gpu


def install(monkeypatch: Any) -> FakeCupy:
    """Make tinyllm's backend use a FakeCupy until the test ends."""
    from tinyllm import backend

    fake = FakeCupy()
    # generators made for the pretend GPU go with it: a "cuda:0" one left behind would be in every
    # later get_rng_state(), and a checkpoint holding it could not be resumed without a GPU
    monkeypatch.setattr(backend, "_default_generators", dict(backend._default_generators))
    monkeypatch.setattr(backend, "_cupy", fake)
    monkeypatch.setattr(backend, "cupy", lambda: fake)
    monkeypatch.setattr(backend, "cupyx", lambda: _fake_cupyx())
    return fake


def _fake_cupyx() -> Any:
    import math

    def erf(x: Any) -> Any:
        host = x.view(numpy.ndarray)
        return _to_gpu(numpy.asarray(numpy.frompyfunc(math.erf, 1, 1)(host), dtype=host.dtype))

    def scatter_add(target: Any, index: Any, values: Any) -> None:
        plain = [a.view(numpy.ndarray) if isinstance(a, FakeGPUArray) else a for a in (index, values)]
        numpy.add.at(target.view(numpy.ndarray), *plain)

    special = types.SimpleNamespace(erf=erf)
    return types.SimpleNamespace(scatter_add=scatter_add, scipy=types.SimpleNamespace(special=special))


def run_lesson(script: str) -> None:
    """Run a lesson with ``--quick --device cuda`` on the pretend GPU and count the tensors made on
    each device: any made on "cpu" stayed there silently."""
    import collections
    import runpy
    import sys

    import pytest

    from tinyllm import lessons
    from tinyllm.tensor import Tensor

    install(pytest.MonkeyPatch())
    parse = lessons.options

    def options(name: str, argv: list[str] | None = None) -> Any:
        return parse(name, ["--quick", "--device", "cuda"])

    lessons.options = options
    made: collections.Counter[str] = collections.Counter()
    init = Tensor.__init__

    def counted(self: Tensor, data: Any, requires_grad: bool = False) -> None:
        init(self, data, requires_grad)
        made[str(self.device)] += 1

    Tensor.__init__ = counted  # type: ignore[method-assign]
    sys.argv = [script]
    runpy.run_path(script, run_name="__main__")
    print(f"tensors made, by device: {dict(made)}")


if __name__ == "__main__":  # python tests/fake_gpu.py lessons/01_objective.py
    import sys

    run_lesson(sys.argv[1])
