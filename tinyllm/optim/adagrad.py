"""Adagrad: each coordinate's step shrinks with the sum of its squared gradients so far."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class Adagrad(Optimizer):
    """With g the gradient (negated if ``maximize``), plus ``weight_decay * p`` (coupled L2), at step t:

        S <- S + g^2                                   (S starts at initial_accumulator_value)
        delta = -lr_t * g / (sqrt(S) + eps),   lr_t = lr / (1 + (t - 1) * lr_decay)

    Rarely-updated coordinates keep large steps; frequent ones slow down. PyTorch's rule.
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-2, lr_decay: float = 0.0, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, maximize: bool = False,
                 l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, lr_decay=lr_decay, weight_decay=weight_decay, eps=eps, maximize=maximize,
                        initial_accumulator_value=initial_accumulator_value, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        for key in ("lr_decay", "initial_accumulator_value", "eps"):
            check_number("Adagrad", key, group[key])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        grad = -g if group["maximize"] else g
        if group["weight_decay"]:
            grad = grad + group["weight_decay"] * p
        if not state:
            state["step"] = 0
            state["sum"] = xp.full_like(p, group["initial_accumulator_value"])
        state["step"] += 1
        lr_t = group["lr"] / (1 + (state["step"] - 1) * group["lr_decay"])
        total = state["sum"]
        total += grad * grad
        delta = -lr_t * grad / (xp.sqrt(total) + group["eps"])
        return delta, ({"g": g, "sum": total.copy(), "lr_t": lr_t} if self.tracing else {})


