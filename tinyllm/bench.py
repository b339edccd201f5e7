"""``tinyllm bench``: time training steps in tinyllm and, when installed, in PyTorch, side by side.

A training step is zero_grad + forward + loss + backward + optimizer step, in
float32. Each workload runs warm-up steps, then timed steps in rounds that
alternate between tinyllm and PyTorch, so both see the same machine conditions;
the table reports the median milliseconds per step and the median over rounds
of the ratio tinyllm / PyTorch (below 1: tinyllm is faster).

- ``lstm-clf`` (W1): the seed's TextClassifier — Embedding(5000, 128), a 2-layer
  LSTM(256) with dropout 0.5 over a packed batch of 64 sequences of lengths
  uniform in [10, 80], dropout 0.5, Linear(256, 2); cross-entropy; Adam(lr=1e-3).
- ``gpt-char`` (W2): GPT(vocab 65, block 64, 4 layers, 4 heads, 128 wide, tied
  embeddings), batch 12; AdamW(lr=1e-3, weight_decay=0.1). Also tokens/s, and the
  achieved GFLOP/s as a share of W4's.
- ``mlp-overhead`` (W3): batch 8, 32 -> 32 (ReLU) -> 4, MSE, SGD(lr=0.01). The arrays
  are tiny, so the time is almost all framework overhead (Python, dispatch, graph).
- ``gemm`` (W4): one 1024 x 1024 float32 matmul through the array library (NumPy
  or CuPy; torch.mm for PyTorch): the practical arithmetic peak of the machine.

Peak memory is measured apart, each framework in a fresh process: on the CPU the
rise of the resident set's high-water mark over the first steps (Linux), on a GPU
the memory pool's high-water mark. The process keeps freed memory for reuse
(:func:`tinyllm.runtime.keep_freed_memory`), which speeds up both frameworks.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

import numpy

import tinyllm as tl
from tinyllm import backend, runtime

Step = Callable[[], None]
Builder = Callable[[str], Step]


@dataclass(frozen=True)
class Workload:
    name: str
    tinyllm: Builder
    torch: Builder
    tokens_per_step: int = 0
    flops_per_step: float = 0.0


@dataclass
class Result:
    workload: str
    device: str
    tinyllm_ms: float
    torch_ms: float | None = None
    ratio: float | None = None  # median over rounds of tinyllm / torch
    tokens_per_s: float | None = None
    torch_tokens_per_s: float | None = None
    gflops: float | None = None
    torch_gflops: float | None = None
    peak_fraction: float | None = None  # gflops / W4's gflops, same framework
    tinyllm_peak_mb: float | None = None
    torch_peak_mb: float | None = None


# ----------------------------------------------------------------------------- data


def _lstm_batch(seed: int = 0) -> tuple[numpy.ndarray, numpy.ndarray, numpy.ndarray]:
    rng = numpy.random.default_rng(seed)
    lengths = rng.integers(10, 81, 64)
    text = numpy.zeros((64, int(lengths.max())), dtype=numpy.int64)
    for i, n in enumerate(lengths):
        text[i, :n] = rng.integers(1, 5000, n)
    return text, lengths, rng.integers(0, 2, 64)


GPT_SHAPE = {"vocab_size": 65, "block_size": 64, "n_layer": 4, "n_head": 4, "n_embd": 128}
GPT_BATCH = 12


def gpt_flops_per_step() -> float:
    """Multiply-adds x 2 of a GPT training step: 6 N per token for the N weights that multiply
    activations (forward 2N, backward 4N), plus 12 L T C per token for attention scores and
    their weighted sums (all T keys, as computed)."""
    C, L, V, T = GPT_SHAPE["n_embd"], GPT_SHAPE["n_layer"], GPT_SHAPE["vocab_size"], GPT_SHAPE["block_size"]
    matmul_weights = L * (3 * C * C + C * C + 8 * C * C) + V * C
    tokens = GPT_BATCH * T
    return tokens * (6 * matmul_weights + 12 * L * T * C)


# ----------------------------------------------------------------------------- tinyllm steps


def lstm_clf_tinyllm(device: str) -> Step:
    from tinyllm.models import TextClassifier

    tl.manual_seed(0)
    model = TextClassifier(5000, 128, 256, 2, n_layers=2, dropout=0.5).to(device)
    opt = tl.optim.Adam(model.parameters(), lr=1e-3)
    text, lengths, labels = _lstm_batch()
    x, y, n = tl.tensor(text, device=device), tl.tensor(labels, device=device), tl.tensor(lengths)

    def step() -> None:
        opt.zero_grad()
        tl.nn.functional.cross_entropy(model(x, n), y).backward()
        opt.step()
        sync(device)

    return step


def gpt_char_tinyllm(device: str) -> Step:
    from tinyllm.bench_gpt import tinyllm_train_step  # it builds on this module's W2 constants

    return tinyllm_train_step(GPT_SHAPE, device)


def mlp_overhead_tinyllm(device: str) -> Step:
    tl.manual_seed(0)
    nn = tl.nn
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
    opt = tl.optim.SGD(model.parameters(), lr=0.01)
    x, target = tl.randn(8, 32, device=device), tl.randn(8, 4, device=device)

    def step() -> None:
        opt.zero_grad()
        tl.nn.functional.mse_loss(model(x), target).backward()
        opt.step()
        sync(device)

    return step


def gemm_tinyllm(device: str) -> Step:
    xp = backend.array_module(backend.as_device(device))
    rng = numpy.random.default_rng(0)
    a, b = (xp.asarray(rng.standard_normal((1024, 1024), dtype=numpy.float32)) for _ in range(2))

    def step() -> None:
        a @ b
        sync(device)

    return step


# ----------------------------------------------------------------------------- PyTorch steps


def import_torch() -> Any:
    import torch  # optional: only the benchmark compares against it

    return torch


def lstm_clf_torch(device: str) -> Step:
    torch = import_torch()
    nn = torch.nn
    torch.manual_seed(0)

    class TextClassifier(nn.Module):  # the seed's section-5 model
        def __init__(self) -> None:
            super().__init__()
            self.embedding = nn.Embedding(5000, 128)
            self.lstm = nn.LSTM(128, 256, num_layers=2, dropout=0.5, batch_first=True)
            self.fc = nn.Linear(256, 2)
            self.dropout = nn.Dropout(0.5)

        def forward(self, text: Any, lengths: Any) -> Any:
            packed = nn.utils.rnn.pack_padded_sequence(
                self.embedding(text), lengths, batch_first=True, enforce_sorted=False
            )
            _, (hidden, _) = self.lstm(packed)
            return self.fc(self.dropout(hidden[-1]))

    model = TextClassifier().to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    text, lengths, labels = _lstm_batch()
    x, y, n = torch.tensor(text, device=device), torch.tensor(labels, device=device), torch.tensor(lengths)

    def step() -> None:
        opt.zero_grad()
        nn.functional.cross_entropy(model(x, n), y).backward()
        opt.step()
        torch_sync(device)

    return step


def gpt_char_torch(device: str) -> Step:
    from tinyllm.bench_gpt import torch_train_step

    return torch_train_step(GPT_SHAPE, device)


def mlp_overhead_torch(device: str) -> Step:
    torch = import_torch()
    torch.manual_seed(0)
    nn = torch.nn
    model = nn.Sequential(nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 4)).to(device)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x, target = torch.randn(8, 32, device=device), torch.randn(8, 4, device=device)

    def step() -> None:
        opt.zero_grad()
        nn.functional.mse_loss(model(x), target).backward()
        opt.step()
        torch_sync(device)

    return step


def gemm_torch(device: str) -> Step:
    torch = import_torch()
    rng = numpy.random.default_rng(0)
    a, b = (torch.tensor(rng.standard_normal((1024, 1024), dtype=numpy.float32), device=device) for _ in range(2))

    def step() -> None:
        torch.mm(a, b)
        torch_sync(device)

    return step


def sync(device: str) -> None:
    """Wait for the GPU's queued work, so that a step's time is its work's (CuPy runs asynchronously)."""
    if device != "cpu":
        backend.cupy().cuda.Device().synchronize()


