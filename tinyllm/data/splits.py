"""Train / validation / test splits: shuffled and stratified for labelled data, contiguous for token streams.

Part sizes come from cumulative fractions rounded half up: with n examples and
fractions f_1..f_K, part k ends at round(n (f_1 + ... + f_k)). Every example lands
in exactly one part, and each part holds n f_k examples to within one.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy

from tinyllm.data.checks import check_count, check_seed
from tinyllm.data.datasets import LabeledTexts


def _check_fractions(fractions: Sequence[float], fn: str) -> numpy.ndarray:
    try:
        f = numpy.asarray(fractions, dtype=numpy.float64)
    except (TypeError, ValueError):
        f = numpy.zeros(0)
    if f.ndim != 1 or f.size == 0:
        raise ValueError(f"{fn}: fractions must be a non-empty sequence of numbers, not {fractions!r}")
    if not numpy.all(numpy.isfinite(f)) or numpy.any(f < 0):
        raise ValueError(f"{fn}: fractions must be finite and >= 0, not {tuple(fractions)}")
    if not math.isclose(float(f.sum()), 1.0, abs_tol=1e-6):
        raise ValueError(f"{fn}: fractions must add up to 1, but {tuple(fractions)} add up to {f.sum():g}")
    return f


def _boundaries(n: int, fractions: numpy.ndarray) -> numpy.ndarray:
    """Where each part starts and ends: K + 1 indices from 0 to n."""
    ends = numpy.floor(n * numpy.cumsum(fractions) + 0.5).astype(numpy.int64)
    ends[-1] = n  # the fractions add up to 1 only to within rounding
    return numpy.concatenate([[0], numpy.minimum(ends, n)])


def train_val_test_split(data: Any, fractions: Sequence[float] = (0.8, 0.1, 0.1), seed: int = 0,
                         stratify: bool = True) -> tuple[Any, ...]:  # fmt: skip
    """Split ``data`` at random into as many parts as ``fractions`` (train, val, test).

    ``data`` is a :class:`LabeledTexts` (parts are LabeledTexts), a NumPy array
    (parts are arrays, split along axis 0) or any other sequence (parts are lists).
    For LabeledTexts with ``stratify`` each class is split on its own in the same
    proportions, so every part has the class balance of the whole (each class's
    share of a part is within one example of n_c f_k; a part's size may then differ
    from n f_k by up to one example per class). Other data ignores ``stratify``.

    Deterministic for a seed; within each part the examples are in shuffled order.
    """
    fn = "train_val_test_split"
    f = _check_fractions(fractions, fn)
    check_seed(fn, seed)
    if not (hasattr(data, "__len__") and hasattr(data, "__getitem__")):
        raise TypeError(f"{fn}: data must be a sequence, an array or LabeledTexts, not {type(data).__name__}")
    n = len(data)
    if n == 0:
        raise ValueError(f"{fn}: there is nothing to split (the data is empty)")
    rng = numpy.random.default_rng(seed)
    if isinstance(data, LabeledTexts) and stratify:
        groups = [numpy.flatnonzero(data.labels == c) for c in range(len(data.classes))]
    else:
        groups = [numpy.arange(n)]
    parts: list[list[numpy.ndarray]] = [[] for _ in f]
    for group in groups:
        group = rng.permutation(group)
        cuts = _boundaries(len(group), f)
        for k in range(len(f)):
            parts[k].append(group[cuts[k] : cuts[k + 1]])
    indices = [rng.permutation(numpy.concatenate(p)) for p in parts]
    return tuple(_take(data, idx) for idx in indices)


def _take(data: Any, idx: numpy.ndarray) -> Any:
    if isinstance(data, (LabeledTexts, numpy.ndarray)):
        return data[idx]
    return [data[int(i)] for i in idx]


def split_tokens(tokens: Any, fractions: Sequence[float] = (0.8, 0.1, 0.1),
                 block_size: int | None = None) -> tuple[numpy.ndarray, ...]:  # fmt: skip
    """Cut a 1-D token array into contiguous parts (train, val, test), in order, without shuffling.

    A language model's examples overlap (each window of text is one), so a random
    split would put the same text in training and validation; contiguous parts
    keep them apart. With ``block_size``, every part with a non-zero fraction
    must hold at least block_size + 1 tokens (one (x, y) window), else an error.
    The parts are views of ``tokens`` (no copy).
    """
    fn = "split_tokens"
    f = _check_fractions(fractions, fn)
    if block_size is not None:
        check_count(fn, "block_size", block_size)
    tokens = numpy.asarray(tokens)
    if tokens.ndim != 1:
        raise ValueError(f"{fn}: tokens must be a 1-D array, not shape {tokens.shape}")
    cuts = _boundaries(len(tokens), f)
    parts = tuple(tokens[cuts[k] : cuts[k + 1]] for k in range(len(f)))
    if block_size is not None:
        for k, part in enumerate(parts):
            if f[k] > 0 and len(part) < block_size + 1:
                raise ValueError(
                    f"{fn}: part {k} has {len(part)} of the {len(tokens)} tokens, fewer than "
                    f"block_size + 1 = {block_size + 1}; use more tokens or a larger fraction"
                )
    return parts
