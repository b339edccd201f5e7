"""Copies that the graph must see: clone, dtype conversion, moving between devices.

Each is the identity on values, so each backward hands the gradient straight
back — converted back to the input's dtype or moved back to its device.
"""

from __future__ import annotations

from typing import Any

import numpy

from tinyllm.backend import Device, device_of, to_device
from tinyllm.tensor import Function


class Clone(Function):
    """y = a copy of x;  dx = dy."""

    def forward(self, x: Any) -> Any:
        return x.copy()

    def backward(self, gy: Any) -> Any:
        return gy


class ToDtype(Function):
    """y = x converted to ``dtype``;  dx = dy converted back to x's dtype."""

    def forward(self, x: Any, dtype: numpy.dtype) -> Any:
        self.dtype = x.dtype
        return x.astype(dtype)

    def backward(self, gy: Any) -> Any:
        return gy.astype(self.dtype)


class ToDevice(Function):
    """y = x copied to ``device``;  dx = dy copied back to x's device."""

    def forward(self, x: Any, device: Device) -> Any:
        self.device = device_of(x)
        return to_device(x, device)

    def backward(self, gy: Any) -> Any:
        return to_device(gy, self.device)
