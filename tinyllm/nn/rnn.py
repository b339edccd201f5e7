"""Recurrent layers: RNN, GRU and LSTM over whole sequences (stacked, bidirectional, variable
lengths), and their one-step cells RNNCell, GRUCell and LSTMCell.

The three layers differ only in their step (see :mod:`tinyllm.nn.functional.recurrent`) and in
their state, (h,) or (h, c); :class:`_RecurrentBase` holds what they share: the parameters, the
input forms (padded, batch first, unbatched, packed, ``lengths=``), the checks, and the loop over
layers and directions with dropout between layers.
"""

from __future__ import annotations

import math
from typing import Any

from tinyllm import backend, ops
from tinyllm import fused as fused_ops
from tinyllm.nn import functional as F
from tinyllm.nn import init
from tinyllm.nn.functional.recurrent import NONLINEARITIES
from tinyllm.nn.layers import _empty
from tinyllm.nn.module import Module
from tinyllm.nn.utils.rnn import (
    PackedSequence,
    batch_sizes_of,
    check_lengths,
    index_on_device,
    packed_source_rows,
    padded_source_rows,
    reversed_rows,
    sort_by_length,
)
from tinyllm.tensor import Tensor, from_array

#: A layer's state inside the shared code: (h,) for RNN and GRU, (h, c) for LSTM.
State = tuple[Tensor, ...]


def _init_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent init: every weight and bias from U(-1/sqrt(H), 1/sqrt(H)) (H = 0: no weights)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _zeros_state(like: Tensor, batch: int, hidden: int) -> Tensor:
    xp = backend.get_array_module(like.data)
    return from_array(xp.zeros((batch, hidden), dtype=like.dtype))


def _check_nonlinearity(name: str, nonlinearity: str) -> None:
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"{name}: nonlinearity must be 'tanh' or 'relu', not {nonlinearity!r}")


# ----------------------------------------------------------------------------- cells


class _CellBase(Module):
    """What the cells share: weights stacked ``_gates`` high, and the checks on one step's input and state."""

    _gates = 1
    _state_names: tuple[str, ...] = ("hx",)

    def __init__(self, input_size: int, hidden_size: int, bias: bool, device: str | backend.Device | None,
                 dtype: object) -> None:  # fmt: skip
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        G = self._gates * hidden_size
        self.weight_ih = _empty(G, input_size, device=device, dtype=dtype)
        self.weight_hh = _empty(G, hidden_size, device=device, dtype=dtype)
        self.bias_ih = _empty(G, device=device, dtype=dtype) if bias else None
        self.bias_hh = _empty(G, device=device, dtype=dtype) if bias else None
        _init_uniform(self, hidden_size)

    def _prepare(self, x: Tensor, state: State | None) -> tuple[Tensor, State, bool]:
        """x as (B, input_size) and the state as (B, hidden_size) each (zeros if not given), checked;
        and whether x came unbatched (1-D), so the caller can squeeze the result back."""
        name = type(self).__name__
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
            state = None if state is None else tuple(s.unsqueeze(0) for s in state)
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"{name}: input of shape {x.shape} should be (B, {self.input_size})")
        if state is None:
            return x, tuple(_zeros_state(x, x.shape[0], self.hidden_size) for _ in self._state_names), unbatched
        want = (x.shape[0], self.hidden_size)
        for n, t in zip(self._state_names, state):
            if t.shape != want:
                raise ValueError(f"{name}: {n} has shape {t.shape}, expected (B, hidden_size) = {want}")
        return x, state, unbatched

    def _weights(self) -> tuple[Tensor | None, ...]:
        return self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


