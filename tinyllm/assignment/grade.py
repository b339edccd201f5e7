"""``tinyllm assignment grade``: score a submitted copy of tinyllm, task by task.

The grader trusts nothing that comes from the submission's process. For each task:

1. a child process runs the task's probes (:mod:`tinyllm.assignment.probes`) on the
   submitted package, with inputs drawn from a seed the grader picks at random for this
   grading, and sends back the values they observe; every function holding another
   task's region runs the reference code, sent to the child function by function, so a
   task is graded on its own code alone;
2. the same probes, with the same seed, run on the reference package (this grader's own
   tinyllm) in a child of their own;
3. the grader compares the two reports value by value (:mod:`tinyllm.assignment.verdict`)
   and scores each check from the task table (:mod:`tinyllm.assignment.tasks`).

The student's child runs ``python -I -S`` with the submitted package and the third-party
libraries on its path, never a folder that holds another tinyllm, and is told nothing
about where the grader lives. What is graded comes from the grader's arguments, never from
files in the submission. The threat model is in ``docs/assignments.md``.
"""

from __future__ import annotations

import ast
import atexit
import functools
import json
import math
import os
import secrets
import shutil
import signal
import site
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any

from tinyllm.assignment import runner
from tinyllm.assignment.answers import read_answers
from tinyllm.assignment.regions import package_regions
from tinyllm.assignment.tasks import BY_ID, Task, select
from tinyllm.assignment.verdict import Run, compare, read_run

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent  # the reference package: this grader's own tinyllm
MANIFEST = "assignment.json"
MAX_REPORT = 64 * 2**20  # bytes of messages a task may send; a flood ends its report
MAX_OUTPUT = 4000  # characters of a task's own output kept for the report


@dataclass
class CheckResult:
    name: str
    stage: str
    points: int
    earned: int
    passed: bool
    message: str = ""


@dataclass
class TaskResult:
    id: str
    title: str
    points: int
    earned: int
    status: str  # "pass", "partial", "fail", "timeout", "crash" or "error"
    message: str
    seconds: float
    checks: list[CheckResult] = field(default_factory=list)
    output: str = ""  # the end of what the process printed, kept for a crash or a timeout
    warnings: list[str] = field(default_factory=list)  # other tasks' functions the grader could not swap


@dataclass
class Report:
    path: str
    tasks: list[TaskResult]
    notes: list[str] = field(default_factory=list)
    answers: dict[str, str] = field(default_factory=dict)  # the written answers, by task: for the instructor

    @property
    def earned(self) -> int:
        return sum(t.earned for t in self.tasks)

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "earned": self.earned, "points": self.points, "notes": self.notes,
                "tasks": [asdict(t) for t in self.tasks], "answers": self.answers}  # fmt: skip

    def table(self) -> str:
        """``TASK | POINTS | NOTE``, one row per task, then the total; a failed check's note in full."""
        rows = [("TASK", "POINTS", "NOTE")]
        rows += [(t.id, f"{t.earned}/{t.points}", " ".join(t.message.split())) for t in self.tasks]
        rows.append(("TOTAL", f"{self.earned}/{self.points}", f"{100 * self.earned / max(self.points, 1):.0f}%"))
        w0, w1 = (max(len(r[i]) for r in rows) for i in range(2))
        lines = [f"{a:<{w0}} | {b:>{w1}} | {c}".rstrip() for a, b, c in rows]
        answered = f"answers.md: written answers for {len(self.answers)} of {len(self.tasks)} tasks"
        return "\n".join(lines + [f"note: {n}" for n in self.notes] + [answered + " (not scored; in the JSON report)"])


class GradeError(ValueError):
    """The path holds no tinyllm package to grade, or the grader itself failed."""


def package_root(path: str | Path) -> Path:
    """The folder that holds the ``tinyllm`` package: ``path`` itself, or its parent if it is the package."""
    p = Path(path).resolve()
    if (p / "tinyllm" / "__init__.py").is_file():
        return p
    if p.name == "tinyllm" and (p / "__init__.py").is_file():
        return p.parent
    raise GradeError(f"grade: {path} holds no tinyllm package (no tinyllm/__init__.py there)")


