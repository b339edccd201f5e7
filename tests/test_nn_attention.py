"""Scaled dot-product attention, MultiheadSelfAttention and TransformerBlock: PyTorch parity, fused ==
composed, masks, dropout, gradchecks."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, close, copy_to_torch, normal, tl_weighted_sum, torch_weighted_sum

F = tl.nn.functional

# ----------------------------------------------------------------------------- helpers


def _bool_mask(L: int, S: int, seed: int = 7) -> np.ndarray:
    """A random "may attend" mask in which every query sees at least one key."""
    mask = np.random.default_rng(seed).random((L, S)) < 0.5
    mask[np.arange(L), np.arange(L) % S] = True
    return mask


def _randomize(module: tl.nn.Module, seed: int = 3) -> None:
    """Give every parameter (biases too, which start at zero) random values."""
    for i, p in enumerate(module.parameters()):
        p.data[...] = 0.5 * normal(*p.shape, seed=seed + i)


def _qkv(B: int = 2, heads: int = 3, L: int = 4, S: int = 4, E: int = 5, Ev: int = 3) -> list[np.ndarray]:
    return [
        normal(B, heads, L, E, seed=0),
        normal(B, heads, S, E, seed=1),
        normal(B, heads, S, Ev, seed=2),
    ]


# ----------------------------------------------------------------------------- scaled_dot_product_attention

SDPA_CASES = [
    pytest.param({"L": 4, "S": 4}, id="no-mask"),
    pytest.param({"L": 3, "S": 5}, id="L!=S"),
    pytest.param({"L": 4, "S": 4, "is_causal": True}, id="causal"),
    pytest.param({"L": 3, "S": 5, "is_causal": True}, id="causal-L!=S"),
    pytest.param({"L": 4, "S": 5, "mask": "bool"}, id="bool-mask"),
    pytest.param({"L": 4, "S": 5, "mask": "float"}, id="float-mask"),
    pytest.param({"L": 4, "S": 4, "scale": 0.3, "mask": "bool"}, id="custom-scale"),
]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", SDPA_CASES)
def test_scaled_dot_product_attention_matches_torch(torch, case: dict[str, Any], fused: bool) -> None:
    L, S = case["L"], case["S"]
    arrays = _qkv(L=L, S=S)
    q, k, v = (tl.tensor(a, requires_grad=True) for a in arrays)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in arrays)
    mask = {"bool": _bool_mask(L, S), "float": normal(L, S, seed=9), None: None}[case.get("mask")]
    kw = {"is_causal": case.get("is_causal", False), "scale": case.get("scale")}

    out = F.scaled_dot_product_attention(
        q, k, v, None if mask is None else tl.tensor(mask), fused=fused, **kw
    )
    t_out = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, None if mask is None else torch.tensor(mask), **kw
    )
    tl_weighted_sum([out]).backward()
    torch_weighted_sum(torch, [t_out]).backward()

    assert out.shape == tuple(t_out.shape)
    close(out, t_out, 1e-12, "output")
    for ours_t, theirs_t, name in ((q, tq, "q"), (k, tk, "k"), (v, tv, "v")):
        close(ours_t.grad, theirs_t.grad, 1e-12, f"{name} grad")


@pytest.mark.parametrize("mask", [None, "bool", "causal"])
def test_scaled_dot_product_attention_weights_match_torch_softmax_and_respect_the_mask(
    torch, mask: Any
) -> None:
    arrays = _qkv(L=4, S=4)
    allowed = {
        None: np.ones((4, 4), bool),
        "bool": _bool_mask(4, 4),
        "causal": np.tril(np.ones((4, 4), bool)),
    }[mask]
    kw = {"attn_mask": tl.tensor(allowed)} if mask == "bool" else {"is_causal": mask == "causal"}
    for fused in (True, False):
        _, w = F.scaled_dot_product_attention(
            *(tl.tensor(a) for a in arrays), need_weights=True, fused=fused, **kw
        )
        tq, tk, _ = (torch.tensor(a) for a in arrays)
        scores = (tq @ tk.transpose(-2, -1) / np.sqrt(5)).masked_fill(~torch.tensor(allowed), float("-inf"))
        close(w, torch.softmax(scores, dim=-1), 1e-12, f"weights, fused={fused}")
        np.testing.assert_allclose(w.numpy().sum(axis=-1), 1.0, rtol=0, atol=1e-12)
        assert np.all(w.numpy()[..., ~allowed] == 0.0)


def _sdpa_run(
    arrays: list[np.ndarray], fused: bool, dropout_p: float, seed: int = 4
) -> dict[str, np.ndarray]:
    tl.manual_seed(seed)
    q, k, v = (tl.tensor(a, requires_grad=True) for a in arrays)
    out, w = F.scaled_dot_product_attention(
        q, k, v, tl.tensor(_bool_mask(4, 5)), dropout_p=dropout_p, need_weights=True, fused=fused
    )
    tl_weighted_sum([out, w]).backward()
    return {"out": out.detach().numpy(), "weights": w.detach().numpy(), "q grad": q.grad.numpy(),
            "k grad": k.grad.numpy(), "v grad": v.grad.numpy()}  # fmt: skip


def test_fused_attention_equals_composed_with_dropout_given_the_same_seed() -> None:
    arrays = _qkv(L=4, S=5)
    fused, composed = _sdpa_run(arrays, True, 0.4), _sdpa_run(arrays, False, 0.4)
    for name in fused:
        np.testing.assert_allclose(fused[name], composed[name], rtol=0, atol=1e-12, err_msg=name)
    # dropout acted on the output but the returned weights are those before dropout
    without = _sdpa_run(arrays, True, 0.0)
    assert not np.allclose(fused["out"], without["out"])
    np.testing.assert_allclose(fused["weights"], without["weights"], rtol=0, atol=1e-15)
    np.testing.assert_allclose(fused["weights"].sum(axis=-1), 1.0, rtol=0, atol=1e-12)
    assert np.all(fused["weights"][..., ~_bool_mask(4, 5)] == 0.0)


def test_attention_dropout_zeroes_weights_and_rescales_the_survivors() -> None:
    """With V = identity, O = dropout(P): each entry is 0 or P / (1 - p), and both occur."""
    q, k = tl.tensor(normal(1, 6, 3, seed=0)), tl.tensor(normal(1, 6, 3, seed=1))
    v = tl.tensor(np.eye(6)[None])
    tl.manual_seed(2)
    out, w = F.scaled_dot_product_attention(q, k, v, dropout_p=0.25, need_weights=True)
    o, p = out.numpy(), w.numpy()
    kept = o != 0
    np.testing.assert_allclose(o[kept], p[kept] / 0.75, rtol=1e-14)
    assert kept.any() and (~kept).any()


@pytest.mark.parametrize("fused", [True, False])
def test_attention_dropout_of_one_drops_every_weight(torch, fused: bool) -> None:
    arrays = _qkv()
    q, k, v = (tl.tensor(a, requires_grad=True) for a in arrays)
    out = F.scaled_dot_product_attention(q, k, v, dropout_p=1.0, fused=fused)
    tl_weighted_sum([out]).backward()
    tq, tk, tv = (torch.tensor(a) for a in arrays)
    close(out, torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, dropout_p=1.0), 0.0)
    for t in (q, k, v):
        np.testing.assert_array_equal(t.grad.numpy(), 0.0)


def test_scaled_dot_product_attention_rejects_a_mask_together_with_is_causal() -> None:
    q, k, v = (tl.tensor(a) for a in _qkv())
    with pytest.raises(ValueError, match="attn_mask or is_causal, not both"):
        F.scaled_dot_product_attention(q, k, v, tl.tensor(np.ones((4, 4), bool)), is_causal=True)


@pytest.mark.parametrize("fused", [True, False])
def test_scaled_dot_product_attention_passes_gradcheck_through_output_and_weights(fused: bool) -> None:
    q, k, v = (tl.tensor(a, requires_grad=True) for a in _qkv(B=1, heads=2, L=3, S=4, E=2, Ev=2))
    mask = tl.tensor(_bool_mask(3, 4))

    def attention(q, k, v):
        return F.scaled_dot_product_attention(q, k, v, mask, dropout_p=0.3, need_weights=True, fused=fused)

    assert tl.gradcheck(attention, [q, k, v]).passed


# ----------------------------------------------------------------------------- MultiheadSelfAttention

C, HEADS, BATCH, TIME = 6, 2, 2, 4
LENGTHS = [4, 2]  # padding at the end, so with causality every query still sees key 0


def _key_padding_mask() -> np.ndarray:
    return np.arange(TIME)[None, :] >= np.array(LENGTHS)[:, None]


MHA_CASES = [
    pytest.param({"causal": False, "padding": False, "bias": True}, id="plain"),
    pytest.param({"causal": True, "padding": False, "bias": True}, id="causal"),
    pytest.param({"causal": False, "padding": True, "bias": True}, id="key_padding_mask"),
    pytest.param({"causal": True, "padding": True, "bias": True}, id="causal-key_padding_mask"),
    pytest.param({"causal": True, "padding": True, "bias": False}, id="no-bias"),
]


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("case", MHA_CASES)
def test_multihead_self_attention_matches_torch(torch, case: dict[str, Any], fused: bool) -> None:
    ours = tl.nn.MultiheadSelfAttention(
        C, HEADS, bias=case["bias"], causal=case["causal"], fused=fused
    ).double()
    theirs = torch.nn.MultiheadAttention(C, HEADS, bias=case["bias"], batch_first=True).double()
    _randomize(ours)
    copy_to_torch(torch, ours, theirs)
    a = normal(BATCH, TIME, C)
    x, tx = tl.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    kpm = _key_padding_mask() if case["padding"] else None
    causal = torch.triu(torch.ones(TIME, TIME, dtype=torch.bool), diagonal=1) if case["causal"] else None

    out, w = ours(x, None if kpm is None else tl.tensor(kpm), need_weights=True)
    t_out, t_w = theirs(tx, tx, tx, key_padding_mask=None if kpm is None else torch.tensor(kpm),
                        attn_mask=causal, need_weights=True, average_attn_weights=True)  # fmt: skip
    tl_weighted_sum([out]).backward()
    torch_weighted_sum(torch, [t_out]).backward()

    assert w.shape == (BATCH, HEADS, TIME, TIME)
    close(out, t_out, 1e-12, "output")
    close(w.mean(dim=1), t_w, 1e-12, "head-averaged weights")
    close(x.grad, tx.grad, 1e-12, "x grad")
    assert_grads_match(ours, theirs, atol=1e-12)


def test_multihead_self_attention_initializes_like_torch() -> None:
    """Xavier-uniform in-projection, zero biases, PyTorch's parameter names."""
    mha = tl.nn.MultiheadSelfAttention(8, 2)
    names = dict(mha.named_parameters())
    assert sorted(names) == ["in_proj_bias", "in_proj_weight", "out_proj.bias", "out_proj.weight"]
    np.testing.assert_array_equal(names["in_proj_bias"].detach().numpy(), 0.0)
    np.testing.assert_array_equal(names["out_proj.bias"].detach().numpy(), 0.0)
    bound = np.sqrt(6.0 / (8 + 24))
    w = names["in_proj_weight"].detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound


