"""Checks of the primitive ops: elementwise, unbroadcast, matmul, and the penalties' gradients."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import nn, optim
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.optim.optimizer import soft_threshold

from .common import array, backward, check, close, expect, gradcheck, rng, same_shape_and_dtype, train

# ----------------------------------------------------------------------------- elementwise


@check
def elementwise_shapes() -> None:
    r = rng(0)
    a, b = (r.uniform(0.5, 2.0, (3, 4)).astype(np.float32) for _ in range(2))
    ops = {"mul": lambda x, y: x * y, "div": lambda x, y: x / y, "exp": tl.exp, "log": tl.log, "tanh": tl.tanh}
    for name, op in ops.items():
        xs = [tl.tensor(a, requires_grad=True), tl.tensor(b, requires_grad=True)][: 2 if name in ("mul", "div") else 1]
        y = op(*xs)
        y.backward(tl.ones_like(y))
        for i, x in enumerate(xs):
            same_shape_and_dtype(x.grad, x, f"{name}, input {i}")
    for name, op in (("mul", ops["mul"]), ("div", ops["div"])):  # the second operand needs no gradient
        x = tl.tensor(a, requires_grad=True)
        op(x, tl.tensor(b)).sum().backward()
        same_shape_and_dtype(x.grad, x, f"{name} by a constant")


def _grads(op: object, *arrays: np.ndarray, u: np.ndarray) -> list[np.ndarray]:
    xs = [tl.tensor(a, requires_grad=True) for a in arrays]
    backward(op(*xs), [u])  # type: ignore[operator]
    return [array(x.grad) for x in xs]


@check
def elementwise_mul_div_values() -> None:
    r = rng(1)
    a, b = r.uniform(0.5, 2.0, (3, 4)), r.uniform(0.5, 2.0, (3, 4)) * r.choice([-1, 1], (3, 4))
    u = r.standard_normal((3, 4))
    ga, gb = _grads(lambda x, y: x * y, a, b, u=u)
    close(ga, u * b, "mul: dL/da = u * b")
    close(gb, u * a, "mul: dL/db = u * a")
    ga, gb = _grads(lambda x, y: x / y, a, b, u=u)
    close(ga, u / b, "div: dL/da = u / b")
    close(gb, -u * a / b**2, "div: dL/db = -u a / b^2")
    (g,) = _grads(lambda x: 3.0 * x, a, u=u)
    close(g, 3.0 * u, "3 * x")
    (g,) = _grads(lambda x: 2.0 / x, b, u=u)
    close(g, -2.0 * u / b**2, "2 / x")


@check
def elementwise_exp_log_tanh_values() -> None:
    r = rng(2)
    x, u = r.uniform(0.2, 2.0, (2, 5)), r.standard_normal((2, 5))
    close(_grads(tl.exp, x, u=u)[0], u * np.exp(x), "exp: u * exp(x)")
    close(_grads(tl.log, x, u=u)[0], u / x, "log: u / x")
    z = x - 1.0
    close(_grads(tl.tanh, z, u=u)[0], u * (1 - np.tanh(z) ** 2), "tanh: u * (1 - tanh(x)^2)")
    close(_grads(tl.exp, np.array(0.5), u=np.array(2.0))[0], 2.0 * np.exp(0.5), "exp of a 0-d tensor")


@check
def elementwise_gradcheck() -> None:
    r = rng(3)
    a, b = r.uniform(0.5, 2.0, (3, 4)), r.uniform(0.5, 2.0, (3, 4))
    gradcheck(
        "tanh(a * b) / exp(b) + log(a)",
        lambda x, y: (x * y).tanh() / y.exp() + x.log(),
        lambda x, y: np.tanh(x * y) / np.exp(y) + np.log(x),
        [a, b], ["a", "b"],
    )  # fmt: skip
    gradcheck(
        "log(x) * x / (1 + tanh(x)), x used three times",
        lambda x: x.log() * x / (1.0 + x.tanh()),
        lambda x: np.log(x) * x / (1.0 + np.tanh(x)),
        [a], ["x"],
    )  # fmt: skip


@check
def elementwise_training() -> None:
    r = rng(4)
    x = tl.tensor(r.uniform(-1, 1, (64,)))
    y = tl.tensor(np.tanh(1.7 * x.numpy()) / 2.0)
    w = tl.tensor([0.2], dtype=tl.float64, requires_grad=True)
    s = tl.tensor([1.0], dtype=tl.float64, requires_grad=True)

    first, last = train(lambda: (((w * x).tanh() / s - y) ** 2).mean(), optim.SGD([w, s], lr=4.0), 200)
    expect(last < 1e-4 * first, f"tanh(w x) / s did not fit: loss {first:.3g} -> {last:.3g}")


# ----------------------------------------------------------------------------- unbroadcast

_BROADCASTS = [((2, 3, 4), (3, 4)), ((2, 3, 4), (3, 1)), ((2, 3, 4), (1, 1, 4)), ((2, 3, 4), ()),
               ((5, 4), (4,)), ((5, 4), (1, 4)), ((2, 1, 4), (1,)), ((2, 3), (2, 1))]  # fmt: skip


def _summed_by_hand(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Every element of grad added to the element of ``shape`` that broadcasting copied it from."""
    out = np.zeros(shape)
    lead = grad.ndim - len(shape)
    for index in np.ndindex(grad.shape):
        source = tuple(0 if n == 1 else i for i, n in zip(index[lead:], shape))
        out[source] += grad[index]
    return out


