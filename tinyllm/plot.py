"""One look for every figure the lessons draw: a small layer over matplotlib.

``figure(...)`` makes a figure in the shared style (readable at README size:
larger fonts, light grid, no top/right frame); ``save(fig, folder, name)``
writes it as PNG, shows that PNG inline when the code runs in a Jupyter kernel,
and closes the figure. Figures are drawn off-screen (the Agg backend) unless a
display (or a kernel's inline backend) is already in use, so lessons run the same
on a laptop, a server, in CI and in a notebook.
"""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import matplotlib

if os.environ.get("MPLBACKEND") is None and not os.environ.get("DISPLAY"):
    matplotlib.use("Agg")

import matplotlib.pyplot as plt  # after the backend is chosen

from tinyllm.runtime import in_notebook

#: Colours by role, the same in every lesson (matplotlib's colour-blind-safe "tab" set).
COLORS = {
    "train": "tab:blue",
    "val": "tab:orange",
    "test": "tab:red",
    "floor": "tab:gray",
    "tinyllm": "tab:blue",
    "torch": "tab:orange",
    "sgd": "tab:blue",
    "momentum": "tab:green",
    "adam": "tab:purple",
}

STYLE = {
    "figure.dpi": 110,
    "savefig.dpi": 130,
    "savefig.bbox": "tight",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "lines.linewidth": 1.8,
}


@contextmanager
def style() -> Iterator[None]:
    """The shared style, for a ``with`` block."""
    with plt.rc_context(STYLE):
        yield


def figure(ncols: int = 1, nrows: int = 1, width: float = 6.0, height: float = 4.0, **kwargs: Any) -> tuple[Any, Any]:
    """``(fig, axes)`` in the shared style; ``width`` and ``height`` are per panel, in inches."""
    with style():
        fig, axes = plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), squeeze=True, **kwargs)
    return fig, axes


def save(fig: Any, folder: str | os.PathLike[str], name: str) -> Path:
    """Write ``fig`` to ``folder/name.png`` (the folder is made if needed), close it, return the path.

    In a Jupyter kernel the same PNG is also shown inline, where the cell that drew it ran: the figure
    is closed either way, so the inline backend does not show it a second time at the cell's end.
    """
    path = Path(folder) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    png = io.BytesIO()
    with style():
        fig.tight_layout()
        fig.savefig(png, format="png")
    plt.close(fig)
    path.write_bytes(png.getvalue())
    if in_notebook():
        from IPython.display import Image, display

        display(Image(data=png.getvalue(), format="png"))
    return path


def draw_graph(root: Any, names: dict[int, str] | None = None, ax: Any = None) -> Any:
    """Draw the computation graph that produced the tensor ``root``: leaves on the left, each op
    a box labelled with its Function, arrows in the direction of the forward pass.

    ``names`` labels tensors (by ``id``) such as the inputs; each node also shows its
    value (when it holds one number) and, after backward, its gradient. Backward frees
    the graph: draw before it, or after ``backward(retain_graph=True)``.
    """
    names = names or {}
    nodes: dict[int, Any] = {}
    edges: list[tuple[int, int]] = []
    stack = [root]
    while stack:  # every tensor reachable from root, by following _ctx.inputs
        t = stack.pop()
        if id(t) in nodes:
            continue
        nodes[id(t)] = t
        if t.grad_fn is not None and t.grad_fn.inputs is not None:
            for inp in t.grad_fn.inputs:
                edges.append((id(inp), id(t)))
                stack.append(inp)
    depth: dict[int, int] = {}

    def level(i: int) -> int:
        if i not in depth:
            parents = [a for a, b in edges if b == i]
            depth[i] = 1 + max((level(a) for a in parents), default=-1)
        return depth[i]

    for i in nodes:
        level(i)
    columns: dict[int, list[int]] = {}
    for i in sorted(nodes, key=lambda i: (depth[i], names.get(i, ""))):
        columns.setdefault(depth[i], []).append(i)
    pos = {i: (d, -k + (len(col) - 1) / 2) for d, col in columns.items() for k, i in enumerate(col)}
    if ax is None:
        _, ax = figure(width=1.9 * (max(columns) + 1) + 1, height=1.2 * max(len(c) for c in columns.values()) + 1)
    for a, b in edges:
        (x0, y0), (x1, y1) = pos[a], pos[b]
        ax.annotate("", xy=(x1 - 0.28, y1), xytext=(x0 + 0.28, y0),
                    arrowprops={"arrowstyle": "->", "color": "0.4", "lw": 1.2})  # fmt: skip
    for i, t in nodes.items():
        x, y = pos[i]
        op = type(t.grad_fn).__name__ if t.grad_fn is not None else "input"
        label = names.get(i, op if t.grad_fn is not None else "leaf")
        if t.data.size == 1:
            label += f"\n= {float(t.data):.4g}"
        if t.grad is not None and t.grad.data.size == 1:
            label += f"\ngrad {float(t.grad.data):.4g}"
        leaf = t.grad_fn is None
        ax.text(x, y, label, ha="center", va="center", fontsize=9,
                bbox={"boxstyle": "circle,pad=0.4" if leaf else "round,pad=0.4",
                      "fc": "#dbe9f6" if leaf else "#fdebd0", "ec": "0.3"})  # fmt: skip
    ax.set_xlim(-0.6, max(columns) + 0.6)
    ys = [y for _, y in pos.values()]
    ax.set_ylim(min(ys) - 0.8, max(ys) + 0.8)
    ax.axis("off")
    return ax
