"""RAdam: Adam whose adaptive step is switched on only once the variance of v can be trusted."""

from __future__ import annotations

import math
from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.adam import check_betas
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class RAdam(Optimizer):
    """Rectified Adam (Liu et al., 2020). With g the gradient (negated if ``maximize``) at step t:

        g <- g + weight_decay * p                  (L2, coupled; or, if decoupled_weight_decay,
                                                    p shrinks by lr * weight_decay * p instead)
        m <- beta1 * m + (1 - beta1) * g,   v <- beta2 * v + (1 - beta2) * g^2
        m_hat = m / (1 - beta1^t)
        rho_inf = 2 / (1 - beta2) - 1,   rho_t = rho_inf - 2 t beta2^t / (1 - beta2^t)
        rho_t > 5:   delta = -lr * m_hat * r_t * sqrt(1 - beta2^t) / (sqrt(v) + eps),
                     r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
        otherwise:   delta = -lr * m_hat                (plain momentum SGD)

    rho_t is the length of the moving average that v approximates; while it is short, the
    adaptive denominator has a huge variance (Adam's reason to need warmup), so RAdam waits
    and scales by r_t, which rises towards 1. PyTorch's rule and state
    (``step``, ``exp_avg``, ``exp_avg_sq``).
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, decoupled_weight_decay: bool = False,
                 maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_betas("RAdam", group)
        check_number("RAdam", "eps", group["eps"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        grad = -g if group["maximize"] else g
        if wd and not group["decoupled_weight_decay"]:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        bias_correction2 = 1 - beta2**t
        m_hat = m / (1 - beta1**t)
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2**t / bias_correction2
        if rho_t > 5.0:
            rect = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            delta = -lr * m_hat * (math.sqrt(bias_correction2) / (xp.sqrt(v) + eps)) * rect
        else:
            delta = -lr * m_hat
        if wd and group["decoupled_weight_decay"]:
            delta -= (lr * wd) * p
        if not self.tracing:
            return delta, {}
        return delta, {"g": g, "m": m.copy(), "v": v.copy(), "m_hat": m_hat, "rho_t": rho_t}
