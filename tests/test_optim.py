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
    ("RMSprop", {"lr": 0.01}),
    ("RMSprop", {"lr": 0.01, "alpha": 0.9, "momentum": 0.9, "centered": True, "weight_decay": 0.1}),
    ("RMSprop", {"lr": 0.01, "maximize": True, "eps": 1e-4}),
    ("Adagrad", {"lr": 0.1}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.01, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"lr": 0.1, "maximize": True, "eps": 1e-6}),
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


#: Every optimizer, with settings that give it state worth saving.
STATE_OPTIONS = {
    "SGD": {"lr": 0.05, "momentum": 0.9},
    "Adam": {"lr": 0.05, "amsgrad": True},
    "AdamW": {"lr": 0.05, "amsgrad": True},
    "RMSprop": {"lr": 0.01, "momentum": 0.5, "centered": True},
    "Adagrad": {"lr": 0.05, "lr_decay": 0.01},
    "NAdam": {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    "RAdam": {"lr": 0.05, "betas": (0.9, 0.9)},
    "Adamax": {"lr": 0.05, "weight_decay": 0.01},
    "Adadelta": {"lr": 0.5, "rho": 0.8},
}


@pytest.mark.parametrize("name", list(STATE_OPTIONS))
def test_state_dict_round_trip_continues_the_same_trajectory_bitwise(name: str, tmp_path) -> None:
    w0, grads = _gradients(100, (4,))
    options = STATE_OPTIONS[name]

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


# ----------------------------------------------------------------------------- L1: proximal vs penalty


def _lasso(step_l1: bool, steps: int = 300) -> np.ndarray:
    """min 1/2 |w - target|^2 + lam |w|: the answer is soft_threshold(target, lam), so
    coordinates with |target| < lam are exactly 0 at the optimum."""
    target = np.array([2.0, 0.05, -0.03, -1.0])
    lam, lr = 0.1, 0.1
    w = tl.tensor(np.ones(4), requires_grad=True)
    opt = tl.optim.SGD([w], lr=lr, l1=lam if step_l1 else 0.0)
    for _ in range(steps):
        loss = 0.5 * ((w - tl.tensor(target)) ** 2).sum()
        if not step_l1:
            loss = loss + lam * tl.nn.functional.l1_penalty([w])
        opt.zero_grad()
        loss.backward()
        opt.step()
    return w.detach().numpy()


def test_proximal_l1_reaches_exact_zeros_where_the_penalty_gradient_does_not() -> None:
    prox, penalty = _lasso(True), _lasso(False)
    np.testing.assert_allclose(prox, [1.9, 0.0, 0.0, -0.9], atol=1e-12)
    assert prox[1] == 0.0 and prox[2] == 0.0  # exactly
    # the subgradient lam * sign(w) overshoots 0 by up to lr * lam every step: never exactly 0
    assert np.all(penalty[1:3] != 0.0)
    assert np.all(np.abs(penalty[1:3]) < 0.1 * 0.1 + 1e-12)


def test_soft_threshold_shrinks_toward_zero_and_stops_there() -> None:
    a = np.array([3.0, -3.0, 0.5, -0.5, 0.0])
    np.testing.assert_array_equal(tl.optim.soft_threshold(a, 1.0), [2.0, -2.0, 0.0, 0.0, 0.0])


# ----------------------------------------------------------------------------- tracing


def test_trace_delta_reproduces_every_parameter_change_exactly() -> None:
    model = tl.nn.Linear(3, 2)
    opt = tl.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, l1=0.01)
    x, y = tl.randn(5, 3), tl.randn(5, 2)
    history = [model.weight.detach().numpy().copy()]
    with tl.optim.trace(opt, names=model) as log:
        for _ in range(3):
            opt.zero_grad()
            tl.nn.functional.mse_loss(model(x), y).backward()
            opt.step()
            history.append(model.weight.detach().numpy().copy())
    assert len(log) == 3 and set(log[0]) == {"weight", "bias"}
    for k in range(3):
        replayed = history[k] + log[k]["weight"]["delta"] + log[k]["weight"]["delta_l1"]
        np.testing.assert_array_equal(replayed, history[k + 1])
        assert log[k]["weight"]["lr"] == 0.1
    assert log.series("weight", "velocity").shape == (3, 2, 3)
    assert "weight" in log.table(step=0) and "velocity" in log.table(step=0)


