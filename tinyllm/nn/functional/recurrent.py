"""The LSTM's step and layer, composed from primitive ops (the fused layer's twin)."""

from __future__ import annotations

from typing import Sequence

from tinyllm import backend, ops
from tinyllm.tensor import Tensor, _new_tensor


def lstm_cell(
    x: Tensor, h: Tensor, c: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """One LSTM step: x (B, I), state h, c (B, H) -> new (h, c).

    Gates in PyTorch's order (i, f, g, o):
    [a_i, a_f, a_g, a_o] = x W_ih^T + b_ih + h W_hh^T + b_hh;
    i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g); c' = f c + i g; h' = o tanh(c').
    """
    a = ops.linear(x, w_ih, b_ih) + ops.linear(h, w_hh, b_hh)
    i, f, g, o = ops.split(a, w_hh.shape[1], dim=1)
    c_new = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c_new), c_new


def lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None, batch_sizes: Sequence[int] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """:class:`tinyllm.fused.LSTMLayer` step by step with :func:`lstm_cell`: x (T, B, I) ->
    (y (T, B, H), h_n, c_n). At step t only the first ``batch_sizes[t]`` rows advance;
    the rest keep their state, and their outputs are zero."""
    T, B = x.shape[0], x.shape[1]
    sizes = [B] * T if batch_sizes is None else list(batch_sizes)
    xp = backend.get_array_module(x.data)
    h, c = h0, c0
    outputs = []
    for t, n in enumerate(sizes):
        if n == B:
            h, c = lstm_cell(x[t], h, c, w_ih, w_hh, b_ih, b_hh)
            outputs.append(h)
            continue
        h_new, c_new = lstm_cell(x[t, :n], h[:n], c[:n], w_ih, w_hh, b_ih, b_hh)
        outputs.append(ops.cat([h_new, _new_tensor(xp.zeros((B - n, h.shape[1]), dtype=h.dtype))], 0))
        h, c = ops.cat([h_new, h[n:]], 0), ops.cat([c_new, c[n:]], 0)
    return ops.stack(outputs, 0), h, c