def _mha_run(model: tl.nn.MultiheadSelfAttention, a: np.ndarray, seed: int = 4) -> dict[str, np.ndarray]:
    model.zero_grad()
    tl.manual_seed(seed)
    x = tl.tensor(a, requires_grad=True)
    out, w = model(x, tl.tensor(_key_padding_mask()), need_weights=True)
    tl_weighted_sum([out, w]).backward()
    result = {"out": out.detach().numpy(), "weights": w.detach().numpy(), "x grad": x.grad.numpy()}
    result.update({f"{n} grad": p.grad.numpy() for n, p in model.named_parameters()})
    return result


def assert_runs_equal(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    """The fused and composed runs give the same outputs and gradients, name by name."""
    assert sorted(got) == sorted(want)
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-12, err_msg=name)


def test_fused_multihead_self_attention_equals_composed_with_dropout() -> None:
    fused = tl.nn.MultiheadSelfAttention(C, HEADS, dropout=0.3, causal=True).double()
    composed = tl.nn.MultiheadSelfAttention(C, HEADS, dropout=0.3, causal=True, fused=False).double()
    _randomize(fused)
    composed.load_state_dict(fused.state_dict())
    a = normal(BATCH, TIME, C)

    got, want = _mha_run(fused, a), _mha_run(composed, a)
    assert_runs_equal(got, want)
    assert not np.allclose(got["out"], _mha_run(fused.eval(), a)["out"])  # dropout acted in training


