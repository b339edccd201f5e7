"""Module, Parameter, containers, state dicts, repr, and tl.save / tl.load checkpoints."""

from __future__ import annotations

import os
import re

import numpy as np
import pytest

import tinyllm as tl
import tinyllm.serialization
from tinyllm import nn


class TwoLayer(nn.Module):
    """x: (B, 3) -> (B, 2); its own parameter ``scale`` is defined last, after two sub-modules."""

    def __init__(self) -> None:
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2, bias=False)
        self.scale = nn.Parameter(tl.ones(2))

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return self.fc2(self.act(self.fc1(x))) * self.scale


class Nested(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.encoder = TwoLayer()
        self.drop = nn.Dropout(0.5)
        self.heads = nn.ModuleList([nn.Linear(2, 2), nn.Sequential(nn.Dropout(0.1), nn.Linear(2, 1))])

    def forward(self, x: tl.Tensor) -> tl.Tensor:
        h = self.drop(self.encoder(x))
        return self.heads[1](self.heads[0](h))


class AddOne(nn.Module):
    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x + 1


class Double(nn.Module):
    def forward(self, x: tl.Tensor) -> tl.Tensor:
        return x * 2


def _names(pairs) -> list[str]:
    return [name for name, _ in pairs]


def _x(*shape: int) -> tl.Tensor:
    return tl.tensor(np.random.default_rng(0).standard_normal(shape).astype(np.float32))


# --- Parameter and registration


def test_parameter_is_a_leaf_that_requires_grad_and_shares_a_tensors_data() -> None:
    t = tl.tensor([1.0, 2.0])
    p = nn.Parameter(t)
    assert isinstance(p, tl.Tensor) and p.requires_grad and p.is_leaf
    assert p.data is t.data
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    assert repr(p).startswith("Parameter containing:\ntensor([1., 2.]")


def test_assigning_parameters_and_modules_registers_them_and_plain_values_not() -> None:
    m = TwoLayer()
    m.note = "a plain attribute"
    m.cache = tl.zeros(3)  # a plain Tensor is not a parameter
    assert _names(m.named_parameters()) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    assert _names(m.named_children()) == ["fc1", "act", "fc2"]
    assert m.fc2.bias is None and "fc2.bias" not in m.state_dict()
    assert m.note == "a plain attribute" and m.cache.shape == (3,)


def test_named_parameters_use_dotted_names_in_torchs_order(torch) -> None:
    class Theirs(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1 = torch.nn.Linear(3, 4)
            self.act = torch.nn.ReLU()
            self.fc2 = torch.nn.Linear(4, 2, bias=False)
            self.scale = torch.nn.Parameter(torch.ones(2))

    ours, theirs = TwoLayer(), Theirs()
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters())
    assert [tuple(p.shape) for p in ours.parameters()] == [tuple(p.shape) for p in theirs.parameters()]


def test_named_parameters_of_a_nested_model_carry_the_full_path() -> None:
    assert _names(Nested().named_parameters()) == [
        "encoder.scale", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight",
        "heads.0.weight", "heads.0.bias", "heads.1.1.weight", "heads.1.1.bias",
    ]  # fmt: skip
    assert _names(Nested().named_parameters(recurse=False)) == []


def test_tied_weights_appear_once_in_parameters_and_are_counted_once() -> None:
    m = nn.Sequential(nn.Linear(3, 3, bias=False), nn.Linear(3, 3, bias=False))
    m[1].weight = m[0].weight
    assert _names(m.named_parameters()) == ["0.weight"]
    assert m.num_parameters() == 9
    sd = m.state_dict()  # as in PyTorch, the state dict names a tied weight under both paths
    assert list(sd) == ["0.weight", "1.weight"]
    assert sd["0.weight"].data is sd["1.weight"].data


def test_a_submodule_used_twice_is_in_the_state_dict_under_both_names_like_torch(torch) -> None:
    lin = nn.Linear(2, 2)
    ours = nn.Sequential(lin, nn.ReLU(), lin)
    tlin = torch.nn.Linear(2, 2)
    theirs = torch.nn.Sequential(tlin, torch.nn.ReLU(), tlin)
    assert (
        list(ours.state_dict()) == list(theirs.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    )
    assert _names(ours.named_parameters()) == _names(theirs.named_parameters()) == ["0.weight", "0.bias"]
    ours.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})  # strict: no unexpected keys
    np.testing.assert_array_equal(lin.weight.data, tlin.weight.detach().numpy())


