"""PyTorch's everyday non-differentiable surface: comparisons, predicates, creation, random draws,
in-place fills, grad modes, ``tl.cuda`` helpers, and the view rule.

Each test gives tinyllm and PyTorch the same inputs and expects the same values, dtypes, shapes
and exception types; random functions are checked by their statistics, with a seed.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import runtime

COMPARISONS = ["eq", "ne", "gt", "ge", "lt", "le"]
OPERATORS = {"eq": "__eq__", "ne": "__ne__", "gt": "__gt__", "ge": "__ge__", "lt": "__lt__", "le": "__le__"}


def dtype_name(t: Any) -> str:
    """A dtype's name that reads the same in both libraries: "float32", "int64", "bool"."""
    return str(t.dtype).removeprefix("torch.")


def assert_same(ours: tl.Tensor, theirs: Any) -> None:
    """Same shape, same dtype, same values (NaN equal to NaN)."""
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert dtype_name(ours) == dtype_name(theirs)
    np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def raises_like(torch_call: Any, tl_call: Any) -> type[BaseException]:
    """Run both calls; both must raise, and tinyllm's exception must be of PyTorch's type."""
    with pytest.raises(Exception) as theirs:
        torch_call()
    with pytest.raises(theirs.type):
        tl_call()
    return theirs.type


def operand_pairs(torch: Any) -> list[tuple[Any, Any]]:
    """Pairs of operands, as NumPy data or Python numbers, that cover broadcasting and promotion."""
    rng = np.random.default_rng(0)
    f = rng.integers(-2, 3, (2, 3)).astype(np.float32)
    f[0, 0] = np.nan
    return [
        (f, rng.integers(-2, 3, (3,)).astype(np.float32)),  # broadcasting, NaN
        (rng.integers(-3, 3, (4,)), 0.5),  # an int tensor meets a float: compare in float32
        (f, rng.integers(-2, 3, (2, 1))),  # float32 tensor with an int64 tensor
        (rng.integers(-3, 3, (3,)).astype(np.int32), rng.integers(-3, 3, (3,))),  # int32 with int64
        (np.array([True, False, True]), True),
        (f, f.astype(np.float64)),  # float32 with float64
        (np.array([16777217]), 16777216.0),  # equal only in float32, as PyTorch computes it
    ]


def pair(a: Any, b: Any, lib: Any) -> tuple[Any, Any]:
    make = (lambda x: lib.tensor(x)) if lib is tl else (lambda x: lib.from_numpy(np.array(x)))
    return make(a), (b if isinstance(b, (bool, int, float)) else make(b))


# ----------------------------------------------------------------------------- comparisons


@pytest.mark.parametrize("name", COMPARISONS)
def test_named_comparisons_match_torch_the_methods_and_the_operators(name: str, torch: Any) -> None:
    for a, b in operand_pairs(torch):
        ta, tb = pair(a, b, torch)
        xa, xb = pair(a, b, tl)
        expected = getattr(torch, name)(ta, tb)
        assert_same(getattr(tl, name)(xa, xb), expected)
        assert_same(getattr(xa, name)(xb), expected)
        assert_same(getattr(xa, OPERATORS[name])(xb), expected)


def test_an_int_tensor_equals_a_float_rounded_to_float32_as_in_torch(torch: Any) -> None:
    assert bool(torch.tensor([16777217]) == 16777216.0)
    assert bool(tl.tensor([16777217]) == 16777216.0)
    assert not bool(tl.tensor([16777217]) == 16777218.5)


def test_comparing_shapes_that_do_not_broadcast_raises_runtime_error(torch: Any) -> None:
    raises_like(lambda: torch.eq(torch.ones(2), torch.ones(3)), lambda: tl.eq(tl.ones(2), tl.ones(3)))
    raises_like(lambda: torch.ones(2) < torch.ones(3), lambda: tl.ones(2) < tl.ones(3))


def test_comparing_with_none_is_false_and_ordering_it_is_a_type_error(torch: Any) -> None:
    assert (torch.ones(2) == None) is False  # noqa: E711
    assert (tl.ones(2) == None) is False  # noqa: E711
    assert (tl.ones(2) != None) is True  # noqa: E711
    raises_like(lambda: torch.ones(2) < None, lambda: tl.ones(2) < None)
    raises_like(lambda: torch.eq(torch.ones(2), "a"), lambda: tl.eq(tl.ones(2), "a"))