def torch_sync(device: str) -> None:
    if device != "cpu":
        import_torch().cuda.synchronize()


WORKLOADS: dict[str, Workload] = {
    w.name: w
    for w in [
        Workload("lstm-clf", lstm_clf_tinyllm, lstm_clf_torch),
        Workload(
            "gpt-char", gpt_char_tinyllm, gpt_char_torch, GPT_BATCH * GPT_SHAPE["block_size"], gpt_flops_per_step()
        ),
        Workload("mlp-overhead", mlp_overhead_tinyllm, mlp_overhead_torch),
        Workload("gemm", gemm_tinyllm, gemm_torch, 0, 2.0 * 1024**3),
    ]
}

# (rounds, steps per round, warm-up steps) per workload: long runs for big steps are slow
FULL = {"lstm-clf": (7, 3, 2), "gpt-char": (7, 5, 3), "mlp-overhead": (20, 50, 50), "gemm": (7, 10, 3)}
QUICK = {"lstm-clf": (1, 1, 1), "gpt-char": (1, 1, 1), "mlp-overhead": (2, 5, 2), "gemm": (1, 2, 1)}


# ----------------------------------------------------------------------------- timing


def _time_steps(step: Step, n: int) -> list[float]:
    times = []
    for _ in range(n):
        start = time.perf_counter()
        step()
        times.append(time.perf_counter() - start)
    return times


