"""PyTorch's everyday ops beyond the registry's gradchecks: Tensor methods, argsort, corners
(zeros in products, unused outputs of unbind, chunk sizes) and the errors PyTorch raises."""

from __future__ import annotations

from typing import Any

import numpy
import pytest

import tinyllm as tl
from tinyllm import ops


def _pair(torch: Any, a: numpy.ndarray, requires_grad: bool = False) -> tuple[tl.Tensor, Any]:
    """The same array as a tinyllm tensor and a torch tensor."""
    return tl.tensor(a, requires_grad=requires_grad), torch.tensor(a, requires_grad=requires_grad)


def _assert_same(ours: Any, theirs: Any) -> None:
    if isinstance(ours, (tuple, list)):
        assert len(ours) == len(theirs)
        for o, t in zip(ours, theirs):
            _assert_same(o, t)
        return
    expected = theirs.detach().numpy()
    assert (ours.shape, ours.dtype) == (expected.shape, expected.dtype)
    numpy.testing.assert_allclose(ours.detach().numpy(), expected, rtol=1e-12, atol=1e-13)


X = numpy.random.default_rng(0).uniform(-2, 2, (3, 4))

METHOD_CALLS = [
    ("t", ()),
    ("flip", (0, 1)),
    ("flip", ((1,),)),
    ("repeat", (2, 1, 3)),
    ("repeat", ((2, 2),)),
    ("clip", (-0.5, 0.5)),
    ("chunk", (3, 1)),
    ("unbind", (1,)),
    ("cumsum", (-1,)),
    ("cumprod", (0,)),
    ("prod", (1, True)),
    ("std", (0,)),
    ("norm", (1, 1)),
    ("tril", (1,)),
    ("triu", (-1,)),
    ("diag", ()),
    ("square", ()),
    ("sign", ()),
    ("floor", ()),
    ("ceil", ()),
    ("round", ()),
    ("sin", ()),
    ("cos", ()),
    ("erf", ()),
]


@pytest.mark.parametrize(("name", "args"), METHOD_CALLS, ids=[f"{n}{a}" for n, a in METHOD_CALLS])
def test_tensor_methods_match_torch(name: str, args: tuple[Any, ...], torch: Any) -> None:
    x, tx = _pair(torch, X)
    _assert_same(getattr(x, name)(*args), getattr(tx, name)(*args))


def test_methods_with_another_tensor_match_torch(torch: Any) -> None:
    x, tx = _pair(torch, X)
    y, ty = _pair(torch, numpy.random.default_rng(1).uniform(-2, 2, (4, 3)))
    _assert_same(x.mm(y), tx.mm(ty))
    _assert_same(x.maximum(y.t()), tx.maximum(ty.t()))
    _assert_same(x.minimum(y.t()), tx.minimum(ty.t()))
    _assert_same(x[:1].expand_as(x), tx[:1].expand_as(tx))
    _assert_same(y.view_as(x), ty.view_as(tx))
    _assert_same(x[0].dot(y[:, 0]), tx[0].dot(ty[:, 0]))
    _assert_same(x[0].outer(y[0]), tx[0].outer(ty[0]))
    index = numpy.array([[0, 3], [1, 1], [2, 0]])
    i, ti = _pair(torch, index)
    _assert_same(x.gather(1, i), tx.gather(1, ti))
    _assert_same(x.scatter(1, i, 5.0), tx.scatter(1, ti, 5.0))
    _assert_same(x.scatter_add(1, i, x[:, :2]), tx.scatter_add(1, ti, tx[:, :2]))
    _assert_same(x.index_select(1, i[:, 0]), tx.index_select(1, ti[:, 0]))
    _assert_same(x.sort(descending=True), tx.sort(descending=True))
    _assert_same(x.topk(2, dim=0), tx.topk(2, dim=0))


def test_0d_inputs_are_read_as_one_element_as_in_torch(torch: Any) -> None:
    x, tx = _pair(torch, numpy.array(3.0))
    i, ti = _pair(torch, numpy.array([0, 0]))
    _assert_same(tl.gather(x, 0, i), torch.gather(tx, 0, ti))
    _assert_same(tl.index_select(x, -1, i[0]), torch.index_select(tx, -1, ti[0]))
    _assert_same(tl.topk(x, 1), torch.topk(tx, 1))
    _assert_same(tl.cumsum(x, -1), torch.cumsum(tx, -1))
    _assert_same(tl.prod(x, 0), torch.prod(tx, 0))
    with pytest.raises(IndexError, match="a 0-d input takes an index of one value, got 2"):
        tl.index_select(x, 0, i)