def test_comparisons_carry_no_gradient() -> None:
    x = tl.randn(3, requires_grad=True)
    out = tl.gt(x, 0)
    assert out.dtype == tl.bool and not out.requires_grad and out.grad_fn is None


@pytest.mark.parametrize("name", ["isnan", "isinf", "isfinite"])
def test_isnan_isinf_isfinite_match_torch(name: str, torch: Any) -> None:
    data = [np.array([1.0, np.nan, np.inf, -np.inf, 0.0], dtype=np.float32), np.array([[1, -2], [3, 0]])]
    data.append(np.array([True, False]))
    for a in data:
        expected = getattr(torch, name)(torch.from_numpy(a))
        assert_same(getattr(tl, name)(tl.tensor(a)), expected)
        assert_same(getattr(tl.tensor(a), name)(), expected)


@pytest.mark.parametrize("name", ["all", "any"])
def test_all_and_any_match_torch_over_dims_and_empty_tensors(name: str, torch: Any) -> None:
    rng = np.random.default_rng(1)
    data = [
        rng.integers(0, 2, (3, 4, 2)).astype(bool),
        rng.integers(0, 2, (3, 4)).astype(np.float32),
        rng.integers(-1, 2, (2, 5)),
        np.zeros((0, 3), dtype=bool),
    ]
    for a in data:
        t, x = torch.from_numpy(a), tl.tensor(a)
        assert_same(getattr(tl, name)(x), getattr(torch, name)(t))
        assert_same(getattr(x, name)(), getattr(t, name)())
        for dim in range(-a.ndim, a.ndim):
            for keepdim in (False, True):
                assert_same(getattr(tl, name)(x, dim, keepdim), getattr(torch, name)(t, dim, keepdim))
                assert_same(getattr(x, name)(dim=dim, keepdim=keepdim), getattr(t, name)(dim=dim, keepdim=keepdim))
    a = data[0]
    for dims in [(0, 2), (), (-1, 0)]:
        assert_same(getattr(tl, name)(tl.tensor(a), dims), getattr(torch, name)(torch.from_numpy(a), dims))


def test_all_with_a_dim_out_of_range_raises_index_error(torch: Any) -> None:
    raises_like(lambda: torch.all(torch.ones(2, 3), dim=2), lambda: tl.all(tl.ones(2, 3), dim=2))


def test_isclose_and_allclose_match_torch(torch: Any) -> None:
    a = np.array([1.0, 1.0 + 1e-6, 1.0 + 1e-3, np.nan, np.inf, -np.inf, 0.0, 1e-9])
    b = np.array([1.0, 1.0, 1.0, np.nan, np.inf, np.inf, 1e-9, 0.0])
    for kw in [{}, {"equal_nan": True}, {"rtol": 1e-2}, {"atol": 1e-8, "rtol": 0.0}]:
        ta, tb, xa, xb = torch.from_numpy(a), torch.from_numpy(b), tl.tensor(a), tl.tensor(b)
        assert_same(tl.isclose(xa, xb, **kw), torch.isclose(ta, tb, **kw))
        assert_same(xa.isclose(xb, **kw), torch.isclose(ta, tb, **kw))
        assert tl.allclose(xa, xb, **kw) is torch.allclose(ta, tb, **kw)
        assert tl.allclose(xa[:3], xb[:3], **kw) is torch.allclose(ta[:3], tb[:3], **kw)
        assert xa[:3].allclose(xb[:3], **kw) is torch.allclose(ta[:3], tb[:3], **kw)
    ints, bools = np.array([1, 2, 3]), np.array([True, False])
    assert_same(tl.isclose(tl.tensor(ints), tl.tensor(ints[::-1].copy())), torch.isclose(
        torch.from_numpy(ints), torch.from_numpy(ints[::-1].copy())))  # fmt: skip
    assert_same(tl.isclose(tl.tensor(bools), tl.tensor(bools)), torch.isclose(*[torch.from_numpy(bools)] * 2))
    assert tl.allclose(tl.ones(2, 3), tl.ones(3)) is torch.allclose(torch.ones(2, 3), torch.ones(3))


