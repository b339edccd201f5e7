"""Sampling from a tensor of probabilities: ``bernoulli`` and ``multinomial``.

They live among the ops, not in :mod:`tinyllm.creation`, so that ``Tensor.bernoulli()`` and
``Tensor.multinomial()`` can call them (tensor.py may reach down to the ops only). Neither
is differentiable: a draw has no gradient. Draws come from the device's default
generator (seeded by :func:`tinyllm.manual_seed`) unless a :class:`tinyllm.Generator` is passed.
"""

from __future__ import annotations

from tinyllm import backend
from tinyllm.backend import Device, Generator
from tinyllm.tensor import Tensor


def generator_on(generator: Generator | None, device: str | Device | None) -> Generator:
    """The generator to draw with on ``device`` (None: the default device): the one given (it must
    belong to that device) or the device's default generator."""
    dev = backend.as_device(device)
    if generator is None:
        return backend.default_generator(dev)
    if generator.device != dev:
        raise backend.DeviceError(f"a generator for {generator.device} cannot draw on {dev}")
    return generator


def bernoulli(input: Tensor, generator: Generator | None = None) -> Tensor:
    """1 with probability ``input``, else 0, independently per element (same shape and dtype as ``input``)."""
    p = input.data
    xp = backend.get_array_module(p)
    if not backend.is_floating(input.dtype):
        raise TypeError(f"bernoulli: probabilities need a floating-point tensor, not dtype {input.dtype}")
    if not bool(xp.all((p >= 0) & (p <= 1))):
        raise RuntimeError("bernoulli: probabilities must lie in [0, 1] (and not be NaN)")
    u = generator_on(generator, input.device).uniform(input.shape, backend.float64)
    return Tensor((u < p).astype(input.dtype))


def multinomial(
    input: Tensor, num_samples: int, replacement: bool = False, generator: Generator | None = None
) -> Tensor:
    """Category indices drawn with probabilities proportional to the rows of ``input``, int64.

    input: (K,) or (R, K) non-negative weights (they need not sum to 1) -> (num_samples,) or
    (R, num_samples). With replacement each draw inverts the cumulative distribution at a
    uniform number. Without, categories are drawn one after another and removed; that
    equals ranking them by ``E_k / p_k`` with independent exponential ``E_k`` and taking
    the smallest ``num_samples`` (categories of weight 0 come last).
    """
    if input.ndim not in (1, 2):
        raise RuntimeError(f"multinomial: prob_dist must be 1 or 2 dim, got shape {input.shape}")
    if not backend.is_floating(input.dtype):
        raise RuntimeError(f"multinomial: only supports floating-point dtypes for input, got {input.dtype}")
    k = input.shape[-1]
    if num_samples <= 0:
        raise RuntimeError(f"multinomial: cannot sample n_sample <= 0 samples (num_samples={num_samples})")
    if not replacement and num_samples > k:
        raise RuntimeError(
            f"multinomial: cannot sample n_sample > prob_dist.size(-1) samples without replacement "
            f"({num_samples} > {k})"
        )
    xp = backend.get_array_module(input.data)
    p = input.data.reshape(-1, k).astype(backend.float64)
    if not bool(xp.all(xp.isfinite(p) & (p >= 0))):
        raise RuntimeError("multinomial: probability tensor contains either `inf`, `nan` or element < 0")
    if bool(xp.any(p.sum(axis=1) <= 0)):
        raise RuntimeError("multinomial: invalid multinomial distribution (sum of probabilities <= 0)")
    gen = generator_on(generator, input.device)
    u = gen.uniform((p.shape[0], num_samples if replacement else k), backend.float64)
    if replacement:
        cdf = xp.cumsum(p, axis=1)
        last = k - 1 - xp.argmax(p[:, ::-1] > 0, axis=1)  # the last category that can be drawn
        rows = [xp.searchsorted(cdf[r], u[r] * cdf[r, -1], side="right") for r in range(p.shape[0])]
        out = xp.minimum(xp.stack(rows), last[:, None])
    else:
        keys = xp.where(p > 0, -xp.log1p(-u) / xp.where(p > 0, p, 1.0), xp.inf)
        out = xp.argsort(keys, axis=1, kind="stable")[:, :num_samples]
    return Tensor(out.reshape(*input.shape[:-1], num_samples).astype(backend.int64))
