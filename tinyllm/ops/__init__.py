"""The differentiable ops, as functions on tensors (PyTorch's names and arguments).

Each family's file holds its :class:`~tinyllm.autograd.Function` classes (``forward``
on arrays beside ``backward``) and, next to each, the public function that checks
its arguments and applies it: ``Add`` and ``add``, ``Sum`` and ``sum``. A few
functions (``var``, ``split``, ``flatten``, ...) compose others, so autograd derives
their gradients. ``Tensor``'s methods and operators call these.

- :mod:`~tinyllm.ops.elementwise`: arithmetic, exp/log, activations, clamp, where
- :mod:`~tinyllm.ops.reduce`: sum, mean, var, max and min
- :mod:`~tinyllm.ops.shape`: reshape, permute, expand, cat, stack, split, indexing
- :mod:`~tinyllm.ops.linalg`: matmul and linear
- :mod:`~tinyllm.ops.index`: embedding lookup
- :mod:`~tinyllm.ops.softmax`: softmax, log_softmax, logsumexp
- :mod:`~tinyllm.ops.copy`: clone, dtype and device conversion
- :mod:`~tinyllm.ops.arguments`: how every op reads its arguments (dtype rules, dims)
"""

from __future__ import annotations

from tinyllm.ops.copy import clone, to_device, to_dtype
from tinyllm.ops.elementwise import (
    abs,
    add,
    clamp,
    div,
    exp,
    gelu,
    log,
    masked_fill,
    mul,
    neg,
    pow,
    relu,
    sigmoid,
    sqrt,
    sub,
    tanh,
    where,
)
from tinyllm.ops.index import embedding
from tinyllm.ops.linalg import linear, matmul
from tinyllm.ops.reduce import amax, amin, argmax, argmin, max, mean, min, sum, var
from tinyllm.ops.shape import (
    cat,
    expand,
    flatten,
    getitem,
    permute,
    reshape,
    split,
    squeeze,
    stack,
    transpose,
    unsqueeze,
)
from tinyllm.ops.softmax import log_softmax, logsumexp, softmax

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "clamp", "clone", "div", "embedding",
    "exp", "expand", "flatten", "gelu", "getitem", "linear", "log", "log_softmax", "logsumexp",
    "masked_fill", "matmul", "max", "mean", "min", "mul", "neg", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum", "tanh",
    "to_device", "to_dtype", "transpose", "unsqueeze", "var", "where",
]  # fmt: skip
