"""MultiheadAttention, TransformerEncoderLayer and TransformerEncoder: PyTorch's weights load by name, and
outputs, attention weights and gradients agree in float64; masks, shapes, init, gradcheck, errors."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, close, normal, tl_weighted_sum, torch_weighted_sum

N, H, E = 2, 2, 6  # batch, heads, embedding

# ----------------------------------------------------------------------------- helpers


def _randomize_torch(torch: Any, module: Any, seed: int = 3) -> None:
    """Random values in every parameter of a torch module (biases too, which start at zero)."""
    with torch.no_grad():
        for i, p in enumerate(module.parameters()):
            p.copy_(torch.tensor(0.5 * normal(*p.shape, seed=seed + i)))


def _twin(torch: Any, theirs: Any, ours: tl.nn.Module) -> tl.nn.Module:
    """Load the torch module's state dict into ours, by name (strict: the same keys on both sides)."""
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours


def _blocked(L: int, S: int, seed: int = 7) -> np.ndarray:
    """A random bool "may not attend" (L, S) mask that leaves key 0 open to every query."""
    mask = np.random.default_rng(seed).random((L, S)) < 0.4
    mask[:, 0] = False
    return mask


def _padding(S: int) -> np.ndarray:
    """(N, S) bool: the first sequence is full, the second has its last two keys padded."""
    kpm = np.zeros((N, S), dtype=bool)
    kpm[1, -2:] = True
    return kpm


def _as_float(mask: np.ndarray, seed: int = 11) -> np.ndarray:
    """The same blocking as an additive float mask, with random finite values where attention is allowed."""
    return np.where(mask, -np.inf, 0.3 * normal(*mask.shape, seed=seed))


# ----------------------------------------------------------------------------- MultiheadAttention

MHA_CASES = [
    pytest.param({}, id="self"),
    pytest.param({"batch_first": True}, id="self-batch-first"),
    pytest.param({"L": 3, "S": 5}, id="cross"),
    pytest.param({"L": 3, "S": 5, "batch_first": True}, id="cross-batch-first"),
    pytest.param({"L": 3, "S": 5, "kdim": 4, "vdim": 7}, id="kdim-vdim"),
    pytest.param({"L": 3, "S": 5, "kdim": 4, "vdim": 7, "batch_first": True}, id="kdim-vdim-batch-first"),
    pytest.param({"bias": False}, id="no-bias"),
    pytest.param({"attn_mask": "bool"}, id="bool-attn-mask"),
    pytest.param({"L": 3, "S": 5, "attn_mask": "float"}, id="float-attn-mask"),
    pytest.param({"L": 3, "S": 5, "attn_mask": "bool3d"}, id="bool-attn-mask-per-head"),
    pytest.param({"attn_mask": "float3d", "batch_first": True}, id="float-attn-mask-per-head"),
    pytest.param({"L": 3, "S": 5, "kpm": "bool"}, id="bool-key-padding"),
    pytest.param({"kpm": "float", "batch_first": True}, id="float-key-padding"),
    pytest.param({"attn_mask": "bool", "kpm": "bool"}, id="bool-mask-and-padding"),
    pytest.param(
        {"attn_mask": "float", "kpm": "bool"},
        id="float-mask-bool-padding",
        marks=pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask"),  # torch deprecates it
    ),
    pytest.param({"attn_mask": "causal", "is_causal": True}, id="is-causal"),
    pytest.param({"attn_mask": "causal", "is_causal": True, "kpm": "bool"}, id="is-causal-with-padding"),
    pytest.param({"need_weights": False}, id="no-weights"),
    pytest.param({"need_weights": False, "attn_mask": "causal", "is_causal": True}, id="no-weights-causal"),
    pytest.param({"average_attn_weights": False, "kpm": "bool"}, id="per-head-weights"),
]


