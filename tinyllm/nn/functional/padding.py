"""Padding a tensor with a constant on either side of its last dims (PyTorch's ``F.pad``)."""

from __future__ import annotations

from collections.abc import Sequence

from tinyllm import backend, ops
from tinyllm.tensor import Tensor, from_array

MODES = ("constant", "reflect", "replicate", "circular")


def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: float | None = 0.0) -> Tensor:
    """Add ``value`` around ``input``: ``pad`` holds (left, right) pairs from the last dim backwards.

    ``pad=(1, 2)`` adds one column before and two after along the last dim; ``(1, 2, 0, 3)``
    also adds three rows after along the dim before it. A negative amount crops instead,
    as in PyTorch. Built from slicing and ``cat``, so the gradient is the input's share of
    the output's gradient (nothing flows into the padding).

    Only ``mode="constant"`` is implemented; "reflect", "replicate" and "circular" raise
    NotImplementedError. ``value=None`` means 0, as in PyTorch.
    """
    fn = "pad"
    if mode not in MODES:
        raise NotImplementedError(f"{fn}: unknown padding mode {mode!r}; PyTorch's modes are {MODES}")
    if mode != "constant":
        raise NotImplementedError(f"{fn}: mode {mode!r} is not implemented in tinyllm; only 'constant' is")
    amounts = [int(n) for n in pad]
    if len(amounts) % 2:
        raise ValueError(f"{fn}: pad must hold (left, right) pairs, but it has {len(amounts)} entries")
    if len(amounts) // 2 > input.ndim:
        raise ValueError(
            f"{fn}: {len(amounts) // 2} (left, right) pairs for a tensor of {input.ndim} dims; at most one per dim"
        )
    out = input
    for i in range(len(amounts) // 2):
        out = _pad_dim(out, input.ndim - 1 - i, amounts[2 * i], amounts[2 * i + 1], 0.0 if value is None else value)
    return out


def _pad_dim(x: Tensor, dim: int, left: int, right: int, value: float) -> Tensor:
    """``x`` with ``left`` and ``right`` slices of ``value`` added along ``dim`` (cropped where negative)."""
    size = x.shape[dim]
    start, stop = max(-left, 0), size - max(-right, 0)
    if stop < start:
        raise ValueError(
            f"pad: cropping {start} and {size - stop} from dim {dim} of size {size} leaves a negative size"
        )
    if start or stop != size:
        x = ops.getitem(x, (slice(None),) * dim + (slice(start, stop),))
    parts = []
    xp = backend.get_array_module(x.data)
    for n in (left, right):
        shape = x.shape[:dim] + (max(n, 0),) + x.shape[dim + 1 :]
        parts.append(from_array(xp.full(shape, value, dtype=x.dtype)) if n > 0 else None)
    pieces = [t for t in (parts[0], x, parts[1]) if t is not None]
    return ops.cat(pieces, dim) if len(pieces) > 1 else x
