"""``tinyllm bench --sweep``: how W2's training step costs as the model grows, tinyllm against PyTorch.

W2's GPT (4 layers, 4 heads, vocabulary 65, batch 12, AdamW) at contexts 64, 128,
256 and 512 (128 wide), and at widths 128, 256 and 512 (context 64); every point
is a full training step on full windows, timed as ``tinyllm bench`` times a
workload (warm-up, then rounds alternating between the frameworks; medians).
Both frameworks run on one CPU thread by default (see :func:`main`).
The cost of a step grows as B T (12 L C^2 + 2 L T C): linearly in the context
where the weights' products dominate, quadratically once attention's T x T
scores do (at T > 6 C), and quadratically in the width. The table gives both
frameworks' milliseconds and tokens per second at each point and the ratio
tinyllm / PyTorch, whose worst value over the sweep is stated; the figure draws
the curves on log axes, to ``figures/bench/cpu/sweep.png`` by default (``cuda`` for the GPU).
"""

from __future__ import annotations

import json
import math
import sys
import tempfile
from dataclasses import asdict, dataclass
from pathlib import Path

from tinyllm import backend, runtime
from tinyllm.bench import GPT_BATCH, GPT_SHAPE, Result, Workload, header, time_workload
from tinyllm.bench_gpt import cpu_threads, tinyllm_train_step, torch_train_step

CONTEXTS = (64, 128, 256, 512)
WIDTHS = (128, 256, 512)
QUICK_SHAPE = {"vocab_size": 65, "block_size": 8, "n_layer": 1, "n_head": 2, "n_embd": 16}
QUICK_CONTEXTS, QUICK_WIDTHS = (8, 16), (16, 32)
#: (rounds, steps per round, warm-up steps) per point
FULL_PLAN, QUICK_PLAN = (5, 3, 2), (1, 1, 1)


@dataclass
class Point:
    context: int
    width: int
    result: Result


def _time_point(shape: dict[str, int], device: str, plan: tuple[int, int, int]) -> Result:
    name = f"gpt T={shape['block_size']} C={shape['n_embd']}"
    w = Workload(name, lambda d: tinyllm_train_step(shape, d), lambda d: torch_train_step(shape, d),
                 tokens_per_step=GPT_BATCH * shape["block_size"])  # fmt: skip
    return time_workload(w, device, *plan)


def run_sweep(device: str = "cpu", quick: bool = False) -> list[Point]:
    """Time every point of the sweep (the base point, shared by both sweeps, once)."""
    base = QUICK_SHAPE if quick else GPT_SHAPE
    contexts, widths = (QUICK_CONTEXTS, QUICK_WIDTHS) if quick else (CONTEXTS, WIDTHS)
    plan = QUICK_PLAN if quick else FULL_PLAN
    sizes = [(t, base["n_embd"]) for t in contexts] + [(base["block_size"], c) for c in widths]
    points = []
    for t, c in dict.fromkeys(sizes):
        points.append(Point(t, c, _time_point({**base, "block_size": t, "n_embd": c}, device, plan)))
        print(f"timed context {t}, width {c}: {points[-1].result.tinyllm_ms:.1f} ms", file=sys.stderr, flush=True)
    return points


def worst(points: list[Point]) -> Point | None:
    """The point where tinyllm / PyTorch is largest (None without PyTorch)."""
    timed = [p for p in points if p.result.ratio is not None]
    return max(timed, key=lambda p: p.result.ratio) if timed else None  # type: ignore[arg-type, return-value]


