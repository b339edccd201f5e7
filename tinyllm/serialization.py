"""Saving and loading checkpoints: ``tl.save(obj, path)`` and ``tl.load(path)``.

A checkpoint is a NumPy ``.npz`` archive: every tensor and array is stored as
an array entry, and one more entry holds, as JSON, the shape of the object
around them — nested dicts, lists and tuples with numbers, strings, booleans
and None, at most ``MAX_DEPTH`` (64) containers deep.

What ``save`` guarantees:

- No pickle is written. An array of Python objects (dtype ``object``) is refused
  with a ``TypeError``, as is any other unsupported type; the message names
  where it sits, e.g. ``the object['optimizer']['state'][0]``. Dict keys must be
  ``str`` or ``int``. An object that contains itself is refused with a
  ``ValueError``, and so is one nested deeper than ``MAX_DEPTH``, so every
  checkpoint ``save`` writes is one ``load`` reads.
- Saving is atomic: the archive is written to a temporary file beside ``path``
  (named ``<name>.tinyllm-save-<16 hex digits>.tmp``), flushed to disk, and then
  renamed over ``path`` in one step. A crash halfway leaves the old checkpoint
  untouched, never a truncated one. A process killed mid-save cannot clean up
  after itself, so each save first removes the temporary files of earlier saves
  of the same ``path``, and only those: names matching that exact pattern.
  Two processes saving to one path at the same moment is not supported: one may
  remove the other's temporary file, and that save then fails loudly.

What ``load`` guarantees, for any file, however damaged or malicious: it returns
what ``save`` wrote, or raises ``CheckpointError`` (a ``ValueError``) naming the file and what is wrong
(``FileNotFoundError`` and other ``OSError`` only when the file cannot be opened).
It never unpickles (``allow_pickle=False``), so loading runs no code. It never
allocates what the file merely declares: every archive member must be stored
uncompressed and fit inside the file, and every array's declared shape and dtype
must match the bytes its member holds, all checked before an array is read. The
manifest is checked entry by entry, and nesting deeper than ``MAX_DEPTH`` is refused.
"""

from __future__ import annotations

import json
import math
import os
import re
import secrets
import zipfile
from collections.abc import Callable
from typing import IO, Any

import numpy
from numpy.lib import format as npy

from tinyllm import backend
from tinyllm.tensor import Tensor, from_array

MANIFEST = "__tinyllm_manifest__"
FORMAT_VERSION = 1
#: The deepest nesting of dicts, lists and tuples a checkpoint may hold; the object passed to save is depth 1.
MAX_DEPTH = 64
_TEMP_MARK = ".tinyllm-save-"


class CheckpointError(ValueError):
    """A file that ``tl.load`` refuses: damaged, malicious, or not a tinyllm checkpoint."""


def _encode(obj: Any, arrays: dict[str, numpy.ndarray], where: str, open_containers: set[int], depth: int) -> Any:
    if isinstance(obj, numpy.generic):
        obj = obj.item()
    if isinstance(obj, Tensor) or hasattr(obj, "__array_namespace__") or isinstance(obj, numpy.ndarray):
        kind = "tensor" if isinstance(obj, Tensor) else "array"
        data = backend.to_device(obj.data if isinstance(obj, Tensor) else obj, backend.CPU)
        if data.dtype.hasobject:
            raise TypeError(
                f"tl.save: cannot save {where}, an array of dtype {data.dtype}: it holds Python objects, which "
                "only a pickle can store; a checkpoint holds arrays of numbers, booleans and strings"
            )
        ref = f"a{len(arrays)}"
        arrays[ref] = data
        return {"type": kind, "ref": ref}
    if isinstance(obj, (dict, list, tuple)):
        if id(obj) in open_containers:
            raise ValueError(f"tl.save: cannot save {where}: it contains itself (a cycle), which a file cannot hold")
        if depth > MAX_DEPTH:
            raise ValueError(f"tl.save: cannot save {where}: it is nested deeper than {MAX_DEPTH} containers")
        open_containers.add(id(obj))
        try:
            return _encode_container(obj, arrays, where, open_containers, depth)
        finally:
            open_containers.discard(id(obj))
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"type": "value", "value": obj}
    raise TypeError(
        f"tl.save: cannot save {where} of type {type(obj).__name__}; a checkpoint holds tensors, "
        "arrays, numbers, strings, None, and dicts, lists and tuples of them"
    )


