"""The fused attention's causal blocks: the same values and gradients as the composed twin and as PyTorch,
for every way the query rows can split into blocks."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl
from parity import close, normal, tl_weighted_sum, torch_weighted_sum
from tinyllm.fused.attention import Attention, causal_block_rows, unshifted_limit

F = tl.nn.functional

# L = 64 is one block; 65 leaves a block of one row; 150 gives three blocks, the last partial;
# with L != S the blocks' key ranges stop at S (L > S) or never reach it (L < S).
SHAPES = [(1, 1), (64, 64), (65, 65), (150, 150), (150, 70), (70, 150), (70, 0)]


def _qkv(L: int, S: int, B: int = 2, H: int = 1, E: int = 3, Ev: int = 2) -> list[tl.Tensor]:
    arrays = [normal(B, H, L, E, seed=0), normal(B, H, S, E, seed=1), normal(B, H, S, Ev, seed=2)]
    return [tl.tensor(a, requires_grad=True) for a in arrays]


def test_causal_blocks_cover_every_row_once_and_only_keys_up_to_the_block_end() -> None:
    for L, S in SHAPES + [(512, 512), (1000, 64)]:
        blocks = Attention._blocks(L, S, causal=True)
        rows = [r for r0, r1, _ in blocks for r in range(r0, r1)]
        assert rows == list(range(L))
        assert all(e == min(r1, S) and r1 - r0 <= causal_block_rows(L) for r0, r1, e in blocks)
    assert len(Attention._blocks(64, 64, causal=True)) == 1
    assert len(Attention._blocks(512, 512, causal=True)) == 8


@pytest.mark.parametrize("L,S", SHAPES)
@pytest.mark.parametrize("dropout_p", [0.0, 0.4])
def test_causal_fused_attention_matches_composed_twin_on_output_weights_and_gradients(
    L: int, S: int, dropout_p: float
) -> None:
    results = []
    for fused in (True, False):
        q, k, v = _qkv(L, S)
        tl.manual_seed(5)  # the same dropout draws on both paths
        out, w = F.scaled_dot_product_attention(
            q, k, v, dropout_p=dropout_p, is_causal=True, need_weights=True, fused=fused
        )
        tl_weighted_sum([out, w]).backward()
        results.append((out, w, q.grad, k.grad, v.grad))
    for ours, twin, name in zip(*results, ["output", "weights", "q grad", "k grad", "v grad"]):
        close(ours, twin.detach().numpy(), 1e-12, name)


def test_causal_fused_attention_weights_are_zero_after_each_query() -> None:
    q, k, v = _qkv(150, 150)
    _, w = F.scaled_dot_product_attention(q, k, v, is_causal=True, need_weights=True)
    w = w.detach().numpy()
    assert np.all(w[..., np.triu_indices(150, 1)[0], np.triu_indices(150, 1)[1]] == 0)
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("L,S", [(150, 150), (70, 100)])
def test_causal_fused_attention_matches_torch(torch, L: int, S: int) -> None:
    q, k, v = _qkv(L, S)
    tq, tk, tv = (torch.tensor(t.detach().numpy(), requires_grad=True) for t in (q, k, v))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    t_out = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, is_causal=True)
    tl_weighted_sum([out]).backward()
    torch_weighted_sum(torch, [t_out]).backward()
    close(out, t_out, 1e-12, "output")
    for ours, theirs, name in ((q, tq, "q"), (k, tk, "k"), (v, tv, "v")):
        close(ours.grad, theirs.grad, 1e-12, f"{name} grad")


def test_causal_fused_attention_passes_gradcheck_across_blocks() -> None:
    q, k, v = _qkv(66, 66, B=1, H=1, E=2, Ev=2)  # two blocks: 64 rows and 2

    def attention(q: tl.Tensor, k: tl.Tensor, v: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
        return F.scaled_dot_product_attention(q, k, v, dropout_p=0.3, is_causal=True, need_weights=True)

    assert tl.gradcheck(attention, [q, k, v]).passed


def test_causal_and_a_mask_together_combine_in_the_fused_op() -> None:
    """The op takes both (the functional takes one or the other): the union of what each hides."""
    L = 70
    q, k, v = (t.detach() for t in _qkv(L, L))
    allowed = np.random.default_rng(3).random((L, L)) < 0.6
    allowed[np.arange(L), np.arange(L)] = True
    both = Attention.apply(q, k, v, scale=0.5, mask=allowed, causal=True)
    merged = Attention.apply(q, k, v, scale=0.5, mask=allowed & np.tri(L, dtype=bool))
    for a, b in zip(both, merged):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=0, atol=1e-12)


# ----------------------------------------------------------------------------- softmax without the max shift


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
@pytest.mark.parametrize("S", [1, 64, 4096])
def test_unshifted_limit_keeps_exp_and_row_sums_in_range_and_is_near_the_edge(dtype: type, S: int) -> None:
    info, limit = np.finfo(dtype), unshifted_limit(dtype, S)
    assert S * np.exp(limit) < float(info.max)  # exp of a score and a row sum of S of them stay finite
    assert np.exp(-limit) > float(info.tiny)  # the largest weight of a row never underflows
    edge = limit + 2  # and the limit gives away at most a little of the safe range
    assert np.log(S) + edge >= np.log(float(info.max)) or -edge <= np.log(float(info.tiny))


def _scores_as_given(scores: np.ndarray, dtype: type, mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The fused op's weights for these scores (Q = scores, K = I, scale 1), and the float64 reference's."""
    L, S = scores.shape
    q = tl.tensor(scores.astype(dtype)[None])
    k = tl.tensor(np.eye(S, dtype=dtype)[None])
    v = tl.tensor(np.arange(S, dtype=dtype)[None, :, None])
    _, w = Attention.apply(q, k, v, scale=1.0, mask=mask)
    s = scores.astype(dtype).astype(np.float64) + (0 if mask is None else np.where(mask, 0, -np.inf))
    with np.errstate(invalid="ignore"):  # a row masked whole has no reference weights (nan)
        e = np.exp(s - s.max(axis=-1, keepdims=True))
        return w.numpy()[0], e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("magnitude", [1.0, 80.0, 83.0, 84.0, 300.0, 3e4])
