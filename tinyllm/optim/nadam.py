"""NAdam: Adam with Nesterov momentum, looking one step ahead along the running mean."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.optim.adam import check_betas
from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class NAdam(Optimizer):
    """NAdam (Dozat, 2016). With g the gradient (negated if ``maximize``) at step t:

        g <- g + weight_decay * p                  (L2, coupled; or, if decoupled_weight_decay,
                                                    p shrinks by lr * weight_decay * p instead)
        mu_t = beta1 * (1 - 0.96^(t * momentum_decay) / 2)     (momentum, warming up to beta1)
        M_t = mu_1 * mu_2 * ... * mu_t                          (the product, in state "mu_product")
        m <- beta1 * m + (1 - beta1) * g,   v <- beta2 * v + (1 - beta2) * g^2
        r = sqrt(v / (1 - beta2^t)) + eps
        delta = -lr * (1 - mu_t) / (1 - M_t) * g / r  -  lr * mu_{t+1} / (1 - M_t * mu_{t+1}) * m / r

    The second term is the momentum step Adam would take next, taken now (Nesterov's look-ahead);
    the first is the part of the current gradient that momentum has not yet absorbed.
    PyTorch's rule and state (``step``, ``mu_product``, ``exp_avg``, ``exp_avg_sq``). One difference:
    ``mu_product`` is a Python float (double) here, while PyTorch keeps it in its default dtype
    (float32 unless changed), so float64 runs agree to ~1e-10 rather than ~1e-15.
    """

    def __init__(self, params: ParamsLike, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999),
                 eps: float = 1e-8, weight_decay: float = 0.0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, maximize: bool = False, l1: float = 0.0) -> None:  # fmt: skip
        defaults = dict(lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, momentum_decay=momentum_decay,
                        decoupled_weight_decay=decoupled_weight_decay, maximize=maximize, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_betas("NAdam", group)
        check_number("NAdam", "eps", group["eps"])
        check_number("NAdam", "momentum_decay", group["momentum_decay"])

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        xp = get_array_module(p)
        lr, (beta1, beta2), eps, wd = group["lr"], group["betas"], group["eps"], group["weight_decay"]
        psi = group["momentum_decay"]
        grad = -g if group["maximize"] else g
        if wd and not group["decoupled_weight_decay"]:
            grad = grad + wd * p
        if not state:
            state["step"] = 0
            state["mu_product"] = 1.0
            state["exp_avg"] = xp.zeros_like(p)
            state["exp_avg_sq"] = xp.zeros_like(p)
        state["step"] += 1
        t = state["step"]
        mu = beta1 * (1.0 - 0.5 * 0.96 ** (t * psi))
        mu_next = beta1 * (1.0 - 0.5 * 0.96 ** ((t + 1) * psi))
        state["mu_product"] *= mu
        mu_product = state["mu_product"]
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m += (grad - m) * (1 - beta1)
        v *= beta2
        v += (1 - beta2) * grad * grad
        denom = xp.sqrt(v / (1 - beta2**t)) + eps
        delta = (-lr * (1 - mu) / (1 - mu_product)) * grad / denom
        delta -= (lr * mu_next / (1 - mu_product * mu_next)) * m / denom
        if wd and group["decoupled_weight_decay"]:
            delta -= (lr * wd) * p
        if not self.tracing:
            return delta, {}
        return delta, {"g": g, "m": m.copy(), "v": v.copy(), "mu": mu, "mu_product": mu_product}
