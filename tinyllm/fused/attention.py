"""Scaled dot-product attention in one node."""

from __future__ import annotations

from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.ops.softmax import max_shift


class Attention(Function):
    """O = dropout(P) V with P = softmax(S), S = scale * Q K^T (+ mask), over the last two axes.

    Q: (..., L, E), K: (..., S, E), V: (..., S, Ev). ``mask`` is optional: a bool
    array (True where a query may attend to a key; False becomes -inf in S) or a
    float array added to S; a query whose keys are all masked gets all-zero weights
    and a zero output (as PyTorch's function gives). ``keep`` is optional: the dropout mask already scaled
    by 1 / (1 - p), so that dropout(P) = P * keep.

    Outputs O and P (the attention weights, before dropout). Backward, with
    D = dropout(P) and dP the gradient reaching P:

        dV = D^T dO,   dP += (dO V^T) * keep,
        dS = P * (dP - sum_j dP * P)        (the softmax's backward, row by row)
        dQ = scale * dS K,   dK = dS^T (scale * Q).
    """

    def forward(self, q: Any, k: Any, v: Any, scale: float, mask: Any = None, keep: Any = None) -> tuple[Any, Any]:
        xp = get_array_module(q)
        q = q * scale  # scaling q (L x E) is cheaper than scaling the scores (L x S)
        s = q @ k.swapaxes(-1, -2)
        if mask is not None:  # as an additive mask (0 or -inf), added in place
            s += xp.where(mask, 0, -xp.inf).astype(s.dtype) if mask.dtype == bool else mask
        s -= max_shift(s, -1)
        p = xp.exp(s, out=s)
        z = p.sum(axis=-1, keepdims=True)
        p /= xp.where(z == 0, 1, z)  # a query that may attend to nothing gets weights 0, output 0
        d = p if keep is None else p * keep
        self.q, self.k, self.v, self.p, self.d, self.keep, self.scale = q, k, v, p, d, keep, scale
        return d @ v, p

    def backward(self, g_o: Any, g_p: Any) -> tuple[Any, Any, Any]:
        # BEGIN SOLUTION task=attention
        q, k, v, p, d, keep = self.q, self.k, self.v, self.p, self.d, self.keep
        g_v = None
        if g_o is not None:
            dp = g_o @ v.swapaxes(-1, -2)  # a fresh array, so the steps below may work in place
            if keep is not None:
                dp *= keep
            if g_p is not None:
                dp += g_p
            if self.needs_grad(2):
                g_v = unbroadcast(d.swapaxes(-1, -2) @ g_o, v.shape)
        else:
            dp = g_p.copy()
        dp -= (dp * p).sum(axis=-1, keepdims=True)
        dp *= p  # now dS
        g_q = None
        if self.needs_grad(0):
            g_q = dp @ k
            g_q *= self.scale
            g_q = unbroadcast(g_q, q.shape)
        g_k = unbroadcast(dp.swapaxes(-1, -2) @ q, k.shape) if self.needs_grad(1) else None  # q is scaled
        return g_q, g_k, g_v
        # END SOLUTION
