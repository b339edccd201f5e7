"""Adam and AdamW: per-parameter step sizes from running moments of the gradient."""

from __future__ import annotations

import math
import numbers
from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class Adam(Optimizer):
    """Adam (Kingma and Ba, 2015). With g the gradient (negated if ``maximize``) at step t:

        g <- g + weight_decay * p                     (L2, coupled: it goes through m and v)
        m <- beta1 * m + (1 - beta1) * g              (first moment: a running mean of g)
        v <- beta2 * v + (1 - beta2) * g^2            (second moment: a running mean of g^2)
        m_hat = m / (1 - beta1^t),  v_hat = v / (1 - beta2^t)     (bias corrections: m, v start at 0)
        p <- p + delta,   delta = -lr * m_hat / (sqrt(v_hat) + eps)

    With ``amsgrad``, v_hat uses the largest v so far. PyTorch's rule and order of
    operations (it folds the corrections into the step size and the denominator).
    """

    decoupled = False

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, amsgrad: bool = False,
                 maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, amsgrad=amsgrad,
                        maximize=maximize, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_betas(type(self).__name__, group)
        check_number(type(self).__name__, "eps", group["eps"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        # BEGIN SOLUTION task=adam
        grad = -g if group["maximize"] else g
        if wd and not self.decoupled:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
            if group["amsgrad"]:
                state["max_exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        bias_correction1 = 1 - beta1**t
        bias_correction2 = 1 - beta2**t
        if group["amsgrad"]:
            v_used = state["max_exp_avg_sq"]
            xp.maximum(v_used, v, out=v_used)
        else:
            v_used = v
        denom = xp.sqrt(v_used) / math.sqrt(bias_correction2) + eps
        delta = -(lr / bias_correction1) * m / denom
        if wd and self.decoupled:
            delta -= (lr * wd) * p
        # END SOLUTION
        if not self.tracing:
            return delta, {}
        return delta, {"g": g, "m": m.copy(), "v": v.copy(), "m_hat": m / bias_correction1,
                       "v_hat": v_used / bias_correction2}  # fmt: skip


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov and Hutter, 2019):

        delta = -lr * m_hat / (sqrt(v_hat) + eps) - lr * weight_decay * p   (no L2 term in g)

    The decay no longer passes through m and v, so every weight shrinks by the same
    factor whatever its gradient history — unlike Adam's ``weight_decay``, which
    large-gradient weights feel less (v is large there).
    """

    decoupled = True

    def __init__(self, params: ParamsLike, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 1e-2, amsgrad: bool = False,
                 maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, maximize, l1)


def check_betas(name: str, group: dict[str, Any]) -> None:
    """Refuse ``group["betas"]`` unless it is a pair of numbers in [0, 1); store it as a tuple.
    Shared by the Adam family (Adam, AdamW, NAdam, RAdam, Adamax)."""
    betas = group["betas"]
    if not isinstance(betas, (tuple, list)):
        raise TypeError(f"{name}: betas must be a pair (beta1, beta2), not {type(betas).__name__} {betas!r}")
    if len(betas) != 2:
        raise ValueError(f"{name}: betas must hold two numbers (beta1, beta2), not {len(betas)}: {betas!r}")
    group["betas"] = tuple(betas)
    for i, beta in enumerate(betas):
        if isinstance(beta, bool) or not isinstance(beta, numbers.Real):
            raise TypeError(f"{name}: beta at index {i} must be a number, not {type(beta).__name__} {beta!r}")
        if not 0.0 <= beta < 1.0:  # nan fails this too
            raise ValueError(f"{name}: invalid beta parameter at index {i}: {beta} (must be in [0, 1))")