def test_isclose_refuses_mixed_dtypes_and_non_tensors_as_torch_does(torch: Any) -> None:
    raises_like(
        lambda: torch.isclose(torch.ones(2), torch.ones(2, dtype=torch.float64)),
        lambda: tl.isclose(tl.ones(2), tl.ones(2, dtype=tl.float64)),
    )
    raises_like(lambda: torch.isclose(torch.ones(2), 1.0), lambda: tl.isclose(tl.ones(2), 1.0))
    raises_like(lambda: torch.allclose(torch.ones(2), torch.ones(3)), lambda: tl.allclose(tl.ones(2), tl.ones(3)))


def test_equal_matches_torch(torch: Any) -> None:
    cases = [
        (np.ones(3, np.float32), np.ones(3, np.float32)),
        (np.ones(3, np.float32), np.ones(3, np.int64)),  # values count, not dtypes
        (np.ones(3), np.ones(4)),
        (np.ones((1, 3)), np.ones(3)),  # no broadcasting: shapes must agree
        (np.array([1.0, np.nan]), np.array([1.0, np.nan])),  # NaN equals nothing
        (np.array([1, 2]), np.array([1, 3])),
    ]
    for a, b in cases:
        expected = torch.equal(torch.from_numpy(a), torch.from_numpy(b))
        assert tl.equal(tl.tensor(a), tl.tensor(b)) is expected
        assert tl.tensor(a).equal(tl.tensor(b)) is expected


def test_unique_matches_torch_with_inverse_counts_and_dim(torch: Any) -> None:
    rng = np.random.default_rng(2)
    a = rng.integers(0, 4, (3, 5))
    rows = np.array([[3, 1], [3, 1], [2, 3], [0, 0]])
    floats = np.array([2.0, np.nan, 1.0, np.nan, 2.0], dtype=np.float32)
    cases = [
        (a, {}),
        (a, {"return_inverse": True}),
        (a, {"return_counts": True}),
        (a, {"return_inverse": True, "return_counts": True}),
        (rows, {"dim": 0, "return_inverse": True, "return_counts": True}),
        (rows, {"dim": 1, "return_inverse": True}),
        (rows, {"dim": -2}),
        (floats, {"return_counts": True}),
    ]
    for data, kw in cases:
        ours, theirs = tl.unique(tl.tensor(data), **kw), torch.unique(torch.from_numpy(data), **kw)
        ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            assert_same(o, t)
        method = tl.tensor(data).unique(**kw)
        assert_same(method[0] if isinstance(method, tuple) else method, theirs[0])


def test_unique_inverse_rebuilds_the_input() -> None:
    x = tl.randint(0, 5, (4, 6))
    values, inverse = tl.unique(x, return_inverse=True)
    assert tl.equal(values[inverse], x)


# ----------------------------------------------------------------------------- creation


def test_as_tensor_shares_memory_with_an_array_of_the_right_dtype(torch: Any) -> None:
    a = np.zeros(3)
    t, ta = tl.as_tensor(a), torch.as_tensor(a)
    a[0] = 5.0
    assert t.tolist() == ta.tolist() == [5.0, 0.0, 0.0]
    assert dtype_name(t) == dtype_name(ta) == "float64"
    converted = tl.as_tensor(a, dtype=tl.float32)  # a different dtype must copy
    a[1] = 7.0
    assert converted.tolist() == [5.0, 0.0, 0.0] and converted.dtype == tl.float32
    x = tl.ones(2)
    assert tl.as_tensor(x) is x


def test_as_tensor_of_python_data_gives_torchs_dtypes(torch: Any) -> None:
    for data in ([1.0, 2.0], [1, 2], [True, False], 3.5, [[1, 2], [3, 4]]):
        assert_same(tl.as_tensor(data), torch.as_tensor(data))
    assert_same(tl.as_tensor([1, 2], dtype=tl.float64), torch.as_tensor([1, 2], dtype=torch.float64))


