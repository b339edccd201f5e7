"""The op registry: every differentiable public op, with sample inputs to test it on.

Each :class:`OpSpec` names an op of :mod:`tinyllm.ops`, says how to call it
(``fn``), lists :class:`Sample` calls that together reach its corners
(broadcasting, size-1 and 0-d shapes, negative dims, keepdim, repeated indices,
...), and gives its PyTorch twin (``torch_fn``). The tests walk the registry:
every sample must pass a float64 gradcheck and match PyTorch in values and
gradients, and every name in ``ops.__all__`` must have a spec.

Samples describe their inputs instead of storing them; :func:`make_inputs`
builds them from a seed. Values are drawn where the op is smooth — positive
for log and sqrt, away from the kinks of relu, abs and clamp, without ties for
max — because no derivative exists at a kink. Samples marked ``on_kinks`` sit
on the kinks on purpose, to compare the conventions there with PyTorch's
(relu'(0) = 0, clamp passes the gradient at its bounds, tied maxima of ``amax``
and of a full ``max()`` share it equally, ``max(dim)`` gives it to the index it
returns).

The registry never imports PyTorch: ``torch_fn`` gets the module as its first argument.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy

import tinyllm as tl
from tinyllm import backend, ops

Shape = tuple[int, ...]

#: How far float inputs stay from a sample's kinks (far beyond gradcheck's step of 1e-6).
KINK_MARGIN = 0.1

#: Public ops that return no gradient (integer results): the registry has no spec for them.
NOT_DIFFERENTIABLE = ("argmax", "argmin", "argsort")

#: Function classes that only a GPU machine can apply, and why; every other Function
#: subclass in tinyllm.ops must be applied by some sample.
GPU_ONLY_FUNCTIONS = {
    "ToDevice": "to_device(x, 'cpu') returns x itself when x is already on the CPU; "
    "the copy (and its backward) runs only when moving a CUDA tensor",
}


# ----------------------------------------------------------------------------- describing inputs


@dataclass(frozen=True)
class Float:
    """A float tensor of ``shape`` with values uniform in [low, high]; it requires grad unless told not to."""

    shape: Shape
    low: float = -2.0
    high: float = 2.0
    requires_grad: bool = True


def positive(*shape: int) -> Float:
    """A float input in [0.5, 2]: inside the domain of log, sqrt and a power's base, away from 0."""
    return Float(shape, 0.5, 2.0)


@dataclass(frozen=True)
class Index:
    """An int64 tensor holding ``values`` (nested tuples); a repeated index reads an element twice."""

    values: Any


@dataclass(frozen=True)
class Mask:
    """A bool tensor of ``shape``, random from the seed, with at least one True and one False."""

    shape: Shape


@dataclass(frozen=True)
class Sample:
    """One call ``fn(*args, **kwargs)`` of an op, with its inputs described.

    ``args``: a shape (a float tensor in [-2, 2] that requires grad), a :class:`Float`,
    :class:`Index` or :class:`Mask`, or a Python number (passed as it is).
    ``kwargs``: passed to ``fn`` and ``torch_fn`` alike; Float, Index and Mask in them,
    also inside tuples, are built too.
    ``kinks``: float inputs keep at least ``KINK_MARGIN`` away from these points.
    ``distinct``: the values of each float input differ pairwise by at least half of
    (high - low) / size, so max and min have no ties.
    ``on_kinks``: float inputs are drawn from {0, 1} instead, which puts relu and abs at
    0, clamp(min=0, max=1) on its bounds and max/min on ties; gradcheck may call these
    KINK, and PyTorch parity checks the conventions.
    ``gradcheck``: keyword arguments for :func:`tinyllm.gradcheck`, where the defaults cannot hold.
    """

    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    id: str
    kinks: tuple[float, ...] = ()
    distinct: bool = False
    on_kinks: bool = False
    gradcheck: dict[str, float] = field(default_factory=dict)


