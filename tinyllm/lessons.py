"""Running the lessons: the options every lesson takes, and ``tinyllm lessons``.

A lesson is a script ``lessons/NN_name.py`` in percent-cell format. It begins with

    args = lessons.options(__file__)

which reads ``--quick`` (small sizes, for the tests), ``--device``, ``--seed``,
``--threads`` (BLAS threads, default 1) and ``--out`` (where figures go; a ``--quick``
run's go to a temporary folder, so they never replace the full runs' figures), checks
that the device exists, makes it the default device, sets the threads and seeds tinyllm.
``tinyllm lessons [NAME ...] [--quick]`` runs lessons one after another, each in
its own process, and reports how long each took and whether its assertions held.

Where the lessons are: in a checkout (or an editable install), in ``lessons/`` beside
the package, and their figures go to the checkout's ``figures/NN_name/``. A wheel
carries a copy in ``tinyllm/lesson_scripts/`` (see setup.py); installed that way, the
figures go to ``figures/NN_name/`` under the current folder, never into the installation.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tinyllm as tl
from tinyllm import backend
from tinyllm.cli import device_option

ROOT = Path(__file__).resolve().parents[1]
_PACKAGED = Path(__file__).resolve().parent / "lesson_scripts"
#: True when tinyllm was installed from a wheel: the lessons are the copy inside the package.
INSTALLED = _PACKAGED.is_dir()
LESSONS_DIR = _PACKAGED if INSTALLED else ROOT / "lessons"


#: Why ``--device cuda`` is refused even where a GPU exists. The plumbing is there (options() makes
#: the device the default one, tl.set_default_device), but not every lesson runs on CuPy yet (issue 17).
CPU_ONLY = (
    "the lessons run on the CPU only: not all of them run on a GPU yet "
    "(tinyllm bench --device cuda measures the GPU)"
)


def figures_dir() -> Path:
    """Where a full run's figures go by default: the checkout's ``figures/``, or ``./figures`` when installed."""
    return Path.cwd() / "figures" if INSTALLED else ROOT / "figures"


def options(script: str, argv: list[str] | None = None) -> argparse.Namespace:
    """Parse a lesson's options (unknown ones, e.g. a notebook kernel's, are ignored) and seed tinyllm.

    ``--device cuda`` stops the lesson at once (exit status 1): without CuPy or a GPU, saying what is
    missing; with them, saying that the lessons run on the CPU only (none moves its work to a GPU yet).
    """
    name = Path(script).stem
    parser = argparse.ArgumentParser(prog=f"lessons/{name}.py")
    parser.add_argument("--quick", action="store_true", help="small sizes: seconds instead of minutes")
    parser.add_argument("--device", type=device_option, default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every random draw")
    parser.add_argument("--out", default=None,
                        help=f"where figures go (default figures/{name}/; --quick: a temp folder)")  # fmt: skip
    parser.add_argument("--text", default=None, help="a plain-text file, for lessons that train on text")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS threads (default 1: fastest for the lessons' small models)")  # fmt: skip
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    try:
        backend.as_device(args.device)
    except backend.DeviceError as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
    if args.device != "cpu":  # refused rather than ignored: a lesson asked for a GPU must not run on the CPU
        parser.exit(1, f"{parser.prog}: error: {CPU_ONLY}\n")
    tl.set_default_device(args.device)  # every tensor and model the lesson makes goes there
    if args.out:
        args.out = Path(args.out)
    elif args.quick:  # quick figures never replace the full runs' figures committed in figures/
        args.out = Path(tempfile.gettempdir()) / "tinyllm-quick-figures" / name
    else:
        args.out = figures_dir() / name
    args.name = name
    tl.runtime.set_num_threads(args.threads)
    tl.manual_seed(args.seed)
    return args


def available() -> list[Path]:
    """The lesson scripts, in order."""
    return sorted(p for p in LESSONS_DIR.glob("[0-9][0-9]_*.py"))


def find(name: str) -> Path:
    """A lesson by its number (``"01"``), its name (``"objective"``) or both (``"01_objective"``).

    Raises ``LookupError`` naming the lessons when no single one matches.
    """
    matches = [p for p in available() if name in (p.stem, p.stem[:2], p.stem[3:])]
    if len(matches) != 1:
        names = ", ".join(p.stem for p in available())
        raise LookupError(f"no single lesson matches {name!r}; the lessons are: {names}")
    return matches[0]


def run(names: list[str] | None = None, quick: bool = False, out: str | None = None, device: str = "cpu",
        progress: bool | None = None) -> int:  # fmt: skip
    """Run lessons in their own processes; print one line each; return how many failed.

    The device is checked first: ``"cuda"`` raises ``DeviceError`` before any lesson runs (naming what
    is missing, or saying that the lessons run on the CPU only). ``progress`` shows a bar over the
    lessons (lesson k/n); None, as in :func:`tinyllm.train.fit`: when stderr is a terminal.
    """
    if backend.as_device(device) != backend.CPU:
        raise backend.DeviceError(CPU_ONLY)
    scripts = [find(n) for n in names] if names else available()
    if not scripts:
        raise FileNotFoundError(f"no lessons found in {LESSONS_DIR}")
    bar = _progress_bar(len(scripts), progress)
    say = print if bar is None else bar.write  # the bar's own write keeps the bar below the lines
    failed = 0
    for script in scripts:
        if bar is not None:
            bar.set_postfix_str(script.stem)
        cmd = [sys.executable, str(script), "--device", device] + (["--quick"] if quick else [])
        if out is not None:
            cmd += ["--out", str(Path(out) / script.stem)]
        start = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - start
        status = "ok" if done.returncode == 0 else "FAILED"
        say(f"{script.stem:<24} {status:<7} {seconds:7.1f} s")
        if done.returncode != 0:
            failed += 1
            say(done.stdout[-2000:] + done.stderr[-4000:])
        if bar is not None:
            bar.update()
    if bar is not None:
        bar.close()
    return failed


def _progress_bar(total: int, enabled: bool | None) -> Any:
    """A tqdm bar (a widget in notebooks), or None: by default only when stderr is a terminal, as fit does."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, unit="lesson", desc="lessons", dynamic_ncols=True)
