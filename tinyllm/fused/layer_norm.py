"""Layer normalization in one node."""

from __future__ import annotations

from typing import Any

from tinyllm.tensor import Function


class LayerNorm(Function):
    """y = (x - mu) / sqrt(var + eps) * gamma + beta over the last ``n`` axes of x.

    mu and var are the mean and the biased variance over those axes; write
    xhat = (x - mu) * r with r = 1 / sqrt(var + eps). With dxhat = dy * gamma and means
    over the normalized axes,

        dx = r * (dxhat - mean(dxhat) - xhat * mean(dxhat * xhat)),
        dgamma = sum of dy * xhat,   dbeta = sum of dy   (over the leading axes).

    Inputs are ``x`` and then ``gamma`` and ``beta`` when present (``affine`` says which).
    """

    def forward(self, x: Any, *affine_params: Any, n: int, eps: float, affine: tuple[bool, bool]) -> Any:
        axes = tuple(range(x.ndim - n, x.ndim))
        mu = x.mean(axis=axes, keepdims=True)
        xc = x - mu
        r = 1.0 / (((xc * xc).mean(axis=axes, keepdims=True) + eps) ** 0.5)
        xhat = xc * r
        self.xhat, self.r, self.axes = xhat, r, axes
        params = iter(affine_params)
        self.gamma = next(params) if affine[0] else None
        y = xhat * self.gamma if affine[0] else xhat.copy()
        if affine[1]:
            y += next(params)
        return y

    def backward(self, gy: Any) -> tuple[Any, ...]:
        xhat, r, axes, gamma = self.xhat, self.r, self.axes, self.gamma
        lead = tuple(range(gy.ndim - len(axes)))
        grads: list[Any] = []
        if self.needs_grad(0):
            gxhat = gy * gamma if gamma is not None else gy
            gx = gxhat - gxhat.mean(axis=axes, keepdims=True)
            gx -= xhat * (gxhat * xhat).mean(axis=axes, keepdims=True)
            grads.append(gx * r)
        else:
            grads.append(None)
        for i in range(1, len(self.inputs)):  # type: ignore[arg-type]
            if not self.needs_grad(i):
                grads.append(None)
            elif i == 1 and gamma is not None:
                grads.append((gy * xhat).sum(axis=lead))
            else:
                grads.append(gy.sum(axis=lead))
        return tuple(grads)