def test_trace_of_adam_lets_a_step_be_rederived_by_hand() -> None:
    p = tl.tensor([0.5, -1.0, 2.0], dtype=tl.float64, requires_grad=True)
    lr, (b1, b2), eps = 0.01, (0.9, 0.999), 1e-8
    opt = tl.optim.Adam([p], lr=lr)
    with tl.optim.trace(opt, names={"p": p}) as log:
        for g in ([0.1, 0.2, -0.3], [1.0, -2.0, 0.5]):
            p.grad = tl.tensor(g, dtype=tl.float64)
            opt.step()
    s = log[1]["p"]
    m = b1 * log[0]["p"]["m"] + (1 - b1) * s["g"]
    v = b2 * log[0]["p"]["v"] + (1 - b2) * s["g"] ** 2
    np.testing.assert_allclose(s["m"], m, rtol=1e-14)
    np.testing.assert_allclose(s["v"], v, rtol=1e-14)
    np.testing.assert_allclose(s["m_hat"], m / (1 - b1**2), rtol=1e-14)
    np.testing.assert_allclose(s["delta"], -lr * s["m_hat"] / (np.sqrt(s["v_hat"]) + eps), rtol=1e-12)


def test_no_trace_records_nothing_and_leaves_the_optimizer_untraced() -> None:
    p = tl.tensor([1.0], requires_grad=True)
    opt = tl.optim.Adam([p])
    with tl.optim.trace(opt) as log:
        pass
    p.grad = tl.tensor([1.0])
    opt.step()
    assert len(log) == 0 and not opt.tracing


# ----------------------------------------------------------------------------- schedules

SCHEDULES = [
    ("StepLR", {"step_size": 7, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [10, 30, 31], "gamma": 0.3}),
    ("ExponentialLR", {"gamma": 0.97}),
    ("CosineAnnealingLR", {"T_max": 30, "eta_min": 0.001}),
    ("LinearLR", {"start_factor": 0.1, "end_factor": 0.9, "total_iters": 20}),
    ("LambdaLR", {"lr_lambda": lambda t: 1 / (1 + t)}),
]


def _lrs(scheduler, optimizer, n: int = 100) -> list[float]:
    out = []
    for _ in range(n):
        out.append(scheduler.get_last_lr()[0])
        optimizer.step()
        scheduler.step()
    return out


@pytest.mark.parametrize(("name", "options"), SCHEDULES, ids=[s[0] for s in SCHEDULES])
def test_schedule_matches_torch_for_100_steps(torch, name: str, options: dict) -> None:
    p, q = tl.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    ours_opt, their_opt = tl.optim.SGD([p], lr=0.1), torch.optim.SGD([q], lr=0.1)
    ours = getattr(tl.optim.lr_scheduler, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_opt, **options)
    np.testing.assert_allclose(_lrs(ours, ours_opt), _lrs(theirs, their_opt), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    "extra", [{}, {"mode": "max", "threshold_mode": "abs", "threshold": 0.01}], ids=["min-rel", "max-abs"]
)
def test_reduce_lr_on_plateau_matches_torch_on_a_loss_sequence(torch, extra: dict) -> None:
    losses = np.r_[np.linspace(1, 0.5, 20), np.full(30, 0.5), np.linspace(0.5, 0.4, 10), np.full(40, 0.45)]
    if extra:
        losses = -losses
    options = {"patience": 3, "cooldown": 2, "factor": 0.5, "min_lr": 1e-3, **extra}
    ours_opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    their_opt = torch.optim.SGD([torch.tensor([1.0], requires_grad=True)], lr=0.1)
    ours = tl.optim.lr_scheduler.ReduceLROnPlateau(ours_opt, **options)
    theirs = torch.optim.lr_scheduler.ReduceLROnPlateau(their_opt, **options)
    a, b = [], []
    for loss in losses:
        ours.step(loss)
        theirs.step(loss)
        a.append(ours.get_last_lr()[0])
        b.append(theirs.get_last_lr()[0])
    assert a == b
    assert a[0] == 0.1 and a[-1] < 0.1