def test_children_are_direct_and_modules_walk_the_tree_once() -> None:
    m = Nested()
    shared = nn.Linear(1, 1)
    m.heads.append(shared)
    m.extra = shared
    assert _names(m.named_children()) == ["encoder", "drop", "heads", "extra"]
    assert list(m.children()) == [m.encoder, m.drop, m.heads, shared]
    assert _names(m.named_modules()) == [
        "", "encoder", "encoder.fc1", "encoder.act", "encoder.fc2", "drop",
        "heads", "heads.0", "heads.1", "heads.1.0", "heads.1.1", "heads.2",
    ]  # fmt: skip
    modules = list(m.modules())
    assert modules[0] is m and len(modules) == len({id(x) for x in modules}) == 12


def test_train_and_eval_reach_every_submodule() -> None:
    m = Nested()
    assert all(x.training for x in m.modules())
    assert m.eval() is m
    assert [x.training for x in m.modules()] == [False] * 11
    x = _x(8, 2)
    np.testing.assert_array_equal(m.drop(x).data, x.data)  # dropout is the identity in eval
    assert m.train() is m and all(x.training for x in m.modules())
    m.train(False)
    assert not any(x.training for x in m.modules())


def test_zero_grad_sets_gradients_to_none_by_default() -> None:
    m = TwoLayer()
    m(_x(5, 3)).sum().backward()
    assert all(p.grad is not None for p in m.parameters())
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())


def test_zero_grad_without_set_to_none_zeroes_the_same_gradient_tensors() -> None:
    m = TwoLayer()
    m(_x(5, 3)).sum().backward()
    grads = [p.grad for p in m.parameters()]
    assert any(np.abs(g.data).sum() > 0 for g in grads)
    m.zero_grad(set_to_none=False)
    for p, g in zip(m.parameters(), grads):
        assert p.grad is g
        np.testing.assert_array_equal(g.data, np.zeros(p.shape, dtype=np.float32))


def test_requires_grad_false_freezes_a_submodule() -> None:
    m = TwoLayer()
    assert m.fc1.requires_grad_(False) is m.fc1
    m(_x(5, 3)).sum().backward()
    assert m.fc1.weight.grad is None and m.fc1.bias.grad is None
    assert m.fc2.weight.grad is not None and m.scale.grad is not None
    m.requires_grad_(True)
    assert all(p.requires_grad for p in m.parameters())


def test_assigning_a_plain_tensor_to_a_parameter_raises_type_error_naming_it() -> None:
    lin = nn.Linear(3, 4)
    weight = lin.weight
    with pytest.raises(TypeError, match=r"'weight'.*Linear"):
        lin.weight = tl.zeros(4, 3)
    assert lin.weight is weight and _names(lin.named_parameters()) == ["weight", "bias"]
    lin.bias = None  # None unsets a parameter, as in PyTorch
    assert _names(lin.named_parameters()) == ["weight"] and lin.bias is None


def test_assigning_a_non_module_to_a_submodule_name_raises_type_error_naming_it() -> None:
    m = TwoLayer()
    with pytest.raises(TypeError, match="'fc1'"):
        m.fc1 = "not a module"
    assert isinstance(m.fc1, nn.Linear)


def test_register_parameter_rejects_a_plain_tensor() -> None:
    m = nn.Module()
    with pytest.raises(TypeError, match="'w'.*Parameter"):
        m.register_parameter("w", tl.zeros(2))
    m.register_parameter("w", nn.Parameter(tl.zeros(2)))
    m.register_parameter("b", None)
    assert _names(m.named_parameters()) == ["w"] and m.b is None


def test_setting_attributes_before_super_init_raises() -> None:
    class Early(nn.Module):
        def __init__(self) -> None:
            self.fc = nn.Linear(2, 2)
            super().__init__()

    with pytest.raises(AttributeError, match=r"super\(\).__init__\(\)"):
        Early()