@check
def unbroadcast_shapes() -> None:
    r = rng(5)
    for big, small in _BROADCASTS:
        out = unbroadcast(r.standard_normal(big), small)
        expect(tuple(np.shape(out)) == small, f"unbroadcast from {big} to {small} gave shape {np.shape(out)}")


@check
def unbroadcast_values() -> None:
    ones = np.ones((2, 3))
    close(unbroadcast(ones, (3,)), [2.0, 2.0, 2.0], "ones (2, 3) to (3,)")
    close(unbroadcast(ones, (2, 1)), [[3.0], [3.0]], "ones (2, 3) to (2, 1)")
    close(unbroadcast(ones, ()), 6.0, "ones (2, 3) to ()")
    r = rng(6)
    for big, small in _BROADCASTS:
        g = r.standard_normal(big)
        close(unbroadcast(g, small), _summed_by_hand(g, small), f"unbroadcast from {big} to {small}")


@check
def unbroadcast_gradcheck() -> None:
    r = rng(7)
    a, b, c = r.standard_normal((2, 3, 4)), r.standard_normal((3, 1)), r.standard_normal((4,))
    gradcheck("a + b - c, shapes (2, 3, 4), (3, 1), (4,)", lambda x, y, z: x + y - z,
              lambda x, y, z: x + y - z, [a, b, c], ["a", "b", "c"])  # fmt: skip
    gradcheck("b * c, shapes (3, 1) and (4,)", lambda y, z: y * z, lambda y, z: y * z, [b, c], ["b", "c"])
    gradcheck("b.expand(2, 3, 4)", lambda y: y.expand(2, 3, 4), lambda y: np.broadcast_to(y, (2, 3, 4)), [b], ["b"])
    cond = r.random((2, 3, 4)) > 0.5
    gradcheck("where(cond, b, c)", lambda y, z: tl.where(tl.tensor(cond), y, z),
              lambda y, z: np.where(cond, y, z), [b, c], ["b", "c"])  # fmt: skip


@check
def unbroadcast_training() -> None:
    r = rng(8)
    x = tl.tensor(r.standard_normal((32, 4)))
    b_true = np.array([0.5, -1.0, 2.0, 0.0])
    y = x + tl.tensor(b_true)
    b = tl.zeros(4, dtype=tl.float64, requires_grad=True)

    train(lambda: ((x + b - y) ** 2).mean(), optim.SGD([b], lr=1.0), 50)
    close(b, b_true, "the learned bias", atol=1e-4)


# ----------------------------------------------------------------------------- matmul


@check
def matmul_shapes() -> None:
    r = rng(9)
    for sa, sb in (((3, 4), (4, 2)), ((2, 3, 4), (2, 4, 5)), ((4,), (4, 2)), ((3, 4), (4,)), ((4,), (4,))):
        a = tl.tensor(r.standard_normal(sa).astype(np.float32), requires_grad=True)
        b = tl.tensor(r.standard_normal(sb).astype(np.float32), requires_grad=True)
        (a @ b).sum().backward()
        same_shape_and_dtype(a.grad, a, f"{sa} @ {sb}, left")
        same_shape_and_dtype(b.grad, b, f"{sa} @ {sb}, right")
    x, w, bias = (
        tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True) for s in ((2, 3, 4), (5, 4), (5,))
    )
    F.linear(x, w, bias).sum().backward()
    for name, t in (("x", x), ("weight", w), ("bias", bias)):
        same_shape_and_dtype(t.grad, t, f"linear, {name}")
    x.grad = w.grad = None
    F.linear(x, w).sum().backward()
    same_shape_and_dtype(w.grad, w, "linear without bias, weight")


@check
def matmul_values() -> None:
    r = rng(10)
    a, b, u = r.standard_normal((3, 4)), r.standard_normal((4, 2)), r.standard_normal((3, 2))
    ga, gb = _grads(lambda x, y: x @ y, a, b, u=u)
    close(ga, u @ b.T, "dA = dY B^T")
    close(gb, a.T @ u, "dB = A^T dY")
    x, w, bias = r.standard_normal((6, 4)), r.standard_normal((5, 4)), r.standard_normal(5)
    u = r.standard_normal((6, 5))
    gx, gw, gbias = _grads(F.linear, x, w, bias, u=u)
    close(gx, u @ w, "linear: dX = dY W")
    close(gw, u.T @ x, "linear: dW = dY^T X")
    close(gbias, u.sum(axis=0), "linear: db = sum of dY over rows")


