"""Collation: a list of examples into one batch of tensors, by the examples' types."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy

from tinyllm.creation import tensor
from tinyllm.ops import stack
from tinyllm.tensor import Tensor

_NUMERIC = "biuf"  # the NumPy kinds a tensor holds: bool, signed and unsigned integers, floats


def default_collate(batch: Sequence[Any]) -> Any:
    """One batch from a list of B examples, by the type of the first, as PyTorch collates:

    - tensors of one shape -> ``stack``: (B, ...), same dtype and device;
    - NumPy arrays and NumPy scalars -> a tensor (B, ...) of their dtype;
    - Python floats -> float64 (B,); ints -> int64 (B,); bools -> bool (B,);
    - strings and bytes -> the batch, unchanged;
    - dicts -> a dict with each key's values collated;
    - named tuples -> the same named tuple of collated fields;
    - other tuples and lists, all of one length -> a **list** of their collated
      positions, so B pairs ``(x, y)`` give ``[X (B, ...), Y (B, ...)]``.

    Anything else raises a TypeError naming its type. (PyTorch rebuilds a sequence
    type other than tuple and list as that type; here every sequence becomes a list.)
    Tensors made from arrays and numbers go to the default device (:func:`tinyllm.set_default_device`),
    as in PyTorch; stacked tensors stay on theirs.
    """
    fn = "default_collate"
    if len(batch) == 0:
        raise ValueError(f"{fn}: the batch is empty")
    first = batch[0]
    if isinstance(first, Tensor):
        return stack(list(batch))
    if isinstance(first, (str, bytes)):
        return batch
    if isinstance(first, (numpy.ndarray, numpy.generic)):
        arrays = [numpy.asarray(example) for example in batch]
        _check_numeric(arrays[0], fn)
        for k, a in enumerate(arrays):
            if a.shape != arrays[0].shape:
                raise ValueError(f"{fn}: example {k} has shape {a.shape} but example 0 has {arrays[0].shape}")
        return tensor(numpy.stack(arrays))
    if isinstance(first, float):
        return tensor(list(batch), dtype=numpy.float64)
    if isinstance(first, int):
        return tensor(list(batch))  # int64, or bool for bools, as torch.tensor infers
    if isinstance(first, Mapping):
        return {key: default_collate([example[key] for example in batch]) for key in first}
    if isinstance(first, (tuple, list)):
        for k, example in enumerate(batch):
            if len(example) != len(first):
                raise ValueError(f"{fn}: example {k} has {len(example)} fields but example 0 has {len(first)}; "
                                 "every example of a batch needs the same structure")  # fmt: skip
        columns = [default_collate(column) for column in zip(*batch)]
        return type(first)(*columns) if _is_namedtuple(first) else columns
    raise TypeError(f"{fn}: a batch holds tensors, NumPy arrays, numbers, strings, dicts or sequences; "
                    f"example 0 is a {type(first).__name__}")  # fmt: skip


def default_convert(data: Any) -> Any:
    """One example, unbatched: NumPy arrays and scalars become tensors, in dicts and sequences too.

    What a DataLoader with ``batch_size=None`` applies to each example. Tuples and
    lists become lists, named tuples stay named tuples; everything else is unchanged.
    The new tensors go to the default device, as in PyTorch.
    """
    if isinstance(data, (numpy.ndarray, numpy.generic)) and not isinstance(data, (str, bytes)):
        return tensor(numpy.asarray(data)) if data.dtype.kind in _NUMERIC else data
    if isinstance(data, Mapping):
        return {key: default_convert(value) for key, value in data.items()}
    if _is_namedtuple(data):
        return type(data)(*(default_convert(v) for v in data))
    if isinstance(data, (tuple, list)):
        return [default_convert(v) for v in data]
    return data


def _check_numeric(a: numpy.ndarray, fn: str) -> None:
    if a.dtype.kind not in _NUMERIC:
        raise TypeError(f"{fn}: a tensor holds numbers, but the examples are NumPy arrays of {a.dtype}")


def _is_namedtuple(x: Any) -> bool:
    return isinstance(x, tuple) and hasattr(x, "_fields")
