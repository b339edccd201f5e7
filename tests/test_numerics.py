"""Dtypes and edge-case numerics follow PyTorch: which tensors may require gradients, which
dtypes a tensor may hold, what float ops do to integer tensors, empty reductions, zero sizes,
fully ignored loss targets, and arguments refused where the layer is built."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl

# ----------------------------------------------------------------------------- which tensors require grad


def test_requires_grad_setter_refuses_an_integer_tensor() -> None:
    a = tl.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        a.requires_grad = True
    assert a.requires_grad is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: tl.tensor([1, 2]).requires_grad_(),
        lambda: tl.tensor([1, 2], requires_grad=True),
        lambda: tl.Tensor(np.array([1, 2]), requires_grad=True),
        lambda: tl.tensor([True, False], requires_grad=True),
        lambda: tl.nn.Parameter(tl.tensor([1, 2])),
    ],
    ids=["requires_grad_", "tl.tensor", "Tensor", "bool", "Parameter"],
)
def test_no_route_lets_an_integer_tensor_require_grad(make) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_requires_grad_setter_still_switches_float_tensors() -> None:
    a = tl.tensor([1.0, 2.0])
    a.requires_grad = True
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 4.0])
    a.requires_grad = False
    assert not (a * 2).requires_grad


def test_integer_parameter_without_grad_is_allowed(torch) -> None:
    p = tl.nn.Parameter(tl.tensor([1, 2]), requires_grad=False)
    q = torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False)
    assert p.requires_grad == q.requires_grad and p.tolist() == q.tolist()


# ----------------------------------------------------------------------------- what a tensor may hold


@pytest.mark.parametrize(
    "data", [["a"], np.array(["a", "b"]), [b"a"], np.array([1, None], dtype=object)], ids=["str", "U", "bytes", "obj"]
)
def test_tensor_refuses_non_numeric_data(data) -> None:
    with pytest.raises(TypeError, match="tensor"):
        tl.tensor(data)


def test_tensor_constructor_refuses_strings_naming_the_dtype() -> None:
    with pytest.raises(TypeError, match="<U1"):
        tl.Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="<U1"):
        tl.tensor(["a"])


@pytest.mark.parametrize("data", [[True, False], [1, 2], np.array([1, 2], dtype=np.uint8), [1.5]])
def test_tensor_accepts_bool_and_numbers(data) -> None:
    assert tl.tensor(data).tolist() == np.asarray(data).tolist()


# ----------------------------------------------------------------------------- a fully ignored batch


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("reduction", ["mean", "sum"])
@pytest.mark.parametrize(
    "options", [{}, {"label_smoothing": 0.1}, {"weight": [1.0, 2.0, 0.5, 1.0]}], ids=["plain", "smoothed", "weighted"]
)
def test_cross_entropy_with_every_target_ignored_has_zero_gradients(torch, fused, reduction, options) -> None:
    logits = np.random.default_rng(0).standard_normal((3, 4)).astype(np.float32)
    target = np.full(3, -100)
    x = tl.tensor(logits, requires_grad=True)
    kw = {**options, "weight": tl.tensor(options["weight"])} if "weight" in options else options
    loss = tl.nn.functional.cross_entropy(x, tl.tensor(target), reduction=reduction, fused=fused, **kw)
    loss.backward()
    xt = torch.tensor(logits, requires_grad=True)
    kt = {**options, "weight": torch.tensor(options["weight"])} if "weight" in options else options
    expected = torch.nn.functional.cross_entropy(xt, torch.tensor(target), reduction=reduction, **kt)
    expected.backward()
    np.testing.assert_array_equal(loss.item(), expected.item())  # NaN for "mean", 0 for "sum"
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())
    assert not np.isnan(x.grad.numpy()).any()


def test_nll_loss_with_every_target_ignored_has_zero_gradients(torch) -> None:
    logp = np.log(np.full((2, 3), 1 / 3, dtype=np.float32))
    x = tl.tensor(logp, requires_grad=True)
    loss = tl.nn.functional.nll_loss(x, tl.tensor([-100, -100]))
    loss.backward()
    xt = torch.tensor(logp, requires_grad=True)
    torch.nn.functional.nll_loss(xt, torch.tensor([-100, -100])).backward()
    assert np.isnan(loss.item())
    np.testing.assert_array_equal(x.grad.numpy(), xt.grad.numpy())


def test_a_fully_padded_batch_leaves_the_weights_finite() -> None:
    layer = tl.nn.Linear(4, 3)
    loss = tl.nn.functional.cross_entropy(layer(tl.randn(5, 4)), tl.full((5,), -100))
    loss.backward()
    assert np.isnan(loss.item())
    assert all(np.isfinite(p.grad.numpy()).all() for p in layer.parameters())


# ----------------------------------------------------------------------------- float ops on integer tensors


@pytest.mark.parametrize("name", ["exp", "log", "sqrt", "sigmoid", "tanh"])
def test_float_ops_make_integer_tensors_float32(torch, name) -> None:
    out = getattr(tl, name)(tl.tensor([1, 2, 3]))
    expected = getattr(torch, name)(torch.tensor([1, 2, 3]))
    assert out.dtype == tl.float32 and expected.dtype == torch.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


def test_logsumexp_makes_an_integer_tensor_float32(torch) -> None:
    out = tl.logsumexp(tl.tensor([[1, 2], [3, 4]]), 1)
    expected = torch.logsumexp(torch.tensor([[1, 2], [3, 4]]), 1)
    assert out.dtype == tl.float32
    np.testing.assert_allclose(out.numpy(), expected.numpy(), rtol=1e-6)


@pytest.mark.parametrize(
    ("name", "call"),
    [
        ("mean", lambda x: x.mean()),
        ("mean", lambda x: tl.mean(x, 0)),
        ("var", lambda x: x.var()),
        ("softmax", lambda x: tl.softmax(x, 0)),
        ("softmax", lambda x: tl.nn.functional.softmax(x, 0)),
        ("log_softmax", lambda x: tl.log_softmax(x, 0)),
        ("gelu", lambda x: tl.nn.functional.gelu(x)),
    ],
)
def test_ops_pytorch_refuses_on_integers_raise_a_named_type_error(name, call) -> None:
    with pytest.raises(TypeError, match=rf"{name}: .*int64"):
        call(tl.tensor([1, 2, 3]))


def test_integer_ops_that_stay_integer_still_do() -> None:
    x = tl.tensor([1, -2, 3])
    assert x.sum().dtype == tl.int64 and x.amax().dtype == tl.int64
    assert tl.abs(x).dtype == tl.int64 and tl.relu(x).dtype == tl.int64


# ----------------------------------------------------------------------------- reductions over nothing


@pytest.mark.parametrize(
    "call",
    [
        lambda m, x: m.softmax(x, 1),
        lambda m, x: m.softmax(x, 0),
        lambda m, x: m.log_softmax(x, 1),
        lambda m, x: m.logsumexp(x, 1),
        lambda m, x: m.logsumexp(x, 0),
        lambda m, x: x.sum(1),
        lambda m, x: x.mean(1),
        lambda m, x: x.mean(),
        lambda m, x: x.amax(0),
    ],
    ids=["softmax1", "softmax0", "log_softmax", "logsumexp1", "logsumexp0", "sum", "mean1", "mean", "amax0"],
)
def test_empty_reductions_match_torch(torch, call) -> None:
    import warnings

    x = tl.zeros(2, 0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no NumPy warning about empty slices or log(0)
        out = call(tl, x)
        out.sum().backward()
    expected = call(torch, torch.zeros(2, 0))
    assert out.shape == tuple(expected.shape) and out.dtype == tl.float32
    np.testing.assert_array_equal(out.detach().numpy(), expected.numpy())
    assert x.grad.shape == (2, 0)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda x: x.amax(1), IndexError),
        (lambda x: x.amin(1), IndexError),
        (lambda x: x.max(1), IndexError),
        (lambda x: x.argmax(1), IndexError),
        (lambda x: x.amax(), RuntimeError),
        (lambda x: x.max(), RuntimeError),
        (lambda x: x.argmax(), IndexError),
    ],
    ids=["amax1", "amin1", "max1", "argmax1", "amax", "max", "argmax"],
)
def test_max_over_nothing_raises_like_torch(torch, call, error) -> None:
    with pytest.raises(error):
        call(torch.zeros(2, 0))
    with pytest.raises(error, match=r"\(2, 0\)"):
        call(tl.zeros(2, 0))
