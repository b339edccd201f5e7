"""Scaled dot-product attention, fused and composed."""

from __future__ import annotations

import math
from typing import Any

import numpy

from tinyllm import backend, ops
from tinyllm import fused as fused_ops
from tinyllm.nn.functional.layers import _check_p, dropout_keep_mask
from tinyllm.ops.softmax import max_shift
from tinyllm.tensor import Tensor, from_array


def causal_mask(L: int, S: int, like: Tensor) -> Any:
    """(L, S) bool, True where query i may see key j: j <= i (PyTorch's top-left alignment)."""
    xp = backend.get_array_module(like.data)
    return xp.tril(xp.ones((L, S), dtype=bool))


def _check_mask_shape(mask_shape: tuple[int, ...], scores_shape: tuple[int, ...]) -> None:
    """The mask must broadcast to the scores' shape (..., L, S) without enlarging it."""
    try:
        fits = numpy.broadcast_shapes(mask_shape, scores_shape) == scores_shape
    except ValueError:
        fits = False
    if not fits:
        L, S = scores_shape[-2:]
        raise ValueError(
            f"scaled_dot_product_attention: attn_mask has shape {mask_shape}, which does not broadcast "
            f"to the attention scores' shape {scores_shape}; expected (..., L, S) = (..., {L}, {S})"
        )


def scaled_dot_product_attention(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    attn_mask: Tensor | None = None,
    dropout_p: float = 0.0,
    is_causal: bool = False,
    scale: float | None = None,
    need_weights: bool = False,
    fused: bool = True,
) -> Any:
    """softmax(Q K^T / sqrt(E) + mask) V over the last two axes.

    query: (..., L, E), key: (..., S, E), value: (..., S, Ev) -> (..., L, Ev).
    ``attn_mask``: bool (True = may attend, as in PyTorch) or float (added to the
    scores), broadcastable to (..., L, S). A query that may attend to no key gets a
    zero output (as in PyTorch's function). ``is_causal``: query i sees keys j <= i.
    ``dropout_p`` drops attention weights (always: pass 0.0 in evaluation, as with
    PyTorch's function). ``scale`` defaults to 1 / sqrt(E).

    ``need_weights=True`` (not in PyTorch's function) also returns the weights
    softmax(...) before dropout, shape (..., L, S), for plotting.
    ``fused=False`` computes it from primitive ops.
    """
    _check_p(dropout_p, "scaled_dot_product_attention")
    if query.shape[-1] != key.shape[-1] or key.shape[-2] != value.shape[-2]:
        raise ValueError(
            f"scaled_dot_product_attention: query {query.shape}, key {key.shape} and value "
            f"{value.shape} do not fit: need (..., L, E), (..., S, E) and (..., S, Ev)"
        )
    if is_causal and attn_mask is not None:
        raise ValueError("scaled_dot_product_attention: give attn_mask or is_causal, not both")
    L, S = query.shape[-2], key.shape[-2]
    scale = 1.0 / math.sqrt(query.shape[-1]) if scale is None else scale
    mask = causal_mask(L, S, query) if is_causal else None
    shape = (*numpy.broadcast_shapes(query.shape[:-2], key.shape[:-2]), L, S)
    if attn_mask is not None:
        _check_mask_shape(attn_mask.shape, shape)
        mask = attn_mask.data if backend.is_floating(attn_mask.dtype) else attn_mask.data.astype(bool)
        if backend.is_floating(mask.dtype):
            mask = mask.astype(query.dtype)
    keep = dropout_keep_mask(shape, dropout_p, query) if dropout_p > 0 else None
    if fused:
        out, weights = fused_ops.Attention.apply(
            query, key, value, scale=scale, mask=None if is_causal else mask, keep=keep, causal=is_causal
        )
    else:
        scores = (query @ key.transpose(-2, -1)) * scale
        if mask is not None:
            if mask.dtype == bool:
                scores = ops.masked_fill(scores, from_array(~mask), -math.inf)
            else:
                scores = scores + from_array(mask)
        # softmax, written out so that a fully masked row gives zeros instead of 0 / 0
        e = ops.exp(scores - from_array(max_shift(scores.data, -1)))
        z = e.sum(dim=-1, keepdim=True)
        weights = e / (z + from_array((z.data == 0).astype(z.dtype)))
        dropped = weights if keep is None else weights * from_array(keep)
        out = dropped @ value
    return (out, weights) if need_weights else out
