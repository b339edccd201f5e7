"""The autograd engine's semantics: the backward walk, grad modes, dtypes, in-place safety, the Tensor API."""

from __future__ import annotations

import sys
import weakref

import numpy as np
import pytest

import tinyllm as tl

# ----------------------------------------------------------------------------- the backward walk


def test_acceptance_example_matches_torch(torch) -> None:
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (x @ x).tanh().sum().backward()

    t = torch.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    (t @ t).tanh().sum().backward()

    assert x.grad.dtype == tl.float32
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), rtol=1e-5, atol=1e-12)


def test_acceptance_example_matches_hand_derived_gradient(device: str) -> None:
    # L = sum(tanh(X @ X)).  With G = dL/dY = 1 - tanh(Y)^2 and Y = X @ X (X used twice):
    # dL/dX = G @ X^T + X^T @ G.  float64, so 1 - tanh^2 does not cancel to 0 as in float32.
    X = np.array([[1.0, 2.0], [3.0, 4.0]])
    x = tl.tensor(X, requires_grad=True, device=device)
    (x @ x).tanh().sum().backward()

    G = 1 - np.tanh(X @ X) ** 2
    np.testing.assert_allclose(x.grad.numpy(), G @ X.T + X.T @ G, rtol=1e-10)


def test_chain_of_100k_ops_backpropagates_without_recursion_error() -> None:
    n, c = 100_000, 1.0000001
    assert sys.getrecursionlimit() < n  # a recursive walk would overflow
    x0 = tl.tensor(np.array([2.0]), requires_grad=True)
    x = x0
    for _ in range(n):
        x = x * c
    x.sum().backward()

    np.testing.assert_allclose(x.detach().numpy(), [2.0 * c**n], rtol=1e-9)
    np.testing.assert_allclose(x0.grad.numpy(), [c**n], rtol=1e-9)


def test_leaf_used_twice_gets_the_sum_of_both_gradients() -> None:
    a = tl.tensor([1.0, -2.0], requires_grad=True)
    (a * a + a).sum().backward()  # d/da (a^2 + a) = 2a + 1
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, -3.0])


def test_gradients_accumulate_across_backward_calls_until_zeroed() -> None:
    w = tl.tensor([1.0, -2.0, 3.0], requires_grad=True)
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, -4.0, 6.0])

    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, -8.0, 12.0])

    w.grad.zero_()
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, -4.0, 6.0])

    w.grad = None
    (w * w).sum().backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, -4.0, 6.0])


def test_retain_graph_allows_a_second_backward() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward(retain_graph=True)
    y.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [4.0, 8.0])


def test_second_backward_without_retain_graph_raises_and_accumulates_nothing() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph"):
        y.backward()
    # a new graph that reaches the freed one: its fresh branch (w * 3) must not leak into w.grad
    z = y + (w * 3).sum()
    with pytest.raises(RuntimeError, match="retain_graph"):
        z.backward()
    np.testing.assert_array_equal(w.grad.numpy(), [2.0, 4.0])


def test_non_leaf_keeps_grad_only_with_retain_grad() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w * 3
    (h * h).sum().backward()
    assert h.grad is None

    w.grad = None
    h = w * 3
    h.retain_grad()
    (h * h).sum().backward()
    np.testing.assert_array_equal(h.grad.numpy(), [6.0, 12.0])  # 2h
    np.testing.assert_array_equal(w.grad.numpy(), [18.0, 36.0])  # 2h * 3
    assert not np.shares_memory(h.grad.data, w.grad.data)


def test_graph_is_freed_after_backward() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()
    y = (h * 2).sum()
    fn, alive = h.grad_fn, weakref.ref(h)
    del h
    assert alive() is not None  # the graph holds the intermediate tensor
    y.backward()
    assert alive() is None
    assert fn.inputs is None


def test_retain_graph_keeps_the_graph_alive() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()
    y = (h * 2).sum()
    alive = weakref.ref(h)
    del h
    y.backward(retain_graph=True)
    assert alive() is not None


def test_backward_on_non_scalar_without_grad_names_the_shape() -> None:
    y = tl.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(2, 3\)"):
        y.backward()


def test_backward_with_an_upstream_grad_weights_the_outputs() -> None:
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).backward(tl.tensor([1.0, 0.0, -1.0]))
    np.testing.assert_array_equal(x.grad.numpy(), [2.0, 0.0, -6.0])


