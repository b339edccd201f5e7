"""Shared helpers for the tests that hold tinyllm's modules equal to PyTorch's on the same weights."""

from __future__ import annotations

from typing import Any

import numpy as np

import tinyllm as tl


def normal(*shape: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal(shape)


def close(ours: tl.Tensor, theirs: Any, atol: float, what: str = "") -> None:
    """Assert a tinyllm tensor equals a torch tensor (or array) within ``atol``."""
    theirs = theirs.detach().numpy() if hasattr(theirs, "detach") else np.asarray(theirs)
    np.testing.assert_allclose(ours.detach().numpy(), theirs, rtol=0, atol=atol, err_msg=what)


def copy_to_torch(torch: Any, ours: tl.nn.Module, theirs: Any) -> None:
    """Load tinyllm's weights into the torch module, by parameter name."""
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in ours.state_dict().items()})


def assert_grads_match(ours: tl.nn.Module, theirs: Any, atol: float) -> None:
    """Same parameter names on both sides, and each parameter's gradient equal within ``atol``."""
    mine = dict(ours.named_parameters())
    other = dict(theirs.named_parameters())
    assert sorted(mine) == sorted(other)
    for name, p in mine.items():
        np.testing.assert_allclose(p.grad.numpy(), other[name].grad.numpy(), rtol=0, atol=atol, err_msg=name)


def tl_weighted_sum(tensors: list[tl.Tensor], seed: int = 1) -> tl.Tensor:
    """sum_i <w_i, t_i> with fixed random weights: a loss that reaches every element of every tensor."""
    total = None
    for i, t in enumerate(tensors):
        term = (t * tl.tensor(normal(*t.shape, seed=seed + i))).sum()
        total = term if total is None else total + term
    return total


def torch_weighted_sum(torch: Any, tensors: list[Any], seed: int = 1) -> Any:
    """:func:`tl_weighted_sum` in PyTorch, with the same weights."""
    return sum((t * torch.tensor(normal(*t.shape, seed=seed + i))).sum() for i, t in enumerate(tensors))
