"""PyTorch's everyday names work on tinyllm: code from a tutorial runs with its imports changed."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl


def test_dtype_aliases_are_pytorchs() -> None:
    assert (tl.long, tl.int, tl.float, tl.double, tl.half) == (tl.int64, tl.int32, tl.float32, tl.float64, tl.float16)
    assert tl.tensor([1, 2], dtype=tl.long).dtype == np.int64
    assert tl.tensor([1, 2], dtype=tl.float).dtype == np.float32


def test_cuda_is_available_answers_without_a_gpu() -> None:
    assert tl.cuda.is_available() == tl.cuda_is_available()
    if not tl.cuda.is_available():
        assert tl.cuda.device_count() == 0


def test_randint_takes_high_and_size_or_low_high_and_size() -> None:
    tl.manual_seed(0)
    a = tl.randint(10, (1000,))
    tl.manual_seed(0)
    b = tl.randint(0, 10, (1000,))
    assert a.dtype == np.int64 and np.array_equal(a.numpy(), b.numpy())
    assert 0 <= int(a.numpy().min()) and int(a.numpy().max()) <= 9 and len(np.unique(a.numpy())) == 10
    assert tl.randint(3, 5, size=(4,)).shape == (4,)


@pytest.mark.parametrize(
    ("args", "error", "message"),
    [
        ((10,), TypeError, r"randint\(high, size\) or randint\(low, high, size\)"),
        ((1, 2, 3, (2,)), TypeError, r"randint\(high, size\)"),
        ((5, 5, (2,)), ValueError, r"need low < high .* low=5, high=5"),
        ((0.5, (2,)), TypeError, r"high must be an int, not 0.5"),
    ],
)
def test_randint_names_a_call_it_cannot_read(args: tuple, error: type, message: str) -> None:
    with pytest.raises(error, match=message):
        tl.randint(*args)


def test_a_one_element_integer_tensor_slices_like_an_int() -> None:
    data = list(range(20))
    tl.manual_seed(0)
    ix = tl.randint(12, (4,))
    batches = [data[i : i + 8] for i in ix]
    assert [b[0] for b in batches] == ix.tolist() and all(len(b) == 8 for b in batches)
    with pytest.raises(TypeError, match="only an integer tensor with one element can be an index"):
        data[tl.tensor(1.0)]
    with pytest.raises(TypeError, match="only an integer tensor with one element"):
        data[tl.tensor([1, 2])]


def test_a_one_element_tensor_formats_as_its_number() -> None:
    loss = tl.tensor(1.23456)
    assert f"{loss:.4f}" == "1.2346" and f"{tl.tensor([7]):>3d}" == "  7"
    assert f"{tl.tensor([1.0, 2.0])}" == repr(tl.tensor([1.0, 2.0]))


def test_the_command_prints_the_version_that_the_package_holds(capsys) -> None:
    from tinyllm.cli import main

    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0 and capsys.readouterr().out.strip() == f"tinyllm {tl.__version__}"


def test_to_reads_a_device_a_dtype_both_or_another_tensor_as_pytorch_does() -> None:
    x = tl.tensor([1.5, 2.5])
    assert x.to(tl.float64).dtype == np.float64 and x.to(dtype=tl.int64).tolist() == [1, 2]
    assert x.to("cpu", tl.float64).dtype == np.float64 and x.to(device="cpu", dtype=tl.float16).dtype == np.float16
    assert x.to(tl.tensor([1], dtype=tl.int32)).dtype == np.int32
    assert x.to("cpu") is x
    with pytest.raises(TypeError, match="to: expected a device, a dtype or both"):
        x.to()


def test_to_a_dtype_keeps_the_gradient_flowing_back() -> None:
    x = tl.tensor([1.0, 2.0], requires_grad=True)
    (x.to("cpu", tl.float64) * 3).sum().backward()
    assert x.grad.dtype == np.float32 and x.grad.tolist() == [3.0, 3.0]


def test_tensor_with_a_dtype_builds_python_floats_in_that_dtype_not_through_float32() -> None:
    assert tl.tensor([0.1], dtype=tl.float64).item() == 0.1  # float32 would give 0.10000000149011612
    assert tl.tensor(0.1, dtype="float64").item() == 0.1
    assert tl.tensor([1.7, -1.7], dtype=tl.int64).tolist() == [1, -1]  # truncated toward zero, as in PyTorch
    assert tl.tensor([0.1]).dtype == tl.float32  # without a dtype, Python floats still give float32
