"""Running the lessons: the options every lesson takes, and ``tinyllm lessons``.

A lesson is a script ``lessons/NN_name.py`` in percent-cell format. It begins with

    args = lessons.options(__file__)

which reads ``--quick`` (small sizes, for the tests), ``--device``, ``--seed``,
``--threads`` (BLAS threads, default 1) and ``--out`` (figures go to
``figures/NN_name/`` by default; a ``--quick`` run's go to a temporary folder, so
they never replace the full runs' figures), sets the threads and seeds tinyllm.
``tinyllm lessons [NAME ...] [--quick]`` runs lessons one after another, each in
its own process, and reports how long each took and whether its assertions held.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import tinyllm as tl

ROOT = Path(__file__).resolve().parents[1]
LESSONS_DIR = ROOT / "lessons"
FIGURES_DIR = ROOT / "figures"


def options(script: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse a lesson's options (unknown ones, e.g. a notebook kernel's, are ignored) and seed tinyllm."""
    name = Path(script).stem
    parser = argparse.ArgumentParser(prog=f"lessons/{name}.py")
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds instead of minutes")
    parser.add_argument("--device", default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every random draw")
    parser.add_argument("--out", default=None,
                        help=f"where figures go (default figures/{name}/; --quick: a temp folder)")  # fmt: skip
    parser.add_argument("--text", default=None, help="a plain-text file, for lessons that train on text")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: fastest for the lessons' small models)")  # fmt: skip
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    if args.out:
        args.out = Path(args.out)
    elif args.quick:  # quick figures never replace the full runs' figures committed in figures/
        args.out = Path(tempfile.gettempdir()) / "tinyllm-quick-figures" / name
    else:
        args.out = FIGURES_DIR / name
    args.name = name
    tl.runtime.set_num_threads(args.threads)
    tl.manual_seed(args.seed)
    return args


def available() -> list[Path]:
    """The lesson scripts, in order."""
    return sorted(p for p in LESSONS_DIR.glob("[0-9][0-9]_*.py"))


def find(name: str) -> Path:
    """A lesson by its number (``"01"``), its name (``"objective"``) or both (``"01_objective"``)."""
    matches = [p for p in available() if name in (p.stem, p.stem[:2], p.stem[3:])]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in available())
        raise SystemExit(f"tinyllm lessons: no single lesson matches {name!r}; the lessons are: {names}")
    return matches[0]


def run(names: list[str] | None = None, quick: bool = False, out: str | None = None,
        device: str = "cpu") -> int:  # fmt: skip
    """Run lessons in their own processes; print one line each; return how many failed."""
    scripts = [find(n) for n in names] if names else available()
    if not scripts:
        print(f"tinyllm lessons: no lessons found in {LESSONS_DIR}")
        return 1
    failed = 0
    for script in scripts:
        cmd = [sys.executable, str(script), "--device", device] + (["--quick"] if quick else [])
        if out is not None:
            cmd += ["--out", str(Path(out) / script.stem)]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else "FAILED"
        print(f"{script.stem:<24} {status:<7} {seconds:7.1f} s", flush=True)
        if done.returncode != 0:
            failed += 1
            print(done.stdout[-2000:] + done.stderr[-4000:])
    return failed