class RNNCell(_CellBase):
    """One Elman RNN step: x (B, input_size), h (B, hidden_size) -> h' = act(W_ih x + b_ih + W_hh h + b_hh).

    ``nonlinearity``: "tanh" or "relu". Parameters ``weight_ih`` (H, I), ``weight_hh`` (H, H),
    ``bias_ih``, ``bias_hh`` (H,); see :func:`F.rnn_cell`. Unbatched x (input_size,) with h
    (hidden_size,) works too.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True, nonlinearity: str = "tanh",
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        _check_nonlinearity("RNNCell", nonlinearity)
        super().__init__(input_size, hidden_size, bias, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(x, None if hx is None else (hx,))
        h = F.rnn_cell(x, h, *self._weights(), nonlinearity=self.nonlinearity)
        return h.squeeze(0) if unbatched else h

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class GRUCell(_CellBase):
    """One GRU step: x (B, input_size), h (B, hidden_size) -> h'.

    Parameters ``weight_ih`` (3H, I), ``weight_hh`` (3H, H), ``bias_ih``, ``bias_hh`` (3H,),
    gates stacked in PyTorch's order (r, z, n); see :func:`F.gru_cell`. Unbatched x
    (input_size,) with h (hidden_size,) works too.
    """

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, x: Tensor, hx: Tensor | None = None) -> Tensor:
        x, (h,), unbatched = self._prepare(x, None if hx is None else (hx,))
        h = F.gru_cell(x, h, *self._weights())
        return h.squeeze(0) if unbatched else h


class LSTMCell(_CellBase):
    """One LSTM step: x (B, input_size), (h, c) (B, hidden_size) each -> new (h, c).

    Parameters ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh``
    (4H,), gates stacked in PyTorch's order (i, f, g, o); see :func:`F.lstm_cell`.
    """

    _gates = 4
    _state_names = ("h", "c")

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, bias, device, dtype)

    def forward(self, x: Tensor, hx: tuple[Tensor, Tensor] | None = None) -> tuple[Tensor, Tensor]:
        x, (h, c), unbatched = self._prepare(x, hx)
        h, c = F.lstm_cell(x, h, c, *self._weights())
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)


# ----------------------------------------------------------------------------- layers


class _RecurrentBase(Module):
    """The stack of layers and directions that RNN, GRU and LSTM share.

    A subclass names its step (``_layer``), how tall its stacked weights are (``_gates``) and its
    state (``_state_names``, with ``_state_of``/``_hx_of`` between the user's hx and the tuple).
    The layers work on packed rows (N, features) with ``sizes[t]`` sequences at step t, longest
    first; padded input is the special case of equal lengths. The reverse direction of a
    bidirectional layer runs forward over each sequence reversed within its own length.
    """

    _gates = 1
    _state_names: tuple[str, ...] = ("hx",)

    def __init__(self, input_size: int, hidden_size: int, num_layers: int, bias: bool, batch_first: bool,
                 dropout: float, bidirectional: bool, device: str | backend.Device | None,
                 dtype: object) -> None:  # fmt: skip
        super().__init__()
        name = type(self).__name__
        for what, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if value < 1:
                raise ValueError(f"{name}: {what} must be at least 1, not {value}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"{name}: dropout must be in [0, 1], not {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.bidirectional = bias, batch_first, dropout, bidirectional
        G, H, D = self._gates * hidden_size, hidden_size, self._directions
        for k in range(num_layers):  # PyTorch's order: per layer, per direction, w_ih, w_hh, b_ih, b_hh
            n_in = input_size if k == 0 else D * H
            for suffix in ("", "_reverse")[:D]:
                setattr(self, f"weight_ih_l{k}{suffix}", _empty(G, n_in, device=device, dtype=dtype))
                setattr(self, f"weight_hh_l{k}{suffix}", _empty(G, H, device=device, dtype=dtype))
                if bias:
                    setattr(self, f"bias_ih_l{k}{suffix}", _empty(G, device=device, dtype=dtype))
                    setattr(self, f"bias_hh_l{k}{suffix}", _empty(G, device=device, dtype=dtype))
        _init_uniform(self, H)

    @property
    def _directions(self) -> int:
        return 2 if self.bidirectional else 1

    def layer_weights(self, k: int, reverse: bool = False) -> list[Tensor]:
        """Layer k's [weight_ih, weight_hh(, bias_ih, bias_hh)], of the reverse direction if ``reverse``."""
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        suffix = "_reverse" if reverse else ""
        return [getattr(self, f"{n}_l{k}{suffix}") for n in names]

    def _layer(self, x: Tensor, state: State, weights: list[Tensor], sizes: Any) -> tuple[Tensor, State]:
        """One layer in one direction over packed rows x (N, I) -> (y (N, H), final state)."""
        raise NotImplementedError

    def _state_of(self, hx: Any) -> State | None:
        """The user's hx as the state tuple (here a single tensor h0)."""
        if hx is None:
            return None
        if not isinstance(hx, Tensor):
            raise TypeError(f"{type(self).__name__}: hx must be a tensor (h0), not {type(hx).__name__}")
        return (hx,)

    def _hx_of(self, state: State) -> Any:
        return state[0]

    def forward(self, x: Tensor | PackedSequence, hx: Any = None, lengths: Any = None) -> tuple[Any, Any]:
        name = type(self).__name__
        state = self._state_of(hx)
        if isinstance(x, PackedSequence):
            if lengths is not None:
                raise ValueError(f"{name}: a PackedSequence carries its lengths; do not pass lengths= too")
            out, state = self._forward_packed(x, state)
            return out, self._hx_of(state)
        unbatched = x.ndim == 2
        batch_dim = 0 if self.batch_first else 1
        if unbatched:  # x (T, features) is one sequence whatever batch_first says, as in PyTorch
            x = x.unsqueeze(batch_dim)
            if state is not None:
                for n, t in zip(self._state_names, state):
                    if t.ndim != 2:
                        raise ValueError(
                            f"{name}: with unbatched 2-D input, {n} must be 2-D ({self._rows}, hidden_size), "
                            f"not shape {t.shape}"
                        )
                state = tuple(s.unsqueeze(1) for s in state)
        if x.ndim != 3:
            raise ValueError(f"{name}: input must be (T, B, features) or (B, T, features), not shape {x.shape}")
        self._check_features(x.shape[2])
        if x.shape[1 - batch_dim] == 0:
            raise ValueError(f"{name}: input of shape {x.shape} has no time steps; T must be at least 1")
        if lengths is not None:
            y, state = self._run_with_lengths(x, lengths, state)
        else:  # every sequence runs all T steps: the packed rows are x, time-major
            x_tm = x.transpose(0, 1) if self.batch_first else x
            T, B = x_tm.shape[0], x_tm.shape[1]
            y, state = self._run(x_tm.reshape(T * B, self.input_size), [B] * T, state)
            y = y.reshape(T, B, self._directions * self.hidden_size)
            y = y.transpose(0, 1) if self.batch_first else y
        if unbatched:
            y, state = y.squeeze(batch_dim), tuple(s.squeeze(1) for s in state)
        return y, self._hx_of(state)

    @property
    def _rows(self) -> str:
        """How many rows the state has, in words, for error messages."""
        return "num_layers" if self._directions == 1 else "2 * num_layers"

    def _check_features(self, n: int) -> None:
        if n != self.input_size:
            raise ValueError(
                f"{type(self).__name__}: input has {n} features per step, but input_size is {self.input_size}"
            )

    def _check_state(self, state: State, batch: int) -> None:
        want = (self._directions * self.num_layers, batch, self.hidden_size)
        for n, t in zip(self._state_names, state):
            if t.shape != want:
                raise ValueError(
                    f"{type(self).__name__}: {n} has shape {t.shape}, expected ({self._rows}, B, hidden_size) = {want}"
                )

    def _run(self, x: Tensor, sizes: Any, state: State | None) -> tuple[Tensor, State]:
        """The layers over packed rows x (N, I) with ``sizes[t]`` rows at step t (batch sorted
        longest first); ``state`` in that sorted order, rows layer by layer, forward then reverse.
        Returns the packed outputs (N, D * H) and the final state."""
        B, D = int(sizes[0]), self._directions
        if state is not None:
            self._check_state(state, B)
        backward = index_on_device(reversed_rows(sizes), x) if D == 2 else None
        finals = []
        for k in range(self.num_layers):
            outputs = []
            for d in range(D):
                if state is None:
                    start = tuple(_zeros_state(x, B, self.hidden_size) for _ in self._state_names)
                else:
                    start = tuple(s[k * D + d] for s in state)
                weights = self.layer_weights(k, reverse=d == 1)
                if d == 0:
                    y, final = self._layer(x, start, weights, sizes)
                else:  # reverse each sequence in place, run forward, and put the outputs back
                    y, final = self._layer(ops.getitem(x, backward), start, weights, sizes)
                    y = ops.getitem(y, backward)
                outputs.append(y)
                finals.append(final)
            y = outputs[0] if D == 1 else ops.cat(outputs, 1)
            x = F.dropout(y, self.dropout, self.training) if k < self.num_layers - 1 else y
        return x, tuple(ops.stack([f[i] for f in finals], 0) for i in range(len(self._state_names)))

    def _forward_packed(self, seq: PackedSequence, state: State | None) -> tuple[PackedSequence, State]:
        data = seq.data
        if data.ndim != 2:
            raise ValueError(f"{type(self).__name__}: packed data must be (N, features), not shape {data.shape}")
        self._check_features(data.shape[1])
        sizes = seq.batch_sizes.numpy()
        if state is not None:  # before the reordering below, which would hide a wrong batch size
            self._check_state(state, int(sizes[0]))
        if state is not None and seq.sorted_indices is not None:
            order = index_on_device(seq.sorted_indices.data, data)
            state = tuple(s[:, order] for s in state)
        out, state = self._run(data, sizes, state)  # the layers read and write packed rows
        if seq.unsorted_indices is not None:
            inverse = index_on_device(seq.unsorted_indices.data, data)
            state = tuple(s[:, inverse] for s in state)
        return PackedSequence(out, seq.batch_sizes, seq.sorted_indices, seq.unsorted_indices), state

    def _run_with_lengths(self, x: Tensor, lengths: Any, state: State | None) -> tuple[Tensor, State]:
        """Padded x and lengths: pack (one gather), run, and put the outputs back in x's layout."""
        name = type(self).__name__
        B, T = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        lens = check_lengths(lengths, B, T, name)
        order, inverse = sort_by_length(lens, enforce_sorted=False, fn=name)
        sizes = batch_sizes_of(lens[order])
        rows = packed_source_rows(order, sizes, T, self.batch_first)
        packed = ops.getitem(x.reshape(B * T, self.input_size), index_on_device(rows, x))
        if state is not None:
            self._check_state(state, B)
            state = tuple(s[:, index_on_device(order, x)] for s in state)
        y, state = self._run(packed, sizes, state)
        # padded slots read one extra zero row past the packed ones
        y = ops.cat([y, _zeros_state(x, 1, self._directions * self.hidden_size)], 0)
        out = ops.getitem(y, index_on_device(padded_source_rows(order, sizes, T, self.batch_first), x))
        inv = index_on_device(inverse, x)
        return out, tuple(s[:, inv] for s in state)

    def extra_repr(self) -> str:
        s = f"{self.input_size}, {self.hidden_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


_LAYER_FORMS = """

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or (T, input_size)
    for one unbatched sequence, or a :class:`PackedSequence`. output: the last layer's h at
    every step, in the same form as x, with D * hidden_size features (D = 2 if
    ``bidirectional``: the forward and the reverse direction side by side). The state rows
    are (num_layers * D, B, hidden_size): layer 0 forward, layer 0 reverse, layer 1 forward, ...;
    each holds the state after each sequence's own last step (for the reverse direction:
    after its first). Between layers, ``dropout`` is applied to the outputs while training.
    Parameters per layer k: ``weight_ih_l{k}``, ``weight_hh_l{k}``, ``bias_ih_l{k}``,
    ``bias_hh_l{k}``, and the same with ``_reverse`` for the reverse direction, as in PyTorch.

    Variable lengths: pass a PackedSequence, or padded x with ``lengths=`` (B,) (tinyllm's
    addition). Either way padded steps never reach the state, and the output is zero there
    (with ``lengths=``, output keeps x's padded length).
"""


class RNN(_RecurrentBase):
    __doc__ = (
        """A stack of Elman RNN layers: ``output, h_n = rnn(x, h0)``, h' = act(W_ih x + b_ih + W_hh h + b_hh).

    ``nonlinearity``: "tanh" or "relu". h0, h_n: (num_layers * D, B, hidden_size)."""
        + _LAYER_FORMS
    )

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, nonlinearity: str = "tanh",
                 bias: bool = True, batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        _check_nonlinearity("RNN", nonlinearity)
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self.nonlinearity = nonlinearity

    def _layer(self, x: Tensor, state: State, weights: list[Tensor], sizes: Any) -> tuple[Tensor, State]:
        y, h = F.rnn_layer(x, state[0], *weights, batch_sizes=sizes, nonlinearity=self.nonlinearity)
        return y, (h,)

    def extra_repr(self) -> str:
        return super().extra_repr() + (f", nonlinearity={self.nonlinearity!r}" if self.nonlinearity != "tanh" else "")


class GRU(_RecurrentBase):
    __doc__ = (
        """A stack of GRU layers: ``output, h_n = gru(x, h0)``, gates (r, z, n) as in :func:`F.gru_cell`.

    h0, h_n: (num_layers * D, B, hidden_size)."""
        + _LAYER_FORMS
    )

    _gates = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)

    def _layer(self, x: Tensor, state: State, weights: list[Tensor], sizes: Any) -> tuple[Tensor, State]:
        y, h = F.gru_layer(x, state[0], *weights, batch_sizes=sizes)
        return y, (h,)


