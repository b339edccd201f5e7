"""The smaller pieces of torch.nn: activations (SiLU, LeakyReLU, ELU, Softplus, Softmax, LogSoftmax,
Flatten), losses (L1, SmoothL1, BCE, KL divergence), one_hot, pad, normalize, cosine_similarity,
the extra initializers, parameters_to_vector and pad_sequence / pack_sequence.

Functions and modules are matched against PyTorch in float64 on the same inputs (outputs and
input gradients), and gradchecked; the initializers are checked statistically against the
moments their distributions must have.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import nn
from tinyllm.nn import functional as F
from tinyllm.nn import init
from tinyllm.nn.utils import parameters_to_vector, vector_to_parameters
from tinyllm.nn.utils.rnn import pack_sequence, pad_sequence

ATOL = 1e-12  # float64: the two libraries differ only by rounding


# ----------------------------------------------------------------------------- helpers


def _randn(shape: tuple[int, ...], seed: int = 0, scale: float = 1.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape) * scale


def _compare(
    torch: Any,
    ours: Callable[..., tl.Tensor],
    theirs: Callable[..., Any],
    arrays: list[np.ndarray],
    grad: list[bool] | None = None,
    device: str = "cpu",
    atol: float = ATOL,
    rtol: float = 1e-12,
) -> None:
    """Same inputs to both libraries: equal outputs, and equal gradients of sum(u * output) for
    the inputs marked in ``grad`` (all float inputs by default)."""
    grad = grad if grad is not None else [a.dtype.kind == "f" for a in arrays]
    xs = [tl.tensor(a, requires_grad=g, device=device) for a, g in zip(arrays, grad)]
    ts = [torch.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    y, t_y = ours(*xs), theirs(*ts)
    np.testing.assert_allclose(y.detach().numpy(), t_y.detach().numpy(), rtol=rtol, atol=atol)
    if not any(grad):
        return
    u = _randn(tuple(y.shape), seed=99)
    (y * tl.tensor(u, device=device)).sum().backward()
    (t_y * torch.tensor(u)).sum().backward()
    for i, (x, t) in enumerate(zip(xs, ts)):
        if grad[i]:
            np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=rtol, atol=atol, err_msg=f"input {i}")


def _gradcheck(fn: Callable[..., tl.Tensor], arrays: list[np.ndarray], grad: list[bool] | None = None) -> None:
    grad = grad if grad is not None else [True] * len(arrays)
    xs = [tl.tensor(a, requires_grad=g) for a, g in zip(arrays, grad)]
    report = tl.gradcheck(fn, xs, atol=1e-7, rtol=1e-5)
    assert report.passed
    assert not any(r.status == "KINK" for r in report.rows)


# Values that reach the interesting places: exact zero (the kinks), far negative and positive
# (overflow in a discarded branch, softplus's threshold), and ordinary values.
EDGES = np.array([-100.0, -30.0, -3.0, -1e-9, 0.0, 1e-9, 0.5, 19.9, 20.0, 20.1, 30.0, 100.0])


# ----------------------------------------------------------------------------- activations

ACTIVATIONS: dict[str, tuple[Callable[..., Any], Callable[[Any], Any], dict[str, float]]] = {
    "silu": (F.silu, lambda t: t.nn.functional.silu, {}),
    "leaky_relu": (F.leaky_relu, lambda t: t.nn.functional.leaky_relu, {}),
    "leaky_relu_0.2": (F.leaky_relu, lambda t: t.nn.functional.leaky_relu, {"negative_slope": 0.2}),
    "elu": (F.elu, lambda t: t.nn.functional.elu, {}),
    "elu_alpha": (F.elu, lambda t: t.nn.functional.elu, {"alpha": 0.7}),
    "softplus": (F.softplus, lambda t: t.nn.functional.softplus, {}),
    "softplus_beta": (F.softplus, lambda t: t.nn.functional.softplus, {"beta": 2.5, "threshold": 5.0}),
    "softplus_negative_beta": (F.softplus, lambda t: t.nn.functional.softplus, {"beta": -0.5}),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_matches_torch_on_values_and_gradients(torch, name: str, device: str) -> None:
    ours, theirs, kw = ACTIVATIONS[name]
    fn = theirs(torch)
    x = np.concatenate([EDGES, _randn((20,), seed=1) * 3])
    _compare(torch, lambda a: ours(a, **kw), lambda a: fn(a, **kw), [x], device=device)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_passes_gradcheck(name: str) -> None:
    ours, _, kw = ACTIVATIONS[name]
    x = _randn((3, 5), seed=2) * 3
    x[np.abs(x) < 0.05] += 0.2  # away from the kinks of leaky_relu and elu at 0
    _gradcheck(lambda a: ours(a, **kw), [x])


def test_softplus_has_slope_one_half_at_zero_and_no_overflow() -> None:
    x = tl.tensor([0.0, -800.0, 800.0], requires_grad=True)
    y = F.softplus(x)
    y.sum().backward()
    np.testing.assert_allclose(y.detach().numpy(), [math.log(2.0), 0.0, 800.0], atol=1e-300)
    np.testing.assert_allclose(x.grad.numpy(), [0.5, 0.0, 1.0], atol=1e-300)


def test_elu_gradient_is_finite_for_large_positive_inputs() -> None:
    x = tl.tensor([800.0, -800.0], requires_grad=True)
    F.elu(x).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 0.0])


@pytest.mark.parametrize("fn", [F.silu, F.leaky_relu, F.elu, F.softplus])
def test_activations_refuse_integer_tensors(fn: Callable[..., Any]) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        fn(tl.tensor([1, -1]))


# ----------------------------------------------------------------------------- activation modules

MODULES: dict[str, tuple[Callable[[], nn.Module], Callable[[Any], Any], tuple[int, ...]]] = {
    "flatten": (lambda: nn.Flatten(), lambda t: t.nn.Flatten(), (2, 3, 4, 5)),
    "flatten_range": (lambda: nn.Flatten(0, 2), lambda t: t.nn.Flatten(0, 2), (2, 3, 4, 5)),
    "flatten_negative": (lambda: nn.Flatten(-3, -2), lambda t: t.nn.Flatten(-3, -2), (2, 3, 4, 5)),
    "silu": (lambda: nn.SiLU(), lambda t: t.nn.SiLU(), (3, 7)),
    "silu_inplace": (lambda: nn.SiLU(inplace=True), lambda t: t.nn.SiLU(inplace=True), (3, 7)),
    "leaky_relu": (lambda: nn.LeakyReLU(), lambda t: t.nn.LeakyReLU(), (3, 7)),
    "leaky_relu_inplace": (lambda: nn.LeakyReLU(0.2, True), lambda t: t.nn.LeakyReLU(0.2, True), (3, 7)),
    "elu": (lambda: nn.ELU(), lambda t: t.nn.ELU(), (3, 7)),
    "elu_alpha": (lambda: nn.ELU(alpha=0.5), lambda t: t.nn.ELU(alpha=0.5), (3, 7)),
    "softplus": (lambda: nn.Softplus(), lambda t: t.nn.Softplus(), (3, 7)),
    "softplus_beta": (lambda: nn.Softplus(2.0, 3.0), lambda t: t.nn.Softplus(2.0, 3.0), (3, 7)),
    "softmax": (lambda: nn.Softmax(dim=1), lambda t: t.nn.Softmax(dim=1), (3, 4, 5)),
    "softmax_last": (lambda: nn.Softmax(-1), lambda t: t.nn.Softmax(-1), (3, 4, 5)),
    "log_softmax": (lambda: nn.LogSoftmax(dim=1), lambda t: t.nn.LogSoftmax(dim=1), (3, 4, 5)),
    "log_softmax_0": (lambda: nn.LogSoftmax(0), lambda t: t.nn.LogSoftmax(0), (3, 4)),
}


@pytest.mark.parametrize("name", list(MODULES))
def test_module_matches_torch_and_has_its_repr(torch, name: str, device: str) -> None:
    make, make_torch, shape = MODULES[name]
    ours, theirs = make(), make_torch(torch)
    assert repr(ours) == repr(theirs)
    # the torch twin is called on a copy: its inplace=True would overwrite the leaf's data
    _compare(torch, ours, lambda t: theirs(t * 1.0), [_randn(shape, seed=3) * 2], device=device)


@pytest.mark.parametrize("name", list(MODULES))
def test_module_passes_gradcheck(name: str) -> None:
    make, _, shape = MODULES[name]
    x = _randn(shape, seed=4) * 2
    x[np.abs(x) < 0.05] += 0.2
    _gradcheck(make(), [x])


def test_inplace_is_accepted_but_leaves_the_input_unchanged() -> None:
    x = tl.tensor([-1.0, 2.0])
    y = nn.LeakyReLU(0.5, inplace=True)(x)
    np.testing.assert_array_equal(y.numpy(), [-0.5, 2.0])
    np.testing.assert_array_equal(x.numpy(), [-1.0, 2.0])


@pytest.mark.parametrize("layer", [nn.Softmax, nn.LogSoftmax])
def test_softmax_modules_require_a_dim(layer: type[nn.Module]) -> None:
    with pytest.raises(ValueError, match="pass dim explicitly"):
        layer()


# ----------------------------------------------------------------------------- losses


def _bce_inputs(shape: tuple[int, ...], seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    return rng.uniform(0.05, 0.95, shape), rng.uniform(0.0, 1.0, shape)


def _kl_inputs(shape: tuple[int, ...], seed: int, zeros: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Log-probabilities (the model) and probabilities (the target, some exactly 0) over the last dim."""
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal(shape)
    logp = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    t = np.exp(rng.standard_normal(shape))
    if zeros:
        t[..., 0] = 0.0
    return logp, t / t.sum(-1, keepdims=True)