def test_from_numpy_shares_memory_and_refuses_other_types(torch: Any) -> None:
    a = np.arange(6, dtype=np.int32).reshape(2, 3)
    t = tl.from_numpy(a)
    t[0, 0] = 100
    assert a[0, 0] == 100
    a[1, 2] = -1
    assert t[1, 2].item() == -1
    assert_same(t, torch.from_numpy(a))
    raises_like(lambda: torch.from_numpy([1, 2]), lambda: tl.from_numpy([1, 2]))
    with pytest.raises(TypeError, match="list"):
        tl.from_numpy([1, 2])


def test_is_tensor_and_numel(torch: Any) -> None:
    assert tl.is_tensor(tl.ones(2)) and not tl.is_tensor(np.ones(2)) and not tl.is_tensor([1])
    assert tl.numel(tl.ones(2, 3, 4)) == torch.numel(torch.ones(2, 3, 4)) == 24
    assert tl.numel(tl.tensor(3.0)) == 1


def test_empty_and_empty_like_have_the_requested_shape_and_dtype(torch: Any) -> None:
    for ours, theirs in [
        (tl.empty(2, 3), torch.empty(2, 3)),
        (tl.empty((4,), dtype=tl.int64), torch.empty((4,), dtype=torch.int64)),
        (tl.empty_like(tl.ones(2, dtype=tl.float64)), torch.empty_like(torch.ones(2, dtype=torch.float64))),
    ]:
        assert tuple(ours.shape) == tuple(theirs.shape) and dtype_name(ours) == dtype_name(theirs)
        assert not ours.numpy().any()  # tinyllm's empty is zeros, documented
    assert tl.empty(2, requires_grad=True).requires_grad


def test_linspace_matches_torch(torch: Any) -> None:
    for args, kw in [((0, 1, 5), {}), ((-3.5, 2.0, 7), {}), ((1, 1, 1), {}), ((0, 1, 0), {}), ((2, -2, 9), {}),
                     ((0, 10, 5), {"dtype": "int64"}), ((0, 1, 11), {"dtype": "float64"})]:  # fmt: skip
        theirs = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kw.items()})
        ours = tl.linspace(*args, **{k: getattr(tl, v) for k, v in kw.items()})
        assert tuple(ours.shape) == tuple(theirs.shape) and dtype_name(ours) == dtype_name(theirs)
        np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-6, atol=1e-7)
    raises_like(lambda: torch.linspace(0, 1, -1), lambda: tl.linspace(0, 1, -1))


def test_eye_matches_torch(torch: Any) -> None:
    assert_same(tl.eye(3), torch.eye(3))
    assert_same(tl.eye(2, 4), torch.eye(2, 4))
    assert_same(tl.eye(3, 1, dtype=tl.int64), torch.eye(3, 1, dtype=torch.int64))
    assert_same(tl.eye(0), torch.eye(0))
    raises_like(lambda: torch.eye(-1), lambda: tl.eye(-1))


# ----------------------------------------------------------------------------- random draws


def test_randint_like_keeps_the_input_dtype_and_range(torch: Any) -> None:
    for like, args in [(np.ones((3, 4), np.float32), (10,)), (np.ones(50), (-3, 4)), (np.ones(7, np.int32), (5,))]:
        ours, theirs = tl.randint_like(tl.tensor(like), *args), torch.randint_like(torch.from_numpy(like), *args)
        assert tuple(ours.shape) == tuple(theirs.shape) and dtype_name(ours) == dtype_name(theirs)
        low, high = (0, args[0]) if len(args) == 1 else args
        values = ours.numpy()
        assert values.min() >= low and values.max() < high and np.all(values == np.round(values))
    assert tl.randint_like(tl.ones(3), 5, dtype=tl.int64).dtype == tl.int64


def test_normal_with_numbers_and_with_tensors(torch: Any) -> None:
    x = tl.normal(2.0, 3.0, (20000,))
    assert x.dtype == dtype_name(torch.normal(2.0, 3.0, (2,))) == "float32" and x.shape == (20000,)
    assert abs(x.numpy().mean() - 2.0) < 4 * 3.0 / math.sqrt(20000)
    assert abs(x.numpy().std() - 3.0) < 0.1
    mean = tl.tensor([0.0, 100.0, -100.0], dtype=tl.float64)
    y = tl.normal(mean, 1e-3)
    assert y.dtype == tl.float64 and y.shape == (3,)
    np.testing.assert_allclose(y.numpy(), mean.numpy(), atol=1e-2)
    z = tl.normal(tl.zeros(4000, 2), tl.tensor([1.0, 10.0]))
    assert z.shape == (4000, 2) and 9.0 < z.numpy()[:, 1].std() < 11.0 and 0.9 < z.numpy()[:, 0].std() < 1.1
    raises_like(lambda: torch.normal(0.0, -1.0, (2,)), lambda: tl.normal(0.0, -1.0, (2,)))
    raises_like(lambda: torch.normal(torch.zeros(3), torch.ones(2)), lambda: tl.normal(tl.zeros(3), tl.ones(2)))


