"""Packed sequences, LSTMCell and LSTM: PyTorch parity in float64, fused == composed, padding, gradchecks."""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, close, copy_to_torch, normal, tl_weighted_sum, torch_weighted_sum
from tinyllm.fused import LSTMLayer
from tinyllm.nn.utils.rnn import PackedSequence, pack_padded_sequence, pad_packed_sequence

F = tl.nn.functional

# ----------------------------------------------------------------------------- helpers


def _padded(T: int, B: int, feat: int, batch_first: bool, seed: int = 0) -> np.ndarray:
    return normal(B, T, feat, seed=seed) if batch_first else normal(T, B, feat, seed=seed)


# ----------------------------------------------------------------------------- packing


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "lengths, enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False), ([4, 3, 2, 1], False)]
)
def test_pack_padded_sequence_matches_torch(
    torch, batch_first: bool, lengths: list[int], enforce_sorted: bool
) -> None:
    a = _padded(6, 4, 3, batch_first)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    ours = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    theirs = torch.nn.utils.rnn.pack_padded_sequence(
        tx, torch.tensor(lengths), batch_first=batch_first, enforce_sorted=enforce_sorted
    )

    assert isinstance(ours, PackedSequence)
    np.testing.assert_array_equal(ours.data.detach().numpy(), theirs.data.detach().numpy())
    np.testing.assert_array_equal(ours.batch_sizes.numpy(), theirs.batch_sizes.numpy())
    for name in ("sorted_indices", "unsorted_indices"):
        mine, other = getattr(ours, name), getattr(theirs, name)
        if other is None:
            assert mine is None, name
        else:
            np.testing.assert_array_equal(mine.numpy(), other.numpy(), err_msg=name)

    tl_weighted_sum([ours.data]).backward()
    torch_weighted_sum(torch, [theirs.data]).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("enforce_sorted, lengths", [(True, [4, 4, 2]), (False, [1, 4, 3])])
def test_pad_packed_sequence_matches_torch(
    torch, batch_first: bool, enforce_sorted: bool, lengths: list[int]
) -> None:
    a = _padded(5, 3, 2, batch_first)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    rnn_utils = torch.nn.utils.rnn
    packed = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    t_packed = rnn_utils.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                              enforce_sorted=enforce_sorted)  # fmt: skip

    for total_length in (None, 6):
        y, lens = pad_packed_sequence(
            packed, batch_first=batch_first, padding_value=-2.5, total_length=total_length
        )
        ty, tlens = rnn_utils.pad_packed_sequence(t_packed, batch_first=batch_first, padding_value=-2.5,
                                                  total_length=total_length)  # fmt: skip
        assert y.shape == tuple(ty.shape)
        np.testing.assert_array_equal(y.detach().numpy(), ty.detach().numpy())
        np.testing.assert_array_equal(lens.numpy(), tlens.numpy())

    tl_weighted_sum([y]).backward()
    torch_weighted_sum(torch, [ty]).backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=0, atol=1e-15)


@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_then_pad_restores_the_batch_and_pads_with_the_padding_value(batch_first: bool) -> None:
    lengths = [3, 5, 1, 4]
    a = _padded(5, 4, 2, batch_first)
    y, lens = pad_packed_sequence(
        pack_padded_sequence(tl.tensor(a), lengths, batch_first=batch_first, enforce_sorted=False),
        batch_first=batch_first, padding_value=7.0,
    )  # fmt: skip
    got = y.numpy() if batch_first else y.numpy().swapaxes(0, 1)
    want = a if batch_first else a.swapaxes(0, 1)
    np.testing.assert_array_equal(lens.numpy(), lengths)
    for b, n in enumerate(lengths):
        np.testing.assert_array_equal(got[b, :n], want[b, :n])
        np.testing.assert_array_equal(got[b, n:], np.full_like(want[b, n:], 7.0))


def test_pack_padded_sequence_rejects_unsorted_lengths_when_enforce_sorted() -> None:
    with pytest.raises(ValueError, match="pass enforce_sorted=False"):
        pack_padded_sequence(tl.zeros(4, 3, 2), [2, 4, 1])