def test_backward_with_a_grad_of_the_wrong_shape_raises() -> None:
    y = tl.ones(2, 3, requires_grad=True) * 2
    with pytest.raises(RuntimeError, match=r"\(3,\).*\(2, 3\)"):
        y.backward(tl.ones(3))


def test_backward_on_a_tensor_without_graph_raises() -> None:
    with pytest.raises(RuntimeError, match="does not require grad"):
        tl.ones(3).sum().backward()


def test_custom_function_returning_a_wrong_shaped_gradient_names_op_and_shapes() -> None:
    class BadSum(tl.Function):
        def forward(self, x: np.ndarray) -> np.ndarray:
            self.shape = x.shape
            return x.sum()

        def backward(self, gy: np.ndarray) -> np.ndarray:
            return np.ones(self.shape[:-1], dtype=gy.dtype)  # wrong: drops an axis

    x = tl.ones(2, 3, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"BadSum.*\(2,\).*\(2, 3\)"):
        BadSum.apply(x).backward()


# ----------------------------------------------------------------------------- grad mode


class _SumAndDifference(tl.Function):
    """Two outputs from one node: s = a + b and d = a - b."""

    calls = 0

    def forward(self, a, b):
        return a + b, a - b

    def backward(self, gs, gd):
        type(self).calls += 1
        gs = 0 if gs is None else gs
        gd = 0 if gd is None else gd
        return np.asarray(gs + gd, dtype=float), np.asarray(gs - gd, dtype=float)


def test_multi_output_function_gets_each_outputs_gradient_in_one_backward_call() -> None:
    a = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    b = tl.tensor([3.0, 5.0], dtype=tl.float64, requires_grad=True)
    _SumAndDifference.calls = 0
    s, d = _SumAndDifference.apply(a, b)
    # L = sum(2 s) + sum(3 d * s): both outputs feed the loss through several paths.
    (2 * s + 3 * d * s).sum().backward()
    S, D = np.array([4.0, 7.0]), np.array([-2.0, -3.0])
    g_s, g_d = 2 + 3 * D, 3 * S
    np.testing.assert_allclose(a.grad.numpy(), g_s + g_d)
    np.testing.assert_allclose(b.grad.numpy(), g_s - g_d)
    assert _SumAndDifference.calls == 1


def test_multi_output_function_gets_none_for_an_unused_output() -> None:
    a = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    b = tl.tensor([3.0, 5.0], dtype=tl.float64, requires_grad=True)
    s, _ = _SumAndDifference.apply(a, b)
    s.sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [1.0, 1.0])
    np.testing.assert_allclose(b.grad.numpy(), [1.0, 1.0])


def test_retain_grad_on_the_second_output_of_a_multi_output_node() -> None:
    a = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    b = tl.tensor([3.0, 5.0], dtype=tl.float64, requires_grad=True)
    s, d = _SumAndDifference.apply(a, b)
    d.retain_grad()
    (s + 4 * d).sum().backward()
    np.testing.assert_allclose(d.grad.numpy(), [4.0, 4.0])
    assert s.grad is None


def test_no_grad_records_nothing() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        assert not tl.is_grad_enabled()
        y = w * 2
    assert tl.is_grad_enabled()
    assert not y.requires_grad
    assert y.grad_fn is None


def test_no_grad_restores_grad_mode_after_an_exception() -> None:
    with pytest.raises(ValueError), tl.no_grad():
        raise ValueError
    assert tl.is_grad_enabled()


def test_no_grad_works_as_a_decorator() -> None:
    @tl.no_grad()
    def double(x: tl.Tensor) -> tl.Tensor:
        assert not tl.is_grad_enabled()
        return x * 2

    y = double(tl.tensor([1.0], requires_grad=True))
    assert not y.requires_grad and y.grad_fn is None
    assert tl.is_grad_enabled()


def test_enable_grad_records_inside_no_grad() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        with tl.enable_grad():
            y = w * 2
        assert not tl.is_grad_enabled()
    assert y.requires_grad and y.grad_fn is not None