def test_persistent_buffers_are_in_the_state_dict_and_non_persistent_ones_are_not() -> None:
    m = TwoLayer()
    m.register_buffer("steps", tl.tensor([3]))
    m.fc1.register_buffer("running", tl.zeros(4))
    m.register_buffer("mask", tl.ones(2), persistent=False)
    assert _names(m.named_buffers()) == ["steps", "mask", "fc1.running"]
    assert list(m.state_dict()) == ["scale", "steps", "fc1.weight", "fc1.bias", "fc1.running", "fc2.weight"]
    assert _names(m.named_parameters()) == ["scale", "fc1.weight", "fc1.bias", "fc2.weight"]
    m.steps = tl.tensor([7])  # reassigning keeps the registration
    assert m.state_dict()["steps"].item() == 7
    with pytest.raises(TypeError, match="'steps'"):
        m.steps = 7


def test_double_and_float_keep_the_same_parameter_objects_and_convert_their_data() -> None:
    m = TwoLayer()
    m.register_buffer("steps", tl.tensor([3]))
    m(_x(2, 3)).sum().backward()
    params = list(m.parameters())
    before = [p.data.copy() for p in params]
    assert m.double() is m
    assert list(m.parameters()) == params and all(a is b for a, b in zip(m.parameters(), params))
    for p, b in zip(params, before):
        assert p.dtype == np.float64 and p.grad.dtype == np.float64
        np.testing.assert_array_equal(p.data, b.astype(np.float64))
    assert m.steps.dtype == np.int64  # integer buffers are left alone
    assert m(_x(2, 3).double()).dtype == np.float64
    m.float()
    assert all(p.dtype == np.float32 for p in params)
    for p, b in zip(params, before):
        np.testing.assert_array_equal(p.data, b)


def test_to_an_integer_dtype_raises_type_error() -> None:
    m = TwoLayer()
    with pytest.raises(TypeError, match="floating"):
        m.to(tl.int64)
    assert all(p.dtype == np.float32 for p in m.parameters())


def test_to_a_device_moves_parameters_and_buffers_in_place(device: str) -> None:
    m = TwoLayer()
    m.register_buffer("steps", tl.tensor([3]))
    params = list(m.parameters())
    assert m.to(device) is m
    assert all(a is b for a, b in zip(m.parameters(), params))
    assert {t.device.type for t in [*m.parameters(), *m.buffers()]} == {device}
    assert m.to("cpu").cpu() is m
    assert {t.device.type for t in [*m.parameters(), *m.buffers()]} == {"cpu"}


# --- state dicts


def test_state_dict_names_nested_parameters_with_dots() -> None:
    assert list(Nested().state_dict()) == [
        "encoder.scale", "encoder.fc1.weight", "encoder.fc1.bias", "encoder.fc2.weight",
        "heads.0.weight", "heads.0.bias", "heads.1.1.weight", "heads.1.1.bias",
    ]  # fmt: skip


def test_state_dict_values_are_detached_and_share_memory_with_the_parameters() -> None:
    m = TwoLayer()
    sd = m.state_dict()
    v = sd["fc1.weight"]
    assert v is not m.fc1.weight and not v.requires_grad and v.grad_fn is None
    v.data[0, 0] = 42.0
    assert m.fc1.weight.data[0, 0] == 42.0


def test_state_dict_keys_and_shapes_match_torch_sequential(torch) -> None:
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    assert {k: v.shape for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()
    }
    assert list(ours.state_dict()) == list(theirs.state_dict())


def test_loading_torchs_state_dict_gives_torchs_outputs(torch) -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.ReLU(), torch.nn.Linear(4, 2))
    ours = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    ours.load_state_dict(theirs.state_dict())
    x = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(tl.tensor(x)).data, expected, rtol=1e-6, atol=1e-6)


def test_load_state_dict_copies_values_into_the_same_parameter_objects() -> None:
    source, target = TwoLayer(), TwoLayer()
    params = list(target.parameters())
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert all(a is b for a, b in zip(target.parameters(), params))
    for p, q in zip(target.parameters(), source.parameters()):
        assert p.data is not q.data
        np.testing.assert_array_equal(p.data, q.data)
    source.fc1.weight.data[...] = 5.0  # a copy, not an alias
    assert not np.any(target.fc1.weight.data == 5.0)


