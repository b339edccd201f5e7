"""``tl.cuda``: whether a GPU can be used, asked the way ``torch.cuda`` is asked.

    device = "cuda" if tl.cuda.is_available() else "cpu"

tinyllm reaches a GPU through CuPy (``pip install "tinyllm[cuda]"``); these answer
from :mod:`tinyllm.backend` without failing when CuPy is absent.
"""

from __future__ import annotations

from tinyllm import backend


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    return backend.cupy().cuda.runtime.getDeviceCount() if is_available() else 0
