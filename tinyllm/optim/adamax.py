"""Adamax: Adam with the root-mean-square of gradients replaced by their running maximum."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.adam import check_betas
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class Adamax(Optimizer):
    """Adamax (Kingma and Ba, 2015, section 7). With g the gradient (negated if ``maximize``),
    plus ``weight_decay * p`` (coupled L2), at step t:

        m <- beta1 * m + (1 - beta1) * g
        u <- max(beta2 * u, |g| + eps)              (a decaying infinity norm of the gradients)
        delta = -lr / (1 - beta1^t) * m / u

    Adam's v is an L2 average of past gradients; letting the norm's order go to infinity
    turns it into this maximum, which needs no bias correction. PyTorch's rule and state
    (``step``, ``exp_avg``, ``exp_inf``); eps sits inside the maximum, as there.
    """

    def __init__(self, params: ParamsLike, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, maximize: bool = False,
                 l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, maximize=maximize, l1=l1)
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_betas("Adamax", group)
        check_number("Adamax", "eps", group["eps"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        grad = -g if group["maximize"] else g
        if wd:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_inf"] = xp.zeros_like(p)
        state["step"] += 1
        m, u = state["exp_avg"], state["exp_inf"]
        m += (grad - m) * (1 - beta1)
        u *= beta2
        xp.maximum(u, xp.abs(grad) + eps, out=u)
        delta = -(lr / (1 - beta1 ** state["step"])) * m / u
        return delta, ({"g": g, "m": m.copy(), "u": u.copy()} if self.tracing else {})
