"""RMSprop: divide the step by a running root-mean-square of recent gradients."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class RMSprop(Optimizer):
    """With g the gradient (negated if ``maximize``), plus ``weight_decay * p`` (coupled L2):

        s <- alpha * s + (1 - alpha) * g^2                 (running mean of g^2)
        a <- alpha * a + (1 - alpha) * g                   (``centered`` only: running mean of g)
        r = sqrt(s - a^2 if centered else s) + eps
        b <- momentum * b + g / r;  delta = -lr * b        (with momentum)
        delta = -lr * g / r                                (without)

    PyTorch's update rule, to the order of operations.
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, momentum: float = 0.0, centered: bool = False,
                 maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, alpha=alpha, eps=eps, weight_decay=weight_decay, momentum=momentum,
                        centered=centered, maximize=maximize, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_number("RMSprop", "alpha", group["alpha"], 0.0, 1.0)
        check_number("RMSprop", "momentum", group["momentum"])
        check_number("RMSprop", "eps", group["eps"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, alpha, eps, wd, momentum = (group[k] for k in ("lr", "alpha", "eps", "weight_decay", "momentum"))
        grad = -g if group["maximize"] else g
        if wd:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            if momentum > 0:
                state["momentum_buffer"] = xp.zeros_like(p)
            if group["centered"]:
                state["grad_avg"] = xp.zeros_like(p)
        state["step"] += 1
        s = state["square_avg"]
        s *= alpha
        s += (1 - alpha) * grad * grad
        if group["centered"]:
            a = state["grad_avg"]
            a += (grad - a) * (1 - alpha)
            rms = xp.sqrt(s - a * a)
        else:
            rms = xp.sqrt(s)
        rms += eps
        if momentum > 0:
            b = state["momentum_buffer"]
            b *= momentum
            b += grad / rms
            delta = -lr * b
        else:
            delta = -lr * grad / rms
        return delta, ({"g": g, "square_avg": s.copy()} if self.tracing else {})