def test_normal_repeats_with_a_seeded_generator() -> None:
    a = tl.normal(0.0, 1.0, (5,), generator=tl.Generator(seed=3))
    b = tl.normal(0.0, 1.0, (5,), generator=tl.Generator(seed=3))
    assert tl.equal(a, b)


def test_bernoulli_draws_ones_with_the_given_probability(torch: Any) -> None:
    p = tl.tensor([0.0, 0.1, 0.5, 0.9, 1.0]).expand(20000, 5)
    draws = tl.bernoulli(p)
    assert draws.dtype == tl.float32 and draws.shape == (20000, 5)
    freq = draws.numpy().mean(axis=0)
    assert freq[0] == 0.0 and freq[-1] == 1.0
    for f, q in zip(freq[1:4], [0.1, 0.5, 0.9]):
        assert abs(f - q) < 4 * math.sqrt(q * (1 - q) / 20000)
    for bad in (1.5, -0.1, math.nan):
        raises_like(lambda b=bad: torch.bernoulli(torch.tensor([b])), lambda b=bad: tl.bernoulli(tl.tensor([b])))


def test_multinomial_with_replacement_draws_with_the_given_frequencies() -> None:
    weights = [1.0, 0.0, 3.0, 6.0]  # unnormalised; the zero must never come up
    n = 20000
    draws = tl.multinomial(tl.tensor(weights), n, replacement=True)
    assert draws.dtype == tl.int64 and draws.shape == (n,)
    counts = np.bincount(draws.numpy(), minlength=4)
    assert counts[1] == 0
    for count, w in zip(counts, weights):
        q = w / sum(weights)
        assert abs(count / n - q) <= 4 * math.sqrt(q * (1 - q) / n) + 1e-12


def test_multinomial_without_replacement_never_repeats_and_follows_sequential_draws() -> None:
    p = tl.tensor([[0.5, 0.3, 0.2]] * 30000)
    draws = tl.multinomial(p, 2).numpy()
    assert draws.shape == (30000, 2)
    assert np.all(draws[:, 0] != draws[:, 1])
    # Drawing one, removing it and drawing again: P(first=i, second=j) = p_i * p_j / (1 - p_i).
    probs = [0.5, 0.3, 0.2]
    for i in range(3):
        for j in range(3):
            if i != j:
                q = probs[i] * probs[j] / (1 - probs[i])
                freq = np.mean((draws[:, 0] == i) & (draws[:, 1] == j))
                assert abs(freq - q) < 4 * math.sqrt(q * (1 - q) / 30000)
    full = tl.multinomial(tl.tensor([0.1, 0.0, 0.6, 0.3]), 4).numpy()
    assert sorted(full) == [0, 1, 2, 3] and full[-1] == 1  # the zero-weight category comes last


def test_multinomial_shapes_and_seeded_repeats(torch: Any) -> None:
    probs = np.array([[0.2, 0.8], [0.5, 0.5], [1.0, 0.0]], np.float32)
    for n, repl in [(1, False), (2, False), (5, True)]:
        ours, theirs = tl.multinomial(tl.tensor(probs), n, repl), torch.multinomial(torch.from_numpy(probs), n, repl)
        assert tuple(ours.shape) == tuple(theirs.shape) and dtype_name(ours) == dtype_name(theirs)
    assert tl.multinomial(tl.tensor(probs), 3, True)[2].tolist() == [0, 0, 0]
    a = tl.multinomial(tl.ones(10), 6, generator=tl.Generator(seed=7))
    b = tl.ones(10).multinomial(6, generator=tl.Generator(seed=7))
    assert tl.equal(a, b) and len(set(a.tolist())) == 6
    c = tl.bernoulli(tl.full((20,), 0.5), generator=tl.Generator(seed=7))
    assert tl.equal(c, tl.full((20,), 0.5).bernoulli(generator=tl.Generator(seed=7)))