class LSTM(_RecurrentBase):
    __doc__ = (
        """A stack of LSTM layers: ``output, (h_n, c_n) = lstm(x, (h0, c0))``, gates as in :func:`F.lstm_cell`.

    h0, c0, h_n, c_n: (num_layers * D, B, hidden_size) each. ``fused=False`` runs the composed
    twin (:func:`F.lstm_layer`) instead of :class:`tinyllm.fused.LSTMLayer`."""
        + _LAYER_FORMS
    )

    _gates = 4
    _state_names = ("h0", "c0")

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, bidirectional: bool = False,
                 device: str | backend.Device | None = None, dtype: object = None,
                 fused: bool = True) -> None:  # fmt: skip
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, device, dtype)
        self.fused = fused

    def _state_of(self, hx: Any) -> State | None:
        if hx is None:
            return None
        if not isinstance(hx, (tuple, list)) or len(hx) != 2:
            raise TypeError(f"LSTM: hx must be a pair (h0, c0), not {type(hx).__name__}")
        return tuple(hx)

    def _hx_of(self, state: State) -> Any:
        return state[0], state[1]

    def _layer(self, x: Tensor, state: State, weights: list[Tensor], sizes: Any) -> tuple[Tensor, State]:
        if self.fused:
            y, h, c = fused_ops.LSTMLayer.apply(x, *state, *weights, batch_sizes=sizes)
        else:
            y, h, c = F.lstm_layer(x, *state, *weights, batch_sizes=sizes)
        return y, (h, c)