def _mha_inputs(case: dict[str, Any]) -> tuple[list[np.ndarray], dict[str, Any]]:
    """query, key, value arrays in the case's layout, and the forward's keyword arguments (masks as arrays)."""
    L, S = case.get("L", 4), case.get("S", case.get("L", 4))
    kdim, vdim = case.get("kdim", E), case.get("vdim", E)
    shapes = [(N, L, E), (N, S, kdim), (N, S, vdim)]
    if not case.get("batch_first"):
        shapes = [(s[1], s[0], s[2]) for s in shapes]
    arrays = [normal(*shape, seed=i) for i, shape in enumerate(shapes)]
    if not case.get("L") and not case.get("kdim"):  # self-attention: one tensor three times
        arrays = [arrays[0]] * 3
    per_head = np.stack([_blocked(L, S, seed=20 + i) for i in range(N * H)])
    attn = {
        None: None,
        "bool": _blocked(L, S),
        "float": _as_float(_blocked(L, S)),
        "bool3d": per_head,
        "float3d": _as_float(per_head),
        "causal": np.triu(np.ones((L, S), dtype=bool), k=1),
    }[case.get("attn_mask")]
    kpm = {None: None, "bool": _padding(S), "float": _as_float(_padding(S))}[case.get("kpm")]
    kwargs = {"attn_mask": attn, "key_padding_mask": kpm}
    for name in ("is_causal", "need_weights", "average_attn_weights"):
        if name in case:
            kwargs[name] = case[name]
    return arrays, kwargs


