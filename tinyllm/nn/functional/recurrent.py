"""The LSTM's step and layer, composed from primitive ops (the fused layer's twin)."""

from __future__ import annotations

from collections.abc import Sequence

from tinyllm import ops
from tinyllm.tensor import Tensor


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
    i, f, g, o = ops.split(a, [w_hh.shape[1]] * 4, dim=1)  # sizes, not one size: H may be 0
    c_new = ops.sigmoid(f) * c + ops.sigmoid(i) * ops.tanh(g)
    return ops.sigmoid(o) * ops.tanh(c_new), c_new


def lstm_layer(
    x: Tensor, h0: Tensor, c0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None,
    b_hh: Tensor | None = None, batch_sizes: Sequence[int] | None = None,
) -> tuple[Tensor, Tensor, Tensor]:  # fmt: skip
    """:class:`tinyllm.fused.LSTMLayer` step by step with :func:`lstm_cell`.

    x: (N, I), the packed steps (``batch_sizes[t]`` rows at step t; without
    ``batch_sizes``, every step has all B = h0.shape[0] rows) -> (y (N, H) packed
    like x, h_n, c_n). At step t only the first ``batch_sizes[t]`` rows advance; the
    others keep their state.
    """
    B = h0.shape[0]
    sizes = [B] * (x.shape[0] // B) if batch_sizes is None else [int(n) for n in batch_sizes]
    h, c = h0, c0
    outputs = []
    start = 0
    for n in sizes:
        x_t = x[start : start + n]
        start += n
        if n == B:
            h, c = lstm_cell(x_t, h, c, w_ih, w_hh, b_ih, b_hh)
            outputs.append(h)
            continue
        h_new, c_new = lstm_cell(x_t, h[:n], c[:n], w_ih, w_hh, b_ih, b_hh)
        outputs.append(h_new)
        h, c = ops.cat([h_new, h[n:]], 0), ops.cat([c_new, c[n:]], 0)
    return ops.cat(outputs, 0), h, c
