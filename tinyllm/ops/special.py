"""The special functions GELU needs and NumPy lacks: erf and the normal CDF.

On the GPU, CuPy has a kernel. On the host, float64 arrays get the C library's
``math.erf`` (exact, one Python call per element: fine for float64 checks), and
float32 arrays (training) get two fitted series at a few percent of that cost.
"""

from __future__ import annotations

import math
from typing import Any

from tinyllm import backend

# Two least-squares Chebyshev fits of degree 6 (references math.erf and math.erfc on
# 200,001 and 300,001 points), turned into power series; each errs by less than 1e-8,
# under float32's resolution.
#: erf(x) / x ~= sum_k ERF_SMALL[k] u^k with u = x^2, for |x| <= 1.
ERF_SMALL = (
    1.128379166232738, -0.37612629768903344, 0.11283634662785022, -0.026856071071595173,
    0.0051929613257727675, -0.0008053786972762974, 8.007011265694094e-05,
)  # fmt: skip
#: erfc(x) exp(x^2) ~= sum_k ERFC_LARGE[k] t^k with t = 1 / (1 + x / 2), for x >= 1.
ERFC_LARGE = (
    0.0005727582185266981, 0.2740723352595891, 0.32832460018099907, 0.10859337354469512,
    0.39201362321705024, -0.04729886715565057, -0.05704522022079539,
)  # fmt: skip
#: Phi(x) - 1/2 = x * sum_k NORMAL_CDF_SMALL[k] (x^2)^k for |x| <= sqrt 2: ERF_SMALL with
#: erf(z) = 2 Phi(z sqrt 2) - 1 folded into the coefficients (one pass fewer for each).
NORMAL_CDF_SMALL = tuple(c * 0.5 / math.sqrt(2.0) * 0.5**k for k, c in enumerate(ERF_SMALL))


def _horner(coeffs: tuple[float, ...], z: Any, out: Any = None) -> Any:
    """sum_k coeffs[k] z^k, updating one array (``out``, if given) in place."""
    acc = backend.get_array_module(z).multiply(z, coeffs[-1], out=out)
    acc += coeffs[-2]
    for c in coeffs[-3::-1]:
        acc *= z
        acc += c
    return acc


def _erfc_far(z: Any) -> Any:
    """erfc(z) for z >= 1 from the fitted series: exp(-z^2) r(1 / (1 + z / 2))."""
    xp = backend.get_array_module(z)
    return xp.exp(-(z * z)) * _horner(ERFC_LARGE, 1 / (1 + 0.5 * z))


def _uses_series(x: Any) -> bool:
    """True for the arrays the fitted series serve: float32 and float16 on the host."""
    return not backend.is_cuda_array(x) and x.dtype != backend.float64 and backend.is_floating(x.dtype)


def erf(x: Any) -> Any:
    """The error function erf(x) = 2/sqrt(pi) * integral_0^x exp(-t^2) dt, elementwise.

    The series are x p(x^2) for |x| <= 1, where 1 - erfc would cancel, and, only
    for the elements beyond, sign(x) (1 - exp(-x^2) r(1 / (1 + |x|/2))); their
    error is about one float32 unit.
    """
    if backend.is_cuda_array(x):
        return backend.cupyx().scipy.special.erf(x)
    xp = backend.get_array_module(x)
    if not _uses_series(x):
        return xp.asarray(xp.frompyfunc(math.erf, 1, 1)(x), dtype=x.dtype)  # 0-d: a Python float back
    if x.ndim == 0:
        return erf(x.reshape(1)).reshape(())
    with xp.errstate(over="ignore", invalid="ignore"):  # |x| large: the small series overflows, unused
        out = _horner(ERF_SMALL, x * x)
        out *= x
    far = xp.flatnonzero(xp.abs(x) > 1)
    if far.size:
        xf = x.reshape(-1)[far]
        out.reshape(-1)[far] = xp.copysign(1 - _erfc_far(xp.abs(xf)), xf)
    return out


def normal_cdf(x: Any, out: Any = None) -> Any:
    """Phi(x) = (1 + erf(x / sqrt 2)) / 2, the standard normal CDF, elementwise (GELU's gate),
    written into ``out`` when given (an array of x's shape and dtype).

    float32 host arrays use the series of :func:`erf` with the scaling folded in
    (absolute error about one float32 unit at 1, which is what GELU needs; deep in the
    left tail the relative error grows); other arrays go through :func:`erf`.
    """
    if not _uses_series(x):
        cdf = erf(x * (1 / math.sqrt(2.0)))
        cdf += 1
        cdf *= 0.5
        if out is None:
            return cdf
        out[...] = cdf
        return out
    if x.ndim == 0:
        return normal_cdf(x.reshape(1), None if out is None else out.reshape(1)).reshape(())
    xp = backend.get_array_module(x)
    with xp.errstate(over="ignore", invalid="ignore"):
        out = _horner(NORMAL_CDF_SMALL, x * x, out)
        out *= x
        out += 0.5
    far = xp.flatnonzero(xp.abs(x) > math.sqrt(2.0))
    if far.size:
        xf = x.reshape(-1)[far]
        tail = 0.5 * _erfc_far(xp.abs(xf) * (1 / math.sqrt(2.0)))  # Phi(-|x|)
        out.reshape(-1)[far] = xp.where(xf > 0, 1 - tail, tail)
    return out