@pytest.mark.parametrize("bad", [0, 5])
def test_pack_padded_sequence_rejects_a_length_outside_one_to_T(bad: int) -> None:
    with pytest.raises(ValueError, match=f"length {bad} is outside"):
        pack_padded_sequence(tl.zeros(4, 3, 2), [4, bad, 1], enforce_sorted=False)


def test_pack_padded_sequence_rejects_the_wrong_number_of_lengths() -> None:
    with pytest.raises(ValueError, match="one length per sequence"):
        pack_padded_sequence(tl.zeros(4, 3, 2), [4, 2])


def test_pad_packed_sequence_rejects_a_total_length_shorter_than_the_longest() -> None:
    packed = pack_padded_sequence(tl.zeros(4, 2, 1), [4, 2])
    with pytest.raises(ValueError, match="total_length 3 is shorter"):
        pad_packed_sequence(packed, total_length=3)


# ----------------------------------------------------------------------------- LSTMCell


@pytest.mark.parametrize("given_state, bias", [(False, True), (True, True), (True, False)])
def test_lstm_cell_matches_torch(torch, given_state: bool, bias: bool) -> None:
    ours = tl.nn.LSTMCell(3, 4, bias=bias).double()
    theirs = torch.nn.LSTMCell(3, 4, bias=bias).double()
    copy_to_torch(torch, ours, theirs)
    arrays = [normal(5, 3, seed=0), normal(5, 4, seed=1), normal(5, 4, seed=2)]
    x, h0, c0 = (tl.tensor(a, requires_grad=True) for a in arrays)
    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in arrays)

    h, c = ours(x, (h0, c0)) if given_state else ours(x)
    th, tc = theirs(tx, (th0, tc0)) if given_state else theirs(tx)
    tl_weighted_sum([h, c]).backward()
    torch_weighted_sum(torch, [th, tc]).backward()

    close(h, th, 1e-12, "h")
    close(c, tc, 1e-12, "c")
    close(x.grad, tx.grad, 1e-12, "x grad")
    if given_state:
        close(h0.grad, th0.grad, 1e-12, "h0 grad")
        close(c0.grad, tc0.grad, 1e-12, "c0 grad")
    assert_grads_match(ours, theirs, atol=1e-12)


def test_lstm_cell_matches_torch_on_unbatched_input(torch) -> None:
    ours = tl.nn.LSTMCell(3, 2).double()
    theirs = torch.nn.LSTMCell(3, 2).double()
    copy_to_torch(torch, ours, theirs)
    arrays = [normal(3, seed=0), normal(2, seed=1), normal(2, seed=2)]
    x, h0, c0 = (tl.tensor(a, requires_grad=True) for a in arrays)
    tx, th0, tc0 = (torch.tensor(a, requires_grad=True) for a in arrays)

    h, c = ours(x, (h0, c0))
    th, tc = theirs(tx, (th0, tc0))
    assert h.shape == c.shape == (2,)
    tl_weighted_sum([h, c]).backward()
    torch_weighted_sum(torch, [th, tc]).backward()

    close(h, th, 1e-12, "h")
    close(c, tc, 1e-12, "c")
    for ours_t, theirs_t, name in ((x, tx, "x"), (h0, th0, "h0"), (c0, tc0, "c0")):
        close(ours_t.grad, theirs_t.grad, 1e-12, name)
    assert_grads_match(ours, theirs, atol=1e-12)


def test_lstm_cell_passes_gradcheck() -> None:
    cell = tl.nn.LSTMCell(2, 3).double()
    x, h0, c0 = (
        tl.tensor(normal(*s, seed=i), requires_grad=True) for i, s in enumerate([(2, 2), (2, 3), (2, 3)])
    )
    assert tl.gradcheck(lambda x, h, c: cell(x, (h, c)), [x, h0, c0], params=cell).passed


def test_lstm_cell_rejects_the_wrong_feature_count() -> None:
    with pytest.raises(ValueError, match=r"should be \(B, 3\)"):
        tl.nn.LSTMCell(3, 2)(tl.zeros(4, 2))


# ----------------------------------------------------------------------------- LSTM against PyTorch

T, B, C, H = 5, 4, 3, 4
UNSORTED = [3, 5, 1, 4]
SORTED = [5, 4, 4, 2]

