"""Bad input gives named errors: each says what went wrong and where (the op, the shapes, the devices)."""

from __future__ import annotations

import sys
from types import SimpleNamespace

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import backend


class FakeGpuArray:
    """Stands in for a CuPy array on GPU 0, so that mixing devices can be tested without a GPU.

    It carries only what the device check reads (which runs before any arithmetic).
    """

    device = SimpleNamespace(id=0)
    dtype = np.dtype("float32")

    def __init__(self, *shape: int) -> None:
        self.shape, self.ndim, self.size = shape, len(shape), int(np.prod(shape))


@pytest.fixture
def fake_gpu(monkeypatch: pytest.MonkeyPatch) -> type[FakeGpuArray]:
    """Make the backend treat :class:`FakeGpuArray` as CuPy's array type."""
    monkeypatch.setattr(backend, "_cupy", SimpleNamespace(ndarray=FakeGpuArray))
    return FakeGpuArray


@pytest.fixture
def no_cupy(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make ``import cupy`` fail, as on a machine without it."""
    monkeypatch.setitem(sys.modules, "cupy", None)
    monkeypatch.setattr(backend, "_cupy", None)


# ----------------------------------------------------------------------------- shapes


def test_matmul_with_misaligned_shapes_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(3, 4\) and \(5, 6\)"):
        tl.ones(3, 4) @ tl.ones(5, 6)


def test_matmul_with_batch_axes_that_do_not_broadcast_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"\(2, 3, 4\) and \(5, 4, 2\)"):
        tl.ones(2, 3, 4) @ tl.ones(5, 4, 2)


def test_backward_on_non_scalar_without_grad_names_the_shape() -> None:
    y = tl.ones(4, 5, requires_grad=True).exp()
    with pytest.raises(RuntimeError, match=r"shape \(4, 5\)"):
        y.backward()


def test_reshape_to_the_wrong_size_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\).*\(4, 2\)"):
        tl.ones(2, 3).reshape(4, 2)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        tl.ones(2, 3).reshape(-1, -1)
    with pytest.raises(ValueError, match=r"reshape.*\(2, 3\)"):
        tl.ones(2, 3).reshape(4, -1)


def test_cat_with_mismatched_shapes_names_them() -> None:
    with pytest.raises(ValueError, match=r"cat.*\(2, 3\) and \(3, 2\)"):
        tl.cat([tl.ones(2, 3), tl.ones(3, 2)])
    with pytest.raises(ValueError, match="cat.*non-empty"):
        tl.cat([])


def test_stack_with_mismatched_shapes_names_them() -> None:
    with pytest.raises(ValueError, match=r"stack.*\(2, 3\) and \(3, 2\)"):
        tl.stack([tl.ones(2, 3), tl.ones(3, 2)])


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("sum", lambda x: x.sum(dim=2)),
        ("mean", lambda x: x.mean(dim=-3)),
        ("softmax", lambda x: x.softmax(2)),
        ("transpose", lambda x: x.transpose(0, 5)),
        ("max", lambda x: x.max(dim=3)),
        ("cat", lambda x: tl.cat([x, x], dim=2)),
    ],
)
def test_bad_dim_index_names_the_op_and_the_dim(op: str, call) -> None:
    with pytest.raises(IndexError, match=rf"{op}: dim -?\d is out of range"):
        call(tl.ones(2, 3))


def test_permute_with_repeated_dims_raises() -> None:
    with pytest.raises(ValueError, match=r"permute.*\(0, 0\)"):
        tl.ones(2, 3).permute(0, 0)


def test_expand_to_an_incompatible_shape_names_both_shapes() -> None:
    with pytest.raises(ValueError, match=r"expand.*\(2, 3\).*\(3, 3\)"):
        tl.ones(2, 3).expand(3, 3)


@pytest.mark.parametrize("index", [5, (0, 7), -3, [0, 4]], ids=["int", "tuple", "negative", "int-list"])
def test_indexing_out_of_range_names_the_shape(index) -> None:
    x = tl.ones(2, 3)
    if isinstance(index, list):
        index = tl.tensor(index)
    with pytest.raises(IndexError, match=r"shape \(2, 3\)"):
        x[index]


# ----------------------------------------------------------------------------- dtypes


def test_integer_tensor_requiring_grad_names_the_dtype() -> None:
    with pytest.raises(TypeError, match="int64"):
        tl.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="bool"):
        tl.tensor([True], requires_grad=True)


def test_gradcheck_of_float32_names_the_input_and_dtype() -> None:
    with pytest.raises(TypeError, match="weights.*float32"):
        tl.gradcheck(lambda w: w * 2, [tl.ones(2, requires_grad=True)], names=["weights"])


def test_where_with_a_non_bool_condition_raises() -> None:
    with pytest.raises(TypeError, match="where.*bool"):
        tl.where(tl.ones(2), tl.ones(2), tl.zeros(2))


def test_tensor_from_ragged_data_raises() -> None:
    with pytest.raises((TypeError, ValueError)):
        tl.tensor([[1.0, 2.0], [3.0]])


# ----------------------------------------------------------------------------- devices


@pytest.mark.parametrize("spec", ["tpu", "cuda:x", "gpu", ""])
def test_unknown_device_string_raises_device_error(spec: str) -> None:
    with pytest.raises(tl.DeviceError, match=f"unknown device '{spec}'"):
        tl.device(spec)
    with pytest.raises(tl.DeviceError, match="unknown device"):
        tl.zeros(2, device=spec)


def test_device_error_is_a_runtime_error() -> None:
    assert issubclass(tl.DeviceError, RuntimeError)


def test_cuda_without_cupy_raises_device_error_with_install_hint_and_cause(no_cupy: None) -> None:
    with pytest.raises(tl.DeviceError) as info:
        tl.zeros(2, device="cuda")
    message = str(info.value)
    assert 'pip install "tinyllm[cuda]"' in message
    assert isinstance(info.value.__cause__, ImportError)
    assert str(info.value.__cause__) in message  # the underlying error, in its own words
    assert not tl.cuda_is_available()


def test_moving_a_tensor_to_cuda_without_cupy_raises_device_error(no_cupy: None) -> None:
    for move in (lambda x: x.to("cuda"), lambda x: x.cuda(), lambda x: x.to("cuda:1")):
        with pytest.raises(tl.DeviceError, match=r'pip install "tinyllm\[cuda\]"'):
            move(tl.ones(2))


@pytest.mark.skipif(tl.cuda_is_available(), reason="this machine has a GPU")
def test_cuda_on_a_machine_without_gpu_raises_device_error_with_install_hint() -> None:
    with pytest.raises(tl.DeviceError, match=r'not available.*pip install "tinyllm\[cuda\]"'):
        tl.tensor([1.0], device="cuda")


def test_check_same_device_names_the_op_and_both_devices(fake_gpu) -> None:
    backend.check_same_device([np.zeros(2), np.zeros(3)], "myop")  # all on the host: fine
    with pytest.raises(tl.DeviceError, match=r"myop: .*\(cpu and cuda:0\)"):
        backend.check_same_device([np.zeros(2), fake_gpu(2)], "myop")
    with pytest.raises(tl.DeviceError, match=r"myop: .*\(cuda:0 and cpu\)"):
        backend.check_same_device([fake_gpu(2), np.zeros(2)], "myop")


@pytest.mark.parametrize(
    ("op", "call"),
    [
        ("Add", lambda a, b: a + b),
        ("Mul", lambda a, b: b * a),
        ("MatMul", lambda a, b: a @ b),
        ("add_", lambda a, b: a.add_(b)),
    ],
)
def test_tensors_on_two_devices_in_one_op_raise_naming_op_and_devices(fake_gpu, op: str, call) -> None:
    on_cpu, on_gpu = tl.ones(2, 2), tl.Tensor(fake_gpu(2, 2))
    assert on_gpu.device == tl.Device("cuda", 0)
    with pytest.raises(tl.DeviceError, match=rf"{op}: tensors on different devices") as info:
        call(on_cpu, on_gpu)
    assert "cpu" in str(info.value) and "cuda:0" in str(info.value)


def test_backward_with_a_grad_on_another_device_raises(fake_gpu) -> None:
    y = tl.ones(2, requires_grad=True) * 2
    with pytest.raises(tl.DeviceError, match=r"backward: .*\(cpu and cuda:0\)"):
        y.backward(fake_gpu(2))


@pytest.mark.skipif(not tl.cuda_is_available(), reason="CuPy sees no GPU on this machine")
def test_tensors_on_two_real_devices_raise() -> None:
    with pytest.raises(tl.DeviceError, match=r"Add: .*cpu.*cuda:0"):
        tl.ones(2) + tl.ones(2, device="cuda")