LOSS_CASES: dict[str, tuple[Callable[..., Any], str, Callable[[], list[np.ndarray]], dict[str, Any]]] = {
    "l1": (F.l1_loss, "l1_loss", lambda: [_randn((4, 5), 5), _randn((4, 5), 6)], {}),
    "smooth_l1": (F.smooth_l1_loss, "smooth_l1_loss", lambda: [_randn((4, 5), 5), _randn((4, 5), 6)], {}),
    "smooth_l1_beta": (
        F.smooth_l1_loss, "smooth_l1_loss", lambda: [_randn((4, 5), 5), _randn((4, 5), 6)], {"beta": 0.4},
    ),
    "smooth_l1_beta_0": (
        F.smooth_l1_loss, "smooth_l1_loss", lambda: [_randn((4, 5), 5), _randn((4, 5), 6)], {"beta": 0.0},
    ),
    "bce": (F.binary_cross_entropy, "binary_cross_entropy", lambda: list(_bce_inputs((4, 5), 7)), {}),
    "bce_weight": (
        F.binary_cross_entropy, "binary_cross_entropy",
        lambda: [*_bce_inputs((4, 5), 8), np.random.default_rng(9).uniform(0.5, 2.0, (5,))], {},
    ),
    "kl_div": (F.kl_div, "kl_div", lambda: list(_kl_inputs((4, 5), 10, zeros=False)), {}),
    "kl_div_zero_targets": (F.kl_div, "kl_div", lambda: list(_kl_inputs((4, 5), 10)), {}),
    "kl_div_log_target": (
        F.kl_div, "kl_div", lambda: [_kl_inputs((4, 5), 11)[0], _kl_inputs((4, 5), 12)[0]], {"log_target": True},
    ),
    "kl_div_3d": (F.kl_div, "kl_div", lambda: list(_kl_inputs((2, 3, 4), 13, zeros=False)), {}),
}  # fmt: skip


