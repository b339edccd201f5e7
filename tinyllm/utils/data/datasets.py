"""Datasets: what example i is (map-style) or which examples come next (iterable), and random splits."""

from __future__ import annotations

import bisect
import itertools
import math
import warnings
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Generic, TypeVar

from tinyllm import backend
from tinyllm.backend import Generator
from tinyllm.data.checks import is_count
from tinyllm.data.loader import Dataset as Indexable  # the Protocol: anything with len() and [i]
from tinyllm.tensor import Tensor
from tinyllm.utils.data.samplers import _check_generator

T_co = TypeVar("T_co", covariant=True)  # the type of an example


class Dataset(Generic[T_co]):
    """A map-style dataset: ``len(ds)`` examples, ``ds[i]`` the i-th. Subclasses define both.

    ``a + b`` is ``ConcatDataset([a, b])``. Any object with ``len`` and indexing (a
    list, a ``range``) serves as a dataset too; the base class only adds ``+``.
    ``Dataset[T]`` names a dataset of examples of type T, for type hints.
    """

    def __getitem__(self, index: int) -> T_co:
        raise NotImplementedError(f"{type(self).__name__} must define __getitem__ (example i of the dataset)")

    def __len__(self) -> int:
        # TypeError, as len() of an object without a length: code that asks "is it sized?"
        # with try/except TypeError (DataLoader.__len__, fit's count of steps) keeps working
        raise TypeError(f"{type(self).__name__} defines no __len__")

    def __add__(self, other: Indexable) -> ConcatDataset:
        return ConcatDataset([self, other])


class IterableDataset(Dataset[T_co]):
    """A dataset read as a stream: subclasses define ``__iter__`` (and ``__len__`` if they know it).

    For data that cannot be indexed cheaply: lines of a large file, examples made on
    the fly. A DataLoader reads it in its own order, so it takes no sampler and no
    shuffle. ``a + b`` is ``ChainDataset([a, b])``: a's examples, then b's.
    """

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ (its examples, one by one)")

    def __add__(self, other: Any) -> ChainDataset:  # type: ignore[override]
        return ChainDataset([self, other])


class TensorDataset(Dataset[tuple[Tensor, ...]]):
    """Example i is ``(t[i] for t in tensors)``: rows of tensors that share their first dimension N.

    ``TensorDataset(X, y)`` with X (N, ...) and y (N, ...) gives pairs ``(X[i], y[i])``.
    """

    def __init__(self, *tensors: Tensor) -> None:
        if not tensors:
            raise ValueError("TensorDataset: give at least one tensor")
        for k, t in enumerate(tensors):
            if not isinstance(t, Tensor):
                raise TypeError(
                    f"TensorDataset: argument {k} is a {type(t).__name__}, not a Tensor; use tl.tensor(...)"
                )
            if t.ndim == 0:
                raise ValueError(
                    f"TensorDataset: tensor {k} is 0-d; each tensor needs a first dimension, one row per example"
                )
        sizes = [t.shape[0] for t in tensors]
        if len(set(sizes)) > 1:
            raise ValueError(f"TensorDataset: the tensors' first dimensions differ: {tuple(sizes)}; "
                             "each tensor needs one row per example")  # fmt: skip
        self.tensors = tensors

    def __getitem__(self, index: int) -> tuple[Tensor, ...]:
        return tuple(t[index] for t in self.tensors)

    def __len__(self) -> int:
        return self.tensors[0].shape[0]