def _encode_container(
    obj: dict | list | tuple, arrays: dict[str, numpy.ndarray], where: str, open_containers: set[int], depth: int
) -> Any:
    if isinstance(obj, dict):
        for k in obj:
            if not isinstance(k, (str, int)):
                raise TypeError(f"tl.save: dict keys must be str or int, but {where} has key {k!r}")
        items = [[k, _encode(v, arrays, f"{where}[{k!r}]", open_containers, depth + 1)] for k, v in obj.items()]
        return {"type": "dict", "items": items}
    items = [_encode(v, arrays, f"{where}[{i}]", open_containers, depth + 1) for i, v in enumerate(obj)]
    return {"type": type(obj).__name__, "items": items}


def save(obj: Any, path: str | os.PathLike[str]) -> None:
    """Write ``obj`` (a state dict, or nested dicts/lists of tensors, arrays and numbers) to ``path``."""
    arrays: dict[str, numpy.ndarray] = {}
    tree = _encode(obj, arrays, "the object", set(), 1)
    manifest = json.dumps({"format": FORMAT_VERSION, "tree": tree})
    write_atomically(path, lambda f: numpy.savez(f, **arrays, **{MANIFEST: numpy.array(manifest)}))


def write_atomically(path: str | os.PathLike[str], write: Callable[[IO[bytes]], None]) -> None:
    """Call ``write(f)`` on a temporary file beside ``path``, then rename it over ``path`` in one step.

    The guarantees of :func:`save` (see the module's docstring) come from here; every
    file tinyllm writes for keeps (checkpoints, safetensors) goes through it.
    """
    path = os.fspath(path)
    folder, name = os.path.split(os.path.abspath(path))
    _remove_stale_temp_files(folder, name)
    tmp = os.path.join(folder, f"{name}{_TEMP_MARK}{secrets.token_hex(8)}.tmp")
    # O_EXCL: never write through a file that is already there; mode 0o666 lets the umask decide, as for open()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise


def _remove_stale_temp_files(folder: str, name: str) -> None:
    """Remove what a save of ``folder/name`` killed before it could clean up left behind."""
    stale = re.compile(re.escape(name + _TEMP_MARK) + r"[0-9a-f]{16}\.tmp")
    for entry in os.listdir(folder):
        if stale.fullmatch(entry):
            try:
                os.remove(os.path.join(folder, entry))
            except FileNotFoundError:  # another save removed it first
                pass


def load(path: str | os.PathLike[str], map_location: str | backend.Device = "cpu") -> Any:
    """Read what :func:`save` wrote; tensors come back on ``map_location`` (default the CPU)."""
    path = os.fspath(path)
    device = backend.as_device(map_location)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"tl.load: no such file: {path}") from None
    with f:
        if not zipfile.is_zipfile(f):
            # a .npy file, a text file, an empty file: not worth a closer look
            raise CheckpointError(f"tl.load: {path} is not a tinyllm checkpoint (not an .npz archive)")
        try:
            arrays = _read_archive(f, path)
        except CheckpointError:
            raise
        # what zipfile and NumPy raise for a damaged archive; a bug in this module would raise something else
        except (zipfile.BadZipFile, EOFError, OSError, ValueError, OverflowError, NotImplementedError) as e:
            raise _damaged(path, f"not a readable .npz archive ({type(e).__name__}: {e})") from e
    manifest = _read_manifest(arrays.pop(MANIFEST, None), path)
    return _decode(manifest["tree"], arrays, device, path, "the object", 1)


def _read_archive(f: IO[bytes], path: str) -> dict[str, numpy.ndarray]:
    """Every array in the archive, each checked against the file before it is allocated."""
    size = os.fstat(f.fileno()).st_size
    arrays: dict[str, numpy.ndarray] = {}
    with zipfile.ZipFile(f) as archive:
        for info in archive.infolist():
            member = info.filename
            if not member.endswith(".npy") or member[:-4] in arrays:
                raise _damaged(path, f"member {member!r} is not one array entry of an .npz archive")
            if info.flag_bits & 0x1 or info.compress_type != zipfile.ZIP_STORED:
                raise _damaged(path, f"member {member!r} is encrypted or compressed; tl.save stores arrays as they are")
            if info.file_size != info.compress_size or info.header_offset + info.compress_size > size:
                raise _damaged(
                    path, f"member {member!r} declares {info.file_size} bytes, more than the file's {size} bytes hold"
                )
            with archive.open(info) as stream:
                _check_npy_header(stream, info, path)
            with archive.open(info) as stream:
                arrays[member[:-4]] = npy.read_array(stream, allow_pickle=False)
    return arrays


