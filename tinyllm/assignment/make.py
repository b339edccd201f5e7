"""``tinyllm assignment make``: a student copy of tinyllm, with the assigned tasks' code taken out.

The copy holds the package (every region of an assigned task replaced by a stub; the
markers of the others removed), the lessons, the visible tests, the project files, a
STUDENTS.md with the tasks, and ``assignment.json``, which tells the grader which tasks
were assigned. The grader and its hidden checks (``tinyllm/assignment``) stay behind.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

from tinyllm.assignment.grade import MANIFEST
from tinyllm.assignment.regions import MARKER_TEXT, package_regions, render
from tinyllm.assignment.tasks import BY_ID, TASKS, Task, select

ROOT = Path(__file__).resolve().parents[2]  # the project: tinyllm/, lessons/, tests/
PACKAGE = ROOT / "tinyllm"
#: Besides the package, what students get: the lessons, the visible tests, the project's files.
EXTRAS = ("lessons", "tests", "pyproject.toml", "setup.py", "MANIFEST.in", "LICENSE", "README.md")
#: What never leaves the instructor: the grader with its hidden checks, and the assignment tools' own tests.
PRIVATE = ("tinyllm/assignment", "tests/test_assignment.py", "lessons/solutions")  # the grader; exercise answers


class MakeError(ValueError):
    """The copy cannot be made (or came out wrong): the message says why."""


def make(out: str | Path, task_ids: list[str] | None = None, force: bool = False) -> list[Task]:
    """Write a student copy of tinyllm to ``out`` with the given tasks (default: all) to write."""
    tasks = select(task_ids)
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise MakeError(f"make: {out} is a file, not a folder")
    if out.exists() and any(out.iterdir()) and not force:
        raise MakeError(f"make: {out} is not empty; pass --force to write the student copy over it")
    regions = package_regions(PACKAGE, BY_ID)
    assigned = {t.id for t in tasks}
    hints = {t.id: (t.title, t.hint) for t in TASKS}
    for name in ("tinyllm", *EXTRAS):  # with --force: no stale files from an earlier copy
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()
    for file in _files(PACKAGE):
        rel = file.relative_to(ROOT).as_posix()
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in regions:
            target.write_text(render(file.read_text(), regions[rel], assigned, hints))
        else:
            shutil.copy2(file, target)
    for name in EXTRAS:
        source = ROOT / name
        for file in _files(source) if source.is_dir() else [source] if source.exists() else []:
            target = out / file.relative_to(ROOT)
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(file, target)
    (out / "STUDENTS.md").write_text(students_md(tasks, regions))
    (out / MANIFEST).write_text(json.dumps({"tasks": [t.id for t in tasks]}, indent=2) + "\n")
    _check_no_markers(out)
    _check_imports(out)
    return tasks


def _files(folder: Path) -> list[Path]:
    """The files under ``folder`` that a copy takes: no caches, nothing private."""
    return sorted(
        f for f in folder.rglob("*")
        if f.is_file() and "__pycache__" not in f.parts and f.suffix != ".pyc"
        and not any(f.relative_to(ROOT).as_posix().startswith(p) for p in PRIVATE)
    )  # fmt: skip


def _check_no_markers(out: Path) -> None:
    leaks = [f.relative_to(out).as_posix() for f in sorted(out.rglob("*"))
             if f.is_file() and MARKER_TEXT.search(f.read_bytes().decode(errors="replace"))]  # fmt: skip
    if leaks:
        raise MakeError(f"make: solution markers leaked into the student copy: {', '.join(leaks)}")


def _check_imports(out: Path) -> None:
    """The copy imports, and a forward pass runs (stubs raise only when their task's code runs)."""
    code = (
        "import sys; sys.path.insert(0, sys.argv[1]); import tinyllm as tl; "
        "assert tl.__file__.startswith(sys.argv[1]), tl.__file__; "
        "tl.nn.Linear(3, 2)(tl.ones(4, 3)).tanh().sum()"
    )
    done = subprocess.run([sys.executable, "-c", code, str(out.resolve())], cwd=out, capture_output=True, text=True,
                          check=False)  # fmt: skip
    if done.returncode:
        raise MakeError(f"make: the student copy does not import:\n{done.stderr[-3000:]}")


def students_md(tasks: list[Task], regions: dict[str, list]) -> str:
    """The students' instructions: how to work, the tasks with their points, places and tests."""
    functions: dict[str, dict[str, list[str]]] = {}  # task -> file -> functions
    for file, rs in regions.items():
        for r in rs:
            names = functions.setdefault(r.task, {}).setdefault(file, [])
            if f"`{r.function}`" not in names:
                names.append(f"`{r.function}`")
    where = {
        task: [f"`{file}`: {', '.join(names)}" for file, names in files.items()] for task, files in functions.items()
    }
    total = sum(t.points for t in tasks)
    lines = [
        "# Your assignment: write the heart of tinyllm",
        "",
        "This is tinyllm, a small deep-learning library, with some of its most important code taken",
        "out: backward passes, the optimizers' steps, the dropout mask. Each missing piece is a",
        '*stub* that raises `NotImplementedError("task <id>: ...")`; its docstring (or its class\'s)',
        "gives the math, and a comment above the `raise` gives a hint. Replace the comment and the",
        "`raise` with your code. Everything else already works: the library imports, and forward",
        "passes run (except dropout while training, which is a task); a backward pass or a",
        "training run raises until the tasks it needs are done.",
        "",
        "## Getting started",
        "",
        "```bash",
        'pip install -e ".[dev]"            # in this folder',
        "python -m pytest -q -x            # the visible tests; they fail where code is missing",
        "```",
        "",
        "Work one task at a time and run its visible tests (the commands below). Check every",
        "backward pass with `tl.gradcheck`, which compares it with finite differences in float64:",
        "",
        "```python",
        "import tinyllm as tl",
        "x = tl.randn(3, 4, dtype=tl.float64, requires_grad=True)",
        "print(tl.gradcheck(lambda x: x.tanh(), [x]))",
        "```",
        "",
        "## How you are graded",
        "",
        f"{len(tasks)} tasks, {total} points. Each task is graded on its own, in its own process, by",
        "checks you do not see: the gradients' shapes, their values against closed forms, float64",
        "gradient checks, and a short training run, each worth part of the task's points. While one",
        "task is graded, the other tasks run the reference code, so a bug in one task never costs",
        "points in another; a crash or an endless loop costs only the task where it happens (each",
        "task has a time limit). Do not change the signatures of the functions you write, nor the",
        "code outside them.",
        "",
        "## The tasks",
        "",
        "| task | points | what to write | where |",
        "|---|---:|---|---|",
    ]
    lines += [f"| `{t.id}` | {t.points} | {t.title} | {'<br>'.join(where.get(t.id, []))} |" for t in tasks]
    for t in tasks:
        lines += ["", f"### `{t.id}`: {t.title} ({t.points} points)", "", f"Hint: {t.hint}", ""]
        lines += ["Visible tests:", "", "```bash"] + [f"python -m pytest -q {args}" for args in t.tests] + ["```"]
    return "\n".join(lines) + "\n"
