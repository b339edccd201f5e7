"""erf and the normal CDF (GELU's gate): exact in float64, within a few float32 units in float32."""

from __future__ import annotations

import math

import numpy as np

import tinyllm as tl
from tinyllm import backend
from tinyllm.ops import special


def test_erf_matches_math_erf_on_a_grid() -> None:
    x = np.linspace(-6.0, 6.0, 2001)
    expected = np.array([math.erf(v) for v in x])
    y = special.erf(x)
    assert y.dtype == np.float64 and y.shape == x.shape
    np.testing.assert_allclose(y, expected, rtol=0, atol=1e-15)


def test_erf_known_values_and_symmetry() -> None:
    # erf(1) and erf(0.5) from tables (Abramowitz & Stegun 7.1)
    x = np.array([0.0, 0.5, 1.0, -1.0, np.inf, -np.inf])
    np.testing.assert_allclose(
        special.erf(x), [0.0, 0.5204998778130465, 0.8427007929497149, -0.8427007929497149, 1.0, -1.0],
        rtol=1e-15,
    )  # fmt: skip


def test_erf_keeps_float32_and_the_shape() -> None:
    x = np.linspace(-2.0, 2.0, 12, dtype=np.float32).reshape(3, 4)
    y = special.erf(x)
    assert y.dtype == np.float32 and y.shape == (3, 4)
    np.testing.assert_allclose(y, [[math.erf(v) for v in row] for row in x.astype(np.float64)], rtol=1e-6)


def test_float32_erf_is_within_a_few_float32_units_everywhere() -> None:
    # dense over both series' ranges and the switch at |x| = 1, plus the tails and specials
    x = np.concatenate([np.linspace(-9.0, 9.0, 360_001), [0.0, -0.0, 1e-30, -1e-30, 1.0, -1.0]]).astype(
        np.float32
    )
    exact = np.array([math.erf(float(v)) for v in x]).astype(np.float32)
    y = special.erf(x)
    assert y.dtype == np.float32
    ulps = np.abs(y - exact) / np.spacing(np.maximum(np.abs(exact), np.float32(1e-30)))
    assert ulps.max() <= 4
    assert np.all(np.abs(y) <= 1)
    np.testing.assert_array_equal(special.erf(np.array([np.inf, -np.inf], dtype=np.float32)), [1.0, -1.0])
    assert np.isnan(special.erf(np.array([np.nan], dtype=np.float32)))[0]


def test_float32_normal_cdf_is_accurate_to_float32() -> None:
    x = np.linspace(-12.0, 12.0, 240_001).astype(np.float32)
    exact = np.array([0.5 * math.erfc(-float(v) / math.sqrt(2.0)) for v in x])
    y = special.normal_cdf(x)
    assert y.dtype == np.float32
    np.testing.assert_allclose(y, exact, rtol=0, atol=1.2e-7)  # about one unit of float32 at 1
    body = x >= 0  # where Phi >= 1/2; below, the error is small in absolute terms (what GELU needs)
    exact32 = exact[body].astype(np.float32)
    assert (np.abs(y[body] - exact32) / np.spacing(exact32)).max() <= 4
    float64 = special.normal_cdf(np.linspace(-3, 3, 7))
    np.testing.assert_allclose(
        float64, [0.5 * math.erfc(-v / math.sqrt(2)) for v in range(-3, 4)], rtol=1e-15, atol=1e-16
    )
    assert special.normal_cdf(np.array(0.0, dtype=np.float32)) == 0.5
    assert special.erf(np.array(2.0, dtype=np.float32)).shape == ()


def test_erf_matches_torch(torch) -> None:
    x = np.linspace(-4.0, 4.0, 101)
    np.testing.assert_allclose(special.erf(x), torch.erf(torch.from_numpy(x)).numpy(), rtol=1e-14, atol=1e-16)


def test_erf_and_normal_cdf_agree_on_every_device(device: str) -> None:
    host = np.linspace(-5.0, 5.0, 41)
    for dtype, atol in ((np.float64, 1e-15), (np.float32, 3e-7)):
        x = backend.to_device(host.astype(dtype), tl.device(device))
        y, phi = special.erf(x), special.normal_cdf(x)
        assert y.dtype == dtype and phi.dtype == dtype and backend.device_of(y) == device
        np.testing.assert_allclose(backend.to_device(y, backend.CPU), [math.erf(v) for v in host], atol=atol)
        expected = [0.5 * math.erfc(-v / math.sqrt(2.0)) for v in host]
        np.testing.assert_allclose(backend.to_device(phi, backend.CPU), expected, atol=atol)
