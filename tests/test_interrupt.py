"""Ctrl-C at any moment, then resume: the same weights and History as a run never stopped.

Each trial starts tests/interrupt_child.py (dropout, accumulation, a schedule, a
shuffling loader, evaluations with checkpoints), waits until it reports a random step,
sends it a real SIGINT after a further random fraction of a step (so the signal lands
anywhere: in a forward, a backward, an optimizer step, an evaluation, a checkpoint
write), then resumes it from its checkpoint in a new process and compares the result,
bit for bit, with a run that was never interrupted.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from interrupt_child import STEPS

CHILD = Path(__file__).with_name("interrupt_child.py")
TRIALS = 20

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(sys.platform == "win32", reason="sends POSIX signals"),
]


def _start(directory: Path, out: Path, *flags: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    return subprocess.Popen(
        [sys.executable, str(CHILD), str(directory), str(out), *flags],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip


def _finish(child: subprocess.Popen[str]) -> None:
    _, err = child.communicate(timeout=120)
    assert child.returncode == 0, err


def _result(out: Path) -> tuple[list[np.ndarray], dict, bool]:
    with np.load(out) as f:
        weights = [f[f"arr_{i}"] for i in range(len([k for k in f.files if k.startswith("arr_")]))]
        return weights, json.loads(str(f["history"])), bool(f["interrupted"])


def _wait_for_step(child: subprocess.Popen[str], step: int) -> None:
    assert child.stdout is not None
    for line in child.stdout:
        if line.strip() == f"step {step}":
            return
    raise AssertionError(f"the child ended before step {step}")


def test_a_run_stopped_by_sigint_at_random_moments_resumes_bit_identically(tmp_path: Path) -> None:
    straight = _start(tmp_path / "straight", tmp_path / "straight.npz")
    _wait_for_step(straight, 1)
    began = time.perf_counter()
    _finish(straight)
    seconds_per_step = (time.perf_counter() - began) / (STEPS - 1)
    want_weights, want_history, _ = _result(tmp_path / "straight.npz")

    rng = np.random.default_rng(0)
    interrupted = 0
    for trial in range(TRIALS):
        directory, out = tmp_path / f"run{trial}", tmp_path / f"run{trial}.npz"
        child = _start(directory, out)
        _wait_for_step(child, int(rng.integers(1, STEPS - 20)))
        time.sleep(rng.uniform(0, seconds_per_step))
        child.send_signal(signal.SIGINT)
        _finish(child)
        interrupted += _result(out)[2]
        resumed = _start(directory, out, "--resume")
        _finish(resumed)
        weights, history, _ = _result(out)
        assert len(weights) == len(want_weights)
        for got, want in zip(weights, want_weights):
            assert np.array_equal(got, want), f"trial {trial}: weights differ after resume"
        assert history == want_history, f"trial {trial}: History differs after resume"
    assert interrupted == TRIALS, f"only {interrupted} of {TRIALS} signals landed inside training"