@pytest.mark.parametrize("case", MHA_CASES)
def test_multihead_attention_matches_torch(torch, case: dict[str, Any]) -> None:
    ctor = {k: case[k] for k in ("batch_first", "kdim", "vdim", "bias") if k in case}
    theirs = torch.nn.MultiheadAttention(E, H, **ctor).double()
    _randomize_torch(torch, theirs)
    ours = _twin(torch, theirs, tl.nn.MultiheadAttention(E, H, **ctor).double())
    arrays, kwargs = _mha_inputs(case)

    ins = [tl.tensor(a, requires_grad=True) for a in arrays]
    t_ins = [torch.tensor(a, requires_grad=True) for a in arrays]
    out, weights = ours(*ins, **{k: (tl.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()})
    t_out, t_weights = theirs(
        *t_ins, **{k: (torch.tensor(v) if isinstance(v, np.ndarray) else v) for k, v in kwargs.items()}
    )

    assert out.shape == tuple(t_out.shape)
    close(out, t_out, 1e-12, "output")
    if t_weights is None:
        assert weights is None
    else:
        assert weights.shape == tuple(t_weights.shape)
        close(weights, t_weights, 1e-12, "attention weights")
    tl_weighted_sum([out] + ([] if weights is None else [weights])).backward()
    torch_weighted_sum(torch, [t_out] + ([] if t_weights is None else [t_weights])).backward()
    assert_grads_match(ours, theirs, 1e-11)
    for i, (x, tx) in enumerate(zip(ins, t_ins, strict=True)):
        close(x.grad, tx.grad, 1e-11, f"input {i} grad")


@pytest.mark.parametrize("average", [True, False])
def test_multihead_attention_takes_one_unbatched_sequence_as_torch(torch, average: bool) -> None:
    theirs = torch.nn.MultiheadAttention(E, H, kdim=4, vdim=3).double()
    _randomize_torch(torch, theirs)
    ours = _twin(torch, theirs, tl.nn.MultiheadAttention(E, H, kdim=4, vdim=3).double())
    q, k, v = normal(3, E, seed=0), normal(5, 4, seed=1), normal(5, 3, seed=2)
    kpm = np.array([False, False, False, True, True])
    attn = np.stack([_blocked(3, 5, seed=s) for s in range(H)])  # (H, L, S)

    out, weights = ours(tl.tensor(q), tl.tensor(k), tl.tensor(v), key_padding_mask=tl.tensor(kpm),
                        attn_mask=tl.tensor(attn), average_attn_weights=average)  # fmt: skip
    t_out, t_weights = theirs(torch.tensor(q), torch.tensor(k), torch.tensor(v), key_padding_mask=torch.tensor(kpm),
                              attn_mask=torch.tensor(attn), average_attn_weights=average)  # fmt: skip

    assert out.shape == (3, E) and weights.shape == ((3, 5) if average else (H, 3, 5))
    close(out, t_out, 1e-12, "output")
    close(weights, t_weights, 1e-12, "weights")


def test_multihead_attention_weights_are_zero_on_blocked_keys_and_rows_sum_to_one() -> None:
    mha = tl.nn.MultiheadAttention(E, H, batch_first=True).double()
    x = tl.tensor(normal(N, 4, E))
    blocked = _blocked(4, 4)
    _, weights = mha(x, x, x, attn_mask=tl.tensor(blocked), key_padding_mask=tl.tensor(_padding(4)),
                     average_attn_weights=False)  # fmt: skip
    w = weights.detach().numpy()
    hidden = blocked[None, None] | _padding(4)[:, None, None, :]  # (N, 1, L, S) -> every head
    assert np.all(w[np.broadcast_to(hidden, w.shape)] == 0)
    np.testing.assert_allclose(w.sum(-1), 1.0, rtol=0, atol=1e-12)


def test_multihead_attention_initializes_as_torch_does() -> None:
    mha = tl.nn.MultiheadAttention(64, 4)
    bound = math.sqrt(6 / (64 + 3 * 64))  # Xavier-uniform on (3E, E): fan_in E, fan_out 3E
    w = mha.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.95 * bound
    assert not mha.in_proj_bias.detach().numpy().any() and not mha.out_proj.bias.detach().numpy().any()
    separate = tl.nn.MultiheadAttention(64, 4, kdim=32, vdim=16)
    assert separate.in_proj_weight is None and "in_proj_weight" not in separate.state_dict()
    for name, vdim in (("q_proj_weight", 64), ("k_proj_weight", 32), ("v_proj_weight", 16)):
        w = getattr(separate, name).detach().numpy()
        assert w.shape == (64, vdim)
        assert np.abs(w).max() <= math.sqrt(6 / (64 + vdim))


def test_multihead_attention_dropout_acts_in_training_only() -> None:
    mha = tl.nn.MultiheadAttention(E, H, dropout=0.5).double()
    plain = tl.nn.MultiheadAttention(E, H).double()
    plain.load_state_dict(mha.state_dict())
    x = tl.tensor(normal(4, N, E))
    expected = plain(x, x, x)[0].detach().numpy()
    assert not np.allclose(mha(x, x, x)[0].detach().numpy(), expected)
    mha.eval()
    np.testing.assert_allclose(mha(x, x, x)[0].detach().numpy(), expected, rtol=0, atol=0)


def test_multihead_attention_passes_gradcheck() -> None:
    mha = tl.nn.MultiheadAttention(4, 2, kdim=3, vdim=5, batch_first=True).double()
    for p in mha.parameters():
        p.data[...] += 0.1 * normal(*p.shape, seed=p.numel())  # nonzero biases
    q = tl.tensor(normal(2, 3, 4, seed=0), requires_grad=True)
    k = tl.tensor(normal(2, 4, 3, seed=1), requires_grad=True)
    v = tl.tensor(normal(2, 4, 5, seed=2), requires_grad=True)
    attn = tl.tensor(_as_float(_blocked(3, 4)))
    kpm = tl.tensor(np.array([[False] * 4, [False, False, False, True]]))
    report = tl.gradcheck(lambda q, k, v: mha(q, k, v, key_padding_mask=kpm, attn_mask=attn), [q, k, v], params=mha)
    assert report.passed


# ----------------------------------------------------------------------------- TransformerEncoderLayer


def _layer_pair(torch: Any, activation: Any = "relu", t_activation: Any = "relu",
                **kw: Any) -> tuple[Any, tl.nn.Module]:  # fmt: skip
    theirs = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, activation=t_activation, **kw)
    theirs = theirs.double()
    _randomize_torch(torch, theirs)
    ours = tl.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, activation=activation, **kw)
    return theirs, _twin(torch, theirs, ours.double())


