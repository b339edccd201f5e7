"""Initial values for weights, drawn from the tinyllm generator (PyTorch's ``torch.nn.init``).

Each function fills a tensor in place, outside any graph, and returns it. The
draws come from the tensor's device's default generator, so ``tl.manual_seed``
makes a model's initial weights repeat exactly.
"""

from __future__ import annotations

import math

from tinyllm import backend
from tinyllm.autograd import no_grad
from tinyllm.tensor import Tensor


def _generator(t: Tensor) -> backend.Generator:
    return backend.default_generator(t.device)


def uniform_(t: Tensor, a: float = 0.0, b: float = 1.0) -> Tensor:
    """Fill with draws from U(a, b)."""
    with no_grad():
        u = _generator(t).uniform(t.shape, t.dtype)
        return t.copy_(u * (b - a) + a)


def normal_(t: Tensor, mean: float = 0.0, std: float = 1.0) -> Tensor:
    """Fill with draws from N(mean, std^2)."""
    with no_grad():
        return t.copy_(_generator(t).normal(t.shape, t.dtype) * std + mean)


def constant_(t: Tensor, value: float) -> Tensor:
    with no_grad():
        return t.fill_(value)


def zeros_(t: Tensor) -> Tensor:
    return constant_(t, 0.0)


def ones_(t: Tensor) -> Tensor:
    return constant_(t, 1.0)


def fan_in_and_fan_out(t: Tensor) -> tuple[int, int]:
    """For a weight of shape (out, in, ...): fan_in = in * rest, fan_out = out * rest."""
    if t.ndim < 2:
        raise ValueError(f"fan in and fan out need a tensor of 2 or more dims, not shape {t.shape}")
    rest = math.prod(t.shape[2:])
    return t.shape[1] * rest, t.shape[0] * rest


def xavier_uniform_(t: Tensor, gain: float = 1.0) -> Tensor:
    """U(-a, a) with a = gain * sqrt(6 / (fan_in + fan_out)): keeps the variance of activations
    and of gradients about equal from layer to layer (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    if t.numel() == 0:  # nothing to fill (and no fan to divide by), as in PyTorch
        return t
    a = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return uniform_(t, -a, a)


def kaiming_uniform_(t: Tensor, a: float = 0.0) -> Tensor:
    """U(-b, b) with b = sqrt(6 / ((1 + a^2) fan_in)) (He et al., 2015; leaky-ReLU slope a).

    ``nn.Linear`` uses a = sqrt(5), which makes b = 1 / sqrt(fan_in).
    """
    fan_in, _ = fan_in_and_fan_out(t)
    if t.numel() == 0:  # nothing to fill (and no fan to divide by), as in PyTorch
        return t
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in))
    return uniform_(t, -bound, bound)
