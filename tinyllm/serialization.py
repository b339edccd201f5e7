"""Saving and loading checkpoints: ``tl.save(obj, path)`` and ``tl.load(path)``.

A checkpoint is a NumPy ``.npz`` archive: every tensor and array is stored as
an array entry, and one more entry holds, as JSON, the shape of the object
around them — nested dicts, lists and tuples with numbers, strings, booleans
and None. No pickle is written or read, so loading a checkpoint runs no code.

Saving is atomic: the archive is written to a temporary file beside ``path``,
flushed to disk, and then renamed over ``path`` in one step. A crash halfway
leaves the old checkpoint untouched, never a truncated one.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.tensor import Tensor, from_array

MANIFEST = "__tinyllm_manifest__"
FORMAT_VERSION = 1


def _encode(obj: Any, arrays: dict[str, numpy.ndarray], where: str) -> Any:
    if isinstance(obj, numpy.generic):
        obj = obj.item()
    if isinstance(obj, Tensor) or hasattr(obj, "__array_namespace__") or isinstance(obj, numpy.ndarray):
        kind = "tensor" if isinstance(obj, Tensor) else "array"
        data = obj.data if isinstance(obj, Tensor) else obj
        ref = f"a{len(arrays)}"
        arrays[ref] = backend.to_device(data, backend.CPU)
        return {"type": kind, "ref": ref}
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"tl.save: dict keys must be str or int, but {where} has key {k!r}")
        return {"type": "dict", "items": [[k, _encode(v, arrays, f"{where}[{k!r}]")] for k, v in obj.items()]}
    if isinstance(obj, (list, tuple)):
        items = [_encode(v, arrays, f"{where}[{i}]") for i, v in enumerate(obj)]
        return {"type": type(obj).__name__, "items": items}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"type": "value", "value": obj}
    raise TypeError(
        f"tl.save: cannot save {where} of type {type(obj).__name__}; a checkpoint holds tensors, "
        "arrays, numbers, strings, None, and dicts, lists and tuples of them"
    )


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state dict, or nested dicts/lists of tensors, arrays and numbers) to ``path``."""
    arrays: dict[str, numpy.ndarray] = {}
    tree = _encode(obj, arrays, "the object")
    manifest = json.dumps({"format": FORMAT_VERSION, "tree": tree})
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=os.path.basename(path) + ".", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it private; a checkpoint is an ordinary file
        with os.fdopen(fd, "wb") as f:
            numpy.savez(f, **arrays, **{MANIFEST: numpy.array(manifest)})
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def load(path: str | os.PathLike[str], map_location: str | backend.Device = "cpu") -> Any:
    """Read what :func:`save` wrote; tensors come back on ``map_location`` (default the CPU)."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"tl.load: no such file: {path}")
    device = backend.as_device(map_location)
    if not zipfile.is_zipfile(path):
        # numpy.load would read a .npy file, or blame pickles for any other file
        raise ValueError(f"tl.load: {path} is not a tinyllm checkpoint (not an .npz archive)")
    try:
        archive = numpy.load(path, allow_pickle=False)
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ValueError(f"tl.load: {path} is not a tinyllm checkpoint (not a readable .npz file: {e})") from e
    with archive:
        if MANIFEST not in archive.files:
            raise ValueError(f"tl.load: {path} is not a tinyllm checkpoint (it has no {MANIFEST} entry)")
        try:
            manifest = json.loads(str(archive[MANIFEST]))
            arrays = {name: archive[name] for name in archive.files if name != MANIFEST}
        except (ValueError, OSError, zipfile.BadZipFile, EOFError) as e:
            raise ValueError(f"tl.load: {path} is damaged: {e}") from e
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION or "tree" not in manifest:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise ValueError(
            f"tl.load: {path} has checkpoint format {found!r}; this tinyllm reads format {FORMAT_VERSION}"
        )
    try:
        return _decode(manifest["tree"], arrays, device, path)
    except (KeyError, TypeError, AttributeError) as e:
        raise ValueError(f"tl.load: {path} is damaged: its manifest is malformed ({type(e).__name__}: {e})") from e


def _decode(node: dict[str, Any], arrays: dict[str, numpy.ndarray], device: backend.Device, path: str) -> Any:
    kind = node.get("type")
    if kind in ("tensor", "array"):
        if node["ref"] not in arrays:
            raise ValueError(f"tl.load: {path} is damaged: array {node['ref']} is missing")
        a = backend.to_device(arrays[node["ref"]], device)
        return from_array(a) if kind == "tensor" else a
    if kind == "dict":
        return {k: _decode(v, arrays, device, path) for k, v in node["items"]}
    if kind in ("list", "tuple"):
        items = [_decode(v, arrays, device, path) for v in node["items"]]
        return items if kind == "list" else tuple(items)
    if kind == "value":
        return node["value"]
    raise ValueError(f"tl.load: {path} is damaged: unknown entry type {kind!r}")