def _loss_call(fn: Callable[..., Any], arrays: list[Any], reduction: str, kw: dict[str, Any]) -> Any:
    if len(arrays) == 3:  # input, target, weight
        return fn(arrays[0], arrays[1], weight=arrays[2], reduction=reduction, **kw)
    return fn(arrays[0], arrays[1], reduction=reduction, **kw)


def _reductions(name: str) -> list[str]:
    return ["mean", "sum", "none"] + (["batchmean"] if name.startswith("kl_div") else [])


LOSS_REDUCTIONS = [(name, r) for name in LOSS_CASES for r in _reductions(name)]


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")  # torch's note on kl_div
@pytest.mark.parametrize(("name", "reduction"), LOSS_REDUCTIONS)
def test_loss_matches_torch_on_values_and_input_gradients(torch, name: str, reduction: str, device: str) -> None:
    fn, torch_name, make, kw = LOSS_CASES[name]
    arrays = make()
    theirs = getattr(torch.nn.functional, torch_name)
    grad = [True, True, False][: len(arrays)]  # input and target; the weight is a constant
    if name == "kl_div_zero_targets":  # d/dt of t log t at t = 0 is -inf (torch: NaN); check the input's
        grad = [True, False]
    _compare(
        torch, lambda *a: _loss_call(fn, list(a), reduction, kw), lambda *a: _loss_call(theirs, list(a), reduction, kw),
        arrays, grad=grad, device=device,
    )  # fmt: skip


@pytest.mark.parametrize("name", list(LOSS_CASES))
def test_loss_passes_gradcheck_in_input_and_target(name: str) -> None:
    fn, _, make, kw = LOSS_CASES[name]
    arrays = make()
    grad = [True, True, False][: len(arrays)]
    if name == "kl_div_zero_targets":
        grad = [True, False]
    _gradcheck(lambda *a: _loss_call(fn, list(a), "sum", kw), arrays, grad=grad)


@pytest.mark.parametrize(("name", "beta"), [("l1_loss", None), ("smooth_l1_loss", 1.0), ("smooth_l1_loss", 1.5)])
def test_l1_losses_at_their_kinks_have_torchs_subgradient(torch, name: str, beta: float | None) -> None:
    """At d = 0 |d| has slope 0 (both libraries); at |d| = beta the pieces of smooth L1 meet."""
    x, y = np.array([1.0, -2.0, 0.5, 1.5, -1.5]), np.array([1.0, 0.0, 2.0, 0.0, 0.0])
    kw = {} if beta is None else {"beta": beta}
    ours, theirs = getattr(F, name), getattr(torch.nn.functional, name)
    _compare(
        torch, lambda a, b: ours(a, b, reduction="sum", **kw), lambda a, b: theirs(a, b, reduction="sum", **kw), [x, y]
    )


@pytest.mark.parametrize("reduction", ["none", "sum", "mean"])
def test_binary_cross_entropy_at_probabilities_0_and_1_matches_torch(torch, reduction: str) -> None:
    """log is clamped at -100 (a loss of 100, not inf), and the gradient is PyTorch's finite
    (p - y) / max(p (1 - p), 1e-12) — 0 where p = y, +-1e12 where the answer is certain and wrong."""
    p = np.array([0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1e-50])
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.3, 1.0])
    _compare(
        torch, lambda a, b: F.binary_cross_entropy(a, b, reduction=reduction),
        lambda a, b: torch.nn.functional.binary_cross_entropy(a, b, reduction=reduction),
        [p, y], grad=[True, False], rtol=1e-12, atol=0,
    )  # fmt: skip
    losses = F.binary_cross_entropy(tl.tensor(p), tl.tensor(y), reduction="none").numpy()
    assert losses[1] == 100.0 and losses[2] == 100.0  # the clamp, from the formula: -log(0) -> 100