def test_set_grad_enabled_switches_at_once_and_restores_as_a_context_manager() -> None:
    w = tl.tensor([1.0], requires_grad=True)
    try:
        tl.set_grad_enabled(False)
        assert not (w * 2).requires_grad
        tl.set_grad_enabled(True)
        assert (w * 2).requires_grad
    finally:
        tl.set_grad_enabled(True)

    with tl.set_grad_enabled(False):
        assert not (w * 2).requires_grad
    assert tl.is_grad_enabled()


def test_set_grad_enabled_as_a_decorator_switches_only_while_the_function_runs() -> None:
    @tl.set_grad_enabled(False)
    def double(x: tl.Tensor) -> tl.Tensor:
        return x * 2

    assert tl.is_grad_enabled()
    assert not double(tl.tensor([1.0], requires_grad=True)).requires_grad
    assert tl.is_grad_enabled()


# ----------------------------------------------------------------------------- broadcasting


def test_broadcast_gradients_are_summed_back_to_each_input_shape(device: str) -> None:
    rng = np.random.default_rng(0)
    A, B, U = rng.standard_normal((3, 1)), rng.standard_normal(4), rng.standard_normal((3, 4))
    a = tl.tensor(A, requires_grad=True, device=device)
    b = tl.tensor(B, requires_grad=True, device=device)
    (a + b).backward(tl.tensor(U, device=device))

    assert a.grad.shape == (3, 1) and b.grad.shape == (4,)
    np.testing.assert_allclose(a.grad.numpy(), U.sum(axis=1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(b.grad.numpy(), U.sum(axis=0), rtol=1e-12)


def test_scalar_tensor_times_matrix_gradients(device: str) -> None:
    rng = np.random.default_rng(1)
    M, U = rng.standard_normal((2, 3)), rng.standard_normal((2, 3))
    s = tl.tensor(np.float64(2.5), requires_grad=True, device=device)
    m = tl.tensor(M, requires_grad=True, device=device)
    (s * m).backward(tl.tensor(U, device=device))

    assert s.grad.shape == ()
    np.testing.assert_allclose(s.grad.numpy(), (U * M).sum(), rtol=1e-12)
    np.testing.assert_allclose(m.grad.numpy(), 2.5 * U, rtol=1e-12)


# ----------------------------------------------------------------------------- dtypes


def test_tensor_dtypes_follow_pytorch_defaults() -> None:
    assert tl.tensor([1.0, 2.0]).dtype == tl.float32
    assert tl.tensor(1.5).dtype == tl.float32
    assert tl.tensor([1, 2]).dtype == tl.int64
    assert tl.tensor([True, False]).dtype == tl.bool
    assert tl.tensor(np.array([1.0, 2.0])).dtype == tl.float64
    assert tl.tensor(np.array([1.0], dtype=np.float32)).dtype == tl.float32
    assert tl.tensor([1, 2], dtype=tl.float64).dtype == tl.float64


@pytest.mark.parametrize(
    "op",
    [
        lambda x: x * 2,
        lambda x: 2 * x,
        lambda x: x + 1,
        lambda x: 1 - x,
        lambda x: x**2,
        lambda x: x / 3,
        lambda x: 3 / (x + 4),
        lambda x: x * 0.5,
        lambda x: x.exp(),
        lambda x: x.sum(),
        lambda x: x.mean(),
        lambda x: x.softmax(-1),
        lambda x: x.log_softmax(-1),
        lambda x: x.var(),
        lambda x: tl.gelu(x),
    ],
    ids=["x*2", "2*x", "x+1", "1-x", "x**2", "x/3", "3/(x+4)", "x*0.5", "exp", "sum", "mean", "softmax",
         "log_softmax", "var", "gelu"],
)  # fmt: skip
def test_float32_ops_with_python_scalars_stay_float32(op) -> None:
    x = tl.tensor([[0.5, -1.0, 2.0]], requires_grad=True)
    y = op(x)
    assert y.dtype == tl.float32
    y.sum().backward()
    assert x.grad.dtype == tl.float32


def test_float32_plus_float64_promotes_forward_and_keeps_each_grad_dtype() -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor(np.array([0.5, 0.25]), requires_grad=True)
    y = a * b
    assert y.dtype == tl.float64
    y.sum().backward()
    assert a.grad.dtype == tl.float32 and b.grad.dtype == tl.float64
    np.testing.assert_array_equal(a.grad.numpy(), [0.5, 0.25])
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 2.0])


