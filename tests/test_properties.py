"""Property tests (Hypothesis): broadcasting, reductions and shape ops agree with NumPy for any shapes.

Expected gradients are computed without the library's own unbroadcast: each output element
is traced back to the input element it read (an index map broadcast alongside the data),
and ``numpy.bincount`` adds up the gradients each input element received.
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, mutually_broadcastable_shapes

import tinyllm as tl

SETTINGS = settings(derandomize=True, max_examples=40, deadline=None)

seeds = st.integers(0, 2**32 - 1)
shape_pairs = mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=4, min_side=1, max_side=4)


def _gather_back(weights: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Add up ``weights`` (output-shaped) into the input element that each output element read."""
    size = int(np.prod(shape))
    source = np.broadcast_to(np.arange(size).reshape(shape), weights.shape)
    return np.bincount(source.ravel(), weights=weights.ravel(), minlength=size).reshape(shape)


# ----------------------------------------------------------------------------- broadcasting binary ops

# d(out)/d(a) and d(out)/d(b), elementwise, for out = op(a, b)
BINARY = {
    "add": (lambda a, b: a + b, lambda a, b: np.ones_like(a * b), lambda a, b: np.ones_like(a * b)),
    "sub": (lambda a, b: a - b, lambda a, b: np.ones_like(a * b), lambda a, b: -np.ones_like(a * b)),
    "mul": (lambda a, b: a * b, lambda a, b: b * np.ones_like(a), lambda a, b: a * np.ones_like(b)),
    "div": (lambda a, b: a / b, lambda a, b: 1 / b * np.ones_like(a), lambda a, b: -a / b**2),
}


@SETTINGS
@given(shapes=shape_pairs, op=st.sampled_from(sorted(BINARY)), seed=seeds)
def test_broadcasting_binary_ops_match_numpy_values_and_gradients(shapes, op: str, seed: int) -> None:
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    rng = np.random.default_rng(seed)
    A = rng.standard_normal(shape_a)
    B = rng.uniform(0.5, 2.0, shape_b) * rng.choice([-1.0, 1.0], shape_b)  # away from 0, for div
    f, df_da, df_db = BINARY[op]

    a, b = tl.tensor(A, requires_grad=True), tl.tensor(B, requires_grad=True)
    out = getattr(tl, op)(a, b)
    assert out.shape == out_shape
    np.testing.assert_allclose(out.detach().numpy(), f(A, B), rtol=1e-12)

    out.sum().backward()
    assert a.grad.shape == shape_a and b.grad.shape == shape_b
    dA = np.broadcast_to(df_da(A, B), out_shape)
    dB = np.broadcast_to(df_db(A, B), out_shape)
    np.testing.assert_allclose(a.grad.numpy(), _gather_back(dA, shape_a), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), _gather_back(dB, shape_b), rtol=1e-10, atol=1e-12)


@SETTINGS
@given(shapes=shape_pairs)
def test_add_gradient_counts_how_often_each_element_was_used(shapes) -> None:
    (shape_a, shape_b), out_shape = shapes.input_shapes, shapes.result_shape
    a, b = (
        tl.zeros(shape_a, dtype=tl.float64, requires_grad=True),
        tl.zeros(shape_b, dtype=tl.float64, requires_grad=True),
    )
    (a + b).sum().backward()
    n_out = int(np.prod(out_shape))
    # every element of a is read by the same number of output elements: n_out / a.size
    np.testing.assert_array_equal(a.grad.numpy(), np.full(shape_a, n_out / int(np.prod(shape_a))))
    np.testing.assert_array_equal(b.grad.numpy(), np.full(shape_b, n_out / int(np.prod(shape_b))))


# ----------------------------------------------------------------------------- reductions


@st.composite
def shape_and_dims(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...] | None]:
    shape = draw(array_shapes(min_dims=1, max_dims=4, min_side=1, max_side=4))
    dims = draw(st.none() | st.lists(st.integers(0, len(shape) - 1), min_size=1, unique=True).map(tuple))
    return shape, dims


def _reduce_expected(name: str, X: np.ndarray, axes: tuple[int, ...] | None, U_keep: np.ndarray) -> tuple:
    """NumPy's forward (with kept axes) and the hand formula for d sum(u * out) / dX."""
    n = X.size if axes is None else int(np.prod([X.shape[d] for d in axes]))
    if name == "sum":
        return X.sum(axis=axes, keepdims=True), np.broadcast_to(U_keep, X.shape)
    if name == "mean":
        return X.mean(axis=axes, keepdims=True), np.broadcast_to(U_keep / n, X.shape)
    m = X.max(axis=axes, keepdims=True)
    winners = X == m  # tied maxima share the gradient equally
    return m, U_keep * winners / winners.sum(axis=axes, keepdims=True)


