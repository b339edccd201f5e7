"""RNN, GRU, their cells, and bidirectional LSTM: PyTorch parity in float64 (outputs, final states and
every gradient), packed and unbatched input, dropout between layers, initialization, gradchecks, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, close, copy_to_torch, normal, tl_weighted_sum, torch_weighted_sum
from tinyllm.nn.utils.rnn import PackedSequence, pack_padded_sequence

T, B, C, H = 5, 4, 3, 4
UNSORTED = [3, 5, 1, 4]
SORTED = [5, 4, 4, 2]
ATOL = 1e-12

#: (kind, nonlinearity): the layer families under test.
KINDS = [pytest.param("GRU", None, id="gru"), pytest.param("RNN", "tanh", id="rnn-tanh"),
         pytest.param("RNN", "relu", id="rnn-relu")]  # fmt: skip

# (num_layers, bidirectional, batch_first, bias, input mode, initial state given)
CASES = [
    pytest.param(1, False, False, True, "padded", False, id="1layer"),
    pytest.param(2, False, True, True, "padded", True, id="2layers-batch_first-hx"),
    pytest.param(1, True, False, True, "padded", True, id="bidir-hx"),
    pytest.param(2, True, True, True, "padded", False, id="bidir-2layers-batch_first"),
    pytest.param(2, False, False, False, "padded", True, id="2layers-nobias-hx"),
    pytest.param(1, True, True, True, "packed_sorted", False, id="packed-sorted-bidir"),
    pytest.param(2, False, False, True, "packed", True, id="packed-unsorted-2layers-hx"),
    pytest.param(2, True, False, True, "packed", True, id="packed-unsorted-bidir-2layers-hx"),
    pytest.param(2, True, True, False, "packed", False, id="packed-unsorted-bidir-2layers-nobias"),
    pytest.param(2, True, True, True, "lengths", True, id="lengths-bidir-2layers-hx"),
]


def _padded(batch_first: bool, seed: int = 0) -> np.ndarray:
    return normal(B, T, C, seed=seed) if batch_first else normal(T, B, C, seed=seed)


def _pair(torch, kind: str, nonlinearity: str | None, **kwargs: Any) -> tuple[tl.nn.Module, Any]:
    """A tinyllm layer and its torch twin with the same float64 weights."""
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    ours = getattr(tl.nn, kind)(C, H, **kwargs).double()
    theirs = getattr(torch.nn, kind)(C, H, **kwargs).double()
    copy_to_torch(torch, ours, theirs)
    return ours, theirs


def _run_both(torch, ours: Any, theirs: Any, mode: str, batch_first: bool, hx: Any, thx: Any, x: Any, tx: Any):
    """Both layers on the same input in the given mode -> (our output, h_n, torch's output, h_n)."""
    rnn_utils = torch.nn.utils.rnn
    if mode == "padded":
        return (*ours(x, hx), *theirs(tx, thx))
    if mode == "lengths":
        y, h_n = ours(x, hx, lengths=UNSORTED)
        packed = rnn_utils.pack_padded_sequence(tx, torch.tensor(UNSORTED), batch_first, enforce_sorted=False)
        t_out, th_n = theirs(packed, thx)
        return y, h_n, rnn_utils.pad_packed_sequence(t_out, batch_first=batch_first, total_length=T)[0], th_n
    enforce_sorted = mode == "packed_sorted"
    lengths = SORTED if enforce_sorted else UNSORTED
    out, h_n = ours(pack_padded_sequence(x, lengths, batch_first, enforce_sorted), hx)
    t_out, th_n = theirs(rnn_utils.pack_padded_sequence(tx, torch.tensor(lengths), batch_first, enforce_sorted), thx)
    assert isinstance(out, PackedSequence)
    np.testing.assert_array_equal(out.batch_sizes.numpy(), t_out.batch_sizes.numpy())
    np.testing.assert_array_equal(out.unsorted_indices is None, t_out.unsorted_indices is None)
    return out.data, h_n, t_out.data, th_n


# ----------------------------------------------------------------------------- layers against PyTorch


@pytest.mark.parametrize("layers, bidirectional, batch_first, bias, mode, with_state", CASES)
@pytest.mark.parametrize("kind, nonlinearity", KINDS)
def test_gru_and_rnn_match_torch(
    torch, kind: str, nonlinearity: str | None, layers: int, bidirectional: bool, batch_first: bool, bias: bool,
    mode: str, with_state: bool,
) -> None:  # fmt: skip
    ours, theirs = _pair(torch, kind, nonlinearity, num_layers=layers, bias=bias, batch_first=batch_first,
                         bidirectional=bidirectional)  # fmt: skip
    D = 2 if bidirectional else 1
    a, s = _padded(batch_first), normal(layers * D, B, H, seed=2)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    hx = tl.tensor(s, requires_grad=True) if with_state else None
    thx = torch.tensor(s, requires_grad=True) if with_state else None

    y, h_n, ty, th_n = _run_both(torch, ours, theirs, mode, batch_first, hx, thx, x, tx)
    assert y.shape == tuple(ty.shape) and y.shape[-1] == D * H
    assert h_n.shape == (layers * D, B, H)
    tl_weighted_sum([y, h_n]).backward()
    torch_weighted_sum(torch, [ty, th_n]).backward()

    close(y, ty, ATOL, "output")
    close(h_n, th_n, ATOL, "h_n")
    close(x.grad, tx.grad, ATOL, "x grad")
    if with_state:
        close(hx.grad, thx.grad, ATOL, "hx grad")
    assert_grads_match(ours, theirs, atol=ATOL)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("kind, nonlinearity", KINDS)
def test_gru_and_rnn_match_torch_on_unbatched_input(
    torch, kind: str, nonlinearity: str | None, batch_first: bool
) -> None:
    ours, theirs = _pair(torch, kind, nonlinearity, num_layers=2, batch_first=batch_first, bidirectional=True)
    a, s = normal(T, C), normal(4, H, seed=2)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    hx, thx = tl.tensor(s, requires_grad=True), torch.tensor(s, requires_grad=True)

    y, h_n = ours(x, hx)
    ty, th_n = theirs(tx, thx)
    assert y.shape == (T, 2 * H) and h_n.shape == (4, H)
    tl_weighted_sum([y, h_n]).backward()
    torch_weighted_sum(torch, [ty, th_n]).backward()

    close(y, ty, ATOL, "output")
    close(h_n, th_n, ATOL, "h_n")
    close(x.grad, tx.grad, ATOL, "x grad")
    close(hx.grad, thx.grad, ATOL, "hx grad")
    assert_grads_match(ours, theirs, atol=ATOL)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("mode", ["padded", "packed", "lengths"])
def test_bidirectional_lstm_matches_torch(torch, mode: str, fused: bool) -> None:
    ours = tl.nn.LSTM(C, H, num_layers=2, bidirectional=True, fused=fused).double()
    theirs = torch.nn.LSTM(C, H, num_layers=2, bidirectional=True).double()
    copy_to_torch(torch, ours, theirs)
    a, states = _padded(False), [normal(4, B, H, seed=2), normal(4, B, H, seed=3)]
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    hx = tuple(tl.tensor(s, requires_grad=True) for s in states)
    thx = tuple(torch.tensor(s, requires_grad=True) for s in states)

    y, (h_n, c_n), ty, (th_n, tc_n) = _run_both(torch, ours, theirs, mode, False, hx, thx, x, tx)
    tl_weighted_sum([y, h_n, c_n]).backward()
    torch_weighted_sum(torch, [ty, th_n, tc_n]).backward()

    close(y, ty, ATOL, "output")
    close(h_n, th_n, ATOL, "h_n")
    close(c_n, tc_n, ATOL, "c_n")
    close(x.grad, tx.grad, ATOL, "x grad")
    close(hx[0].grad, thx[0].grad, ATOL, "h0 grad")
    close(hx[1].grad, thx[1].grad, ATOL, "c0 grad")
    assert_grads_match(ours, theirs, atol=ATOL)


@pytest.mark.parametrize("kind, nonlinearity", KINDS)
def test_dropout_acts_between_layers_only_while_training(torch, kind: str, nonlinearity: str | None) -> None:
    ours, theirs = _pair(torch, kind, nonlinearity, num_layers=2, bidirectional=True, dropout=0.5)
    theirs.eval()
    a = _padded(False)
    tl.manual_seed(0)
    with tl.no_grad():
        y_train, h_train = ours(tl.tensor(a))
        y_eval, h_eval = ours.eval()(tl.tensor(a))
    ty, th = theirs(torch.tensor(a))

    close(y_eval, ty, ATOL, "eval output")
    close(h_eval, th, ATOL, "eval h_n")
    assert not np.allclose(y_train.numpy(), y_eval.numpy())
    # the first layer's final states (rows 0 and 1) come before any dropout
    np.testing.assert_array_equal(h_train.numpy()[:2], h_eval.numpy()[:2])


# ----------------------------------------------------------------------------- cells against PyTorch


CELL_KINDS = [pytest.param("GRUCell", None, id="gru"), pytest.param("RNNCell", "tanh", id="rnn-tanh"),
              pytest.param("RNNCell", "relu", id="rnn-relu")]  # fmt: skip


def _cell_pair(torch, kind: str, nonlinearity: str | None, bias: bool = True) -> tuple[tl.nn.Module, Any]:
    kwargs: dict[str, Any] = {"bias": bias}
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    ours = getattr(tl.nn, kind)(C, H, **kwargs).double()
    theirs = getattr(torch.nn, kind)(C, H, **kwargs).double()
    copy_to_torch(torch, ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("shape, with_state, bias", [((5,), False, True), ((5,), True, True), ((5,), True, False),
                                                     ((), True, True)])  # fmt: skip
@pytest.mark.parametrize("kind, nonlinearity", CELL_KINDS)
def test_cells_match_torch(
    torch, kind: str, nonlinearity: str | None, shape: tuple[int, ...], with_state: bool, bias: bool
) -> None:
    ours, theirs = _cell_pair(torch, kind, nonlinearity, bias)
    a, s = normal(*shape, C, seed=0), normal(*shape, H, seed=1)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    h0, th0 = tl.tensor(s, requires_grad=True), torch.tensor(s, requires_grad=True)

    h = ours(x, h0) if with_state else ours(x)
    th = theirs(tx, th0) if with_state else theirs(tx)
    assert h.shape == (*shape, H)
    tl_weighted_sum([h]).backward()
    torch_weighted_sum(torch, [th]).backward()

    close(h, th, ATOL, "h")
    close(x.grad, tx.grad, ATOL, "x grad")
    if with_state:
        close(h0.grad, th0.grad, ATOL, "hx grad")
    assert_grads_match(ours, theirs, atol=ATOL)


def test_gru_cell_follows_the_gate_equations() -> None:
    """h' = (1 - z) n + z h, with n = tanh(W_in x + b_in + r (W_hn h + b_hn)), from the weights by hand."""
    cell = tl.nn.GRUCell(C, H).double()
    x, h = normal(2, C, seed=0), normal(2, H, seed=1)
    w_ih, w_hh, b_ih, b_hh = (p.detach().numpy() for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh))
    gi, gh = x @ w_ih.T + b_ih, h @ w_hh.T + b_hh

    def sigmoid(v: np.ndarray) -> np.ndarray:
        return 1.0 / (1.0 + np.exp(-v))

    r, z = sigmoid(gi[:, :H] + gh[:, :H]), sigmoid(gi[:, H : 2 * H] + gh[:, H : 2 * H])
    n = np.tanh(gi[:, 2 * H :] + r * gh[:, 2 * H :])
    want = (1 - z) * n + z * h
    np.testing.assert_allclose(cell(tl.tensor(x), tl.tensor(h)).detach().numpy(), want, rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- parameters


@pytest.mark.parametrize("kind, nonlinearity", KINDS)
def test_layers_have_torchs_parameter_names_shapes_order_and_init_range(
    torch, kind: str, nonlinearity: str | None
) -> None:
    kwargs: dict[str, Any] = {"num_layers": 2, "bidirectional": True}
    if nonlinearity is not None:
        kwargs["nonlinearity"] = nonlinearity
    tl.manual_seed(0)
    ours, theirs = getattr(tl.nn, kind)(C, 16, **kwargs), getattr(torch.nn, kind)(C, 16, **kwargs)
    mine = [(n, p.shape) for n, p in ours.named_parameters()]
    other = [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    assert mine == other
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.detach().numpy().ravel() for p in ours.parameters()])
    assert values.min() >= -bound and values.max() <= bound
    assert values.min() < -0.9 * bound and values.max() > 0.9 * bound  # spread over the range, not squeezed
    assert abs(values.mean()) < 0.1 * bound


@pytest.mark.parametrize("kind, nonlinearity", CELL_KINDS)
def test_cells_have_torchs_parameter_names_and_shapes(torch, kind: str, nonlinearity: str | None) -> None:
    ours, theirs = _cell_pair(torch, kind, nonlinearity)
    assert [(n, p.shape) for n, p in ours.named_parameters()] == [
        (n, tuple(p.shape)) for n, p in theirs.named_parameters()
    ]


def test_gru_state_dict_round_trip_reproduces_the_output() -> None:
    tl.manual_seed(0)
    first, second = tl.nn.GRU(C, H, num_layers=2, bidirectional=True), tl.nn.GRU(C, H, num_layers=2, bidirectional=True)
    x = tl.tensor(_padded(False)).float()
    with tl.no_grad():
        assert not np.allclose(first(x)[0].numpy(), second(x)[0].numpy())
        second.load_state_dict(first.state_dict())
        np.testing.assert_array_equal(first(x)[0].numpy(), second(x)[0].numpy())


# ----------------------------------------------------------------------------- gradchecks


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_bidirectional_layers_pass_gradcheck_on_inputs_hx_and_weights(kind: str) -> None:
    model = getattr(tl.nn, kind)(2, 3, num_layers=2, bidirectional=True).double()
    x = tl.tensor(normal(4, 3, 2), requires_grad=True)  # (T, B, C), padded positions included
    h0 = tl.tensor(normal(4, 3, 3, seed=1), requires_grad=True)
    assert tl.gradcheck(lambda x, h: model(x, h), [x, h0], params=model).passed
    assert tl.gradcheck(lambda x, h: model(x, h, lengths=[2, 4, 1]), [x, h0], params=model).passed


@pytest.mark.parametrize("kind, nonlinearity", CELL_KINDS)
def test_cells_pass_gradcheck(kind: str, nonlinearity: str | None) -> None:
    cell = (tl.nn.GRUCell(2, 3) if nonlinearity is None else tl.nn.RNNCell(2, 3, nonlinearity=nonlinearity)).double()
    x, h0 = tl.tensor(normal(2, 2), requires_grad=True), tl.tensor(normal(2, 3, seed=1), requires_grad=True)
    assert tl.gradcheck(lambda x, h: cell(x, h), [x, h0], params=cell).passed


# ----------------------------------------------------------------------------- errors


@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_layers_reject_the_wrong_feature_count(kind: str) -> None:
    with pytest.raises(ValueError, match=f"{kind}: input has 2 features per step, but input_size is 3"):
        getattr(tl.nn, kind)(3, 4)(tl.zeros(5, 2, 2))


@pytest.mark.parametrize("bidirectional, shape", [(False, (1, 2, 4)), (False, (2, 3, 4)), (False, (2, 2, 5)),
                                                  (True, (2, 2, 4)), (False, (2, 4))])  # fmt: skip
@pytest.mark.parametrize("kind", ["GRU", "RNN"])
def test_layers_reject_hx_of_the_wrong_shape(kind: str, bidirectional: bool, shape: tuple[int, ...]) -> None:
    model = getattr(tl.nn, kind)(3, 4, num_layers=2, bidirectional=bidirectional)
    rows = "2 \\* num_layers" if bidirectional else "num_layers"
    with pytest.raises(ValueError, match=rf"{kind}: hx has shape .* expected \({rows}, B, hidden_size\)"):
        model(tl.zeros(3, 2, 3), tl.zeros(*shape))


def test_layers_reject_hx_of_the_wrong_shape_with_packed_input() -> None:
    packed = pack_padded_sequence(tl.zeros(3, 2, 3), [2, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="GRU: hx has shape"):
        tl.nn.GRU(3, 4)(packed, tl.zeros(1, 3, 4))


def test_layers_reject_a_3d_hx_with_unbatched_input() -> None:
    with pytest.raises(ValueError, match=r"unbatched 2-D input, hx must be 2-D"):
        tl.nn.GRU(3, 4)(tl.zeros(5, 3), tl.zeros(1, 1, 4))


def test_gru_rejects_an_lstm_style_state_pair() -> None:
    with pytest.raises(TypeError, match="hx must be a tensor"):
        tl.nn.GRU(3, 4)(tl.zeros(5, 2, 3), (tl.zeros(1, 2, 4), tl.zeros(1, 2, 4)))


@pytest.mark.parametrize("make", [lambda: tl.nn.RNN(3, 4, nonlinearity="sigmoid"),
                                  lambda: tl.nn.RNNCell(3, 4, nonlinearity="sigmoid")])  # fmt: skip
def test_rnn_rejects_an_unknown_nonlinearity(make: Any) -> None:
    with pytest.raises(ValueError, match="nonlinearity must be 'tanh' or 'relu', not 'sigmoid'"):
        make()


@pytest.mark.parametrize("kind", ["GRUCell", "RNNCell"])
def test_cells_reject_the_wrong_feature_count_and_hx_shape(kind: str) -> None:
    cell = getattr(tl.nn, kind)(3, 4)
    with pytest.raises(ValueError, match=rf"{kind}: input of shape \(2, 2\) should be \(B, 3\)"):
        cell(tl.zeros(2, 2))
    with pytest.raises(ValueError, match=rf"{kind}: hx has shape \(2, 5\), expected \(B, hidden_size\) = \(2, 4\)"):
        cell(tl.zeros(2, 3), tl.zeros(2, 5))
