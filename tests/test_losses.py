"""The losses (cross_entropy fused and composed, nll_loss, mse_loss,
binary_cross_entropy_with_logits) and their modules, against PyTorch in float64."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import nn
from tinyllm.nn import functional as F

ATOL = 1e-10  # float64 parity with PyTorch (reached: below 1e-14)
REDUCTIONS = ["mean", "sum", "none"]
C = 4  # classes


# ----------------------------------------------------------------------------- cross-entropy cases


def _probs(rng: np.random.Generator, shape: tuple[int, ...], axis: int) -> np.ndarray:
    e = np.exp(rng.standard_normal(shape))
    return e / e.sum(axis=axis, keepdims=True)


def _ce_case(name: str) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Logits, targets and the options of one cross-entropy case (weights as NumPy)."""
    rng = np.random.default_rng(0)
    weight = rng.uniform(0.2, 2.0, C)
    x = rng.standard_normal((6, C))
    ids = rng.integers(0, C, 6)
    x4 = rng.standard_normal((3, C, 2, 3))
    ids4 = rng.integers(0, C, (3, 2, 3))
    ignored = ids.copy()
    ignored[[1, 4]] = -100
    ignored4 = ids4.copy()
    ignored4[0, 1, :2] = 7
    ignored4[2, 0, 0] = 7
    cases: dict[str, tuple[np.ndarray, np.ndarray, dict[str, Any]]] = {
        "ids": (x, ids, {}),
        "ids_4d": (x4, ids4, {}),
        "unbatched_id": (x[0], np.array(2), {}),
        "unbatched_probs": (x[0], _probs(rng, (C,), 0), {}),
        "probs": (x, _probs(rng, (6, C), 1), {}),
        "probs_4d": (x4, _probs(rng, x4.shape, 1), {}),
        "weight": (x, ids, {"weight": weight}),
        "ignore_index": (x, ignored, {}),
        "ignore_a_valid_class": (x, np.array([1, 0, 1, 3, 2, 1]), {"ignore_index": 1}),
        "label_smoothing": (x, ids, {"label_smoothing": 0.2}),
        "probs_weight_smoothing": (x4, _probs(rng, x4.shape, 1), {"weight": weight, "label_smoothing": 0.3}),
        "all_options": (x, ignored, {"weight": weight, "label_smoothing": 0.15, "ignore_index": -100}),
        "all_options_4d": (x4, ignored4, {"weight": weight, "label_smoothing": 0.25, "ignore_index": 7}),
    }
    return cases[name]


CE_CASES = [
    "ids", "ids_4d", "unbatched_id", "unbatched_probs", "probs", "probs_4d", "weight", "ignore_index",
    "ignore_a_valid_class", "label_smoothing", "probs_weight_smoothing", "all_options", "all_options_4d",
]  # fmt: skip


def _ours_ce(
    x: np.ndarray, t: np.ndarray, kw: dict[str, Any], reduction: str, fused: bool, device: str = "cpu"
) -> tuple[np.ndarray, np.ndarray]:
    """tinyllm's loss and its gradient with respect to the logits."""
    kw = dict(kw)
    if "weight" in kw:
        kw["weight"] = tl.tensor(kw["weight"], device=device)
    xt = tl.tensor(x, requires_grad=True, device=device)
    loss = F.cross_entropy(xt, tl.tensor(t, device=device), reduction=reduction, fused=fused, **kw)
    _backward(loss, device)
    return loss.detach().numpy(), xt.grad.numpy()


def _torch_ce(
    torch, x: np.ndarray, t: np.ndarray, kw: dict[str, Any], reduction: str
) -> tuple[np.ndarray, np.ndarray]:
    kw = dict(kw)
    if "weight" in kw:
        kw["weight"] = torch.tensor(kw["weight"])
    xt = torch.tensor(x, requires_grad=True)
    loss = torch.nn.functional.cross_entropy(xt, torch.tensor(t), reduction=reduction, **kw)
    _torch_backward(torch, loss)
    return loss.detach().numpy(), xt.grad.numpy()


def _cotangent(shape: tuple[int, ...]) -> np.ndarray:
    """A fixed non-trivial upstream gradient, so reduction "none" checks every element's gradient."""
    return np.random.default_rng(99).uniform(0.5, 2.0, shape)


