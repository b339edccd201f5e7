"""NAdam, RAdam, Adamax, Adadelta and the schedules ConstantLR, PolynomialLR, OneCycleLR, SequentialLR,
CosineAnnealingWarmRestarts: PyTorch's trajectories step for step, steps by hand, state dicts, errors."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import tinyllm as tl
from test_optim import _gradients, _lrs


@pytest.fixture
def torch64(torch):
    """PyTorch with float64 as its default dtype, so its scalar optimizer state (NAdam's
    mu_product) is kept in float64 as tinyllm keeps it; restored afterwards."""
    old = torch.get_default_dtype()
    torch.set_default_dtype(torch.float64)
    yield torch
    torch.set_default_dtype(old)


def _f64(x, requires_grad: bool = False) -> tl.Tensor:
    """A float64 tensor holding exactly these numbers (built from a float64 array: tl.tensor on
    Python floats goes through float32 first, even with dtype=float64)."""
    return tl.tensor(np.asarray(x, dtype=np.float64), requires_grad=requires_grad)


# ----------------------------------------------------------------------------- optimizers

CONFIGS = [
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("NAdam", {"lr": 0.01, "maximize": True}),
    ("RAdam", {"lr": 0.01}),
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1}),  # beta2 = 0.9: rectified from step 6
    ("RAdam", {"lr": 0.01, "betas": (0.8, 0.9), "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {"lr": 0.01, "maximize": True, "eps": 1e-4}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.01, "betas": (0.5, 0.9), "eps": 1e-3, "weight_decay": 0.1}),
    ("Adamax", {"lr": 0.01, "maximize": True}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1}),
    ("Adadelta", {"maximize": True}),
]


@pytest.mark.parametrize(("name", "options"), CONFIGS, ids=[f"{n}-{o}" for n, o in CONFIGS])
def test_optimizer_follows_torch_for_20_steps(torch64, name: str, options: dict) -> None:
    torch = torch64
    w0, grads = _gradients(20, (3, 4))
    p = tl.tensor(w0, requires_grad=True)
    q = torch.tensor(w0, requires_grad=True)
    ours, theirs = getattr(tl.optim, name)([p], **options), getattr(torch.optim, name)([q], **options)
    for g in grads:
        p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
    assert p.dtype == tl.float64
    assert not np.allclose(p.data, w0, atol=1e-3)  # it moved
    np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-13)
    assert set(ours.state[p]) == set(theirs.state[q])  # PyTorch's state keys


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Adadelta"])
def test_parameter_groups_use_their_own_hyperparameters(torch64, name: str) -> None:
    torch = torch64
    w0, grads = _gradients(20, (2, 3))
    b0, bgrads = _gradients(20, (3,), seed=1)
    ps = [tl.tensor(w0, requires_grad=True), tl.tensor(b0, requires_grad=True)]
    qs = [torch.tensor(w0, requires_grad=True), torch.tensor(b0, requires_grad=True)]

    def groups(a):
        return [{"params": [a[0]], "weight_decay": 0.1}, {"params": [a[1]], "lr": 0.05}]

    ours, theirs = getattr(tl.optim, name)(groups(ps), lr=0.01), getattr(torch.optim, name)(groups(qs), lr=0.01)
    assert ours.param_groups[1]["lr"] == 0.05 and ours.param_groups[1]["weight_decay"] == 0
    for g, gb in zip(grads, bgrads):
        ps[0].grad, ps[1].grad = tl.tensor(g), tl.tensor(gb)
        qs[0].grad, qs[1].grad = torch.tensor(g), torch.tensor(gb)
        ours.step()
        theirs.step()
    for p, q in zip(ps, qs):
        np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Adadelta"])
def test_defaults_are_pytorchs(torch, name: str) -> None:
    ours = getattr(tl.optim, name)([tl.tensor([1.0], requires_grad=True)]).defaults
    theirs = getattr(torch.optim, name)([torch.tensor([1.0], requires_grad=True)]).defaults
    for key, value in ours.items():
        if key != "l1":
            assert theirs[key] == value, key


def test_radam_is_bias_corrected_momentum_while_rho_t_is_at_most_5() -> None:
    """With beta2 = 0.999, rho_t <= 5 for the first steps: there delta = -lr * m / (1 - beta1^t)."""
    lr, b1 = 0.1, 0.9
    p = _f64([1.0, -2.0], requires_grad=True)
    opt = tl.optim.RAdam([p], lr=lr)
    w, m = np.array([1.0, -2.0]), np.zeros(2)
    for t, g in enumerate([[0.5, 1.0], [-2.0, 0.1], [3.0, 3.0]], start=1):
        p.grad = _f64(g)
        opt.step()
        m = b1 * m + (1 - b1) * np.array(g)
        w = w - lr * m / (1 - b1**t)
        np.testing.assert_allclose(p.data, w, rtol=1e-14)


def test_adamax_and_adadelta_first_steps_match_the_formulas_by_hand() -> None:
    lr, b1, b2, eps = 0.1, 0.9, 0.99, 1e-8
    p = _f64(1.0, requires_grad=True)
    opt = tl.optim.Adamax([p], lr=lr, betas=(b1, b2), eps=eps)
    w, m, u = 1.0, 0.0, 0.0
    for t, g in enumerate([0.5, -2.0, 0.1], start=1):
        p.grad = _f64(g)
        opt.step()
        m = b1 * m + (1 - b1) * g
        u = max(b2 * u, abs(g) + eps)
        w -= lr / (1 - b1**t) * m / u
        assert p.item() == pytest.approx(w, rel=1e-14)

    rho, eps = 0.9, 1e-6
    q = _f64(1.0, requires_grad=True)
    opt = tl.optim.Adadelta([q], lr=1.0, rho=rho, eps=eps)
    w, s, a = 1.0, 0.0, 0.0
    for g in [0.5, -2.0, 0.1]:
        q.grad = _f64(g)
        opt.step()
        s = rho * s + (1 - rho) * g * g
        d = math.sqrt(a + eps) / math.sqrt(s + eps) * g
        a = rho * a + (1 - rho) * d * d
        w -= d
        assert q.item() == pytest.approx(w, rel=1e-14)


def test_nadam_first_step_matches_the_formula_by_hand() -> None:
    lr, b1, b2, eps, psi = 0.1, 0.9, 0.999, 1e-8, 4e-3
    p = _f64(1.0, requires_grad=True)
    opt = tl.optim.NAdam([p], lr=lr)
    p.grad = _f64(0.5)
    opt.step()
    mu1, mu2 = (b1 * (1 - 0.5 * 0.96 ** (t * psi)) for t in (1, 2))
    m, v = (1 - b1) * 0.5, (1 - b2) * 0.25
    r = math.sqrt(v / (1 - b2)) + eps
    expected = 1.0 - lr * (1 - mu1) / (1 - mu1) * 0.5 / r - lr * mu2 / (1 - mu1 * mu2) * m / r
    assert p.item() == pytest.approx(expected, rel=1e-14)
    assert opt.state[p]["mu_product"] == pytest.approx(mu1, rel=1e-15)


@pytest.mark.parametrize("name", ["NAdam", "RAdam", "Adamax", "Adadelta"])
def test_l1_adds_the_proximal_step_after_the_update(torch64, name: str) -> None:
    torch = torch64
    w0, grads = _gradients(10, (5,))
    p, q = tl.tensor(w0, requires_grad=True), torch.tensor(w0, requires_grad=True)
    ours, theirs = getattr(tl.optim, name)([p], lr=0.05, l1=0.5), getattr(torch.optim, name)([q], lr=0.05)
    for g in grads:
        p.grad, q.grad = tl.tensor(g), torch.tensor(g)
        ours.step()
        theirs.step()
        with torch.no_grad():
            q.copy_(torch.sign(q) * torch.clamp(q.abs() - 0.05 * 0.5, min=0))
    np.testing.assert_allclose(p.data, q.detach().numpy(), rtol=0, atol=1e-13)
    assert np.any(p.data == 0.0)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: tl.optim.NAdam([p], lr=-0.1), ValueError, "invalid learning rate"),
        (lambda p: tl.optim.RAdam([p], lr=-0.1), ValueError, "invalid learning rate"),
        (lambda p: tl.optim.Adamax([p], lr=-0.1), ValueError, "invalid learning rate"),
        (lambda p: tl.optim.Adadelta([p], lr=-0.1), ValueError, "invalid learning rate"),
        (lambda p: tl.optim.NAdam([p], betas=(0.9, 1.0)), ValueError, "beta parameter at index 1"),
        (lambda p: tl.optim.RAdam([p], betas=(-0.1, 0.9)), ValueError, "beta parameter at index 0"),
        (lambda p: tl.optim.Adamax([p], betas=(0.9,)), ValueError, "two numbers"),
        (lambda p: tl.optim.NAdam([p], momentum_decay=-1e-3), ValueError, "momentum_decay"),
        (lambda p: tl.optim.RAdam([p], eps=-1.0), ValueError, "eps"),
        (lambda p: tl.optim.Adamax([p], weight_decay=-0.1), ValueError, "weight_decay"),
        (lambda p: tl.optim.Adadelta([p], rho=1.5), ValueError, "rho"),
        (lambda p: tl.optim.Adadelta([p], eps=-1e-6), ValueError, "eps"),
        (lambda p: tl.optim.Adadelta([p], rho="0.9"), TypeError, "rho must be a number"),
    ],
)
def test_bad_optimizer_arguments_raise_clear_errors(make, error, message) -> None:
    p = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(error, match=message):
        make(p)


# ----------------------------------------------------------------------------- schedules


def _pair(torch, optimizer: str = "SGD", **options):
    """The same one-parameter optimizer in tinyllm and in PyTorch."""
    p, q = tl.tensor([1.0], requires_grad=True), torch.tensor([1.0], requires_grad=True)
    return getattr(tl.optim, optimizer)([p], lr=0.1, **options), getattr(torch.optim, optimizer)([q], lr=0.1, **options)


def _momenta(scheduler, optimizer, n: int) -> tuple[list[float], list[float]]:
    """The lr and the momentum (SGD's, or Adam's beta1) in force at each of n steps."""
    lrs, momenta = [], []
    for _ in range(n):
        group = optimizer.param_groups[0]
        lrs.append(scheduler.get_last_lr()[0])
        momenta.append(group["betas"][0] if "betas" in group else group["momentum"])
        optimizer.step()
        scheduler.step()
    return lrs, momenta


SCHEDULES = [
    ("ConstantLR", {}, 10),
    ("ConstantLR", {"factor": 0.25, "total_iters": 7}, 12),
    ("ConstantLR", {"factor": 0.5, "total_iters": 0}, 5),
    ("PolynomialLR", {}, 8),
    ("PolynomialLR", {"total_iters": 12, "power": 2.0}, 16),
    ("PolynomialLR", {"total_iters": 9, "power": 0.5}, 12),
    ("CosineAnnealingWarmRestarts", {"T_0": 5}, 23),  # four restarts
    ("CosineAnnealingWarmRestarts", {"T_0": 3, "T_mult": 2, "eta_min": 0.01}, 50),  # restarts at 3, 9, 21, 45
]


@pytest.mark.parametrize(("name", "options", "n"), SCHEDULES, ids=[f"{s[0]}-{s[1]}" for s in SCHEDULES])
def test_schedule_matches_torch(torch, name: str, options: dict, n: int) -> None:
    ours_opt, their_opt = _pair(torch)
    ours = getattr(tl.optim.lr_scheduler, name)(ours_opt, **options)
    theirs = getattr(torch.optim.lr_scheduler, name)(their_opt, **options)
    expected = _lrs(theirs, their_opt, n)
    np.testing.assert_allclose(_lrs(ours, ours_opt, n), expected, rtol=1e-12, atol=1e-15)
    assert expected != [0.1] * n  # the schedule did something


def test_warm_restarts_restart_at_base_and_reach_eta_min_just_before() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=1.0)
    sched = tl.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=2, T_mult=3, eta_min=0.1)
    lrs = _lrs(sched, opt, 10)  # cycles [0, 2), [2, 8), [8, 26)
    assert lrs[0] == lrs[2] == lrs[8] == 1.0
    assert lrs[1] == pytest.approx(0.55) and lrs[5] == pytest.approx(0.55)  # halfway through cycles 1 and 2
    assert all(a > b for a, b in zip(lrs[2:7], lrs[3:8]))


def test_warm_restarts_step_with_fractional_epochs_matches_torch(torch) -> None:
    epochs = [0.5, 1.25, 2.9, 3.0, 7.5, 20.0, 21.3, 44.9, 45.0, 100.0, 2.0]
    for options in [{"T_0": 4}, {"T_0": 3, "T_mult": 2}, {"T_0": 2, "T_mult": 3, "eta_min": 0.02}]:
        ours_opt, their_opt = _pair(torch)
        ours = tl.optim.lr_scheduler.CosineAnnealingWarmRestarts(ours_opt, **options)
        theirs = torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(their_opt, **options)
        for epoch in epochs:
            ours.step(epoch)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PyTorch deprecates step(epoch) but still runs it
                theirs.step(epoch)
            assert ours.last_epoch == theirs.last_epoch
            assert ours.get_last_lr()[0] == pytest.approx(theirs.get_last_lr()[0], rel=1e-12, abs=1e-15)


ONE_CYCLE = [
    ("SGD", {"momentum": 0.9}, {"max_lr": 1.0, "total_steps": 30}),
    ("SGD", {}, {"max_lr": 0.5, "total_steps": 20, "anneal_strategy": "linear", "three_phase": True}),
    ("Adam", {}, {"max_lr": 0.01, "total_steps": 40, "three_phase": True, "pct_start": 0.2}),
    (
        "NAdam",
        {},
        {
            "max_lr": [0.02],
            "epochs": 4,
            "steps_per_epoch": 7,
            "pct_start": 0.25,
            "div_factor": 10.0,
            "final_div_factor": 100.0,
            "base_momentum": 0.8,
            "max_momentum": 0.9,
        },
    ),  # fmt: skip
    ("SGD", {}, {"max_lr": 1.0, "total_steps": 15, "cycle_momentum": False}),
]


@pytest.mark.parametrize(("optimizer", "opt_options", "options"), ONE_CYCLE, ids=[str(c[2]) for c in ONE_CYCLE])
def test_one_cycle_lr_and_momentum_match_torch_then_refuse_to_step_past_the_end(
    torch, optimizer: str, opt_options: dict, options: dict
) -> None:
    ours_opt, their_opt = _pair(torch, optimizer, **opt_options)
    ours = tl.optim.lr_scheduler.OneCycleLR(ours_opt, **options)
    theirs = torch.optim.lr_scheduler.OneCycleLR(their_opt, **options)
    n = options.get("total_steps") or options["epochs"] * options["steps_per_epoch"]
    (lrs, momenta), (their_lrs, their_momenta) = _momenta(ours, ours_opt, n), _momenta(theirs, their_opt, n)
    np.testing.assert_allclose(lrs, their_lrs, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(momenta, their_momenta, rtol=1e-12)
    peak = max(lrs)
    assert peak == pytest.approx(np.max(options["max_lr"]), rel=1e-2) and lrs[0] < peak and lrs[-1] < lrs[0]
    assert ours.last_epoch == n  # stepped total_steps times: allowed
    with pytest.raises(ValueError, match=f"tried to step {n + 1} times, but total_steps is {n}"):
        ours.step()
    with pytest.raises(ValueError):
        theirs.step()


def _three(lib, opt):
    s = lib.optim.lr_scheduler
    return [s.LinearLR(opt, 0.1, total_iters=5), s.ExponentialLR(opt, 0.9), s.CosineAnnealingWarmRestarts(opt, T_0=4)]


SEQUENCES = [
    (
        lambda lib, opt: [
            lib.optim.lr_scheduler.ConstantLR(opt, 0.1, total_iters=3),
            lib.optim.lr_scheduler.PolynomialLR(opt, total_iters=10, power=2.0),
        ],
        [6],
    ),  # fmt: skip
    (_three, [5, 12]),
    (
        lambda lib, opt: [
            lib.optim.lr_scheduler.StepLR(opt, 3, 0.5),
            lib.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=8, eta_min=0.01),
            lib.optim.lr_scheduler.ConstantLR(opt, 0.5, total_iters=4),
        ],
        [7, 15],
    ),  # fmt: skip
]


@pytest.mark.parametrize(("make", "milestones"), SEQUENCES, ids=["two", "three-with-restarts", "three"])
def test_sequential_lr_matches_torch(torch, make, milestones: list[int]) -> None:
    ours_opt, their_opt = _pair(torch)
    ours = tl.optim.lr_scheduler.SequentialLR(ours_opt, make(tl, ours_opt), milestones)
    theirs = torch.optim.lr_scheduler.SequentialLR(their_opt, make(torch, their_opt), milestones)
    np.testing.assert_allclose(_lrs(ours, ours_opt, 30), _lrs(theirs, their_opt, 30), rtol=1e-12, atol=1e-15)


def test_sequential_lr_hands_over_at_each_milestone_from_step_0() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=1.0)
    s = tl.optim.lr_scheduler
    sched = s.SequentialLR(opt, [s.ConstantLR(opt, 0.1, total_iters=10), s.StepLR(opt, 2, 0.5)], milestones=[3])
    np.testing.assert_allclose(_lrs(sched, opt, 8), [0.1, 0.1, 0.1, 1.0, 1.0, 0.5, 0.5, 0.25])


def test_sequential_lr_starts_a_scheduler_listed_twice_from_step_0_at_each_turn() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=1.0)
    s = tl.optim.lr_scheduler
    step = s.StepLR(opt, 2, 0.5)
    sched = s.SequentialLR(opt, [step, s.ConstantLR(opt, 0.1, total_iters=10), step], milestones=[3, 6])
    expected = [1.0, 1.0, 0.5, 0.1, 0.1, 0.1, 1.0, 1.0, 0.5, 0.5, 0.25, 0.25]
    np.testing.assert_allclose(_lrs(sched, opt, 12), expected)


def _resumes(make, n_before: int, n_after: int) -> None:
    """A scheduler saved after n_before steps and loaded into a fresh one goes on as the original."""
    opt = tl.optim.Adam([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = make(opt)
    _lrs(sched, opt, n_before)
    saved_opt, saved = opt.state_dict(), sched.state_dict()
    expected = _momenta(sched, opt, n_after)
    opt2 = tl.optim.Adam([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched2 = make(opt2)
    opt2.load_state_dict(saved_opt)
    sched2.load_state_dict(saved)
    assert _momenta(sched2, opt2, n_after) == expected
    assert len(set(expected[0])) > 1


RESUMABLE = {
    "ConstantLR": lambda opt: tl.optim.lr_scheduler.ConstantLR(opt, 0.5, total_iters=8),
    "PolynomialLR": lambda opt: tl.optim.lr_scheduler.PolynomialLR(opt, total_iters=12, power=2.0),
    "CosineAnnealingWarmRestarts": lambda opt: tl.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, 2, T_mult=2),
    "OneCycleLR": lambda opt: tl.optim.lr_scheduler.OneCycleLR(opt, max_lr=1.0, total_steps=20),
    "SequentialLR": lambda opt: tl.optim.lr_scheduler.SequentialLR(opt, _three(tl, opt), milestones=[5, 9]),
}


@pytest.mark.parametrize("name", list(RESUMABLE))
def test_scheduler_state_dict_resumes_the_same_sequence(name: str) -> None:
    _resumes(RESUMABLE[name], 7, 12)


def test_sequential_lr_state_dict_holds_each_schedulers_state() -> None:
    opt = tl.optim.SGD([tl.tensor([1.0], requires_grad=True)], lr=0.1)
    sched = tl.optim.lr_scheduler.SequentialLR(opt, _three(tl, opt), milestones=[5, 9])
    _lrs(sched, opt, 11)
    state = sched.state_dict()
    assert state["last_epoch"] == 11 and len(state["_schedulers"]) == 3
    assert state["_schedulers"][2]["T_cur"] == 2 and "optimizer" not in state["_schedulers"][0]


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda lib, o: lib.optim.lr_scheduler.ConstantLR(o, factor=1.5), "factor"),
        (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=0), "T_0"),
        (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=2.5), "T_0"),
        (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5, T_mult=0), "T_mult"),
        (lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingWarmRestarts(o, T_0=5).step(-1), "epoch"),
        (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0), "total_steps"),
        (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, total_steps=0), "total_steps"),
        (
            lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=1.0, epochs=2, steps_per_epoch=0),
            "steps_per_epoch",
        ),  # fmt: skip
        (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, 10, pct_start=1.5), "pct_start"),
        (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, 1.0, 10, anneal_strategy="exp"), "anneal_strategy"),
        (lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, [1.0, 2.0], 10), "expected 1 values for max_lr"),
        (
            lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(lib.optim.Adadelta(o.param_groups[0]["params"]), 1.0, 10),
            "momentum",
        ),  # fmt: skip
        (lambda lib, o: lib.optim.lr_scheduler.SequentialLR(o, [], []), "at least one scheduler"),
        (lambda lib, o: lib.optim.lr_scheduler.SequentialLR(o, _three(lib, o), [5]), "milestones"),
        (
            lambda lib, o: lib.optim.lr_scheduler.SequentialLR(o, [lib.optim.lr_scheduler.ReduceLROnPlateau(o)], []),
            "ReduceLROnPlateau",
        ),  # fmt: skip
        (
            lambda lib, o: lib.optim.lr_scheduler.SequentialLR(
                o, [lib.optim.lr_scheduler.ConstantLR(lib.optim.SGD(o.param_groups[0]["params"], lr=0.1))], []
            ),
            "different optimizer",
        ),  # fmt: skip
    ],
)
def test_bad_scheduler_arguments_raise_where_torch_raises(torch, make, message: str) -> None:
    ours_opt, their_opt = _pair(torch)
    with pytest.raises(ValueError, match=message):
        make(tl, ours_opt)
    with pytest.raises(ValueError):
        make(torch, their_opt)
