"""Helpers around modules: packed sequences (:mod:`.rnn`), gradient clipping, weight-decay groups,
parameters as one vector."""

from __future__ import annotations

from typing import Any

from tinyllm.nn.module import Module
from tinyllm.nn.utils import rnn
from tinyllm.nn.utils.clip_grad import clip_grad_norm_, clip_grad_value_
from tinyllm.nn.utils.convert_parameters import parameters_to_vector, vector_to_parameters

__all__ = [
    "clip_grad_norm_", "clip_grad_value_", "decay_param_groups", "parameters_to_vector", "rnn",
    "vector_to_parameters",
]  # fmt: skip


def decay_param_groups(model: Module, weight_decay: float) -> list[dict[str, Any]]:
    """Split a model's parameters into two optimizer groups: weight matrices and embedding
    tables (2 or more dims), which get ``weight_decay``, and biases and LayerNorm gains
    (1 dim), which get none — shrinking a gain or a bias toward 0 does not make the
    model simpler, only worse. Pass the result to an optimizer in place of ``parameters()``.
    """
    decay = [p for p in model.parameters() if p.ndim >= 2]
    no_decay = [p for p in model.parameters() if p.ndim < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]
