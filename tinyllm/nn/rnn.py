"""Recurrent layers: LSTMCell (one step) and LSTM (whole sequences, stacked layers, variable lengths)."""

from __future__ import annotations

import math
from typing import Any

from tinyllm import backend, ops
from tinyllm import fused as fused_ops
from tinyllm.nn import functional as F
from tinyllm.nn import init
from tinyllm.nn.layers import _empty
from tinyllm.nn.module import Module
from tinyllm.nn.utils.rnn import (
    PackedSequence,
    batch_sizes_of,
    check_lengths,
    index_on_device,
    packed_source_rows,
    padded_source_rows,
    sort_by_length,
)
from tinyllm.tensor import Tensor, from_array

State = tuple[Tensor, Tensor]


def _init_uniform(module: Module, hidden_size: int) -> None:
    """PyTorch's recurrent init: every weight and bias from U(-1/sqrt(H), 1/sqrt(H)) (H = 0: no weights)."""
    bound = 1.0 / math.sqrt(hidden_size) if hidden_size > 0 else 0.0
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


class LSTMCell(Module):
    """One LSTM step: x (B, input_size), (h, c) (B, hidden_size) each -> new (h, c).

    Parameters ``weight_ih`` (4H, I), ``weight_hh`` (4H, H), ``bias_ih``, ``bias_hh``
    (4H,), gates stacked in PyTorch's order (i, f, g, o); see :func:`F.lstm_cell`.
    """

    def __init__(self, input_size: int, hidden_size: int, bias: bool = True,
                 device: str = "cpu", dtype: object = None) -> None:  # fmt: skip
        super().__init__()
        self.input_size, self.hidden_size = input_size, hidden_size
        H = hidden_size
        self.weight_ih = _empty(4 * H, input_size, device=device, dtype=dtype)
        self.weight_hh = _empty(4 * H, H, device=device, dtype=dtype)
        self.bias_ih = _empty(4 * H, device=device, dtype=dtype) if bias else None
        self.bias_hh = _empty(4 * H, device=device, dtype=dtype) if bias else None
        _init_uniform(self, H)

    def forward(self, x: Tensor, hx: State | None = None) -> State:
        unbatched = x.ndim == 1
        if unbatched:
            x = x.unsqueeze(0)
            hx = None if hx is None else (hx[0].unsqueeze(0), hx[1].unsqueeze(0))
        if x.ndim != 2 or x.shape[1] != self.input_size:
            raise ValueError(f"LSTMCell: input of shape {x.shape} should be (B, {self.input_size})")
        if hx is None:
            zeros = _zeros_state(x, x.shape[0], self.hidden_size)
            hx = (zeros, zeros)
        want = (x.shape[0], self.hidden_size)
        for name, t in zip(("h", "c"), hx):
            if t.shape != want:
                raise ValueError(f"LSTMCell: {name} has shape {t.shape}, expected (B, hidden_size) = {want}")
        h, c = F.lstm_cell(x, hx[0], hx[1], self.weight_ih, self.weight_hh, self.bias_ih, self.bias_hh)
        return (h.squeeze(0), c.squeeze(0)) if unbatched else (h, c)

    def extra_repr(self) -> str:
        return f"{self.input_size}, {self.hidden_size}, bias={self.bias_ih is not None}"


def _zeros_state(like: Tensor, batch: int, hidden: int) -> Tensor:
    xp = backend.get_array_module(like.data)
    return from_array(xp.zeros((batch, hidden), dtype=like.dtype))


