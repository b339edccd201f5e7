"""Running the lessons: the options every lesson takes, ``tinyllm lessons`` and ``tinyllm notebooks``.

A lesson is a script ``lessons/NN_name.py`` in percent-cell format. It begins with

    args = lessons.options("NN_name")

which reads ``--quick`` (small sizes, for the tests), ``--device``, ``--seed``,
``--threads`` (BLAS threads, default 1) and ``--out`` (where figures go; a ``--quick``
run's go to a temporary folder, so they never replace the full runs' figures), checks
that the device exists, makes it the default device, sets the threads and seeds tinyllm.
``tinyllm lessons [NAME ...] [--quick]`` runs lessons one after another, each in
its own process, and reports how long each took and whether its assertions held.

In a Jupyter kernel there is no command line: the options come from the environment
variable ``TINYLLM_LESSON_ARGS`` (e.g. ``"--full --seed 1"``), and a lesson runs quick
unless they say ``--full``; figures show inline (see :func:`tinyllm.plot.save`).
``tinyllm notebooks [DIR]`` writes each lesson as a notebook (:func:`write_notebooks`).

Where the lessons are: in a checkout (or an editable install), in ``lessons/`` beside
the package, and their figures go to the checkout's ``figures/NN_name/``. A wheel
carries a copy in ``tinyllm/lesson_scripts/`` (see setup.py); installed that way, the
figures go to ``figures/NN_name/`` under the current folder, never into the installation.
"""

from __future__ import annotations

import argparse
import os
import shlex
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


def figures_dir() -> Path:
    """Where a full run's figures go by default: the checkout's ``figures/``, or ``./figures`` when installed."""
    return Path.cwd() / "figures" if INSTALLED else ROOT / "figures"


#: The environment variable a notebook kernel reads its lesson options from (it has no command line).
ENV_ARGS = "TINYLLM_LESSON_ARGS"


def options(script: str, argv: list[str] | None = None, threads: int = 1) -> argparse.Namespace:
    """Parse a lesson's options and seed tinyllm; ``script`` is the lesson's name, e.g. ``"06_tuning"``.

    ``threads`` is the lesson's default number of BLAS threads (``--threads`` overrides it): 1 suits
    small models, whose products are too small to split; a lesson with larger batches passes 2.

    Where the options come from: ``argv`` when given (e.g. ``options("06_tuning", ["--full"])`` in a
    notebook's first cell); else, in a Jupyter kernel (whose ``sys.argv`` is its launcher's), the
    environment variable ``TINYLLM_LESSON_ARGS`` split as a shell would, e.g. set by
    ``TINYLLM_LESSON_ARGS="--full --seed 1" jupyter lab`` or a cell ``%env TINYLLM_LESSON_ARGS=--full``;
    else the command line. Unknown options are ignored. A script runs in full unless ``--quick``; a
    kernel runs quick unless ``--full``, so opening a lesson in Jupyter takes seconds, and its quick
    figures go to a temporary folder as ``--quick``'s do, never over the committed ``figures/``
    (``--full`` writes where the script's full run does).

    ``--device cuda`` makes the GPU the default device (:func:`tinyllm.set_default_device`), so every
    tensor and model the lesson makes lives there; without CuPy or a GPU it stops the lesson at once
    (exit status 1), saying what is missing.
    """
    name = Path(script).stem
    notebook = tl.runtime.in_notebook()
    if argv is None:
        argv = shlex.split(os.environ.get(ENV_ARGS, "")) if notebook else sys.argv[1:]
    parser = argparse.ArgumentParser(prog=f"lessons/{name}.py")
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--quick", action="store_true",
                      help="small sizes: seconds instead of minutes (the default in a notebook)")  # fmt: skip
    size.add_argument("--full", action="store_true", help="the full sizes (the default outside a notebook)")
    parser.add_argument("--device", type=device_option, default="cpu", help="cpu or cuda")
    parser.add_argument("--seed", type=int, default=0, help="the seed of every random draw")
    parser.add_argument("--out", default=None,
                        help=f"where figures go (default figures/{name}/; --quick: a temp folder)")  # fmt: skip
    parser.add_argument("--text", default=None, help="a plain-text file, for lessons that train on text")
    parser.add_argument("--threads", type=int, default=threads,
                        help=f"BLAS threads (default {threads}: fastest for this lesson's model sizes)")  # fmt: skip
    args, _ = parser.parse_known_args(argv)
    args.quick = args.quick or (notebook and not args.full)
    try:
        backend.as_device(args.device)
    except backend.DeviceError as error:
        parser.exit(1, f"{parser.prog}: error: {error}\n")
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


#: What to install for the notebooks, named by the errors that need it.
NOTEBOOKS_EXTRA = 'pip install "tinyllm[notebooks]"'


def to_notebook(script: Path) -> Any:
    """The lesson ``script`` as a notebook (an ``nbformat`` node) for the ``python3`` kernel, by jupytext.

    Each ``# %%`` cell becomes a code cell and each ``# %% [markdown]`` cell a text cell; no outputs.
    Raises ``ModuleNotFoundError`` naming the ``[notebooks]`` extra when jupytext is not installed.
    """
    notebook = _jupytext().read(script, fmt="py:percent")
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.metadata.pop("jupytext", None)  # a plain notebook, not one paired with the script
    return notebook


def _jupytext() -> Any:
    try:
        import jupytext
    except ModuleNotFoundError as error:
        raise ModuleNotFoundError(f"the notebooks need jupytext: {NOTEBOOKS_EXTRA}", name=error.name) from error
    return jupytext


def write_notebooks(folder: str | os.PathLike[str], names: list[str] | None = None,
                    force: bool = False) -> list[tuple[Path, str]]:  # fmt: skip
    """Write each lesson (or those ``names``) as ``folder/NN_name.ipynb``; return (path, what happened) pairs.

    Only files named after a lesson are written, and nothing is deleted. A notebook that exists already
    is kept ("kept"), as a student may have worked in it, unless ``force`` ("replaced"); else "written".
    """
    _jupytext()  # a clear error when the extra is missing
    import nbformat  # jupytext's own dependency

    scripts = [find(n) for n in names] if names else available()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    done = []
    for script in scripts:
        path = folder / f"{script.stem}.ipynb"
        existed = path.exists()
        if existed and not force:
            done.append((path, "kept"))
            continue
        nbformat.write(to_notebook(script), path)
        done.append((path, "replaced" if existed else "written"))
    return done


def run(names: list[str] | None = None, quick: bool = False, out: str | None = None, device: str = "cpu",
        progress: bool | None = None) -> int:  # fmt: skip
    """Run lessons in their own processes; print one line each; return how many failed.

    The device is checked first: ``"cuda"`` without CuPy or a GPU raises ``DeviceError`` before any
    lesson runs, naming what is missing. ``progress`` shows a bar over the
    lessons (lesson k/n); None, as in :func:`tinyllm.train.fit`: when stderr is a terminal.
    """
    backend.as_device(device)
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
