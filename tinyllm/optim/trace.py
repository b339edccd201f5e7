"""Recording each optimization step, number by number: ``with tl.optim.trace(opt) as log:``.

While the block runs, every ``opt.step()`` appends one entry per updated
parameter with the quantities of its update — for SGD the gradient ``g``, the
``velocity`` (with momentum) and the change ``delta``; for Adam ``g``, ``m``,
``v``, ``m_hat``, ``v_hat`` and ``delta`` — and the ``lr`` in force. Outside a
trace the optimizers skip this bookkeeping entirely.

    with tl.optim.trace(opt, names=model) as log:
        for batch in batches:
            ...; opt.step()
    log.series("fc.weight", "delta")     # one array per step
    print(log.table(step=0))             # every quantity of the first step
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.optim.optimizer import Optimizer
from tinyllm.tensor import Tensor


class StepLog:
    """The recorded steps: ``log[k]`` is step k, a dict from parameter name to its quantities."""

    def __init__(self, names: dict[int, str]) -> None:
        self.steps: list[dict[str, dict[str, Any]]] = []
        self._names = names

    def begin_step(self) -> None:
        self.steps.append({})

    def record(self, optimizer: Optimizer, p: Tensor, quantities: dict[str, Any]) -> None:
        name = self._names.get(id(p)) or f"param{len(self._names)}"
        self._names.setdefault(id(p), name)
        self.steps[-1][name] = {k: _host(v) for k, v in quantities.items()}

    def __len__(self) -> int:
        return len(self.steps)

    def __getitem__(self, k: int) -> dict[str, dict[str, Any]]:
        return self.steps[k]

    def __iter__(self) -> Iterator[dict[str, dict[str, Any]]]:
        return iter(self.steps)

    def series(self, param: str, key: str) -> numpy.ndarray:
        """One quantity of one parameter across the steps, stacked: shape (steps, *param.shape)."""
        values = [step[param][key] for step in self.steps if param in step]
        if not values:
            raise KeyError(f"trace: no step recorded {key!r} for parameter {param!r}")
        return numpy.stack([numpy.asarray(v) for v in values])

    def table(self, step: int = -1, max_elements: int = 4) -> str:
        """The quantities of one step as text: a row per parameter and quantity, first elements shown."""
        rows = [f"step {step if step >= 0 else len(self.steps) + step}"]
        for name, quantities in self.steps[step].items():
            for key, value in quantities.items():
                flat = numpy.asarray(value).reshape(-1)
                shown = ", ".join(f"{x: .6g}" for x in flat[:max_elements])
                more = ", ..." if flat.size > max_elements else ""
                rows.append(f"  {name:<24} {key:<10} [{shown}{more}]")
        return "\n".join(rows)


class trace:
    """Context manager that records the optimizer's steps into a :class:`StepLog`.

    ``names``: a Module (its ``named_parameters()`` name the entries) or a dict
    from name to parameter; parameters without a name are called ``param<i>``.
    """

    def __init__(self, optimizer: Optimizer, names: Any = None) -> None:
        self.optimizer = optimizer
        pairs = names.named_parameters() if hasattr(names, "named_parameters") else (names or {}).items()
        mapping = {id(p): n for n, p in pairs}
        for i, p in enumerate(p for g in optimizer.param_groups for p in g["params"]):
            mapping.setdefault(id(p), f"param{i}")
        self.log = StepLog(mapping)

    def __enter__(self) -> StepLog:
        self.optimizer._tracers.append(self)
        return self.log

    def __exit__(self, *exc: object) -> None:
        self.optimizer._tracers.remove(self)

    def begin_step(self) -> None:
        self.log.begin_step()

    def record(self, optimizer: Optimizer, p: Tensor, quantities: dict[str, Any]) -> None:
        self.log.record(optimizer, p, quantities)


def _host(v: Any) -> Any:
    if hasattr(v, "shape"):
        return backend.to_device(v, backend.CPU).copy()
    return v