MIXED_DTYPES = [
    (tl.float32, tl.int64, tl.float32),  # NumPy alone would widen these to float64
    (tl.float32, tl.int32, tl.float32),
    (tl.float16, tl.int64, tl.float16),
    (tl.float64, tl.int64, tl.float64),
    (tl.float32, tl.bool, tl.float32),
    (tl.int32, tl.int64, tl.int64),
    (tl.int64, tl.bool, tl.int64),
    (tl.float32, tl.float64, tl.float64),
]


@pytest.mark.parametrize(("a", "b", "expected"), MIXED_DTYPES, ids=[f"{a}-{b}" for a, b, _ in MIXED_DTYPES])
def test_mixed_dtype_tensors_promote_like_pytorch(a, b, expected) -> None:
    x, y = tl.ones(2, dtype=a), tl.full((2,), 2, dtype=b)
    for result in (x + y, y + x, x * y, y * x, tl.where(tl.tensor([True, False]), x, y)):
        assert result.dtype == expected


def test_mixed_dtype_promotion_matches_torch(torch) -> None:
    for a, b, _ in MIXED_DTYPES:
        x, y = tl.ones(2, dtype=a), tl.ones(2, dtype=b)
        tx, ty = torch.ones(2, dtype=getattr(torch, str(a))), torch.ones(2, dtype=getattr(torch, str(b)))
        assert f"torch.{(x * y).dtype}" == str((tx * ty).dtype)


def test_float32_divided_by_integer_counts_stays_float32_with_float32_grad() -> None:
    x = tl.tensor([1.0, 3.0], requires_grad=True)
    counts = tl.tensor([2, 4])
    y = x / counts
    assert y.dtype == tl.float32 and y.tolist() == [0.5, 0.75]
    y.sum().backward()
    assert x.grad.dtype == tl.float32 and x.grad.tolist() == [0.5, 0.25]


def test_integer_and_bool_tensors_with_python_numbers_follow_pytorch() -> None:
    n, mask = tl.tensor([1, 4]), tl.tensor([True, False])
    cases = [
        (n / 2, tl.float32, [0.5, 2.0]),  # true division gives floats
        (2 / n, tl.float32, [2.0, 0.5]),
        (n / n, tl.float32, [1.0, 1.0]),
        (n**0.5, tl.float32, [1.0, 2.0]),
        (n * 0.5, tl.float32, [0.5, 2.0]),
        (n * 2, tl.int64, [2, 8]),
        (n**2, tl.int64, [1, 16]),
        (mask + 1, tl.int64, [2, 1]),  # counts, not logical or
        (mask * 3, tl.int64, [3, 0]),
        (mask * 0.5, tl.float32, [0.5, 0.0]),
    ]
    for result, dtype, values in cases:
        assert result.dtype == dtype
        assert result.tolist() == values


def test_integer_and_bool_tensors_with_python_numbers_match_torch(torch) -> None:
    ops = [
        lambda t: t / 2,
        lambda t: 2 / t,
        lambda t: t**0.5,
        lambda t: t * 0.5,
        lambda t: t * 2,
        lambda t: t + 1,
    ]
    for data in ([1, 4], [True, False]):
        for op in ops:
            if isinstance(data[0], bool) and op is ops[1]:
                continue  # 2 / False
            assert f"torch.{op(tl.tensor(data)).dtype}" == str(op(torch.tensor(data)).dtype)


def test_integer_tensor_cannot_require_grad() -> None:
    with pytest.raises(TypeError, match="int64"):
        tl.tensor([1, 2], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        tl.tensor([1, 2]).requires_grad_()


def test_long_of_a_float_tensor_requiring_grad_is_an_int_tensor_without_grad() -> None:
    x = tl.tensor([1.5, -2.7], requires_grad=True)
    n = x.long()
    assert n.dtype == tl.int64
    assert not n.requires_grad and n.grad_fn is None
    assert n.tolist() == [1, -2]


def test_double_and_float_are_differentiable_and_grad_keeps_the_original_dtype() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = x.double()
    assert y.dtype == tl.float64 and y.requires_grad
    (y * 3).sum().backward()
    assert x.grad.dtype == tl.float32
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 3.0])

    z = tl.tensor(np.array([1.0, 2.0]), requires_grad=True)
    (z.float() * z.float()).sum().backward()
    assert z.grad.dtype == tl.float64
    np.testing.assert_array_equal(z.grad.numpy(), [2.0, 4.0])