def sample(
    *args: Any,
    name: str | None = None,
    kinks: tuple[float, ...] = (),
    distinct: bool = False,
    on_kinks: bool = False,
    gradcheck: dict[str, float] | None = None,
    **kwargs: Any,
) -> Sample:
    """A :class:`Sample`, written like the call it stands for: ``sample((3, 4), dim=1)``."""
    if name is None:
        name = ",".join(
            [_describe(a, top=True) for a in args] + [f"{k}={_describe(v)}" for k, v in kwargs.items()]
        )
        name += ",on_kinks" if on_kinks else ""
    return Sample(args, kwargs, name, kinks, distinct, on_kinks, gradcheck or {})


def _is_shape(a: Any) -> bool:
    return isinstance(a, tuple) and all(isinstance(n, int) for n in a)


def _describe(a: Any, top: bool = False) -> str:
    """A short name for an argument, for test ids: ``3x4``, ``scalar``, ``idx[0,0,2]``, ``1:3``."""
    if top and _is_shape(a):
        a = Float(a)
    if isinstance(a, Float):
        shape = "x".join(map(str, a.shape)) or "scalar"
        return shape if a.requires_grad else f"const{shape}"
    if isinstance(a, Index):
        return "idx" + str(numpy.array(a.values).tolist()).replace(" ", "")
    if isinstance(a, Mask):
        return "mask" + "x".join(map(str, a.shape))
    if isinstance(a, slice):
        return ":".join("" if p is None else str(p) for p in (a.start, a.stop, a.step)).rstrip(":") or ":"
    if a is Ellipsis:
        return "..."
    if isinstance(a, tuple):
        return "(" + ",".join(_describe(v) for v in a) + ")"
    if isinstance(a, list):
        return "list[" + ",".join(_describe(v) for v in a) + "]"
    return str(a)


def make_inputs(
    s: Sample, dtype: numpy.dtype = backend.float64, device: str = "cpu", seed: int = 0
) -> tuple[list[Any], dict[str, Any]]:
    """Build a sample's ``(args, kwargs)`` as tinyllm tensors on ``device``, the same for the same seed.

    Float inputs get ``dtype``; index and mask tensors are int64 and bool.
    """
    rng = numpy.random.default_rng(seed)

    def floats(f: Float) -> tl.Tensor:
        n = int(numpy.prod(f.shape))
        if s.on_kinks:
            v = rng.integers(0, 2, f.shape).astype(numpy.float64)
        elif s.distinct:  # a shuffled grid, jittered by less than half a step
            v = f.low + (f.high - f.low) * (rng.permutation(n) + rng.uniform(0.25, 0.75, n)) / n
        else:
            v = rng.uniform(f.low, f.high, f.shape)
        v = numpy.asarray(v).reshape(f.shape)
        for k in s.kinks:
            v = numpy.where(numpy.abs(v - k) < KINK_MARGIN, k + numpy.copysign(KINK_MARGIN, v - k), v)
        return tl.tensor(v, dtype=dtype, device=device, requires_grad=f.requires_grad)

    def build(a: Any) -> Any:
        if isinstance(a, Float):
            return floats(a)
        if isinstance(a, Index):
            return tl.tensor(numpy.array(a.values, dtype=numpy.int64), device=device)
        if isinstance(a, Mask):
            m = rng.random(a.shape) < 0.5
            if m.size > 1:
                m.flat[0], m.flat[-1] = True, False
            return tl.tensor(m, device=device)
        if isinstance(a, (tuple, list)):
            return type(a)(build(v) for v in a)
        return a

    args = [build(Float(a) if _is_shape(a) else a) for a in s.args]
    return args, {k: build(v) for k, v in s.kwargs.items()}


# ----------------------------------------------------------------------------- specs


@dataclass(frozen=True)
class OpSpec:
    """A public op and its samples: ``fn(*args, **kwargs)`` calls it, and
    ``torch_fn(torch, *args, **kwargs)`` calls PyTorch's twin. Both may return a
    tensor or a tuple of tensors (``max(x, dim)`` gives values and indices).
    """

    name: str
    fn: Callable[..., Any]
    samples: tuple[Sample, ...]
    torch_fn: Callable[..., Any]