class ConcatDataset(Dataset[Any]):
    """The examples of several datasets one after another: ``len`` is the sum of their lengths.

    ``cumulative_sizes[k]`` is the number of examples in datasets 0..k, so example i
    lives in the first dataset whose cumulative size exceeds i (found by bisection).
    """

    def __init__(self, datasets: Iterable[Indexable]) -> None:
        self.datasets = list(datasets)
        if not self.datasets:
            raise ValueError("ConcatDataset: datasets is empty; give at least one dataset")
        for k, ds in enumerate(self.datasets):
            if isinstance(ds, IterableDataset):
                raise TypeError(f"ConcatDataset: dataset {k} is an IterableDataset, which has no indexing; "
                                "chain streams with ChainDataset")  # fmt: skip
        self.cumulative_sizes = list(itertools.accumulate(len(ds) for ds in self.datasets))

    def __len__(self) -> int:
        return self.cumulative_sizes[-1]

    def __getitem__(self, index: int) -> Any:
        n = len(self)
        if not is_count(index):
            raise TypeError(f"ConcatDataset: an index is an integer, not {index!r}")
        if not -n <= index < n:
            # IndexError (PyTorch raises ValueError for a negative one): `for x in ds` stops on it
            raise IndexError(f"ConcatDataset: index {index} is out of range for {n} examples")
        i = index % n
        k = bisect.bisect_right(self.cumulative_sizes, i)
        return self.datasets[k][i - (self.cumulative_sizes[k - 1] if k else 0)]


class ChainDataset(IterableDataset[Any]):
    """Several iterable datasets read one after another."""

    def __init__(self, datasets: Iterable[IterableDataset]) -> None:
        self.datasets = list(datasets)

    def __iter__(self) -> Iterator[Any]:
        return itertools.chain.from_iterable(self.datasets)

    def __len__(self) -> int:
        return sum(len(ds) for ds in self.datasets)


class Subset(Dataset[Any]):
    """The examples of ``dataset`` at ``indices``, in that order: ``subset[i] = dataset[indices[i]]``."""

    def __init__(self, dataset: Indexable, indices: Sequence[int]) -> None:
        self.dataset = dataset
        self.indices = indices

    def __getitem__(self, index: int) -> Any:
        return self.dataset[int(self.indices[index])]

    def __len__(self) -> int:
        return len(self.indices)


def random_split(
    dataset: Indexable, lengths: Sequence[int | float], generator: Generator | None = None
) -> list[Subset]:
    """Disjoint random subsets of ``dataset`` with the given lengths, e.g. a train/validation split.

    ``lengths`` are counts that sum to ``len(dataset)``, or fractions that sum to 1:
    fraction f_k gets floor(N f_k) examples, and the N - sum floor(N f_k) left over
    go one each to splits 0, 1, 2, ... in turn (so [0.8, 0.2] of 11 gives [9, 2]).
    The examples are a random permutation of 0..N-1 cut into consecutive pieces,
    drawn from ``generator`` or from tinyllm's default CPU generator.
    A negative count raises an error (PyTorch accepts one when the sum matches).
    """
    fn = "random_split"
    _check_generator(fn, generator)
    n, lengths = len(dataset), list(lengths)
    if math.isclose(sum(lengths), 1) and sum(lengths) <= 1:
        lengths = _split_fractions(n, lengths)
    for k, length in enumerate(lengths):
        if not is_count(length) or length < 0:
            raise ValueError(f"{fn}: length {k} is {length!r}; give counts >= 0 that sum to {n}, "
                             "or fractions that sum to 1")  # fmt: skip
    if sum(lengths) != n:
        raise ValueError(f"{fn}: the lengths {lengths} sum to {sum(lengths)}, but the dataset has {n} examples")
    order = (generator or backend.default_generator("cpu")).permutation(n).tolist()
    ends = list(itertools.accumulate(lengths))
    return [Subset(dataset, order[end - length : end]) for end, length in zip(ends, lengths)]


def _split_fractions(n: int, fractions: list[float]) -> list[int]:
    """Counts for fractions of n: each floor(n f), then the remainder one by one from the first split."""
    for k, f in enumerate(fractions):
        if not 0 <= f <= 1:
            raise ValueError(f"random_split: fraction {k} is {f}, not between 0 and 1")
    counts = [math.floor(n * f) for f in fractions]
    for k in range(n - sum(counts)):
        counts[k % len(counts)] += 1
    for k, count in enumerate(counts):
        if count == 0:
            warnings.warn(f"random_split: split {k} is empty ({fractions[k]} of {n} examples)", stacklevel=3)
    return counts