@check
def matmul_gradcheck() -> None:
    r = rng(11)
    for sa, sb in (((2, 1, 3, 4), (3, 4, 2)), ((4,), (2, 4, 3)), ((2, 3, 4), (4,)), ((1, 4), (4, 1))):
        a, b = r.standard_normal(sa), r.standard_normal(sb)
        gradcheck(f"{sa} @ {sb}", lambda x, y: x @ y, np.matmul, [a, b], ["a", "b"])
    x, w, bias = r.standard_normal((2, 3, 4)), r.standard_normal((5, 4)), r.standard_normal(5)
    gradcheck("linear on (2, 3, 4)", F.linear, lambda x, w, b: x @ w.T + b, [x, w, bias], ["x", "weight", "bias"])
    gradcheck("linear without bias", F.linear, lambda x, w: x @ w.T, [x, w], ["x", "weight"])


@check
def matmul_training() -> None:
    r = rng(12)
    tl.manual_seed(0)
    x = tl.tensor(r.standard_normal((64, 3)), dtype=tl.float32)
    y = x @ tl.tensor(r.standard_normal((3, 2)), dtype=tl.float32) + 0.5
    model = nn.Linear(3, 2)
    opt = optim.SGD(model.parameters(), lr=0.1)

    first, last = train(lambda: ((model(x) - y) ** 2).mean(), opt, 150)
    expect(last < 1e-4 * first, f"linear regression did not fit: loss {first:.3g} -> {last:.3g}")


# ----------------------------------------------------------------------------- penalties


@check
def penalties_shapes() -> None:
    x = tl.tensor(rng(13).uniform(0.5, 2.0, (3, 4)).astype(np.float32), requires_grad=True)
    x.abs().sum().backward()
    same_shape_and_dtype(x.grad, x, "abs")
    x.grad = None
    (x**3).sum().backward()
    same_shape_and_dtype(x.grad, x, "x ** 3")
    shrunk = soft_threshold(x.detach().numpy(), 0.1)
    expect(np.shape(shrunk) == (3, 4) and shrunk.dtype == np.float32, "soft_threshold must keep shape and dtype")


@check
def penalties_values() -> None:
    x = np.array([-2.0, -0.5, 0.0, 0.5, 2.0])
    u = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    close(_grads(tl.abs, x, u=u)[0], u * np.sign(x), "d|x|/dx = sign(x), 0 at x = 0")
    close(_grads(lambda t: t**2, x, u=u)[0], u * 2 * x, "d(x^2)/dx = 2x")
    close(_grads(lambda t: t**3, x, u=u)[0], u * 3 * x**2, "d(x^3)/dx = 3x^2")
    close(_grads(lambda t: t**0, x, u=u)[0], np.zeros(5), "d(x^0)/dx = 0, also at x = 0")
    p = x[3:]
    close(_grads(lambda t: t**0.5, p, u=u[3:])[0], u[3:] * 0.5 / np.sqrt(p), "d(x^0.5)/dx")
    close(soft_threshold(x.copy(), 0.75), [-1.25, 0.0, 0.0, 0.0, 1.25], "soft_threshold(x, 0.75)", atol=0)


@check
def penalties_gradcheck() -> None:
    r = rng(14)
    w1 = r.uniform(0.3, 2.0, (3, 4)) * r.choice([-1, 1], (3, 4))  # away from the kink at 0
    w2 = r.uniform(0.3, 2.0, (5,)) * r.choice([-1, 1], 5)
    gradcheck("l1_penalty", lambda a, b: F.l1_penalty([a, b]), lambda a, b: np.abs(a).sum() + np.abs(b).sum(),
              [w1, w2], ["w1", "w2"])  # fmt: skip
    gradcheck("l2_penalty", lambda a, b: F.l2_penalty([a, b]), lambda a, b: 0.5 * ((a**2).sum() + (b**2).sum()),
              [w1, w2], ["w1", "w2"])  # fmt: skip
    gradcheck("|w| ** 1.5", lambda a: a.abs() ** 1.5, lambda a: np.abs(a) ** 1.5, [w1], ["w"])


@check
def penalties_training() -> None:
    r = rng(15)
    x = r.standard_normal((200, 10))
    w_true = np.zeros(10)
    w_true[[0, 3]] = 3.0, -2.0
    xt, yt = tl.tensor(x), tl.tensor(x @ w_true)
    w = tl.tensor(r.standard_normal(10) * 0.1, requires_grad=True)
    opt = optim.SGD([w], lr=0.05, l1=0.1)

    first, last = train(lambda: ((xt @ w - yt) ** 2).mean(), opt, 300)
    expect(last < 0.05 * first, f"L1-regularized regression did not fit: loss {first:.3g} -> {last:.3g}")
    zeros = int((array(w)[w_true == 0] == 0).sum())
    expect(zeros >= 6, f"the L1 proximal step should set most of the 8 irrelevant weights to exactly 0, not {zeros}")
    v = tl.tensor(np.ones(4), requires_grad=True)
    decay = optim.SGD([v], lr=0.1)
    for _ in range(10):
        decay.zero_grad()
        F.l2_penalty([v]).backward()
        decay.step()
    close(v, np.full(4, 0.9**10), "10 steps on l2_penalty alone shrink w by (1 - lr)^10")