def _check_npy_header(stream: IO[bytes], info: zipfile.ZipInfo, path: str) -> None:
    """Refuse an array whose header declares object dtype, or more (or fewer) bytes than its member holds."""
    member = info.filename
    major, minor = npy.read_magic(stream)
    if (major, minor) not in ((1, 0), (2, 0), (3, 0)):
        raise _damaged(path, f"member {member!r} has .npy format version {major}.{minor}")
    read_header = npy.read_array_header_1_0 if major == 1 else npy.read_array_header_2_0
    shape, _, dtype = read_header(stream)
    if dtype.hasobject:
        raise _damaged(path, f"array {member!r} holds Python objects, which only a pickle can (allow_pickle=False)")
    if not all(isinstance(n, int) and n >= 0 for n in shape):
        raise _damaged(path, f"array {member!r} declares shape {shape}")
    declared = math.prod(shape) * dtype.itemsize
    held = info.file_size - stream.tell()
    if declared != held:
        raise _damaged(
            path, f"array {member!r} declares shape {shape} of {dtype} ({declared} bytes), but its member holds {held}"
        )


def _read_manifest(entry: numpy.ndarray | None, path: str) -> dict[str, Any]:
    if entry is None:
        raise CheckpointError(f"tl.load: {path} is not a tinyllm checkpoint (it has no {MANIFEST} entry)")
    if entry.shape != () or entry.dtype.kind != "U":
        raise _damaged(path, f"its manifest is malformed (an array of shape {entry.shape} and dtype {entry.dtype})")
    try:
        manifest = json.loads(str(entry))
    except RecursionError:  # the JSON parser's own depth limit, far above MAX_DEPTH
        raise _damaged(path, f"its manifest nests deeper than {MAX_DEPTH} containers") from None
    except ValueError as e:
        raise _damaged(path, f"its manifest is not valid JSON ({e})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_VERSION or "tree" not in manifest:
        found = manifest.get("format") if isinstance(manifest, dict) else None
        raise CheckpointError(
            f"tl.load: {path} has checkpoint format {found!r}; this tinyllm reads format {FORMAT_VERSION}"
        )
    return manifest


def _decode(
    node: Any, arrays: dict[str, numpy.ndarray], device: backend.Device, path: str, where: str, depth: int
) -> Any:
    kind = node.get("type") if isinstance(node, dict) else None
    if kind in ("tensor", "array"):
        ref = node.get("ref")
        if not isinstance(ref, str) or ref not in arrays:
            raise _damaged(path, f"{where} refers to array {ref!r}, which the file does not hold")
        a = backend.to_device(arrays[ref], device)
        return from_array(a) if kind == "tensor" else a
    if kind == "value":
        value = node.get("value")
        if value is not None and not isinstance(value, (bool, int, float, str)):
            raise _malformed(path, where, f"a value of type {type(value).__name__}")
        return value
    if kind not in ("dict", "list", "tuple"):
        raise _malformed(path, where, f"an entry of unknown type {kind!r}")
    if depth > MAX_DEPTH:
        raise _damaged(path, f"its manifest nests deeper than {MAX_DEPTH} containers (at {where})")
    items = node.get("items")
    if not isinstance(items, list):
        raise _malformed(path, where, f"a {kind} without a list of items")
    if kind != "dict":
        decoded = [_decode(v, arrays, device, path, f"{where}[{i}]", depth + 1) for i, v in enumerate(items)]
        return decoded if kind == "list" else tuple(decoded)
    out = {}
    for item in items:
        if not (isinstance(item, list) and len(item) == 2 and isinstance(item[0], (str, int))):
            raise _malformed(path, where, f"a dict item {item!r:.60} that is not a [str or int key, entry] pair")
        out[item[0]] = _decode(item[1], arrays, device, path, f"{where}[{item[0]!r}]", depth + 1)
    return out


def _damaged(path: str, what: str) -> CheckpointError:
    return CheckpointError(f"tl.load: {path} is damaged: {what}")


def _malformed(path: str, where: str, what: str) -> CheckpointError:
    return _damaged(path, f"its manifest is malformed ({where} is {what})")
