"""``tinyllm assignment make``: a student copy of tinyllm, with the assigned tasks' code taken out.

The copy holds the package (every region of an assigned task replaced by a stub; the
markers of the others removed), the lessons, the visible tests, the project files, a
STUDENTS.md with the tasks and their written questions, an ``answers.md`` to answer them
in, and ``assignment.json``, which records the tasks assigned and the hint level. The
grader and its hidden checks (``tinyllm/assignment``) stay behind. The hint level
(:mod:`~tinyllm.assignment.hints`) decides how much of each solution the docstrings,
the stubs' comments and STUDENTS.md give away.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

from tinyllm.assignment import hints as texts
from tinyllm.assignment.grade import MANIFEST
from tinyllm.assignment.regions import MARKER_TEXT, Region, docstring_owners, find_regions, package_regions, render
from tinyllm.assignment.tasks import BY_ID, Task, select

ROOT = Path(__file__).resolve().parents[2]  # the project: tinyllm/, lessons/, tests/
PACKAGE = ROOT / "tinyllm"
#: Besides the package, what students get: the lessons, the visible tests, the project's files.
EXTRAS = ("lessons", "tests", "pyproject.toml", "setup.py", "MANIFEST.in", "LICENSE", "README.md")
#: What never leaves the instructor: the grader with its hidden checks, and the assignment tools' own tests.
PRIVATE = (  # the grader and its tests; the exercises' answers
    "tinyllm/assignment",
    "tests/test_assignment.py",
    "tests/test_assignment_hints.py",
    "tests/test_gradebook.py",
    "tests/test_grader_attacks.py",
    "tests/test_grader_verdict.py",
    "tests/bad_input/test_assignment_cli.py",
    "lessons/solutions",
)


#: The record of what a make wrote in its folder: what a later ``make --force`` may remove, and nothing else.
MAKE_RECORD = ".tinyllm-make.json"


class MakeError(ValueError):
    """The copy cannot be made (or came out wrong): the message says why."""


def make(out: str | Path, task_ids: list[str] | None = None, force: bool = False, hints: str = "full") -> list[Task]:
    """Write a student copy of tinyllm to ``out`` with the given tasks (default: all) to write.

    ``hints`` is the hint level, ``"full"``, ``"outline"`` or ``"none"`` (see
    :mod:`~tinyllm.assignment.hints`): a task whose code, hint or questions have no text at
    that level is refused before anything is written.

    ``out`` may not be, contain or lie inside the source tree the copy is made from. It must be
    empty, unless ``force``: then the files an earlier ``make`` wrote there (listed in its record,
    ``.tinyllm-make.json``) are removed first, and nothing else is — a folder without such a record
    is refused, and so is a file of someone else's where the copy would write.
    """
    if hints not in texts.LEVELS:
        raise ValueError(f"make: hints must be one of {', '.join(texts.LEVELS)}, not {hints!r}")
    tasks = select(task_ids)
    out = Path(out)
    _refuse_the_source_tree(out)
    if out.exists() and not out.is_dir():
        raise MakeError(f"make: {out} is a file, not a folder")
    regions = package_regions(PACKAGE, BY_ID)
    students = student_sources(tasks, regions, hints)  # before anything is removed: a missing text stops here
    if out.exists() and any(out.iterdir()):
        if not force:
            raise MakeError(f"make: {out} is not empty; pass --force to write the student copy over it")
        _remove_earlier_copy(out)
    sources = _files(PACKAGE)
    for name in EXTRAS:
        source = ROOT / name
        sources += _files(source) if source.is_dir() else [source] if source.exists() else []
    made = ["STUDENTS.md", texts.ANSWERS, MANIFEST, MAKE_RECORD]
    written = [f.relative_to(ROOT).as_posix() for f in sources] + made
    in_the_way = [rel for rel in written if (out / rel).exists() or (out / rel).is_symlink()]
    if in_the_way:
        shown = ", ".join(in_the_way[:5]) + (f" and {len(in_the_way) - 5} more" if len(in_the_way) > 5 else "")
        raise MakeError(f"make: {out} holds files that make did not write where the copy goes ({shown}); "
                        "move them away first: make never writes over them")  # fmt: skip
    for file in sources:
        rel = file.relative_to(ROOT).as_posix()
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if rel in students:
            target.write_text(students[rel])
        else:
            shutil.copy2(file, target)
    (out / "STUDENTS.md").write_text(students_md(tasks, regions, hints))
    (out / texts.ANSWERS).write_text(answers_md(tasks))
    (out / MANIFEST).write_text(json.dumps({"tasks": [t.id for t in tasks], "hints": hints}, indent=2) + "\n")
    (out / MAKE_RECORD).write_text(json.dumps({"files": written, "hints": hints}, indent=1) + "\n")
    _check_no_markers(out)
    _check_imports(out)
    return tasks


def student_sources(tasks: list[Task], regions: dict[str, list[Region]], level: str) -> dict[str, str]:
    """The student version of every file that changes, by path: stubs, and below ``full`` the level's texts.

    Raises a MakeError naming every text the level needs and ``hints`` lacks (a docstring,
    a hint, the questions), and every scrub whose text the source no longer holds.
    """
    assigned = {t.id for t in tasks}
    missing: list[str] = []
    stub_hints = {}
    for t in tasks:
        hint = texts.hint(t.id, t.hint, level)
        if hint is None:
            missing.append(f"OUTLINE_HINTS[{t.id!r}]")
        stub_hints[t.id] = (t.title, hint or "")
        if not texts.QUESTIONS.get(t.id):
            missing.append(f"QUESTIONS[{t.id!r}]")
    scrubs = [s for t in tasks for s in texts.SCRUBS.get(t.id, ())] if level != "full" else []
    students = {}
    for rel in sorted(set(regions) | {s.file for s in scrubs}):
        source = (ROOT / rel).read_text()
        for s in scrubs:
            if s.file == rel:
                if source.count(s.old) != 1:
                    missing.append(f"SCRUBS: {rel} holds {s.old!r} {source.count(s.old)} times, not once")
                source = source.replace(s.old, s.new)
        ours = find_regions(source, rel, BY_ID)
        docstrings = {}
        if level != "full":
            for name, task in docstring_owners(source, [r for r in ours if r.task in assigned]).items():
                text = texts.docstring(task, name, level)
                if text is None:
                    missing.append(f"DOCSTRINGS[{task!r}][{name!r}] (in {rel})")
                else:
                    docstrings[name] = text
        students[rel] = render(source, ours, assigned, stub_hints, docstrings) if ours else source
    if missing:
        raise MakeError(f"make: tinyllm/assignment/hints.py is incomplete for --hints {level}: {'; '.join(missing)}; "
                        "write the missing texts there (a stub without them would show the full solution)")  # fmt: skip
    return students


def _refuse_the_source_tree(out: Path) -> None:
    """A copy written into (or around) the tree it is made from could overwrite or delete its sources."""
    target, source = out.resolve(), ROOT.resolve()
    if target == source:
        raise MakeError(f"make: {out} is the source tree the copy is made from; choose another folder")
    if source in target.parents:
        raise MakeError(f"make: {out} lies inside the source tree the copy is made from ({source}); "
                        "choose a folder outside it")  # fmt: skip
    if target in source.parents:
        raise MakeError(f"make: {out} contains the source tree the copy is made from ({source}); "
                        "choose a folder outside it")  # fmt: skip


def _remove_earlier_copy(out: Path) -> None:
    """Remove the files an earlier ``make`` recorded writing in ``out``, and the folders they leave empty.

    The record is read as untrusted: each entry must be a relative path inside ``out``, reached
    without leaving it through a link; anything else refuses the whole removal before it starts.
    """
    record = out / MAKE_RECORD
    if not record.is_file():
        raise MakeError(f"make: {out} is not empty and holds no record of an earlier make ({MAKE_RECORD}); "
                        "--force only replaces a copy that make wrote, so it will not touch this folder")  # fmt: skip
    try:
        files = json.loads(record.read_text(encoding="utf-8"))["files"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError) as error:
        raise MakeError(f"make: {record} is not a record make wrote ({type(error).__name__}: {error})") from None
    root = out.resolve()
    paths = []
    for rel in files if isinstance(files, list) else [files]:
        path = out / str(rel)
        if not isinstance(rel, str) or Path(rel).is_absolute() or ".." in Path(rel).parts or not rel:
            raise MakeError(f"make: {record} lists {rel!r}, which is not a file inside {out}; nothing was removed")
        if path.parent.resolve() != root and root not in path.parent.resolve().parents:
            raise MakeError(f"make: {record} lists {rel!r}, which leads outside {out}; nothing was removed")
        paths.append(path)
    for path in paths:
        if path.is_symlink() or path.is_file():
            path.unlink()
    folders = {parent for path in paths for parent in path.parents if root in parent.resolve().parents}
    for folder in sorted(folders, key=lambda f: len(f.parts), reverse=True):  # deepest first
        try:
            folder.rmdir()  # only if empty: a folder holding a file make did not write stays
        except OSError:
            pass


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


#: What STUDENTS.md says the stubs hold, at each hint level.
WHAT_STUBS_SAY = {
    "full": "its docstring (or its class's) gives the math, and a comment above the `raise` gives a hint.",
    "outline": "its docstring (or its class's) states the forward computation, the shapes and what you "
    "must derive, and names the lesson that derives a similar result: the backward formula is yours to "
    "derive. A comment above the `raise` says what to derive.",
    "none": "its docstring (or its class's) states only the contract: the inputs, the outputs, their "
    "shapes and what to return. The math is yours to derive.",
}


def students_md(tasks: list[Task], regions: dict[str, list], level: str = "full") -> str:
    """The students' instructions: how to work, the tasks with their points, places, tests and questions."""
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
        *textwrap.wrap(
            "This is tinyllm, a small deep-learning library, with some of its most important code taken "
            "out: backward passes, the optimizers' steps, the dropout mask. Each missing piece is a *stub* "
            f'that raises `NotImplementedError("task <id>: ...")`; {WHAT_STUBS_SAY[level]} Replace the '
            "comment and the `raise` with your code. Everything else already works: the library imports, and "
            "forward passes run (except dropout while training, which is a task); a backward pass or a "
            "training run raises until the tasks it needs are done.",
            92,
        ),
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
        "## Written questions",
        "",
        "Each task below ends with a few questions. Answer them in `answers.md`, at the root of this",
        "folder, under the task's heading (`## <task id>`, one per task; the file is there with the",
        "headings). A few sentences each, in your own words: your instructor reads them; they are",
        "not scored automatically.",
        "",
        "## The tasks",
        "",
        "| task | points | what to write | where |",
        "|---|---:|---|---|",
    ]
    lines += [f"| `{t.id}` | {t.points} | {t.title} | {'<br>'.join(where.get(t.id, []))} |" for t in tasks]
    for t in tasks:
        lines += ["", f"### `{t.id}`: {t.title} ({t.points} points)", ""]
        hint = texts.hint(t.id, t.hint, level)
        lines += [f"Hint: {hint}", ""] if hint else []
        lines += ["Visible tests:", "", "```bash"] + [f"python -m pytest -q {args}" for args in t.tests] + ["```"]
        lines += ["", f"Questions (answer under `## {t.id}` in `answers.md`):", ""]
        lines += [f"{n}. {q}" for n, q in enumerate(texts.QUESTIONS[t.id], 1)]
    return "\n".join(lines) + "\n"


def answers_md(tasks: list[Task]) -> str:
    """The template of ``answers.md``: one ``## <task id>`` heading per task, for the written answers."""
    lines = [
        "# Answers to the written questions",
        "",
        "Write each task's answers under its heading; keep the headings as they are (`## <task id>`).",
        "The questions are in STUDENTS.md. Your instructor reads this file; it is not scored automatically.",
    ]
    for t in tasks:
        lines += ["", f"## {t.id}", ""]
    return "\n".join(lines) + "\n"
