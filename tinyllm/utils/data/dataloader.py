"""The DataLoader: a dataset, a sampler and a collate function, batch after batch."""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import queue
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from tinyllm.backend import Generator
from tinyllm.data.checks import check_count, check_flag
from tinyllm.utils.data.collate import default_collate, default_convert
from tinyllm.utils.data.datasets import IterableDataset
from tinyllm.utils.data.samplers import BatchSampler, RandomSampler, SequentialSampler, _check_generator


class DataLoader:
    """Batches of a dataset: ``for xb, yb in DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)``.

    Which examples: ``sampler`` (any iterable of indices) or, by default,
    :class:`RandomSampler` with ``shuffle`` (drawing from ``generator``) else
    :class:`SequentialSampler`. They are cut into lists of ``batch_size`` by a
    :class:`BatchSampler` (``drop_last`` drops a last, shorter one), unless a
    ``batch_sampler`` gives the lists itself. Each list of examples goes through
    ``collate_fn`` (default :func:`default_collate`). ``batch_size=None`` turns
    batching off: each example comes alone, through :func:`default_convert`. An
    :class:`IterableDataset` is read in its own order, ``batch_size`` at a time.

    ``len(loader)`` is the number of batches of a pass. A ``batch_sampler`` excludes
    ``batch_size``, ``shuffle``, ``sampler`` and ``drop_last``; a ``sampler`` excludes
    ``shuffle``; as in PyTorch, either conflict raises a ValueError.

    Workers. With ``num_workers`` > 0, batches are made by that many worker
    **threads** (PyTorch uses processes), up to ``prefetch_factor`` (default 2) per
    worker ahead of the one being used, and handed out in the sampler's order, so
    the batches are the same as with ``num_workers=0``. Threads share the GIL: they
    overlap loading with training where loading waits (files, NumPy copies and
    stacks release the GIL), not where it is pure Python. ``worker_init_fn(worker_id)``
    runs in each thread as it starts; ``persistent_workers`` keeps the threads from
    one pass to the next; ``timeout`` (seconds, 0 for none) bounds the wait for a
    batch. An IterableDataset is read in the calling thread whatever ``num_workers``
    says (and ``worker_init_fn`` is not called): one stream cannot be shared (PyTorch
    gives each worker process a copy, which repeats the data unless the dataset
    splits itself by worker).

    ``pin_memory`` is accepted and does nothing: pinned (page-locked) host memory
    speeds up copies to a GPU, and tinyllm makes its batches where the data lives.
    There is no ``state_dict``; for resumable training use :class:`tinyllm.data.DataLoader`.
    """

    def __init__(self, dataset: Any, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Iterable[Any] | None = None, batch_sampler: Iterable[Sequence[int]] | None = None,
                 num_workers: int = 0, collate_fn: Callable[[Any], Any] | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable[[int], None] | None = None,
                 generator: Generator | None = None, *, prefetch_factor: int | None = None,
                 persistent_workers: bool = False) -> None:  # fmt: skip
        fn = "DataLoader"
        _check_workers(num_workers, timeout, prefetch_factor, persistent_workers, pin_memory)
        for name, f in (("collate_fn", collate_fn), ("worker_init_fn", worker_init_fn)):
            if f is not None and not callable(f):
                raise TypeError(f"{fn}: {name} must be callable (or None), not {f!r}")
        if shuffle is not None:
            check_flag(fn, "shuffle", shuffle)
        _check_generator(fn, generator)
        batch_size, drop_last, sampler, batch_sampler = _plan_batches(
            dataset, batch_size, shuffle, sampler, batch_sampler, drop_last, generator
        )
        batching = batch_size is not None or batch_sampler is not None
        self.dataset = dataset
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.num_workers = num_workers
        self.collate_fn = collate_fn or (default_collate if batching else default_convert)
        self.pin_memory = pin_memory
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.generator = generator
        self.prefetch_factor = prefetch_factor if prefetch_factor is not None or num_workers == 0 else 2
        self.persistent_workers = persistent_workers
        self._workers: _Workers | None = None

    def __len__(self) -> int:
        if isinstance(self.dataset, IterableDataset):
            n, b = len(self.dataset), self.batch_size
            return n if b is None else n // b if self.drop_last else -(-n // b)
        return len(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[Any]:
        if isinstance(self.dataset, IterableDataset):
            return self._stream()
        keys = iter(self.batch_sampler if self.batch_sampler is not None else self.sampler)  # type: ignore[arg-type]
        return map(self._fetch, keys) if self.num_workers == 0 else self._threaded(keys)

    def _fetch(self, key: Any) -> Any:
        """One batch: the examples of a list of indices, collated; or one example, converted."""
        if self.batch_sampler is not None:
            return self.collate_fn([self.dataset[i] for i in key])
        return self.collate_fn(self.dataset[key])

    def _stream(self) -> Iterator[Any]:
        examples = iter(self.dataset)
        if self.batch_size is None:
            yield from map(self.collate_fn, examples)
            return
        while batch := list(itertools.islice(examples, self.batch_size)):
            if len(batch) < self.batch_size and self.drop_last:
                return
            yield self.collate_fn(batch)

    def _threaded(self, keys: Iterator[Any]) -> Iterator[Any]:
        """Keep ``prefetch_factor * num_workers`` batches in the making; hand them out in order."""
        workers = self._workers or _Workers(self.num_workers, self.worker_init_fn)
        if self.persistent_workers:
            self._workers = workers
        ahead = self.prefetch_factor * self.num_workers  # type: ignore[operator]
        pending = collections.deque(workers.submit(self._fetch, key) for key in itertools.islice(keys, ahead))
        try:
            while pending:
                future = pending.popleft()
                for key in itertools.islice(keys, 1):
                    pending.append(workers.submit(self._fetch, key))
                try:
                    batch = future.result(timeout=self.timeout or None)
                except concurrent.futures.TimeoutError:
                    raise RuntimeError(f"DataLoader: no batch came within timeout={self.timeout} seconds") from None
                yield batch
        finally:  # also on a break out of the loop: the batches made ahead are not needed
            for future in pending:
                future.cancel()
            if not self.persistent_workers:
                workers.close()

    def __del__(self) -> None:
        if getattr(self, "_workers", None) is not None:
            self._workers.close()


class _Workers:
    """``n`` threads that take jobs ``(future, fn, key)`` from one queue and put ``fn(key)`` in the future.

    Every thread starts at once and first runs ``init_fn(worker_id)``; if that fails,
    the thread passes its error on through each job it takes. The threads hold only
    the queue (not the DataLoader), so an unused loader can be collected and close them.
    """

    def __init__(self, n: int, init_fn: Callable[[int], None] | None) -> None:
        self._jobs: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=_work, args=(self._jobs, k, init_fn), name=f"DataLoader-worker-{k}", daemon=True)
            for k in range(n)
        ]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[[Any], Any], key: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._jobs.put((future, fn, key))
        return future

    def close(self) -> None:
        """Each thread ends when it takes a None, after the jobs queued before it."""
        for _ in self._threads:
            self._jobs.put(None)


def _work(jobs: queue.SimpleQueue[Any], worker_id: int, init_fn: Callable[[int], None] | None) -> None:
    """A worker thread's life: ``init_fn(worker_id)``, then jobs until a None."""
    error: BaseException | None = None
    try:
        if init_fn is not None:
            init_fn(worker_id)
    except Exception as e:  # noqa: BLE001 (handed to the main thread with the jobs, not lost in this thread)
        error = e
    while (job := jobs.get()) is not None:
        future, fn, key = job
        if not future.set_running_or_notify_cancel():
            continue  # cancelled: the pass ended before this batch was needed
        try:
            if error is not None:
                raise error
            future.set_result(fn(key))
        except Exception as e:  # noqa: BLE001 (handed to the main thread through the future)
            future.set_exception(e)


def _plan_batches(dataset: Any, batch_size: Any, shuffle: bool | None, sampler: Any, batch_sampler: Any,
                  drop_last: Any, generator: Generator | None) -> tuple[int | None, bool, Any, Any]:  # fmt: skip
    """Check how the examples are to be chosen and batched, and build the default samplers:
    ``(batch_size, drop_last, sampler, batch_sampler)`` as the DataLoader keeps them."""
    fn = "DataLoader"
    iterable = isinstance(dataset, IterableDataset)
    if iterable:
        for name, value in (("shuffle", shuffle), ("sampler", sampler), ("batch_sampler", batch_sampler)):
            if value is not None and value is not False:
                raise ValueError(f"{fn}: an IterableDataset gives its examples in its own order; "
                                 f"it takes no {name}, but got {name}={value!r}")  # fmt: skip
    elif not hasattr(dataset, "__getitem__"):
        raise TypeError(f"{fn}: the dataset needs indexing (dataset[i]) or must be an IterableDataset; "
                        f"{type(dataset).__name__} is neither")  # fmt: skip
    if sampler is not None and shuffle:
        raise ValueError(f"{fn}: sampler and shuffle exclude each other (the sampler sets the order)")
    if batch_sampler is not None:
        if batch_size != 1 or shuffle or sampler is not None or drop_last:
            raise ValueError(f"{fn}: batch_sampler excludes batch_size, shuffle, sampler and drop_last "
                             "(it makes the batches itself)")  # fmt: skip
        batch_size, drop_last = None, False
    elif batch_size is None:
        if drop_last:
            raise ValueError(f"{fn}: batch_size=None turns batching off, so there is no last batch to drop")
    else:
        check_count(fn, "batch_size", batch_size)
    if not isinstance(drop_last, bool):
        raise ValueError(f"{fn}: drop_last must be True or False, not {drop_last!r}")
    if sampler is None and not iterable:
        sampler = RandomSampler(dataset, generator=generator) if shuffle else SequentialSampler(dataset)
    if batch_size is not None and not iterable:
        batch_sampler = BatchSampler(sampler, batch_size, drop_last)
    return batch_size, drop_last, sampler, batch_sampler


def _check_workers(num_workers: Any, timeout: Any, prefetch_factor: Any, persistent: Any, pin_memory: Any) -> None:
    fn = "DataLoader"
    check_count(fn, "num_workers", num_workers, low=0)
    if not isinstance(timeout, (int, float)) or isinstance(timeout, bool) or timeout < 0:
        raise ValueError(f"{fn}: timeout must be a number of seconds >= 0, not {timeout!r}")
    check_flag(fn, "persistent_workers", persistent)
    check_flag(fn, "pin_memory", pin_memory)
    if prefetch_factor is not None:
        if num_workers == 0:
            raise ValueError(f"{fn}: prefetch_factor needs num_workers > 0 (batches are made ahead by workers)")
        check_count(fn, "prefetch_factor", prefetch_factor)
    if persistent and num_workers == 0:
        raise ValueError(f"{fn}: persistent_workers needs num_workers > 0")