@pytest.mark.parametrize("descending", [False, True])
@pytest.mark.parametrize("dim", [0, -1])
def test_argsort_matches_torchs_stable_sort_with_ties(dim: int, descending: bool, torch: Any) -> None:
    x = numpy.random.default_rng(0).integers(0, 3, (5, 6)).astype(numpy.float64)  # many ties
    got = tl.argsort(tl.tensor(x), dim, descending)
    expected = torch.argsort(torch.from_numpy(x), dim=dim, descending=descending, stable=True)
    assert got.dtype == tl.int64
    numpy.testing.assert_array_equal(got.numpy(), expected.numpy())


def test_unbind_gives_zeros_to_the_slices_that_no_loss_used(torch: Any) -> None:
    x, tx = _pair(torch, X, requires_grad=True)
    (ops.unbind(x, 1)[2] * 3).sum().backward()
    (tx.unbind(1)[2] * 3).sum().backward()
    numpy.testing.assert_array_equal(x.grad.numpy(), tx.grad.numpy())


@pytest.mark.parametrize("dim", [0, 1])
def test_cumprod_and_prod_gradients_are_exact_at_zeros(dim: int, torch: Any) -> None:
    x = numpy.array([[1.5, 0.0, -2.0, 0.5, 0.0], [0.0, 3.0, 0.7, -1.2, 2.0], [0.8, -0.6, 0.0, 1.1, 1.3]])
    rng = numpy.random.default_rng(2)
    for name in ("cumprod", "prod"):
        a, ta = _pair(torch, x, requires_grad=True)
        y, ty = getattr(tl, name)(a, dim), getattr(torch, name)(ta, dim)
        u = rng.standard_normal(y.shape)
        (y * tl.tensor(u)).sum().backward()
        (ty * torch.tensor(u)).sum().backward()
        assert numpy.isfinite(a.grad.numpy()).all()
        numpy.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-12, atol=1e-13, err_msg=name)


@pytest.mark.parametrize(("n", "chunks"), [(5, 3), (6, 4), (4, 4), (3, 5), (7, 1), (0, 3)])
def test_chunk_sizes_match_torch(n: int, chunks: int, torch: Any) -> None:
    got = [p.shape[0] for p in tl.chunk(tl.zeros(n, 2), chunks)]
    assert got == [p.shape[0] for p in torch.chunk(torch.zeros(n, 2), chunks)]


@pytest.mark.parametrize(("start", "end"), [(0, -1), (1, 2), (-2, -1), (0, 0), (2, 2)])
def test_flatten_matches_torch(start: int, end: int, torch: Any) -> None:
    x, tx = _pair(torch, numpy.zeros((2, 3, 4)))
    assert tl.flatten(x, start, end).shape == tuple(torch.flatten(tx, start, end).shape)


def test_round_halves_to_even_and_integer_tensors_pass_through(torch: Any) -> None:
    x, tx = _pair(torch, numpy.array([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 0.125, 1.26]))
    _assert_same(tl.round(x), torch.round(tx))
    _assert_same(tl.round(x, decimals=1), torch.round(tx, decimals=1))
    i, ti = _pair(torch, numpy.array([-3, 0, 7], dtype=numpy.int32))
    for name in ("floor", "ceil", "round", "sign", "square", "cumsum"):
        args = (0,) if name == "cumsum" else ()
        _assert_same(getattr(tl, name)(i, *args), getattr(torch, name)(ti, *args))


def test_float32_stays_float32_through_the_new_ops() -> None:
    x = tl.randn(3, 4, requires_grad=True)
    outs = [tl.maximum(x, x.t().t() * 0.5), tl.norm(x), tl.std(x, 1), tl.cumprod(x, 0), tl.einsum("ij->j", x)]
    outs += [tl.erf(x), tl.gather(x, 1, tl.tensor([[0], [1], [2]])), tl.sort(x).values, tl.prod(x, 1)]
    assert all(o.dtype == tl.float32 for o in outs)
    sum(o.sum() for o in outs).backward()
    assert x.grad.dtype == tl.float32


def test_einsum_output_does_not_share_the_inputs_memory() -> None:
    x = tl.tensor([[1.0, 2.0], [3.0, 4.0]])
    y = tl.einsum("ij->ji", x)
    y[0, 1] = 100.0
    assert x.tolist() == [[1.0, 2.0], [3.0, 4.0]]


