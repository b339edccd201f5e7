"""Mean squared error in one node."""

from __future__ import annotations

from typing import Any

from tinyllm.autograd import Function


class SquaredError(Function):
    """L = reduce((x - t)^2) with ``reduction`` "mean", "sum" or "none";  x and t of one shape.

    With d = x - t and gL the gradient reaching L:

        dx = 2 d gL / n   (mean over n elements),   2 d gL   (sum, and elementwise for none)
        dt = -dx

    Three nodes composed (subtract, square, mean) become one: a loss is small work,
    so its cost is mostly the nodes' own overhead.
    """

    def forward(self, x: Any, t: Any, reduction: str) -> Any:
        d = x - t
        self.d, self.reduction = d, reduction
        squares = d * d
        if reduction == "none":
            return squares
        total = squares.sum()
        return total / d.dtype.type(d.size) if reduction == "mean" else total

    def backward(self, g: Any) -> tuple[Any, Any]:
        d = self.d
        scale = 2 * g / d.dtype.type(d.size) if self.reduction == "mean" else 2 * g
        gx = d * scale
        return gx, (-gx if self.needs_grad(1) else None)
