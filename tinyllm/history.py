"""``History``: what happened during ``fit``, step by step, with its exports and its figure."""

from __future__ import annotations

import csv
import json
import os
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy


@dataclass
class History:
    """What happened during ``fit``: one record per optimizer step and one per evaluation.

    ``steps``: dicts with step, epoch, loss (train, mean over the step's batches), lr,
    grad_norm (before clipping), time (seconds since the start). ``evals``: dicts with
    step, epoch, val_loss, val_<metric>..., time. ``loss_name``: what the loss is (the
    figure's axis label), set by ``fit`` from its ``loss_fn`` or ``step_fn``.
    """

    steps: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    best_step: int | None = None
    skipped_steps: list[int] = field(default_factory=list)  # steps not taken: nan or inf (on_nonfinite="skip")
    stopped_early: bool = False
    interrupted: bool = False
    loss_name: str = "loss"

    def series(self, key: str, evals: bool = False) -> numpy.ndarray:
        rows = self.evals if evals else self.steps
        return numpy.array([r[key] for r in rows])

    def to_json(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump(asdict(self), f, indent=1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**d)

    def to_csv(self, path: str | os.PathLike[str], which: str = "steps") -> None:
        """The per-step records (``which="steps"``) or the evaluations (``"evals"``) as CSV."""
        rows = self.steps if which == "steps" else self.evals
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Training loss per step and validation loss per evaluation, with the learning rate
        beneath; saved to ``path`` if given. Returns the matplotlib figure."""
        import matplotlib  # only plotting needs it

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(3, 1))
        if self.steps:
            ax.plot(self.series("step"), self.series("loss"), lw=0.8, alpha=0.7, label="train loss")
            ax_lr.plot(self.series("step"), self.series("lr"), color="tab:gray")
        if self.evals:
            ax.plot(self.series("step", True), self.series("val_loss", True), "o-", label="validation loss")
        if self.best_step is not None:
            ax.axvline(self.best_step, color="tab:green", ls=":", label="best (restored)")
        ax.set_ylabel(self.loss_name)
        ax.set_title("Training history")
        ax.legend()
        ax_lr.set_ylabel("learning rate")
        ax_lr.set_xlabel("optimizer step")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig
