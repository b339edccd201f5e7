"""Copies that the graph must see: clone, dtype conversion, moving between devices.

Each is the identity on values, so each backward hands the gradient straight
back — converted back to the input's dtype or moved back to its device.
"""

from __future__ import annotations

from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.tensor import Tensor, from_array


class Clone(Function):
    """y = a copy of x;  dx = dy."""

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, gy: Any) -> Any:
        return gy


def clone(x: Tensor) -> Tensor:
    return Clone.apply(x)


class ToDtype(Function):
    """y = x converted to ``dtype``;  dx = dy converted back to x's dtype."""

    def forward(self, x: Any, dtype: numpy.dtype) -> Any:
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy: Any) -> Any:
        return gy.astype(self.dtype)


def to_dtype(x: Tensor, dtype: numpy.dtype) -> Tensor:
    if x.dtype == dtype:
        return x
    if not backend.is_floating(dtype):
        return from_array(x.data.astype(dtype))  # integers carry no gradient
    return ToDtype.apply(x, dtype=dtype)


class ToDevice(Function):
    """y = x copied to ``device``;  dx = dy copied back to x's device."""

    def forward(self, x: Any, device: backend.Device) -> Any:
        self.device = backend.device_of(x)
        return backend.to_device(x, device)

    def backward(self, gy: Any) -> Any:
        return backend.to_device(gy, self.device)


def to_device(x: Tensor, device: str | backend.Device) -> Tensor:
    device = backend.as_device(device)
    if x.device == device:
        return x
    return ToDevice.apply(x, device=device)
