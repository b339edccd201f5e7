"""What every probe uses: the registry, seeded inputs, and the ways to make the package compute.

A probe drives the package being graded and reports what it sees through ``seen(label,
value)``; it computes no expected value and decides nothing. The grader runs the same
probe, with the same seed, on the reference package, and compares the two reports label by
label (see :mod:`tinyllm.assignment.verdict`). A probe that raises ends its check there.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

import tinyllm as tl

#: ``seen(label, value)``: report one value (an array, a tensor, a number or a shape).
Seen = Callable[[str, Any], None]
PROBES: dict[str, Callable[[Seen, int], None]] = {}


def probe(fn: Callable[[Seen, int], None]) -> Callable[[Seen, int], None]:
    """Register a probe under its function's name (the check's name in the task table)."""
    PROBES[fn.__name__] = fn
    return fn


def rng(seed: int, stream: int) -> np.random.Generator:
    """Inputs for one probe: the grader's seed (unknown to the package in advance) and the probe's stream."""
    return np.random.default_rng([seed, stream])


def manual_seed(seed: int) -> None:
    """Seed the package's own generator (weight initialization, dropout) the same way on both sides."""
    tl.manual_seed(seed % 2**31)


def shape_and_dtype(seen: Seen, label: str, t: Any) -> None:
    """Report a gradient's (or tensor's) shape and dtype: the shape stage's evidence."""
    if t is None:
        seen(label, None)
    else:
        seen(label, [list(t.shape), str(t.dtype)])


def outputs(result: Any) -> list[Any]:
    return list(result) if isinstance(result, (tuple, list)) else [result]


def backward(result: Any, cotangents: Sequence[np.ndarray | None]) -> None:
    """Backpropagate one cotangent per output (None skips one), one output at a time."""
    for out, u in zip(outputs(result), cotangents):
        if u is not None:
            out.backward(tl.tensor(u.astype(out.dtype)), retain_graph=True)


def grads(op: Callable[..., Any], *arrays: np.ndarray, u: np.ndarray | Sequence[np.ndarray]) -> list[Any]:
    """The gradients that backpropagating ``u`` through ``op(*arrays)`` leaves on each input."""
    xs = [tl.tensor(a, requires_grad=True) for a in arrays]
    backward(op(*xs), [u] if isinstance(u, np.ndarray) else list(u))
    return [x.grad for x in xs]


def gradients(seen: Seen, what: str, fn: Callable[..., Any], arrays: Sequence[np.ndarray], names: Sequence[str],
              seed: int) -> None:  # fmt: skip
    """Report the gradients of ``fn`` in float64 with random cotangents on every output.

    ``arrays`` whose name is given (not "") become tensors that require grad; the others
    are passed to ``fn`` as they are. Random cotangents weight the outputs, so every
    output and every element counts.
    """
    tensors = [tl.tensor(np.array(a), requires_grad=bool(n)) if n else a
               for a, n in zip(arrays, [*names, *[""] * len(arrays)])]  # fmt: skip
    result = outputs(fn(*tensors))
    r = np.random.default_rng([seed, 99])
    backward(result, [r.standard_normal(tuple(o.shape)) for o in result])
    for t, n in zip(tensors, names):
        if n:
            seen(f"{what}: d/d{n}", t.grad)


def train(seen: Seen, what: str, loss_fn: Callable[[], Any], optimizer: Any, steps: int) -> None:
    """``steps`` steps of ``optimizer`` on ``loss_fn()``; report the loss at the start, along the way and at the end."""
    report = {0, steps // 4, steps // 2, steps - 1}
    for step in range(steps):
        loss = loss_fn()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step in report:
            seen(f"{what}: loss at step {step}", loss.item())