def _fmt(x: float | None, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def sweep_table(points: list[Point]) -> str:
    lines = [f"{'context':>8}{'width':>7}{'tinyllm ms':>12}{'torch ms':>10}{'ratio':>7}{'tok/s':>9}{'torch tok/s':>13}"]
    for p in points:
        r = p.result
        lines.append(f"{p.context:>8}{p.width:>7}{r.tinyllm_ms:>12.1f}{_fmt(r.torch_ms, '.1f'):>10}"
                     f"{_fmt(r.ratio, '.2f'):>7}{_fmt(r.tokens_per_s, ',.0f'):>9}"
                     f"{_fmt(r.torch_tokens_per_s, ',.0f'):>13}")  # fmt: skip
    w = worst(points)
    if w is not None:
        lines.append(f"worst ratio tinyllm / PyTorch over the sweep: {w.result.ratio:.2f} "
                     f"(context {w.context}, width {w.width})")  # fmt: skip
    return "\n".join(lines)


def plot_sweep(points: list[Point], folder: str | Path, title: str) -> Path:
    """Milliseconds per step and tokens/s (log axes), and the ratio tinyllm / PyTorch when PyTorch
    ran, against the context (left) and the width (right)."""
    from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

    from tinyllm import plot

    base_c = min(p.width for p in points)
    base_t = min(p.context for p in points if p.width == base_c)
    columns = [("context", [p for p in points if p.width == base_c], f"context length T (width {base_c})"),
               ("width", [p for p in points if p.context == base_t], f"width C (context {base_t})")]  # fmt: skip
    curves = [
        ("ms per training step", "tinyllm_ms", "torch_ms"),
        ("tokens per second", "tokens_per_s", "torch_tokens_per_s"),
    ]
    with_torch = all(p.result.ratio is not None for p in points)
    fig, axes = plot.figure(ncols=2, nrows=3 if with_torch else 2, width=5.2, height=3.3)
    for col, (key, row, label) in enumerate(columns):
        x = [getattr(p, key) for p in row]
        for r, (unit, ours, theirs) in enumerate(curves):
            ax = axes[r, col]
            ax.plot(x, [getattr(p.result, ours) for p in row], "o-", color=plot.COLORS["tinyllm"], label="tinyllm")
            if with_torch:
                ax.plot(x, [getattr(p.result, theirs) for p in row], "o-", color=plot.COLORS["torch"], label="PyTorch")
            ax.set_yscale("log")
            ax.yaxis.set_major_locator(FixedLocator(_log_ticks(*ax.get_ylim())))
            ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:,.0f}" if v >= 1 else f"{v:g}"))
            ax.yaxis.set_minor_locator(NullLocator())
            ax.set_ylabel(unit)
        if with_torch:
            ax = axes[2, col]
            ax.plot(x, [p.result.ratio for p in row], "o-", color=plot.COLORS["tinyllm"])
            ax.axhline(1.0, color=plot.COLORS["floor"], ls="--", label="as fast as PyTorch")
            ax.set_ylim(0, max(1.5, 1.1 * max(p.result.ratio for p in row)))  # type: ignore[type-var]
            ax.set_ylabel("time ratio tinyllm / PyTorch")
            ax.legend(loc="lower right")
        for ax in axes[:, col]:
            ax.set_xscale("log", base=2)
            ax.set_xticks(x, [str(v) for v in x])
            ax.xaxis.set_minor_locator(NullLocator())
        axes[-1, col].set_xlabel(label)
    axes[0, 0].legend()
    axes[0, 0].set_title("Cost as the context grows")
    axes[0, 1].set_title("Cost as the width grows")
    fig.suptitle(title)
    return plot.save(fig, folder, "sweep")


def _log_ticks(lo: float, hi: float) -> list[float]:
    """Round numbers between ``lo`` and ``hi`` for a log axis: 1, 2 and 5 x 10^k, or every digit x 10^k
    when those give fewer than three (an axis spanning less than a decade, where matplotlib's own log
    locator labels one tick or none)."""
    decades = range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1)
    for digits in ((1, 2, 5), range(1, 10)):
        ticks = [m * 10.0**k for k in decades for m in digits if lo <= m * 10.0**k <= hi]
        if len(ticks) >= 3:
            break
    return ticks


def default_folder(device: str, quick: bool) -> Path:
    """``figures/bench/cpu`` or ``figures/bench/cuda`` (beside the lessons' figures); a quick run's figure
    goes to a temporary folder."""
    from tinyllm.lessons import figures_dir

    if quick:
        return Path(tempfile.mkdtemp(prefix="tinyllm-bench-"))
    return figures_dir() / "bench" / backend.as_device(device).type


def main(device: str = "cpu", quick: bool = False, as_json: bool = False, out: str | Path | None = None,
         threads: int | None = 1) -> list[Point]:  # fmt: skip
    """Run the sweep, print the table (or JSON) and draw the figure to ``out`` (default: :func:`default_folder`).

    ``threads``: CPU threads for both frameworks, 1 by default: on a 2-core machine that runs other
    work, two threads per library spin for a core they do not get, and W2's step took 470-635 ms
    instead of 90; None leaves each library's own setting (for a machine of one's own)."""
    backend.as_device(device)
    runtime.keep_freed_memory()  # as ``tinyllm bench`` does, for both frameworks alike
    with cpu_threads(threads):
        points = run_sweep(device, quick)
    base = QUICK_SHAPE if quick else GPT_SHAPE
    on = f"{device}, {threads} thread{'s' if threads != 1 else ''}" if threads else device
    title = (f"{base['n_layer']}-layer GPT, {base['n_head']} heads, batch {GPT_BATCH}, AdamW: one training step "
             f"({on})")  # fmt: skip
    path = plot_sweep(points, out or default_folder(device, quick), title)
    if as_json:
        print(json.dumps([{"context": p.context, "width": p.width, **asdict(p.result)} for p in points], indent=2))
    else:
        print(header(device))
        print(sweep_table(points))
        print(f"figure: {path}")
    return points
