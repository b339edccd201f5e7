"""The language models' objective: cross-entropy of the next token at every position."""

from __future__ import annotations

from typing import Any

from tinyllm import backend
from tinyllm.nn import functional as F
from tinyllm.tensor import Tensor


def next_token_loss(logits: Tensor, targets: Any, fused: bool = True) -> Tensor:
    """The mean cross-entropy of every position's prediction of the token that follows it.

    logits: (B, T, V) float; targets: (B, T) int ids (a Tensor or an array), ``targets[b, t]``
    the token after position t of row b. L = -1/(B T) sum_{b,t} log softmax(logits[b, t])[targets[b, t]].
    ``fused=False`` runs the composed twin of :func:`F.cross_entropy`.
    """
    B, T, V = logits.shape
    xp = backend.get_array_module(logits.data)
    ids = targets.data if isinstance(targets, Tensor) else xp.asarray(targets)
    if ids.shape != (B, T):
        raise ValueError(f"next_token_loss: targets of shape {ids.shape} do not match the logits' {(B, T)}")
    return F.cross_entropy(logits.reshape(B * T, V), ids.reshape(B * T), fused=fused)