@pytest.mark.parametrize("fused", [True, False])
def test_multihead_self_attention_passes_gradcheck(fused: bool) -> None:
    mha = tl.nn.MultiheadSelfAttention(4, 2, causal=True, fused=fused).double()
    _randomize(mha)
    x = tl.tensor(normal(2, 3, 4), requires_grad=True)
    kpm = tl.tensor(np.array([[False, False, False], [False, False, True]]))
    assert tl.gradcheck(lambda x: mha(x, kpm, need_weights=True), [x], params=mha).passed


def test_multihead_self_attention_rejects_embed_dim_not_divisible_by_heads() -> None:
    with pytest.raises(ValueError, match="embed_dim 6 is not divisible by num_heads 4"):
        tl.nn.MultiheadSelfAttention(6, 4)


@pytest.mark.parametrize("shape", [(2, 3, 5), (3, 6), (1, 2, 3, 6)])
def test_multihead_self_attention_rejects_the_wrong_input_shape(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"should be \(B, T, 6\)"):
        tl.nn.MultiheadSelfAttention(6, 2)(tl.zeros(*shape))


@pytest.mark.parametrize("mask", [np.zeros((2, 4), bool), np.zeros((3, 3), bool), np.zeros((2, 3))])
def test_multihead_self_attention_rejects_a_bad_key_padding_mask(mask: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"key_padding_mask must be bool of shape \(2, 3\)"):
        tl.nn.MultiheadSelfAttention(6, 2)(tl.zeros(2, 3, 6), tl.tensor(mask))


