"""Matrix multiplication, batched and broadcast like ``numpy.matmul`` / ``torch.matmul``."""

from __future__ import annotations

from typing import Any

from tinyllm.ops.elementwise import unbroadcast
from tinyllm.tensor import Function


class MatMul(Function):
    """Y = A @ B over the last two axes (leading axes broadcast);
    dA = dY @ B^T,  dB = A^T @ dY  (each summed over broadcast batch axes).

    A 1-D operand is a row vector on the left or a column vector on the right, as
    in NumPy; backward treats it as that matrix and drops the added axis again.
    """

    def forward(self, a: Any, b: Any) -> Any:
        self.a, self.b = a, b
        return a @ b

    def backward(self, gy: Any) -> tuple[Any, Any]:
        # BEGIN SOLUTION task=matmul
        a, b = self.a, self.b
        a2 = a.reshape(1, -1) if a.ndim == 1 else a
        b2 = b.reshape(-1, 1) if b.ndim == 1 else b
        if a.ndim == 1:
            gy = gy[..., None, :] if b.ndim > 1 else gy[..., None]
        if b.ndim == 1:
            gy = gy[..., None]
        ga = gb = None
        if self.needs_grad(0):
            ga = unbroadcast(gy @ b2.swapaxes(-1, -2), a2.shape).reshape(a.shape)
        if self.needs_grad(1):
            gb = unbroadcast(a2.swapaxes(-1, -2) @ gy, b2.shape).reshape(b.shape)
        return ga, gb
        # END SOLUTION


class Linear(Function):
    """Y = X W^T + b, the affine map of a fully connected layer, X: (..., in), W: (out, in), b: (out,);
    dX = dY W,  dW = dY^T X,  db = sum of dY over every axis but the last.

    One node instead of transpose, matmul and add: leading axes are folded into
    one, so each gradient is a single matrix product.
    """

    def forward(self, x: Any, w: Any, b: Any = None) -> Any:
        self.x, self.w = x, w
        # one (N, in) @ (in, out) product: a stack of small products, as broadcasting
        # matmul over leading axes would run, is several times slower
        y = x.reshape(-1, x.shape[-1]) @ w.T
        if b is not None:
            y += b
        return y.reshape(*x.shape[:-1], w.shape[0])

    def backward(self, gy: Any) -> tuple[Any, ...]:
        # BEGIN SOLUTION task=matmul
        x, w = self.x, self.w
        g2 = gy.reshape(-1, gy.shape[-1])
        gx = (g2 @ w).reshape(x.shape) if self.needs_grad(0) else None
        gw = g2.T @ x.reshape(-1, x.shape[-1]) if self.needs_grad(1) else None
        if len(self.inputs) == 2:  # type: ignore[arg-type]
            return gx, gw
        gb = g2.sum(axis=0) if self.needs_grad(2) else None
        return gx, gw, gb
        # END SOLUTION
