"""Softmax and cross-entropy in one node."""

from __future__ import annotations

from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.softmax import max_shift


class SoftmaxCrossEntropy(Function):
    """Cross-entropy of logits x: (N, C) against class ids or class probabilities.

    With log p = log_softmax(x) (stable: x - max is exponentiated, never x), smoothing
    eps and class weights w (all ones if none), the target distribution of sample n is
    t_n = (1 - eps) onehot(y_n) + eps / C (class ids) or (1 - eps) y_n + eps / C
    (probabilities), and

        loss_n = -sum_c w_c t_nc log p_nc,    d loss_n / d x_n = (sum_c w_c t_nc) p_n - w * t_n.

    Samples whose id is ``ignore_index`` count zero. ``reduction`` "mean" divides the
    sum by the total weight of the counted samples' classes (class ids) or by N
    (probabilities), as PyTorch does; "sum" sums; "none" returns loss_n. When nothing is
    counted (every target ignored, or N = 0) the mean is 0 / 0 = NaN and, as in PyTorch,
    the gradient is zero: a fully padded batch must not turn every weight into NaN.
    """

    def forward(
        self,
        x: Any,
        target: Any,
        weight: Any = None,
        ignore_index: int = -100,
        reduction: str = "mean",
        label_smoothing: float = 0.0,
    ) -> Any:
        xp = get_array_module(x)
        n, c = x.shape
        shifted = x - max_shift(x, 1)
        logp = shifted - xp.log(xp.exp(shifted).sum(axis=1, keepdims=True))
        eps = label_smoothing
        w = xp.ones(c, dtype=x.dtype) if weight is None else weight.astype(x.dtype, copy=False)
        if target.ndim == 2:  # class probabilities
            t = target.astype(x.dtype, copy=False)
            if eps:
                t = (1 - eps) * t + eps / c
            wt = w * t
            counted = xp.ones(n, dtype=x.dtype)
            denominator = float(n)
        else:
            counted = (target != ignore_index).astype(x.dtype)
            safe = xp.where(target == ignore_index, 0, target)
            wt = xp.zeros_like(x)
            wt[xp.arange(n), safe] = (1 - eps) * w[safe]
            if eps:
                wt += (eps / c) * w
            wt *= counted[:, None]
            denominator = (w[safe] * counted).sum()
        losses = -(wt * logp).sum(axis=1)
        self.p, self.wt, self.reduction = xp.exp(logp), wt, reduction
        if reduction == "none":
            return losses
        total = losses.sum()
        if reduction == "sum":
            return total
        self.denominator = denominator
        if not denominator:
            return xp.asarray(xp.nan, dtype=x.dtype)
        return total / denominator

    def backward(self, g: Any) -> Any:
        # BEGIN SOLUTION task=cross_entropy
        p, wt = self.p, self.wt
        gx = wt.sum(axis=1, keepdims=True) * p - wt
        if self.reduction == "none":
            return gx * g[:, None]
        if self.reduction == "mean":
            if not self.denominator:
                return gx  # nothing counted: wt and so gx are all zeros
            g = g / self.denominator
        return gx * g
        # END SOLUTION
