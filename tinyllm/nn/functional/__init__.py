"""Functions that layers are made of (PyTorch's ``torch.nn.functional``): ``import tinyllm.nn.functional as F``.

Stateless: weights come in as arguments. Where a fused op exists (cross-entropy,
layer norm, attention, the LSTM layer) the function takes ``fused=False`` to run
its composed twin instead.
"""

from __future__ import annotations

from tinyllm.nn.functional.activations import elu, leaky_relu, silu, softplus
from tinyllm.nn.functional.attention import causal_mask, scaled_dot_product_attention
from tinyllm.nn.functional.distance import cosine_similarity, normalize
from tinyllm.nn.functional.indices import one_hot
from tinyllm.nn.functional.layers import dropout, dropout_keep_mask, l1_penalty, l2_penalty, layer_norm
from tinyllm.nn.functional.losses import (
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cross_entropy,
    kl_div,
    l1_loss,
    mse_loss,
    nll_loss,
    smooth_l1_loss,
)
from tinyllm.nn.functional.padding import pad
from tinyllm.nn.functional.recurrent import gru_cell, gru_layer, lstm_cell, lstm_layer, rnn_cell, rnn_layer
from tinyllm.ops import embedding, gelu, linear, log_softmax, relu, sigmoid, softmax, tanh

__all__ = [
    "binary_cross_entropy_with_logits", "causal_mask", "cross_entropy", "dropout", "dropout_keep_mask",
    "embedding", "gelu", "l1_penalty", "l2_penalty", "layer_norm", "linear", "log_softmax",
    "lstm_cell", "lstm_layer", "mse_loss", "nll_loss", "relu", "scaled_dot_product_attention",
    "sigmoid", "softmax", "tanh", "gru_cell", "gru_layer", "rnn_cell", "rnn_layer",
    "binary_cross_entropy", "cosine_similarity", "elu", "kl_div", "l1_loss", "leaky_relu", "normalize",
    "one_hot", "pad", "silu", "smooth_l1_loss", "softplus",
]  # fmt: skip
