"""scatter_add: ``target[index] += values`` where repeated indices accumulate.

Plain ``+=`` through an index array writes each repeated position once, so the
backward of indexing and of the embedding lookup, whose indices repeat, would
drop gradient. On the GPU CuPy has a kernel; on the host, whole rows are summed
by sorting (below) and anything else goes through ``add.at``.
"""

from __future__ import annotations

from typing import Any

from tinyllm import backend


def scatter_add(target: Any, index: Any, values: Any) -> None:
    """``target[index] += values`` where repeated indices accumulate (unlike ``+=``)."""
    if backend.is_cuda_array(target):
        backend.cupyx().scatter_add(target, index, values)
    elif _is_row_index(index, target) and values.ndim > 1:
        _scatter_add_rows(target, index, values)
    else:
        backend.get_array_module(target).add.at(target, index, values)


def _is_row_index(index: Any, target: Any) -> bool:
    """True for a 1-d integer array that picks whole rows of ``target`` (not a tuple, list or number)."""
    return getattr(index, "ndim", None) == 1 and index.dtype.kind in "iu" and target.ndim > 1


def _scatter_add_rows(target: Any, rows: Any, values: Any) -> None:
    """``target[rows] += values`` for whole rows, summing repeated rows first.

    Sort the rows, add up each run of equal ones with ``add.reduceat``, then add
    each sum once: a few vectorized passes, where ``add.at`` would work row by row.
    """
    xp = backend.get_array_module(target)
    rows = rows % target.shape[0]  # negative rows count from the end, as in indexing
    order = xp.argsort(rows, kind="stable")
    sorted_rows = rows[order]
    starts = xp.flatnonzero(xp.r_[True, sorted_rows[1:] != sorted_rows[:-1]])
    target[sorted_rows[starts]] += xp.add.reduceat(values[order], starts, axis=0)