def grade(path: str | Path = ".", task_ids: list[str] | None = None, timeout: float = 60.0, jobs: int = 1,
          seed: int | None = None, reference: dict[str, Run] | None = None) -> Report:  # fmt: skip
    """Grade the package at ``path`` on the given tasks (default: all of them).

    ``seed`` draws the probes' inputs (default: a fresh random one); ``reference`` is what
    the probes saw on the reference package with that seed (default: computed here; see
    :func:`reference_runs` to compute it once for many submissions).
    """
    _check_limits(timeout, jobs)
    root = package_root(path)
    tasks = select(task_ids)
    seed = secrets.randbits(62) if seed is None else seed
    if reference is None:
        reference = reference_runs(tuple(t.id for t in tasks), seed, timeout, jobs)
    notes = _manifest_note(root, tasks)

    swapped = {t.id: swaps(t.id) for t in tasks}

    def one(task: Task) -> TaskResult:
        child = run_child(root, [c.name for c in task.checks], seed, swapped[task.id], timeout)
        return score(task, reference[task.id], child)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(one, tasks))
    return Report(str(root), results, notes, read_answers(root, [t.id for t in tasks]))


def _check_limits(timeout: float, jobs: int) -> None:
    if not (isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < math.inf):
        raise ValueError(f"grade: timeout must be a number of seconds > 0, not {timeout!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"grade: jobs must be a whole number >= 1, not {jobs!r}")


def read_assignment(manifest: str | Path) -> list[str]:
    """The task ids an ``assignment.json`` that ``make`` wrote lists (the instructor's copy of it).

    Raises a GradeError naming the file and what is wrong with it.
    """
    manifest = Path(manifest)
    try:
        tasks = json.loads(manifest.read_text(encoding="utf-8"))["tasks"]
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise GradeError(f"grade: {manifest} is not valid JSON ({type(e).__name__}: {e})") from None
    except (KeyError, TypeError):
        raise GradeError(f'grade: {manifest} has no "tasks" list (it should hold {{"tasks": ["sgd", ...]}})') from None
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise GradeError(f'grade: {manifest}: "tasks" must be a list of task ids, not {tasks!r}')
    return tasks


def _manifest_note(root: Path, tasks: list[Task]) -> list[str]:
    """A note when the copy's ``assignment.json`` lists other tasks than those graded (it decides nothing)."""
    try:
        listed = json.loads((root / MANIFEST).read_text(encoding="utf-8"))["tasks"]
    except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError):
        return []
    if isinstance(listed, list) and sorted(map(str, listed)) != sorted(t.id for t in tasks):
        shown = ", ".join(map(str, listed[:20]))
        return [f"the copy's {MANIFEST} lists {shown}; the grader graded the tasks it was given, not those"]
    return []


@functools.lru_cache(maxsize=8)
def reference_runs(task_ids: tuple[str, ...], seed: int, timeout: float = 60.0,
                   jobs: int = 1) -> dict[str, Run]:  # fmt: skip
    """What every probe of these tasks sees on the reference package, with this seed."""
    tasks = select(list(task_ids))
    libraries(), probe_sources()  # made once, before the threads share them

    def one(task: Task) -> Run:
        child = run_child(REFERENCE.parent, [c.name for c in task.checks], seed, [], max(timeout, 600.0))
        run = child.run
        failed = child.timed_out or not run.done or run.setup_error or run.broken or any(run.ended.values())
        if failed:
            raise GradeError(f"grade: the reference package fails its own probes for task {task.id!r} "
                             f"({run.setup_error or run.broken or run.ended or 'no report'}); "
                             f"its output:\n{child.output}")  # fmt: skip
        return run

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        return dict(zip((t.id for t in tasks), pool.map(one, tasks)))


# ----------------------------------------------------------------------------- the child process


@dataclass
class Child:
    """How one child process went: its report, and what the grader saw of the process."""

    run: Run
    timed_out: bool
    returncode: int | None
    output: str
    seconds: float
    timeout: float


