"""Tensors and weights in and out of tinyllm: DLPack, PyTorch state dicts, safetensors files.

Three ways across, from the cheapest:

- **DLPack**, the protocol array libraries share memory through. ``torch.from_dlpack(x)``
  reads a tinyllm tensor without a copy (``Tensor.__dlpack__``), and
  ``tl.from_dlpack(t)`` reads a PyTorch, NumPy or CuPy array the same way. As in
  PyTorch, a tensor that requires grad is not exported: ``x.detach()`` first, since
  the other library sees the values and never the graph.
- **State dicts in memory.** ``tl.utils.from_torch_state_dict(theirs.state_dict())``
  gives tinyllm tensors for ``model.load_state_dict``; the other way,
  ``{k: torch.from_dlpack(v) for k, v in model.state_dict().items()}`` is what
  ``torch_model.load_state_dict`` takes (a tinyllm state dict is already detached).
  :func:`to_torch_state_dict` gives plain NumPy arrays on the host for code that wants
  no tinyllm types at all. Parameter names are PyTorch's, so no renaming is needed.
- **safetensors files**, the format the wider ecosystem reads (``safetensors.torch.load_file``,
  Hugging Face): ``tl.save_safetensors(model.state_dict(), "model.safetensors")`` and
  ``tl.load_safetensors(path)``. They need the ``safetensors`` package
  (``pip install tinyllm[safetensors]``).

tinyllm never imports PyTorch: it reads foreign tensors through DLPack and ``__array__``.
``torch.load`` cannot read a ``tl.save`` checkpoint, on purpose: PyTorch's format is a
pickle, and tinyllm writes none (loading a pickle can run code); use safetensors to
hand weights to PyTorch on disk.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.serialization import CheckpointError, write_atomically
from tinyllm.tensor import Tensor, from_array

#: DLPack's device codes (``__dlpack_device__()[0]``) for the devices tinyllm has.
DLPACK_CPU, DLPACK_CUDA = 1, 2


def from_dlpack(ext: Any) -> Tensor:
    """A tinyllm tensor sharing memory with ``ext``: anything with ``__dlpack__``
    (a PyTorch tensor, a NumPy or CuPy array, a tinyllm tensor). It does not require grad."""
    if not hasattr(ext, "__dlpack__") or not hasattr(ext, "__dlpack_device__"):
        raise TypeError(
            f"from_dlpack: expected an object with __dlpack__ (a tensor or array), got {type(ext).__name__}"
        )
    kind, _ = ext.__dlpack_device__()
    if kind == DLPACK_CPU:
        return from_array(numpy.from_dlpack(ext))
    if kind == DLPACK_CUDA:
        return from_array(backend.cupy().from_dlpack(ext))
    raise backend.DeviceError(
        f"from_dlpack: tinyllm runs on the CPU and CUDA GPUs; this array lives on DLPack device type {kind}"
    )


def to_torch_state_dict(state_dict: Mapping[str, Any]) -> OrderedDict[str, numpy.ndarray]:
    """Each tensor of a tinyllm state dict as a contiguous NumPy array on the host, by the same name.

    ``torch.from_numpy`` turns each into a PyTorch tensor without a copy::

        theirs.load_state_dict({k: torch.from_numpy(v) for k, v in tl.utils.to_torch_state_dict(sd).items()})
    """
    out: OrderedDict[str, numpy.ndarray] = OrderedDict()
    for name, value in _named_entries(state_dict, "to_torch_state_dict"):
        if not isinstance(value, Tensor):
            raise TypeError(f"to_torch_state_dict: entry {name!r} is a {type(value).__name__}, not a tinyllm Tensor")
        out[name] = numpy.ascontiguousarray(value.detach().numpy())
    return out


def from_torch_state_dict(
    state_dict: Mapping[str, Any], device: str | backend.Device | None = None
) -> OrderedDict[str, Tensor]:
    """A PyTorch state dict (or any mapping of names to arrays) as tinyllm tensors, by the same name.

    Tensors are read through DLPack, so they share memory with the originals until
    ``load_state_dict`` copies them into a model. ``device`` moves them (default: stay where they are).
    """
    out: OrderedDict[str, Tensor] = OrderedDict()
    for name, value in _named_entries(state_dict, "from_torch_state_dict"):
        if hasattr(value, "detach"):  # a PyTorch tensor that requires grad refuses DLPack until detached
            value = value.detach()
        if hasattr(value, "__dlpack__"):
            t = from_dlpack(value)
        elif isinstance(value, numpy.ndarray):
            t = from_array(value)
        else:
            raise TypeError(f"from_torch_state_dict: entry {name!r} is a {type(value).__name__}, not a tensor or array")
        out[name] = t if device is None else t.to(device)
    return out


def _named_entries(state_dict: Mapping[str, Any], caller: str) -> list[tuple[str, Any]]:
    if not isinstance(state_dict, Mapping):
        raise TypeError(f"{caller}: expected a mapping of names to tensors, got {type(state_dict).__name__}")
    for name in state_dict:
        if not isinstance(name, str):
            raise TypeError(f"{caller}: keys must be str, got {name!r} ({type(name).__name__})")
    return list(state_dict.items())


def _safetensors() -> Any:
    """The safetensors library, with its NumPy functions loaded (``.numpy.save``, ``.numpy.load_file``)."""
    try:
        import safetensors
        import safetensors.numpy
    except ImportError:
        raise ImportError(
            "safetensors files need the safetensors package: pip install 'tinyllm[safetensors]'"
        ) from None
    return safetensors


def save_safetensors(
    tensors: Mapping[str, Any], path: str | os.PathLike[str], metadata: Mapping[str, str] | None = None
) -> None:
    """Write named tensors (a state dict) to a safetensors file, atomically as :func:`tl.save` does.

    ``metadata`` is a flat mapping of strings kept in the file's header. Tensors that
    share memory (tied weights) are each written in full, as safetensors has no aliasing.
    """
    st = _safetensors()
    arrays: dict[str, numpy.ndarray] = {}
    for name, value in _named_entries(tensors, "save_safetensors"):
        if isinstance(value, Tensor):
            value = value.detach().numpy()
        if not isinstance(value, numpy.ndarray):
            raise TypeError(f"save_safetensors: entry {name!r} is a {type(value).__name__}, not a tensor or array")
        arrays[name] = numpy.ascontiguousarray(value)
    if metadata is not None:
        bad = [k for k, v in metadata.items() if not isinstance(k, str) or not isinstance(v, str)]
        if bad:
            raise TypeError(f"save_safetensors: metadata must map str to str; not so for {bad}")
    data = st.numpy.save(arrays, metadata=dict(metadata) if metadata is not None else None)
    write_atomically(path, lambda f: f.write(data))


def load_safetensors(path: str | os.PathLike[str], device: str | backend.Device = "cpu") -> OrderedDict[str, Tensor]:
    """Read a safetensors file into named tinyllm tensors on ``device``, in the file's order.

    A damaged or hostile file raises :class:`tl.CheckpointError` naming it: the safetensors
    library checks the header against the file before reading, and runs no code.
    Dtypes NumPy lacks (bfloat16) are refused with the same error.
    """
    st = _safetensors()
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"load_safetensors: no such file: {path}")
    try:
        arrays = st.numpy.load_file(path)
    # the library's own error for a bad header or data, and NumPy's for a dtype it lacks
    except (st.SafetensorError, ValueError, TypeError) as e:
        raise CheckpointError(
            f"load_safetensors: {path} is not a readable safetensors file ({type(e).__name__}: {e})"
        ) from e
    dev = backend.as_device(device)
    return OrderedDict((name, from_array(backend.to_device(a, dev))) for name, a in arrays.items())
