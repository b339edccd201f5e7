"""Stochastic gradient descent, with momentum and Nesterov momentum."""

from __future__ import annotations

from typing import Any

from tinyllm.optim.optimizer import Optimizer, ParamsLike, check_number


class SGD(Optimizer):
    """p <- p + delta with delta = -lr * d, where, with g the gradient (negated if ``maximize``):

        g <- g + weight_decay * p                      (L2 regularization, coupled)
        v <- g at the first step, then momentum * v + (1 - dampening) * g
        d = g + momentum * v  (nesterov)   or   v  (momentum)   or   g  (plain SGD)

    PyTorch's update rule, to the order of operations. ``l1``: see :class:`Optimizer`.
    """

    def __init__(self, params: ParamsLike, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 weight_decay: float = 0.0, nesterov: bool = False, maximize: bool = False,
                 l1: float = 0.0) -> None:  # fmt: skip
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("SGD: Nesterov momentum needs momentum > 0 and dampening = 0")
        defaults = dict(lr=lr, momentum=momentum, dampening=dampening, weight_decay=weight_decay,
                        nesterov=nesterov, maximize=maximize, l1=l1)  # fmt: skip
        super().__init__(params, defaults)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        super().check_hyperparameters(group)
        check_number("SGD", "momentum", group["momentum"])
        check_number("SGD", "dampening", group["dampening"], 0.0, 1.0)

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        lr, momentum, wd = group["lr"], group["momentum"], group["weight_decay"]
        # BEGIN SOLUTION task=sgd
        grad = -g if group["maximize"] else g
        if wd:
            grad = grad + wd * p
        d = grad
        v = None
        if momentum:
            v = state.get("momentum_buffer")
            if v is None:
                v = state["momentum_buffer"] = grad.copy()
            else:
                v *= momentum
                v += (1 - group["dampening"]) * grad
            d = grad + momentum * v if group["nesterov"] else v
        delta = -lr * d
        # END SOLUTION
        if not self.tracing:
            return delta, {}
        return delta, ({"g": g} if v is None else {"g": g, "velocity": v.copy()})