# ----------------------------------------------------------------------------- TransformerBlock


def test_transformer_block_passes_gradcheck() -> None:
    block = tl.nn.TransformerBlock(4, 2).double()
    _randomize(block)
    x = tl.tensor(normal(2, 3, 4), requires_grad=True)
    assert tl.gradcheck(block, [x], params=block).passed


def _block_run(block: tl.nn.TransformerBlock, a: np.ndarray, seed: int = 4) -> dict[str, np.ndarray]:
    block.zero_grad()
    tl.manual_seed(seed)
    x = tl.tensor(a, requires_grad=True)
    out = block(x, tl.tensor(_key_padding_mask()))
    tl_weighted_sum([out]).backward()
    result = {"out": out.detach().numpy(), "x grad": x.grad.numpy()}
    result.update({f"{n} grad": p.grad.numpy() for n, p in block.named_parameters()})
    return result


@pytest.mark.parametrize("dropout", [0.0, 0.3])
def test_fused_transformer_block_equals_composed_given_the_same_seed(dropout: float) -> None:
    fused = tl.nn.TransformerBlock(C, HEADS, dropout=dropout).double()
    composed = tl.nn.TransformerBlock(C, HEADS, dropout=dropout, fused=False).double()
    assert [m.fused for m in (composed.ln_1, composed.attn, composed.ln_2)] == [False] * 3
    _randomize(fused)
    composed.load_state_dict(fused.state_dict())
    a = normal(BATCH, TIME, C)

    got, want = _block_run(fused, a), _block_run(composed, a)
    assert_runs_equal(got, want)
    assert (dropout > 0) == (not np.allclose(got["out"], _block_run(fused.eval(), a)["out"]))


def test_transformer_block_names_its_mlp_layers() -> None:
    names = [n for n, _ in tl.nn.TransformerBlock(4, 2).named_parameters() if n.startswith("mlp.")]
    assert names == ["mlp.fc.weight", "mlp.fc.bias", "mlp.proj.weight", "mlp.proj.bias"]


def test_transformer_block_is_causal() -> None:
    block = tl.nn.TransformerBlock(8, 2).double().eval()
    a = normal(2, 5, 8)
    changed = a.copy()
    changed[:, 3] = normal(2, 8, seed=1)
    with tl.no_grad():
        before, after = block(tl.tensor(a)).numpy(), block(tl.tensor(changed)).numpy()
    np.testing.assert_array_equal(before[:, :3], after[:, :3])
    assert not np.allclose(before[:, 3:], after[:, 3:])


def test_transformer_block_dropout_acts_only_in_training() -> None:
    block = tl.nn.TransformerBlock(8, 2, dropout=0.3).double()
    plain = tl.nn.TransformerBlock(8, 2, dropout=0.0).double()
    plain.load_state_dict(block.state_dict())
    x = tl.tensor(normal(2, 5, 8))
    with tl.no_grad():
        block.eval()
        a, b, reference = block(x).numpy(), block(x).numpy(), plain(x).numpy()
        block.train()
        noisy = block(x).numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(a, reference)
    assert not np.allclose(noisy, reference)


@pytest.mark.parametrize("fused", [True, False])
def test_a_query_that_may_attend_to_nothing_gets_zeros_like_torch(torch, fused: bool) -> None:
    rng = np.random.default_rng(3)
    q, k, v = (rng.standard_normal((2, 3, 4)) for _ in range(3))
    mask = np.array([[False, False, False], [True, False, False], [True, True, True]])
    ours = [tl.tensor(a, requires_grad=True) for a in (q, k, v)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (q, k, v)]
    out = F.scaled_dot_product_attention(*ours, attn_mask=tl.tensor(mask), fused=fused)
    t_out = torch.nn.functional.scaled_dot_product_attention(*theirs, attn_mask=torch.tensor(mask))
    cotangent = rng.standard_normal(out.shape)
    (out * tl.tensor(cotangent)).sum().backward()
    (t_out * torch.tensor(cotangent)).sum().backward()
    assert np.all(out.detach().numpy()[:, 0] == 0)
    np.testing.assert_allclose(out.detach().numpy(), t_out.detach().numpy(), atol=1e-12)
    for a, b in zip(ours, theirs):
        assert np.all(np.isfinite(a.grad.numpy()))
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)