def test_binary_cross_entropy_refuses_values_outside_0_1_and_shape_mismatch() -> None:
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(tl.tensor([0.5, 1.5]), tl.tensor([1.0, 0.0]))
    with pytest.raises(ValueError, match=r"probabilities in \[0, 1\]"):
        F.binary_cross_entropy(tl.tensor([float("nan")]), tl.tensor([1.0]))
    with pytest.raises(ValueError, match=r"input shape \(2,\) and target shape \(1,\) differ"):
        F.binary_cross_entropy(tl.tensor([0.5, 0.5]), tl.tensor([1.0]))


def test_kl_div_of_zero_targets_is_zero_and_of_a_0d_input_batchmean_is_the_sum(torch) -> None:
    logp = tl.tensor([-1.0, -2.0], requires_grad=True)
    loss = F.kl_div(logp, tl.tensor([0.0, 0.0]), reduction="sum")
    loss.backward()
    assert loss.item() == 0.0
    np.testing.assert_array_equal(logp.grad.numpy(), [0.0, 0.0])
    ours = F.kl_div(tl.tensor(-1.0), tl.tensor(0.5), reduction="batchmean").item()
    theirs = torch.nn.functional.kl_div(torch.tensor(-1.0), torch.tensor(0.5), reduction="batchmean").item()
    assert ours == pytest.approx(theirs, rel=1e-6)


