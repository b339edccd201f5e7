"""Work split over threads: every range once, errors raised, and the same results on one thread or two."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.ops import threads

F = tl.nn.functional


@pytest.fixture
def two_threads() -> Iterator[None]:
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    yield
    threads.set_num_threads(before)


def test_parallel_for_covers_every_item_once_on_two_threads(two_threads: None) -> None:
    seen: list[tuple[int, int, int]] = []
    main = threading.get_ident()
    started = {True: threading.Event(), False: threading.Event()}  # by "is the calling thread"

    def work(lo: int, hi: int) -> None:
        mine = threading.get_ident() == main
        started[mine].set()
        started[not mine].wait(timeout=10)  # each thread holds its first range until the other has one
        seen.append((lo, hi, threading.get_ident()))

    threads.parallel_for(work, 1000, grain=100)
    assert sorted((lo, hi) for lo, hi, _ in seen) == [(i, i + 125) for i in range(0, 1000, 125)]
    assert len({ident for _, _, ident in seen}) == 2


def test_parallel_for_keeps_work_below_two_grains_on_the_calling_thread(two_threads: None) -> None:
    seen: list[tuple[int, int, int]] = []
    threads.parallel_for(lambda lo, hi: seen.append((lo, hi, threading.get_ident())), 150, grain=100)
    assert seen == [(0, 150, threading.get_ident())]


def test_parallel_for_raises_what_a_range_raised_after_all_ranges_ran(two_threads: None) -> None:
    done: list[int] = []

    def work(lo: int, hi: int) -> None:
        if lo == 0:
            raise ArithmeticError("range 0 failed")
        done.append(lo)

    with pytest.raises(ArithmeticError, match="range 0 failed"):
        threads.parallel_for(work, 10, grain=5)
    assert done == [5]


def test_set_num_threads_refuses_what_is_not_a_positive_integer() -> None:
    for bad in (0, -1, 1.5, True):
        with pytest.raises(ValueError, match="positive integer"):
            threads.set_num_threads(bad)  # type: ignore[arg-type]


def _run_on(n: int, fn, *arrays: np.ndarray) -> list[np.ndarray]:  # type: ignore[no-untyped-def]
    """fn's outputs and the inputs' gradients (for fixed random output weights), on n threads."""
    before = threads.get_num_threads()
    threads.set_num_threads(n)
    try:
        xs = [tl.tensor(a, requires_grad=True) for a in arrays]
        outs = fn(*xs)
        outs = outs if isinstance(outs, tuple) else (outs,)
        rng = np.random.default_rng(1)
        sum((o * tl.tensor(rng.standard_normal(o.shape).astype(o.dtype))).sum() for o in outs).backward()
        return [o.detach().numpy() for o in outs] + [x.grad.numpy() for x in xs]
    finally:
        threads.set_num_threads(before)


def _same_on_one_and_two_threads(fn, *arrays: np.ndarray, atol: float = 0.0) -> None:  # type: ignore[no-untyped-def]
    for one, two in zip(_run_on(1, fn, *arrays), _run_on(2, fn, *arrays)):
        np.testing.assert_allclose(two, one, rtol=0, atol=atol)


def _normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


def test_gelu_is_the_same_on_two_threads() -> None:
    _same_on_one_and_two_threads(tl.gelu, 3 * _normal(8, 64, 256))  # 131,072 numbers: four grains


def test_layer_norm_is_the_same_on_two_threads() -> None:
    x, w, b = _normal(6, 64, 256), _normal(256, seed=1), _normal(256, seed=2)
    # the weight's and bias's gradients add two half-sums instead of one: equal up to rounding
    _same_on_one_and_two_threads(lambda x, w, b: F.layer_norm(x, (256,), w, b), x, w, b, atol=1e-4)


@pytest.mark.parametrize("causal", [True, False])
def test_attention_is_the_same_on_two_threads(causal: bool) -> None:
    q, k, v = (_normal(4, 2, 128, 16, seed=s) for s in range(3))  # 4 batch items of 32,768 weights; 2 blocks

    def attention(q: tl.Tensor, k: tl.Tensor, v: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal, need_weights=True)

    _same_on_one_and_two_threads(attention, q, k, v)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_covers_every_range_without_the_parents_threads(two_threads: None) -> None:
    threads.parallel_for(lambda lo, hi: None, 1000, grain=100)  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if the work is done and covered
        seen: list[tuple[int, int]] = []
        threads.parallel_for(lambda lo, hi: seen.append((lo, hi)), 1000, grain=100)
        os._exit(0 if sorted(seen) == [(i, i + 125) for i in range(0, 1000, 125)] else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
