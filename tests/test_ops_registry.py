"""Every public op, through the registry: float64 gradchecks, PyTorch parity, and full coverage."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import tinyllm as tl
from op_registry import (
    GPU_ONLY_FUNCTIONS,
    KINK_MARGIN,
    NOT_DIFFERENTIABLE,
    REGISTRY,
    SPECS,
    OpSpec,
    Sample,
    make_inputs,
)
from tinyllm import backend, ops
from tinyllm.autograd import Function

CASES = [pytest.param(spec, s, id=f"{spec.name}-{s.id}") for spec in SPECS for s in spec.samples]

# float64 through the same formulas on both sides; the slack is for a different summation
# order (matmul, reductions) and libm against PyTorch's erf, exp and log.
RTOL, ATOL = 1e-12, 1e-13


def _outputs(result: Any) -> list[Any]:
    """The tensors in a result, depth first (``max(x, dim)`` gives values and indices)."""
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _outputs(r)]
    return [result]


def _call(spec: OpSpec, args: list[Any], kwargs: dict[str, Any]) -> list[tl.Tensor]:
    return _outputs(spec.fn(*args, **kwargs))


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_every_op_passes_gradcheck_in_float64(spec: OpSpec, sample: Sample, device: str) -> None:
    args, kwargs = make_inputs(sample, tl.float64, device)
    report = tl.gradcheck(lambda *a: spec.fn(*a, **kwargs), args, raise_on_fail=False, **sample.gradcheck)
    # a sample placed on kinks on purpose may meet no derivative there, but never a wrong one
    allowed = {"PASS", "KINK"} if sample.on_kinks else {"PASS"}
    if not report.passed or not {r.status for r in report.rows} <= allowed:
        # the report says it all (numeric and analytic at the worst element); no internal reprs
        pytest.fail(f"{spec.name}, sample {sample.id}: {report.summary()}\n{report}", pytrace=False)


def _function_subclasses_in_ops() -> set[type[Function]]:
    found: set[type[Function]] = set()
    todo = [Function]
    while todo:
        for sub in todo.pop().__subclasses__():
            if sub not in found:
                found.add(sub)
                todo.append(sub)
    return {f for f in found if f.__module__.startswith("tinyllm.ops")}


def test_registry_covers_every_public_op(device: str, monkeypatch: pytest.MonkeyPatch) -> None:
    assert sorted(REGISTRY) == sorted(set(ops.__all__) - set(NOT_DIFFERENTIABLE))
    assert all(spec.samples for spec in SPECS)

    applied: set[type[Function]] = set()
    apply = Function.apply.__func__  # type: ignore[attr-defined]

    def recording_apply(cls: type[Function], *inputs: tl.Tensor, **params: Any) -> tl.Tensor:
        applied.add(cls)
        return apply(cls, *inputs, **params)

    monkeypatch.setattr(Function, "apply", classmethod(recording_apply))
    for spec in SPECS:
        for s in spec.samples:
            _call(spec, *make_inputs(s, tl.float64, device))

    expected = {f.__name__ for f in _function_subclasses_in_ops()}
    if device == "cpu":
        expected -= set(GPU_ONLY_FUNCTIONS)
    assert expected - {f.__name__ for f in applied} == set()


def test_make_inputs_is_deterministic_and_keeps_its_promises() -> None:
    for spec in SPECS:
        for s in spec.samples:
            (a, ka), (b, kb) = make_inputs(s, seed=3), make_inputs(s, seed=3)
            for x, y in zip(_outputs((a, list(ka.values()))), _outputs((b, list(kb.values())))):
                if isinstance(x, tl.Tensor):
                    numpy.testing.assert_array_equal(x.detach().numpy(), y.detach().numpy())
                    if x.dtype == tl.float64 and s.distinct:
                        assert len(numpy.unique(x.detach().numpy())) == x.numel(), s.id
                    for k in s.kinks if x.dtype == tl.float64 else ():
                        assert numpy.abs(x.detach().numpy() - k).min() >= KINK_MARGIN - 1e-12, s.id


# ----------------------------------------------------------------------------- PyTorch parity


def _to_torch(torch: Any, value: Any) -> Any:
    """The same structure with every tinyllm tensor copied into a torch tensor (float ones requiring grad)."""
    if isinstance(value, tl.Tensor):
        t = torch.from_numpy(value.detach().numpy().copy())
        return t.requires_grad_(value.requires_grad)
    if isinstance(value, (tuple, list)):
        return type(value)(_to_torch(torch, v) for v in value)
    return value


@pytest.mark.parametrize(("spec", "sample"), CASES)
def test_every_op_matches_torch(spec: OpSpec, sample: Sample, torch: Any) -> None:
    args, kwargs = make_inputs(sample, tl.float64)
    t_args = _to_torch(torch, args)
    t_kwargs = {k: _to_torch(torch, v) for k, v in kwargs.items()}
    outs = _call(spec, args, kwargs)
    t_outs = _outputs(spec.torch_fn(torch, *t_args, **t_kwargs))

    assert len(outs) == len(t_outs)
    for o, t in zip(outs, t_outs):
        expected = t.detach().numpy()
        assert (o.shape, o.dtype) == (expected.shape, expected.dtype)
        numpy.testing.assert_allclose(o.detach().numpy(), expected, rtol=RTOL, atol=ATOL)

    # gradients of sum(out * u) over the float outputs, for one seeded cotangent u per output
    rng = numpy.random.default_rng(1)
    float_pairs = [(o, t) for o, t in zip(outs, t_outs) if backend.is_floating(o.dtype)]
    cotangents = [rng.standard_normal(o.shape).astype(o.dtype) for o, _ in float_pairs]
    for (o, _), u in zip(float_pairs, cotangents):
        if o.requires_grad:
            o.backward(tl.tensor(u), retain_graph=True)
    torch.autograd.backward(
        [t for _, t in float_pairs if t.requires_grad],
        [torch.from_numpy(u) for (_, t), u in zip(float_pairs, cotangents) if t.requires_grad],
    )
    for i, (x, t) in enumerate(zip(args, t_args)):
        if isinstance(x, tl.Tensor) and x.requires_grad:
            assert x.grad is not None and t.grad is not None, f"input {i} got no gradient"
            numpy.testing.assert_allclose(
                x.grad.numpy(), t.grad.numpy(), rtol=RTOL, atol=ATOL, err_msg=f"input {i}"
            )


@pytest.mark.parametrize("dim", [None, 0, -1])
@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("name", ["argmax", "argmin"])
def test_argmax_and_argmin_match_torch_and_pick_the_first_tie(
    name: str, dim: int | None, keepdim: bool, torch: Any
) -> None:
    x = numpy.random.default_rng(0).integers(0, 3, (4, 5)).astype(numpy.float64)  # many ties
    got = getattr(ops, name)(tl.tensor(x), dim, keepdim)
    expected = getattr(torch, name)(torch.from_numpy(x), dim, keepdim)
    assert (got.shape, got.dtype) == (tuple(expected.shape), tl.int64)
    numpy.testing.assert_array_equal(got.numpy(), expected.numpy())


@pytest.mark.parametrize(
    "call",
    [
        lambda x: ops.sum(x, 0),
        lambda x: ops.mean(x, -1),
        lambda x: ops.max(x, 0),
        lambda x: ops.softmax(x, 0),
        lambda x: ops.squeeze(x, 0),
    ],
    ids=["sum", "mean", "max", "softmax", "squeeze"],
)
def test_a_dim_of_a_0d_tensor_is_rejected_naming_the_op(call: Any) -> None:
    with pytest.raises(IndexError, match="out of range for a tensor with 0 dimension"):
        call(tl.tensor(1.5))