# ----------------------------------------------------------------------------- in-place ops


@pytest.mark.parametrize(
    "inplace",
    [
        lambda t: t.add_(1.0),
        lambda t: t.mul_(2.0),
        lambda t: t.__setitem__(0, 5.0),
        lambda t: t.__iadd__(1.0),
        lambda t: t.zero_(),
    ],
    ids=["add_", "mul_", "setitem", "+=", "zero_"],
)
def test_inplace_op_on_a_tensor_in_a_graph_raises(inplace) -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w * 1.0
    for t in (w, h):
        with pytest.raises(RuntimeError, match="in-place"):
            inplace(t)
        np.testing.assert_array_equal(t.data, [1.0, 2.0])
        assert t._version == 0


def test_inplace_op_with_a_value_that_requires_grad_raises() -> None:
    with pytest.raises(RuntimeError, match="in-place"):
        tl.zeros(2).add_(tl.ones(2, requires_grad=True))


def test_inplace_ops_under_no_grad_work_and_bump_the_version() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with tl.no_grad():
        w.add_(1.0)
        w.mul_(2.0)
        w[0] = 10.0
        w += 1.0
    np.testing.assert_array_equal(w.data, [11.0, 7.0])
    assert w._version == 4


def test_plus_equals_on_a_leaf_keeps_the_same_tensor() -> None:
    x = tl.zeros(2)
    y = x
    y += 1.0
    assert y is x
    np.testing.assert_array_equal(x.numpy(), [1.0, 1.0])


def test_inplace_ops_change_a_0d_result() -> None:
    s = tl.ones(2, 3).sum()  # NumPy computes a 0-d result as a scalar, which no in-place op could change
    assert isinstance(s.data, np.ndarray)
    s.add_(1.0)
    assert s.item() == 7.0
    s[...] = 2.0
    assert s.item() == 2.0


def test_grad_of_a_0d_leaf_accumulates_and_can_be_zeroed_in_place() -> None:
    x = tl.tensor(3.0, requires_grad=True)
    (x * x).backward()
    (x * x).backward()
    assert x.grad.item() == 12.0
    x.grad.zero_()
    assert x.grad.item() == 0.0
    (x * x).backward()
    assert x.grad.item() == 6.0


def test_backward_after_saved_input_was_modified_in_place_raises_naming_the_op() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()
    with tl.no_grad():
        w.add_(1.0)
    # built after the change, so this branch is fine; it must not be accumulated either
    y = (h + w * 3).sum()
    with pytest.raises(RuntimeError, match="Exp.*modified in place"):
        y.backward()
    assert w.grad is None


def test_backward_after_mul_operand_was_modified_in_place_raises() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with tl.no_grad():
        w.mul_(2.0)
    with pytest.raises(RuntimeError, match="Mul.*modified in place"):
        y.backward()


def test_backward_after_saved_output_was_modified_in_place_raises() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    h = w.exp()  # Exp's backward reuses its output exp(w)
    with tl.no_grad():
        h.mul_(2.0)
    with pytest.raises(RuntimeError, match="Exp.*modified in place"):
        h.sum().backward()


def test_backward_after_a_constant_operand_was_modified_in_place_raises() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    c = tl.tensor([3.0, 4.0])  # needs no grad, so changing it in place is allowed...
    y = (w * c).sum()
    c.mul_(10.0)
    with pytest.raises(RuntimeError, match="Mul.*modified in place"):  # ...but not silently
        y.backward()


def test_backward_after_a_detached_alias_was_modified_in_place_raises() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    w.detach().add_(10.0)  # shares w's memory, as in PyTorch (which shares the version counter too)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


def test_backward_after_a_slice_from_unbind_was_modified_in_place_raises() -> None:
    # each slice unbind returns is a view: writing it changes the tensor a graph saved
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    base = x * 1
    first, _ = base.unbind(0)
    z = (base * base).sum()  # saves base
    with tl.no_grad():
        first.add_(5.0)
    with pytest.raises(RuntimeError, match="Mul.*modified in place"):
        z.backward()


def test_backward_after_a_view_was_modified_in_place_raises() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = (w * w).sum()
    with tl.no_grad():
        w.reshape(2).mul_(0.0)  # a NumPy view of w's data
    with pytest.raises(RuntimeError, match="modified in place"):
        y.backward()


