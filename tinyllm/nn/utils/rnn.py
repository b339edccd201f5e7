"""Packed sequences: a batch of sequences of different lengths without the padding.

A batch of B sequences padded to length T wastes the steps past each sequence's
end, and a recurrent layer would read the padding as if it were input. Packing
sorts the sequences by length (longest first) and stores, time step by time
step, only the elements that exist:

    lengths 3, 1, 2   ->   batch_sizes [3, 2, 1]   (3 sequences run at step 0, 2 at step 1, ...)
    data = [a0 b0 c0 | a1 c1 | a2]                 (a, c, b after sorting: a=3, c=2, b=1)

Then step t of an LSTM works on the first ``batch_sizes[t]`` rows of its state.
Names and layout follow ``torch.nn.utils.rnn``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy

from tinyllm import backend, ops
from tinyllm.nn import functional as F
from tinyllm.tensor import Tensor, from_array


class PackedSequence(NamedTuple):
    """data: (sum(lengths), *) the elements, time-major; batch_sizes: (T,) int64 (CPU), how many
    sequences run at each step; sorted_indices: the batch order used (longest first) and
    unsorted_indices its inverse, or None if the batch came sorted."""

    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Tensor | None = None
    unsorted_indices: Tensor | None = None


def check_lengths(lengths: Any, batch: int, max_len: int, fn: str) -> numpy.ndarray:
    """``lengths`` (B,) as an int64 host array, each in [1, max_len], or an error naming ``fn``."""
    if isinstance(lengths, Tensor):
        lengths = backend.to_device(lengths.data, backend.CPU)
    arr = numpy.asarray(lengths)
    if arr.ndim != 1 or arr.shape[0] != batch:
        raise ValueError(f"{fn}: lengths must be 1-D with one length per sequence ({batch}), not shape {arr.shape}")
    if arr.size and not numpy.issubdtype(arr.dtype, numpy.integer):
        if not numpy.all(arr == numpy.round(arr)):
            raise TypeError(f"{fn}: lengths must be integers, not {arr.dtype}")
    arr = arr.astype(numpy.int64)
    if arr.size and (arr.min() < 1 or arr.max() > max_len):
        bad = int(arr.min()) if arr.min() < 1 else int(arr.max())
        raise ValueError(f"{fn}: length {bad} is outside [1, {max_len}] (the padded length is {max_len})")
    return arr


def batch_sizes_of(sorted_lengths: numpy.ndarray) -> numpy.ndarray:
    """How many sequences (sorted longest first) are still running at each step."""
    steps = numpy.arange(int(sorted_lengths[0]))
    return (sorted_lengths[None, :] > steps[:, None]).sum(axis=1)


def sort_by_length(lengths: numpy.ndarray, enforce_sorted: bool, fn: str) -> tuple[Any, Any]:
    """(sorted_indices, unsorted_indices), or (None, None) when already longest first."""
    descending = bool(numpy.all(lengths[:-1] >= lengths[1:]))
    if enforce_sorted:
        if not descending:
            raise ValueError(
                f"{fn}: lengths {lengths.tolist()} are not sorted longest first; sort the batch or "
                "pass enforce_sorted=False"
            )
        return None, None
    order = numpy.argsort(-lengths, kind="stable")
    return order, numpy.argsort(order)


def step_starts(batch_sizes: Any) -> numpy.ndarray:
    """Where each step's rows begin in the packed data: the running sum of ``batch_sizes``."""
    sizes = numpy.asarray(batch_sizes, dtype=numpy.int64)
    return numpy.concatenate([[0], numpy.cumsum(sizes)[:-1]]).astype(numpy.int64)


def sorted_lengths(batch_sizes: Any) -> numpy.ndarray:
    """Each (sorted) sequence's length: the number of steps it runs in."""
    sizes = numpy.asarray(batch_sizes)
    return (sizes[None, :] > numpy.arange(int(sizes[0]))[:, None]).sum(axis=1)


def packed_source_rows(order: numpy.ndarray, batch_sizes: Any, T: int, batch_first: bool) -> numpy.ndarray:
    """For each packed element, in order, its row in the padded input flattened to (B * T, ...)
    (``batch_first``) or (T * B, ...): element j of step t is sequence order[j] at step t."""
    B = len(order)
    t_of = numpy.concatenate([numpy.full(n, t) for t, n in enumerate(batch_sizes)])
    seq_of = numpy.concatenate([order[:n] for n in batch_sizes])
    return seq_of * T + t_of if batch_first else t_of * B + seq_of


def padded_source_rows(order: numpy.ndarray, batch_sizes: Any, T: int, batch_first: bool) -> numpy.ndarray:
    """The inverse map: for each slot of the padded (B, T) or (T, B) layout, the packed row it
    holds, or N = len(data) (one past the end: the padding row) past a sequence's end."""
    starts, lengths = step_starts(batch_sizes), sorted_lengths(batch_sizes)
    index = numpy.full((len(order), T), int(numpy.sum(batch_sizes)), dtype=numpy.int64)
    for j, seq in enumerate(order):
        index[seq, : lengths[j]] = starts[: lengths[j]] + j
    return index if batch_first else index.T