def spec(
    name: str,
    *samples: Sample,
    fn: Callable[..., Any] | None = None,
    torch_fn: Callable[..., Any] | None = None,
) -> OpSpec:
    """An :class:`OpSpec`; ``fn`` defaults to ``ops.<name>`` and ``torch_fn`` to ``torch.<name>``."""

    def same_name_in_torch(torch: Any, *args: Any, **kwargs: Any) -> Any:
        return getattr(torch, name)(*args, **kwargs)

    return OpSpec(name, fn or getattr(ops, name), samples, torch_fn or same_name_in_torch)


def _binary(torch_op: Callable[[Any, Any], Any]) -> Callable[..., Any]:
    """A torch_fn through the operator, which also takes a Python number on the left (``2.0 - t``)."""
    return lambda torch, a, b: torch_op(a, b)


def _arithmetic(name: str, torch_op: Callable[[Any, Any], Any], *extra: Sample) -> OpSpec:
    """The broadcasting cases every binary arithmetic op shares, plus ``extra``."""
    return spec(
        name,
        sample((3, 4), (3, 4)),
        sample((3, 4), (4,)),
        sample((2, 1, 4), (3, 1)),
        sample((), (3, 4)),
        sample((3, 4), Float((1, 4), requires_grad=False)),
        *extra,
        torch_fn=_binary(torch_op),
    )


def _reduction_samples(**options: Any) -> tuple[Sample, ...]:
    """The dims every reduction is checked over: one, negative, several, all (also as an empty
    tuple, PyTorch's spelling); keepdim both ways."""
    return (
        sample((3, 4), dim=1, **options),
        sample((3, 4), dim=0, keepdim=True, **options),
        sample((2, 3, 4), dim=-1, **options),
        sample((2, 3, 4), dim=(0, 2), **options),
        sample((2, 3, 4), dim=(-1, 0), keepdim=True, **options),
        sample((3, 4), **options),
        sample((3, 4), dim=None, keepdim=True, **options),
        sample((2, 3, 4), dim=(), **options),
    )


def _torch_gelu(torch: Any, x: Any, approximate: str = "none") -> Any:
    return torch.nn.functional.gelu(x, approximate=approximate)


def _torch_squeeze(torch: Any, x: Any, dim: int | None = None) -> Any:
    return x.squeeze() if dim is None else x.squeeze(dim)


def _pair_samples() -> tuple[Sample, ...]:
    """The broadcasting cases of a binary op on two tensors."""
    return (
        sample((3, 4), (3, 4)),
        sample((3, 4), (4,)),
        sample((2, 1, 4), (3, 1)),
        sample((), (3, 4)),
        sample((3, 4), Float((1, 4), requires_grad=False)),
    )


#: Where floor and ceil jump, inside the default input range [-2, 2].
_INTEGERS = (-2.0, -1.0, 0.0, 1.0, 2.0)

_ALL = slice(None)