# (num_layers, batch_first, bias, input mode, initial state given); "packed" is enforce_sorted=False
CASES = [
    pytest.param(1, False, True, "padded", False, id="1layer"),
    pytest.param(2, True, True, "padded", True, id="2layers-batch_first-h0"),
    pytest.param(2, False, False, "padded", True, id="2layers-nobias-h0"),
    pytest.param(1, False, True, "packed_sorted", False, id="packed-sorted"),
    pytest.param(2, True, True, "packed_sorted", True, id="packed-sorted-2layers-h0"),
    pytest.param(2, False, True, "packed", True, id="packed-unsorted-2layers-h0"),
    pytest.param(1, True, False, "packed", False, id="packed-unsorted-nobias"),
    pytest.param(2, True, True, "lengths", True, id="lengths-2layers-batch_first-h0"),
    pytest.param(1, False, False, "lengths", False, id="lengths-nobias"),
]


def _lstm_pair(torch, layers: int, batch_first: bool, bias: bool, fused: bool = True, dropout: float = 0.0):
    ours = tl.nn.LSTM(
        C, H, num_layers=layers, bias=bias, batch_first=batch_first, dropout=dropout, fused=fused
    )
    theirs = torch.nn.LSTM(C, H, num_layers=layers, bias=bias, batch_first=batch_first, dropout=dropout)
    ours.double()
    theirs.double()
    copy_to_torch(torch, ours, theirs)
    return ours, theirs


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layers, batch_first, bias, mode, with_state", CASES)
def test_lstm_matches_torch(
    torch, layers: int, batch_first: bool, bias: bool, mode: str, with_state: bool, fused: bool
) -> None:
    ours, theirs = _lstm_pair(torch, layers, batch_first, bias, fused)
    rnn_utils = torch.nn.utils.rnn
    lengths = SORTED if mode == "packed_sorted" else UNSORTED
    a = _padded(T, B, C, batch_first)
    states = [normal(layers, B, H, seed=2), normal(layers, B, H, seed=3)]
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    hx = tuple(tl.tensor(s, requires_grad=True) for s in states) if with_state else None
    thx = tuple(torch.tensor(s, requires_grad=True) for s in states) if with_state else None

    if mode == "padded":
        y, (h_n, c_n) = ours(x, hx)
        ty, (th_n, tc_n) = theirs(tx, thx)
    elif mode == "lengths":
        y, (h_n, c_n) = ours(x, hx, lengths=lengths)
        t_packed = rnn_utils.pack_padded_sequence(tx, torch.tensor(lengths), batch_first=batch_first,
                                                  enforce_sorted=False)  # fmt: skip
        t_out, (th_n, tc_n) = theirs(t_packed, thx)
        ty, _ = rnn_utils.pad_packed_sequence(t_out, batch_first=batch_first, total_length=T)
    else:
        enforce_sorted = mode == "packed_sorted"
        out, (h_n, c_n) = ours(pack_padded_sequence(x, lengths, batch_first, enforce_sorted), hx)
        t_out, (th_n, tc_n) = theirs(
            rnn_utils.pack_padded_sequence(tx, torch.tensor(lengths), batch_first, enforce_sorted), thx
        )
        assert isinstance(out, PackedSequence)
        np.testing.assert_array_equal(out.batch_sizes.numpy(), t_out.batch_sizes.numpy())
        y, ty = out.data, t_out.data

    assert y.shape == tuple(ty.shape)
    assert h_n.shape == c_n.shape == (layers, B, H)
    tl_weighted_sum([y, h_n, c_n]).backward()
    torch_weighted_sum(torch, [ty, th_n, tc_n]).backward()

    close(y, ty, 1e-12, "output")
    close(h_n, th_n, 1e-12, "h_n")
    close(c_n, tc_n, 1e-12, "c_n")
    close(x.grad, tx.grad, 1e-12, "x grad")
    if hx is not None:
        close(hx[0].grad, thx[0].grad, 1e-12, "h0 grad")
        close(hx[1].grad, thx[1].grad, 1e-12, "c0 grad")
    assert_grads_match(ours, theirs, atol=1e-12)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("batch_first", [False, True])
