"""``tinyllm bench``: time training steps in tinyllm and, when installed, in PyTorch.

A training step is zero_grad + forward + loss + backward + optimizer step. Each
workload runs a few warm-up steps, then timed steps in rounds that alternate
between tinyllm and PyTorch, so both see the same machine conditions; the table
reports median milliseconds per step and the median ratio tinyllm / PyTorch.

Workloads so far:

- ``mlp-overhead``: batch 8, 32 -> 32 (ReLU) -> 4, MSE loss, plain SGD. The arrays
  are tiny, so the time is almost all framework overhead (Python, dispatch, graph).
"""

from __future__ import annotations

import json
import statistics
import time
from dataclasses import asdict, dataclass
from typing import Any, Callable

import numpy

import tinyllm as tl

Step = Callable[[], None]


@dataclass
class Result:
    workload: str
    tinyllm_ms: float
    torch_ms: float | None
    ratio: float | None  # median over rounds of tinyllm / torch

    def row(self) -> str:
        torch_ms = "-" if self.torch_ms is None else f"{self.torch_ms:.4f}"
        ratio = "-" if self.ratio is None else f"{self.ratio:.2f}"
        return f"{self.workload:<14} {self.tinyllm_ms:>12.4f} {torch_ms:>12} {ratio:>8}"


def mlp_overhead_tinyllm(seed: int = 0) -> Step:
    """The MLP step in tinyllm, parameters as plain tensors (the nn layer arrives with issue 3)."""
    tl.manual_seed(seed)
    w1 = (tl.randn(32, 32) * (1 / 32**0.5)).requires_grad_()
    b1 = tl.zeros(32, requires_grad=True)
    w2 = (tl.randn(32, 4) * (1 / 32**0.5)).requires_grad_()
    b2 = tl.zeros(4, requires_grad=True)
    params = [w1, b1, w2, b2]
    x, target = tl.randn(8, 32), tl.randn(8, 4)

    def step() -> None:
        for p in params:
            p.grad = None
        y = (x @ w1 + b1).relu() @ w2 + b2
        loss = ((y - target) ** 2).mean()
        loss.backward()
        with tl.no_grad():
            for p in params:
                p.sub_(p.grad, alpha=0.01)

    return step


def mlp_overhead_torch(seed: int = 0) -> Step:
    """The same step written as a PyTorch user would: nn.Linear, F.mse_loss, optim.SGD."""
    import torch  # noqa: PLC0415 (optional: only the benchmark compares against it)

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(32, 32), torch.nn.ReLU(), torch.nn.Linear(32, 4))
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, target = torch.randn(8, 32), torch.randn(8, 4)

    def step() -> None:
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x), target)
        loss.backward()
        opt.step()

    return step


WORKLOADS: dict[str, tuple[Callable[[], Step], Callable[[], Step]]] = {
    "mlp-overhead": (mlp_overhead_tinyllm, mlp_overhead_torch),
}


def _time_steps(step: Step, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def run_workload(name: str, rounds: int = 20, steps_per_round: int = 50, warmup: int = 50) -> Result:
    make_tl, make_torch = WORKLOADS[name]
    tl_step = make_tl()
    try:
        torch_step: Step | None = make_torch()
    except ImportError:
        torch_step = None
    _time_steps(tl_step, warmup)
    if torch_step is not None:
        _time_steps(torch_step, warmup)
    tl_medians, torch_medians = [], []
    for _ in range(rounds):
        tl_medians.append(statistics.median(_time_steps(tl_step, steps_per_round)))
        if torch_step is not None:
            torch_medians.append(statistics.median(_time_steps(torch_step, steps_per_round)))
    tl_ms = statistics.median(tl_medians) * 1e3
    if torch_step is None:
        return Result(name, tl_ms, None, None)
    ratio = float(numpy.median(numpy.array(tl_medians) / numpy.array(torch_medians)))
    return Result(name, tl_ms, statistics.median(torch_medians) * 1e3, ratio)


def main(workloads: list[str] | None = None, as_json: bool = False, rounds: int = 20) -> list[Result]:
    names = workloads or list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            raise SystemExit(f"tinyllm bench: unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    results = [run_workload(name, rounds=rounds) for name in names]
    versions = f"tinyllm {tl.__version__}, numpy {numpy.__version__}, torch {_torch_version() or 'not installed'}"
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        print(versions)
        print(f"{'workload':<14} {'tinyllm ms':>12} {'torch ms':>12} {'ratio':>8}")
        for r in results:
            print(r.row())
    return results


def _torch_version() -> Any:
    try:
        import torch  # noqa: PLC0415

        return torch.__version__
    except ImportError:
        return None
