"""tl.save and tl.load against hostile input: what save refuses, what load checks, what a crashed save leaves.

The round trips of ordinary checkpoints live in test_nn_module.py; these tests hand the two functions
objects they cannot store and files they must not trust.
"""

from __future__ import annotations

import io
import json
import os
import signal
import struct
import subprocess
import sys
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from numpy.lib import format as npy

import tinyllm as tl
from tinyllm.serialization import MANIFEST, MAX_DEPTH

SETTINGS = settings(
    derandomize=True, max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
ROOT = Path(__file__).resolve().parents[2]


def _npy(array: np.ndarray) -> bytes:
    buf = io.BytesIO()
    npy.write_array(buf, array, allow_pickle=False)
    return buf.getvalue()


def _manifest(tree: object) -> bytes:
    return _npy(np.array(json.dumps({"format": 1, "tree": tree})))


def _write_npz(path: Path, members: dict[str, bytes], compression: int = zipfile.ZIP_STORED) -> None:
    """An .npz archive with exactly these members, written byte for byte (no zip64, so sizes sit in 4-byte fields)."""
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, data in members.items():
            archive.writestr(name, data)


def _nested_lists(depth: int) -> list:
    obj: list = []
    for _ in range(depth - 1):
        obj = [obj]
    return obj


# --- what save refuses


def test_save_refuses_an_object_array_with_type_error_and_writes_nothing(tmp_path) -> None:
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TypeError, match=r"the object\['optimizer'\]\['ids'\], an array of dtype object"):
        tl.save({"optimizer": {"ids": np.array([{"a": 1}, None], dtype=object)}}, path)
    with pytest.raises(TypeError, match=r"the object\[0\], an array of dtype .*'O'.*: it holds Python objects"):
        tl.save([np.array([(1, "x")], dtype=[("n", "i4"), ("tag", "O")])], path)
    assert os.listdir(tmp_path) == []


def test_save_names_an_unsupported_type_by_its_path_inside_the_object(tmp_path) -> None:
    state = {"optimizer": {"state": [{1, 2}]}}
    with pytest.raises(TypeError, match=r"the object\['optimizer'\]\['state'\]\[0\] of type set"):
        tl.save(state, tmp_path / "ckpt.npz")
    with pytest.raises(TypeError, match=r"the object\['optimizer'\] has key 2\.5"):
        tl.save({"optimizer": {2.5: 1}}, tmp_path / "ckpt.npz")


@pytest.mark.parametrize("kind", ["list", "dict", "through a tuple"])
def test_save_refuses_an_object_that_contains_itself_with_value_error(tmp_path, kind: str) -> None:
    if kind == "list":
        obj: object = [1, 2]
        obj.append(obj)
        where = r"the object\[2\]"
    elif kind == "dict":
        obj = {"a": {}}
        obj["a"]["back"] = obj
        where = r"the object\['a'\]\['back'\]"
    else:
        inner: list = []
        obj = {"t": (0, inner)}
        inner.append(obj)
        where = r"the object\['t'\]\[1\]\[0\]"
    with pytest.raises(ValueError, match=where + r": it contains itself"):
        tl.save(obj, tmp_path / "ckpt.npz")
    assert os.listdir(tmp_path) == []


def test_save_allows_a_container_shared_without_a_cycle(tmp_path) -> None:
    shared = [1.5, "x"]
    tl.save({"a": shared, "b": [shared, shared]}, tmp_path / "ckpt.npz")
    assert tl.load(tmp_path / "ckpt.npz") == {"a": shared, "b": [shared, shared]}


def test_nesting_up_to_max_depth_round_trips_and_one_more_is_refused(tmp_path) -> None:
    path = tmp_path / "ckpt.npz"
    tl.save(_nested_lists(MAX_DEPTH), path)
    assert tl.load(path) == _nested_lists(MAX_DEPTH)
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH}"):
        tl.save(_nested_lists(MAX_DEPTH + 1), tmp_path / "deep.npz")
    with pytest.raises(ValueError, match=f"nested deeper than {MAX_DEPTH}"):
        tl.save(_nested_lists(5000), tmp_path / "deep.npz")