def test_kl_div_batchmean_is_the_mean_kl_divergence_per_sample() -> None:
    logq, p = _kl_inputs((3, 4), 14, zeros=False)
    expected = np.mean([np.sum(p[i] * (np.log(p[i]) - logq[i])) for i in range(3)])
    assert F.kl_div(tl.tensor(logq), tl.tensor(p), reduction="batchmean").item() == pytest.approx(expected, rel=1e-12)


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: F.smooth_l1_loss(tl.ones(2), tl.ones(2), beta=-1.0), ValueError, "beta must be >= 0"),
        (lambda: F.l1_loss(tl.ones(2), tl.ones(3)), ValueError, r"shape \(2,\) and target shape \(3,\)"),
        (lambda: F.l1_loss(tl.ones(2), tl.ones(2), reduction="avg"), ValueError, "reduction must be one of"),
        (lambda: F.kl_div(tl.ones(2), tl.ones(2), reduction="batch"), ValueError, "batchmean"),
        (lambda: F.kl_div(tl.ones(2), tl.ones(1)), ValueError, "differ"),
    ],
)
def test_losses_refuse_bad_arguments_naming_the_problem(call: Callable[[], Any], error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        call()


LOSS_MODULES: dict[str, tuple[Callable[[], nn.Module], Callable[[Any], Any], Callable[[], list[np.ndarray]]]] = {
    "l1": (lambda: nn.L1Loss(), lambda t: t.nn.L1Loss(), LOSS_CASES["l1"][2]),
    "l1_sum": (lambda: nn.L1Loss(reduction="sum"), lambda t: t.nn.L1Loss(reduction="sum"), LOSS_CASES["l1"][2]),
    "smooth_l1": (lambda: nn.SmoothL1Loss(beta=0.3), lambda t: t.nn.SmoothL1Loss(beta=0.3), LOSS_CASES["l1"][2]),
    "bce": (lambda: nn.BCELoss(reduction="none"), lambda t: t.nn.BCELoss(reduction="none"), LOSS_CASES["bce"][2]),
    "kl": (lambda: nn.KLDivLoss(), lambda t: t.nn.KLDivLoss(), LOSS_CASES["kl_div"][2]),
    "kl_batchmean_log_target": (
        lambda: nn.KLDivLoss(reduction="batchmean", log_target=True),
        lambda t: t.nn.KLDivLoss(reduction="batchmean", log_target=True),
        LOSS_CASES["kl_div_log_target"][2],
    ),
}


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")
@pytest.mark.parametrize("name", list(LOSS_MODULES))
def test_loss_module_matches_torch(torch, name: str) -> None:
    make, make_torch, arrays = LOSS_MODULES[name]
    _compare(torch, make(), make_torch(torch), arrays(), grad=[True, False])


def test_bce_loss_module_passes_its_weight() -> None:
    p, y = _bce_inputs((2, 3), 15)
    w = tl.tensor([1.0, 2.0, 0.0])
    ours = nn.BCELoss(weight=w, reduction="sum")(tl.tensor(p), tl.tensor(y)).item()
    expected = -np.sum(w.numpy() * (y * np.log(p) + (1 - y) * np.log(1 - p)))
    assert ours == pytest.approx(expected, rel=1e-12)


def test_loss_reprs_show_only_settings_that_differ_from_the_defaults(torch) -> None:
    for name in ("L1Loss", "BCELoss", "SmoothL1Loss", "KLDivLoss"):
        assert repr(getattr(nn, name)()) == repr(getattr(torch.nn, name)())
    assert repr(nn.SmoothL1Loss(reduction="sum", beta=0.5)) == "SmoothL1Loss(reduction='sum', beta=0.5)"
    assert repr(nn.KLDivLoss(log_target=True)) == "KLDivLoss(log_target=True)"


# ----------------------------------------------------------------------------- one_hot


@pytest.mark.parametrize(("ids", "num_classes"), [([0, 2, 1, 2], -1), ([[0, 3], [1, 1]], 5), (2, 4), ([], 3)])
def test_one_hot_matches_torch(torch, ids: Any, num_classes: int, device: str) -> None:
    ours = F.one_hot(tl.tensor(np.array(ids, dtype=np.int64), device=device), num_classes)
    theirs = torch.nn.functional.one_hot(torch.tensor(np.array(ids, dtype=np.int64)), num_classes)
    assert ours.dtype == tl.int64
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


@pytest.mark.parametrize(
    ("ids", "num_classes", "error", "match"),
    [
        ([0, -1], 3, ValueError, "non-negative"),
        ([0, 3], 3, ValueError, "class id 3 is out of range for num_classes=3"),
        ([0, 1], 0, ValueError, "out of range"),
        (np.array([], dtype=np.int64), -1, ValueError, "empty tensor"),
        (np.array([0.0, 1.0]), 3, TypeError, "int64"),
        (np.array([0, 1], dtype=np.int32), 3, TypeError, "int64"),
    ],
)
def test_one_hot_refuses_what_torch_refuses(torch, ids: Any, num_classes: int, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        F.one_hot(tl.tensor(np.asarray(ids if isinstance(ids, np.ndarray) else np.array(ids))), num_classes)
    with pytest.raises(RuntimeError):  # torch refuses the same input
        torch.nn.functional.one_hot(torch.tensor(np.asarray(ids)), num_classes)


# ----------------------------------------------------------------------------- pad

PADS = [(1, 2), (0, 0), (2, 0, 1, 1), (1, 1, 1, 1, 1, 1), (-1, 2), (-1, -1, 2, -1), (0, -3), (-2, 1, 0, 0, 1, 0)]


@pytest.mark.parametrize("pad", PADS)
def test_pad_matches_torch_on_values_and_gradients(torch, pad: tuple[int, ...], device: str) -> None:
    x = _randn((2, 3, 4), seed=16)
    _compare(
        torch, lambda a: F.pad(a, pad, value=1.5), lambda a: torch.nn.functional.pad(a, pad, value=1.5), [x],
        device=device,
    )  # fmt: skip


def test_pad_passes_gradcheck() -> None:
    _gradcheck(lambda a: F.pad(a, (1, -1, 2, 0)), [_randn((3, 4), seed=17)])


def test_pad_fills_integer_tensors_with_the_value_cast_and_none_means_zero(torch) -> None:
    ours = F.pad(tl.arange(3), (1, 1), value=2.5)
    assert ours.dtype == tl.int64
    np.testing.assert_array_equal(ours.numpy(), torch.nn.functional.pad(torch.arange(3), (1, 1), value=2.5).numpy())
    np.testing.assert_array_equal(F.pad(tl.ones(2), [1, 0], value=None).numpy(), [0.0, 1.0, 1.0])


@pytest.mark.parametrize(
    ("pad", "mode", "error", "match"),
    [
        ((1,), "constant", ValueError, "pairs"),
        ((1, 1, 1, 1, 1, 1), "constant", ValueError, "at most one per dim"),
        ((-4, 2), "constant", ValueError, "negative size"),
        ((1, 1), "reflect", NotImplementedError, "'reflect' is not implemented"),
        ((1, 1), "replicate", NotImplementedError, "'replicate' is not implemented"),
        ((1, 1), "mirror", NotImplementedError, "unknown padding mode"),
    ],
)
def test_pad_refuses_bad_arguments(pad: tuple[int, ...], mode: str, error: type, match: str) -> None:
    with pytest.raises(error, match=match):
        F.pad(tl.ones(2, 3), pad, mode=mode)


# ----------------------------------------------------------------------------- normalize, cosine_similarity


@pytest.mark.parametrize(("p", "dim"), [(2.0, 1), (1.0, 1), (3.0, 0), (math.inf, -1), (2.0, -1)])
def test_normalize_matches_torch(torch, p: float, dim: int, device: str) -> None:
    x = _randn((3, 4, 5), seed=18)
    _compare(
        torch, lambda a: F.normalize(a, p=p, dim=dim), lambda a: torch.nn.functional.normalize(a, p=p, dim=dim), [x],
        device=device,
    )  # fmt: skip


def test_normalize_keeps_a_zero_vector_zero_with_torchs_gradient(torch) -> None:
    """Below eps the norm is the constant eps: the output is x / eps = 0 and its gradient 1 / eps."""
    x = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [1e-13, 0.0, -1e-13]])
    _compare(torch, F.normalize, torch.nn.functional.normalize, [x], rtol=1e-10, atol=0)