SPECS: tuple[OpSpec, ...] = (
    # --- arithmetic
    _arithmetic("add", lambda a, b: a + b, sample((3, 4), 2.5), sample(2.5, (3, 4))),
    _arithmetic("sub", lambda a, b: a - b, sample((3, 4), 2.5), sample(1.0, (3, 4))),
    _arithmetic("mul", lambda a, b: a * b, sample((3, 4), -1.5), sample(2.5, (2, 3))),
    spec(
        "div",
        sample((3, 4), positive(3, 4)),
        sample((3, 4), positive(4)),
        sample((2, 1, 4), positive(3, 1)),
        sample((3, 4), Float((3, 4), -2.0, -0.5)),
        sample((), positive(3)),
        sample(Float((3, 4), requires_grad=False), positive(4)),
        sample((3, 4), 4.0),
        sample(1.0, positive(3, 4)),
        torch_fn=_binary(lambda a, b: a / b),
    ),
    spec("neg", sample((3, 4)), sample(())),
    spec(
        "pow",
        sample(positive(3, 4), (3, 4)),
        sample(positive(3, 4), (4,)),
        sample(positive(), (3,)),
        sample(Float((3, 4), 0.5, 2.0, requires_grad=False), (3, 4)),
        sample(2.0, (3, 4)),
        sample((3, 4), 3),
        sample((3, 4), 2.0),
        sample(positive(3, 4), 0.5),
        sample(positive(3, 4), -1.5),
        sample(positive(3, 4), ()),
        sample((3, 4), 0, on_kinks=True),
        sample((3, 4), Float((3, 4), requires_grad=False), on_kinks=True),
        torch_fn=_binary(lambda a, b: a**b),
    ),
    spec(
        "matmul",
        sample((3, 4), (4, 2)),
        sample((4,), (4, 2)),
        sample((3, 4), (4,)),
        sample((4,), (4,)),
        sample((2, 3, 4), (4, 5)),
        sample((2, 1, 3, 4), (3, 4, 2)),
        sample((4,), (2, 4, 3)),
        sample((2, 3, 4), (4,)),
        sample((1, 4), (4, 1)),
        sample(Float((3, 4), requires_grad=False), (4, 2)),
    ),
    # --- functions
    spec("exp", sample((3, 4)), sample(())),
    spec("log", sample(positive(3, 4)), sample(positive())),
    spec("sqrt", sample(positive(3, 4)), sample(positive())),
    spec("abs", sample((3, 4), kinks=(0.0,)), sample((), kinks=(0.0,)), sample((3, 4), on_kinks=True)),
    spec("tanh", sample((3, 4)), sample(())),
    spec("sigmoid", sample((3, 4)), sample(Float((8,), -30.0, 30.0)), sample(())),
    spec("relu", sample((3, 4), kinks=(0.0,)), sample((), kinks=(0.0,)), sample((3, 4), on_kinks=True)),
    spec(
        "gelu",
        sample(Float((3, 4), -4.0, 4.0)),
        sample(Float((3, 4), -4.0, 4.0), approximate="tanh"),
        sample(()),
        torch_fn=_torch_gelu,
    ),
    spec(
        "clamp",
        sample((3, 4), min=-0.5, kinks=(-0.5,)),
        sample((3, 4), max=0.5, kinks=(0.5,)),
        sample((3, 4), min=-0.5, max=0.5, kinks=(-0.5, 0.5)),
        sample((3, 4), min=0.0, max=1.0, on_kinks=True),
    ),
    spec(
        "where",
        sample(Mask((3, 4)), (3, 4), (3, 4)),
        sample(Mask((3, 1)), (4,), (3, 4)),
        sample(Mask((4,)), (2, 1, 4), (3, 1)),
        sample(Mask((3, 4)), (3, 4), 0.0),
        sample(Mask((3, 4)), (), (3, 4)),
        sample(Mask((2, 3, 4)), (4,), (3, 1)),
    ),
    spec(
        "masked_fill",
        sample((3, 4), Mask((3, 4)), value=-1.5),
        sample((3, 4), Mask((4,)), value=0.0),
        sample((2, 3, 4), Mask((3, 1)), value=2.0),
    ),
    # --- reductions
    spec("sum", *_reduction_samples(), sample(())),
    spec("mean", *_reduction_samples(), sample(())),
    spec(
        "var",
        sample((3, 4), dim=1, correction=0),
        sample((3, 4), dim=1, correction=1),
        sample((3, 4), dim=-2, keepdim=True),
        sample((2, 3, 4), dim=(0, 2), correction=0),
        sample((3, 4)),
        sample((3, 4), correction=0),
        sample((3, 4), dim=None, keepdim=True),
        # no dim=() here: PyTorch (2.13) reduces over all dims then, but its backward gives inf
    ),
    spec(
        "amax",
        *_reduction_samples(distinct=True),
        sample((4, 6), dim=1, on_kinks=True),
        sample((4, 6), on_kinks=True),
        torch_fn=lambda torch, x, dim=None, keepdim=False: torch.amax(x, () if dim is None else dim, keepdim),
    ),
    spec(
        "amin",
        *_reduction_samples(distinct=True),
        sample((4, 6), dim=(0, 1), keepdim=True, on_kinks=True),
        torch_fn=lambda torch, x, dim=None, keepdim=False: torch.amin(x, () if dim is None else dim, keepdim),
    ),
    spec(
        "max",
        sample((3, 4), distinct=True),
        sample((), distinct=True),
        sample((3, 4), dim=1, distinct=True),
        sample((3, 4), dim=0, keepdim=True, distinct=True),
        sample((2, 3, 4), dim=-1, distinct=True),
        sample((4, 6), on_kinks=True),
        sample((4, 6), dim=1, on_kinks=True),
    ),
    spec(
        "min",
        sample((3, 4), distinct=True),
        sample((3, 4), dim=1, distinct=True),
        sample((2, 3, 4), dim=-2, keepdim=True, distinct=True),
        sample((4, 6), on_kinks=True),
        sample((4, 6), dim=0, on_kinks=True),
    ),
    # --- softmax family
    spec(
        "logsumexp",
        sample((3, 4), dim=-1),
        sample((3, 4), dim=0, keepdim=True),
        sample((2, 3, 4), dim=(0, 2)),
        sample(Float((2, 3), 500.0, 600.0), dim=1),
    ),
    spec(
        "softmax",
        sample((3, 4), dim=-1),
        sample((3, 4), dim=0),
        sample((2, 3, 4), dim=1),
        sample(Float((2, 3), 500.0, 600.0), dim=1),
    ),
    spec(
        "log_softmax",
        sample((3, 4), dim=-1),
        sample((2, 3, 4), dim=0),
        sample(Float((2, 3), -600.0, -500.0), dim=1),
    ),
    # --- shapes
    spec(
        "reshape",
        sample((2, 3, 4), shape=(4, -1)),
        sample((3, 4), shape=(12,)),
        sample((), shape=(1, 1)),
        sample((2, 6), shape=(3, 2, 2)),
        fn=lambda x, shape: ops.reshape(x, shape),
    ),
    spec(
        "flatten",
        sample((2, 3, 4)),
        sample((2, 3, 4), start_dim=1),
        sample((2, 3, 4), start_dim=0, end_dim=-2),
        sample(()),
    ),
    spec(
        "permute",
        sample((2, 3, 4), dims=(2, 0, 1)),
        sample((2, 3, 4), dims=(-1, 0, 1)),
        sample((3, 4), dims=(1, 0)),
        fn=lambda x, dims: ops.permute(x, dims),
    ),
    spec(
        "transpose",
        sample((2, 3, 4), dim0=0, dim1=2),
        sample((2, 3, 4), dim0=-1, dim1=-2),
        sample((3, 4), dim0=1, dim1=1),
    ),
    spec(
        "expand",
        sample((3, 1), size=(3, 4)),
        sample((4,), size=(2, 3, 4)),
        sample((2, 1, 4), size=(2, 3, -1)),
        sample((), size=(2, 3)),
        fn=lambda x, size: ops.expand(x, size),
        torch_fn=lambda torch, x, size: x.expand(size),
    ),
    spec(
        "squeeze",
        sample((1, 3, 1)),
        sample((1, 3, 1), dim=0),
        sample((1, 3, 1), dim=-1),
        sample((1, 3, 1), dim=1),
        torch_fn=_torch_squeeze,
    ),
    spec(
        "unsqueeze", sample((3, 4), dim=0), sample((3, 4), dim=-1), sample((3, 4), dim=1), sample((), dim=0)
    ),
    spec(
        "linear",
        sample((3, 4), (5, 4), (5,)),
        sample((4,), (2, 4)),
        sample((2, 3, 4), (5, 4), (5,)),
        sample((2, 3, 4), (5, 4)),
        sample((3, 4), Float((5, 4), requires_grad=False), (5,)),
        torch_fn=lambda torch, *a: torch.nn.functional.linear(*a),
    ),
    spec(
        "embedding",
        sample(Index((0, 3, 3, 1)), (4, 3)),
        sample(Index(((2, 0, 2), (1, 1, 0))), (3, 5)),
        # the padding row gets no gradient although the output reads it, which a numerical
        # gradient cannot agree with; here it is left unread (tests/test_nn_layers.py reads it)
        sample(Index(((2, 0), (0, 2))), (3, 5), padding_idx=1),
        sample(Index((0, 1)), (3, 2), padding_idx=-1),
        sample(Index(5), (6, 2)),
        torch_fn=lambda torch, *a, **k: torch.nn.functional.embedding(*a, **k),
    ),
    spec(
        "getitem",
        sample((4, 3), index=1),
        sample((4, 3), index=(slice(1, 3), -1)),
        sample((5, 3), index=slice(None, None, 2)),
        sample((5, 3), index=Index((0, 0, 2))),
        sample((5, 3), index=[0, 0, 2]),
        sample((5, 3), index=Index((-1, 0, -1))),
        sample((3, 5), index=(_ALL, Index((4, 1, 1, 0)))),
        sample((4, 3), index=(Index((0, 2, 2)), Index((1, 1, 1)))),
        sample((3, 4), index=Index(((0, 1), (1, 1)))),
        sample((2, 3, 4), index=(None, Ellipsis, slice(1, 3))),
        sample((2, 3, 4), index=(Ellipsis, 0)),
        sample((3, 4), index=Mask((3, 4))),
        sample((3, 4), index=Mask((3,))),
        sample((3, 4), index=(Mask((3,)), slice(1, 3))),
        torch_fn=lambda torch, x, index: x[index],
    ),
    spec(
        "cat",
        sample((2, 3), (1, 3), (4, 3), dim=0),
        sample((2, 1), (2, 3), dim=-1),
        sample((2, 2, 3), (2, 1, 3), dim=1),
        sample((3,), dim=0),
        fn=lambda *xs, dim: ops.cat(xs, dim),
        torch_fn=lambda torch, *xs, dim: torch.cat(xs, dim),
    ),
    spec(
        "stack",
        sample((2, 3), (2, 3), (2, 3), dim=0),
        sample((2, 3), (2, 3), dim=1),
        sample((2, 3), (2, 3), dim=-1),
        sample((), (), dim=0),
        fn=lambda *xs, dim: ops.stack(xs, dim),
        torch_fn=lambda torch, *xs, dim: torch.stack(xs, dim),
    ),
    spec(
        "split",
        sample((5, 3), split_size_or_sections=2),
        sample((4, 3), split_size_or_sections=2),
        sample((3, 4), split_size_or_sections=[1, 3], dim=-1),
        sample((2, 6), split_size_or_sections=[3, 1, 2], dim=1),
        sample((3, 2), split_size_or_sections=5),
    ),
    # --- copies
    spec("clone", sample((3, 4)), sample(())),
    spec(
        # to float32 and back is not float64-exact, so a step of 1e-6 would drown in float32
        # rounding; the conversion is linear, so a large step is exact up to that rounding
        "to_dtype",
        sample((3, 4), dtype=backend.float32, gradcheck=dict(eps=1e-2, atol=1e-4, rtol=1e-3)),
        torch_fn=lambda torch, x, dtype: x.to(getattr(torch, dtype.name)),
    ),
    spec(
        "to_device",
        sample((3, 4), device=backend.CPU),
        torch_fn=lambda torch, x, device: x.to(str(device)),
    ),
    # --- more elementwise functions
    *(spec(name, *_pair_samples(), sample((3, 4), (3, 4), on_kinks=True)) for name in ("maximum", "minimum")),
    spec("clip", sample((3, 4), min=-0.5, max=0.5, kinks=(-0.5, 0.5)), sample((3, 4), min=0.0, max=1.0, on_kinks=True)),
    spec("log1p", sample(Float((3, 4), -0.5, 2.0)), sample(positive())),
    spec("rsqrt", sample(positive(3, 4)), sample(positive())),
    spec("square", sample((3, 4)), sample(())),
    spec("sin", sample(Float((3, 4), -4.0, 4.0)), sample(())),
    spec("cos", sample(Float((3, 4), -4.0, 4.0)), sample(())),
    spec("erf", sample(Float((3, 4), -3.0, 3.0)), sample(())),
    spec("sign", sample((3, 4), kinks=(0.0,)), sample((), kinks=(0.0,))),
    spec("floor", sample((3, 4), kinks=_INTEGERS), sample((), kinks=_INTEGERS)),
    spec("ceil", sample((3, 4), kinks=_INTEGERS), sample((), kinks=_INTEGERS)),
    spec(
        "round",
        sample((3, 4), kinks=(-1.5, -0.5, 0.5, 1.5)),
        sample(Float((2, 3), 0.11, 0.14), decimals=1),
        sample((), kinks=(-1.5, -0.5, 0.5, 1.5)),
    ),
    # --- more reductions and running ops
    spec(
        "std",
        sample((3, 4), dim=1, correction=0),
        sample((3, 4), dim=-2, keepdim=True),
        sample((2, 3, 4), dim=(0, 2)),
        sample((3, 4)),
    ),
    spec(
        "prod",
        sample((3, 4)),
        sample((3, 4), dim=1),
        sample((2, 3, 4), dim=-1, keepdim=True),
        sample(()),
        sample((), dim=0),
        # {0, 1} inputs: slices with no zero, one zero and several (prod is linear in each input)
        sample((6, 4), dim=1, on_kinks=True),
        sample((2, 3), on_kinks=True),
    ),
    spec(
        "norm",
        sample((3, 4)),
        sample((3, 4), p=2, dim=1),
        sample((3, 4), p=1, dim=0, keepdim=True, kinks=(0.0,)),
        sample((2, 3, 4), p=3, dim=(-1, 0)),
        sample((3, 4), p=numpy.inf, dim=1, distinct=True),
        sample((3, 4), p=-numpy.inf, distinct=True),
        sample((3, 4), p="fro", dim=(0, 1), keepdim=True),
        sample((6, 2), p=2, dim=1, on_kinks=True),  # rows of zeros: gradient 0 there, as in PyTorch
    ),
    spec("cumsum", sample((3, 4), dim=1), sample((2, 3, 4), dim=-3), sample((5,), dim=-1), sample((), dim=0)),
    spec(
        "cumprod",
        sample((3, 4), dim=1),
        sample((2, 3, 4), dim=-2),
        sample((), dim=0),
        sample((5, 6), dim=1, on_kinks=True),  # zeros: none, one and several per row
        sample((6, 3), dim=0, on_kinks=True),
    ),
    # --- more products, triangles and diagonals
    spec("mm", sample((3, 4), (4, 2)), sample((1, 3), Float((3, 2), requires_grad=False))),
    spec("bmm", sample((2, 3, 4), (2, 4, 5)), sample((1, 2, 2), (1, 2, 3))),
    spec("dot", sample((4,), (4,)), sample((1,), Float((1,), requires_grad=False))),
    spec("outer", sample((3,), (4,)), sample((1,), (2,))),
    spec(
        "einsum",
        *(
            sample(*shapes, equation=eq)
            for eq, shapes in (
                ("ij,jk->ik", ((3, 4), (4, 2))),
                ("ij,jk", ((3, 4), (4, 2))),
                ("ij->i", ((3, 4),)),
                ("ij->ji", ((3, 4),)),
                ("ii->", ((3, 3),)),
                ("ii->i", ((3, 3),)),
                ("iij->j", ((2, 2, 3),)),
                ("bij,bjk->bik", ((2, 3, 4), (2, 4, 2))),
                ("i,j->ij", ((3,), (2,))),
                ("ij,ij->", ((3, 4), (3, 4))),
                ("ij,jk,kl->il", ((2, 3), (3, 4), (4, 2))),
                ("bhtd, bhsd -> bhts", ((2, 2, 3, 4), (2, 2, 5, 4))),
            )
        ),
        sample((3, 4), Float((4,), requires_grad=False), equation="ij,j->i"),
        fn=lambda *xs, equation: ops.einsum(equation, *xs),
        torch_fn=lambda torch, *xs, equation: torch.einsum(equation, *xs),
    ),
    spec(
        "tril", sample((3, 4)), sample((4, 3), diagonal=-1), sample((2, 3, 3), diagonal=1), sample((3, 4), diagonal=5)
    ),
    spec(
        "triu", sample((3, 4)), sample((4, 3), diagonal=-1), sample((2, 3, 3), diagonal=1), sample((3, 4), diagonal=-5)
    ),
    spec(
        "diag",
        sample((3,)),
        sample((3,), diagonal=1),
        sample((3,), diagonal=-2),
        sample((3, 4)),
        sample((3, 4), diagonal=2),
        sample((4, 3), diagonal=-1),
    ),
    # --- more shapes
    spec("t", sample((3, 4)), sample((3,)), sample(())),
    spec(
        "concat",
        sample((2, 3), (1, 3), dim=0),
        sample((2, 1), (2, 3), dim=-1),
        fn=lambda *xs, dim: ops.concat(xs, dim),
        torch_fn=lambda torch, *xs, dim: torch.concat(xs, dim),
    ),
    spec(
        "chunk",
        sample((5, 3), 3),
        sample((6, 2), 4, dim=0),
        sample((3, 4), 2, dim=-1),
        sample((2, 3), 5, dim=1),
    ),
    spec("unbind", sample((3, 4)), sample((2, 3, 4), dim=-1), sample((3, 2), dim=1)),
    spec(
        "flip", sample((3, 4), dims=(0,)), sample((2, 3, 4), dims=(-1, 0)), sample((3,), dims=[0]), sample((), dims=())
    ),
    spec(
        "repeat",
        sample((2, 3), sizes=(2, 1)),
        sample((2, 3), sizes=(1, 2, 3)),
        sample((3,), sizes=(2, 2)),
        sample((), sizes=(2,)),
        sample((2, 3), sizes=(1, 1)),
        fn=lambda x, sizes: ops.repeat(x, sizes),
        torch_fn=lambda torch, x, sizes: x.repeat(sizes),
    ),
    # --- reading and writing by index
    spec(
        "gather",
        sample((3, 4), 1, Index(((0, 1), (3, 3), (1, 0)))),
        sample((3, 4), -2, Index(((0, 2, 2, 1),))),
        sample((2, 3, 4), 2, Index((((3, 0), (1, 1)), ((2, 2), (0, 3))))),
        sample((4, 2), 0, Index(((3, 0), (3, 0), (1, 1)))),
        sample((), 0, Index(0)),
    ),
    # PyTorch's backward fails for a src larger than index (tinyllm gives 0 beyond); such srcs need no grad here
    spec(
        "scatter",
        sample((3, 4), 1, Index(((0, 1), (3, 2), (1, 0))), (3, 2)),
        sample((3, 4), 0, Index(((0, 2, 1),)), Float((2, 4), requires_grad=False)),
        sample((2, 3), -1, Index(((2,), (0,))), (2, 1)),
        sample((3, 4), 1, Index(((0,), (2,), (3,))), 1.5),
        sample((), 0, Index(0), ()),
    ),
    spec(
        "scatter_add",
        sample((3, 4), 1, Index(((0, 0), (3, 3), (1, 0))), (3, 2)),
        sample((3, 4), 0, Index(((0, 0, 2, 2), (0, 1, 2, 0))), (2, 4)),
        sample((2, 3), -1, Index(((2, 2, 2), (0, 1, 0))), (2, 3)),
        sample((2, 3), 1, Index(((2,), (0,))), Float((2, 5), requires_grad=False)),
        sample((3, 4), 1, Index(((0, 0), (1, 1), (2, 3))), Float((3, 2), requires_grad=False)),
    ),
    spec(
        "index_select",
        sample((4, 3), 0, Index((0, 2, 2))),
        sample((3, 4), -1, Index((3, 0))),
        sample((2, 3, 4), 1, Index(1)),
        sample((5,), 0, Index((4, 4, 0))),
    ),
    # --- sorting
    spec(
        "sort",
        sample((3, 4), distinct=True),
        sample((3, 4), dim=0, descending=True, distinct=True),
        sample((2, 3, 4), dim=-2, distinct=True),
        sample((), distinct=True),
        # ties: a stable sort keeps them in order, so the indices (and the gradient) are determined
        sample((4, 6), dim=1, stable=True, on_kinks=True),
        sample((4, 6), dim=0, descending=True, stable=True, on_kinks=True),
    ),
    spec(
        "topk",
        sample((3, 5), 2, distinct=True),
        sample((3, 5), 3, dim=0, largest=False, distinct=True),
        sample((2, 3, 4), 1, dim=-2, distinct=True),
        sample((3, 4), 4, dim=1, distinct=True),
        sample((3, 4), 0, distinct=True),
    ),
)

#: The specs by op name.
REGISTRY: dict[str, OpSpec] = {s.name: s for s in SPECS}
