"""NAdam, RAdam, Adamax, Adadelta and the schedules ConstantLR, PolynomialLR, OneCycleLR, SequentialLR,
CosineAnnealingWarmRestarts: PyTorch's trajectories step for step, steps by hand, state dicts, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyllm as tl
from test_optim import _gradients


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


STATE_OPTIONS = {
    "NAdam": {"lr": 0.05, "weight_decay": 0.1, "decoupled_weight_decay": True},
    "RAdam": {"lr": 0.05, "betas": (0.9, 0.9)},
    "Adamax": {"lr": 0.05, "weight_decay": 0.01},
    "Adadelta": {"lr": 0.5, "rho": 0.8},
}


@pytest.mark.parametrize("name", list(STATE_OPTIONS))
def test_state_dict_round_trip_continues_the_same_trajectory_bitwise(name: str, tmp_path) -> None:
    w0, grads = _gradients(20, (4,))
    options = STATE_OPTIONS[name]
    p = tl.tensor(w0, requires_grad=True)
    straight = getattr(tl.optim, name)([p], **options)
    for g in grads:
        p.grad = tl.tensor(g)
        straight.step()

    q = tl.tensor(w0, requires_grad=True)
    first = getattr(tl.optim, name)([q], **options)
    for g in grads[:10]:
        q.grad = tl.tensor(g)
        first.step()
    tl.save({"param": q.detach(), "optimizer": first.state_dict()}, tmp_path / "ckpt.npz")
    ckpt = tl.load(tmp_path / "ckpt.npz")
    r = tl.tensor(ckpt["param"].numpy(), requires_grad=True)
    second = getattr(tl.optim, name)([r], lr=123.0)  # the saved hyperparameters replace these
    second.load_state_dict(ckpt["optimizer"])
    assert second.param_groups[0]["lr"] == options["lr"]
    for g in grads[10:]:
        r.grad = tl.tensor(g)
        second.step()
    assert np.array_equal(r.data, p.data)


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
