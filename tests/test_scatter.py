"""scatter_add: repeated indices accumulate, on every device and for every kind of index."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
from tinyllm import backend
from tinyllm.ops.scatter import scatter_add


def test_scatter_add_accumulates_repeated_indices() -> None:
    target = np.zeros(4)
    scatter_add(target, np.array([0, 0, 2, 0]), np.array([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(target, [7.0, 0.0, 3.0, 0.0])


def test_scatter_add_of_whole_rows_sums_repeats_like_add_at() -> None:
    rng = np.random.default_rng(0)
    rows = rng.integers(-7, 7, 500)  # repeats, and negative rows counted from the end
    values = rng.standard_normal((500, 3))
    expected = np.ones((7, 3))
    np.add.at(expected, rows, values)
    target = np.ones((7, 3))
    scatter_add(target, rows, values)
    np.testing.assert_allclose(target, expected, rtol=1e-12)


def test_scatter_add_with_a_tuple_index_into_a_matrix() -> None:
    target = np.ones((2, 3))
    rows, cols = np.array([1, 1, 0]), np.array([2, 2, 0])
    scatter_add(target, (rows, cols), np.array([10.0, 20.0, 5.0]))
    np.testing.assert_array_equal(target, [[6.0, 1.0, 1.0], [1.0, 1.0, 31.0]])


def test_scatter_add_of_rows_on_every_device(device: str) -> None:
    rows = np.array([2, 0, 2, -1])
    values = np.arange(12.0).reshape(4, 3)
    expected = np.zeros((3, 3))
    np.add.at(expected, rows, values)
    dev = tl.device(device)
    target = backend.to_device(np.zeros((3, 3)), dev)
    scatter_add(target, backend.to_device(rows, dev), backend.to_device(values, dev))
    np.testing.assert_array_equal(backend.to_device(target, backend.CPU), expected)
