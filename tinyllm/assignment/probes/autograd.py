"""Probes of the backward walk: order, accumulation into ``.grad``, and freeing the graph."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
from tinyllm import fused, nn, optim
from tinyllm.autograd import topological_order

from .common import Seen, gradients, manual_seed, probe, rng, shape_and_dtype, train


@probe
def backward_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 80)
    x = tl.tensor(r.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    b = tl.tensor(r.standard_normal(4).astype(np.float32), requires_grad=True)
    ((x * b).tanh() + b).sum().backward()
    shape_and_dtype(seen, "x of (x * b).tanh() + b", x.grad)
    shape_and_dtype(seen, "b of (x * b).tanh() + b", b.grad)
    unused = tl.tensor(r.standard_normal(2), requires_grad=True)
    (x.sum() * 2).backward()
    seen("a leaf the loss does not use keeps grad None", unused.grad)


@probe
def backward_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 81)
    x = tl.tensor(r.uniform(-1, 1, (3, 4)), requires_grad=True)
    a = x * x
    (a.exp() * a.tanh()).sum().backward()
    seen("a diamond: a = x * x feeds exp(a) and tanh(a)", x.grad)

    x = tl.tensor(r.uniform(-1, 1, (3, 4)), requires_grad=True)
    (x * ((x * 3.0).tanh() + x)).sum().backward()
    seen("x used at two depths: x * (tanh(3 x) + x)", x.grad)

    x.grad = None
    y = x.tanh()
    for _ in range(3000):  # deeper than Python's recursion limit
        y = y * 1.0001
    y.sum().backward()
    seen("a chain of 3000 products", x.grad)

    w = tl.tensor(r.standard_normal(4), requires_grad=True)
    u = r.standard_normal((3, 4))
    (x * w).backward(tl.tensor(u))
    (x * w).backward(tl.tensor(u))
    seen("two backward calls add up in .grad (x)", x.grad)
    seen("two backward calls add up in .grad (w)", w.grad)

    ts = [tl.tensor(v, requires_grad=True) for v in (r.standard_normal((4, 3)), np.zeros((2, 2)), np.zeros((2, 2)),
          r.standard_normal((8, 3)), r.standard_normal((8, 2)))]  # fmt: skip
    out, h, c = fused.LSTMLayer.apply(*ts, batch_sizes=[2, 2])
    (out.sum() + (h * c).sum() + c.sum()).backward()
    seen("a node with three outputs (an LSTM layer), d/dx", ts[0].grad)
    seen("a node with three outputs (an LSTM layer), d/dw_hh", ts[4].grad)


@probe
def backward_freeing(seen: Seen, seed: int) -> None:
    r = rng(seed, 82)
    x = tl.tensor(r.standard_normal((2, 3)), requires_grad=True)
    loss = (x.exp() * x).sum()
    nodes = topological_order(loss)
    seen("the number of nodes in exp(x) * x summed", len(nodes))
    loss.backward(retain_graph=True)
    seen("nodes freed after backward(retain_graph=True)", [fn.released for fn in nodes])
    loss.backward()
    seen("a second backward with the graph kept adds again", x.grad)
    seen("nodes freed after a backward without retain_graph", [fn.released for fn in nodes])
    try:
        loss.backward()
        seen("a third backward, through a freed graph", "no error")
    except RuntimeError:
        seen("a third backward, through a freed graph", "RuntimeError")


@probe
def backward_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 83)
    a, b = r.standard_normal((3, 4)), r.standard_normal((4, 2))
    gradients(seen, "((a @ b).tanh() * a.sum(1, keepdim=True)).exp(), a used twice",
              lambda p, q: ((p @ q).tanh() * p.sum(1, keepdim=True)).exp(), [a, b], ["a", "b"], seed)  # fmt: skip
    gradients(seen, "a chain and its skip: h = tanh(a); h + tanh(h) * a",
              lambda p: p.tanh() + (p.tanh()).tanh() * p, [a], ["a"], seed)  # fmt: skip


@probe
def backward_training(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    r = rng(seed, 84)
    x = tl.tensor(r.standard_normal((64, 3)), dtype=tl.float32)
    y = tl.tensor(np.sin(x.numpy() @ r.standard_normal((3, 1))), dtype=tl.float32)
    model = nn.Sequential(nn.Linear(3, 16), nn.Tanh(), nn.Linear(16, 1))
    train(seen, "a two-layer network", lambda: ((model(x) - y) ** 2).mean(), optim.SGD(model.parameters(), lr=0.1),
          100)  # fmt: skip
