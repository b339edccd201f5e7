"""What every check uses: the registry, comparisons, and gradients by central differences.

Expected values never come from the package being graded: they are closed forms, or
central differences of a forward pass written here in NumPy, in float64. (The grader
does not even use the package's own ``tl.gradcheck``, which a submission could change.)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tinyllm as tl

CHECKS: dict[str, Callable[[], None]] = {}


def check(fn: Callable[[], None]) -> Callable[[], None]:
    """Register a check under its function's name (the name the task table uses)."""
    CHECKS[fn.__name__] = fn
    return fn


class CheckFailed(AssertionError):
    """A check's expectation that the submission does not meet; the message says which."""


def expect(condition: Any, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def rng(seed: int) -> np.random.Generator:
    return np.random.default_rng(seed)


def array(t: Any) -> np.ndarray:
    """A tensor's (or array's) values as a NumPy array; a missing gradient fails the check."""
    if t is None:
        raise CheckFailed("a gradient is missing (None)")
    return np.asarray(t.detach().numpy() if isinstance(t, tl.Tensor) else t)


def close(actual: Any, expected: Any, what: str, rtol: float = 1e-6, atol: float = 1e-9) -> None:
    """``actual`` equals ``expected`` elementwise within atol + rtol * |expected|, in the same shape."""
    a, e = np.asarray(array(actual), dtype=np.float64), np.asarray(expected, dtype=np.float64)
    expect(a.shape == e.shape, f"{what}: shape {a.shape}, expected {e.shape}")
    bad = ~(np.abs(a - e) <= atol + rtol * np.abs(e))  # NaN is bad too
    if bad.any():
        i = tuple(int(k) for k in np.argwhere(bad)[0])
        raise CheckFailed(
            f"{what}: {a[i]:.6g} at index {i}, expected {e[i]:.6g} ({int(bad.sum())} of {bad.size} wrong)"
        )


def same_shape_and_dtype(grad: Any, like: tl.Tensor, what: str) -> None:
    expect(grad is not None, f"{what}: no gradient")
    expect(tuple(grad.shape) == tuple(like.shape), f"{what}: gradient of shape {tuple(grad.shape)}, input {like.shape}")
    expect(grad.dtype == like.dtype, f"{what}: gradient of dtype {grad.dtype}, input {like.dtype}")


def outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def backward(result: Any, cotangents: Sequence[np.ndarray | None]) -> None:
    """Backpropagate one cotangent per output (None skips one), one output at a time."""
    for out, u in zip(outputs(result), cotangents):
        if u is not None:
            out.backward(tl.tensor(u.astype(out.dtype)), retain_graph=True)


def numeric_gradient(f: Callable[..., float], arrays: list[np.ndarray], i: int, eps: float = 1e-6) -> np.ndarray:
    """d f / d arrays[i] by central differences, element by element."""
    x = arrays[i]
    grad = np.zeros_like(x)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f(*arrays)
        x[index] = old - eps
        minus = f(*arrays)
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def gradcheck(
    what: str, tl_fn: Callable[..., Any], np_fn: Callable[..., Any], arrays: Sequence[np.ndarray],
    names: Sequence[str], seed: int = 0, rtol: float = 1e-5, atol: float = 1e-7,
) -> None:  # fmt: skip
    """The package's gradients of ``tl_fn`` equal central differences of ``np_fn``, in float64.

    ``arrays`` are float64 inputs: those whose name is in ``names`` become tensors that
    require grad; the others are passed to ``tl_fn`` as they are. Random cotangents weight
    the outputs, so every output and every element counts.
    """
    arrays = [np.array(a) for a in arrays]
    params = [i for i, a in enumerate(arrays) if i < len(names) and names[i]]
    r = rng(seed)
    cotangents = [r.standard_normal(np.shape(o)) for o in outputs(np_fn(*arrays))]
    tensors = [tl.tensor(a, requires_grad=True) if i in params else a for i, a in enumerate(arrays)]
    backward(tl_fn(*tensors), cotangents)

    def s(*xs: np.ndarray) -> float:
        return float(sum((u * o).sum() for u, o in zip(cotangents, outputs(np_fn(*xs)))))

    for i in params:
        expect(tensors[i].grad is not None, f"{what}: no gradient reached {names[i]}")
        close(tensors[i].grad, numeric_gradient(s, arrays, i), f"{what}: d/d{names[i]}", rtol, atol)


def train(loss_fn: Callable[[], Any], optimizer: Any, steps: int) -> tuple[float, float]:
    """``steps`` steps of ``optimizer`` on the loss that ``loss_fn()`` computes; the first and last loss."""
    losses = []
    for _ in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    expect(np.isfinite(losses[-1]), f"the loss became {losses[-1]}")
    return losses[0], losses[-1]


def sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x))


def softmax(s: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(s - s.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)