def _encoder_inputs(torch: Any, batch_first: bool, device: str = "cpu", S: int = 5) -> tuple[list[Any], list[Any]]:
    """src with requires_grad, a float attention mask and a float padding mask, for both libraries."""
    src = normal(*((N, S, E) if batch_first else (S, N, E)))
    mask, kpm = _as_float(_blocked(S, S)), _as_float(_padding(S), seed=12)
    ours = [
        tl.tensor(src, requires_grad=True, device=device),
        tl.tensor(mask, device=device),
        tl.tensor(kpm, device=device),
    ]
    theirs = [torch.tensor(src, requires_grad=True), torch.tensor(mask), torch.tensor(kpm)]
    return ours, theirs


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("activation", ["relu", "gelu", "gelu-module"])
def test_transformer_encoder_layer_matches_torch(torch, activation: str, norm_first: bool, batch_first: bool) -> None:
    acts = ("relu", "relu") if activation == "relu" else ("gelu", "gelu")
    if activation == "gelu-module":  # a callable, here a module with no parameters
        acts = (tl.nn.GELU(), torch.nn.GELU())
    theirs, ours = _layer_pair(torch, acts[0], acts[1], norm_first=norm_first, batch_first=batch_first)
    (src, mask, kpm), (t_src, t_mask, t_kpm) = _encoder_inputs(torch, batch_first)

    out = ours(src, src_mask=mask, src_key_padding_mask=kpm)
    t_out = theirs(t_src, src_mask=t_mask, src_key_padding_mask=t_kpm)
    tl_weighted_sum([out]).backward()
    torch_weighted_sum(torch, [t_out]).backward()

    close(out, t_out, 1e-12, "output")
    assert_grads_match(ours, theirs, 1e-11)
    close(src.grad, t_src.grad, 1e-11, "src grad")


def test_transformer_encoder_layer_with_a_causal_mask_and_is_causal_matches_torch(torch) -> None:
    theirs, ours = _layer_pair(torch, "gelu", "gelu", batch_first=True, norm_first=True)
    src = normal(N, 5, E)
    causal = np.triu(np.ones((5, 5), dtype=bool), k=1)
    out = ours(tl.tensor(src), src_mask=tl.tensor(causal), is_causal=True)
    t_out = theirs(torch.tensor(src), src_mask=torch.tensor(causal), is_causal=True)
    close(out, t_out, 1e-12, "output")
    # causal: changing the last position leaves every earlier output unchanged
    src2 = src.copy()
    src2[:, -1] += 1.0
    out2 = ours(tl.tensor(src2), src_mask=tl.tensor(causal), is_causal=True)
    np.testing.assert_allclose(out2.detach().numpy()[:, :-1], out.detach().numpy()[:, :-1], rtol=0, atol=1e-12)


def test_transformer_encoder_layer_takes_one_unbatched_sequence_as_torch(torch) -> None:
    theirs, ours = _layer_pair(torch, norm_first=True)
    src, mask = normal(5, E), _blocked(5, 5)
    out = ours(tl.tensor(src), src_mask=tl.tensor(mask), src_key_padding_mask=tl.tensor(_padding(5)[1]))
    t_out = theirs(torch.tensor(src), src_mask=torch.tensor(mask), src_key_padding_mask=torch.tensor(_padding(5)[1]))
    assert out.shape == (5, E)
    close(out, t_out, 1e-12, "output")


def test_transformer_encoder_layer_has_torch_submodule_names() -> None:
    layer = tl.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, bias=False)
    names = [name for name, _ in layer.named_children()]
    assert names == ["self_attn", "linear1", "dropout", "linear2", "norm1", "norm2", "dropout1", "dropout2"]
    assert layer.linear1.bias is None and layer.norm1.bias is None and layer.self_attn.in_proj_bias is None


# ----------------------------------------------------------------------------- TransformerEncoder


