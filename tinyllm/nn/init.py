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


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """How much a nonlinearity shrinks the spread of its input, as the factor that undoes it.

    linear, conv*, sigmoid: 1;  tanh: 5/3;  relu: sqrt(2) (it zeroes half the inputs, halving
    the second moment);  leaky_relu with slope a (``param``, default 0.01): sqrt(2 / (1 + a^2));
    selu: 3/4. The values are PyTorch's.
    """
    linear = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
    if nonlinearity in linear or nonlinearity == "sigmoid":
        return 1.0
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            slope = 0.01
        elif isinstance(param, (int, float)) and not isinstance(param, bool):
            slope = param
        else:
            raise ValueError(f"calculate_gain: negative_slope {param!r} is not a number")
        return math.sqrt(2.0 / (1 + slope**2))
    if nonlinearity == "selu":
        return 3.0 / 4
    raise ValueError(f"calculate_gain: unsupported nonlinearity {nonlinearity!r}")


def _kaiming_std(t: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    """gain / sqrt(fan): the std that keeps activations' (fan_in) or gradients' (fan_out) variance."""
    if mode not in ("fan_in", "fan_out"):
        raise ValueError(f"kaiming init: mode must be 'fan_in' or 'fan_out', not {mode!r}")
    fan_in, fan_out = fan_in_and_fan_out(t)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan_in if mode == "fan_in" else fan_out)


def kaiming_uniform_(t: Tensor, a: float = 0.0) -> Tensor:
    """U(-b, b) with b = sqrt(6 / ((1 + a^2) fan_in)) (He et al., 2015; leaky-ReLU slope a).

    ``nn.Linear`` uses a = sqrt(5), which makes b = 1 / sqrt(fan_in).
    """
    fan_in, _ = fan_in_and_fan_out(t)
    if t.numel() == 0:  # nothing to fill (and no fan to divide by), as in PyTorch
        return t
    bound = math.sqrt(6.0 / ((1 + a * a) * fan_in))
    return uniform_(t, -bound, bound)


def kaiming_normal_(t: Tensor, a: float = 0.0, mode: str = "fan_in", nonlinearity: str = "leaky_relu") -> Tensor:
    """N(0, std^2) with std = gain / sqrt(fan) (He et al., 2015): ``mode="fan_in"`` keeps the
    variance of activations through the layers, "fan_out" that of gradients. ``a`` is the
    negative slope when ``nonlinearity`` is "leaky_relu"; pass ``nonlinearity="relu"`` for ReLU."""
    if t.numel() == 0:  # nothing to fill, as in PyTorch
        return t
    return normal_(t, 0.0, _kaiming_std(t, a, mode, nonlinearity))


def xavier_normal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """N(0, std^2) with std = gain * sqrt(2 / (fan_in + fan_out)) (Glorot and Bengio, 2010)."""
    fan_in, fan_out = fan_in_and_fan_out(t)
    if t.numel() == 0:
        return t
    return normal_(t, 0.0, gain * math.sqrt(2.0 / (fan_in + fan_out)))


def trunc_normal_(t: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0, b: float = 2.0) -> Tensor:
    """Fill with draws from N(mean, std^2) conditioned on [a, b] (a and b are values, not stds).

    By rejection: draw from the normal and redraw each value outside [a, b] until none is
    left, which samples the truncated distribution exactly. Each round keeps a fraction
    P(a <= x <= b) of what is left (0.95 for the default ±2 std), so few rounds are needed;
    an interval that holds less than 1e-4 of the mass is refused rather than looped on.
    (PyTorch draws by the inverse CDF instead: one uniform draw per value.)
    """
    if not a < b:
        raise ValueError(f"trunc_normal_: need a < b, not a={a}, b={b}")
    if not std > 0:
        raise ValueError(f"trunc_normal_: std must be positive, not {std}")
    mass = 0.5 * (math.erf((b - mean) / (std * math.sqrt(2))) - math.erf((a - mean) / (std * math.sqrt(2))))
    if mass < 1e-4:
        raise ValueError(
            f"trunc_normal_: [{a}, {b}] holds only {mass:.2g} of N({mean}, {std}^2); move the interval nearer the mean"
        )
    gen = _generator(t)
    values = gen.normal(t.shape, t.dtype) * std + mean
    outside = (values < a) | (values > b)
    while bool(outside.any()):
        values[outside] = gen.normal((int(outside.sum()),), t.dtype) * std + mean
        outside = (values < a) | (values > b)
    with no_grad():
        return t.copy_(values)


def orthogonal_(t: Tensor, gain: float = 1.0) -> Tensor:
    """Fill with a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013).

    The tensor is read as rows = shape[0] by cols = the rest. A Gaussian matrix (transposed
    to be tall) is factored as Q R; Q's columns are orthonormal, and flipping each by the sign
    of R's diagonal makes Q uniformly distributed over orthogonal matrices. So rows are
    orthonormal when rows <= cols, and columns are when rows > cols.
    """
    if t.ndim < 2:
        raise ValueError(f"orthogonal_: needs a tensor of 2 or more dims, not shape {t.shape}")
    if t.numel() == 0:
        return t
    rows = t.shape[0]
    cols = t.numel() // rows
    xp = backend.get_array_module(t.data)
    flat = _generator(t).normal((rows, cols), t.dtype)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    with no_grad():
        return t.copy_((q * gain).reshape(t.shape).astype(t.dtype))