def test_load_state_dict_converts_dtype_to_the_models() -> None:
    m = TwoLayer()
    rng = np.random.default_rng(2)
    state = {k: rng.standard_normal(v.shape) for k, v in m.state_dict().items()}  # float64 arrays
    m.load_state_dict(state)
    for k, p in m.named_parameters():
        assert p.dtype == np.float32
        np.testing.assert_array_equal(p.data, state[k].astype(np.float32))


def test_strict_load_error_lists_missing_unexpected_keys_and_size_mismatches() -> None:
    m = TwoLayer()
    before = {k: v.data.copy() for k, v in m.state_dict().items()}
    state = {k: v.data for k, v in TwoLayer().state_dict().items()}
    del state["fc2.weight"]
    state["fc3.weight"] = np.zeros((2, 2), dtype=np.float32)
    state["fc1.weight"] = np.zeros((5, 3), dtype=np.float32)
    with pytest.raises(RuntimeError) as info:
        m.load_state_dict(state)
    message = str(info.value)
    assert "TwoLayer" in message
    assert "missing key(s): fc2.weight" in message
    assert "unexpected key(s): fc3.weight" in message
    assert "size mismatch for fc1.weight" in message and "(5, 3)" in message and "(4, 3)" in message
    for k, v in m.state_dict().items():  # nothing was loaded
        np.testing.assert_array_equal(v.data, before[k])


def test_non_strict_load_returns_missing_and_unexpected_keys() -> None:
    m, source = TwoLayer(), TwoLayer()
    state = dict(source.state_dict())
    del state["scale"], state["fc2.weight"]
    state["extra.bias"] = np.zeros(3, dtype=np.float32)
    missing, unexpected = m.load_state_dict(state, strict=False)
    assert missing == ["scale", "fc2.weight"] and unexpected == ["extra.bias"]
    np.testing.assert_array_equal(m.fc1.weight.data, source.fc1.weight.data)
    assert not np.array_equal(m.fc2.weight.data, source.fc2.weight.data)


def test_non_strict_load_still_raises_on_a_size_mismatch() -> None:
    m = TwoLayer()
    state = {"fc1.bias": np.zeros(7, dtype=np.float32)}
    with pytest.raises(RuntimeError, match=r"size mismatch for fc1.bias.*\(7,\).*\(4,\)"):
        m.load_state_dict(state, strict=False)


# --- containers


def test_sequential_applies_its_modules_in_order() -> None:
    x = tl.tensor([1.0, -3.0])
    np.testing.assert_array_equal(nn.Sequential(AddOne(), Double())(x).data, [4.0, -4.0])
    np.testing.assert_array_equal(nn.Sequential(Double(), AddOne())(x).data, [3.0, -5.0])
    np.testing.assert_array_equal(nn.Sequential()(x).data, x.data)