@pytest.mark.parametrize("p", [2.0, 1.0, 3.0])
def test_normalize_passes_gradcheck_and_gives_unit_norms(p: float) -> None:
    x = _randn((3, 4), seed=19)
    _gradcheck(lambda a: F.normalize(a, p=p, dim=1), [x])
    y = F.normalize(tl.tensor(x), p=p, dim=1).numpy()
    np.testing.assert_allclose((np.abs(y) ** p).sum(1) ** (1 / p), 1.0, atol=1e-14)


@pytest.mark.parametrize(
    ("s1", "s2", "dim"), [((4, 5), (4, 5), 1), ((2, 3, 4), (3, 1), 1), ((3, 4), (4,), -1), ((5, 3), (5, 3), 0)]
)
def test_cosine_similarity_matches_torch(torch, s1: tuple, s2: tuple, dim: int, device: str) -> None:
    x1, x2 = _randn(s1, seed=20), _randn(s2, seed=21)
    _compare(
        torch, lambda a, b: F.cosine_similarity(a, b, dim=dim),
        lambda a, b: torch.nn.functional.cosine_similarity(a, b, dim=dim), [x1, x2], device=device,
    )  # fmt: skip


def test_cosine_similarity_of_a_zero_vector_is_zero_with_torchs_gradients(torch) -> None:
    """(For 0 < ||x|| < eps the gradients differ by a relative ||x|| / eps: see the docstring.)"""
    x1 = np.array([[0.0, 0.0, 0.0], [1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    x2 = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]])
    _compare(
        torch, lambda a, b: F.cosine_similarity(a, b, eps=1e-3),
        lambda a, b: torch.nn.functional.cosine_similarity(a, b, eps=1e-3), [x1, x2], rtol=1e-10, atol=1e-20,
    )  # fmt: skip


def test_cosine_similarity_passes_gradcheck_and_is_1_for_parallel_vectors() -> None:
    x1, x2 = _randn((3, 4), seed=22), _randn((3, 4), seed=23)
    _gradcheck(F.cosine_similarity, [x1, x2])
    same = F.cosine_similarity(tl.tensor(x1), tl.tensor(2.5 * x1)).numpy()
    np.testing.assert_allclose(same, 1.0, atol=1e-15)


def test_distance_functions_refuse_bad_arguments() -> None:
    with pytest.raises(ValueError, match="do not broadcast"):
        F.cosine_similarity(tl.ones(2, 3), tl.ones(4, 3))
    with pytest.raises(ValueError, match="p must be positive"):
        F.normalize(tl.ones(2, 3), p=0)
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        F.normalize(tl.ones(2, 3), dim=2)


# ----------------------------------------------------------------------------- init


def _filled(fill: Callable[[tl.Tensor], Any], *shape: int) -> np.ndarray:
    t = tl.zeros(*shape, dtype=tl.float64)
    assert fill(t) is t
    return t.numpy().reshape(-1)


def _assert_normal_moments(w: np.ndarray, mean: float, std: float) -> None:
    """Sample mean within 6 standard errors, sample std within 6 of its (normal) standard errors."""
    n = w.size
    assert abs(w.mean() - mean) < 6 * std / math.sqrt(n)
    assert abs(w.std() / std - 1) < 6 / math.sqrt(2 * n)


def test_xavier_normal_has_std_gain_sqrt_2_over_fans() -> None:
    w = _filled(lambda t: init.xavier_normal_(t, gain=1.7), 300, 500)
    _assert_normal_moments(w, 0.0, 1.7 * math.sqrt(2.0 / 800))


# a weight of shape (400, 67, 3): fan_in = 67 * 3 = 201, fan_out = 400 * 3 = 1200
@pytest.mark.parametrize(
    ("kw", "gain", "fan"),
    [
        ({}, math.sqrt(2.0), 201),  # leaky_relu with a = 0: the relu gain
        ({"a": 0.2}, math.sqrt(2.0 / 1.04), 201),
        ({"mode": "fan_out", "nonlinearity": "relu"}, math.sqrt(2.0), 1200),
        ({"nonlinearity": "tanh"}, 5.0 / 3, 201),
        ({"mode": "fan_out", "nonlinearity": "linear"}, 1.0, 1200),
    ],
)
def test_kaiming_normal_has_std_gain_over_sqrt_fan(kw: dict[str, Any], gain: float, fan: int) -> None:
    w = _filled(lambda t: init.kaiming_normal_(t, **kw), 400, 67, 3)
    _assert_normal_moments(w, 0.0, gain / math.sqrt(fan))