@pytest.mark.parametrize("batch_first", [False, True])
def test_transformer_encoder_of_two_layers_with_final_norm_matches_torch(torch, device: str, batch_first: bool) -> None:
    t_layer = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, batch_first=batch_first)
    theirs = torch.nn.TransformerEncoder(t_layer, 2, norm=torch.nn.LayerNorm(E), enable_nested_tensor=False)
    theirs = theirs.double()
    _randomize_torch(torch, theirs)
    layer = tl.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, batch_first=batch_first)
    ours = _twin(torch, theirs, tl.nn.TransformerEncoder(layer, 2, norm=tl.nn.LayerNorm(E)).double()).to(device)
    (src, mask, kpm), (t_src, t_mask, t_kpm) = _encoder_inputs(torch, batch_first, device)

    out = ours(src, mask=mask, src_key_padding_mask=kpm)
    t_out = theirs(t_src, mask=t_mask, src_key_padding_mask=t_kpm)
    tl_weighted_sum([out]).backward()
    torch_weighted_sum(torch, [t_out]).backward()

    close(out, t_out, 1e-12, "output")
    assert_grads_match(ours, theirs, 1e-11)
    close(src.grad, t_src.grad, 1e-11, "src grad")


@pytest.mark.filterwarnings("ignore:The PyTorch API of nested tensors is in prototype stage")
def test_transformer_encoder_computes_padded_positions_where_torch_inference_path_gives_zeros(torch) -> None:
    """The documented difference: PyTorch's nested-tensor path (eval, no grad) zeroes padded positions."""
    t_layer = torch.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, batch_first=True)
    theirs = torch.nn.TransformerEncoder(t_layer, 2).double().eval()
    _randomize_torch(torch, theirs)
    layer = tl.nn.TransformerEncoderLayer(E, H, dim_feedforward=10, dropout=0.0, batch_first=True)
    ours = _twin(torch, theirs, tl.nn.TransformerEncoder(layer, 2).double()).eval()
    src, kpm = normal(N, 5, E), _padding(5)

    out = ours(tl.tensor(src), src_key_padding_mask=tl.tensor(kpm)).detach().numpy()
    with torch.no_grad():
        t_fast = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(kpm)).numpy()
    t_slow = theirs(torch.tensor(src), src_key_padding_mask=torch.tensor(kpm)).detach().numpy()

    assert np.all(t_fast[kpm] == 0) and np.all(out[kpm] != 0)
    np.testing.assert_allclose(out[~kpm], t_fast[~kpm], rtol=0, atol=1e-10)
    np.testing.assert_allclose(out, t_slow, rtol=0, atol=1e-12)


def test_transformer_encoder_layers_are_independent_copies() -> None:
    layer = tl.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16)
    encoder = tl.nn.TransformerEncoder(layer, 3)
    assert len(encoder.layers) == 3 and encoder.num_layers == 3 and encoder.norm is None
    weights = [encoder.layers[i].linear1.weight for i in range(3)] + [layer.linear1.weight]
    assert len({id(w) for w in weights}) == 4
    copied, original = encoder.layers[2].linear1.weight, layer.linear1.weight
    np.testing.assert_array_equal(copied.detach().numpy(), original.detach().numpy())
    assert encoder.num_parameters() == 3 * layer.num_parameters()


def _small_encoder() -> tl.nn.TransformerEncoder:
    layer = tl.nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, norm_first=True)
    return tl.nn.TransformerEncoder(layer, 2, norm=tl.nn.LayerNorm(8))


def test_transformer_encoder_survives_a_save_and_load_round_trip(tmp_path: Any) -> None:
    tl.manual_seed(1)
    saved = _small_encoder()
    tl.save(saved.state_dict(), tmp_path / "encoder.tl")
    tl.manual_seed(2)
    loaded = _small_encoder()
    x = tl.randn(5, 3, 8)
    assert not np.allclose(loaded(x).detach().numpy(), saved(x).detach().numpy())
    loaded.load_state_dict(tl.load(tmp_path / "encoder.tl"))
    np.testing.assert_array_equal(loaded(x).detach().numpy(), saved(x).detach().numpy())


