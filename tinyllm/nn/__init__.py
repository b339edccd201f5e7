"""Neural-network building blocks, named as in PyTorch's ``torch.nn``.

``tl.nn.Module`` and ``tl.nn.Parameter``, layers (Linear, Embedding, LSTM,
MultiheadSelfAttention, MultiheadAttention, TransformerEncoder, ...), containers,
losses, ``tl.nn.init``, ``tl.nn.functional`` (as F) and ``tl.nn.utils.rnn``
(packed sequences).
"""

from __future__ import annotations

from tinyllm.nn import functional, init, utils
from tinyllm.nn.attention import MultiheadSelfAttention, TransformerBlock
from tinyllm.nn.containers import ModuleDict, ModuleList, Sequential
from tinyllm.nn.layers import (
    ELU,
    GELU,
    Dropout,
    Embedding,
    Flatten,
    Identity,
    LayerNorm,
    LeakyReLU,
    Linear,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Softplus,
    Tanh,
)
from tinyllm.nn.losses import (
    BCELoss,
    BCEWithLogitsLoss,
    CrossEntropyLoss,
    KLDivLoss,
    L1Loss,
    MSELoss,
    NLLLoss,
    SmoothL1Loss,
)
from tinyllm.nn.module import Module, Parameter
from tinyllm.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from tinyllm.nn.transformer import MultiheadAttention, TransformerEncoder, TransformerEncoderLayer

__all__ = [
    "BCEWithLogitsLoss", "CrossEntropyLoss", "Dropout", "Embedding", "GELU", "Identity", "LSTM",
    "LSTMCell", "LayerNorm", "Linear", "MSELoss", "Module", "ModuleDict", "ModuleList",
    "MultiheadSelfAttention", "NLLLoss", "Parameter", "ReLU", "Sequential", "Sigmoid", "Tanh",
    "TransformerBlock", "functional", "init", "utils",
    "MultiheadAttention", "TransformerEncoder", "TransformerEncoderLayer", "GRU", "GRUCell", "RNN", "RNNCell",
    "BCELoss", "ELU", "Flatten", "KLDivLoss", "L1Loss", "LeakyReLU", "LogSoftmax", "SiLU", "SmoothL1Loss",
    "Softmax", "Softplus",
]  # fmt: skip