# --- what load checks


def _nested_tree(depth: int) -> dict:
    tree: dict = {"type": "list", "items": []}
    for _ in range(depth - 1):
        tree = {"type": "list", "items": [tree]}
    return tree


def test_load_refuses_a_manifest_nested_deeper_than_max_depth(tmp_path) -> None:
    path = tmp_path / "deep.npz"
    _write_npz(path, {MANIFEST + ".npy": _manifest(_nested_tree(MAX_DEPTH))})
    assert tl.load(path) == _nested_lists(MAX_DEPTH)
    _write_npz(path, {MANIFEST + ".npy": _manifest(_nested_tree(MAX_DEPTH + 1))})
    with pytest.raises(ValueError, match=f"deep.npz is damaged: its manifest nests deeper than {MAX_DEPTH}"):
        tl.load(path)
    # deeper than the JSON parser itself can go
    text = '{"format": 1, "tree": ' + '{"type": "list", "items": [' * 100_000 + "]}" * 100_000 + "}"
    _write_npz(path, {MANIFEST + ".npy": _npy(np.array(text))})
    with pytest.raises(ValueError, match=f"deep.npz is damaged: its manifest nests deeper than {MAX_DEPTH}"):
        tl.load(path)


def _huge_header(shape: tuple[int, ...], data: bytes) -> bytes:
    buf = io.BytesIO()
    npy.write_array_header_1_0(buf, {"descr": "<f8", "fortran_order": False, "shape": shape})
    return buf.getvalue() + data


@pytest.mark.parametrize("shape", [(10**12,), (10**6, 10**6), (2,)])
def test_load_checks_a_declared_shape_against_the_bytes_before_allocating(tmp_path, shape) -> None:
    path = tmp_path / "huge.npz"
    tree = {"type": "tensor", "ref": "a0"}
    _write_npz(path, {"a0.npy": _huge_header(shape, b"\0" * 8), MANIFEST + ".npy": _manifest(tree)})
    declared = r"huge.npz is damaged: array 'a0.npy' declares shape .* but its member holds 8"
    with pytest.raises(ValueError, match=declared):
        tl.load(path)


def _patch_central_sizes(path: Path, member: str, size: int) -> None:
    """Make the zip's central directory declare ``size`` bytes (compressed and not) for ``member``."""
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02")
    while raw[at + 46 : at + 46 + len(member)] != member.encode():
        at = raw.index(b"PK\x01\x02", at + 4)
    raw[at + 20 : at + 28] = struct.pack("<II", size, size)
    path.write_bytes(bytes(raw))


def test_load_refuses_a_zip_member_declaring_more_bytes_than_the_file_holds(tmp_path) -> None:
    path = tmp_path / "bomb.npz"
    tree = {"type": "array", "ref": "a0"}
    _write_npz(path, {"a0.npy": _npy(np.arange(4.0)), MANIFEST + ".npy": _manifest(tree)})
    np.testing.assert_array_equal(tl.load(path), np.arange(4.0))
    _patch_central_sizes(path, "a0.npy", 2**32 - 2)
    with pytest.raises(ValueError, match=r"bomb.npz is damaged: member 'a0.npy' declares 4294967294 bytes"):
        tl.load(path)


@pytest.mark.parametrize(("offset", "value"), [(6, 0xFF), (8, 1 << 5), (8, 1 << 6)])
def test_load_refuses_a_zip_feature_that_zipfile_does_not_implement(tmp_path, offset: int, value: int) -> None:
    """A zip version past 6.3, patched data (flag bit 5), strong encryption (bit 6): NotImplementedError in zipfile."""
    path = tmp_path / "odd.npz"
    tl.save({"w": tl.ones(2)}, path)
    raw = bytearray(path.read_bytes())
    at = raw.index(b"PK\x01\x02") + offset
    raw[at : at + 2] = struct.pack("<H", value)
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="odd.npz is damaged: not a readable .npz archive"):
        tl.load(path)


