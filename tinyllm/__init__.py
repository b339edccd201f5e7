"""tinyllm: a from-scratch deep-learning library that teaches how language models are trained.

``import tinyllm as tl`` gives tensors with autograd (``tl.tensor``), the ops
(``tl.exp``, ``tl.cat``, ...), devices and random generators, and gradient checking
(``tl.gradcheck``).
"""

from __future__ import annotations

from tinyllm.autograd import Function, enable_grad, inference_mode, is_grad_enabled, no_grad, set_grad_enabled
from tinyllm.backend import (
    Device,
    DeviceError,
    Generator,
    cuda_is_available,
    float16,
    float32,
    float64,
    get_default_device,
    get_rng_state,
    int32,
    int64,
    manual_seed,
    set_default_device,
    set_rng_state,
)
from tinyllm.backend import as_device as device
from tinyllm.backend import bool_ as bool  # tl.bool, as torch.bool
from tinyllm.backend import float16 as half
from tinyllm.backend import float32 as float  # tl.float, tl.long, ...: PyTorch's dtype aliases
from tinyllm.backend import float64 as double
from tinyllm.backend import int32 as int
from tinyllm.backend import int64 as long
from tinyllm.creation import (
    arange,
    as_tensor,
    empty,
    empty_like,
    eye,
    from_numpy,
    full,
    full_like,
    is_tensor,
    linspace,
    normal,
    numel,
    ones,
    ones_like,
    rand,
    rand_like,
    randint,
    randint_like,
    randn,
    randn_like,
    randperm,
    tensor,
    zeros,
    zeros_like,
)
from tinyllm.gradcheck import GradcheckError, GradcheckReport, gradcheck
from tinyllm.interop import from_dlpack, load_safetensors, save_safetensors
from tinyllm.ops import (
    abs,
    add,
    amax,
    amin,
    argmax,
    argmin,
    argsort,
    bmm,
    cat,
    ceil,
    chunk,
    clamp,
    clip,
    concat,
    cos,
    cumprod,
    cumsum,
    diag,
    div,
    dot,
    einsum,
    erf,
    exp,
    flatten,
    flip,
    floor,
    gather,
    gelu,
    index_select,
    log,
    log1p,
    log_softmax,
    logsumexp,
    masked_fill,
    matmul,
    max,
    maximum,
    mean,
    min,
    minimum,
    mm,
    mul,
    neg,
    norm,
    outer,
    permute,
    pow,
    prod,
    relu,
    reshape,
    round,
    rsqrt,
    scatter,
    scatter_add,
    sigmoid,
    sign,
    sin,
    softmax,
    sort,
    split,
    sqrt,
    square,
    squeeze,
    stack,
    std,
    sub,
    sum,
    tanh,
    topk,
    transpose,
    tril,
    triu,
    unbind,
    unsqueeze,
    var,
    where,
)
from tinyllm.ops.compare import (
    all,
    allclose,
    any,
    eq,
    equal,
    ge,
    gt,
    isclose,
    isfinite,
    isinf,
    isnan,
    le,
    lt,
    ne,
    unique,
)
from tinyllm.ops.sampling import bernoulli, multinomial
from tinyllm.runtime import get_num_threads, set_num_threads
from tinyllm.serialization import CheckpointError, load, save
from tinyllm.tensor import Tensor

# isort: split
# The subpackages build on everything above, so they come last.
from tinyllm import cuda, data, metrics, nn, optim, runtime, train, tune, utils

__version__ = "0.1.0"