def run_child(package: Path, checks: list[str], seed: int, swapped: list[dict[str, Any]], timeout: float) -> Child:
    """Run ``checks``' probes on the tinyllm in ``package`` in a fresh ``python -I -S``; read its report."""
    setup = {"package": str(package), "libraries": libraries(), "probes": probe_sources(), "checks": checks,
             "seed": seed, "swaps": swapped}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="tinyllm-grade-") as work:
        env = {"PATH": os.defpath, "HOME": work, "TMPDIR": work, "MPLBACKEND": "Agg", "LANG": "C.UTF-8",
               **{k: v for k, v in os.environ.items() if k.endswith("_NUM_THREADS")}}  # fmt: skip
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", RUNNER], cwd=work, env=env,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            start_new_session=os.name == "posix",
        )  # fmt: skip
        report: list[bytes] = []
        output = bytearray()
        readers = [threading.Thread(target=_read_lines, args=(proc, proc.stdout, report), daemon=True),
                   threading.Thread(target=_read_tail, args=(proc.stderr, output), daemon=True)]  # fmt: skip
        for r in readers:
            r.start()
        try:
            proc.stdin.write(json.dumps(setup).encode())  # type: ignore[union-attr]
            proc.stdin.close()  # type: ignore[union-attr]
        except OSError:
            pass  # the child died before reading its setup: its report says so
        try:
            proc.wait(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            timed_out = True
        _kill(proc)  # and whatever it started, which could hold the pipes open
        for r in readers:
            r.join(timeout=5)
        seconds = round(time.perf_counter() - start, 2)
    tail = bytes(output).decode(errors="replace")[-MAX_OUTPUT:]
    return Child(read_run(report), timed_out, proc.returncode, tail, seconds, timeout)


def _read_lines(proc: subprocess.Popen, stream: IO[bytes], lines: list[bytes]) -> None:
    """Collect the child's message lines, up to MAX_REPORT bytes; a flood kills the child."""
    total = 0
    for line in stream:
        total += len(line)
        if total > MAX_REPORT:
            lines.append(b"{}")  # not a runner message: the report ends here
            _kill(proc)
            break
        lines.append(line)
    stream.close()


def _read_tail(stream: IO[bytes], output: bytearray) -> None:
    while chunk := stream.read1(65536):  # type: ignore[attr-defined]
        output += chunk
        del output[: max(0, len(output) - 4 * MAX_OUTPUT)]
    stream.close()


def _kill(proc: subprocess.Popen) -> None:
    """Kill the child and anything it started."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


RUNNER = Path(runner.__file__).read_text(encoding="utf-8")  # the child's program, given as text


@functools.cache
def probe_sources() -> dict[str, str]:
    """The probes' modules as text, by module name: the child loads them from this, not from files."""
    return {f.stem: f.read_text(encoding="utf-8") for f in sorted((HERE / "probes").glob("*.py"))}


@functools.cache
def libraries() -> list[str]:
    """The folders of installed libraries for the child's ``sys.path``: never one that holds a tinyllm.

    The standard library and site-packages folders of this Python qualify; any other folder
    on this process's path (a checkout, a test folder) does not. A site-packages that holds
    tinyllm (installed, or linked by an editable install) is replaced by a folder of links to
    its other entries.
    """
    prefixes = {Path(p).resolve() for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}
    user = Path(site.getusersitepackages()).resolve() if site.ENABLE_USER_SITE else None
    folders = []
    for entry in sys.path:
        p = Path(entry).resolve() if entry else None
        if p is None or not p.is_dir() or not (p == user or any(x in p.parents for x in prefixes)):
            continue
        names = os.listdir(p)
        if any("tinyllm" in n.lower() for n in names):
            if p.name not in ("site-packages", "dist-packages"):
                continue
            p = _without_tinyllm(p, names)
        if str(p) not in folders:
            folders.append(str(p))
    return folders


def _without_tinyllm(folder: Path, names: list[str]) -> Path:
    """A temporary folder of links to ``folder``'s entries, except tinyllm's and the .pth files."""
    shadow = Path(tempfile.mkdtemp(prefix="tinyllm-grade-libraries-"))
    atexit.register(shutil.rmtree, shadow, ignore_errors=True)
    for name in names:
        if "tinyllm" not in name.lower() and not name.endswith(".pth"):
            (shadow / name).symlink_to(folder / name)
    return shadow


_PARSING = threading.Lock()  # ast.parse in two threads at once can fail in Python 3.11 (SystemError)


@functools.cache
def _functions() -> list[tuple[str, str, str]]:
    """Every function that holds a region: (file relative to the package's parent, qualname, its task)."""
    with _PARSING:
        found = package_regions(REFERENCE, BY_ID)
    return sorted({(file, r.function, r.task) for file, regions in found.items() for r in regions})


def swaps(task_id: str) -> list[dict[str, Any]]:
    """The reference code of every function that holds another task's region, one function at a time."""
    return [
        {
            "module": file.removesuffix(".py").removesuffix("/__init__").replace("/", "."),
            "function": name,
            "file": file,
            **_function_source(file, name),
        }
        for file, name, owner in _functions()
        if owner != task_id
    ]


@functools.cache
def _function_source(file: str, qualname: str) -> dict[str, Any]:
    """The text of function ``qualname`` alone (no decorators) in the reference ``file``, and its first line."""
    text = (REFERENCE.parent / file).read_text(encoding="utf-8")
    with _PARSING:
        node: Any = ast.parse(text, file)
    for part in qualname.split("."):
        node = next(n for n in node.body if isinstance(n, (ast.ClassDef, ast.FunctionDef)) and n.name == part)
    lines = text.splitlines(keepends=True)[node.lineno - 1 : node.end_lineno]
    return {"source": textwrap.dedent("".join(lines)), "line": node.lineno}


# ----------------------------------------------------------------------------- scoring


def score(task: Task, reference: Run, child: Child) -> TaskResult:
    """The task's points from its checks' verdicts: the child's values against the reference's."""
    run = child.run
    verdicts = {}
    for c in task.checks:
        ended = run.ended.get(c.name)
        verdicts[c.name] = compare(c.stage, reference.observations[c.name], run.observations.get(c.name, []), ended)
    checks = []
    for c in task.checks:
        message = verdicts[c.name]
        blocking = [d.name for d in task.depends(c) if verdicts[d.name]]
        if not message and blocking:
            message = f"not counted: {', '.join(blocking)} failed first"
        passed = not message and not child.timed_out
        checks.append(CheckResult(c.name, c.stage, c.points, c.points if passed else 0, passed, message))
    current = next((name for name in run.observations if name not in run.ended), None)
    where = f" in {current}" if current else ""
    base = (task.id, task.title, task.points)
    if child.timed_out:
        return TaskResult(*base, 0, "timeout", f"timed out after {child.timeout:g} s{where}", child.seconds,
                          _zero(checks), child.output)  # fmt: skip
    if run.setup_error:
        return TaskResult(*base, 0, "error", f"could not set up: {run.setup_error}", child.seconds, _zero(checks),
                          child.output)  # fmt: skip
    if not run.done and not all(c.name in run.ended for c in task.checks):
        why = run.broken or f"the check process died (exit code {child.returncode}){where}"
        return TaskResult(*base, 0, "crash", why, child.seconds, _zero(checks), child.output)
    earned = sum(c.earned for c in checks)
    failed = [c for c in checks if not c.passed]
    status = "pass" if not failed else "partial" if earned else "fail"
    message = f"{failed[0].name}: {failed[0].message}" if failed else ""
    return TaskResult(*base, earned, status, message, child.seconds, checks, warnings=run.warnings)


def _zero(checks: list[CheckResult]) -> list[CheckResult]:
    """A task that did not end well earns nothing, whatever its checks reported before."""
    return [CheckResult(c.name, c.stage, c.points, 0, False, c.message or "not counted") for c in checks]


def write_json(report: Report, file: str | Path) -> None:
    Path(file).write_text(json.dumps(report.to_json(), indent=2) + "\n")
