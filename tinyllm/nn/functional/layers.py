"""Dropout, layer normalization and the L1/L2 penalties, as functions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tinyllm import backend, ops
from tinyllm import fused as fused_ops
from tinyllm.ops.arguments import require_floating
from tinyllm.tensor import Tensor, from_array


def dropout_keep_mask(shape: tuple[int, ...], p: float, like: Tensor) -> Any:
    """The scaled keep-mask of inverted dropout: 1 / (1 - p) with probability 1 - p, else 0.

    Drawn from the default generator of ``like``'s device, in ``like``'s dtype.
    """
    u = backend.default_generator(like.device).uniform(shape, like.dtype)
    # BEGIN SOLUTION task=dropout
    if p >= 1.0:
        return (u * 0).astype(like.dtype)  # everything dropped; still one draw, like any p
    return (u >= p).astype(like.dtype) * (1.0 / (1.0 - p))
    # END SOLUTION


def _check_p(p: float, fn: str) -> None:
    if not 0.0 <= p <= 1.0:
        raise ValueError(f"{fn}: dropout probability must be in [0, 1], not {p}")


def dropout(x: Tensor, p: float = 0.5, training: bool = True) -> Tensor:
    """Inverted dropout: each element is zeroed with probability p and the survivors are scaled
    by 1 / (1 - p), so the expected value of every element is unchanged and evaluation
    (``training=False``) needs no rescaling: there, dropout is the identity."""
    _check_p(p, "dropout")
    if not training or p == 0.0:
        return x
    if p == 1.0:
        return x * 0.0
    return x * from_array(dropout_keep_mask(x.shape, p, x))


def layer_norm(
    x: Tensor,
    normalized_shape: Sequence[int] | int,
    weight: Tensor | None = None,
    bias: Tensor | None = None,
    eps: float = 1e-5,
    fused: bool = True,
) -> Tensor:
    """(x - mean) / sqrt(var + eps) * weight + bias, with mean and (biased) variance over the
    last ``len(normalized_shape)`` axes, which must equal ``normalized_shape``.

    ``fused=False`` computes it from primitive ops (mean, subtraction, sqrt, ...).
    """
    require_floating(x, "layer_norm")
    shape = (normalized_shape,) if isinstance(normalized_shape, int) else tuple(normalized_shape)
    n = len(shape)
    if x.shape[x.ndim - n :] != shape or x.ndim < n:
        raise ValueError(f"layer_norm: input of shape {x.shape} does not end in normalized_shape {shape}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and t.shape != shape:
            raise ValueError(f"layer_norm: {name} of shape {t.shape} should have shape {shape}")
    if fused:
        params = [t for t in (weight, bias) if t is not None]
        return fused_ops.LayerNorm.apply(x, *params, n=n, eps=eps, affine=(weight is not None, bias is not None))
    axes = tuple(range(-n, 0))
    xc = x - x.mean(axes, keepdim=True)
    y = xc / ops.sqrt((xc * xc).mean(axes, keepdim=True) + eps)
    if weight is not None:
        y = y * weight
    return y + bias if bias is not None else y


def _tensors(params: Iterable[Tensor] | Any) -> list[Tensor]:
    if hasattr(params, "parameters"):  # a Module
        params = params.parameters()
    ts = list(params)
    if not ts:
        raise ValueError("penalty: no parameters given")
    return ts


def l1_penalty(params: Iterable[Tensor] | Any) -> Tensor:
    """sum |w| over every element of every tensor (or of a Module's parameters).

    Added to a loss as ``lam * l1_penalty(...)``, its (sub)gradient is lam * sign(w):
    a constant pull toward zero, which drives small weights to (near) zero.
    """
    ts = _tensors(params)
    total = ts[0].abs().sum()
    for t in ts[1:]:
        total = total + t.abs().sum()
    return total


def l2_penalty(params: Iterable[Tensor] | Any) -> Tensor:
    """1/2 sum w^2 over every element of every tensor (or of a Module's parameters).

    The 1/2 makes its gradient w itself, so ``loss + lam * l2_penalty(params)`` gives
    the same gradient as an optimizer's ``weight_decay=lam`` (coupled L2, as in SGD
    and Adam; AdamW's decoupled decay differs).
    """
    ts = _tensors(params)
    total = (ts[0] ** 2).sum()
    for t in ts[1:]:
        total = total + (t**2).sum()
    return total * 0.5