# ----------------------------------------------------------------------------- aliasing


def test_leaf_grads_of_an_add_do_not_alias_each_other() -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    (a + b).sum().backward()
    assert not np.shares_memory(a.grad.data, b.grad.data)
    a.grad.data[0] = 100.0
    np.testing.assert_array_equal(b.grad.numpy(), [1.0, 1.0])


def test_leaf_grads_do_not_alias_an_intermediate_gradient() -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    c = tl.tensor([5.0, 6.0], requires_grad=True)
    ((a + b) * c).sum().backward()  # Add hands one array to both a and b
    assert not np.shares_memory(a.grad.data, b.grad.data)
    np.testing.assert_array_equal(a.grad.numpy(), [5.0, 6.0])
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 6.0])


@pytest.mark.parametrize("op", [lambda a, b: a + b, lambda a, b: a.clone() + b * 0], ids=["add", "clone"])
def test_user_grad_passed_to_backward_is_not_aliased_into_grad(op) -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    b = tl.tensor([3.0, 4.0], requires_grad=True)
    g = tl.tensor([1.0, -1.0])
    op(a, b).backward(g)
    assert not np.shares_memory(a.grad.data, g.data)
    assert not np.shares_memory(b.grad.data, g.data)
    g.data[0] = 100.0
    np.testing.assert_array_equal(a.grad.numpy(), [1.0, -1.0])


# ----------------------------------------------------------------------------- the Tensor API


def test_tensor_properties() -> None:
    x = tl.zeros(2, 3)
    assert x.shape == (2, 3)
    assert x.ndim == 2 and x.dim() == 2
    assert x.dtype == tl.float32
    assert x.device == "cpu" and x.device == tl.device("cpu")
    assert x.numel() == 6 and x.size() == (2, 3) and x.size(1) == 3
    assert x.is_leaf and x.grad_fn is None and x.grad is None


def test_detach_shares_data_and_has_no_graph() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    y = w * 2
    d = y.detach()
    assert np.shares_memory(d.data, y.data)
    assert not d.requires_grad and d.grad_fn is None


def test_numpy_raises_for_a_tensor_that_requires_grad() -> None:
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match=r"detach\(\)"):
        w.numpy()
    a = w.detach().numpy()
    assert isinstance(a, np.ndarray) and a.tolist() == [1.0, 2.0]


def test_item_returns_a_python_number_and_raises_for_more_elements() -> None:
    assert tl.tensor([2.5]).item() == 2.5
    assert isinstance(tl.tensor(3).item(), int)
    with pytest.raises(ValueError, match=r"\(2,\)"):
        tl.tensor([1.0, 2.0]).item()


def test_to_cpu_keeps_values_and_device() -> None:
    x = tl.tensor([1.0, 2.0])
    y = x.to("cpu")
    assert y.device == "cpu"
    np.testing.assert_array_equal(y.numpy(), [1.0, 2.0])


def test_to_a_dtype_converts() -> None:
    x = tl.tensor([1.5, 2.5])
    assert x.to(tl.float64).dtype == tl.float64
    assert x.float().dtype == tl.float32
    assert x.double().dtype == tl.float64
    assert x.int().dtype == tl.int32
    assert tl.tensor([1, 2]).float().dtype == tl.float32


def test_repr_shows_values_dtype_and_graph() -> None:
    assert repr(tl.tensor([1.0, 2.0])) == "tensor([1., 2.])"
    assert repr(tl.tensor(np.array([1.0, 2.0]))) == "tensor([1., 2.], dtype=float64)"
    w = tl.tensor([1.0, 2.0], requires_grad=True)
    assert repr(w) == "tensor([1., 2.], requires_grad=True)"
    assert repr(w * 2) == "tensor([2., 4.], grad_fn=<MulBackward>)"


def test_comparisons_give_bool_tensors() -> None:
    x = tl.tensor([1.0, 2.0, 3.0])
    for result, expected in [
        (x > 2, [False, False, True]),
        (x >= 2, [False, True, True]),
        (x < 2, [True, False, False]),
        (x <= 2, [True, True, False]),
        (x == 2, [False, True, False]),
        (x != 2, [True, False, True]),
        (x == tl.tensor([1.0, 0.0, 3.0]), [True, False, True]),
        (~(x > 2), [True, True, False]),
        ((x > 1) & (x < 3), [False, True, False]),
        ((x < 2) | (x > 2), [True, False, True]),
    ]:
        assert isinstance(result, tl.Tensor) and result.dtype == tl.bool
        assert result.tolist() == expected