def test_load_refuses_a_compressed_archive(tmp_path) -> None:
    path = tmp_path / "packed.npz"
    np.savez_compressed(path, a0=np.zeros(10**6), **{MANIFEST: np.array(json.dumps({"format": 1, "tree": None}))})
    with pytest.raises(ValueError, match="packed.npz is damaged: member 'a0.npy' is encrypted or compressed"):
        tl.load(path)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ({"notes.txt": b"hello"}, "member 'notes.txt' is not one array entry"),
        ({MANIFEST + ".npy": _npy(np.arange(3))}, "its manifest is malformed .*shape \\(3,\\)"),
        ({MANIFEST + ".npy": _npy(np.array("{not json"))}, "its manifest is not valid JSON"),
        ({MANIFEST + ".npy": _manifest({"type": "value", "value": [1]})}, r"the object is a value of type list"),
        ({MANIFEST + ".npy": _manifest({"type": "dict", "items": [[[1], {}]]})}, "not a \\[str or int key, entry\\]"),
        ({MANIFEST + ".npy": _manifest({"type": "list", "items": {}})}, "a list without a list of items"),
        ({MANIFEST + ".npy": _manifest({"type": "list", "items": [7]})}, r"the object\[0\] is an entry of unknown"),
        ({MANIFEST + ".npy": _manifest({"type": "tensor", "ref": ["a0"]})}, r"refers to array \['a0'\]"),
        ({MANIFEST + ".npy": _manifest({"type": "tensor", "ref": "a1"})}, "refers to array 'a1', which the file"),
    ],
)
def test_load_refuses_a_malformed_archive_or_manifest_naming_the_file(tmp_path, members, message: str) -> None:
    path = tmp_path / "bad.npz"
    _write_npz(path, members)
    with pytest.raises(ValueError, match="bad.npz .*" + message):
        tl.load(path)


def _checkpoint_bytes(tmp_path: Path) -> bytes:
    rng = np.random.default_rng(0)
    state = {"w": tl.tensor(rng.standard_normal((3, 4)).astype(np.float32)), "meta": {"step": 3, "betas": (0.9, 0.99)}}
    tl.save(state, tmp_path / "good.npz")
    raw = bytearray((tmp_path / "good.npz").read_bytes())
    # the zip stamps each member with the time it was written; a fixed stamp (1980-01-01) makes the bytes,
    # and so the examples drawn against them, the same on every run
    for header, at in ((b"PK\x03\x04", 10), (b"PK\x01\x02", 12)):
        start = raw.find(header)
        while start >= 0:
            raw[start + at : start + at + 4] = b"\0\0\x21\0"
            start = raw.find(header, start + 4)
    return bytes(raw)


def test_load_of_a_truncated_checkpoint_raises_value_error(tmp_path) -> None:
    good = _checkpoint_bytes(tmp_path)
    path = tmp_path / "cut.npz"
    for end in range(0, len(good), 7):
        path.write_bytes(good[:end])
        with pytest.raises(ValueError, match="cut.npz"):
            tl.load(path)


@SETTINGS
@given(data=st.binary(max_size=2000) | st.binary(max_size=2000).map(lambda b: b"PK\x03\x04" + b))
def test_load_of_random_bytes_raises_value_error(tmp_path, data: bytes) -> None:
    path = tmp_path / "noise.npz"
    path.write_bytes(data)
    with pytest.raises(ValueError, match="noise.npz"):
        tl.load(path)


