"""A training run for tests/test_interrupt.py, meant to be stopped by a real SIGINT.

    python interrupt_child.py CHECKPOINT_DIR OUT.npz [--resume]

It trains a small network with dropout, gradient accumulation, a learning-rate
schedule, a shuffling DataLoader and evaluations, and writes its final weights and
History (without times) to OUT.npz. It prints "step N" after every optimizer step, so
that the parent can aim its SIGINT at a moment inside ``fit``.
"""

from __future__ import annotations

import json
import signal
import sys

import numpy as np

import tinyllm as tl
from tinyllm.data import DataLoader

STEPS = 320


def examples(n: int, seed: int) -> list[tuple[np.ndarray, int]]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 16))
    return [(row, int(row[:4].sum() > 0)) for row in x]


def collate(batch: list[tuple[np.ndarray, int]]) -> tuple[tl.Tensor, tl.Tensor]:
    return tl.tensor(np.stack([x for x, _ in batch])), tl.tensor([y for _, y in batch])


def main() -> None:
    directory, out, resume = sys.argv[1], sys.argv[2], "--resume" in sys.argv
    tl.manual_seed(0)
    model = tl.nn.Sequential(
        tl.nn.Linear(16, 64), tl.nn.ReLU(), tl.nn.Dropout(0.3), tl.nn.Linear(64, 64), tl.nn.ReLU(),
        tl.nn.Dropout(0.3), tl.nn.Linear(64, 2),
    ).double()
    optimizer = tl.optim.Adam(model.parameters(), lr=3e-3)
    scheduler = tl.optim.lr_scheduler.StepLR(optimizer, step_size=40, gamma=0.5)
    train = DataLoader(examples(512, 1), batch_size=32, shuffle=True, seed=3, collate_fn=collate)
    val = DataLoader(examples(64, 2), batch_size=64, collate_fn=collate)

    def announce(step: int, history: tl.train.History) -> None:
        print(f"step {step}", flush=True)

    history = tl.train.fit(
        model, optimizer, train, steps=STEPS, accumulate=2, scheduler=scheduler, val_loader=val, eval_every=25,
        checkpoint_dir=directory, resume=resume, callback=announce, progress=False,
    )
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # a signal that comes after fit changes nothing
    steps = [{k: v for k, v in r.items() if k != "time"} for r in history.steps]
    evals = [{k: v for k, v in r.items() if k != "time"} for r in history.evals]
    np.savez(
        out, *[p.data for p in model.parameters()], interrupted=history.interrupted,
        history=json.dumps({"steps": steps, "evals": evals}),
    )


if __name__ == "__main__":
    main()
