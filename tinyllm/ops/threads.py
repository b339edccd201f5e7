"""Elementwise work split over threads, as PyTorch's CPU kernels split theirs.

A NumPy ufunc runs on one core, but it releases the GIL while it loops (matrix
products too), so threads that each take a slice of an array's rows run at the same
time on separate cores. The hot elementwise ops of a transformer (GELU, layer norm,
attention and its softmax) hand their rows to :func:`parallel_for`. Each row
gets the same arithmetic whatever the split, so elementwise results do not depend on the
number of threads; a sum over rows adds the ranges' partial sums, in order.

It is off until ``set_num_threads(n)`` turns it on: NumPy's BLAS keeps threads of its
own, which wait for work by spinning on the cores after each matrix product, and two
pools on the same cores slow each other down. On a quiet 2-core machine, a small GPT's
training step (``tinyllm bench``'s W2, medians of five alternating rounds) took 76.7 ms
with BLAS on two threads and this pool off (the default), 88.2 ms with both on two, 96.2 ms
with both on one, and 126.1 ms with BLAS on one and this pool on two: waking Python threads
costs more than the split saves at these sizes. Switching BLAS to one thread only around the
split ops (attention, GELU, layer norm) did not pay either: 12-18% slower with OpenBLAS's
threads spinning, level with them put to sleep at once (``OPENBLAS_THREAD_TIMEOUT=4``), which
slows every matrix product as much. It may pay on machines with more cores and larger
arrays; measure first.
GPU arrays never split: their kernels are parallel already.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from queue import SimpleQueue
from typing import Any

from tinyllm import backend

_num_threads = 1
_pool: ThreadPoolExecutor | None = None


def _forget_pool() -> None:
    global _pool
    _pool = None  # a forked child has none of the parent's threads: it starts its own


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_pool)


def get_num_threads() -> int:
    """How many threads :func:`parallel_for` uses at most."""
    return _num_threads


def set_num_threads(n: int) -> None:
    """Let :func:`parallel_for` use up to ``n`` threads (1: none besides the caller's)."""
    global _num_threads, _pool
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"set_num_threads: n must be a positive integer, not {n!r}")
    if _pool is not None and n != _num_threads:
        _pool.shutdown(wait=True)
        _pool = None
    _num_threads = n


def parallel_for(fn: Callable[[int, int], Any], n: int, grain: int, like: Any = None) -> None:
    """Call ``fn(lo, hi)`` on consecutive ranges that cover ``range(n)`` once, on several threads.

    Each range holds at least ``grain`` items (a few tens of thousands of numbers' worth of
    work: below that, waking a thread costs more than it saves), so small work stays on
    the calling thread. There are up to four ranges per thread, and each thread takes the
    next range left when it is free: a thread that the machine runs late (other programs
    want the cores too) takes fewer ranges, and the calling thread, which takes ranges
    too, never waits for a thread that has not started. The first exception raised in a
    range is raised here, once every range begun has finished. ``like``: an array of the
    work; a GPU array keeps everything on the calling thread.
    """
    k = min(_num_threads, n // max(grain, 1))
    if k <= 1 or (like is not None and backend.is_cuda_array(like)):
        fn(0, n)
        return
    global _pool
    if _pool is None:
        _pool = ThreadPoolExecutor(_num_threads - 1, thread_name_prefix="tinyllm")
    pieces = min(4 * k, n // max(grain, 1))
    bounds = [n * i // pieces for i in range(pieces + 1)]
    todo = iter(range(pieces))  # next() on it is atomic: each range goes to one thread
    finished: SimpleQueue[Exception | None] = SimpleQueue()

    def take() -> int:
        count = 0
        for i in todo:
            count += 1
            error = None
            try:
                fn(bounds[i], bounds[i + 1])
            except Exception as e:  # noqa: BLE001 (any error: the calling thread raises it)
                error = e
            finally:
                finished.put(error)
        return count

    for _ in range(k - 1):
        _pool.submit(take)
    take()
    errors = [finished.get() for _ in range(pieces)]  # every range is taken by now: wait for the last ones
    for e in errors:
        if e is not None:
            raise e
