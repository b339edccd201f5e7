"""Samplers: which indices of a dataset, in which order, and grouped into batches."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from typing import Any, Generic, TypeVar

from tinyllm import backend
from tinyllm.backend import Generator
from tinyllm.data.checks import check_count
from tinyllm.data.loader import Dataset as Indexable  # the Protocol: anything with len() and [i]

T_co = TypeVar("T_co", covariant=True)  # what a sampler yields: an index, or a list of them


def _check_generator(fn: str, generator: Any) -> None:
    if generator is not None and not isinstance(generator, Generator):
        raise TypeError(f"{fn}: generator must be a tinyllm Generator, e.g. tl.Generator().manual_seed(0), "
                        f"not {type(generator).__name__}")  # fmt: skip
    if generator is not None and generator.device.type != "cpu":
        raise ValueError(f"{fn}: the order of examples is drawn on the host; pass a CPU generator, not one for "
                         f"{generator.device}")  # fmt: skip


class Sampler(Generic[T_co]):
    """Which examples, in which order: iterating a sampler yields dataset indices (a batch
    sampler yields lists of them). Subclasses define ``__iter__``, and ``__len__`` if known.
    Any iterable of indices (a list) can stand in for a sampler. ``Sampler[T]`` names
    one that yields T, for type hints."""

    def __iter__(self) -> Iterator[T_co]:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__ (the indices, in order)")


class SequentialSampler(Sampler[int]):
    """0, 1, ..., len(data_source) - 1: every example once, in order."""

    def __init__(self, data_source: Indexable) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


class RandomSampler(Sampler[int]):
    """Random indices of ``data_source``: a new permutation on every pass (every example once),
    or with ``replacement`` ``num_samples`` independent uniform draws.

    Without replacement, ``num_samples`` (default: the dataset's length) may exceed the
    length: whole permutations follow one another, the last one cut short.

    With ``generator=None`` each pass draws one seed from tinyllm's default CPU
    generator and orders its examples with a generator of its own: ``tl.manual_seed``
    repeats the orders, and a pass takes one draw from the default stream however
    long the dataset is. A ``generator`` given here is used directly, so its state
    moves on from one pass to the next (a different order every epoch).
    """

    def __init__(self, data_source: Indexable, replacement: bool = False, num_samples: int | None = None,
                 generator: Generator | None = None) -> None:  # fmt: skip
        fn = "RandomSampler"
        if not isinstance(replacement, bool):
            raise TypeError(f"{fn}: replacement must be True or False, not {replacement!r}")
        if num_samples is not None:
            check_count(fn, "num_samples", num_samples)
        _check_generator(fn, generator)
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if self.num_samples == 0:
            raise ValueError(f"{fn}: the dataset is empty, so there is nothing to sample")

    @property
    def num_samples(self) -> int:
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        if n == 0:
            raise ValueError("RandomSampler: the dataset is empty, so there is nothing to sample")
        gen = self.generator
        if gen is None:
            gen = Generator(seed=int(backend.default_generator("cpu").integers(0, 2**62, ())))
        if self.replacement:
            yield from gen.integers(0, n, (self.num_samples,)).tolist()
            return
        for _ in range(self.num_samples // n):
            yield from gen.permutation(n).tolist()
        yield from gen.permutation(n)[: self.num_samples % n].tolist()

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler[list[int]]):
    """The indices of ``sampler`` in lists of ``batch_size``; the last list is shorter unless
    ``drop_last`` drops it. ``len`` is ceil(n / batch_size), or floor with ``drop_last``."""

    def __init__(self, sampler: Iterable[int], batch_size: int, drop_last: bool) -> None:
        check_count("BatchSampler", "batch_size", batch_size)
        if not isinstance(drop_last, bool):
            raise ValueError(f"BatchSampler: drop_last must be True or False, not {drop_last!r}")
        self.sampler = sampler
        self.batch_size = int(batch_size)
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        indices = iter(self.sampler)
        while batch := list(itertools.islice(indices, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield batch

    def __len__(self) -> int:
        n = len(self.sampler)  # type: ignore[arg-type]
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)
