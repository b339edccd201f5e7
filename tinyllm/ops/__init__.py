"""The differentiable ops, as functions on tensors (PyTorch's names and arguments).

Each family's file holds its :class:`~tinyllm.autograd.Function` classes (``forward``
on arrays beside ``backward``) and, next to each, the public function that checks
its arguments and applies it: ``Add`` and ``add``, ``Sum`` and ``sum``. A few
functions (``var``, ``split``, ``flatten``, ...) compose others, so autograd derives
their gradients. ``Tensor``'s methods and operators call these.

- :mod:`~tinyllm.ops.elementwise`: arithmetic, exp/log, activations, clamp, maximum/minimum, where
- :mod:`~tinyllm.ops.pointwise`: log1p, rsqrt, square, sin, cos, erf; sign, floor, ceil, round
- :mod:`~tinyllm.ops.reduce`: sum, mean, var, std, prod, norm, max and min
- :mod:`~tinyllm.ops.scan`: cumsum and cumprod
- :mod:`~tinyllm.ops.shape`: reshape, permute, expand, cat, stack, split, chunk, unbind, flip, repeat, indexing
- :mod:`~tinyllm.ops.linalg`: matmul, linear, mm, bmm, dot, outer, tril, triu, diag
- :mod:`~tinyllm.ops.einsum`: einsum
- :mod:`~tinyllm.ops.index`: embedding lookup
- :mod:`~tinyllm.ops.gather_scatter`: gather, scatter, scatter_add, index_select
- :mod:`~tinyllm.ops.sorting`: sort, argsort, topk
- :mod:`~tinyllm.ops.softmax`: softmax, log_softmax, logsumexp
- :mod:`~tinyllm.ops.copy`: clone, dtype and device conversion
- :mod:`~tinyllm.ops.arguments`: how every op reads its arguments (dtype rules, dims)
"""

from __future__ import annotations

from tinyllm.ops.copy import clone, to_device, to_dtype
from tinyllm.ops.einsum import einsum
from tinyllm.ops.elementwise import (
    abs,
    add,
    clamp,
    clip,
    div,
    exp,
    gelu,
    log,
    masked_fill,
    maximum,
    minimum,
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
from tinyllm.ops.gather_scatter import gather, index_select, scatter, scatter_add
from tinyllm.ops.index import embedding
from tinyllm.ops.linalg import bmm, diag, dot, linear, matmul, mm, outer, tril, triu
from tinyllm.ops.pointwise import ceil, cos, erf, floor, log1p, round, rsqrt, sign, sin, square
from tinyllm.ops.reduce import amax, amin, argmax, argmin, max, mean, min, norm, prod, std, sum, var
from tinyllm.ops.scan import cumprod, cumsum
from tinyllm.ops.shape import (
    cat,
    chunk,
    concat,
    expand,
    flatten,
    flip,
    getitem,
    permute,
    repeat,
    reshape,
    split,
    squeeze,
    stack,
    t,
    transpose,
    unbind,
    unsqueeze,
)
from tinyllm.ops.softmax import log_softmax, logsumexp, softmax
from tinyllm.ops.sorting import argsort, sort, topk

__all__ = [
    "abs", "add", "amax", "amin", "argmax", "argmin", "cat", "clamp", "clone", "div", "embedding",
    "exp", "expand", "flatten", "gelu", "getitem", "linear", "log", "log_softmax", "logsumexp",
    "masked_fill", "matmul", "max", "mean", "min", "mul", "neg", "permute", "pow", "relu",
    "reshape", "sigmoid", "softmax", "split", "sqrt", "squeeze", "stack", "sub", "sum", "tanh",
    "to_device", "to_dtype", "transpose", "unsqueeze", "var", "where",
    "argsort", "bmm", "ceil", "chunk", "clip", "concat", "cos", "cumprod", "cumsum", "diag", "dot", "einsum",
    "erf", "flip", "floor", "gather", "index_select", "log1p", "maximum", "minimum", "mm", "norm", "outer",
    "prod", "repeat", "round", "rsqrt", "scatter", "scatter_add", "sign", "sin", "sort", "square", "std", "t",
    "topk", "tril", "triu", "unbind",
]  # fmt: skip