def test_fused_softmax_is_exact_on_both_sides_of_the_unshifted_limit(magnitude: float) -> None:
    """float32, 64 keys: the limit is 83.6; scores up to it skip the row maximum, larger ones take it."""
    scores = np.random.default_rng(0).uniform(-magnitude, magnitude, (32, 64))
    w, reference = _scores_as_given(scores, np.float32)
    assert np.all(np.isfinite(w))
    np.testing.assert_allclose(w, reference, rtol=1e-5, atol=1e-7)


def test_a_row_masked_by_a_large_finite_number_keeps_the_softmax_of_its_scores() -> None:
    """An additive mask of -1e9 over a whole row shifts all its scores alike: softmax gives that row the
    weights of its own scores (as PyTorch does), where a row masked by False (-inf) gets weights 0."""
    scores = np.random.default_rng(1).standard_normal((4, 8))
    additive = np.zeros((4, 8))
    additive[2] = -1e9
    q, k = tl.tensor(scores[None]), tl.tensor(np.eye(8)[None])
    _, w = Attention.apply(q, k, tl.tensor(np.ones((1, 8, 1))), scale=1.0, mask=additive)
    e = np.exp(scores[2] - scores[2].max())
    np.testing.assert_allclose(w.numpy()[0, 2], e / e.sum(), rtol=1e-6)
    hidden = np.ones((4, 8), dtype=bool)
    hidden[2] = False
    w_bool, _ = _scores_as_given(scores, np.float64, hidden)
    assert np.all(w_bool[2] == 0) and np.allclose(w_bool.sum(axis=-1)[[0, 1, 3]], 1)