class LSTM(Module):
    """A stack of LSTM layers over whole sequences: ``output, (h_n, c_n) = lstm(x, (h0, c0))``.

    x: (T, B, input_size), or (B, T, input_size) with ``batch_first``, or a
    :class:`PackedSequence`. output: the last layer's h at every step, in the same
    form as x; h_n, c_n: (num_layers, B, hidden_size), each layer's state after each
    sequence's own last step. Between layers, ``dropout`` is applied to the outputs
    while training. Parameters per layer k: ``weight_ih_l{k}``, ``weight_hh_l{k}``,
    ``bias_ih_l{k}``, ``bias_hh_l{k}``, as in PyTorch.

    Variable lengths: pass a PackedSequence, or padded x with ``lengths=`` (B,). Either
    way padded steps never reach the state, and the output is zero there (with
    ``lengths=``, output keeps x's padded length).

    ``fused=False`` runs the composed twin (:func:`F.lstm_layer`) instead of
    :class:`tinyllm.fused.LSTMLayer`.
    """

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 batch_first: bool = False, dropout: float = 0.0, device: str = "cpu",
                 dtype: object = None, fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        for name, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if value < 1:
                raise ValueError(f"LSTM: {name} must be at least 1, not {value}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"LSTM: dropout must be in [0, 1], not {dropout}")
        self.input_size, self.hidden_size, self.num_layers = input_size, hidden_size, num_layers
        self.bias, self.batch_first, self.dropout, self.fused = bias, batch_first, dropout, fused
        H = hidden_size
        for k in range(num_layers):
            n_in = input_size if k == 0 else H
            setattr(self, f"weight_ih_l{k}", _empty(4 * H, n_in, device=device, dtype=dtype))
            setattr(self, f"weight_hh_l{k}", _empty(4 * H, H, device=device, dtype=dtype))
            if bias:
                setattr(self, f"bias_ih_l{k}", _empty(4 * H, device=device, dtype=dtype))
                setattr(self, f"bias_hh_l{k}", _empty(4 * H, device=device, dtype=dtype))
        _init_uniform(self, H)

    def layer_weights(self, k: int) -> list[Tensor]:
        names = ["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if self.bias else [])
        return [getattr(self, f"{n}_l{k}") for n in names]

    def forward(
        self, x: Tensor | PackedSequence, hx: State | None = None, lengths: Any = None
    ) -> tuple[Tensor | PackedSequence, State]:
        if isinstance(x, PackedSequence):
            if lengths is not None:
                raise ValueError("LSTM: a PackedSequence carries its lengths; do not pass lengths= too")
            return self._forward_packed(x, hx)
        unbatched = x.ndim == 2
        batch_dim = 0 if self.batch_first else 1
        if unbatched:  # x (T, features) is one sequence whatever batch_first says, as in PyTorch
            x = x.unsqueeze(batch_dim)
            hx = None if hx is None else (hx[0].unsqueeze(1), hx[1].unsqueeze(1))
        if x.ndim != 3:
            raise ValueError(f"LSTM: input must be (T, B, features) or (B, T, features), not shape {x.shape}")
        self._check_features(x.shape[2])
        if x.shape[1 - batch_dim] == 0:
            raise ValueError(f"LSTM: input of shape {x.shape} has no time steps; T must be at least 1")
        if lengths is not None:
            y, state = self._run_with_lengths(x, lengths, hx)
        else:  # every sequence runs all T steps: the packed rows are x, time-major
            x_tm = x.transpose(0, 1) if self.batch_first else x
            T, B = x_tm.shape[0], x_tm.shape[1]
            y, state = self._run(x_tm.reshape(T * B, self.input_size), [B] * T, hx)
            y = y.reshape(T, B, self.hidden_size)
            y = y.transpose(0, 1) if self.batch_first else y
        if unbatched:
            y, state = y.squeeze(batch_dim), (state[0].squeeze(1), state[1].squeeze(1))
        return y, state

    def _check_features(self, n: int) -> None:
        if n != self.input_size:
            raise ValueError(f"LSTM: input has {n} features per step, but input_size is {self.input_size}")

    def _check_state(self, hx: State, batch: int) -> None:
        want = (self.num_layers, batch, self.hidden_size)
        for name, t in zip(("h0", "c0"), hx):
            if t.shape != want:
                raise ValueError(f"LSTM: {name} has shape {t.shape}, expected (num_layers, B, hidden_size) = {want}")

    def _run(self, x: Tensor, sizes: Any, hx: State | None) -> tuple[Tensor, State]:
        """The layers over packed rows x (N, I) with ``sizes[t]`` rows at step t (batch sorted
        longest first); ``hx`` in that sorted order. Returns packed outputs and (h_n, c_n)."""
        B = int(sizes[0])
        if hx is not None:
            self._check_state(hx, B)
        hs, cs = [], []
        for k in range(self.num_layers):
            if hx is None:
                h0 = c0 = _zeros_state(x, B, self.hidden_size)
            else:
                h0, c0 = hx[0][k], hx[1][k]
            weights = self.layer_weights(k)
            if self.fused:
                y, h, c = fused_ops.LSTMLayer.apply(x, h0, c0, *weights, batch_sizes=sizes)
            else:
                y, h, c = F.lstm_layer(x, h0, c0, *weights, batch_sizes=sizes)
            hs.append(h)
            cs.append(c)
            x = F.dropout(y, self.dropout, self.training) if k < self.num_layers - 1 else y
        return x, (ops.stack(hs, 0), ops.stack(cs, 0))

    def _forward_packed(self, seq: PackedSequence, hx: State | None) -> tuple[PackedSequence, State]:
        data = seq.data
        if data.ndim != 2:
            raise ValueError(f"LSTM: packed data must be (N, features), not shape {data.shape}")
        self._check_features(data.shape[1])
        sizes = seq.batch_sizes.numpy()
        if hx is not None:  # before the reordering below, which would hide a wrong batch size
            self._check_state(hx, int(sizes[0]))
        if hx is not None and seq.sorted_indices is not None:
            order = index_on_device(seq.sorted_indices.data, data)
            hx = (hx[0][:, order], hx[1][:, order])
        out, (h_n, c_n) = self._run(data, sizes, hx)  # the layers read and write packed rows
        if seq.unsorted_indices is not None:
            inverse = index_on_device(seq.unsorted_indices.data, data)
            h_n, c_n = h_n[:, inverse], c_n[:, inverse]
        return PackedSequence(out, seq.batch_sizes, seq.sorted_indices, seq.unsorted_indices), (h_n, c_n)

    def _run_with_lengths(self, x: Tensor, lengths: Any, hx: State | None) -> tuple[Tensor, State]:
        """Padded x and lengths: pack (one gather), run, and put the outputs back in x's layout."""
        B, T = (x.shape[0], x.shape[1]) if self.batch_first else (x.shape[1], x.shape[0])
        lens = check_lengths(lengths, B, T, "LSTM")
        order, inverse = sort_by_length(lens, enforce_sorted=False, fn="LSTM")
        sizes = batch_sizes_of(lens[order])
        rows = packed_source_rows(order, sizes, T, self.batch_first)
        packed = ops.getitem(x.reshape(B * T, self.input_size), index_on_device(rows, x))
        if hx is not None:
            self._check_state(hx, B)
            hx = (hx[0][:, index_on_device(order, x)], hx[1][:, index_on_device(order, x)])
        y, (h_n, c_n) = self._run(packed, sizes, hx)
        # padded slots read one extra zero row past the packed ones
        y = ops.cat([y, _zeros_state(x, 1, self.hidden_size)], 0)
        out = ops.getitem(y, index_on_device(padded_source_rows(order, sizes, T, self.batch_first), x))
        inv = index_on_device(inverse, x)
        return out, (h_n[:, inv], c_n[:, inv])

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
        return s
