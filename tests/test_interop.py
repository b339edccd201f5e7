"""Tensors and weights move between tinyllm and PyTorch: DLPack, state dicts, safetensors files."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.models import GPT, GPTConfig, LSTMLanguageModel, TextClassifier
from twins import seed_classifier, torch_gpt, torch_lstm_lm

pytest.importorskip("safetensors", reason="safetensors files need the safetensors package (the dev extra has it)")

# ----------------------------------------------------------------------------- DLPack


@pytest.mark.parametrize("dtype", ["float32", "float64", "int64", "bool"])
def test_torch_reads_a_tinyllm_tensor_through_dlpack_without_a_copy(torch: Any, dtype: str) -> None:
    x = tl.tensor(np.arange(6).reshape(2, 3).astype(dtype))
    t = torch.from_dlpack(x)
    assert str(t.dtype) == f"torch.{dtype}"
    np.testing.assert_array_equal(t.numpy(), x.numpy())
    if dtype == "float32":
        t[0, 0] = 42.0  # the same memory: tinyllm sees PyTorch's write
        assert x[0, 0].item() == 42.0


def test_tinyllm_reads_a_torch_tensor_through_dlpack_without_a_copy(torch: Any) -> None:
    t = torch.arange(6, dtype=torch.float64).reshape(2, 3)
    x = tl.from_dlpack(t)
    assert x.dtype == tl.float64 and x.shape == (2, 3) and not x.requires_grad
    t[1, 2] = -1.0
    assert x[1, 2].item() == -1.0


def test_dlpack_refuses_a_tensor_that_requires_grad_as_pytorch_does(torch: Any) -> None:
    with pytest.raises(RuntimeError, match=r"requires grad.*detach"):
        torch.from_dlpack(tl.ones(2, requires_grad=True))
    assert torch.from_dlpack(tl.ones(2, requires_grad=True).detach()).shape == (2,)


def test_from_dlpack_names_what_it_cannot_read() -> None:
    with pytest.raises(TypeError, match=r"from_dlpack: expected an object with __dlpack__.*got list"):
        tl.from_dlpack([1.0, 2.0])
    x = tl.from_dlpack(np.ones(3))  # NumPy arrays speak DLPack too
    assert x.dtype == tl.float64 and x.tolist() == [1.0, 1.0, 1.0]


# ----------------------------------------------------------------------------- state dicts in memory


def test_from_torch_state_dict_reads_parameters_that_require_grad(torch: Any) -> None:
    torch.manual_seed(0)
    theirs = torch.nn.Linear(3, 2)
    sd = tl.utils.from_torch_state_dict(dict(theirs.named_parameters()))  # not detached
    ours = tl.nn.Linear(3, 2)
    ours.load_state_dict(sd)
    np.testing.assert_array_equal(ours.weight.detach().numpy(), theirs.weight.detach().numpy())


def test_state_dict_converters_name_a_bad_entry() -> None:
    with pytest.raises(TypeError, match=r"entry 'w' is a str"):
        tl.utils.from_torch_state_dict({"w": "not a tensor"})
    with pytest.raises(TypeError, match=r"entry 'w' is a ndarray, not a tinyllm Tensor"):
        tl.utils.to_torch_state_dict({"w": np.ones(2)})
    with pytest.raises(TypeError, match=r"keys must be str"):
        tl.utils.to_torch_state_dict({0: tl.ones(2)})
    with pytest.raises(TypeError, match=r"expected a mapping"):
        tl.utils.from_torch_state_dict([tl.ones(2)])


def test_to_torch_state_dict_gives_contiguous_host_arrays_by_the_same_names() -> None:
    model = tl.nn.Linear(3, 2)
    arrays = tl.utils.to_torch_state_dict(model.state_dict())
    assert list(arrays) == ["weight", "bias"]
    assert all(isinstance(a, np.ndarray) and a.flags.c_contiguous for a in arrays.values())
    np.testing.assert_array_equal(arrays["weight"], model.weight.detach().numpy())


# ----------------------------------------------------------------------------- safetensors files


def test_safetensors_round_trip_keeps_names_dtypes_values_and_metadata(tmp_path: Path) -> None:
    tensors = {"a": tl.randn(2, 3, dtype=tl.float64), "b": tl.arange(5), "c": tl.ones(4, dtype=tl.float32) > 0}
    path = tmp_path / "w.safetensors"
    tl.save_safetensors(tensors, path, metadata={"step": "7"})
    back = tl.load_safetensors(path)
    assert sorted(back) == ["a", "b", "c"]
    for name, t in tensors.items():
        assert back[name].dtype == t.dtype
        np.testing.assert_array_equal(back[name].numpy(), t.numpy())
    from safetensors import safe_open

    with safe_open(str(path), framework="numpy") as f:
        assert f.metadata() == {"step": "7"}
    assert os.listdir(tmp_path) == ["w.safetensors"]  # written atomically: no temporary file left


def test_a_file_written_by_torch_loads_and_one_written_by_tinyllm_loads_in_torch(torch: Any, tmp_path: Path) -> None:
    from safetensors.torch import load_file, save_file

    save_file({"w": torch.arange(4, dtype=torch.float32)}, str(tmp_path / "t.safetensors"))
    assert tl.load_safetensors(tmp_path / "t.safetensors")["w"].tolist() == [0.0, 1.0, 2.0, 3.0]
    tl.save_safetensors({"v": tl.tensor([1, 2, 3])}, tmp_path / "l.safetensors")
    assert load_file(str(tmp_path / "l.safetensors"))["v"].tolist() == [1, 2, 3]


@pytest.mark.parametrize(
    "content", [b"", b"\x00" * 7, b"\xff" * 20, b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ",
                b"\x40\x00\x00\x00\x00\x00\x00\x00" + b'{"w":{"dtype":"F32","shape":[1000],"data_offsets":[0,4000]}}'],
    ids=["empty", "short", "huge header", "bad json", "data past the end"],
)  # fmt: skip
def test_a_damaged_or_hostile_safetensors_file_raises_a_named_error(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.safetensors"
    path.write_bytes(content)
    with pytest.raises(tl.CheckpointError, match=r"bad\.safetensors is not a readable safetensors file"):
        tl.load_safetensors(path)


def test_safetensors_errors_name_the_problem(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(FileNotFoundError, match=r"no such file: .*missing\.safetensors"):
        tl.load_safetensors(tmp_path / "missing.safetensors")
    with pytest.raises(TypeError, match=r"entry 'x' is a list"):
        tl.save_safetensors({"x": [1, 2]}, tmp_path / "x.safetensors")
    with pytest.raises(TypeError, match=r"metadata must map str to str"):
        tl.save_safetensors({"x": tl.ones(1)}, tmp_path / "x.safetensors", metadata={"step": 7})
    monkeypatch.setitem(sys.modules, "safetensors.numpy", None)  # as if the package were not installed
    with pytest.raises(ImportError, match=r"pip install 'tinyllm\[safetensors\]'"):
        tl.save_safetensors({"x": tl.ones(1)}, tmp_path / "x.safetensors")
    assert not list(tmp_path.iterdir())


# ----------------------------------------------------------------------------- trained models, both ways


def _models(torch: Any) -> list[tuple[str, Any, Any, Any, Any]]:
    """(name, tinyllm model, torch twin, inputs, how to call a model on them) for the three models."""
    rng = np.random.default_rng(0)
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=16)
    idx = rng.integers(0, 11, (3, 8))
    text = rng.integers(1, 20, (4, 6))
    lengths = np.array([6, 3, 5, 1])
    return [
        ("gpt", GPT(config), torch_gpt(torch, config), (idx,), lambda m, x: m(x)[0] if isinstance(m, GPT) else m(x)),
        ("classifier", TextClassifier(20, 6, 5, 3, n_layers=2), seed_classifier(torch)(20, 6, 5, 3, 2, 0.0),
         (text, lengths), lambda m, t, n: m(t, n)),
        ("lstm-lm", LSTMLanguageModel(11, 6, 7, n_layers=2), torch_lstm_lm(torch, 11, 6, 7, n_layers=2), (idx,),
         lambda m, x: m(x)[0] if isinstance(m, LSTMLanguageModel) else m(x)),
    ]  # fmt: skip


def _train_tinyllm(model: Any, call: Any, inputs: tuple) -> None:
    """A few Adam steps, so the weights are far from any initialization."""
    opt = tl.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        out = call(model, *[tl.tensor(a) for a in inputs])
        loss = (out * out).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


def _train_torch(torch: Any, model: Any, call: Any, inputs: tuple) -> None:
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    for _ in range(3):
        out = call(model, *[torch.tensor(a) for a in inputs])
        loss = (out * out).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("which", ["gpt", "classifier", "lstm-lm"])
def test_a_model_trained_in_tinyllm_loads_into_its_torch_twin_and_back(torch: Any, tmp_path: Path, which: str) -> None:
    from safetensors.torch import load_file

    tl.manual_seed(0)
    torch.manual_seed(0)
    name, ours, theirs, inputs, call = next(m for m in _models(torch) if m[0] == which)
    ours.eval(), theirs.eval()
    _train_tinyllm(ours, call, inputs)

    # tinyllm -> safetensors file -> torch
    tl.save_safetensors(ours.state_dict(), tmp_path / "ours.safetensors")
    theirs.load_state_dict(load_file(str(tmp_path / "ours.safetensors")))
    expected = call(ours, *[tl.tensor(a) for a in inputs]).detach().numpy()
    with torch.no_grad():
        np.testing.assert_allclose(call(theirs, *[torch.tensor(a) for a in inputs]).numpy(), expected, atol=1e-5)

    # torch trains further; torch -> in-memory state dict -> a fresh tinyllm model
    _train_torch(torch, theirs, call, inputs)
    fresh = next(m for m in _models(torch) if m[0] == which)[1].eval()
    fresh.load_state_dict(tl.utils.from_torch_state_dict(theirs.state_dict()))
    with torch.no_grad():
        expected = call(theirs, *[torch.tensor(a) for a in inputs]).numpy()
    got = call(fresh, *[tl.tensor(a) for a in inputs]).detach().numpy()
    np.testing.assert_allclose(got, expected, atol=1e-5)
    assert not np.allclose(got, call(ours, *[tl.tensor(a) for a in inputs]).detach().numpy())  # torch did train

    # and back to torch over DLPack, no file and no copy
    twin = next(m for m in _models(torch) if m[0] == which)[2].eval()
    twin.load_state_dict({k: torch.from_dlpack(v) for k, v in fresh.state_dict().items()})
    with torch.no_grad():
        np.testing.assert_allclose(call(twin, *[torch.tensor(a) for a in inputs]).numpy(), got, atol=1e-5)