def test_einsum_takes_the_operands_as_a_list_too(torch: Any) -> None:
    a, ta = _pair(torch, X)
    _assert_same(tl.einsum("ij,kj->ik", [a, a]), torch.einsum("ij,kj->ik", [ta, ta]))


V3, V4 = tl.zeros(3), tl.zeros(4)
M34, M43 = tl.zeros(3, 4), tl.zeros(4, 3)
IDX = tl.tensor([[0, 1], [1, 0], [2, 2]])

BAD_CALLS = [
    (lambda: tl.mm(V3, M34), ValueError, "mm: both operands must be 2-D"),
    (lambda: tl.mm(M34, M43.double()), TypeError, "mm: expected both operands to have the same dtype"),
    (lambda: tl.bmm(tl.zeros(2, 3, 4), tl.zeros(3, 4, 2)), ValueError, "bmm: batch sizes differ"),
    (lambda: tl.bmm(M34, M43), ValueError, "bmm: both operands must be 3-D"),
    (lambda: tl.dot(V3, V4), ValueError, "dot: the vectors have different lengths, 3 and 4"),
    (lambda: tl.outer(M34, V3), ValueError, "outer: both operands must be 1-D"),
    (lambda: tl.tril(V3), ValueError, "tril: input must have at least 2 dimensions"),
    (lambda: tl.diag(tl.zeros(2, 2, 2)), ValueError, "diag: input must be 1-D or 2-D"),
    (lambda: M34.t().t().reshape(1, 3, 4).t(), ValueError, "t: expects a tensor with at most 2 dimensions"),
    (lambda: tl.flip(M34, (0, -2)), ValueError, "flip: dim 0 appears more than once"),
    (lambda: M34.repeat(2), ValueError, "repeat: 1 sizes"),
    (lambda: tl.chunk(M34, 0), ValueError, "chunk: chunks must be positive"),
    (lambda: tl.flatten(tl.zeros(2, 3, 4), 2, 1), ValueError, "flatten: start_dim 2 comes after end_dim 1"),
    (lambda: tl.einsum("...i->i", V3), ValueError, "ellipsis"),
    (lambda: tl.einsum("ij,jk->ik", M34), ValueError, "names 2 operand"),
    (lambda: tl.einsum("ij,jk->ik", M34, M34), ValueError, "letter 'j' stands for sizes 4 and 3"),
    (lambda: tl.einsum("ij->k", M34), ValueError, "output 'k' must use distinct letters"),
    (lambda: tl.einsum("ij,jk->ik", M34, M43.double()), TypeError, "einsum: operands must share one dtype"),
    (lambda: tl.gather(M34, 1, IDX.float()), TypeError, "gather: index must be an int64 tensor"),
    (lambda: tl.gather(M34, 1, IDX + 3), IndexError, r"gather: index values must lie in \[0, 4\)"),
    (lambda: tl.gather(M34, 1, IDX[0]), ValueError, "gather: index has 1 dims but the input has 2"),
    (lambda: tl.gather(M34, 1, tl.zeros(4, 1, dtype=tl.int64)), ValueError, "larger than the input"),
    (lambda: tl.scatter(M34, 1, IDX, M34.double()), TypeError, "scatter: src has dtype float64"),
    (lambda: tl.scatter_add(M34, 1, IDX, tl.zeros(3, 1)), ValueError, "does not fit in src of shape"),
    (lambda: tl.index_select(M34, 0, IDX), TypeError, "index_select: index must be an integer tensor of 1 or 0"),
    (lambda: tl.index_select(M34, 0, tl.tensor([3])), IndexError, r"index_select: index values must lie in \[0, 3\)"),
    (lambda: tl.topk(M34, 5), ValueError, "topk: k = 5 is out of range for dim 1 of size 4"),
    (lambda: tl.maximum(M34, 1.0), TypeError, "maximum: both arguments must be tensors"),
    (lambda: tl.norm(M34, "nuc"), ValueError, "norm: p must be"),
    (lambda: tl.norm(tl.zeros(3, dtype=tl.int64)), TypeError, "norm: needs a floating-point tensor"),
    (lambda: tl.cumsum(M34, 2), IndexError, "cumsum: dim 2 is out of range"),
    (lambda: tl.prod(M34, -3), IndexError, "prod: dim -3 is out of range"),
]


@pytest.mark.parametrize(("call", "error", "message"), BAD_CALLS, ids=[m for _, _, m in BAD_CALLS])
def test_bad_arguments_raise_errors_that_name_the_problem(call: Any, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        call()