def test_transformer_encoder_and_layer_pass_gradcheck() -> None:
    layer = tl.nn.TransformerEncoderLayer(4, 2, dim_feedforward=6, dropout=0.0, activation="gelu", batch_first=True)
    encoder = tl.nn.TransformerEncoder(layer, 2, norm=tl.nn.LayerNorm(4)).double()
    x = tl.tensor(normal(2, 3, 4), requires_grad=True)
    kpm = tl.tensor(np.array([[False] * 3, [False, False, True]]))
    assert tl.gradcheck(lambda x: encoder(x, src_key_padding_mask=kpm), [x], params=encoder).passed


# ----------------------------------------------------------------------------- errors


def test_multihead_attention_rejects_bad_construction() -> None:
    with pytest.raises(ValueError, match="embed_dim 6 is not divisible by num_heads 4"):
        tl.nn.MultiheadAttention(6, 4)
    with pytest.raises(NotImplementedError, match="add_bias_kv"):
        tl.nn.MultiheadAttention(6, 2, add_bias_kv=True)
    with pytest.raises(NotImplementedError, match="add_zero_attn"):
        tl.nn.MultiheadAttention(6, 2, add_zero_attn=True)
    with pytest.raises(ValueError, match="activation must be 'relu', 'gelu' or a callable, not 'tanh'"):
        tl.nn.TransformerEncoderLayer(6, 2, activation="tanh")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"attn_mask": np.zeros((4, 5), dtype=bool)}, r"attn_mask has shape \(4, 5\); expected \(L, S\) = \(4, 4\)"),
        ({"attn_mask": np.zeros((3, 4, 4), dtype=bool)}, r"or \(N \* num_heads, L, S\) = \(4, 4, 4\)"),
        ({"key_padding_mask": np.zeros((4, 2), dtype=bool)}, r"key_padding_mask has shape \(4, 2\); expected"),
        ({"key_padding_mask": np.zeros((2, 4), dtype=np.int64)}, "key_padding_mask must be bool or floating"),
        ({"is_causal": True}, "is_causal is a hint that attn_mask is causal and needs that attn_mask"),
    ],
)
def test_multihead_attention_rejects_bad_masks(kwargs: dict[str, Any], message: str) -> None:
    mha = tl.nn.MultiheadAttention(E, H)
    x = tl.randn(4, N, E)
    error = TypeError if "bool or floating" in message else ValueError
    with pytest.raises(error, match=message):
        mha(x, x, x, **kwargs)


def test_multihead_attention_rejects_inputs_that_do_not_fit() -> None:
    mha = tl.nn.MultiheadAttention(E, H, kdim=4)
    q, k = tl.randn(3, N, E), tl.randn(5, N, 4)
    with pytest.raises(ValueError, match=r"query of shape \(3, 2, 5\) should end in size 6"):
        mha(tl.randn(3, N, 5), k, tl.randn(5, N, E))
    with pytest.raises(ValueError, match=r"key of shape \(5, 2, 6\) should end in size 4"):
        mha(q, tl.randn(5, N, E), tl.randn(5, N, E))
    with pytest.raises(ValueError, match="differ in batch or length"):
        mha(q, k, tl.randn(6, N, E))
    with pytest.raises(ValueError, match="differ in batch size"):
        mha(q, tl.randn(5, 3, 4), tl.randn(5, 3, E))
    with pytest.raises(ValueError, match="all be 3-D .batched. or all 2-D"):
        mha(tl.randn(3, E), k, tl.randn(5, N, E))
    with pytest.raises(ValueError, match=r"unbatched key_padding_mask has shape \(4,\); expected \(S,\) = \(5,\)"):
        mha(tl.randn(3, E), tl.randn(5, 4), tl.randn(5, E), key_padding_mask=np.zeros(4, dtype=bool))