def test_lstm_matches_torch_on_unbatched_input(torch, batch_first: bool, fused: bool) -> None:
    ours, theirs = _lstm_pair(torch, 2, batch_first, True, fused)
    a, states = normal(T, C), [normal(2, H, seed=2), normal(2, H, seed=3)]
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    hx = tuple(tl.tensor(s, requires_grad=True) for s in states)
    thx = tuple(torch.tensor(s, requires_grad=True) for s in states)

    y, (h_n, c_n) = ours(x, hx)
    ty, (th_n, tc_n) = theirs(tx, thx)
    assert y.shape == (T, H) and h_n.shape == (2, H)
    tl_weighted_sum([y, h_n, c_n]).backward()
    torch_weighted_sum(torch, [ty, th_n, tc_n]).backward()

    close(y, ty, 1e-12, "output")
    close(h_n, th_n, 1e-12, "h_n")
    close(c_n, tc_n, 1e-12, "c_n")
    for ours_t, theirs_t, name in ((x, tx, "x"), (hx[0], thx[0], "h0"), (hx[1], thx[1], "c0")):
        close(ours_t.grad, theirs_t.grad, 1e-12, name)
    assert_grads_match(ours, theirs, atol=1e-12)


# ----------------------------------------------------------------------------- fused == composed


def _run_lstm(model: tl.nn.LSTM, a: np.ndarray, states: list[np.ndarray], mode: str, seed: int = 5):
    """Output (padded), h_n, c_n and every gradient of one run, with the random state fixed."""
    model.zero_grad()
    tl.manual_seed(seed)
    x = tl.tensor(a, requires_grad=True)
    hx = tuple(tl.tensor(s, requires_grad=True) for s in states)
    if mode == "lengths":
        y, (h_n, c_n) = model(x, hx, lengths=UNSORTED)
    elif mode == "packed":
        out, (h_n, c_n) = model(
            pack_padded_sequence(x, UNSORTED, model.batch_first, enforce_sorted=False), hx
        )
        y = out.data
    else:
        y, (h_n, c_n) = model(x, hx)
    tl_weighted_sum([y, h_n, c_n]).backward()
    values = {
        "output": y,
        "h_n": h_n,
        "c_n": c_n,
        "x grad": x.grad,
        "h0 grad": hx[0].grad,
        "c0 grad": hx[1].grad,
    }
    values.update({f"{n} grad": p.grad for n, p in model.named_parameters()})
    return {k: v.detach().numpy() for k, v in values.items()}


@pytest.mark.parametrize("mode", ["padded", "lengths", "packed"])
def test_fused_lstm_equals_composed_lstm_with_dropout_between_layers(mode: str) -> None:
    fused = tl.nn.LSTM(C, H, num_layers=3, dropout=0.4, batch_first=True).double()
    composed = tl.nn.LSTM(C, H, num_layers=3, dropout=0.4, batch_first=True, fused=False).double()
    composed.load_state_dict(fused.state_dict())
    a, states = _padded(T, B, C, True), [normal(3, B, H, seed=2), normal(3, B, H, seed=3)]

    got, want = _run_lstm(fused, a, states, mode), _run_lstm(composed, a, states, mode)
    assert sorted(got) == sorted(want)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10, err_msg=name)
    # the dropout masks did act (else this would not test that both paths draw them alike)
    without = _run_lstm(fused.eval(), a, states, mode)
    assert not np.allclose(got["output"], without["output"])


