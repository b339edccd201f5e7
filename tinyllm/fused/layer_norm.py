"""Layer normalization in one node."""

from __future__ import annotations

import math
from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module


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
        xp = get_array_module(x)
        C = math.prod(x.shape[x.ndim - n :])
        x2 = x.reshape(-1, C)  # one row per normalized group
        mu = x2.sum(axis=1, keepdims=True)
        mu *= 1 / C
        xhat = x2 - mu
        var = xp.einsum("ij,ij->i", xhat, xhat)[:, None]  # a row-wise dot: no squared temporary
        var *= 1 / C
        var += eps
        r = 1 / xp.sqrt(var)
        xhat *= r
        self.xhat, self.r, self.shape = xhat, r, x.shape
        params = iter(affine_params)
        self.gamma = next(params).reshape(-1) if affine[0] else None
        y = xhat * self.gamma if affine[0] else xhat.copy()
        if affine[1]:
            y += next(params).reshape(-1)
        return y.reshape(x.shape)

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # BEGIN SOLUTION task=layer_norm
        xp = get_array_module(gy)
        xhat, r, gamma = self.xhat, self.r, self.gamma
        C = xhat.shape[1]
        g2 = gy.reshape(-1, C)
        grads: list[Any] = [None]
        if self.needs_grad(0):
            gxhat = g2 * gamma if gamma is not None else g2
            a = gxhat.sum(axis=1, keepdims=True)
            a *= 1 / C
            b = xp.einsum("ij,ij->i", gxhat, xhat)[:, None]
            b *= 1 / C
            gx = xhat * b
            xp.subtract(gxhat, gx, out=gx)
            gx -= a
            gx *= r
            grads[0] = gx.reshape(self.shape)
        param_shape = self.shape[len(self.shape) - len(self.inputs[1].shape) :] if len(self.inputs) > 1 else ()  # type: ignore[arg-type,index]
        for i in range(1, len(self.inputs)):  # type: ignore[arg-type]
            if not self.needs_grad(i):
                grads.append(None)
            elif i == 1 and gamma is not None:
                grads.append(xp.einsum("ij,ij->j", g2, xhat).reshape(param_shape))
            else:
                grads.append(g2.sum(axis=0).reshape(param_shape))
        return tuple(grads)
        # END SOLUTION