def _make_torch_step(w: Workload, device: str) -> Step | None:
    try:
        return w.torch(device)
    except ImportError:
        return None


def time_workload(w: Workload, device: str, rounds: int, steps: int, warmup: int) -> Result:
    tl_step, torch_step = w.tinyllm(device), _make_torch_step(w, device)
    _time_steps(tl_step, warmup)
    if torch_step is not None:
        _time_steps(torch_step, warmup)
    ours, theirs = [], []
    for _ in range(rounds):
        ours.append(statistics.median(_time_steps(tl_step, steps)))
        if torch_step is not None:
            theirs.append(statistics.median(_time_steps(torch_step, steps)))
    r = Result(w.name, device, statistics.median(ours) * 1e3)
    if theirs:
        r.torch_ms = statistics.median(theirs) * 1e3
        r.ratio = float(numpy.median(numpy.array(ours) / numpy.array(theirs)))
    if w.tokens_per_step:
        r.tokens_per_s = w.tokens_per_step / (r.tinyllm_ms / 1e3)
        r.torch_tokens_per_s = w.tokens_per_step / (r.torch_ms / 1e3) if r.torch_ms else None
    if w.flops_per_step:
        r.gflops = w.flops_per_step / (r.tinyllm_ms / 1e3) / 1e9
        r.torch_gflops = w.flops_per_step / (r.torch_ms / 1e3) / 1e9 if r.torch_ms else None
    return r


# ----------------------------------------------------------------------------- peak memory


def _rss_kb(field: str) -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(f"{field} not in /proc/self/status")


def measure_peak_mb(name: str, framework: str, device: str, steps: int = 3) -> float:
    """In this process: build the workload, then report how far memory rose, over ``steps``
    steps, above its level before the first step (MB): activations, gradients, optimizer
    state and the framework's own buffers, everything a training step adds to the model."""
    runtime.keep_freed_memory()  # as in the timed runs
    w = WORKLOADS[name]
    step = (w.tinyllm if framework == "tinyllm" else w.torch)(device)
    if device == "cpu":
        before = _rss_kb("VmRSS")
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")  # reset the high-water mark VmHWM to the current resident set
        for _ in range(steps):
            step()
        return (_rss_kb("VmHWM") - before) / 1024
    if framework == "tinyllm":
        pool = backend.cupy().get_default_memory_pool()
        before = pool.used_bytes()
        for _ in range(steps):
            step()
        return (pool.total_bytes() - before) / 2**20
    torch = import_torch()
    torch.cuda.reset_peak_memory_stats()
    before = torch.cuda.memory_allocated()
    for _ in range(steps):
        step()
    return (torch.cuda.max_memory_allocated() - before) / 2**20


