"""One LSTM layer over a whole sequence in one node: the recurrence and backpropagation through time."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from typing import Any

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module


class LSTMLayer(Function):
    """An LSTM layer run over a packed batch of sequences, from the state (h0, c0): (B, H) each.

    At every step t, with gates in PyTorch's order (i, f, g, o):

        [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
        i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
        c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

    x: (N, I) holds the steps' inputs one after another, as in a PackedSequence: the
    batch is sorted longest first, step t has ``batch_sizes[t]`` rows (the sequences
    still running, always the first ones), and a full batch of T steps is simply
    x (T, B, I) reshaped to (T * B, I). Only real elements are ever computed.

    The input projection x_t W_ih^T does not depend on the recurrence, so it is one
    matrix product for all steps; only h_{t-1} W_hh^T runs step by step. A sequence
    that has ended keeps its state, so (h_n, c_n) is each one's state at its own
    last step.

    Backward runs the steps in reverse (backpropagation through time). With dh and
    dc the gradients reaching h_t and c_t:

        dc_t += dh_t * o * (1 - tanh(c_t)^2)
        da_o = dh_t * tanh(c_t) * o (1 - o);   da_i = dc_t * g * i (1 - i)
        da_f = dc_t * c_{t-1} * f (1 - f);     da_g = dc_t * i * (1 - g^2)
        dh_{t-1} = da W_hh;   dc_{t-1} = dc_t * f

    The factors beside dc_t and dh_t (g i (1 - i), ...) do not depend on the walk, so
    they are computed for all steps at once before it, leaving a few operations per
    step. The weight gradients are again single products over all steps:
    dW_ih = da^T x, dW_hh = da^T h_prev, db = sum of da.

    Inputs: x, h0, c0, w_ih (4H, I), w_hh (4H, H), then b_ih and b_hh (4H,) if
    ``bias``. Outputs: y (N, H) (packed like x), h_n (B, H), c_n (B, H).
    """

    def forward(self, x: Any, h0: Any, c0: Any, w_ih: Any, w_hh: Any, *biases: Any,
                batch_sizes: Sequence[int]) -> tuple[Any, Any, Any]:  # fmt: skip
        xp = get_array_module(x)
        N, H = x.shape[0], w_hh.shape[1]
        sizes = [int(n) for n in batch_sizes]
        starts = [0]
        for n in sizes[:-1]:
            starts.append(starts[-1] + n)
        # Every gate from one exp: sigmoid(a) = 1 / (1 + exp(-a)) for i, f, o and
        # tanh(a) = 2 sigmoid(2a) - 1 for g (exp costs less than half of tanh). Weight rows scaled
        # by -1 (i, f, o) and -2 (g), exactly, make the products give -a and -2a directly.
        scale = xp.full((4 * H, 1), -1.0, dtype=x.dtype)
        scale[2 * H : 3 * H] = -2.0
        acts = x @ (scale * w_ih).T  # (N, 4H): becomes the gate values
        if biases:
            acts += scale[:, 0] * (biases[0] + biases[1])
        w_hh_t = (scale * w_hh).T
        cs = xp.empty((N, H), dtype=x.dtype)
        tanh_cs = xp.empty((N, H), dtype=x.dtype)
        y = xp.empty((N, H), dtype=x.dtype)
        # exp(-a) overflows to inf for a saturated gate, and 1 / (1 + inf) = 0 is its value: no warning
        quiet = xp.errstate(over="ignore") if hasattr(xp, "errstate") else contextlib.nullcontext()
        with quiet:  # (CuPy has no errstate: its kernels never warn)
            for t, (r, n) in enumerate(zip(starts, sizes)):
                if t:
                    p = starts[t - 1]
                    h_prev, c_prev = y[p : p + n], cs[p : p + n]
                else:
                    h_prev, c_prev = h0[:n], c0[:n]
                a = acts[r : r + n]
                a += h_prev @ w_hh_t
                xp.exp(a, out=a)
                a += 1
                xp.reciprocal(a, out=a)
                i, f, g, o = a[:, :H], a[:, H : 2 * H], a[:, 2 * H : 3 * H], a[:, 3 * H :]
                g *= 2
                g -= 1
                c = cs[r : r + n]
                xp.multiply(f, c_prev, out=c)
                c += i * g
                xp.tanh(c, out=tanh_cs[r : r + n])
                xp.multiply(o, tanh_cs[r : r + n], out=y[r : r + n])
        # each sequence's last row: sequence j ends at step t when batch_sizes[t + 1] <= j < batch_sizes[t]
        last_rows: list[int] = []
        for t in range(len(sizes) - 1, -1, -1):  # latest step first: j ascending
            last_rows.extend(range(starts[t] + (sizes[t + 1] if t + 1 < len(sizes) else 0), starts[t] + sizes[t]))
        last = xp.asarray(last_rows, dtype=xp.int64)  # int if B = 0
        self.x, self.h0, self.c0, self.w_ih, self.w_hh = x, h0, c0, w_ih, w_hh
        self.acts, self.cs, self.tanh_cs, self.y = acts, cs, tanh_cs, y
        self.sizes, self.starts = sizes, starts
        return y, y[last], cs[last]

    def backward(self, gy: Any, gh_n: Any, gc_n: Any) -> tuple[Any, ...]:
        xp = get_array_module(self.x)
        x, acts, cs, tanh_cs, y, w_hh = self.x, self.acts, self.cs, self.tanh_cs, self.y, self.w_hh
        sizes, starts = self.sizes, self.starts
        N, H, B = x.shape[0], w_hh.shape[1], sizes[0]
        # Every row's previous state: step t >= 1 continues the first batch_sizes[t] rows of step t - 1
        h_prev, c_prev = xp.empty((N, H), dtype=x.dtype), xp.empty((N, H), dtype=x.dtype)
        h_prev[:B], c_prev[:B] = self.h0[:B], self.c0[:B]
        for t in range(1, len(sizes)):
            p, r, n = starts[t - 1], starts[t], sizes[t]
            h_prev[r : r + n], c_prev[r : r + n] = y[p : p + n], cs[p : p + n]
        # The reverse walk below makes da (N, 4H), every step's pre-activation gradients (order
        # i, f, g, o), and leaves in dh, dc (B, H) the gradients of h0 and c0. A sequence's rows
        # of dh and dc are first used when the walk reaches its last step, so they start as
        # the gradients of h_n and c_n.
        dh = xp.zeros((B, H), dtype=x.dtype) if gh_n is None else gh_n.copy()
        dc = xp.zeros((B, H), dtype=x.dtype) if gc_n is None else gc_n.copy()
        # BEGIN SOLUTION task=lstm
        # First, what each gradient is multiplied by, for all steps at once:
        #   da_i = dc_t * g i (1 - i),   da_f = dc_t * c_{t-1} f (1 - f),   da_g = dc_t * i (1 - g^2),
        #   da_o = dh_t * tanh(c_t) o (1 - o);   and dh_t reaches c_t times o (1 - tanh(c_t)^2).
        i, f, g, o = (acts[:, k * H : (k + 1) * H] for k in range(4))
        da = 1 - acts
        da *= acts  # s (1 - s): each sigmoid's derivative (g's slot is overwritten next)
        xp.multiply(g, g, out=da[:, 2 * H : 3 * H])
        xp.subtract(1, da[:, 2 * H : 3 * H], out=da[:, 2 * H : 3 * H])
        da[:, :H] *= g
        da[:, H : 2 * H] *= c_prev
        da[:, 2 * H : 3 * H] *= i
        da[:, 3 * H :] *= tanh_cs
        o_dtanh = tanh_cs * tanh_cs
        xp.subtract(1, o_dtanh, out=o_dtanh)
        o_dtanh *= o
        for t in range(len(sizes) - 1, -1, -1):
            r, n = starts[t], sizes[t]
            dh_t, dc_t = dh[:n], dc[:n]  # what reaches h_t and c_t from step t + 1 (or from h_n, c_n)
            if gy is not None:
                dh_t += gy[r : r + n]  # ... and from the output at step t
            dc_t += dh_t * o_dtanh[r : r + n]
            d = da[r : r + n].reshape(n, 4, H)
            d[:, :3] *= dc_t[:, None, :]  # i, f and g act through c_t
            d[:, 3] *= dh_t  # o through h_t
            xp.matmul(da[r : r + n], w_hh, out=dh[:n])  # dh_{t-1}
            dc_t *= f[r : r + n]  # dc_{t-1}
        # END SOLUTION
        gx = da @ self.w_ih if self.needs_grad(0) else None
        g_w_ih = da.T @ x if self.needs_grad(3) else None
        g_w_hh = da.T @ h_prev if self.needs_grad(4) else None
        grads = (gx, dh, dc, g_w_ih, g_w_hh)
        if len(self.inputs) == 5:  # type: ignore[arg-type]
            return grads
        g_b = da.sum(axis=0)
        return (*grads, g_b, g_b.copy())
