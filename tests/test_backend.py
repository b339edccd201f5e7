"""The backend: device names, the array module, seeded random generators."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import backend

# ----------------------------------------------------------------------------- devices


def test_cpu_device_parses_and_compares_equal_to_its_string() -> None:
    cpu = tl.device("cpu")
    assert cpu == tl.Device("cpu")
    assert cpu == "cpu"
    assert cpu != "tpu"  # an unknown name is simply unequal, not an error
    assert str(cpu) == "cpu" and repr(cpu) == "device('cpu')"
    assert tl.device(cpu) is cpu


def test_devices_hash_by_type_and_index() -> None:
    table = {tl.Device("cpu"): "host", tl.Device("cuda", 0): "gpu0", tl.Device("cuda", 1): "gpu1"}
    assert table[tl.device("cpu")] == "host"
    assert table[tl.Device("cuda", 1)] == "gpu1"
    assert tl.Device("cuda", 0) != tl.Device("cuda", 1)
    assert str(tl.Device("cuda", 1)) == "cuda:1"


def test_device_rejects_non_strings() -> None:
    with pytest.raises(tl.DeviceError, match="got 0"):
        tl.device(0)


def test_tensors_report_their_device(device: str) -> None:
    x = tl.zeros(2, device=device)
    assert x.device == device
    assert x.device == tl.device(device)


@pytest.mark.skipif(not tl.cuda_is_available(), reason="CuPy sees no GPU on this machine")
def test_cuda_spellings_of_the_current_gpu_compare_equal() -> None:
    assert tl.device("cuda") == tl.device("cuda:0") == "cuda:0"


def test_array_module_is_numpy_for_host_arrays() -> None:
    a = np.zeros(3)
    assert backend.get_array_module(a) is np
    assert backend.array_module(tl.device("cpu")) is np
    assert backend.device_of(a) == "cpu"
    assert backend.to_device(a, tl.device("cpu")) is a  # already there: no copy


def test_only_the_backend_imports_cupy() -> None:
    importers = set()
    for path in Path(backend.__file__).parent.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            if any(name.split(".")[0] in ("cupy", "cupyx") for name in names):
                importers.add(path.name)
    assert importers == {"backend.py"}


# ----------------------------------------------------------------------------- random numbers


def _draws() -> list[list]:
    return [
        tl.randn(5).tolist(),
        tl.rand(5).tolist(),
        tl.randint(0, 100, (5,)).tolist(),
        tl.randperm(10).tolist(),
    ]


def test_manual_seed_makes_every_kind_of_draw_repeat() -> None:
    tl.manual_seed(123)
    first = _draws()
    tl.manual_seed(123)
    assert _draws() == first


def test_different_seeds_give_different_draws() -> None:
    tl.manual_seed(1)
    one = _draws()
    tl.manual_seed(2)
    two = _draws()
    for a, b in zip(one, two):
        assert a != b


def test_draws_have_the_documented_ranges_and_dtypes() -> None:
    assert tl.randn(3).dtype == tl.float32
    assert tl.randn(3, dtype=tl.float64).dtype == tl.float64
    u = tl.rand(1000).numpy()
    assert u.min() >= 0.0 and u.max() < 1.0
    k = tl.randint(-2, 3, (1000,))
    assert k.dtype == tl.int64 and set(k.tolist()) == {-2, -1, 0, 1, 2}
    p = tl.randperm(20)
    assert p.dtype == tl.int64 and sorted(p.tolist()) == list(range(20))
    assert tl.randn(2, 3).shape == (2, 3) and tl.rand((4, 1)).shape == (4, 1)


def test_random_draws_need_a_floating_dtype() -> None:
    with pytest.raises(TypeError, match="int64"):
        tl.randn(3, dtype=tl.int64)


def test_a_generator_is_independent_of_the_default_generator() -> None:
    tl.manual_seed(0)
    expected = tl.randn(4).tolist()

    tl.manual_seed(0)
    g = tl.Generator(seed=7)
    mine = tl.randn(4, generator=g).tolist()
    assert tl.randn(4).tolist() == expected  # drawing from g did not advance the default generator
    assert tl.randn(4, generator=tl.Generator(seed=7)).tolist() == mine
    assert mine != expected


def test_generator_manual_seed_restarts_its_sequence() -> None:
    g = tl.Generator(seed=3)
    first = tl.rand(4, generator=g).tolist()
    assert tl.rand(4, generator=g).tolist() != first
    g.manual_seed(3)
    assert tl.rand(4, generator=g).tolist() == first


def test_rng_state_round_trips() -> None:
    tl.randn(3)  # move away from the freshly seeded state
    state = tl.get_rng_state()
    first = _draws()
    tl.set_rng_state(state)
    assert _draws() == first


def test_generator_state_round_trips() -> None:
    g = tl.Generator(seed=5)
    state = g.get_state()
    first = tl.randn(3, generator=g).tolist()
    g.set_state(state)
    assert tl.randn(3, generator=g).tolist() == first


def test_same_seed_gives_same_draws_on_every_device(device: str) -> None:
    tl.manual_seed(9)
    host = tl.randn(6).tolist()
    tl.manual_seed(9)
    assert tl.randn(6, device=device).tolist() == host