@SETTINGS
@given(edits=st.lists(st.tuples(st.integers(0, 10**6), st.integers(0, 255)), min_size=1, max_size=8))
def test_load_of_a_checkpoint_with_random_bytes_changed_returns_or_raises_value_error(tmp_path, edits) -> None:
    raw = bytearray(_checkpoint_bytes(tmp_path))
    for at, byte in edits:
        raw[at % len(raw)] = byte
    path = tmp_path / "flipped.npz"
    path.write_bytes(bytes(raw))
    try:
        tl.load(path)
    except ValueError as e:
        assert "flipped.npz" in str(e)


_KEYS = st.sampled_from(["type", "items", "ref", "value"])
#: Any JSON value, biased towards the manifest's own words.
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.sampled_from(["type", "items", "a0"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_KEYS, inner),
    max_leaves=20,
)
#: One manifest entry with a real type and any fields.
_ENTRY = st.fixed_dictionaries(
    {"type": st.sampled_from(["dict", "list", "tuple", "value", "tensor", "array", "other"])},
    optional={"items": _JSON, "ref": _JSON, "value": _JSON},
)


def _containers(inner: st.SearchStrategy) -> st.SearchStrategy:
    item = inner | st.tuples(st.text(max_size=2), inner).map(list)
    kind = st.sampled_from(["dict", "list", "tuple"])
    return st.fixed_dictionaries({"type": kind, "items": st.lists(item, max_size=3)})


@SETTINGS
@given(tree=st.recursive(_ENTRY | _JSON, _containers, max_leaves=12))
def test_load_of_any_json_manifest_returns_or_raises_value_error(tmp_path, tree) -> None:
    path = tmp_path / "any.npz"
    _write_npz(path, {"a0.npy": _npy(np.arange(3)), MANIFEST + ".npy": _manifest(tree)})
    try:
        tl.load(path)
    except ValueError as e:
        assert "any.npz is damaged" in str(e)


# --- temporary files of a crashed save


def _leftover(name: str) -> str:
    return f"{name}.tinyllm-save-0123456789abcdef.tmp"


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs a signal that no cleanup can catch")
def test_a_save_removes_the_temp_file_of_an_earlier_save_killed_midway(tmp_path) -> None:
    path = tmp_path / "ckpt.npz"
    tl.save({"step": 1}, path)
    killed_midway = (
        "import os, signal, sys\n"
        "import tinyllm as tl, tinyllm.serialization as s\n"
        "def savez(f, *args, **kwargs):\n"
        "    f.write(b'PK' * 10**6)\n"
        "    f.flush()\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
        "s.numpy.savez = savez\n"
        "tl.save({'step': 2}, sys.argv[1])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    run = subprocess.run([sys.executable, "-c", killed_midway, str(path)], env=env, capture_output=True, timeout=60)
    assert run.returncode == -signal.SIGKILL
    leftovers = [n for n in os.listdir(tmp_path) if n != "ckpt.npz"]
    assert len(leftovers) == 1 and os.path.getsize(tmp_path / leftovers[0]) == 2 * 10**6
    assert tl.load(path) == {"step": 1}
    tl.save({"step": 3}, path)
    assert os.listdir(tmp_path) == ["ckpt.npz"] and tl.load(path) == {"step": 3}


def test_a_save_removes_only_its_own_paths_leftovers(tmp_path) -> None:
    unrelated = [
        _leftover("other.npz"),
        _leftover("ckpt.npz.old"),
        "ckpt.npz.tinyllm-save-0123.tmp",
        "ckpt.npz.tinyllm-save-0123456789ABCDEF.tmp",
        "ckpt.npz.backup.tmp",
        _leftover("ckpt.npz") + ".keep",
        "notes.txt",
    ]
    for name in [*unrelated, _leftover("ckpt.npz")]:
        (tmp_path / name).write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / _leftover("ckpt.npz")).write_bytes(b"x")
    tl.save({"step": 1}, tmp_path / "ckpt.npz")
    assert sorted(os.listdir(tmp_path)) == sorted([*unrelated, "ckpt.npz", "sub"])
    assert os.listdir(tmp_path / "sub") == [_leftover("ckpt.npz")]