@pytest.mark.parametrize(
    "probs, n, replacement",
    [
        ([0.5, -0.5], 1, True),  # negative weight
        ([1.0, math.inf], 1, True),
        ([0.0, 0.0], 1, True),  # zero-sum row
        ([[0.0, 0.0], [1.0, 1.0]], 1, False),
        ([0.5, 0.5], 3, False),  # more samples than categories without replacement
        ([0.5, 0.5], 0, True),
        ([[[0.5, 0.5]]], 1, True),  # 3-D
        ([1, 2], 1, True),  # integer weights
    ],
)
def test_multinomial_raises_where_torch_raises(probs: Any, n: int, replacement: bool, torch: Any) -> None:
    raises_like(
        lambda: torch.multinomial(torch.tensor(probs), n, replacement),
        lambda: tl.multinomial(tl.tensor(probs), n, replacement),
    )


# ----------------------------------------------------------------------------- new_* and in-place fills


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_new_tensors_take_the_dtype_of_self(dtype: str, torch: Any) -> None:
    ours, theirs = tl.ones(2, dtype=getattr(tl, dtype)), torch.ones(2, dtype=getattr(torch, dtype))
    assert_same(ours.new_zeros(2, 3), theirs.new_zeros(2, 3))
    assert_same(ours.new_ones((3,)), theirs.new_ones((3,)))
    assert_same(ours.new_full((2, 2), 1), theirs.new_full((2, 2), 1))
    assert_same(ours.new_tensor([[1, 0], [0, 1]]), theirs.new_tensor([[1, 0], [0, 1]]))
    assert_same(ours.new_zeros(2, dtype=tl.int32), theirs.new_zeros(2, dtype=torch.int32))


def test_new_tensor_copies_its_data() -> None:
    a = np.array([1.0, 2.0])
    t = tl.ones(1).new_tensor(a)
    a[0] = 9.0
    assert t.tolist() == [1.0, 2.0] and t.dtype == tl.float32
    assert tl.ones(1).new_zeros(2, requires_grad=True).requires_grad


def test_uniform_and_normal_fill_in_place_and_bump_the_version() -> None:
    x = tl.zeros(20000)
    data, version = x.data, x._version
    assert x.uniform_(-2.0, 3.0) is x and x.data is data and x._version == version + 1
    values = x.numpy()
    assert values.min() >= -2.0 and values.max() < 3.0 and abs(values.mean() - 0.5) < 0.05
    assert x.normal_(1.0, 0.5) is x and x._version == version + 2
    assert abs(x.numpy().mean() - 1.0) < 0.02 and abs(x.numpy().std() - 0.5) < 0.02
    a = tl.zeros(4).uniform_(generator=tl.Generator(seed=1))
    b = tl.zeros(4).uniform_(generator=tl.Generator(seed=1))
    assert tl.equal(a, b)


def test_in_place_fills_raise_where_torch_raises(torch: Any) -> None:
    raises_like(lambda: torch.ones(2).uniform_(3, 1), lambda: tl.ones(2).uniform_(3, 1))
    raises_like(lambda: torch.ones(2).normal_(0, -1), lambda: tl.ones(2).normal_(0, -1))
    with pytest.raises(TypeError, match="floating"):
        tl.ones(2, dtype=tl.int64).uniform_()
    with pytest.raises(RuntimeError, match="in-place"):
        tl.ones(2, requires_grad=True).normal_()
    with tl.no_grad():
        w = tl.ones(2, requires_grad=True).uniform_()
    assert w.requires_grad and w.detach().numpy().max() < 1.0


def test_masked_fill_in_place_matches_torch(torch: Any) -> None:
    x, mask = np.arange(6.0).reshape(2, 3), np.array([True, False, True])
    ours, theirs = tl.tensor(x), torch.from_numpy(x.copy())
    data = ours.data
    assert ours.masked_fill_(tl.tensor(mask), -1.0) is ours and ours.data is data and ours._version == 1
    assert_same(ours, theirs.masked_fill_(torch.from_numpy(mask), -1.0))
    with pytest.raises(TypeError, match="bool"):
        tl.ones(3).masked_fill_(tl.tensor([1, 0, 1]), 0.0)


