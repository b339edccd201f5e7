"""Optimizers: PyTorch's update rules step for step, hand-derived steps, groups, state dicts, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyllm as tl

CONFIGS = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.1, "momentum": 0.9}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.05}),
    ("SGD", {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "maximize": True}),
    ("Adam", {"lr": 0.01}),
    ("Adam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1}),
    ("Adam", {"lr": 0.01, "maximize": True}),
    ("AdamW", {"lr": 0.01}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.1, "amsgrad": True}),
]


def _gradients(n: int, shape: tuple[int, ...], seed: int = 0) -> tuple[np.ndarray, list[np.ndarray]]:
    rng = np.random.default_rng(seed)
    return rng.standard_normal(shape), [rng.standard_normal(shape) for _ in range(n)]


@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_optimizer_follows_torch_for_100_steps(torch, name: str, options: dict) -> None:
    w0, grads = _gradients(100, (3, 4))
    p = tl.tensor(w0, requires_grad=True)
    q = torch.tensor(w0, requires_grad=True)
    ours, theirs = getattr(tl.optim, name)([p], **options), getattr(torch.optim, name)([q], **options)
    for g in grads:
        p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-10)


def test_adam_first_three_steps_match_the_formulas_by_hand() -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    p = tl.tensor(1.0, dtype=tl.float64, requires_grad=True)
    opt = tl.optim.Adam([p], lr=lr, betas=(b1, b2), eps=eps)
    w, m, v = 1.0, 0.0, 0.0
    for t, g in enumerate([0.5, -2.0, 3.0], start=1):
        p.grad = tl.tensor(g, dtype=tl.float64)
        opt.step()
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        w -= lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        assert p.item() == pytest.approx(w, rel=1e-14)
    # at step 1 Adam moves by about lr whatever the gradient's size: m_hat / sqrt(v_hat) = sign(g)
    q = tl.tensor(0.0, dtype=tl.float64, requires_grad=True)
    one = tl.optim.Adam([q], lr=lr)
    q.grad = tl.tensor(1234.5, dtype=tl.float64)
    one.step()
    assert q.item() == pytest.approx(-lr, rel=1e-9)


def test_sgd_with_momentum_matches_the_formulas_by_hand() -> None:
    p = tl.tensor([1.0, -1.0], dtype=tl.float64, requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.5, momentum=0.9)
    p.grad = tl.tensor([2.0, 4.0], dtype=tl.float64)
    opt.step()  # v = g; p = p - lr v
    np.testing.assert_allclose(p.data, [0.0, -3.0])
    p.grad = tl.tensor([1.0, 0.0], dtype=tl.float64)
    opt.step()  # v = 0.9 v + g = [2.8, 3.6]
    np.testing.assert_allclose(p.data, [-1.4, -4.8])


def test_parameter_groups_use_their_own_hyperparameters(torch) -> None:
    w0, grads = _gradients(20, (2, 3))
    b0, bgrads = _gradients(20, (3,), seed=1)
    ps = [tl.tensor(w0, requires_grad=True), tl.tensor(b0, requires_grad=True)]
    qs = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]

    def groups(a):
        return [{"params": [a[0]], "weight_decay": 0.1}, {"params": [a[1]], "lr": 0.05, "weight_decay": 0.0}]

    ours, theirs = tl.optim.AdamW(groups(ps), lr=0.01), torch.optim.AdamW(groups(qs), lr=0.01)
    assert ours.param_groups[1]["lr"] == 0.05 and ours.param_groups[0]["lr"] == 0.01
    for g, gb in zip(grads, bgrads):
        ps[0].grad, ps[1].grad = tl.tensor(g), tl.tensor(gb)
        qs[0].grad, qs[1].grad = torch.tensor(g), torch.tensor(gb)
        ours.step()
        theirs.step()
    for p, q in zip(ps, qs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), atol=1e-12)


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW"])
def test_state_dict_round_trip_continues_the_same_trajectory_bitwise(name: str, tmp_path) -> None:
    w0, grads = _gradients(100, (4,))
    options = {"lr": 0.05, "momentum": 0.9} if name == "SGD" else {"lr": 0.05, "amsgrad": True}

    p = tl.tensor(w0, requires_grad=True)
    straight = getattr(tl.optim, name)([p], **options)
    for g in grads:
        p.grad = tl.tensor(g)
        straight.step()

    q = tl.tensor(w0, requires_grad=True)
    first = getattr(tl.optim, name)([q], **options)
    for g in grads[:50]:
        q.grad = tl.tensor(g)
        first.step()
    tl.save({"param": q.detach(), "optimizer": first.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = tl.load(tmp_path / "ckpt.npz")
    r = tl.tensor(ckpt["param"].numpy(), requires_grad=True)
    second = getattr(tl.optim, name)([r], lr=123.0)  # the saved hyperparameters replace these
    second.load_state_dict(ckpt["optimizer"])
    for g in grads[50:]:
        r.grad = tl.tensor(g)
        second.step()
    assert np.array_equal(r.data, p.data)


def test_zero_grad_sets_none_or_zeros() -> None:
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.SGD([p], lr=0.1)
    (p * p).sum().backward()
    opt.zero_grad(set_to_none=False)
    np.testing.assert_array_equal(p.grad.numpy(), [0.0, 0.0])
    opt.zero_grad()
    assert p.grad is None


def test_step_skips_parameters_without_gradient_and_keeps_float32() -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0], requires_grad=True)
    opt = tl.optim.Adam([a, b], lr=0.1)
    a.grad = tl.tensor([1.0, 1.0])
    opt.step()
    assert b.item() == 3.0 and b not in opt.state
    assert a.dtype == tl.float32 and opt.state[a]["exp_avg"].dtype == np.float32


def test_a_step_invalidates_graphs_that_saved_the_parameter() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    w.grad = tl.tensor([1.0, 1.0])
    tl.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match="modified in place"):
        loss.backward()


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: tl.optim.SGD([p * 2], lr=0.1), ValueError, "not a leaf"),
        (lambda p: tl.optim.SGD([p], lr=-0.1), ValueError, "invalid learning rate"),
        (lambda p: tl.optim.Adam([p], betas=(0.9, 1.0)), ValueError, "beta parameter at index 1"),
        (lambda p: tl.optim.Adam([p], betas=(-0.1, 0.9)), ValueError, "beta parameter at index 0"),
        (lambda p: tl.optim.Adam([p], weight_decay=-1), ValueError, "weight_decay"),
        (lambda p: tl.optim.SGD([], lr=0.1), ValueError, "empty parameter list"),
        (lambda p: tl.optim.SGD(p, lr=0.1), TypeError, "not a single tensor"),
        (lambda p: tl.optim.SGD([p, p], lr=0.1), ValueError, "more than once"),
        (lambda p: tl.optim.SGD([p], lr=0.1, nesterov=True), ValueError, "Nesterov"),
        (lambda p: tl.optim.SGD([1.0], lr=0.1), TypeError, "can only optimize tensors"),
    ],
)
def test_bad_optimizer_arguments_raise_clear_errors(make, error, message) -> None:
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        make(p)


def test_load_state_dict_rejects_a_different_layout() -> None:
    a, b = tl.tensor([1.0], requires_grad=True), tl.tensor([1.0, 2.0], requires_grad=True)
    opt = tl.optim.Adam([a, b])
    with pytest.raises(ValueError, match="parameter groups"):
        opt.load_state_dict({"state": {}, "param_groups": []})
    saved = tl.optim.Adam([tl.tensor([1.0], requires_grad=True)]).state_dict()
    with pytest.raises(ValueError, match="group 0 has 1 parameters"):
        opt.load_state_dict(saved)