def _truncated_moments(mean: float, std: float, a: float, b: float) -> tuple[float, float]:
    """Mean and std of N(mean, std^2) conditioned on [a, b], from the standard formulas."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    pdf = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))  # noqa: E731
    mass = cdf(beta) - cdf(alpha)
    m = (pdf(alpha) - pdf(beta)) / mass
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / mass - m * m
    return mean + std * m, std * math.sqrt(var)


@pytest.mark.parametrize(("mean", "std", "a", "b"), [(0.0, 1.0, -2.0, 2.0), (1.0, 0.5, 0.0, 3.0), (0.0, 2.0, 1.0, 5.0)])
def test_trunc_normal_stays_in_range_with_the_truncated_moments(mean: float, std: float, a: float, b: float) -> None:
    w = _filled(lambda t: init.trunc_normal_(t, mean=mean, std=std, a=a, b=b), 400, 500)
    assert w.min() >= a and w.max() <= b
    m, s = _truncated_moments(mean, std, a, b)
    n = w.size
    mass = 0.5 * (math.erf((b - mean) / std / math.sqrt(2)) - math.erf((a - mean) / std / math.sqrt(2)))
    for end, gap in ((a, w.min() - a), (b, b - w.max())):  # it reaches each end the density reaches
        z = (end - mean) / std
        if n * math.exp(-z * z / 2) / math.sqrt(2 * math.pi) * 0.01 / mass > 20:  # expected draws within 0.01 std
            assert gap < 0.01 * std
    assert abs(w.mean() - m) < 6 * s / math.sqrt(n)
    assert abs(w.std() / s - 1) < 0.01


def test_trunc_normal_float32_stays_in_range_and_repeats_with_the_seed() -> None:
    tl.manual_seed(3)
    w1 = init.trunc_normal_(tl.zeros(100, 100), std=0.02, a=-0.04, b=0.04).numpy()
    tl.manual_seed(3)
    w2 = init.trunc_normal_(tl.zeros(100, 100), std=0.02, a=-0.04, b=0.04).numpy()
    assert w1.dtype == np.float32
    assert w1.min() >= -0.04 and w1.max() <= 0.04
    np.testing.assert_array_equal(w1, w2)


def test_trunc_normal_refuses_an_empty_or_hopeless_interval() -> None:
    with pytest.raises(ValueError, match="a < b"):
        init.trunc_normal_(tl.zeros(3), a=1.0, b=1.0)
    with pytest.raises(ValueError, match="holds only"):
        init.trunc_normal_(tl.zeros(3), a=10.0, b=11.0)


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (8, 2, 3, 2)])
def test_orthogonal_gives_orthonormal_rows_or_columns_times_gain(shape: tuple[int, ...]) -> None:
    t = init.orthogonal_(tl.zeros(*shape, dtype=tl.float64), gain=2.0)
    q = t.numpy().reshape(shape[0], -1) / 2.0
    rows, cols = q.shape
    gram = q @ q.T if rows <= cols else q.T @ q  # the smaller Gram matrix is the identity
    np.testing.assert_allclose(gram, np.eye(min(rows, cols)), atol=1e-12)


def test_orthogonal_matrices_are_spread_over_all_orthogonal_matrices() -> None:
    """With the sign correction Q is Haar-distributed: every entry of a random n x n orthogonal
    matrix has mean 0 and variance 1/n (without it, the diagonal would lean positive)."""
    n, draws = 4, 2000
    qs = np.stack([init.orthogonal_(tl.zeros(n, n, dtype=tl.float64)).numpy() for _ in range(draws)])
    assert np.abs(qs.mean(0)).max() < 6 * math.sqrt(1 / n / draws)
    np.testing.assert_allclose(qs.var(0), 1 / n, rtol=0.15)


def test_orthogonal_refuses_a_vector() -> None:
    with pytest.raises(ValueError, match="2 or more dims"):
        init.orthogonal_(tl.zeros(3))


NONLINEARITIES = [
    ("linear", None), ("conv1d", None), ("conv2d", None), ("conv3d", None), ("conv_transpose1d", None),
    ("conv_transpose2d", None), ("conv_transpose3d", None), ("sigmoid", None), ("tanh", None), ("relu", None),
    ("leaky_relu", None), ("leaky_relu", 0.2), ("leaky_relu", 1), ("selu", None),
]  # fmt: skip


@pytest.mark.parametrize(("nonlinearity", "param"), NONLINEARITIES)
def test_calculate_gain_equals_torchs(torch, nonlinearity: str, param: float | None) -> None:
    expected = torch.nn.init.calculate_gain(nonlinearity, param)
    assert init.calculate_gain(nonlinearity, param) == pytest.approx(expected, rel=1e-15)


@pytest.mark.parametrize(
    ("nonlinearity", "param", "match"),
    [("swish", None, "unsupported"), ("leaky_relu", "x", "not a number"), ("leaky_relu", True, "not a number")],
)
def test_calculate_gain_refuses_what_torch_refuses(torch, nonlinearity: str, param: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        init.calculate_gain(nonlinearity, param)
    with pytest.raises(ValueError):
        torch.nn.init.calculate_gain(nonlinearity, param)


def test_kaiming_normal_refuses_an_unknown_mode_and_skips_empty_tensors() -> None:
    with pytest.raises(ValueError, match="'fan_in' or 'fan_out'"):
        init.kaiming_normal_(tl.zeros(3, 3), mode="fan_avg")
    assert init.kaiming_normal_(tl.zeros(0, 3)).shape == (0, 3)
    with pytest.raises(ValueError, match="2 or more dims"):
        init.kaiming_normal_(tl.zeros(3))


# ----------------------------------------------------------------------------- parameters as a vector


def test_parameters_to_vector_matches_torch_and_round_trips(torch) -> None:
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2)).double()
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2)).double()
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters()):
            q.copy_(torch.tensor(p.detach().numpy()))
    vec = parameters_to_vector(ours.parameters())
    expected = torch.nn.utils.parameters_to_vector(theirs.parameters()).detach().numpy()
    np.testing.assert_array_equal(vec.detach().numpy(), expected)
    assert vec.shape == (3 * 4 + 4 + 4 * 2 + 2,)

    new = tl.tensor(np.arange(vec.shape[0], dtype=np.float64))
    vector_to_parameters(new, ours.parameters())
    torch.nn.utils.vector_to_parameters(torch.tensor(new.numpy()), theirs.parameters())
    for p, q in zip(ours.parameters(), theirs.parameters()):
        np.testing.assert_array_equal(p.detach().numpy(), q.detach().numpy())
    np.testing.assert_array_equal(parameters_to_vector(ours.parameters()).detach().numpy(), new.numpy())


def test_parameters_to_vector_sends_gradients_back_to_each_parameter() -> None:
    a, b = tl.tensor([[1.0, 2.0]], requires_grad=True), tl.tensor([3.0], requires_grad=True)
    (parameters_to_vector([a, b]) * tl.tensor([10.0, 20.0, 30.0])).sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), [[10.0, 20.0]])
    np.testing.assert_array_equal(b.grad.numpy(), [30.0])


def test_vector_to_parameters_refuses_a_non_tensor_or_a_wrong_length() -> None:
    params = [tl.zeros(2), tl.zeros(3)]
    with pytest.raises(TypeError, match="expected a Tensor"):
        vector_to_parameters([1.0] * 5, params)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="vec has 4 elements but the parameters hold 5"):
        vector_to_parameters(tl.zeros(4), params)
    with pytest.raises(ValueError, match="no parameters"):
        parameters_to_vector([])


# ----------------------------------------------------------------------------- pad_sequence, pack_sequence


def _sequences(lengths: list[int], seed: int = 24) -> list[np.ndarray]:
    return [_randn((n, 3), seed=seed + i) for i, n in enumerate(lengths)]


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("padding_side", ["right", "left"])
def test_pad_sequence_matches_torch(torch, batch_first: bool, padding_side: str, device: str) -> None:
    seqs = _sequences([2, 4, 1, 0])
    kw = {"batch_first": batch_first, "padding_value": -1.5, "padding_side": padding_side}
    _compare(
        torch, lambda *s: pad_sequence(list(s), **kw), lambda *s: torch.nn.utils.rnn.pad_sequence(list(s), **kw),
        seqs, device=device,
    )  # fmt: skip


def test_pad_sequence_passes_gradcheck() -> None:
    _gradcheck(lambda *s: pad_sequence(list(s), batch_first=True, padding_side="left"), _sequences([3, 1, 2]))


@pytest.mark.parametrize("lengths", [[4, 2, 2, 1], [1, 4, 2, 3]])
def test_pack_sequence_matches_torch(torch, lengths: list[int]) -> None:
    seqs = _sequences(lengths)
    enforce_sorted = lengths == sorted(lengths, reverse=True)
    ours = pack_sequence([tl.tensor(s, requires_grad=True) for s in seqs], enforce_sorted=enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_sequence([torch.tensor(s) for s in seqs], enforce_sorted=enforce_sorted)
    np.testing.assert_array_equal(ours.data.detach().numpy(), theirs.data.numpy())
    np.testing.assert_array_equal(ours.batch_sizes.numpy(), theirs.batch_sizes.numpy())
    for mine, other in ((ours.sorted_indices, theirs.sorted_indices), (ours.unsorted_indices, theirs.unsorted_indices)):
        assert (mine is None) == (other is None)
        if mine is not None:
            np.testing.assert_array_equal(mine.numpy(), other.numpy())


def test_pack_sequence_refuses_an_unsorted_batch_unless_asked_to_sort() -> None:
    seqs = [tl.ones(1, 2), tl.ones(3, 2)]
    with pytest.raises(ValueError, match="enforce_sorted=False"):
        pack_sequence(seqs)
    assert pack_sequence(seqs, enforce_sorted=False).batch_sizes.numpy().tolist() == [2, 1, 1]


@pytest.mark.parametrize(
    ("seqs", "kw", "match"),
    [
        ([], {}, "empty list"),
        ([tl.ones(2, 3), tl.ones(1, 2)], {}, "trailing dims"),
        ([tl.ones(2, 3)], {"padding_side": "up"}, "'left' or 'right'"),
        ([tl.tensor(1.0), tl.tensor(2.0)], {}, "trailing dims"),
    ],
)
def test_pad_sequence_refuses_bad_input(seqs: list[tl.Tensor], kw: dict[str, Any], match: str) -> None:
    with pytest.raises(ValueError, match=match):
        pad_sequence(seqs, **kw)
