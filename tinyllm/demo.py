"""``tinyllm demo``: the autograd engine at work, in a few seconds.

It fits y = sin(x) on [-3, 3] with a two-layer tanh network built from bare
tensors, trained by plain gradient descent; then it checks the network's
gradients against finite differences and prints the check's report.
"""

from __future__ import annotations

import numpy

import tinyllm as tl


def init_params(hidden: int) -> list[tl.Tensor]:
    w1 = tl.randn(1, hidden) * 1.0
    w2 = tl.randn(hidden, 1) * (1 / hidden**0.5)
    params = [w1, tl.zeros(hidden), w2, tl.zeros(1)]
    return [p.requires_grad_() for p in params]


def mse(params: list[tl.Tensor], x: tl.Tensor, y: tl.Tensor) -> tl.Tensor:
    w1, b1, w2, b2 = params
    prediction = (x @ w1 + b1).tanh() @ w2 + b2
    return ((prediction - y) ** 2).mean()


def main(steps: int = 2000, lr: float = 0.05, hidden: int = 16, seed: int = 0) -> float:
    tl.manual_seed(seed)
    x = tl.tensor(numpy.linspace(-3, 3, 64, dtype=numpy.float32).reshape(-1, 1))
    y = tl.tensor(numpy.sin(x.numpy()))
    params = init_params(hidden)

    print(f"Fitting y = sin(x) with a 1-{hidden}-1 tanh network, {steps} steps of gradient descent (lr={lr})")
    for step in range(steps + 1):
        loss = mse(params, x, y)
        for p in params:
            p.grad = None
        loss.backward()
        with tl.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=lr)
        if step % (steps // 5) == 0:
            print(f"  step {step:5d}   mean squared error {loss.item():.5f}")

    print("\nChecking the gradients of that loss in float64 against central differences:")
    params64 = [p.detach().double().requires_grad_() for p in params]
    report = tl.gradcheck(
        lambda w1, b1, w2, b2: mse([w1, b1, w2, b2], x.double(), y.double()),
        params64,
        names=["w1", "b1", "w2", "b2"],
    )
    print(report)
    return loss.item()