def test_sequential_indexes_counts_iterates_and_appends() -> None:
    a, b, c = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    s = nn.Sequential(a, b)
    assert s[0] is a and s[1] is b and s[-1] is b and len(s) == 2 and list(s) == [a, b]
    with pytest.raises(IndexError):
        s[2]
    assert s.append(c) is s
    assert len(s) == 3 and s[2] is c
    assert list(s.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert s(_x(4, 2)).shape == (4, 1)


def test_module_list_registers_its_modules_where_a_plain_list_hides_them() -> None:
    class Stack(nn.Module):
        def __init__(self, registered: bool) -> None:
            super().__init__()
            layers = [nn.Linear(2, 2), nn.Linear(2, 2)]
            self.layers = nn.ModuleList(layers) if registered else layers

    assert _names(Stack(registered=False).named_parameters()) == []
    stack = Stack(registered=True)
    assert stack.layers.extend([nn.Linear(2, 1)]) is stack.layers
    assert _names(stack.named_parameters()) == [
        "layers.0.weight", "layers.0.bias", "layers.1.weight", "layers.1.bias", "layers.2.weight", "layers.2.bias",
    ]  # fmt: skip
    assert len(stack.layers) == 3 and stack.layers[-1].out_features == 1
    assert [m.out_features for m in stack.layers] == [2, 2, 1]


def test_module_dict_finds_modules_by_name() -> None:
    enc, dec = nn.Linear(2, 3), nn.Linear(3, 2)
    d = nn.ModuleDict({"enc": enc, "dec": dec})
    d["act"] = nn.ReLU()
    assert d["enc"] is enc and d["dec"] is dec
    assert "enc" in d and "act" in d and "missing" not in d
    assert list(d.keys()) == ["enc", "dec", "act"] == list(d) and len(d) == 3
    assert [(k, type(v).__name__) for k, v in d.items()] == [
        ("enc", "Linear"),
        ("dec", "Linear"),
        ("act", "ReLU"),
    ]
    assert list(d.values())[1] is dec
    assert list(d.state_dict()) == ["enc.weight", "enc.bias", "dec.weight", "dec.bias"]
    with pytest.raises(KeyError):
        d["missing"]


# --- repr


def test_repr_shows_child_names_arguments_and_parameter_counts() -> None:
    m = nn.Sequential(nn.Linear(30, 40), nn.ReLU(), nn.Linear(40, 2, bias=False), nn.Dropout(0.1))
    # 30*40 + 40 = 1,240 and 40*2 = 80: 1,320 in all
    assert repr(m) == (
        "Sequential(  # 1,320 parameters\n"
        "  (0): Linear(in_features=30, out_features=40, bias=True)  # 1,240\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=40, out_features=2, bias=False)  # 80\n"
        "  (3): Dropout(p=0.1)\n"
        ")"
    )
    assert repr(nn.Linear(3, 4)) == "Linear(in_features=3, out_features=4, bias=True)  # 16 parameters"
    assert repr(nn.ReLU()) == "ReLU()"


def test_repr_indents_nested_modules_and_counts_tied_weights_once() -> None:
    m = nn.ModuleDict({"emb": nn.Embedding(100, 12), "body": nn.Sequential(nn.Linear(12, 12), nn.GELU())})
    m["body"][0].weight = nn.Parameter(tl.zeros(12, 12))
    m["out"] = nn.Linear(12, 100, bias=False)
    m["out"].weight = m["emb"].weight  # tied: counted once in the total
    # 100*12 + (12*12 + 12) = 1,356 (the tied out.weight adds nothing)
    assert repr(m) == (
        "ModuleDict(  # 1,356 parameters\n"
        "  (emb): Embedding(100, 12)  # 1,200\n"
        "  (body): Sequential(  # 156 parameters\n"
        "    (0): Linear(in_features=12, out_features=12, bias=True)  # 156\n"
        "    (1): GELU()\n"
        "  )\n"
        "  (out): Linear(in_features=12, out_features=100, bias=False)  # 1,200\n"
        ")"
    )


# --- tl.save and tl.load


def test_save_load_round_trips_a_state_dict_with_identical_arrays_and_dtypes(tmp_path) -> None:
    rng = np.random.default_rng(3)
    state = {
        "w32": tl.tensor(rng.standard_normal((3, 4)).astype(np.float32)),
        "w64": tl.tensor(rng.standard_normal(5)),
        "half": tl.tensor(rng.standard_normal(2).astype(np.float16)),
        "ids": tl.tensor(np.array([[1, -2], [3, 2**40]], dtype=np.int64)),
        "i32": tl.tensor(np.array([7], dtype=np.int32)),
        "mask": tl.tensor(np.array([True, False])),
        "scalar": tl.tensor(np.float32(2.5)),
        "empty": tl.tensor(np.zeros((0, 3), dtype=np.float32)),
    }
    tl.save(state, tmp_path / "state.npz")
    loaded = tl.load(tmp_path / "state.npz")
    assert list(loaded) == list(state)
    for k, v in state.items():
        assert isinstance(loaded[k], tl.Tensor) and loaded[k].dtype == v.dtype and loaded[k].shape == v.shape
        np.testing.assert_array_equal(loaded[k].data, v.data)


def test_save_load_preserves_nested_python_types(tmp_path) -> None:
    obj = {
        "config": {"n_layer": 2, "lr": 0.1, "name": "tiny", "dropout": None, "bias": True, "tied": False},
        "betas": (0.9, 0.999),
        "nested": [1, (2, [3.5, "x"]), {}, [], ()],
        7: {"step": 2**40, "neg": -3},
        "array": np.arange(4, dtype=np.int16),
    }
    path = tmp_path / "obj.npz"
    tl.save(obj, str(path))
    back = tl.load(path)
    assert list(back) == ["config", "betas", "nested", 7, "array"]
    assert back["config"] == obj["config"] and back[7] == obj[7] and "7" not in back
    assert type(back["config"]["bias"]) is bool and type(back["config"]["n_layer"]) is int
    assert type(back["betas"]) is tuple and back["betas"] == (0.9, 0.999)
    assert back["nested"] == [1, (2, [3.5, "x"]), {}, [], ()]
    assert (
        type(back["nested"][1]) is tuple
        and type(back["nested"][1][1]) is list
        and type(back["nested"][4]) is tuple
    )
    assert type(back["array"]) is np.ndarray and back["array"].dtype == np.int16
    np.testing.assert_array_equal(back["array"], [0, 1, 2, 3])


def test_checkpoint_is_an_npz_readable_without_pickle(tmp_path) -> None:
    tl.save({"w": tl.ones(2), "meta": {"epoch": 3}}, tmp_path / "ckpt.npz")
    with np.load(tmp_path / "ckpt.npz", allow_pickle=False) as archive:
        entries = {name: archive[name] for name in archive.files}
    assert tinyllm.serialization.MANIFEST in entries and len(entries) == 2


def test_a_model_saved_and_loaded_into_a_fresh_model_gives_identical_outputs(tmp_path) -> None:
    model = Nested().eval()
    tl.save(model.state_dict(), tmp_path / "model.npz")
    tl.manual_seed(1)
    fresh = Nested().eval()
    x = _x(6, 3)
    assert not np.array_equal(fresh(x).data, model(x).data)
    fresh.load_state_dict(tl.load(tmp_path / "model.npz"))
    np.testing.assert_array_equal(fresh(x).data, model(x).data)


def test_load_puts_tensors_on_map_location(tmp_path, device: str) -> None:
    tl.save({"w": tl.ones(2)}, tmp_path / "ckpt.npz")
    assert tl.load(tmp_path / "ckpt.npz", map_location=device)["w"].device.type == device


def test_load_of_a_missing_path_raises_file_not_found_naming_it(tmp_path) -> None:
    path = tmp_path / "nowhere.npz"
    with pytest.raises(FileNotFoundError, match="nowhere.npz"):
        tl.load(path)


@pytest.mark.parametrize("kind", ["text", "npy", "empty"])
def test_load_of_a_file_that_is_not_an_npz_raises_value_error(tmp_path, kind: str) -> None:
    path = tmp_path / "ckpt.npz"
    if kind == "text":
        path.write_text("epoch,loss\n1,0.5\n")
    elif kind == "npy":
        with open(path, "wb") as f:
            np.save(f, np.arange(3))
    else:
        path.write_bytes(b"")
    with pytest.raises(ValueError, match="ckpt.npz is not a tinyllm checkpoint"):
        tl.load(path)


def test_load_of_an_npz_without_the_manifest_raises_value_error(tmp_path) -> None:
    path = tmp_path / "plain.npz"
    np.savez(path, weight=np.ones(3))
    with pytest.raises(ValueError, match=r"plain.npz is not a tinyllm checkpoint.*__tinyllm_manifest__"):
        tl.load(path)


_UNPICKLED: list[str] = []


def _record_unpickling(tag: str) -> str:
    _UNPICKLED.append(tag)
    return tag


class _Payload:
    """An object whose unpickling would call ``_record_unpickling``: proof that no code ran."""

    def __reduce__(self):
        return _record_unpickling, ("code ran",)


def test_load_refuses_an_object_array_without_running_pickled_code(tmp_path) -> None:
    path = tmp_path / "evil.npz"
    manifest = '{"format": 1, "tree": {"type": "array", "ref": "a0"}}'
    np.savez(path, a0=np.array([_Payload()], dtype=object), __tinyllm_manifest__=np.array(manifest))
    with pytest.raises(ValueError, match=r"evil.npz.*allow_pickle"):
        tl.load(path)
    assert _UNPICKLED == []


def test_saving_an_unsupported_object_raises_type_error_naming_where_it_is(tmp_path) -> None:
    path = tmp_path / "ckpt.npz"
    with pytest.raises(TypeError, match=r"the object\['optimizer'\]\['schedule'\]\[1\] of type function"):
        tl.save({"optimizer": {"schedule": [0.1, lambda step: step]}}, path)
    with pytest.raises(TypeError, match=r"key \(1, 2\)"):
        tl.save({(1, 2): 3}, path)
    assert os.listdir(tmp_path) == []


def test_save_is_atomic_when_writing_fails_midway(tmp_path, monkeypatch) -> None:
    path = tmp_path / "ckpt.npz"
    tl.save({"w": tl.tensor([1.0, 2.0]), "step": 1}, path)
    saved = path.read_bytes()

    def failing_savez(file, *args, **kwargs) -> None:
        file.write(b"PK\x03\x04 half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(tinyllm.serialization.numpy, "savez", failing_savez)
    with pytest.raises(OSError, match="disk full"):
        tl.save({"w": tl.tensor([9.0, 9.0]), "step": 2}, path)
    monkeypatch.undo()
    assert path.read_bytes() == saved
    assert os.listdir(tmp_path) == ["ckpt.npz"]  # no temporary file left behind
    back = tl.load(path)
    assert back["step"] == 1
    np.testing.assert_array_equal(back["w"].data, np.array([1.0, 2.0], dtype=np.float32))


def test_slicing_a_container_gives_a_container_of_the_same_kind() -> None:
    first, act, last = tl.nn.Linear(2, 3), tl.nn.ReLU(), tl.nn.Linear(3, 1)
    seq = tl.nn.Sequential(first, act, last)
    tail = seq[1:]
    assert type(tail) is tl.nn.Sequential and list(tail) == [act, last]
    x = tl.randn(4, 3)
    np.testing.assert_array_equal(tail(x).detach().numpy(), last(act(x)).detach().numpy())
    modules = tl.nn.ModuleList([act, last])
    assert type(modules[:1]) is tl.nn.ModuleList and list(modules[:1]) == [act]


def test_register_module_rejects_non_modules_and_dotted_names() -> None:
    m = tl.nn.Module()
    with pytest.raises(TypeError, match="'head' must be a Module"):
        m.register_module("head", tl.randn(2))
    with pytest.raises(KeyError, match="without '.'"):
        m.register_module("a.b", tl.nn.ReLU())


def test_saved_checkpoint_gets_ordinary_file_permissions(tmp_path) -> None:
    mask = os.umask(0o022)
    try:
        tl.save({"w": tl.ones(2)}, tmp_path / "c.npz")
    finally:
        os.umask(mask)
    assert (tmp_path / "c.npz").stat().st_mode & 0o777 == 0o644


def test_load_refuses_an_unknown_checkpoint_format(tmp_path) -> None:
    path = tmp_path / "future.npz"
    np.savez(path, __tinyllm_manifest__=np.array('{"format": 99, "tree": {"type": "value", "value": 1}}'))
    with pytest.raises(ValueError, match="format 99; this tinyllm reads format 1"):
        tl.load(path)
    np.savez(path, __tinyllm_manifest__=np.array('{"format": 1, "tree": {"type": "dict"}}'))
    with pytest.raises(ValueError, match="is damaged: its manifest is malformed"):
        tl.load(path)


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ([[0.0] * 3] * 2, "value for weight is a list, not a numeric tensor or array"),
        ("weights", "value for weight is a str, not a numeric tensor or array"),
        (np.array([["a"] * 3] * 2), "value for weight is a ndarray of dtype <U1, not a numeric tensor or array"),
    ],
)
def test_load_state_dict_names_a_value_that_is_not_a_numeric_array(value, named: str) -> None:
    layer = tl.nn.Linear(3, 2)
    with pytest.raises(RuntimeError, match=re.escape(named)):
        layer.load_state_dict({"weight": value, "bias": np.zeros(2)})


def test_load_state_dict_refuses_what_is_not_a_mapping() -> None:
    with pytest.raises(TypeError, match="expected a mapping of names to tensors, got list"):
        tl.nn.Linear(3, 2).load_state_dict([np.zeros((2, 3)), np.zeros(2)])