def pack_padded_sequence(
    input: Tensor, lengths: Any, batch_first: bool = False, enforce_sorted: bool = True
) -> PackedSequence:
    """Pack a padded batch: input (T, B, *) or, with ``batch_first``, (B, T, *); lengths (B,).

    ``enforce_sorted=True`` requires lengths longest first; ``False`` sorts the
    batch (stably) and records the order, so outputs can be put back in place.
    """
    fn = "pack_padded_sequence"
    B, T = (input.shape[0], input.shape[1]) if batch_first else (input.shape[1], input.shape[0])
    lens = check_lengths(lengths, B, T, fn)
    sorted_idx, unsorted_idx = sort_by_length(lens, enforce_sorted, fn)
    order = numpy.arange(B) if sorted_idx is None else sorted_idx
    sizes = batch_sizes_of(lens[order])
    rows = packed_source_rows(order, sizes, T, batch_first)  # one gather from the input's layout
    flat = input.reshape(B * T, *input.shape[2:])
    data = ops.getitem(flat, index_on_device(rows, input))
    return _packed(data, sizes, sorted_idx, unsorted_idx)


def _packed(data: Tensor, sizes: Any, sorted_idx: Any, unsorted_idx: Any) -> PackedSequence:
    def as_tensor(a: Any) -> Tensor | None:
        return None if a is None else from_array(numpy.asarray(a, dtype=numpy.int64))

    return PackedSequence(data, as_tensor(sizes), as_tensor(sorted_idx), as_tensor(unsorted_idx))  # type: ignore[arg-type]


def index_on_device(index: numpy.ndarray, like: Tensor) -> Any:
    """An index array computed on the host, moved to ``like``'s device for gathering there."""
    return backend.to_device(index, like.device)


def pad_packed_sequence(
    sequence: PackedSequence, batch_first: bool = False, padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:  # fmt: skip
    """Undo packing: (padded (T, B, *) or (B, T, *), lengths (B,)), in the original batch order."""
    data, sizes = sequence.data, sequence.batch_sizes.numpy()
    B, T = int(sizes[0]), len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(
                f"pad_packed_sequence: total_length {total_length} is shorter than the longest sequence ({T})"
            )
        T = total_length
    order = numpy.arange(B) if sequence.sorted_indices is None else sequence.sorted_indices.numpy()
    index = padded_source_rows(order, sizes, T, batch_first)
    xp = backend.get_array_module(data.data)
    pad = from_array(xp.full((1, *data.shape[1:]), padding_value, dtype=data.dtype))
    padded = ops.getitem(ops.cat([data, pad], 0), index_on_device(index, data))
    lengths = numpy.empty(B, dtype=numpy.int64)
    lengths[order] = sorted_lengths(sizes)
    return padded, from_array(lengths)


def reversed_rows(batch_sizes: Any) -> numpy.ndarray:
    """The packed-row order that reverses every sequence within its own length.

    Row (step t, sequence j) and row (L_j - 1 - t, j) trade places, so a layer running
    backward in time is a forward run over ``data[rows]``, read back through the same
    ``rows`` (the permutation is its own inverse). Reversed sequences keep their lengths,
    so ``batch_sizes`` still describes them.
    """
    sizes = numpy.asarray(batch_sizes, dtype=numpy.int64)
    starts, lengths = step_starts(sizes), sorted_lengths(sizes)
    t_of = numpy.repeat(numpy.arange(len(sizes)), sizes)
    seq_of = numpy.concatenate([numpy.arange(n) for n in sizes])
    return starts[lengths[seq_of] - 1 - t_of] + seq_of


def pad_sequence(
    sequences: Sequence[Tensor], batch_first: bool = False, padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:  # fmt: skip
    """Stack sequences of different lengths, each (L_i, *), into one padded (T, B, *) tensor,
    or (B, T, *) with ``batch_first``, T the longest length.

    ``padding_side="right"`` fills the steps after each sequence's end with ``padding_value``;
    "left" fills the steps before its start (so all sequences end together). Built from
    ``pad`` and ``stack``, so gradients flow back to each sequence.
    """
    fn = "pad_sequence"
    if padding_side not in ("left", "right"):
        raise ValueError(f"{fn}: padding_side must be 'left' or 'right', not {padding_side!r}")
    seqs = list(sequences)
    if not seqs:
        raise ValueError(f"{fn}: received an empty list of sequences")
    trailing = seqs[0].shape[1:]
    for i, s in enumerate(seqs):
        if s.ndim == 0 or s.shape[1:] != trailing:
            raise ValueError(
                f"{fn}: each sequence must be (L, ...) with trailing dims {trailing}; sequence {i} has shape {s.shape}"
            )
    T = max(s.shape[0] for s in seqs)
    padded = []
    for s in seqs:
        before, after = (0, T - s.shape[0]) if padding_side == "right" else (T - s.shape[0], 0)
        # F.pad reads (left, right) pairs from the last dim backwards: the time dim's pair comes last
        padded.append(F.pad(s, [0, 0] * len(trailing) + [before, after], value=padding_value))
    return ops.stack(padded, 0 if batch_first else 1)


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences, each (L_i, *): :func:`pad_sequence` then :func:`pack_padded_sequence`.

    ``enforce_sorted=True`` requires them longest first; ``False`` sorts them and records the order.
    """
    lengths = [s.shape[0] for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)