def test_len_and_iter_go_over_the_first_axis() -> None:
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert len(x) == 3
    rows = list(x)
    assert len(rows) == 3 and all(isinstance(r, tl.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]
    with pytest.raises(TypeError, match="0-d"):
        len(tl.tensor(1.0))


def test_iterating_a_tensor_that_requires_grad_is_differentiable() -> None:
    x = tl.tensor([1.0, 2.0, 3.0], requires_grad=True)
    total = tl.tensor(0.0)
    for i, xi in enumerate(x):
        total = total + xi * i
    total.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [0.0, 1.0, 2.0])


def test_array_protocol_gives_numpy_arrays() -> None:
    x = tl.tensor([1.0, 2.0])
    a = np.asarray(x)
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.tolist() == [1.0, 2.0]
    assert np.asarray(x, dtype=np.float64).dtype == np.float64


def test_numpy_array_on_the_left_of_an_operator_gives_a_tensor() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    y = np.array([3.0, 4.0], dtype=np.float32) * x
    assert isinstance(y, tl.Tensor) and y.requires_grad
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [3.0, 4.0])


# ----------------------------------------------------------------------------- max and ties


def test_max_along_dim_returns_values_and_indices_and_grads_the_first_maximum() -> None:
    x = tl.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    values, indices = x.max(dim=1)
    assert values.tolist() == [3.0, 2.0]
    assert indices.tolist() == [1, 0] and indices.dtype == tl.int64
    values.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])


def test_full_max_with_ties_shares_the_gradient_equally() -> None:
    x = tl.tensor([[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]], requires_grad=True)
    m = x.max()
    assert m.shape == () and m.item() == 3.0
    m.backward()
    np.testing.assert_array_equal(x.grad.numpy(), [[0.0, 0.5, 0.5], [0.0, 0.0, 0.0]])


def test_max_and_its_tie_rules_match_torch(torch) -> None:
    data = [[1.0, 3.0, 3.0], [2.0, 0.0, 2.0]]
    for reduce in (lambda x: x.max(dim=1)[0].sum(), lambda x: x.max(), lambda x: x.amax(dim=1).sum(),
                   lambda x: x.min(dim=0)[0].sum(), lambda x: x.min()):  # fmt: skip
        x = tl.tensor(data, requires_grad=True)
        t = torch.tensor(data, requires_grad=True)
        reduce(x).backward()
        reduce(t).backward()
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())
    values, indices = tl.tensor(data).max(dim=1)
    t_values, t_indices = torch.tensor(data).max(dim=1)
    assert values.tolist() == t_values.tolist() and indices.tolist() == t_indices.tolist()


def test_topological_order_lists_each_node_once_after_the_nodes_it_reads() -> None:
    a = tl.tensor([1.0, 2.0], dtype=tl.float64, requires_grad=True)
    u = a * a  # a diamond: u feeds both v and w, which meet again in out
    v = u.exp()
    w = u + 1.0
    out = (v * w).sum()
    order = tl.autograd.topological_order(out)
    names = [type(fn).__name__ for fn in order]
    assert sorted(names) == ["Add", "Exp", "Mul", "Mul", "Sum"]
    assert len({id(fn) for fn in order}) == len(order)
    position = {id(fn): i for i, fn in enumerate(order)}
    for fn in order:
        for inp in fn.inputs:
            if inp.grad_fn is not None:
                assert position[id(inp.grad_fn)] < position[id(fn)]
    assert order[-1] is out.grad_fn and order[0] is u.grad_fn


def test_grad_fn_names_the_node_and_a_leaf_has_none() -> None:
    a = tl.tensor([1.0, 2.0], requires_grad=True)
    y = a.tanh()
    assert a.grad_fn is None and a.is_leaf
    assert type(y.grad_fn).__name__ == "Tanh" and y.grad_fn.inputs == (a,)
    assert repr(y.grad_fn) == "<TanhBackward>"
    assert tl.autograd.topological_order(a) == []
