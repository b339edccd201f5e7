"""Adadelta: a step whose units match the parameter's, from running means of g^2 and of past steps."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class Adadelta(Optimizer):
    """Adadelta (Zeiler, 2012). With g the gradient (negated if ``maximize``), plus
    ``weight_decay * p`` (coupled L2):

        s <- rho * s + (1 - rho) * g^2                      (running mean of g^2)
        d = sqrt(a + eps) / sqrt(s + eps) * g               (a: running mean of past d^2)
        a <- rho * a + (1 - rho) * d^2
        delta = -lr * d

    The ratio RMS(past steps) / RMS(gradients) makes d carry the parameter's units, so the
    method needs no learning rate in principle (lr = 1 by default only scales d).
    PyTorch's rule and state (``step``, ``square_avg``, ``acc_delta``).
    """

    def __init__(self, params: ParamsLike, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6,
                 weight_decay: float = 0.0, maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize, l1=l1)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_number("Adadelta", "rho", group["rho"], 0.0, 1.0)
        check_number("Adadelta", "eps", group["eps"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, rho, eps, wd = group["lr"], group["rho"], group["eps"], group["weight_decay"]
        grad = -g if group["maximize"] else g
        if wd:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["square_avg"] = xp.zeros_like(p)
            state["acc_delta"] = xp.zeros_like(p)
        state["step"] += 1
        s, a = state["square_avg"], state["acc_delta"]
        s *= rho
        s += (1 - rho) * grad * grad
        d = xp.sqrt(a + eps) / xp.sqrt(s + eps) * grad
        a *= rho
        a += (1 - rho) * d * d
        return -lr * d, ({"g": g, "square_avg": s.copy(), "acc_delta": a.copy()} if self.tracing else {})