def _peak_in_subprocess(name: str, framework: str, device: str) -> float | None:
    code = f"from tinyllm.bench import measure_peak_mb; print(measure_peak_mb({name!r}, {framework!r}, {device!r}))"
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        return None
    return float(done.stdout.strip().splitlines()[-1])


# ----------------------------------------------------------------------------- the table


def run(names: list[str], device: str = "cpu", quick: bool = False, memory: bool = True) -> list[Result]:
    plan = QUICK if quick else FULL
    runtime.keep_freed_memory()  # for both frameworks alike: see its docstring
    results = [time_workload(WORKLOADS[n], device, *plan[n]) for n in names]
    gemm = {r.workload: r for r in results}.get("gemm")
    for r in results:
        if r.gflops is not None and gemm is not None and r.workload != "gemm" and gemm.gflops:
            r.peak_fraction = r.gflops / gemm.gflops
        if memory and r.workload in ("lstm-clf", "gpt-char") and (device != "cpu" or sys.platform == "linux"):
            r.tinyllm_peak_mb = _peak_in_subprocess(r.workload, "tinyllm", device)
            if r.torch_ms is not None:
                r.torch_peak_mb = _peak_in_subprocess(r.workload, "torch", device)
    return results


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def table(results: list[Result]) -> str:
    head = (f"{'workload':<13}{'tinyllm ms':>11}{'torch ms':>10}{'ratio':>7}{'tok/s':>9}{'torch tok/s':>12}"
            f"{'GFLOP/s':>9}{'of W4':>7}{'peak MB':>9}{'torch MB':>9}")  # fmt: skip
    lines = [head]
    for r in results:
        lines.append(
            f"{r.workload:<13}{r.tinyllm_ms:>11.3f}{_fmt(r.torch_ms, '.3f'):>10}{_fmt(r.ratio, '.2f'):>7}"
            f"{_fmt(r.tokens_per_s, ',.0f'):>9}{_fmt(r.torch_tokens_per_s, ',.0f'):>12}"
            f"{_fmt(r.gflops, '.1f'):>9}{_fmt(r.peak_fraction, '.0%'):>7}"
            f"{_fmt(r.tinyllm_peak_mb, '.1f'):>9}{_fmt(r.torch_peak_mb, '.1f'):>9}"
        )
    return "\n".join(lines)


def main(workloads: list[str] | None = None, device: str = "cpu", as_json: bool = False, quick: bool = False,
         memory: bool = True) -> list[Result]:  # fmt: skip
    """Time the workloads (default: all) and print the table or JSON.

    An unknown workload raises ``ValueError``; a device without CuPy or a GPU raises ``DeviceError``
    naming what is missing, before anything runs.
    """
    names = workloads or list(WORKLOADS)
    for name in names:
        if name not in WORKLOADS:
            raise ValueError(f"bench: unknown workload {name!r}; choose from {', '.join(WORKLOADS)}")
    backend.as_device(device)
    results = run(names, device, quick, memory)
    if as_json:
        print(json.dumps([asdict(r) for r in results], indent=2))
    else:
        torch_version = _torch_version() or "not installed"
        print(f"tinyllm {tl.__version__}, numpy {numpy.__version__}, torch {torch_version}, device {device}, "
              f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")  # fmt: skip
        print(table(results))
    return results


def header(device: str) -> str:
    """The line above a table: versions, device, CPUs, date."""
    torch_version = _torch_version() or "not installed"
    return (f"tinyllm {tl.__version__}, numpy {numpy.__version__}, torch {torch_version}, device {device}, "
            f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")  # fmt: skip


def _torch_version() -> str | None:
    try:
        return str(import_torch().__version__)
    except ImportError:
        return None
