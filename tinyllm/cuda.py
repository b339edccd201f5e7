"""``tl.cuda``: whether a GPU can be used, asked the way ``torch.cuda`` is asked.

    device = "cuda" if tl.cuda.is_available() else "cpu"

tinyllm reaches a GPU through CuPy (``pip install "tinyllm[cuda]"``); these answer
from :mod:`tinyllm.backend` without failing when CuPy is absent: ``manual_seed`` and
a bare ``synchronize()`` then do nothing, as PyTorch's do on a machine without CUDA
(``synchronize`` there raises; tinyllm's lets one timing script run on both).
"""

from __future__ import annotations

from tinyllm import backend


def is_available() -> bool:
    """True when CuPy imports and sees at least one GPU."""
    return backend.cuda_is_available()


def device_count() -> int:
    """How many GPUs CuPy sees (0 without CuPy)."""
    return backend.cupy().cuda.runtime.getDeviceCount() if is_available() else 0


def manual_seed(seed: int) -> None:
    """Seed the current GPU's default generator (nothing to seed, and nothing done, without a GPU).

    :func:`tinyllm.manual_seed` seeds every device at once; this seeds the GPU alone.
    """
    if is_available():
        backend.default_generator("cuda").manual_seed(seed)


def synchronize(device: str | int | backend.Device | None = None) -> None:
    """Wait until the GPU has finished all the work queued on it, so that a timer reads true times.

    GPU kernels run asynchronously: a matrix product returns before it is computed. Without a
    GPU there is nothing to wait for; naming a GPU that does not exist raises a DeviceError.
    """
    if device is None:
        if is_available():
            backend.cupy().cuda.Device().synchronize()
        return
    dev = backend.as_device(f"cuda:{device}" if isinstance(device, int) else device)
    if dev.type != "cuda":
        raise ValueError(f"synchronize: expected a cuda device, got {dev}")
    backend.cupy().cuda.Device(dev.index).synchronize()
