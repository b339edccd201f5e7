"""Checks of the sequence layers: backpropagation through time in the LSTM, and attention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import fused, nn, optim

from .common import (
    array,
    backward,
    check,
    close,
    expect,
    gradcheck,
    rng,
    same_shape_and_dtype,
    sigmoid,
    train,
)

# ----------------------------------------------------------------------------- LSTM


def _lstm(x: np.ndarray, h0: np.ndarray, c0: np.ndarray, w_ih: np.ndarray, w_hh: np.ndarray,
          b_ih: np.ndarray | None, b_hh: np.ndarray | None, sizes: Sequence[int]) -> tuple[Any, Any, Any]:  # fmt: skip
    """The LSTM over packed rows (``sizes[t]`` rows at step t), in NumPy: (y, h_n, c_n)."""
    H = w_hh.shape[1]
    h, c, ys, start = h0, c0, [], 0
    for n in sizes:
        a = x[start : start + n] @ w_ih.T + h[:n] @ w_hh.T
        if b_ih is not None:
            a = a + b_ih + b_hh
        start += n
        i, f, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), sigmoid(a[:, 3 * H :])
        g = np.tanh(a[:, 2 * H : 3 * H])
        c_new = f * c[:n] + i * g
        h_new = o * np.tanh(c_new)
        ys.append(h_new)
        h, c = np.concatenate([h_new, h[n:]]), np.concatenate([c_new, c[n:]])
    return np.concatenate(ys), h, c


def _lstm_arrays(
    r: np.random.Generator, sizes: list[int], C: int = 3, H: int = 2, bias: bool = True
) -> list[np.ndarray]:
    B = sizes[0]
    shapes = [(sum(sizes), C), (B, H), (B, H), (4 * H, C), (4 * H, H)] + ([(4 * H,), (4 * H,)] if bias else [])
    return [r.standard_normal(s) * 0.7 for s in shapes]


_LSTM_NAMES = ["x", "h0", "c0", "w_ih", "w_hh", "b_ih", "b_hh"]


@check
def lstm_shapes() -> None:
    r = rng(40)
    for bias in (True, False):
        ts = [tl.tensor(a.astype(np.float32), requires_grad=True) for a in _lstm_arrays(r, [2, 2, 2], bias=bias)]
        y, h, c = fused.LSTMLayer.apply(*ts, batch_sizes=[2, 2, 2])
        backward((y, h, c), [np.ones(y.shape), np.ones(h.shape), np.ones(c.shape)])
        for name, t in zip(_LSTM_NAMES, ts):
            same_shape_and_dtype(t.grad, t, f"LSTM layer{'' if bias else ' without bias'}, {name}")


@check
def lstm_values() -> None:
    """One step from (h0, c0): every gradient in closed form."""
    r = rng(41)
    x, h0, c0, w_ih, w_hh, b_ih, b_hh = _lstm_arrays(r, [2], C=3, H=2)
    u, uc = r.standard_normal((2, 2)), r.standard_normal((2, 2))
    H = 2
    a = x @ w_ih.T + b_ih + h0 @ w_hh.T + b_hh
    i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H]), np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
    c = f * c0 + i * g
    tc = np.tanh(c)
    dc = u * o * (1 - tc**2) + uc
    da = np.concatenate([dc * g * i * (1 - i), dc * c0 * f * (1 - f), dc * i * (1 - g**2), u * tc * o * (1 - o)], 1)
    ts = [tl.tensor(v, requires_grad=True) for v in (x, h0, c0, w_ih, w_hh, b_ih, b_hh)]
    y, _, c_n = fused.LSTMLayer.apply(*ts, batch_sizes=[2])
    backward((y, c_n), [u, uc])
    expected = [da @ w_ih, da @ w_hh, dc * f, da.T @ x, da.T @ h0, da.sum(0), da.sum(0)]
    for name, t, e in zip(_LSTM_NAMES, ts, expected):
        close(t.grad, e, f"one LSTM step, d/d{name}")


@check
def lstm_gradcheck() -> None:
    r = rng(42)
    for sizes, bias in (([2, 2, 2], True), ([3, 2, 2, 1], True), ([2, 1], False)):
        arrays = _lstm_arrays(r, sizes, bias=bias)
        gradcheck(
            f"LSTM layer, batch_sizes {sizes}{'' if bias else ', no bias'}, through y, h_n and c_n",
            lambda *ts, sizes=sizes: fused.LSTMLayer.apply(*ts, batch_sizes=sizes),
            lambda *xs, sizes=sizes, bias=bias: _lstm(*xs, *([] if bias else [None, None]), sizes),  # type: ignore[misc]
            arrays, _LSTM_NAMES[: len(arrays)],
        )  # fmt: skip


@check
def lstm_training() -> None:
    """Predict the sum of a sequence of numbers from the last hidden state."""
    tl.manual_seed(0)
    r = rng(43)
    x = r.uniform(-1, 1, (6, 32, 1))  # (T, B, features)
    xt, y = tl.tensor(x, dtype=tl.float32), tl.tensor(x.sum(axis=0), dtype=tl.float32)
    lstm, head = nn.LSTM(1, 12), nn.Linear(12, 1)
    opt = optim.Adam(list(lstm.parameters()) + list(head.parameters()), lr=3e-2)

    first, last = train(lambda: ((head(lstm(xt)[1][0][0]) - y) ** 2).mean(), opt, 80)
    expect(last < 0.1 * first, f"an LSTM did not learn to sum: loss {first:.3g} -> {last:.3g}")


# ----------------------------------------------------------------------------- attention


def _attention(q: np.ndarray, k: np.ndarray, v: np.ndarray, scale: float, mask: Any = None,
               keep: Any = None) -> tuple[np.ndarray, np.ndarray]:  # fmt: skip
    """softmax(scale q k^T + mask) (dropped out by ``keep``) @ v, and the weights, in NumPy."""
    s = scale * q @ k.swapaxes(-1, -2)
    if mask is not None:
        s = np.where(mask, s, -np.inf) if mask.dtype == bool else s + mask
    m = s.max(axis=-1, keepdims=True)
    e = np.exp(s - np.where(np.isfinite(m), m, 0))
    z = e.sum(axis=-1, keepdims=True)
    p = e / np.where(z == 0, 1, z)  # a query that may see no key gets weights 0
    return (p if keep is None else p * keep) @ v, p


@check
def attention_shapes() -> None:
    r = rng(50)
    q, k, v = (
        tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True)
        for s in ((2, 3, 4), (2, 5, 4), (2, 5, 6))
    )
    out, weights = F.scaled_dot_product_attention(q, k, v, need_weights=True)
    backward((out, weights), [np.ones(out.shape), np.ones(weights.shape)])
    for name, t in (("query", q), ("key", k), ("value", v)):
        same_shape_and_dtype(t.grad, t, f"attention, {name}")


@check
def attention_values() -> None:
    r = rng(51)
    q, k, v = r.standard_normal((3, 4)), r.standard_normal((5, 4)), r.standard_normal((5, 2))
    u = r.standard_normal((3, 2))
    scale = 0.5
    p = _attention(q, k, v, scale)[1]
    dp = u @ v.T
    ds = p * (dp - (dp * p).sum(axis=-1, keepdims=True))
    ts = [tl.tensor(a, requires_grad=True) for a in (q, k, v)]
    backward(F.scaled_dot_product_attention(*ts, scale=scale), [u])
    close(ts[2].grad, p.T @ u, "dV = P^T dO")
    close(ts[0].grad, scale * ds @ k, "dQ = scale dS K, with dS = P (dP - rowsum(dP P))")
    close(ts[1].grad, scale * ds.T @ q, "dK = scale dS^T Q")


@check
def attention_gradcheck() -> None:
    r = rng(52)
    q, k, v = r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 5))
    causal = np.tril(np.ones((3, 3), dtype=bool))
    gradcheck("causal attention, through output and weights",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True, need_weights=True),
              lambda a, b, c: _attention(a, b, c, 0.5, causal), [q, k, v], ["query", "key", "value"])  # fmt: skip
    additive = r.standard_normal((3, 3))
    keep = (r.random((2, 3, 3)) > 0.3) / 0.7
    gradcheck("a float mask and a dropout keep-mask, through output and weights",
              lambda a, b, c: fused.Attention.apply(a, b, c, scale=0.3, mask=additive, keep=keep),
              lambda a, b, c: _attention(a, b, c, 0.3, additive, keep),
              [q, k, v], ["query", "key", "value"])  # fmt: skip
    kb, vb = r.standard_normal((1, 4, 4)), r.standard_normal((4, 5))
    gradcheck("keys and values broadcast over the batch",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c),
              lambda a, b, c: _attention(a, b, c, 0.5)[0], [q, kb, vb], ["query", "key", "value"])  # fmt: skip
    blind = np.ones((3, 3), dtype=bool)
    blind[1] = False  # query 1 may attend to nothing: zero output, zero gradient
    gradcheck("a query that sees no key",
              lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=tl.tensor(blind)),
              lambda a, b, c: _attention(a, b, c, 0.5, blind)[0], [q, k, v], ["query", "key", "value"])  # fmt: skip


@check
def attention_training() -> None:
    """Fit a self-attention layer to the outputs of another one."""
    tl.manual_seed(0)
    x = tl.randn(8, 5, 8)
    teacher, student = nn.MultiheadSelfAttention(8, 2, causal=True), nn.MultiheadSelfAttention(8, 2, causal=True)
    with tl.no_grad():
        target = teacher(x)
    opt = optim.Adam(student.parameters(), lr=1e-2)

    first, last = train(lambda: ((student(x) - target) ** 2).mean(), opt, 120)
    expect(last < 0.1 * first, f"self-attention did not fit its teacher: loss {first:.3g} -> {last:.3g}")
    expect(array(student.in_proj_weight.grad).any(), "no gradient reached the query/key/value projection")