# ----------------------------------------------------------------------------- variable lengths


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_padded_positions_do_not_influence_the_result(fused: bool) -> None:
    model = tl.nn.LSTM(C, H, num_layers=2, batch_first=True, fused=fused).double()
    a = _padded(T, B, C, True)
    noisy = a.copy()
    for b, n in enumerate(UNSORTED):
        noisy[b, n:] = 100.0 * normal(T - n, C, seed=10 + b)
    states = [normal(2, B, H, seed=2), normal(2, B, H, seed=3)]
    clean, dirty = _run_lstm(model, a, states, "lengths"), _run_lstm(model, noisy, states, "lengths")

    for name in clean:
        np.testing.assert_array_equal(clean[name], dirty[name], err_msg=name)
    for b, n in enumerate(UNSORTED):
        np.testing.assert_array_equal(clean["output"][b, n:], 0.0)
        np.testing.assert_array_equal(clean["x grad"][b, n:], 0.0)
        assert np.all(clean["x grad"][b, :n] != 0.0)


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_with_lengths_equals_each_sequence_run_alone(fused: bool) -> None:
    model = tl.nn.LSTM(C, H, num_layers=2, batch_first=True, fused=fused).double()
    a = _padded(T, B, C, True)
    with tl.no_grad():
        y, (h_n, c_n) = model(tl.tensor(a), lengths=UNSORTED)
    for b, n in enumerate(UNSORTED):
        with tl.no_grad():
            y_b, (h_b, c_b) = model(tl.tensor(a[b : b + 1, :n]))
        np.testing.assert_allclose(y.numpy()[b, :n], y_b.numpy()[0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(h_n.numpy()[:, b], h_b.numpy()[:, 0], rtol=0, atol=1e-12)
        np.testing.assert_allclose(c_n.numpy()[:, b], c_b.numpy()[:, 0], rtol=0, atol=1e-12)
        # the last layer's h_n is the output at the sequence's own last step
        np.testing.assert_array_equal(h_n.numpy()[-1, b], y.numpy()[b, n - 1])


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_with_variable_lengths_passes_gradcheck(fused: bool) -> None:
    model = tl.nn.LSTM(2, 3, num_layers=2, fused=fused).double()
    x = tl.tensor(normal(4, 3, 2), requires_grad=True)  # (T, B, C), padded positions included
    h0, c0 = (tl.tensor(normal(2, 3, 3, seed=s), requires_grad=True) for s in (1, 2))
    report = tl.gradcheck(lambda x, h, c: model(x, (h, c), lengths=[2, 4, 1]), [x, h0, c0], params=model)
    assert report.passed


@pytest.mark.parametrize("fused", [True, False])
def test_lstm_layer_passes_gradcheck_on_packed_rows(fused: bool) -> None:
    sizes = [3, 2, 2, 1]  # 8 packed rows: sequences of lengths 4, 3, 1
    x = tl.tensor(normal(8, 2), requires_grad=True)
    h0, c0 = (tl.tensor(normal(3, 3, seed=s), requires_grad=True) for s in (1, 2))
    weights = [tl.tensor(0.5 * normal(*s, seed=3 + i), requires_grad=True)
               for i, s in enumerate([(12, 2), (12, 3), (12,), (12,)])]  # fmt: skip

    def layer(x, h0, c0, *w):
        if fused:
            return LSTMLayer.apply(x, h0, c0, *w, batch_sizes=sizes)
        return F.lstm_layer(x, h0, c0, *w, batch_sizes=sizes)

    assert tl.gradcheck(layer, [x, h0, c0, *weights]).passed


def test_fused_lstm_layer_equals_its_composed_twin_on_packed_rows() -> None:
    sizes = [4, 3, 3, 1, 1]
    x = tl.tensor(normal(12, 3), requires_grad=True)
    h0, c0 = (tl.tensor(normal(4, 5, seed=s), requires_grad=True) for s in (1, 2))
    weights = [tl.tensor(0.5 * normal(*s, seed=3 + i), requires_grad=True)
               for i, s in enumerate([(20, 3), (20, 5), (20,), (20,)])]  # fmt: skip
    leaves = [x, h0, c0, *weights]
    grads = []
    for run in (LSTMLayer.apply, F.lstm_layer):
        for t in leaves:
            t.grad = None
        y, h, c = run(x, h0, c0, *weights, batch_sizes=sizes)
        tl_weighted_sum([y, h, c]).backward()
        grads.append([y.detach().numpy(), h.detach().numpy(), c.detach().numpy()] + [t.grad.numpy() for t in leaves])
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_fused_lstm_float32_gates_are_within_a_few_units_of_float64_and_saturate_without_warnings() -> None:
    """The gates come from exp (sigmoid, and tanh(a) = 2 sigmoid(2a) - 1): check them in float32.

    With w_ih = I (4H x 4H) and no recurrence, each gate's pre-activation is exactly x, so
    the saved gate values can be compared with float64 sigmoid and tanh of the same numbers.
    """
    H = 50
    a = np.concatenate([np.linspace(-12, 12, 4 * H * 49), [-200.0, -90.0, 90.0, 200.0] * H])  # saturated too
    x = a.astype(np.float32).reshape(-1, 4 * H)  # 50 rows: one step of a batch of 50
    ref = x.astype(np.float64)
    zeros = np.zeros((x.shape[0], H), np.float32)
    inputs = [x, zeros, zeros, np.eye(4 * H, dtype=np.float32), np.zeros((4 * H, H), np.float32)]
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # exp overflows in the saturated rows: it must do so silently
        y, _, _ = LSTMLayer.apply(*(tl.tensor(v, requires_grad=True) for v in inputs), batch_sizes=[x.shape[0]])
    gates = y.grad_fn.acts.astype(np.float64)
    sig, g = np.delete(gates, np.s_[2 * H : 3 * H], axis=1), gates[:, 2 * H : 3 * H]
    sig_ref = 1 / (1 + np.exp(-np.delete(ref, np.s_[2 * H : 3 * H], axis=1)))
    ulp_of = np.spacing(sig_ref.astype(np.float32)).astype(np.float64)
    tiny = np.finfo(np.float32).tiny  # a gate below the smallest normal float32 (a < -87) may be 0
    assert np.all(np.abs(sig - sig_ref) <= 4 * ulp_of + tiny)  # relative: a few units in the last place
    eps = np.finfo(np.float32).eps
    g_ref = np.tanh(ref[:, 2 * H : 3 * H])
    assert np.abs(g - g_ref).max() <= 2 * eps  # absolute: a few units of 1 (the identity cancels near 0)
    assert np.abs(g - np.tanh(x[:, 2 * H : 3 * H])).max() <= 2 * eps
    assert np.all(np.isfinite(y.detach().numpy()))


# ----------------------------------------------------------------------------- errors


def test_lstm_rejects_the_wrong_feature_count() -> None:
    with pytest.raises(ValueError, match="has 2 features per step, but input_size is 3"):
        tl.nn.LSTM(3, 4)(tl.zeros(5, 2, 2))


@pytest.mark.parametrize("lengths", [None, [2, 3]])
@pytest.mark.parametrize("shape", [(1, 2, 4), (2, 3, 4), (2, 1, 4), (2, 2, 3)])
def test_lstm_rejects_an_initial_state_of_the_wrong_shape(shape: tuple[int, ...], lengths: Any) -> None:
    model = tl.nn.LSTM(3, 4, num_layers=2)
    good, bad = tl.zeros(2, 2, 4), tl.zeros(*shape)
    with pytest.raises(ValueError, match=r"h0 has shape .* expected \(num_layers, B, hidden_size\)"):
        model(tl.zeros(3, 2, 3), (bad, good), lengths=lengths)
    with pytest.raises(ValueError, match="c0 has shape"):
        model(tl.zeros(3, 2, 3), (good, bad), lengths=lengths)


def test_lstm_rejects_an_initial_state_of_the_wrong_shape_with_packed_input() -> None:
    model = tl.nn.LSTM(3, 4)
    packed = pack_padded_sequence(tl.zeros(3, 2, 3), [2, 3], enforce_sorted=False)
    with pytest.raises(ValueError, match="h0 has shape"):
        model(packed, (tl.zeros(1, 3, 4), tl.zeros(1, 2, 4)))


def test_lstm_rejects_lengths_together_with_a_packed_sequence() -> None:
    packed = pack_padded_sequence(tl.zeros(3, 2, 3), [3, 2])
    with pytest.raises(ValueError, match="do not pass lengths= too"):
        tl.nn.LSTM(3, 4)(packed, lengths=[3, 2])


def test_lstm_cell_names_a_wrong_state_shape() -> None:
    cell = tl.nn.LSTMCell(3, 4)
    x = tl.randn(2, 3)
    with pytest.raises(ValueError, match=r"c has shape \(2, 5\), expected \(B, hidden_size\) = \(2, 4\)"):
        cell(x, (tl.zeros(2, 4), tl.zeros(2, 5)))