@SETTINGS
@given(
    case=shape_and_dims(), name=st.sampled_from(["sum", "mean", "amax"]), keepdim=st.booleans(), seed=seeds
)
def test_reductions_match_numpy_values_and_gradients(case, name: str, keepdim: bool, seed: int) -> None:
    shape, dims = case
    rng = np.random.default_rng(seed)
    X = rng.integers(-2, 3, shape).astype(np.float64)  # few distinct values, so max has ties
    x = tl.tensor(X, requires_grad=True)
    out = getattr(tl, name)(x, dims, keepdim=keepdim)

    kept_shape = tuple(1 if dims is None or d in dims else n for d, n in enumerate(shape))
    U_keep = rng.standard_normal(kept_shape)
    forward, grad = _reduce_expected(name, X, dims, U_keep)
    expected_shape = (
        kept_shape if keepdim else tuple(n for d, n in enumerate(shape) if dims is not None and d not in dims)
    )
    assert out.shape == expected_shape
    np.testing.assert_allclose(out.detach().numpy(), forward.reshape(expected_shape), rtol=1e-12)

    (out * tl.tensor(U_keep.reshape(expected_shape))).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), grad, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(case=shape_and_dims(), keepdim=st.booleans(), seed=seeds)
def test_reductions_with_negative_dims_equal_positive_dims(case, keepdim: bool, seed: int) -> None:
    shape, dims = case
    if dims is None:
        return
    x = tl.tensor(np.random.default_rng(seed).standard_normal(shape))
    negative = tuple(d - len(shape) for d in dims)
    for name in ("sum", "mean", "amax"):
        a = getattr(tl, name)(x, dims, keepdim=keepdim).numpy()
        b = getattr(tl, name)(x, negative, keepdim=keepdim).numpy()
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- shape ops


@st.composite
def shape_and_reshape(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape = draw(array_shapes(min_dims=0, max_dims=4, min_side=1, max_side=4))
    size = int(np.prod(shape))
    factors, rest = [], size
    for _ in range(draw(st.integers(0, 3))):
        divisors = [k for k in range(1, rest + 1) if rest % k == 0]
        k = draw(st.sampled_from(divisors))
        factors.append(k)
        rest //= k
    new = tuple(factors) + (rest,)
    if draw(st.booleans()):  # let -1 stand for one of the sizes
        i = draw(st.integers(0, len(new) - 1))
        new = new[:i] + (-1,) + new[i + 1 :]
    return shape, new


@SETTINGS
@given(case=shape_and_reshape(), seed=seeds)
def test_reshape_matches_numpy_and_round_trips(case, seed: int) -> None:
    shape, new = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape)
    x = tl.tensor(X, requires_grad=True)
    y = x.reshape(new)
    np.testing.assert_array_equal(y.detach().numpy(), X.reshape(new))
    back = y.reshape(shape)
    np.testing.assert_array_equal(back.detach().numpy(), X)

    U = rng.standard_normal(y.shape)
    (y * tl.tensor(U)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), U.reshape(shape))


@st.composite
def shape_and_permutation(draw: st.DrawFn) -> tuple[tuple[int, ...], tuple[int, ...]]:
    shape = draw(array_shapes(min_dims=1, max_dims=5, min_side=1, max_side=4))
    return shape, tuple(draw(st.permutations(range(len(shape)))))


@SETTINGS
@given(case=shape_and_permutation(), seed=seeds)
def test_permute_matches_numpy_and_its_inverse_round_trips(case, seed: int) -> None:
    shape, dims = case
    rng = np.random.default_rng(seed)
    X = rng.standard_normal(shape)
    x = tl.tensor(X, requires_grad=True)
    y = x.permute(dims)
    np.testing.assert_array_equal(y.detach().numpy(), np.transpose(X, dims))
    inverse = tuple(int(i) for i in np.argsort(dims))
    np.testing.assert_array_equal(y.permute(inverse).detach().numpy(), X)

    U = rng.standard_normal(y.shape)
    (y * tl.tensor(U)).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.transpose(U, inverse))
