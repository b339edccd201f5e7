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
        ("cross_entropy", lambda x: tl.nn.functional.cross_entropy(x.reshape(1, 3), tl.tensor([0]))),
        ("cross_entropy", lambda x: tl.nn.functional.cross_entropy(x.reshape(1, 3), tl.tensor([0]), fused=False)),
        ("nll_loss", lambda x: tl.nn.functional.nll_loss(x.reshape(1, 3), tl.tensor([0]))),
        ("layer_norm", lambda x: tl.nn.functional.layer_norm(x, 3)),
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


# ----------------------------------------------------------------------------- zero sizes in layers


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_with_an_empty_batch_matches_torch(torch, fused, batch_first) -> None:
    lstm = tl.nn.LSTM(3, 4, num_layers=2, batch_first=batch_first, fused=fused)
    x = tl.randn(*((0, 2, 3) if batch_first else (2, 0, 3)), requires_grad=True)
    y, (h, c) = lstm(x)
    (y.sum() + h.sum() + c.sum()).backward()
    ref = torch.nn.LSTM(3, 4, num_layers=2, batch_first=batch_first)
    yt, (ht, ct) = ref(torch.zeros(*x.shape))
    assert (y.shape, h.shape, c.shape) == (tuple(yt.shape), tuple(ht.shape), tuple(ct.shape))
    assert x.grad.shape == x.shape
    assert all(np.array_equal(p.grad.numpy(), np.zeros(p.shape)) for p in lstm.parameters())


@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_with_no_time_steps_raises_a_named_error(torch, batch_first) -> None:
    shape = (2, 0, 3) if batch_first else (0, 2, 3)
    with pytest.raises(RuntimeError):
        torch.nn.LSTM(3, 4, batch_first=batch_first)(torch.zeros(*shape))
    with pytest.raises(ValueError, match="T must be at least 1"):
        tl.nn.LSTM(3, 4, batch_first=batch_first)(tl.zeros(*shape))


@pytest.mark.parametrize(
    ("args", "name"),
    [((3, 0), "hidden_size"), ((0, 3), "input_size"), ((3, 4, 0), "num_layers"), ((3, -1), "hidden_size")],
)
def test_lstm_sizes_below_one_raise_naming_the_argument(torch, args, name) -> None:
    with pytest.raises(ValueError, match=name):
        torch.nn.LSTM(*args)
    value = 0 if name == "input_size" else args[-1]
    with pytest.raises(ValueError, match=rf"LSTM: {name} must be at least 1, not {value}"):
        tl.nn.LSTM(*args)


@pytest.mark.parametrize("sizes", [(3, 0), (0, 3)], ids=["no hidden", "no input"])
def test_lstm_cell_with_a_zero_size_works_like_torch(torch, sizes) -> None:
    cell = tl.nn.LSTMCell(*sizes)
    h, c = cell(tl.randn(2, sizes[0]))
    ht, _ = torch.nn.LSTMCell(*sizes)(torch.randn(2, sizes[0]))
    assert h.shape == tuple(ht.shape) and c.shape == tuple(ht.shape)
    assert np.isfinite(h.detach().numpy()).all()


@pytest.mark.filterwarnings("ignore:Initializing zero-element tensors")  # PyTorch's, when it builds the oracle
@pytest.mark.parametrize(("n_in", "n_out"), [(0, 2), (2, 0), (0, 0)])
def test_linear_with_a_zero_size_matches_torch(torch, n_in, n_out) -> None:
    layer = tl.nn.Linear(n_in, n_out)
    x = tl.randn(5, n_in, requires_grad=True)
    y = layer(x)
    y.sum().backward()
    ref = torch.nn.Linear(n_in, n_out)
    assert y.shape == (5, n_out) and layer.weight.grad.shape == (n_out, n_in)
    if n_in == 0:  # the bias bound 1/sqrt(in_features) is taken as 0: a zero bias
        np.testing.assert_array_equal(layer.bias.detach().numpy(), ref.bias.detach().numpy())
    np.testing.assert_array_equal(layer.bias.grad.numpy(), np.full(n_out, 5.0))
    assert x.grad.shape == (5, n_in)


# ----------------------------------------------------------------------------- arguments checked up front


@pytest.mark.parametrize("fused", [True, False], ids=["fused", "composed"])
@pytest.mark.parametrize("mask_shape", [(3, 2), (4, 3, 3), (2, 2, 3, 5)])
def test_attn_mask_of_the_wrong_shape_is_named(fused, mask_shape) -> None:
    q = tl.randn(2, 3, 4)  # scores (2, 3, 3)
    mask = tl.ones(*mask_shape, dtype=tl.bool)
    expected = rf"attn_mask has shape \({mask_shape[0]}, .*expected \(\.\.\., L, S\) = \(\.\.\., 3, 3\)"
    with pytest.raises(ValueError, match=expected):
        tl.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=mask, fused=fused)


@pytest.mark.parametrize("mask_shape", [(3, 3), (1, 3, 3), (2, 1, 3), (2, 3, 3)])
def test_attn_masks_that_broadcast_still_work(mask_shape) -> None:
    q = tl.randn(2, 3, 4)
    out = tl.nn.functional.scaled_dot_product_attention(q, q, q, attn_mask=tl.ones(*mask_shape, dtype=tl.bool))
    np.testing.assert_allclose(out.numpy(), tl.nn.functional.scaled_dot_product_attention(q, q, q).numpy(), rtol=1e-6)


@pytest.mark.parametrize("p", [-1.0, 1.5])
def test_multihead_attention_refuses_a_bad_dropout_when_built(p) -> None:
    with pytest.raises(ValueError, match=rf"MultiheadSelfAttention: dropout must be in \[0, 1\], not {p}"):
        tl.nn.MultiheadSelfAttention(4, 2, dropout=p)


@pytest.mark.parametrize(
    "build",
    [
        lambda p: tl.nn.Dropout(p),
        lambda p: tl.nn.LSTM(3, 4, dropout=p),
        lambda p: tl.nn.TransformerBlock(4, 2, dropout=p),
    ],
    ids=["Dropout", "LSTM", "TransformerBlock"],
)
def test_layers_taking_a_dropout_refuse_it_when_built(build) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\], not -0.5"):
        build(-0.5)


def test_multihead_attention_refuses_no_heads() -> None:
    with pytest.raises(ValueError, match="num_heads must be at least 1, not 0"):
        tl.nn.MultiheadSelfAttention(4, 0)
