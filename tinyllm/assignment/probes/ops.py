"""Probes of the primitive ops: elementwise, unbroadcast, matmul, and the penalties' gradients."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import nn, optim
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.optim.optimizer import soft_threshold

from .common import Seen, gradients, grads, manual_seed, probe, rng, shape_and_dtype, train

# ----------------------------------------------------------------------------- elementwise


@probe
def elementwise_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 0)
    a, b = (r.uniform(0.5, 2.0, (3, 4)).astype(np.float32) for _ in range(2))
    for name, op in (("mul", lambda x, y: x * y), ("div", lambda x, y: x / y)):
        xs = [tl.tensor(a, requires_grad=True), tl.tensor(b[:, :1], requires_grad=True)]
        op(*xs).sum().backward()
        for i, x in enumerate(xs):
            shape_and_dtype(seen, f"{name} of (3, 4) and (3, 1), input {i}", x.grad)
        x = tl.tensor(a, requires_grad=True)
        op(x, tl.tensor(b)).sum().backward()  # the second operand needs no gradient
        shape_and_dtype(seen, f"{name} by a constant", x.grad)


def _values(seen: Seen, name: str, op: object, *arrays: np.ndarray, u: np.ndarray) -> None:
    for i, g in enumerate(grads(op, *arrays, u=u)):  # type: ignore[arg-type]
        seen(f"{name}: dL/d(input {i})", g)


@probe
def mul_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 1)
    a, b, u = r.uniform(0.5, 2.0, (3, 4)), r.uniform(-2.0, 2.0, (3, 4)), r.standard_normal((3, 4))
    _values(seen, "a * b", lambda x, y: x * y, a, b, u=u)
    _values(seen, "3 * x", lambda x: 3.0 * x, a, u=u)


@probe
def div_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 2)
    a, b = r.uniform(0.5, 2.0, (3, 4)), r.uniform(0.5, 2.0, (3, 4)) * r.choice([-1, 1], (3, 4))
    u = r.standard_normal((3, 4))
    _values(seen, "a / b", lambda x, y: x / y, a, b, u=u)
    _values(seen, "2 / x", lambda x: 2.0 / x, b, u=u)


@probe
def exp_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 3)
    _values(seen, "exp(x)", tl.exp, r.uniform(-2.0, 2.0, (2, 5)), u=r.standard_normal((2, 5)))
    _values(seen, "exp of a 0-d tensor", tl.exp, np.array(r.uniform(-1, 1)), u=np.array(2.0))


@probe
def log_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 4)
    _values(seen, "log(x)", tl.log, r.uniform(0.2, 3.0, (2, 5)), u=r.standard_normal((2, 5)))


@probe
def tanh_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 5)
    _values(seen, "tanh(x)", tl.tanh, r.uniform(-2.0, 2.0, (2, 5)), u=r.standard_normal((2, 5)))


@probe
def mul_div_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 6)
    a, b, c = r.uniform(0.5, 2.0, (3, 4)), r.uniform(0.5, 2.0, (3, 4)), r.uniform(0.5, 2.0, (4,))
    gradients(seen, "a * b / c", lambda x, y, z: x * y / z, [a, b, c], ["a", "b", "c"], seed)
    gradients(seen, "x * x / (x + 1), x used three times", lambda x: x * x / (x + 1.0), [a], ["x"], seed)


@probe
def exp_log_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 7)
    a = r.uniform(0.5, 2.0, (3, 4))
    gradients(seen, "log(x) * exp(-x)", lambda x: x.log() * (-x).exp(), [a], ["x"], seed)
    gradients(seen, "exp(log(x) + x)", lambda x: (x.log() + x).exp(), [a], ["x"], seed)


@probe
def tanh_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 8)
    a = r.uniform(-2.0, 2.0, (3, 4))
    gradients(seen, "tanh(tanh(x) + x)", lambda x: (x.tanh() + x).tanh(), [a], ["x"], seed)


@probe
def elementwise_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 9)
    x = tl.tensor(r.uniform(-1, 1, (64,)))
    y = tl.tensor(np.tanh(r.uniform(1.2, 2.0) * x.numpy()) / 2.0)
    w = tl.tensor([0.2], dtype=tl.float64, requires_grad=True)
    s = tl.tensor([1.0], dtype=tl.float64, requires_grad=True)
    train(seen, "fit tanh(w x) / s", lambda: (((w * x).tanh() / s - y) ** 2).mean(), optim.SGD([w, s], lr=4.0), 200)
    seen("w and s after training", [w, s])


# ----------------------------------------------------------------------------- unbroadcast

_BROADCASTS = [((2, 3, 4), (3, 4)), ((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 1, 4)), ((2, 3, 4), ()),
               ((5, 4), (4,)), ((5, 4), (1, 4)), ((2, 1, 4), (1,)), ((2, 3), (2, 1)), ((3, 4), (3, 4))]  # fmt: skip


@probe
def unbroadcast_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 10)
    for big, small in _BROADCASTS:
        seen(f"shape of unbroadcast from {big} to {small}", list(np.shape(unbroadcast(r.standard_normal(big), small))))


@probe
def unbroadcast_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 11)
    for big, small in _BROADCASTS:
        seen(f"unbroadcast from {big} to {small}", unbroadcast(r.standard_normal(big), small))


@probe
def unbroadcast_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 12)
    a, b, c = r.standard_normal((2, 3, 4)), r.standard_normal((3, 1)), r.standard_normal((4,))
    gradients(seen, "a + b - c, shapes (2, 3, 4), (3, 1), (4,)", lambda x, y, z: x + y - z, [a, b, c],
              ["a", "b", "c"], seed)  # fmt: skip
    gradients(seen, "b.expand(2, 3, 4)", lambda y: y.expand(2, 3, 4), [b], ["b"], seed)
    cond = r.random((2, 3, 4)) > 0.5
    gradients(seen, "where(cond, b, c)", lambda y, z: tl.where(tl.tensor(cond), y, z), [b, c], ["b", "c"], seed)


@probe
def unbroadcast_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 13)
    x = tl.tensor(r.standard_normal((32, 4)))
    y = x + tl.tensor(r.standard_normal(4))
    b = tl.zeros(4, dtype=tl.float64, requires_grad=True)
    train(seen, "fit a bias", lambda: ((x + b - y) ** 2).mean(), optim.SGD([b], lr=1.0), 50)
    seen("the learned bias", b)


# ----------------------------------------------------------------------------- matmul

_MATMUL_SHAPES = (((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,)),
                  ((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((1, 4), (4, 1)))  # fmt: skip


@probe
def matmul_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 14)
    for sa, sb in _MATMUL_SHAPES:
        a = tl.tensor(r.standard_normal(sa).astype(np.float32), requires_grad=True)
        b = tl.tensor(r.standard_normal(sb).astype(np.float32), requires_grad=True)
        (a @ b).sum().backward()
        shape_and_dtype(seen, f"{sa} @ {sb}, left", a.grad)
        shape_and_dtype(seen, f"{sa} @ {sb}, right", b.grad)


@probe
def matmul_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 15)
    a, b, u = r.standard_normal((3, 4)), r.standard_normal((4, 2)), r.standard_normal((3, 2))
    _values(seen, "A @ B", lambda x, y: x @ y, a, b, u=u)


@probe
def matmul_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 16)
    for sa, sb in _MATMUL_SHAPES[5:]:
        gradients(seen, f"{sa} @ {sb}", lambda x, y: x @ y, [r.standard_normal(sa), r.standard_normal(sb)],
                  ["a", "b"], seed)  # fmt: skip


@probe
def linear_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 17)
    x, w, bias = (
        tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True) for s in ((2, 3, 4), (5, 4), (5,))
    )
    F.linear(x, w, bias).sum().backward()
    for name, t in (("x", x), ("weight", w), ("bias", bias)):
        shape_and_dtype(seen, f"linear, {name}", t.grad)
    x.grad = w.grad = None
    F.linear(x, w).sum().backward()
    shape_and_dtype(seen, "linear without bias, weight", w.grad)


@probe
def linear_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 18)
    x, w, bias, u = (
        r.standard_normal((6, 4)),
        r.standard_normal((5, 4)),
        r.standard_normal(5),
        r.standard_normal((6, 5)),
    )
    _values(seen, "linear(x, W, b)", F.linear, x, w, bias, u=u)


@probe
def linear_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 19)
    x, w, bias = r.standard_normal((2, 3, 4)), r.standard_normal((5, 4)), r.standard_normal(5)
    gradients(seen, "linear on (2, 3, 4)", F.linear, [x, w, bias], ["x", "weight", "bias"], seed)
    gradients(seen, "linear without bias", F.linear, [x, w], ["x", "weight"], seed)


@probe
def matmul_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 20)
    manual_seed(seed)
    x = tl.tensor(r.standard_normal((64, 3)), dtype=tl.float32)
    y = x @ tl.tensor(r.standard_normal((3, 2)), dtype=tl.float32) + 0.5
    model = nn.Linear(3, 2)
    train(seen, "linear regression", lambda: ((model(x) - y) ** 2).mean(), optim.SGD(model.parameters(), lr=0.1), 150)


# ----------------------------------------------------------------------------- penalties


@probe
def penalties_shapes(seen: Seen, seed: int) -> None:
    x = tl.tensor(rng(seed, 21).uniform(0.5, 2.0, (3, 4)).astype(np.float32), requires_grad=True)
    x.abs().sum().backward()
    shape_and_dtype(seen, "abs", x.grad)
    x.grad = None
    (x**3).sum().backward()
    shape_and_dtype(seen, "x ** 3", x.grad)


@probe
def abs_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 22)
    x = np.concatenate([r.uniform(-2, 2, 6), [0.0, -0.0]])
    _values(seen, "|x|, with x = 0 among the inputs", tl.abs, x, u=r.standard_normal(8))


@probe
def pow_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 23)
    x = np.concatenate([r.uniform(-2, 2, 6), [0.0]])
    u = r.standard_normal(7)
    for p in (2, 3, 0):
        _values(seen, f"x ** {p}", lambda t, p=p: t**p, x, u=u)
    _values(seen, "x ** 0.5", lambda t: t**0.5, np.abs(x[:6]) + 0.1, u=u[:6])


@probe
def soft_threshold_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 24)
    x = r.uniform(-2, 2, 12)
    for tau in (0.0, 0.75, float(np.abs(x).max()) + 1):
        seen(f"soft_threshold(x, {tau:g})", soft_threshold(x.copy(), tau))
    seen("soft_threshold of a float32 (3, 4) array", soft_threshold(x.reshape(3, 4).astype(np.float32), 0.5))


@probe
def penalties_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 25)
    w1 = r.uniform(0.3, 2.0, (3, 4)) * r.choice([-1, 1], (3, 4))  # away from the kink at 0
    w2 = r.uniform(0.3, 2.0, (5,)) * r.choice([-1, 1], 5)
    gradients(seen, "l1_penalty", lambda a, b: F.l1_penalty([a, b]), [w1, w2], ["w1", "w2"], seed)
    gradients(seen, "l2_penalty", lambda a, b: F.l2_penalty([a, b]), [w1, w2], ["w1", "w2"], seed)
    gradients(seen, "|w| ** 1.5", lambda a: a.abs() ** 1.5, [w1], ["w"], seed)


@probe
def penalties_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 26)
    x = r.standard_normal((200, 10))
    w_true = np.zeros(10)
    w_true[[0, 3]] = 3.0, -2.0
    xt, yt = tl.tensor(x), tl.tensor(x @ w_true)
    w = tl.tensor(r.standard_normal(10) * 0.1, requires_grad=True)
    opt = optim.SGD([w], lr=0.05, l1=0.1)
    train(seen, "L1-regularized regression", lambda: ((xt @ w - yt) ** 2).mean(), opt, 300)
    seen("the weights, most of them exactly 0", w)
    v = tl.tensor(np.ones(4), requires_grad=True)
    decay = optim.SGD([v], lr=0.1)
    for _ in range(10):
        decay.zero_grad()
        F.l2_penalty([v]).backward()
        decay.step()
    seen("w after 10 steps on l2_penalty alone", v)
