"""Recurrent steps and layers composed from primitive ops: the Elman RNN, the GRU and the LSTM
(whose layer is also the fused :class:`tinyllm.fused.LSTMLayer`'s twin).

A *cell* is one step: x (B, I) and the state (B, H) -> the new state. A *layer* runs a cell over
packed rows (see :mod:`tinyllm.nn.utils.rnn`); all three layers share :func:`run_cell`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from tinyllm import ops
from tinyllm.tensor import Tensor

#: The elementwise functions an Elman RNN may apply, by PyTorch's names.
NONLINEARITIES: dict[str, Callable[[Tensor], Tensor]] = {"tanh": ops.tanh, "relu": ops.relu}


def rnn_cell(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None, b_hh: Tensor | None = None,
    nonlinearity: str = "tanh",
) -> Tensor:  # fmt: skip
    """One Elman RNN step: x (B, I), h (B, H) -> h' = act(x W_ih^T + b_ih + h W_hh^T + b_hh).

    ``nonlinearity``: "tanh" or "relu", as in PyTorch's ``nn.RNN``.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"rnn_cell: nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")
    return NONLINEARITIES[nonlinearity](ops.linear(x, w_ih, b_ih) + ops.linear(h, w_hh, b_hh))


def gru_cell(
    x: Tensor, h: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None, b_hh: Tensor | None = None
) -> Tensor:
    """One GRU step: x (B, I), h (B, H) -> h'.

    Gates in PyTorch's order (r, z, n), each a third of the stacked weights:
    r = sigmoid(W_ir x + b_ir + W_hr h + b_hr)     (reset: how much of h the candidate sees)
    z = sigmoid(W_iz x + b_iz + W_hz h + b_hz)     (update: how much of h is kept)
    n = tanh(W_in x + b_in + r * (W_hn h + b_hn))  (candidate; r scales h's term *with* its bias)
    h' = (1 - z) n + z h.
    """
    sizes = [w_hh.shape[1]] * 3  # sizes, not one size: H may be 0
    i_r, i_z, i_n = ops.split(ops.linear(x, w_ih, b_ih), sizes, dim=1)
    h_r, h_z, h_n = ops.split(ops.linear(h, w_hh, b_hh), sizes, dim=1)
    r, z = ops.sigmoid(i_r + h_r), ops.sigmoid(i_z + h_z)
    n = ops.tanh(i_n + r * h_n)
    return n + z * (h - n)


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


def run_cell(
    step: Callable[..., tuple[Tensor, ...]], x: Tensor, state: tuple[Tensor, ...],
    batch_sizes: Sequence[int] | None = None,
) -> tuple[Tensor, tuple[Tensor, ...]]:  # fmt: skip
    """Run ``step(x_t, *state) -> new state`` over packed rows: the loop every layer shares.

    x: (N, I), ``batch_sizes[t]`` rows at step t (without ``batch_sizes``, every step has all
    B = state[0].shape[0] rows); state: (h,) or (h, c), each (B, H). At step t only the first
    ``batch_sizes[t]`` rows advance (the sequences still running, longest first); the others
    keep their state. Returns (y (N, H), the h of every row packed like x; the final state).
    """
    B = state[0].shape[0]
    sizes = [B] * (x.shape[0] // B) if batch_sizes is None else [int(n) for n in batch_sizes]
    outputs = []
    start = 0
    for n in sizes:
        x_t = x[start : start + n]
        start += n
        if n == B:
            state = step(x_t, *state)
            outputs.append(state[0])
            continue
        new = step(x_t, *(s[:n] for s in state))
        outputs.append(new[0])
        state = tuple(ops.cat([s_new, s[n:]], 0) for s_new, s in zip(new, state))
    return ops.cat(outputs, 0), state


def rnn_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None, b_hh: Tensor | None = None,
    batch_sizes: Sequence[int] | None = None, nonlinearity: str = "tanh",
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """:func:`rnn_cell` over packed rows x (N, I) from h0 (B, H) -> (y (N, H), h_n); see :func:`run_cell`."""
    y, (h,) = run_cell(lambda x, h: (rnn_cell(x, h, w_ih, w_hh, b_ih, b_hh, nonlinearity),), x, (h0,), batch_sizes)
    return y, h


def gru_layer(
    x: Tensor, h0: Tensor, w_ih: Tensor, w_hh: Tensor, b_ih: Tensor | None = None, b_hh: Tensor | None = None,
    batch_sizes: Sequence[int] | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """:func:`gru_cell` over packed rows x (N, I) from h0 (B, H) -> (y (N, H), h_n); see :func:`run_cell`."""
    y, (h,) = run_cell(lambda x, h: (gru_cell(x, h, w_ih, w_hh, b_ih, b_hh),), x, (h0,), batch_sizes)
    return y, h


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
    y, (h, c) = run_cell(lambda x, h, c: lstm_cell(x, h, c, w_ih, w_hh, b_ih, b_hh), x, (h0, c0), batch_sizes)
    return y, h, c
