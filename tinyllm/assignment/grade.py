"""``tinyllm assignment grade``: score a submitted copy of tinyllm, task by task.

Each task runs in a process of its own (:mod:`tinyllm.assignment.runner`) with a
timeout, so a crash, a hang or an endless loop costs that task only. In that process
the submitted package comes first on ``sys.path``, and every function that holds
another task's region runs the reference code (this package's own source): a task is
graded on its own code alone. The runner writes each check's outcome to a JSON file;
the grader reads that file, never the submission's output, and gives each passed
check the points the task table gives it.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from tinyllm.assignment import runner
from tinyllm.assignment.regions import package_regions
from tinyllm.assignment.tasks import BY_ID, Task, select

HERE = Path(__file__).resolve().parent
REFERENCE = HERE.parent  # the reference package: this grader's own tinyllm
MANIFEST = "assignment.json"


@dataclass
class CheckResult:
    name: str
    stage: str
    points: int
    earned: int
    passed: bool
    message: str = ""
    seconds: float = 0.0


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

    @property
    def earned(self) -> int:
        return sum(t.earned for t in self.tasks)

    @property
    def points(self) -> int:
        return sum(t.points for t in self.tasks)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "earned": self.earned, "points": self.points,
                "tasks": [asdict(t) for t in self.tasks]}  # fmt: skip

    def table(self) -> str:
        """``TASK | POINTS | NOTE``, one row per task, then the total."""
        rows = [("TASK", "POINTS", "NOTE")]
        rows += [(t.id, f"{t.earned}/{t.points}", _shorten(t.message)) for t in self.tasks]
        rows.append(("TOTAL", f"{self.earned}/{self.points}", f"{100 * self.earned / max(self.points, 1):.0f}%"))
        w0, w1 = (max(len(r[i]) for r in rows) for i in range(2))
        return "\n".join(f"{a:<{w0}} | {b:>{w1}} | {c}".rstrip() for a, b, c in rows)


def _shorten(message: str, width: int = 110) -> str:
    line = " ".join(message.split())
    return line if len(line) <= width else line[: width - 3] + "..."


class GradeError(ValueError):
    """The path holds no tinyllm package to grade."""


def package_root(path: str | Path) -> Path:
    """The folder that holds the ``tinyllm`` package: ``path`` itself, or its parent if it is the package."""
    p = Path(path).resolve()
    if (p / "tinyllm" / "__init__.py").is_file():
        return p
    if p.name == "tinyllm" and (p / "__init__.py").is_file():
        return p.parent
    raise GradeError(f"grade: {path} holds no tinyllm package (no tinyllm/__init__.py there)")


def grade(path: str | Path = ".", task_ids: list[str] | None = None, timeout: float = 60.0, jobs: int = 1) -> Report:
    """Grade the package at ``path``: the given tasks, else those its ``assignment.json`` lists, else all."""
    if not (isinstance(timeout, (int, float)) and 0 < timeout < math.inf):
        raise ValueError(f"grade: timeout must be a number of seconds > 0, not {timeout!r}")
    if not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1:
        raise ValueError(f"grade: jobs must be a whole number >= 1, not {jobs!r}")
    root = package_root(path)
    if task_ids is None and (root / MANIFEST).is_file():
        task_ids = _assigned(root / MANIFEST)
    tasks = select(task_ids)
    functions = {
        (file, r.function, r.task) for file, regions in package_regions(REFERENCE, BY_ID).items() for r in regions
    }

    def one(task: Task) -> TaskResult:
        patches = [
            {"module": _module(file), "function": name, "file": str(REFERENCE.parent / file)}
            for file, name, owner in sorted(functions) if owner != task.id
        ]  # fmt: skip
        return _grade_task(task, root, patches, timeout)

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        return Report(str(root), list(pool.map(one, tasks)))


def _assigned(manifest: Path) -> list[str]:
    """The task ids a copy's ``assignment.json`` lists, or a GradeError naming the file and what is wrong."""
    try:
        tasks = json.loads(manifest.read_text(encoding="utf-8"))["tasks"]
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise GradeError(f"grade: {manifest} is not valid JSON ({type(e).__name__}: {e})") from None
    except (KeyError, TypeError):
        raise GradeError(f'grade: {manifest} has no "tasks" list (it should hold {{"tasks": ["sgd", ...]}})') from None
    if not isinstance(tasks, list) or not all(isinstance(t, str) for t in tasks):
        raise GradeError(f'grade: {manifest}: "tasks" must be a list of task ids, not {tasks!r}')
    return tasks


