"""tl.set_default_device / tl.get_default_device: where tensors, parameters and batches go by default.

Without a GPU the plumbing is checked on a pretend one (tests/fake_gpu.py): every factory
function, module constructor and data loader must consult the default device, and work
left on the CPU shows up as a DeviceError when it meets the "GPU" tensors.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

import fake_gpu
import tinyllm as tl
from tinyllm import backend, lessons
from tinyllm.data import DataLoader, collate_sequences, lm_batches, sequential_lm_batches
from tinyllm.models import GPT, GPTConfig, LSTMLanguageModel, TextClassifier
from tinyllm.utils.data import default_collate, default_convert

no_gpu = pytest.mark.skipif(tl.cuda_is_available(), reason="checks the message given where CuPy sees no GPU")


@pytest.fixture
def fake_cuda(monkeypatch: pytest.MonkeyPatch) -> Iterator[tl.Device]:
    """A pretend GPU made the default device; the CPU is the default again afterwards."""
    fake_gpu.install(monkeypatch)
    try:
        tl.set_default_device("cuda")
        yield tl.get_default_device()
    finally:
        tl.set_default_device(None)


# ----------------------------------------------------------------------------- the setting itself


def test_the_default_device_is_the_cpu() -> None:
    assert tl.get_default_device() == "cpu"
    assert isinstance(tl.get_default_device(), tl.Device)
    assert backend.as_device(None) is tl.get_default_device()


def test_get_default_device_reads_as_pytorchs(torch) -> None:
    ours, theirs = tl.get_default_device(), torch.get_default_device()
    assert (str(ours), ours.type, ours.index) == (str(theirs), theirs.type, theirs.index)
    tl.set_default_device("cpu")
    torch.set_default_device("cpu")
    try:
        ours, theirs = tl.get_default_device(), torch.get_default_device()
        assert (str(ours), ours.type, ours.index) == (str(theirs), theirs.type, theirs.index)
    finally:
        tl.set_default_device(None)
        torch.set_default_device(None)
    assert str(torch.get_default_device()) == str(tl.get_default_device()) == "cpu"


def test_setting_the_cpu_explicitly_changes_nothing_and_none_resets() -> None:
    before = (tl.randn(3).tolist(), tl.nn.Linear(2, 2).weight.tolist())
    tl.manual_seed(0)
    tl.set_default_device("cpu")
    try:
        assert tl.get_default_device() == "cpu"
        after = (tl.randn(3).tolist(), tl.nn.Linear(2, 2).weight.tolist())
    finally:
        tl.set_default_device(None)
    assert after == before
    assert tl.get_default_device() == "cpu"


@no_gpu
def test_a_cuda_default_without_a_gpu_raises_the_cupy_message_and_keeps_the_cpu() -> None:
    with pytest.raises(tl.DeviceError, match=r"device 'cuda' is not available: CuPy"):
        tl.set_default_device("cuda")
    assert tl.get_default_device() == "cpu"


def test_a_malformed_default_is_refused() -> None:
    with pytest.raises(tl.DeviceError, match="unknown device 'gpu'"):
        tl.set_default_device("gpu")
    assert tl.get_default_device() == "cpu"


def test_with_device_sets_the_default_for_a_block_and_restores_it(monkeypatch) -> None:
    fake_gpu.install(monkeypatch)
    with tl.device("cuda") as gpu:
        assert tl.get_default_device() == gpu == "cuda:0"
        assert tl.zeros(1).device == "cuda:0"
        with tl.device("cpu"):
            assert tl.zeros(1).device == "cpu"
        assert tl.get_default_device() == "cuda:0"
    assert tl.get_default_device() == "cpu"
    with pytest.raises(ValueError, match="inside"), tl.device("cuda"):
        raise ValueError("inside")
    assert tl.get_default_device() == "cpu"


# ----------------------------------------------------------------------------- factory functions

FACTORIES: dict[str, Callable[[], tl.Tensor]] = {
    "tensor": lambda: tl.tensor([1.0, 2.0]),
    "tensor(ndarray)": lambda: tl.tensor(np.zeros(2)),
    "as_tensor(list)": lambda: tl.as_tensor([1, 2]),
    "as_tensor(ndarray)": lambda: tl.as_tensor(np.zeros(2)),
    "zeros": lambda: tl.zeros(2, 3),
    "ones": lambda: tl.ones(2),
    "full": lambda: tl.full((2,), 7),
    "empty": lambda: tl.empty(2),
    "arange": lambda: tl.arange(5),
    "linspace": lambda: tl.linspace(0, 1, 5),
    "eye": lambda: tl.eye(3),
    "rand": lambda: tl.rand(2),
    "randn": lambda: tl.randn(2, 2),
    "randint": lambda: tl.randint(0, 5, (3,)),
    "randperm": lambda: tl.randperm(4),
    "normal": lambda: tl.normal(0.0, 1.0, (3,)),
}


@pytest.mark.parametrize("name", FACTORIES)
def test_factory_functions_without_a_device_use_the_default(name: str, fake_cuda) -> None:
    assert FACTORIES[name]().device == fake_cuda


@pytest.mark.parametrize("name", FACTORIES)
def test_an_explicit_device_wins_over_the_default(name: str, fake_cuda) -> None:
    with tl.device("cpu"):  # the same calls, with the CPU default, give CPU tensors...
        assert FACTORIES[name]().device == "cpu"
    assert tl.zeros(2, device="cpu").device == "cpu"  # ...and so does device= under the GPU default
    assert tl.randn(2, device="cpu").device == "cpu"


def test_like_functions_and_new_keep_their_inputs_device_and_from_numpy_stays_on_the_cpu(fake_cuda) -> None:
    x = tl.zeros(2, 3, device="cpu")
    likes = [tl.zeros_like, tl.ones_like, tl.empty_like, tl.rand_like, tl.randn_like,
             lambda t: tl.full_like(t, 2.0), lambda t: tl.randint_like(t, 5), lambda t: t.new_zeros(2)]  # fmt: skip
    assert all(like(x).device == "cpu" for like in likes)
    assert tl.from_numpy(np.zeros(2)).device == "cpu"  # it shares the array's memory, as in PyTorch
    assert tl.as_tensor(x).device == fake_cuda  # as_tensor moves to the default, as torch.as_tensor does


# ----------------------------------------------------------------------------- modules

MODULES: dict[str, Callable[[], tl.nn.Module]] = {
    "Linear": lambda: tl.nn.Linear(3, 2),
    "Embedding": lambda: tl.nn.Embedding(5, 3, padding_idx=0),
    "LayerNorm": lambda: tl.nn.LayerNorm(3),
    "RNNCell": lambda: tl.nn.RNNCell(3, 2),
    "LSTMCell": lambda: tl.nn.LSTMCell(3, 2),
    "GRUCell": lambda: tl.nn.GRUCell(3, 2),
    "RNN": lambda: tl.nn.RNN(3, 2),
    "LSTM": lambda: tl.nn.LSTM(3, 2, num_layers=2, bidirectional=True),
    "GRU": lambda: tl.nn.GRU(3, 2),
    "MultiheadSelfAttention": lambda: tl.nn.MultiheadSelfAttention(4, 2),
    "TransformerBlock": lambda: tl.nn.TransformerBlock(4, 2),
    "MultiheadAttention": lambda: tl.nn.MultiheadAttention(4, 2, kdim=3, vdim=5),
    "TransformerEncoder": lambda: tl.nn.TransformerEncoder(tl.nn.TransformerEncoderLayer(4, 2, 8), 2),
    "GPT": lambda: GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=4)),
    "TextClassifier": lambda: TextClassifier(7, 4, 3, 2),
    "LSTMLanguageModel": lambda: LSTMLanguageModel(7, 4, 3),
}


@pytest.mark.parametrize("name", MODULES)
def test_modules_built_without_a_device_put_parameters_and_buffers_on_the_default(name: str, fake_cuda) -> None:
    module = MODULES[name]()
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    assert tensors, f"{name} has no parameters"
    assert {n: str(t.device) for n, t in tensors.items() if t.device != fake_cuda} == {}


def test_a_model_on_the_default_device_trains_there(fake_cuda) -> None:
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=2, n_embd=4))
    opt = tl.optim.AdamW(model.parameters(), lr=1e-2)
    idx = tl.randint(0, 7, (2, 4))
    _, loss = model(idx, idx)
    loss.backward()
    opt.step()
    assert loss.device == fake_cuda
    assert all(p.grad.device == fake_cuda for p in model.parameters())
    assert model.generate(idx[:, :1], 3).device == fake_cuda


def test_module_constructors_pass_an_explicit_device_through(fake_cuda) -> None:
    assert tl.nn.LSTM(3, 2, device="cpu").weight_ih_l0.device == "cpu"
    assert tl.nn.Linear(3, 2, device="cpu").weight.device == "cpu"


# ----------------------------------------------------------------------------- data


def test_batches_go_to_the_default_device_in_the_order_drawn_on_the_host(fake_cuda) -> None:
    examples = [(np.arange(1, n + 1), n % 2) for n in (3, 1, 2, 4)]
    ids, lengths, labels = collate_sequences(examples)
    assert ids.device == lengths.device == labels.device == fake_cuda
    x, y = next(lm_batches(np.arange(50), 4, 2, seed=0))
    assert x.device == y.device == fake_cuda
    x, y = next(sequential_lm_batches(np.arange(50), 4, 2))
    assert x.device == y.device == fake_cuda
    on_gpu = [labels.tolist() for _, _, labels in DataLoader(examples, 2, shuffle=True, seed=3)]
    with tl.device("cpu"):
        on_cpu = [labels.tolist() for _, _, labels in DataLoader(examples, 2, shuffle=True, seed=3)]
    assert on_gpu == on_cpu
    assert collate_sequences(examples, device="cpu")[0].device == "cpu"


def test_default_collate_follows_the_default_device_as_pytorchs_does(fake_cuda) -> None:
    batch = default_collate([(np.zeros(2), 1.0, 3), (np.ones(2), 2.0, 4)])
    assert [t.device for t in batch] == [fake_cuda] * 3
    assert default_convert(np.zeros(2)).device == fake_cuda
    cpu = [tl.zeros(2, device="cpu"), tl.ones(2, device="cpu")]
    assert default_collate(cpu).device == "cpu"  # stacking keeps the tensors' device, as torch.stack does


def test_pytorchs_default_collate_and_factories_follow_its_default_device_too(torch) -> None:
    torch.set_default_device("meta")  # a device every PyTorch has, standing in for a GPU
    try:
        collated = torch.utils.data.default_collate([(np.zeros(2), 1.0), (np.ones(2), 2.0)])
        assert [str(t.device) for t in collated] == ["meta", "meta"]
        assert str(torch.from_numpy(np.zeros(2)).device) == "cpu"
        assert str(torch.zeros_like(torch.zeros(2, device="cpu")).device) == "cpu"
        assert str(torch.nn.LSTM(3, 2).weight_ih_l0.device) == "meta"
    finally:
        torch.set_default_device(None)


# ----------------------------------------------------------------------------- lessons


def test_a_lessons_device_becomes_the_default_device(fake_cuda, tmp_path) -> None:
    """A lesson's options() makes its --device the default, so everything it makes lives there."""
    lessons.options("00_autograd", ["--out", str(tmp_path)])
    assert tl.get_default_device() == "cpu"
    args = lessons.options("00_autograd", ["--device", "cuda", "--out", str(tmp_path)])
    assert args.device == "cuda" and tl.get_default_device() == "cuda:0"
    assert tl.zeros(2).device == "cuda:0" and tl.nn.Linear(2, 2).weight.device == "cuda:0"


def test_the_fake_gpu_catches_work_left_on_the_cpu(fake_cuda) -> None:
    """The pretend GPU is only useful if it fails where a real one would."""
    with pytest.raises(tl.DeviceError, match="different devices"):
        tl.zeros(2) + tl.zeros(2, device="cpu")
    gpu: Any = tl.zeros(2).data
    with pytest.raises(TypeError, match="Unsupported type"):
        gpu * np.ones(2)
