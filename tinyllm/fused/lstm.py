"""One LSTM layer over a whole sequence in one node: the recurrence and backpropagation through time."""

from __future__ import annotations

from typing import Any, Sequence

from tinyllm.backend import get_array_module
from tinyllm.tensor import Function


def _sigmoid_(a: Any, xp: Any) -> None:
    """a <- sigmoid(a) in place, as (1 + tanh(a / 2)) / 2: the same function, and no exp overflows."""
    a *= 0.5
    xp.tanh(a, out=a)
    a += 1
    a *= 0.5


class LSTMLayer(Function):
    """An LSTM layer run over x: (T, B, I) from the state (h0, c0): (B, H) each.

    At every step t, with gates in PyTorch's order (i, f, g, o):

        [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    The input projection x_t W_ih^T does not depend on the recurrence, so it is one
    matrix product for all T steps; only h_{t-1} W_hh^T runs step by step.

    Variable lengths, as in a packed sequence: the batch is sorted by length,
    longest first, and ``batch_sizes[t]`` sequences are still running at step t,
    always the first ones. The step works on those rows only; the others keep
    their state, so each sequence's (h_n, c_n) is its state at its own last step
    and its outputs past its end are zero.

    Backward runs the steps in reverse (backpropagation through time). With dh and
    dc the gradients reaching h_t and c_t:

        dc_t += dh_t * o * (1 - tanh(c_t)^2)
        da_o = dh_t * tanh(c_t) * o (1 - o);   da_i = dc_t * g * i (1 - i)
        da_f = dc_t * c_{t-1} * f (1 - f);     da_g = dc_t * i * (1 - g^2)
        dh_{t-1} = da W_hh;   dc_{t-1} = dc_t * f

    and the weight gradients are again single products over all steps:
    dW_ih = da^T x, dW_hh = da^T h_prev, db = sum of da.

    Inputs: x, h0, c0, w_ih (4H, I), w_hh (4H, H), then b_ih and b_hh (4H,) if
    ``bias``. Outputs: y (T, B, H), h_n (B, H), c_n (B, H).
    """

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, *biases: Any,
                batch_sizes: Sequence[int] | None = None) -> tuple[Any, Any, Any]:  # fmt: skip
        xp = get_array_module(x)
        T, B, _ = x.shape
        H = w_hh.shape[1]
        sizes = [B] * T if batch_sizes is None else [int(n) for n in batch_sizes]
        acts = (x.reshape(T * B, -1) @ w_ih.T).reshape(T, B, 4 * H)  # becomes the gate values
        if biases:
            acts += biases[0] + biases[1]
        w_hh_t = w_hh.T
        cs = xp.zeros((T, B, H), dtype=x.dtype)
        tanh_cs = xp.zeros((T, B, H), dtype=x.dtype)
        y = xp.zeros((T, B, H), dtype=x.dtype)
        for t, n in enumerate(sizes):
            h_prev, c_prev = (y[t - 1, :n], cs[t - 1, :n]) if t else (h0[:n], c0[:n])
            a = acts[t, :n]
            a += h_prev @ w_hh_t
            _sigmoid_(a[:, : 2 * H], xp)
            _sigmoid_(a[:, 3 * H :], xp)
            xp.tanh(a[:, 2 * H : 3 * H], out=a[:, 2 * H : 3 * H])
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c = cs[t, :n]
            xp.multiply(f, c_prev, out=c)
            c += i * g
            xp.tanh(c, out=tanh_cs[t, :n])
            xp.multiply(o, tanh_cs[t, :n], out=y[t, :n])
        last = xp.asarray([sum(1 for n in sizes if n > b) - 1 for b in range(B)])
        rows = xp.arange(B)
        h_n, c_n = y[last, rows], cs[last, rows]
        self.x, self.h0, self.c0, self.w_ih, self.w_hh = x, h0, c0, w_ih, w_hh
        self.acts, self.cs, self.tanh_cs, self.y, self.sizes = acts, cs, tanh_cs, y, sizes
        self.last = last
        return y, h_n, c_n

    def backward(self, gy: Any, gh_n: Any, gc_n: Any) -> tuple[Any, ...]:
        xp = get_array_module(self.x)
        x, acts, cs, tanh_cs, y, w_hh = self.x, self.acts, self.cs, self.tanh_cs, self.y, self.w_hh
        T, B, _ = x.shape
        H = w_hh.shape[1]
        # Where a sequence ends, its h_n/c_n gradient enters: the running dh/dc start
        # at zero and pick it up at step last[b] (the step loop adds gy there too).
        g_out = xp.zeros((T, B, H), dtype=x.dtype) if gy is None else gy.copy()
        rows = xp.arange(B)
        if gh_n is not None:
            g_out[self.last, rows] += gh_n
        g_c = xp.zeros((T, B, H), dtype=x.dtype)
        if gc_n is not None:
            g_c[self.last, rows] = gc_n
        da = xp.zeros_like(acts)
        dh = xp.zeros((B, H), dtype=x.dtype)
        dc = xp.zeros((B, H), dtype=x.dtype)
        for t in range(T - 1, -1, -1):
            n = self.sizes[t]
            a = acts[t, :n]
            i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
            c_prev = cs[t - 1, :n] if t else self.c0[:n]
            tc = tanh_cs[t, :n]
            dh_t = dh[:n] + g_out[t, :n]
            dc_t = dc[:n] + g_c[t, :n] + dh_t * o * (1 - tc * tc)
            d = da[t, :n]
            d[:, 3 * H :] = dh_t * tc * o * (1 - o)
            d[:, :H] = dc_t * g * i * (1 - i)
            d[:, H : 2 * H] = dc_t * c_prev * f * (1 - f)
            d[:, 2 * H : 3 * H] = dc_t * i * (1 - g * g)
            dh[:n] = d @ w_hh
            dc[:n] = dc_t * f
        da2 = da.reshape(T * B, 4 * H)
        gx = (da2 @ self.w_ih).reshape(x.shape) if self.needs_grad(0) else None
        g_w_ih = da2.T @ x.reshape(T * B, -1) if self.needs_grad(3) else None
        g_w_hh = None
        if self.needs_grad(4):
            g_w_hh = da[0].T @ self.h0
            if T > 1:
                g_w_hh += da[1:].reshape(-1, 4 * H).T @ y[:-1].reshape(-1, H)
        grads = (gx, dh, dc, g_w_ih, g_w_hh)
        if len(self.inputs) == 5:  # type: ignore[arg-type]
            return grads
        g_b = da2.sum(axis=0)
        return (*grads, g_b, g_b.copy())