def _module(file: str) -> str:
    """``"tinyllm/ops/elementwise.py"`` -> ``"tinyllm.ops.elementwise"``."""
    return file.removesuffix(".py").removesuffix("/__init__").replace("/", ".")


def _grade_task(task: Task, root: Path, patches: list[dict[str, str]], timeout: float) -> TaskResult:
    with tempfile.TemporaryDirectory(prefix=f"tinyllm-grade-{task.id}-") as work:
        result_file = Path(work) / "result.json"
        spec_file = Path(work) / "spec.json"
        spec = {"task": task.id, "path": str(root), "checks": [c.name for c in task.checks], "patches": patches,
                "checks_file": str(HERE / "checks" / "__init__.py"), "result": str(result_file)}  # fmt: skip
        spec_file.write_text(json.dumps(spec))
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1", "MPLBACKEND": "Agg"}
        start = time.perf_counter()
        proc = subprocess.Popen(
            [sys.executable, "-c", runner.BOOT, runner.__file__, str(spec_file)], cwd=work, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=os.name == "posix",
        )  # fmt: skip
        try:
            output, _ = proc.communicate(timeout=timeout)
            timed_out = False
        except subprocess.TimeoutExpired:
            _kill(proc)
            output, _ = proc.communicate()
            timed_out = True
        seconds = round(time.perf_counter() - start, 2)
        try:
            result = json.loads(result_file.read_text())
        except (OSError, ValueError):
            result = None
    tail = output.decode(errors="replace")[-2000:]
    return _score(task, result, timed_out, proc.returncode, tail, timeout, seconds)


def _kill(proc: subprocess.Popen) -> None:
    """Kill the check process and anything it started."""
    try:
        if os.name == "posix":
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
    except ProcessLookupError:
        pass


def _score(task: Task, result: dict[str, Any] | None, timed_out: bool, returncode: int, output: str,
           timeout: float, seconds: float) -> TaskResult:  # fmt: skip
    outcomes = {c["name"]: c for c in (result or {}).get("checks", [])}
    checks = []
    for c in task.checks:
        o = outcomes.get(c.name, {})
        passed = bool(o.get("passed")) and not timed_out
        checks.append(CheckResult(c.name, c.stage, c.points, c.points if passed else 0, passed,
                                  o.get("message", "not run"), o.get("seconds", 0.0)))  # fmt: skip
    current = (result or {}).get("current")
    where = f" in {current}" if current else ""
    if timed_out:
        return TaskResult(task.id, task.title, task.points, 0, "timeout", f"timed out after {timeout:g} s{where}",
                          seconds, checks, output)  # fmt: skip
    if result is None or not result.get("done"):
        return TaskResult(task.id, task.title, task.points, 0, "crash",
                          f"the check process died (exit code {returncode}){where}",
                          seconds, checks, output)  # fmt: skip
    if result.get("error"):
        return TaskResult(task.id, task.title, task.points, 0, "error", result["error"], seconds, checks, output)
    earned = sum(c.earned for c in checks)
    failed = [c for c in checks if not c.passed]
    status = "pass" if not failed else "partial" if earned else "fail"
    message = f"{failed[0].name}: {failed[0].message}" if failed else ""
    return TaskResult(task.id, task.title, task.points, earned, status, message, seconds, checks,
                      warnings=result.get("warnings", []))  # fmt: skip


def write_json(report: Report, file: str | Path) -> None:
    Path(file).write_text(json.dumps(report.to_json(), indent=2) + "\n")