def test_half_converts_to_float16(torch: Any) -> None:
    data = np.array([1.0, 1.0 / 3.0, 65000.0, -2.5])
    assert_same(tl.tensor(data).half(), torch.from_numpy(data).half())
    x = tl.tensor(data, requires_grad=True)
    x.half().float().sum().backward()
    assert x.grad.tolist() == [1.0] * 4


# ----------------------------------------------------------------------------- grad modes, threads, tl.cuda


def test_inference_mode_records_no_graph_as_context_and_decorator() -> None:
    x = tl.ones(2, requires_grad=True)
    with tl.inference_mode():
        assert not (x * 2).requires_grad
        with tl.inference_mode(False):
            assert (x * 2).requires_grad
    assert (x * 2).requires_grad

    @tl.inference_mode()
    def called(t: tl.Tensor) -> tl.Tensor:
        return t * 2

    @tl.inference_mode
    def bare(t: tl.Tensor) -> tl.Tensor:
        return t * 2

    assert not called(x).requires_grad and not bare(x).requires_grad and tl.is_grad_enabled()


def test_thread_settings_are_at_the_top_level() -> None:
    assert tl.set_num_threads is runtime.set_num_threads and tl.get_num_threads is runtime.get_num_threads
    before = tl.get_num_threads()
    tl.set_num_threads(1)
    assert tl.get_num_threads() == 1
    tl.set_num_threads(before)


def test_cuda_manual_seed_and_synchronize() -> None:
    tl.cuda.manual_seed(0)
    tl.cuda.synchronize()  # nothing to wait for without a GPU; returns once the GPU is idle with one
    with pytest.raises(tl.DeviceError):
        tl.cuda.synchronize("cuda:99")
    with pytest.raises(ValueError, match="cuda"):
        tl.cuda.synchronize("cpu")
    if tl.cuda.is_available():
        tl.cuda.manual_seed(5)
        a = tl.randn(3, device="cuda")
        tl.cuda.manual_seed(5)
        assert tl.equal(a, tl.randn(3, device="cuda"))
        tl.cuda.synchronize(0)
    else:
        with pytest.raises(tl.DeviceError):
            tl.cuda.synchronize(0)


# ----------------------------------------------------------------------------- the view rule


def view_cases(lib: Any) -> list[tuple[str, Any, tuple[int, ...]]]:
    """(name, tensor, new shape) with the tensor built the same way in both libraries."""
    base = lib.arange(24).reshape(4, 6)
    return [
        ("contiguous to flat", base, (-1,)),
        ("transposed to flat", base.transpose(0, 1), (-1,)),
        ("transposed, split a dim", base.transpose(0, 1), (3, 2, 4)),
        ("every other row to flat", base[::2], (-1,)),
        ("every other row, add a dim", base[::2], (2, 6, 1)),
        ("every other row, split columns", base[::2], (2, 2, 3)),
        ("a column slice to flat", base[:, 1:3], (-1,)),
        ("a column slice, add dims", base[:, 1:3], (1, 4, 2, 1)),
        ("a row slice to flat", base[1:3], (12,)),
        ("expanded to flat", lib.arange(3).expand(2, 3), (6,)),
        ("expanded, add a dim", lib.arange(3).expand(2, 3), (2, 3, 1)),
        ("permuted 3-d, join the last two", base.reshape(2, 3, 4).permute(1, 0, 2), (3, 8)),
        ("permuted 3-d, join the first two", base.reshape(2, 3, 4).permute(1, 0, 2), (6, 4)),
    ]


def test_view_raises_exactly_where_torch_raises_and_else_shares_memory(torch: Any) -> None:
    for (name, ours, shape), (_, theirs, _) in zip(view_cases(tl), view_cases(torch)):
        try:
            expected = theirs.view(shape)
        except RuntimeError:
            with pytest.raises(RuntimeError, match=r"reshape"):
                ours.view(shape)
            assert_same(ours.reshape(shape), theirs.reshape(shape))  # reshape copies instead
            assert_same(ours.contiguous().view(shape), theirs.contiguous().view(shape))
            continue
        got = ours.view(shape)
        assert_same(got, expected)
        assert np.shares_memory(got.data, ours.data), name


