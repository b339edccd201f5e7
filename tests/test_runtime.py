"""How the process runs: glibc keeps freed memory, and BLAS runs on the threads it is given."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from tinyllm import runtime


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt exists on Linux only")
def test_keep_freed_memory_applies_on_linux_and_can_be_repeated() -> None:
    assert runtime.keep_freed_memory() is True
    assert runtime.keep_freed_memory() is True
    a = np.ones(1 << 20)  # allocations still work, and are freed
    del a


def test_set_num_threads_limits_blas_and_rejects_nonsense() -> None:
    before = runtime.get_num_threads()
    try:
        runtime.set_num_threads(1)
        assert runtime.get_num_threads() == 1
        a = np.arange(64.0).reshape(8, 8)
        np.testing.assert_array_equal(a @ np.eye(8), a)  # products still work on one thread
    finally:
        runtime.set_num_threads(before)
    assert runtime.get_num_threads() == before
    for bad in (0, -2, 1.5):
        with pytest.raises(ValueError, match="n must be a positive integer"):
            runtime.set_num_threads(bad)


def test_a_lesson_runs_on_the_threads_it_is_given() -> None:
    from tinyllm import lessons

    before = runtime.get_num_threads()
    try:
        assert lessons.options("lessons/00_x.py", ["--quick"]).threads == 1 and runtime.get_num_threads() == 1
        lessons.options("lessons/00_x.py", ["--threads", "2"])
        assert runtime.get_num_threads() == 2
    finally:
        runtime.set_num_threads(before)
