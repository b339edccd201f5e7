"""The basic layers (Linear, Embedding, LayerNorm, the activations, Dropout), their default
initialization, the L1/L2 penalties and the weight-decay parameter groups.

Each layer is gradchecked in float64 with its parameters, and matched against its PyTorch
twin by copying the weights by name. The losses are in test_losses.py.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import copy_to_torch
from tinyllm import nn
from tinyllm.nn import functional as F

PARITY_ATOL = 1e-12  # float64: the two libraries differ only by rounding


# ----------------------------------------------------------------------------- helpers


def _x(shape: tuple[int, ...], device: str = "cpu", seed: int = 0) -> tl.Tensor:
    data = np.random.default_rng(seed).standard_normal(shape)
    return tl.tensor(data, requires_grad=True, device=device)


# Each case: the tinyllm layer, its torch twin (built from the torch module), and the input shape.
LAYERS: dict[str, tuple[Callable[[], nn.Module], Callable[[Any], Any], tuple[int, ...]]] = {
    "linear": (lambda: nn.Linear(4, 3), lambda t: t.nn.Linear(4, 3), (2, 5, 4)),
    "linear_no_bias": (lambda: nn.Linear(4, 3, bias=False), lambda t: t.nn.Linear(4, 3, bias=False), (5, 4)),
    "layer_norm": (lambda: nn.LayerNorm(6), lambda t: t.nn.LayerNorm(6), (2, 3, 6)),
    "layer_norm_composed": (lambda: nn.LayerNorm(6, fused=False), lambda t: t.nn.LayerNorm(6), (2, 3, 6)),
    "layer_norm_no_affine": (
        lambda: nn.LayerNorm(6, elementwise_affine=False),
        lambda t: t.nn.LayerNorm(6, elementwise_affine=False),
        (4, 6),
    ),
    "layer_norm_no_affine_composed": (
        lambda: nn.LayerNorm(6, elementwise_affine=False, fused=False),
        lambda t: t.nn.LayerNorm(6, elementwise_affine=False),
        (4, 6),
    ),
    "layer_norm_no_bias": (
        lambda: nn.LayerNorm(5, bias=False),
        lambda t: t.nn.LayerNorm(5, bias=False),
        (3, 5),
    ),
    "layer_norm_no_bias_composed": (
        lambda: nn.LayerNorm(5, bias=False, fused=False),
        lambda t: t.nn.LayerNorm(5, bias=False),
        (3, 5),
    ),
    "layer_norm_2d": (lambda: nn.LayerNorm((3, 4)), lambda t: t.nn.LayerNorm((3, 4)), (2, 3, 4)),
    "layer_norm_2d_composed": (
        lambda: nn.LayerNorm((3, 4), fused=False),
        lambda t: t.nn.LayerNorm((3, 4)),
        (2, 3, 4),
    ),
    "layer_norm_eps": (lambda: nn.LayerNorm(4, eps=0.5), lambda t: t.nn.LayerNorm(4, eps=0.5), (3, 4)),
    "gelu": (lambda: nn.GELU(), lambda t: t.nn.GELU(), (3, 7)),
    "gelu_tanh": (lambda: nn.GELU("tanh"), lambda t: t.nn.GELU(approximate="tanh"), (3, 7)),
    "relu": (lambda: nn.ReLU(), lambda t: t.nn.ReLU(), (3, 7)),
    "tanh": (lambda: nn.Tanh(), lambda t: t.nn.Tanh(), (3, 7)),
    "sigmoid": (lambda: nn.Sigmoid(), lambda t: t.nn.Sigmoid(), (3, 7)),
    "dropout_eval": (lambda: nn.Dropout(0.5).eval(), lambda t: t.nn.Dropout(0.5).eval(), (3, 7)),
    "dropout_p0": (lambda: nn.Dropout(0.0), lambda t: t.nn.Dropout(0.0), (3, 7)),
}


def _randomize_affine(layer: nn.Module) -> None:
    """LayerNorm starts at weight 1, bias 0; other values let the checks see them."""
    if not isinstance(layer, nn.LayerNorm):
        return
    rng = np.random.default_rng(1)
    for p in layer.parameters():
        p.data[...] = p.data + rng.standard_normal(p.shape)


# ----------------------------------------------------------------------------- gradcheck and parity


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_passes_gradcheck_with_its_parameters(name: str, device: str) -> None:
    make, _, shape = LAYERS[name]
    layer = make().double().to(device)
    _randomize_affine(layer)
    report = tl.gradcheck(layer, [_x(shape, device)], params=layer, atol=1e-7, rtol=1e-5)
    assert report.passed
    assert len(report.rows) == 1 + len(list(layer.parameters()))


@pytest.mark.parametrize("p", [0.3, 0.8])
def test_dropout_in_training_passes_gradcheck(p: float, device: str) -> None:
    layer = nn.Dropout(p)
    x = _x((4, 6), device)
    report = tl.gradcheck(layer, [x], atol=1e-7, rtol=1e-5)
    assert report.passed


def test_embedding_passes_gradcheck_with_its_weight(device: str) -> None:
    # no padding_idx here: its row is read but, by design, gets no gradient (tested below)
    layer = nn.Embedding(6, 3).double().to(device)
    ids = tl.tensor([[0, 1, 5], [5, 2, 1]], device=device)
    report = tl.gradcheck(layer, [ids], params=layer, atol=1e-7, rtol=1e-5)
    assert report.passed
    assert [r.name for r in report.rows] == ["weight"]


@pytest.mark.parametrize("name", list(LAYERS))
def test_layer_matches_torch_outputs_and_gradients(torch, name: str, device: str) -> None:
    make, make_torch, shape = LAYERS[name]
    ours = make().double().to(device)
    _randomize_affine(ours)
    theirs = make_torch(torch).double()
    copy_to_torch(torch, ours, theirs)
    x = _x(shape, device)
    t_x = torch.tensor(x.detach().numpy(), requires_grad=True)
    u = np.random.default_rng(2).standard_normal(shape[:-1] + (ours(x).shape[-1],))

    y = ours(x)
    (y * tl.tensor(u, device=device)).sum().backward()
    t_y = theirs(t_x)
    (t_y * torch.tensor(u)).sum().backward()

    np.testing.assert_allclose(y.detach().numpy(), t_y.detach().numpy(), rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(x.grad.numpy(), t_x.grad.numpy(), rtol=0, atol=PARITY_ATOL)
    mine, other = dict(ours.named_parameters()), dict(theirs.named_parameters())
    assert sorted(mine) == sorted(other)
    for pname, p in mine.items():
        np.testing.assert_allclose(
            p.grad.numpy(), other[pname].grad.numpy(), rtol=0, atol=PARITY_ATOL, err_msg=pname
        )


@pytest.mark.parametrize("padding_idx", [None, 2, -1])
def test_embedding_matches_torch_outputs_and_weight_gradient(
    torch, padding_idx: int | None, device: str
) -> None:
    ours = nn.Embedding(7, 4, padding_idx=padding_idx).double().to(device)
    theirs = torch.nn.Embedding(7, 4, padding_idx=padding_idx).double()
    copy_to_torch(torch, ours, theirs)
    ids = np.array([[0, 2, 6, 2], [3, 6, 2, 0]])
    u = np.random.default_rng(3).standard_normal((2, 4, 4))

    y = ours(tl.tensor(ids, device=device))
    (y * tl.tensor(u, device=device)).sum().backward()
    t_y = theirs(torch.tensor(ids))
    (t_y * torch.tensor(u)).sum().backward()

    np.testing.assert_allclose(y.detach().numpy(), t_y.detach().numpy(), rtol=0, atol=0)
    np.testing.assert_allclose(ours.weight.grad.numpy(), theirs.weight.grad.numpy(), rtol=0, atol=PARITY_ATOL)


def test_layer_norm_fused_equals_composed_on_values_and_gradients() -> None:
    fused, composed = nn.LayerNorm((2, 5)).double(), nn.LayerNorm((2, 5), fused=False).double()
    _randomize_affine(fused)
    composed.load_state_dict(fused.state_dict())
    grads = []
    for layer in (fused, composed):
        x = _x((3, 2, 5), seed=4)
        y = layer(x)
        (y * y * y).sum().backward()
        grads.append((y.detach().numpy(), x.grad.numpy(), layer.weight.grad.numpy(), layer.bias.grad.numpy()))
    for a, b in zip(*grads):
        np.testing.assert_allclose(a, b, rtol=0, atol=1e-12)


def test_layer_norm_output_has_zero_mean_and_unit_variance_over_normalized_dims() -> None:
    x = tl.tensor(np.random.default_rng(5).normal(3.0, 7.0, (4, 2, 50)))
    y = nn.LayerNorm((2, 50), eps=0.0).double()(x).detach().numpy().reshape(4, -1)
    np.testing.assert_allclose(y.mean(axis=1), 0.0, atol=1e-12)
    np.testing.assert_allclose(y.var(axis=1), 1.0, atol=1e-12)


def test_layer_norm_rejects_input_that_does_not_end_in_normalized_shape() -> None:
    with pytest.raises(ValueError, match=r"normalized_shape \(3, 4\)"):
        nn.LayerNorm((3, 4))(tl.randn(2, 4, 3))


# ----------------------------------------------------------------------------- default initialization


def test_linear_default_init_is_uniform_within_one_over_sqrt_fan_in() -> None:
    fan_in, fan_out = 256, 4096
    layer = nn.Linear(fan_in, fan_out)
    bound = 1 / math.sqrt(fan_in)
    for name, n_std_errors in (("weight", 6), ("bias", 6)):
        w = getattr(layer, name).detach().numpy().astype(np.float64).reshape(-1)
        assert np.abs(w).max() <= bound
        assert np.abs(w).max() > 0.99 * bound  # fills the interval, not a narrower one
        # U(-b, b) has std b / sqrt(3); the sample std's relative standard error is sqrt(0.8 / n) / 2.
        rel_se = math.sqrt(0.8 / w.size) / 2
        assert abs(w.std() / (bound / math.sqrt(3)) - 1) < n_std_errors * rel_se, name
        assert abs(w.mean()) < n_std_errors * bound / math.sqrt(3 * w.size), name


def test_embedding_default_init_is_standard_normal() -> None:
    w = nn.Embedding(1000, 100).weight.detach().numpy().astype(np.float64).reshape(-1)
    n = w.size
    assert abs(w.mean()) < 6 / math.sqrt(n)
    assert abs(w.std() - 1) < 6 / math.sqrt(2 * n)
    within_one = (np.abs(w) < 1).mean()  # 68.27% of N(0, 1) lies within one std
    assert abs(within_one - 0.682689) < 6 * math.sqrt(0.682689 * 0.317311 / n)


def test_embedding_padding_row_starts_at_zero_and_others_do_not() -> None:
    w = nn.Embedding(10, 8, padding_idx=3).weight.detach().numpy()
    assert (w[3] == 0).all()
    assert (np.delete(w, 3, axis=0) != 0).all()
    assert (nn.Embedding(10, 8, padding_idx=-2).weight.detach().numpy()[8] == 0).all()


def test_layer_norm_starts_at_weight_one_and_bias_zero() -> None:
    layer = nn.LayerNorm((2, 3))
    assert layer.weight.shape == layer.bias.shape == (2, 3)
    assert (layer.weight.detach().numpy() == 1).all() and (layer.bias.detach().numpy() == 0).all()
    assert list(dict(nn.LayerNorm(3, elementwise_affine=False).named_parameters())) == []
    assert list(dict(nn.LayerNorm(3, bias=False).named_parameters())) == ["weight"]


def test_same_seed_gives_the_same_initial_weights() -> None:
    tl.manual_seed(7)
    a = nn.Linear(5, 4).weight.detach().numpy()
    tl.manual_seed(7)
    b = nn.Linear(5, 4).weight.detach().numpy()
    np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- Embedding


@pytest.mark.parametrize("bad", [10, 11, -1])
def test_embedding_id_out_of_range_raises_index_error_naming_id_and_vocabulary(bad: int) -> None:
    layer = nn.Embedding(10, 3)
    with pytest.raises(IndexError, match=rf"id {bad}\b.*vocabulary of 10"):
        layer(tl.tensor([0, bad, 2]))


def test_embedding_float_ids_raise_type_error() -> None:
    with pytest.raises(TypeError, match="integers"):
        nn.Embedding(10, 3)(tl.tensor([0.0, 1.0]))


def test_embedding_padding_row_gets_exactly_zero_gradient_even_when_read(torch) -> None:
    weight = np.random.default_rng(6).standard_normal((5, 3))
    weight[1] = 0.5  # a padding row that is not zero, so reading it is visible
    ids = np.array([1, 4, 1, 1, 0])
    u = np.random.default_rng(7).standard_normal((5, 3))
    w = tl.tensor(weight, requires_grad=True)
    y = F.embedding(tl.tensor(ids), w, padding_idx=1)
    (y * tl.tensor(u)).sum().backward()
    t_w = torch.tensor(weight, requires_grad=True)
    t_y = torch.nn.functional.embedding(torch.tensor(ids), t_w, padding_idx=1)
    (t_y * torch.tensor(u)).sum().backward()

    np.testing.assert_array_equal(y.detach().numpy()[0], weight[1])  # the row is read as it is
    assert (w.grad.numpy()[1] == 0).all()
    np.testing.assert_allclose(w.grad.numpy(), t_w.grad.numpy(), rtol=0, atol=PARITY_ATOL)
    np.testing.assert_allclose(w.grad.numpy()[4], u[1], rtol=0, atol=0)


def test_embedding_gradient_sums_over_repeated_ids() -> None:
    layer = nn.Embedding(4, 2).double()
    layer(tl.tensor([2, 2, 2, 0])).sum().backward()
    np.testing.assert_array_equal(layer.weight.grad.numpy(), [[1, 1], [0, 0], [3, 3], [0, 0]])


def test_embedding_output_shape_is_ids_shape_plus_embedding_dim() -> None:
    assert nn.Embedding(9, 5)(tl.tensor(np.zeros((2, 3, 4), dtype=np.int64))).shape == (2, 3, 4, 5)


# ----------------------------------------------------------------------------- Dropout


@pytest.mark.parametrize("p", [0.1, 0.5, 0.9])
def test_dropout_zeroes_a_fraction_p_and_scales_survivors(p: float, device: str) -> None:
    n = 200_000
    x = tl.ones(n, dtype=tl.float64, device=device)
    y = nn.Dropout(p)(x).numpy()
    zeroed = (y == 0).mean()
    assert abs(zeroed - p) < 6 * math.sqrt(p * (1 - p) / n)  # binomial: 6 standard errors
    np.testing.assert_allclose(y[y != 0], 1 / (1 - p), rtol=1e-15)


def test_dropout_preserves_the_mean_of_every_element() -> None:
    p, draws = 0.4, 40_000
    x = np.array([-2.0, -0.5, 0.25, 1.0, 3.0])
    y = F.dropout(tl.tensor(np.tile(x, (draws, 1))), p).numpy()
    # each element is x / (1 - p) with prob 1 - p: variance x^2 p / (1 - p)
    se = np.abs(x) * math.sqrt(p / (1 - p) / draws)
    assert (np.abs(y.mean(axis=0) - x) < 6 * se).all()


def test_dropout_is_the_identity_in_eval_and_with_p_zero() -> None:
    x = tl.randn(4, 5)
    layer = nn.Dropout(0.7)
    layer.eval()
    np.testing.assert_array_equal(layer(x).numpy(), x.numpy())
    np.testing.assert_array_equal(nn.Dropout(0.0)(x).numpy(), x.numpy())
    np.testing.assert_array_equal(F.dropout(x, 0.7, training=False).numpy(), x.numpy())
    layer.train()
    assert (layer(x).numpy() == 0).any()  # and training mode really drops


def test_dropout_with_p_one_gives_zeros_and_zero_gradient() -> None:
    x = _x((3, 4))
    y = nn.Dropout(1.0)(x)
    (y * 3.0).sum().backward()
    assert (y.detach().numpy() == 0).all()
    assert x.grad is not None and (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("p", [-0.1, 1.01, 2.0])
def test_dropout_probability_outside_unit_interval_raises(p: float) -> None:
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        nn.Dropout(p)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        F.dropout(tl.ones(3), p)


def test_dropout_same_seed_gives_the_same_mask_and_the_next_call_another() -> None:
    x = tl.ones(1000)
    tl.manual_seed(3)
    a = F.dropout(x, 0.5).numpy()
    b = F.dropout(x, 0.5).numpy()
    tl.manual_seed(3)
    c = F.dropout(x, 0.5).numpy()
    np.testing.assert_array_equal(a, c)
    assert (a != b).any()


def test_dropout_gradient_is_the_scaled_mask() -> None:
    x = _x((50,))
    y = F.dropout(x, 0.25)
    y.sum().backward()
    kept = y.detach().numpy() != 0
    np.testing.assert_allclose(x.grad.numpy(), np.where(kept, 1 / 0.75, 0.0), rtol=1e-15)


# ----------------------------------------------------------------------------- L1 and L2 penalties


def _weights() -> list[tl.Tensor]:
    rng = np.random.default_rng(8)
    return [tl.tensor(rng.standard_normal(s), requires_grad=True) for s in ((3, 4), (5,), (2, 2, 2))]


def test_l1_penalty_is_the_sum_of_absolute_values_with_gradient_sign() -> None:
    ws = _weights()
    arrays = [w.detach().numpy().copy() for w in ws]
    penalty = F.l1_penalty(ws)
    penalty.backward()
    np.testing.assert_allclose(penalty.item(), sum(np.abs(a).sum() for a in arrays), rtol=1e-14)
    for w, a in zip(ws, arrays):
        np.testing.assert_array_equal(w.grad.numpy(), np.sign(a))


def test_l2_penalty_is_half_the_sum_of_squares_with_gradient_w() -> None:
    ws = _weights()
    arrays = [w.detach().numpy().copy() for w in ws]
    penalty = F.l2_penalty(ws)
    penalty.backward()
    np.testing.assert_allclose(penalty.item(), 0.5 * sum((a**2).sum() for a in arrays), rtol=1e-14)
    for w, a in zip(ws, arrays):
        np.testing.assert_allclose(w.grad.numpy(), a, rtol=1e-15)


def test_penalties_of_a_module_cover_all_its_parameters() -> None:
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2)).double()
    arrays = [p.detach().numpy() for p in model.parameters()]
    assert len(arrays) == 4
    np.testing.assert_allclose(F.l1_penalty(model).item(), sum(np.abs(a).sum() for a in arrays), rtol=1e-14)
    np.testing.assert_allclose(
        F.l2_penalty(model).item(), 0.5 * sum((a**2).sum() for a in arrays), rtol=1e-14
    )


def test_penalty_of_nothing_raises() -> None:
    with pytest.raises(ValueError, match="no parameters"):
        F.l2_penalty([])


def test_loss_plus_l2_penalty_has_gradient_plus_lam_times_w() -> None:
    lam = 0.3
    model = nn.Linear(4, 2).double()
    x, y = tl.tensor(np.random.default_rng(9).standard_normal((6, 4))), tl.zeros(6, 2, dtype=tl.float64)
    F.mse_loss(model(x), y).backward()
    plain = {n: p.grad.numpy().copy() for n, p in model.named_parameters()}
    model.zero_grad()
    (F.mse_loss(model(x), y) + lam * F.l2_penalty(model)).backward()
    for name, p in model.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), plain[name] + lam * p.detach().numpy(), rtol=0, atol=1e-14)


def test_l2_penalty_step_equals_sgd_weight_decay_step() -> None:
    lam, lr = 0.1, 0.5
    x = tl.tensor(np.random.default_rng(10).standard_normal((6, 4)))
    models = [nn.Linear(4, 2).double() for _ in range(2)]
    models[1].load_state_dict(models[0].state_dict())
    (models[0](x).pow(2).mean() + lam * F.l2_penalty(models[0])).backward()
    tl.optim.SGD(models[0].parameters(), lr=lr).step()
    models[1](x).pow(2).mean().backward()
    tl.optim.SGD(models[1].parameters(), lr=lr, weight_decay=lam).step()
    for a, b in zip(models[0].parameters(), models[1].parameters()):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=0, atol=1e-14)


# ----------------------------------------------------------------------------- weight-decay groups


class _Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.norm = nn.LayerNorm(4)
        self.hidden = nn.Linear(4, 8)
        self.head = nn.Linear(8, 3, bias=False)


def test_decay_param_groups_decays_matrices_and_embeddings_only() -> None:
    model = _Net()
    decay, no_decay = nn.utils.decay_param_groups(model, 0.05)
    assert decay["weight_decay"] == 0.05 and no_decay["weight_decay"] == 0.0
    ids = {id(p): n for n, p in model.named_parameters()}
    assert sorted(ids[id(p)] for p in decay["params"]) == ["emb.weight", "head.weight", "hidden.weight"]
    assert sorted(ids[id(p)] for p in no_decay["params"]) == ["hidden.bias", "norm.bias", "norm.weight"]


def test_decay_param_groups_puts_every_parameter_of_a_gpt_in_exactly_one_group() -> None:
    from tinyllm.models import GPT, GPTConfig

    model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8))
    decay, no_decay = nn.utils.decay_param_groups(model, 0.1)
    grouped = [id(p) for p in decay["params"]] + [id(p) for p in no_decay["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters())
    assert len(set(grouped)) == len(grouped)
    names = {id(p): n for n, p in model.named_parameters()}
    assert all(p.ndim == 1 for p in no_decay["params"])
    assert all(names[id(p)].endswith(("bias", "weight")) for p in no_decay["params"])
    assert all(p.ndim == 2 for p in decay["params"])
    assert any(names[id(p)].startswith("wte") for p in decay["params"])