def test_view_of_a_transpose_raises_and_suggests_reshape(torch: Any) -> None:
    raises_like(lambda: torch.ones(2, 3).transpose(0, 1).view(-1), lambda: tl.ones(2, 3).transpose(0, 1).view(-1))
    with pytest.raises(RuntimeError, match=r"stride.*\.reshape\(\.\.\.\)"):
        tl.ones(2, 3).transpose(0, 1).view(-1)


def test_a_write_through_a_view_shows_in_the_base_and_counts_versions() -> None:
    base = tl.zeros(4, 6)
    v = base[::2].view(2, 2, 3)
    v[1, 0, 2] = 5.0
    assert base[2, 2].item() == 5.0
    assert base._version == v._version == 1
    assert tl.zeros(2, 3).view_as(tl.ones(3, 2)).shape == (3, 2)


def test_view_is_differentiable_in_float64() -> None:
    x = tl.randn(4, 6, dtype=tl.float64, requires_grad=True)
    tl.gradcheck(lambda t: t[::2].view(2, 2, 3) * tl.arange(3, dtype=tl.float64), [x])


def test_is_contiguous_matches_torch(torch: Any) -> None:
    for ours, theirs in zip(
        [tl.ones(3, 4), tl.ones(3, 4).T, tl.ones(3, 4)[::2], tl.ones(3, 4)[:, :1], tl.ones(3, 4)[1:],
         tl.ones(3, 4)[:, 1:], tl.ones(3).expand(2, 3), tl.ones(1, 4).T, tl.ones(0, 3).T],
        [torch.ones(3, 4), torch.ones(3, 4).T, torch.ones(3, 4)[::2], torch.ones(3, 4)[:, :1], torch.ones(3, 4)[1:],
         torch.ones(3, 4)[:, 1:], torch.ones(3).expand(2, 3), torch.ones(1, 4).T, torch.ones(0, 3).T],
    ):  # fmt: skip
        assert ours.is_contiguous() == theirs.is_contiguous(), theirs.stride()


def test_contiguous_returns_self_or_a_differentiable_copy() -> None:
    x = tl.randn(3, 4, dtype=tl.float64, requires_grad=True)
    assert x.contiguous() is x
    t = x.transpose(0, 1)
    c = t.contiguous()
    assert c is not t and c.is_contiguous() and not t.is_contiguous() and tl.equal(c, t)
    assert not np.shares_memory(c.data, x.data)
    tl.gradcheck(lambda a: a.transpose(0, 1).contiguous().view(-1) * tl.arange(12, dtype=tl.float64), [x])


def test_the_surface_works_on_every_device(device: str) -> None:
    x = tl.arange(12, device=device).reshape(3, 4).float()
    assert (x > 5).device == x.device and tl.all(tl.eq(x, x.T.T)).item()
    assert tl.isclose(x, x + 1e-9).all().item() and tl.equal(x, x.clone())
    with pytest.raises(RuntimeError, match="reshape"):
        x.T.view(-1)
    x[::2].view(2, 2, 2)[0, 0, 1] = -1.0  # a write through the view reaches x
    assert x[0, 1].item() == -1.0
    assert x.new_zeros(2).device == x.device and x.new_tensor([1]).device == x.device
    draws = tl.multinomial(tl.tensor([0.0, 1.0, 3.0], device=device), 50, replacement=True)
    assert draws.device == x.device and 0 not in draws.tolist()
    assert sorted(tl.multinomial(tl.ones(4, device=device), 4).tolist()) == [0, 1, 2, 3]
    assert tl.bernoulli(tl.full((5,), 1.0, device=device)).tolist() == [1.0] * 5
    assert x.uniform_(0.0, 1.0).device == x.device and x.masked_fill_(x > 0.5, 0.0).device == x.device
    assert tl.unique(tl.tensor([2, 1, 2], device=device)).tolist() == [1, 2]
    assert tl.normal(tl.zeros(3, device=device), 1.0).device == x.device
