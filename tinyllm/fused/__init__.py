"""Fused ops: the hot spots of language-model training as single nodes with hand-written backward.

Each computes what a chain of primitive ops would (its *composed twin*, in
:mod:`tinyllm.nn.functional`, where autograd derives the gradient), but in one
node: fewer Python calls, fewer saved arrays, and a backward written from the
math. Layers and functions take ``fused=False`` to run the twin instead, and the
tests hold the two equal on values and every gradient.
"""

from __future__ import annotations

from tinyllm.fused.attention import Attention
from tinyllm.fused.cross_entropy import SoftmaxCrossEntropy
from tinyllm.fused.layer_norm import LayerNorm
from tinyllm.fused.lstm import LSTMLayer
from tinyllm.fused.mse import SquaredError

__all__ = ["Attention", "LSTMLayer", "LayerNorm", "SoftmaxCrossEntropy", "SquaredError"]