def test_warmup_cosine_follows_its_formula() -> None:
    opt = tl.optim.AdamW([tl.tensor([1.0], requires_grad=True)], lr=1.0)
    sched = tl.optim.lr_scheduler.WarmupCosine(opt, warmup_steps=4, total_steps=12, min_lr=0.1)
    lrs = _lrs(sched, opt, 16)
    np.testing.assert_allclose(lrs[:4], [0.25, 0.5, 0.75, 1.0])
    assert lrs[4] == pytest.approx(1.0) and lrs[8] == pytest.approx(0.55) and lrs[12] == pytest.approx(0.1)
    assert lrs[13:] == [0.1, 0.1, 0.1]
    assert all(a >= b for a, b in zip(lrs[4:], lrs[5:]))  # never rises after warmup


def test_scheduler_state_dict_resumes_the_same_sequence() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = tl.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=20)
    _lrs(sched, opt, 5)
    saved = sched.state_dict()
    rest = _lrs(sched, opt, 10)
    opt2 = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched2 = tl.optim.lr_scheduler.CosineAnnealingLR(opt2, T_max=20)
    sched2.load_state_dict(saved)
    assert sched2.get_last_lr() == [rest[0]]
    assert _lrs(sched2, opt2, 10)[1:] == [pytest.approx(lr, rel=1e-15) for lr in rest[1:]]


# ----------------------------------------------------------------------------- clipping


def test_clip_grad_norm_matches_torch(torch) -> None:
    rng = np.random.default_rng(0)
    gs = [rng.standard_normal(s) * 3 for s in [(3, 4), (5,), (2, 2)]]
    for norm_type, max_norm in [(2.0, 1.0), (1.0, 2.0), (float("inf"), 0.5), (2.0, 1e3)]:
        ps = [tl.tensor(np.zeros_like(g), requires_grad=True) for g in gs]
        qs = [torch.zeros(g.shape, dtype=torch.float64, requires_grad=True) for g in gs]
        for p, q, g in zip(ps, qs, gs):
            p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        total = tl.nn.utils.clip_grad_norm_(ps, max_norm, norm_type)
        t_total = torch.nn.utils.clip_grad_norm_(qs, max_norm, norm_type)
        assert total.item() == pytest.approx(t_total.item(), rel=1e-14)
        for p, q in zip(ps, qs):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-14)


def test_clip_grad_norm_keeps_the_direction_and_bounds_the_norm() -> None:
    p = tl.tensor([0.0, 0.0], dtype=tl.float64, requires_grad=True)
    p.grad = tl.tensor([3.0, 4.0], dtype=tl.float64)
    total = tl.nn.utils.clip_grad_norm_([p], 1.0)
    assert total.item() == 5.0
    np.testing.assert_allclose(p.grad.numpy(), [0.6, 0.8], rtol=1e-6)


def test_clip_grad_value_clamps_each_element() -> None:
    p = tl.tensor([0.0, 0.0, 0.0], requires_grad=True)
    p.grad = tl.tensor([-3.0, 0.2, 5.0])
    tl.nn.utils.clip_grad_value_([p], 1.0)
    np.testing.assert_array_equal(p.grad.numpy(), np.array([-1.0, 0.2, 1.0], dtype=np.float32))


def test_add_param_group_fills_missing_hyperparameters_from_the_defaults() -> None:
    a, b = tl.tensor([1.0], requires_grad=True), tl.tensor([2.0], requires_grad=True)
    opt = tl.optim.SGD([a], lr=0.1, momentum=0.9)
    opt.add_param_group({"params": [b], "lr": 0.5})
    assert opt.param_groups[1]["lr"] == 0.5 and opt.param_groups[1]["momentum"] == 0.9
    b.grad = tl.tensor([1.0])
    opt.step()
    assert b.item() == pytest.approx(1.5)
    with pytest.raises(ValueError, match="more than once"):
        opt.add_param_group({"params": [a]})