def _backward(loss: tl.Tensor, device: str = "cpu") -> None:
    (loss * tl.tensor(_cotangent(loss.shape), device=device)).sum().backward()


def _torch_backward(torch, loss: Any) -> None:
    (loss * torch.tensor(_cotangent(tuple(loss.shape)))).sum().backward()


# ----------------------------------------------------------------------------- cross-entropy


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_matches_torch(torch, case: str, reduction: str, fused: bool, device: str) -> None:
    x, t, kw = _ce_case(case)
    loss, grad = _ours_ce(x, t, kw, reduction, fused, device)
    t_loss, t_grad = _torch_ce(torch, x, t, kw, reduction)
    assert loss.shape == t_loss.shape
    np.testing.assert_allclose(loss, t_loss, rtol=0, atol=ATOL)
    np.testing.assert_allclose(grad, t_grad, rtol=0, atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_fused_equals_composed(case: str, reduction: str) -> None:
    x, t, kw = _ce_case(case)
    loss_f, grad_f = _ours_ce(x, t, kw, reduction, fused=True)
    loss_c, grad_c = _ours_ce(x, t, kw, reduction, fused=False)
    np.testing.assert_allclose(loss_f, loss_c, rtol=0, atol=1e-10)
    np.testing.assert_allclose(grad_f, grad_c, rtol=0, atol=1e-10)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("reduction", ["mean", "none"])
@pytest.mark.parametrize("case", CE_CASES)
def test_cross_entropy_passes_gradcheck(case: str, reduction: str, fused: bool, device: str) -> None:
    x, t, kw = _ce_case(case)
    kw = dict(kw)
    if "weight" in kw:
        kw["weight"] = tl.tensor(kw["weight"], device=device)
    target = tl.tensor(t, device=device)
    report = tl.gradcheck(
        lambda z: F.cross_entropy(z, target, reduction=reduction, fused=fused, **kw),
        [tl.tensor(x, requires_grad=True, device=device)],
        atol=1e-8,
        rtol=1e-6,
    )
    assert report.passed


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize(
    "kw", [{}, {"label_smoothing": 0.1, "weight": np.array([1.0, 2.0, 0.5, 1.5])}], ids=["plain", "smoothed"]
)
def test_cross_entropy_is_stable_for_huge_logits(torch, fused: bool, kw: dict[str, Any]) -> None:
    x = np.array(
        [[1e4, -1e4, 0.0, 5e3], [-1e4, 1e4, 1e4, -1e4], [1e4, 1e4, 1e4, 1e4], [-1e4, -1e4, -1e4, 1e4]]
    )
    t = np.array([1, 0, 3, 3])
    for reduction in REDUCTIONS:
        loss, grad = _ours_ce(x, t, kw, reduction, fused)
        t_loss, t_grad = _torch_ce(torch, x, t, kw, reduction)
        assert np.isfinite(loss).all() and np.isfinite(grad).all()
        np.testing.assert_allclose(loss, t_loss, rtol=1e-14, atol=ATOL)
        np.testing.assert_allclose(grad, t_grad, rtol=0, atol=ATOL)


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_cross_entropy_is_finite_for_huge_float32_logits(fused: bool) -> None:
    x = tl.tensor(np.array([[3e4, -3e4, 0.0], [-3e4, 3e4, 3e4]], dtype=np.float32), requires_grad=True)
    loss = F.cross_entropy(x, tl.tensor([1, 0]), fused=fused)
    loss.backward()
    np.testing.assert_allclose(loss.item(), (6e4 + 6e4 + np.log(2)) / 2, rtol=1e-6)  # logsumexp - x[target]
    assert np.isfinite(x.grad.numpy()).all()


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("bad", [C, C + 3, -1])
def test_cross_entropy_target_out_of_range_raises_index_error(fused: bool, bad: int) -> None:
    x = tl.randn(3, C)
    with pytest.raises(IndexError, match=rf"target {bad}\b.* {C} classes"):
        F.cross_entropy(x, tl.tensor([0, bad, 1]), fused=fused)
    with pytest.raises(IndexError, match=rf"target {bad}\b.* {C} classes"):
        F.cross_entropy(tl.randn(2, C, 3), tl.tensor([[0, 1, 2], [3, bad, 0]]), fused=fused)


def test_cross_entropy_ignore_index_is_not_out_of_range() -> None:
    loss = F.cross_entropy(tl.randn(3, C, dtype=tl.float64), tl.tensor([0, -100, 1]))
    assert np.isfinite(loss.item())


@pytest.mark.parametrize(
    "fn, args",
    [
        (F.cross_entropy, lambda: (tl.randn(3, C), tl.tensor([0, 1, 2]))),
        (F.nll_loss, lambda: (tl.randn(3, C), tl.tensor([0, 1, 2]))),
        (F.mse_loss, lambda: (tl.randn(3), tl.randn(3))),
        (F.binary_cross_entropy_with_logits, lambda: (tl.randn(3), tl.rand(3))),
    ],
    ids=["cross_entropy", "nll_loss", "mse_loss", "bce_with_logits"],
)
def test_bad_reduction_raises_value_error(fn: Any, args: Any) -> None:
    with pytest.raises(ValueError, match="reduction.*'average'"):
        fn(*args(), reduction="average")


def test_cross_entropy_loss_module_equals_the_function_and_torch(torch) -> None:
    x, t, kw = _ce_case("all_options_4d")
    weight = kw["weight"]
    for reduction in REDUCTIONS:
        criterion = nn.CrossEntropyLoss(
            tl.tensor(weight), ignore_index=7, reduction=reduction, label_smoothing=0.25
        )
        xt = tl.tensor(x, requires_grad=True)
        loss = criterion(xt, tl.tensor(t))
        _backward(loss)
        f_loss, f_grad = _ours_ce(x, t, kw, reduction, fused=True)
        np.testing.assert_array_equal(loss.detach().numpy(), f_loss)
        np.testing.assert_array_equal(xt.grad.numpy(), f_grad)
        t_crit = torch.nn.CrossEntropyLoss(
            torch.tensor(weight), ignore_index=7, reduction=reduction, label_smoothing=0.25
        )
        np.testing.assert_allclose(
            loss.detach().numpy(), t_crit(torch.tensor(x), torch.tensor(t)).numpy(), atol=ATOL
        )
    composed = nn.CrossEntropyLoss(tl.tensor(weight), ignore_index=7, label_smoothing=0.25, fused=False)
    c_loss, _ = _ours_ce(x, t, kw, "mean", fused=False)
    np.testing.assert_array_equal(composed(tl.tensor(x), tl.tensor(t)).numpy(), c_loss)


# ----------------------------------------------------------------------------- nll_loss


NLL_CASES = {
    "2d": ((6, C), (6,), {}),
    "3d": ((3, C, 5), (3, 5), {}),
    "unbatched": ((C,), (), {}),
    "weight": ((6, C), (6,), {"weight": True}),
    "ignore_weight_3d": ((3, C, 5), (3, 5), {"weight": True, "ignore_index": 2}),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(NLL_CASES))
def test_nll_loss_and_module_match_torch(torch, case: str, reduction: str) -> None:
    x_shape, t_shape, opts = NLL_CASES[case]
    rng = np.random.default_rng(11)
    x = rng.standard_normal(x_shape)
    t = rng.integers(0, C, t_shape)
    w = rng.uniform(0.2, 2.0, C)
    ignore = opts.get("ignore_index", -100)
    ours_w = tl.tensor(w) if opts.get("weight") else None
    theirs_w = torch.tensor(w) if opts.get("weight") else None

    xt = tl.tensor(x, requires_grad=True)
    loss = F.nll_loss(xt, tl.tensor(t), ours_w, ignore_index=ignore, reduction=reduction)
    _backward(loss)
    t_x = torch.tensor(x, requires_grad=True)
    t_loss = torch.nn.functional.nll_loss(
        t_x, torch.tensor(t), theirs_w, ignore_index=ignore, reduction=reduction
    )
    _torch_backward(torch, t_loss)
    np.testing.assert_allclose(loss.detach().numpy(), t_loss.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(xt.grad.numpy(), t_x.grad.numpy(), rtol=0, atol=ATOL)

    module = nn.NLLLoss(ours_w, ignore_index=ignore, reduction=reduction)(tl.tensor(x), tl.tensor(t))
    t_module = torch.nn.NLLLoss(theirs_w, ignore_index=ignore, reduction=reduction)(
        torch.tensor(x), torch.tensor(t)
    )
    np.testing.assert_allclose(module.numpy(), t_module.numpy(), rtol=0, atol=ATOL)


def test_nll_of_log_softmax_equals_cross_entropy() -> None:
    x, t, _ = _ce_case("ids_4d")
    nll = F.nll_loss(tl.log_softmax(tl.tensor(x), 1), tl.tensor(t))
    np.testing.assert_allclose(nll.item(), _ours_ce(x, t, {}, "mean", fused=True)[0], rtol=0, atol=1e-14)


@pytest.mark.parametrize("bad", [C, -2])
def test_nll_loss_target_out_of_range_raises_index_error(bad: int) -> None:
    with pytest.raises(IndexError, match=rf"target {bad}\b.* {C} classes"):
        F.nll_loss(tl.randn(2, C), tl.tensor([bad, 0]))


# ----------------------------------------------------------------------------- mse_loss


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss_and_module_match_torch_with_gradients_for_both_arguments(torch, reduction: str, fused: bool) -> None:
    rng = np.random.default_rng(12)
    x, y = rng.standard_normal((3, 5)), rng.standard_normal((3, 5))
    xt, yt = tl.tensor(x, requires_grad=True), tl.tensor(y, requires_grad=True)
    loss = F.mse_loss(xt, yt, reduction=reduction, fused=fused)
    _backward(loss)
    t_x, t_y = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    t_loss = torch.nn.functional.mse_loss(t_x, t_y, reduction=reduction)
    _torch_backward(torch, t_loss)
    np.testing.assert_allclose(loss.detach().numpy(), t_loss.detach().numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(xt.grad.numpy(), t_x.grad.numpy(), rtol=0, atol=ATOL)
    np.testing.assert_allclose(yt.grad.numpy(), t_y.grad.numpy(), rtol=0, atol=ATOL)
    module = nn.MSELoss(reduction, fused=fused)(tl.tensor(x), y)  # a NumPy target works too
    t_module = torch.nn.MSELoss(reduction=reduction)(t_x, t_y)
    np.testing.assert_allclose(module.numpy(), t_module.detach().numpy(), rtol=0, atol=ATOL)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("target_grad", [True, False], ids=["target-grad", "target-fixed"])
def test_mse_loss_fused_equals_composed_on_values_and_both_gradients(reduction: str, target_grad: bool) -> None:
    rng = np.random.default_rng(13)
    x, y = rng.standard_normal((4, 3, 2)), rng.standard_normal((4, 3, 2))
    results = []
    for fused in (True, False):
        xt, yt = tl.tensor(x, requires_grad=True), tl.tensor(y, requires_grad=target_grad)
        loss = F.mse_loss(xt, yt, reduction=reduction, fused=fused)
        _backward(loss)
        results.append((loss.detach().numpy(), xt.grad.numpy(), None if yt.grad is None else yt.grad.numpy()))
    (loss_f, gx_f, gy_f), (loss_c, gx_c, gy_c) = results
    np.testing.assert_allclose(loss_f, loss_c, rtol=0, atol=1e-14)
    np.testing.assert_allclose(gx_f, gx_c, rtol=0, atol=1e-14)
    if target_grad:
        np.testing.assert_allclose(gy_f, gy_c, rtol=0, atol=1e-14)
        np.testing.assert_allclose(gy_f, -gx_f, rtol=0, atol=0)
    else:
        assert gy_f is None and gy_c is None


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_fused_mse_loss_passes_gradcheck_for_both_arguments(reduction: str, device: str) -> None:
    rng = np.random.default_rng(14)
    x, y = (tl.tensor(rng.standard_normal((3, 4)), requires_grad=True, device=device) for _ in range(2))
    report = tl.gradcheck(lambda a, b: F.mse_loss(a, b, reduction=reduction), [x, y], atol=1e-8, rtol=1e-6)
    assert report.passed


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
def test_mse_loss_refuses_integer_tensors_and_promotes_an_integer_target(fused: bool) -> None:
    with pytest.raises(TypeError, match="mse_loss: needs a floating-point tensor"):
        F.mse_loss(tl.tensor([1, 2]), tl.tensor([0, 2]), reduction="sum", fused=fused)
    loss = F.mse_loss(tl.tensor([1.5, 2.0]), tl.tensor([1, 2]), fused=fused)
    assert loss.dtype == tl.float32 and loss.item() == pytest.approx(0.125)


def test_mse_loss_shape_mismatch_raises() -> None:
    with pytest.raises(ValueError, match=r"\(3,\).*\(3, 1\)"):
        F.mse_loss(tl.randn(3), tl.randn(3, 1))


# ----------------------------------------------------------------------------- binary cross-entropy with logits


BCE_CASES = {
    "plain": {},
    "weight": {"weight": (3, 4)},
    "weight_broadcast": {"weight": (4,)},
    "pos_weight": {"pos_weight": (4,)},
    "weight_and_pos_weight": {"weight": (3, 4), "pos_weight": (4,)},
}


def _bce_logits(kind: str, rng: np.random.Generator) -> np.ndarray:
    if kind == "large":
        return np.array([[50.0, -50.0, 1e4, -1e4], [800.0, -800.0, 30.0, -30.0], [1e3, -1e3, 40.0, -40.0]])
    if kind == "zero":
        return np.zeros((3, 4))
    return rng.standard_normal((3, 4)) * 3


@pytest.mark.parametrize("logits", ["normal", "large", "zero"])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("case", list(BCE_CASES))
def test_bce_with_logits_and_module_match_torch(torch, case: str, reduction: str, logits: str) -> None:
    rng = np.random.default_rng(13)
    x = _bce_logits(logits, rng)
    y = np.array([[1.0, 0.0, 0.3, 1.0], [0.0, 1.0, 0.5, 0.0], [1.0, 1.0, 0.0, 0.9]])
    extras = {k: rng.uniform(0.2, 3.0, shape) for k, shape in BCE_CASES[case].items()}
    ours_kw = {k: tl.tensor(v) for k, v in extras.items()}
    theirs_kw = {k: torch.tensor(v) for k, v in extras.items()}

    xt = tl.tensor(x, requires_grad=True)
    loss = F.binary_cross_entropy_with_logits(xt, tl.tensor(y), reduction=reduction, **ours_kw)
    _backward(loss)
    t_x = torch.tensor(x, requires_grad=True)
    t_loss = torch.nn.functional.binary_cross_entropy_with_logits(
        t_x, torch.tensor(y), reduction=reduction, **theirs_kw
    )
    _torch_backward(torch, t_loss)
    assert np.isfinite(loss.detach().numpy()).all()
    np.testing.assert_allclose(loss.detach().numpy(), t_loss.detach().numpy(), rtol=1e-14, atol=ATOL)
    np.testing.assert_allclose(xt.grad.numpy(), t_x.grad.numpy(), rtol=0, atol=ATOL)

    module = nn.BCEWithLogitsLoss(reduction=reduction, **ours_kw)(tl.tensor(x), tl.tensor(y))
    t_module = torch.nn.BCEWithLogitsLoss(reduction=reduction, **theirs_kw)(torch.tensor(x), torch.tensor(y))
    np.testing.assert_allclose(module.numpy(), t_module.numpy(), rtol=1e-14, atol=ATOL)


def test_bce_with_logits_passes_gradcheck_including_zero_logits() -> None:
    x = tl.tensor(np.array([[-2.0, 0.0, 1.5], [0.0, 3.0, -0.7]]), requires_grad=True)
    y = tl.tensor(np.array([[1.0, 0.0, 0.4], [1.0, 0.2, 0.0]]))
    pw = tl.tensor(np.array([2.0, 0.5, 1.5]))
    report = tl.gradcheck(
        lambda z: F.binary_cross_entropy_with_logits(z, y, pos_weight=pw), [x], atol=1e-8, rtol=1e-6
    )
    assert report.passed
