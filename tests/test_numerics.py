"""Dtypes and edge-case numerics follow PyTorch: which tensors may require gradients, which
dtypes a tensor may hold, what float ops do to integer tensors, empty reductions, zero sizes,
fully ignored loss targets, and arguments refused where the layer is built."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl

# ----------------------------------------------------------------------------- which tensors require grad


def test_requires_grad_setter_refuses_an_integer_tensor() -> None:
    a = tl.tensor([1, 2])
    with pytest.raises(TypeError, match="int64"):
        a.requires_grad = True
    assert a.requires_grad is False


@pytest.mark.parametrize(
    "make",
    [
        lambda: tl.tensor([1, 2]).requires_grad_(),
        lambda: tl.tensor([1, 2], requires_grad=True),
        lambda: tl.Tensor(np.array([1, 2]), requires_grad=True),
        lambda: tl.tensor([True, False], requires_grad=True),
        lambda: tl.nn.Parameter(tl.tensor([1, 2])),
    ],
    ids=["requires_grad_", "tl.tensor", "Tensor", "bool", "Parameter"],
)
def test_no_route_lets_an_integer_tensor_require_grad(make) -> None:
    with pytest.raises(TypeError, match="floating-point"):
        make()


def test_requires_grad_setter_still_switches_float_tensors() -> None:
    a = tl.tensor([1.0, 2.0])
    a.requires_grad = True
    (a * a).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), [2.0, 4.0])
    a.requires_grad = False
    assert not (a * 2).requires_grad


def test_integer_parameter_without_grad_is_allowed(torch) -> None:
    p = tl.nn.Parameter(tl.tensor([1, 2]), requires_grad=False)
    q = torch.nn.Parameter(torch.tensor([1, 2]), requires_grad=False)
    assert p.requires_grad == q.requires_grad and p.tolist() == q.tolist()


# ----------------------------------------------------------------------------- what a tensor may hold


@pytest.mark.parametrize(
    "data", [["a"], np.array(["a", "b"]), [b"a"], np.array([1, None], dtype=object)], ids=["str", "U", "bytes", "obj"]
)
def test_tensor_refuses_non_numeric_data(data) -> None:
    with pytest.raises(TypeError, match="tensor"):
        tl.tensor(data)


def test_tensor_constructor_refuses_strings_naming_the_dtype() -> None:
    with pytest.raises(TypeError, match="<U1"):
        tl.Tensor(np.array(["a"]))
    with pytest.raises(TypeError, match="<U1"):
        tl.tensor(["a"])


@pytest.mark.parametrize("data", [[True, False], [1, 2], np.array([1, 2], dtype=np.uint8), [1.5]])
def test_tensor_accepts_bool_and_numbers(data) -> None:
    assert tl.tensor(data).tolist() == np.asarray(data).tolist()
