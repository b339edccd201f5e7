"""Probes of the sequence layers: backpropagation through time in the LSTM, and attention."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import fused, nn, optim

from .common import Seen, backward, gradients, manual_seed, probe, rng, shape_and_dtype, train

# ----------------------------------------------------------------------------- LSTM

_LSTM_NAMES = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]


def _lstm_arrays(
    r: np.random.Generator, sizes: list[int], C: int = 3, H: int = 2, bias: bool = True
) -> list[np.ndarray]:
    B = sizes[0]
    shapes = [(sum(sizes), C), (B, H), (B, H), (4 * H, C), (4 * H, H)] + ([(4 * H,), (4 * H,)] if bias else [])
    return [r.standard_normal(s) * 0.7 for s in shapes]


@probe
def lstm_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 70)
    for bias in (True, False):
        ts = [tl.tensor(a.astype(np.float32), requires_grad=True) for a in _lstm_arrays(r, [2, 2, 2], bias=bias)]
        y, h, c = fused.LSTMLayer.apply(*ts, batch_sizes=[2, 2, 2])
        backward((y, h, c), [np.ones(y.shape), np.ones(h.shape), np.ones(c.shape)])
        for name, t in zip(_LSTM_NAMES, ts):
            shape_and_dtype(seen, f"LSTM layer{'' if bias else ' without bias'}, {name}", t.grad)


@probe
def lstm_values(seen: Seen, seed: int) -> None:
    """One step from (h0, c0), through the output and the cell state."""
    r = rng(seed, 71)
    ts = [tl.tensor(v, requires_grad=True) for v in _lstm_arrays(r, [2], C=3, H=2)]
    y, _, c_n = fused.LSTMLayer.apply(*ts, batch_sizes=[2])
    backward((y, c_n), [r.standard_normal((2, 2)), r.standard_normal((2, 2))])
    for name, t in zip(_LSTM_NAMES, ts):
        seen(f"one LSTM step, d/d{name}", t.grad)


@probe
def lstm_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 72)
    for sizes, bias in (([2, 2, 2], True), ([3, 2, 2, 1], True), ([2, 1], False)):
        arrays = _lstm_arrays(r, sizes, bias=bias)
        gradients(seen, f"LSTM layer, batch_sizes {sizes}{'' if bias else ', no bias'}, through y, h_n and c_n",
                  lambda *ts, sizes=sizes: fused.LSTMLayer.apply(*ts, batch_sizes=sizes), arrays,
                  _LSTM_NAMES[: len(arrays)], seed)  # fmt: skip


@probe
def lstm_training(seen: Seen, seed: int) -> None:
    """Predict the sum of a sequence of numbers from the last hidden state."""
    manual_seed(seed)
    x = rng(seed, 73).uniform(-1, 1, (6, 32, 1))  # (T, B, features)
    xt, y = tl.tensor(x, dtype=tl.float32), tl.tensor(x.sum(axis=0), dtype=tl.float32)
    lstm, head = nn.LSTM(1, 12), nn.Linear(12, 1)
    opt = optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=3e-2)
    train(seen, "an LSTM learning to sum", lambda: ((head(lstm(xt)[1][0][0]) - y) ** 2).mean(), opt, 80)


# ----------------------------------------------------------------------------- attention


@probe
def attention_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 74)
    q, k, v = (
        tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True)
        for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6))
    )
    out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True)
    backward((out, weights), [np.ones(out.shape), np.ones(weights.shape)])
    for name, t in (("query", q), ("key", k), ("value", v)):
        shape_and_dtype(seen, f"attention, {name}", t.grad)


@probe
def attention_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 75)
    ts = [tl.tensor(a, requires_grad=True) for a in (r.standard_normal((3, 4)), r.standard_normal((5, 4)),
                                                      r.standard_normal((5, 2)))]  # fmt: skip
    backward(F.scaled_dot_product_attention(*ts, scale=0.5), [r.standard_normal((3, 2))])
    for name, t in zip(("dQ", "dK", "dV"), ts):
        seen(f"softmax(0.5 Q K^T) V: {name}", t.grad)


@probe
def attention_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 76)
    q, k, v = r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 5))
    names = ["query", "key", "value"]
    gradients(seen, "causal attention, through output and weights",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, need_weights=True),
              [q, k, v], names, seed)  # fmt: skip
    additive, keep = r.standard_normal((3, 3)), (r.random((2, 3, 3)) > 0.3) / 0.7
    gradients(seen, "a float mask and a dropout keep-mask, through output and weights",
              lambda a, b, c: fused.Attention.apply(a, b, c, scale=0.3, mask=additive, keep=keep),
              [q, k, v], names, seed)  # fmt: skip
    kb, vb = r.standard_normal((1, 4, 4)), r.standard_normal((4, 5))
    gradients(seen, "keys and values broadcast over the batch",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c), [q, kb, vb], names, seed)  # fmt: skip
    blind = np.ones((3, 3), dtype=bool)
    blind[1] = False  # query 1 may attend to nothing: zero output, zero gradient
    gradients(seen, "a query that sees no key",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=tl.tensor(blind)),
              [q, k, v], names, seed)  # fmt: skip


@probe
def attention_training(seen: Seen, seed: int) -> None:
    """Fit a self-attention layer to the outputs of another one."""
    manual_seed(seed)
    x = tl.randn(8, 5, 8)
    teacher, student = nn.MultiheadSelfAttention(8, 2, causal=True), nn.MultiheadSelfAttention(8, 2, causal=True)
    with tl.no_grad():
        target = teacher(x)
    train(seen, "self-attention fitting its teacher", lambda: ((student(x) - target) ** 2).mean(),
          optim.Adam(student.parameters(), lr=1e-2), 120)  # fmt: skip
