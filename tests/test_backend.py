"""The backend: device names, seeded random generators, and the special functions NumPy lacks."""

from __future__ import annotations

import math

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


# ----------------------------------------------------------------------------- special functions


def test_erf_matches_math_erf_on_a_grid() -> None:
    x = np.linspace(-6.0, 6.0, 2001)
    expected = np.array([math.erf(v) for v in x])
    y = backend.erf(x)
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)


def test_erf_known_values_and_symmetry() -> None:
    # erf(1) and erf(0.5) from tables (Abramowitz & Stegun 7.1)
    x = np.array([0.0, 0.5, 1.0, -1.0, np.inf, -np.inf])
    np.testing.assert_allclose(
        backend.erf(x), [0.0, 0.5204998778130465, 0.8427007929497149, -0.8427007929497149, 1.0, -1.0],
        rtol=1e-15,
    )  # fmt: skip


def test_erf_keeps_float32_and_the_shape() -> None:
    x = np.linspace(-2.0, 2.0, 12, dtype=np.float32).reshape(3, 4)
    y = backend.erf(x)
    assert y.dtype == np.float32 and y.shape == (3, 4)
    np.testing.assert_allclose(y, [[math.erf(v) for v in row] for row in x.astype(np.float64)], rtol=1e-6)


def test_float32_erf_is_within_a_few_float32_units_everywhere() -> None:
    # dense over both series' ranges and the switch at |x| = 1, plus the tails and specials
    x = np.concatenate([np.linspace(-9.0, 9.0, 360_001), [0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0]]).astype(np.float32)
    exact = np.array([math.erf(float(v)) for v in x]).astype(np.float32)
    y = backend.erf(x)
    assert y.dtype == np.float32
    ulps = np.abs(y - exact) / np.spacing(np.maximum(np.abs(exact), np.float32(1e-30)))
    assert ulps.max() <= 4
    assert np.all(np.abs(y) <= 1)
    np.testing.assert_array_equal(backend.erf(np.array([np.inf, -np.inf], dtype=np.float32)), [1.0, -1.0])
    assert np.isnan(backend.erf(np.array([np.nan], dtype=np.float32)))[0]


def test_float32_normal_cdf_is_accurate_to_float32() -> None:
    x = np.linspace(-12.0, 12.0, 240_001).astype(np.float32)
    exact = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in x])
    y = backend.normal_cdf(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, exact, rtol=0, atol=1.2e-7)  # about one unit of float32 at 1
    body = x >= 0  # where Phi >= 1/2; below, the error is small in absolute terms (what GELU needs)
    exact32 = exact[body].astype(np.float32)
    assert (np.abs(y[body] - exact32) / np.spacing(exact32)).max() <= 4
    float64 = backend.normal_cdf(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(float64, [0.5 * math.erfc(-v / math.sqrt(2)) for v in range(-3, 4)], rtol=1e-15, atol=1e-16)
    assert backend.normal_cdf(np.array(0.0, dtype=np.float32)) == 0.5
    assert backend.erf(np.array(2.0, dtype=np.float32)).shape == ()


def test_erf_matches_torch(torch) -> None:
    x = np.linspace(-4.0, 4.0, 101)
    np.testing.assert_allclose(backend.erf(x), torch.erf(torch.from_numpy(x)).numpy(), rtol=1e-14, atol=1e-16)


def test_scatter_add_accumulates_repeated_indices() -> None:
    target = np.zeros(4)
    backend.scatter_add(target, np.array([0, 0, 2, 0]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(target, [7.0, 0.0, 3.0, 0.0])


def test_scatter_add_of_whole_rows_sums_repeats_like_add_at() -> None:
    rng = np.random.default_rng(0)
    rows = rng.integers(-7, 7, 500)  # repeats, and negative rows counted from the end
    values = rng.standard_normal((500, 3))
    expected = np.ones((7, 3))
    np.add.at(expected, rows, values)
    target = np.ones((7, 3))
    backend.scatter_add(target, rows, values)
    np.testing.assert_allclose(target, expected, rtol=1e-12)


def test_scatter_add_with_a_tuple_index_into_a_matrix() -> None:
    target = np.ones((2, 3))
    rows, cols = np.array([1, 1, 0]), np.array([2, 2, 0])
    backend.scatter_add(target, (rows, cols), np.array([10.0, 20.0, 5.0]))
    np.testing.assert_array_equal(target, [[6.0, 1.0, 1.0], [1.0, 1.0, 31.0]])
