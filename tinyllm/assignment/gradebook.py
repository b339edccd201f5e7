"""``tinyllm assignment grade-all``: grade a whole class into a gradebook.

Each entry of the submissions folder is one student's submission: a folder, or a ``.zip``
/ ``.tar.gz`` archive, which is extracted into a temporary folder after its members are
checked (no absolute path, no ``..``, no link, no device, not too big). The student id is
the entry's name without its archive suffix. Every submission is graded by
:func:`tinyllm.assignment.grade.grade`, used as it is, on a ``concurrent.futures``
executor (a process pool by default, or a Dask cluster). What goes wrong with one
submission (a bad archive, no tinyllm in it, a crash of the grader) costs its row only,
with the reason in the row's ``error`` column.

Outputs, beside ``gradebook.csv``:

- ``gradebook.csv``: one row per student, one column per task (its points), ``total``, ``max``, ``error``;
- ``gradebook.reports/ID.json``: the student's full report, with the hash of the submission;
- ``gradebook.reports/gradescope/ID.json``: the same in Gradescope's ``results.json`` format.

Reports are written one by one as submissions finish (atomically), so an interrupted run
resumes where it stopped: a submission whose report holds the same content hash and the
same tasks is not graded again, unless ``regrade=True``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import secrets
import stat
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tinyllm.assignment.grade import GradeError, grade, reference_runs
from tinyllm.assignment.tasks import Task, select
from tinyllm.assignment.verdict import Run
from tinyllm.serialization import write_atomically
from tinyllm.tune import SerialExecutor

ARCHIVES = (".tar.gz", ".tgz", ".zip")
MAX_ARCHIVE_BYTES = 200 * 2**20  # extracted size: a tinyllm copy is a few MB
MAX_ARCHIVE_MEMBERS = 20_000
EXECUTORS = ("processes", "threads", "serial", "dask://HOST:PORT")


class GradeAllError(GradeError):
    """The submissions folder cannot be graded as a whole (it is missing, or two entries share an id)."""


class ArchiveError(ValueError):
    """An archive that is malformed, too big, or holds a member that could land outside its folder."""


@dataclass
class Row:
    """One student's line of the gradebook."""

    id: str
    points: dict[str, int]  # task id -> points earned
    total: int
    max: int
    error: str = ""
    skipped: bool = False  # graded by an earlier run, its report reused


# ----------------------------------------------------------------------------- submissions


def student_id(entry: Path) -> str:
    """``alice.tar.gz`` -> ``alice``; a folder keeps its name."""
    for suffix in ARCHIVES:
        if entry.is_file() and entry.name.lower().endswith(suffix):
            return entry.name[: -len(suffix)]
    return entry.name


def content_hash(entry: Path) -> str:
    """SHA-256 of an archive's bytes, or of a folder's relative paths, link targets and file contents."""
    h = hashlib.sha256()
    if not entry.is_dir():
        with open(entry, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                h.update(block)
        return h.hexdigest()
    for folder, dirs, files in os.walk(entry):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for name in sorted(files):
            path = Path(folder, name)
            h.update(str(path.relative_to(entry)).encode() + b"\0")
            if path.is_symlink():
                h.update(b"link:" + os.readlink(path).encode())
            elif path.is_file():
                h.update(path.read_bytes())
            h.update(b"\0")
    return h.hexdigest()


def extract(archive: Path, into: Path, max_bytes: int = MAX_ARCHIVE_BYTES) -> None:
    """Extract ``archive`` into the folder ``into``, or raise ArchiveError before writing anything unsafe.

    Refused: absolute paths, ``..``, links of any kind, devices, more than ``MAX_ARCHIVE_MEMBERS``
    members, and more than ``max_bytes`` once extracted. A tinyllm copy needs none of these, so
    refusing is simpler (and safer) than deciding which link is harmless.
    """
    name = archive.name.lower()
    try:
        if name.endswith(".zip"):
            with zipfile.ZipFile(archive) as z:
                infos = z.infolist()
                _check_members(
                    [(i.filename, i.file_size, stat.S_ISLNK(i.external_attr >> 16)) for i in infos], max_bytes
                )
                z.extractall(into)
        else:
            with tarfile.open(archive, "r:gz") as t:
                members = t.getmembers()
                for m in members:
                    if not (m.isfile() or m.isdir()):
                        raise ArchiveError(f"{m.name!r} is a {'link' if m.issym() or m.islnk() else 'special file'}")
                _check_members([(m.name, m.size, False) for m in members], max_bytes)
                if hasattr(tarfile, "data_filter"):  # the standard library's own guard, on top of ours
                    t.extractall(into, filter="data")
                else:  # Python < 3.10.12, 3.11.4: the members were checked above
                    t.extractall(into)
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as e:
        raise ArchiveError(f"not a readable {'zip' if name.endswith('.zip') else 'tar.gz'} archive "
                           f"({type(e).__name__}: {e})") from None  # fmt: skip


def _check_members(members: list[tuple[str, int, bool]], max_bytes: int) -> None:
    if len(members) > MAX_ARCHIVE_MEMBERS:
        raise ArchiveError(f"{len(members)} members, more than {MAX_ARCHIVE_MEMBERS}")
    total = 0
    for name, size, is_link in members:
        parts = name.replace("\\", "/").split("/")
        if name.startswith(("/", "\\")) or (len(parts[0]) > 1 and parts[0][1] == ":"):
            raise ArchiveError(f"{name!r} is an absolute path")
        if ".." in parts:
            raise ArchiveError(f"{name!r} leads out of the archive's folder (..)")
        if is_link:
            raise ArchiveError(f"{name!r} is a link")
        total += size
        if total > max_bytes:
            raise ArchiveError(f"more than {max_bytes / 2**20:g} MB once extracted")


def _package_folder(folder: Path) -> Path:
    """Where an extracted archive keeps its copy: the folder itself, or the one folder it holds."""
    if (folder / "tinyllm").is_dir():
        return folder
    inside = [p for p in folder.iterdir() if not p.name.startswith((".", "__MACOSX"))]
    return inside[0] if len(inside) == 1 and inside[0].is_dir() else folder


def grade_submission(entry: str, task_ids: list[str], timeout: float, seed: int | None = None,
                     reference: dict[str, Run] | None = None) -> dict[str, Any]:  # fmt: skip
    """Grade one submission (run on an executor's worker): its report as JSON, or its error.

    ``seed`` and ``reference`` are shared by a whole class (see :func:`grade`). Never raises
    for what the submission holds: the error is the report's ``"error"``.
    """
    path = Path(entry)
    start = time.perf_counter()
    try:
        if path.is_dir():
            report = grade(path, task_ids, timeout=timeout, seed=seed, reference=reference).to_json()
        elif path.name.lower().endswith(ARCHIVES):
            with tempfile.TemporaryDirectory(prefix="tinyllm-grade-all-") as work:
                extract(path, Path(work))
                try:
                    report = grade(_package_folder(Path(work)), task_ids, timeout, seed=seed,
                                   reference=reference).to_json()  # fmt: skip
                except GradeError as e:  # name the archive, not the temporary folder it was extracted to
                    raise GradeError(str(e).replace(str(Path(work).resolve()), f"the archive {path.name}")) from None
            report["path"] = str(path)
        else:
            raise GradeError(f"{path.name} is neither a folder nor a {', '.join(ARCHIVES)} archive")
        error = ""
    except ArchiveError as e:
        report, error = None, f"bad archive: {e}"
    except Exception as e:  # noqa: BLE001 (whatever a submission makes the grader raise costs its row)
        report, error = None, str(e) if isinstance(e, GradeError) else f"{type(e).__name__}: {e}"
    return {"report": report, "error": error, "seconds": round(time.perf_counter() - start, 2)}


# ----------------------------------------------------------------------------- executors


def make_executor(spec: str, jobs: int | None = None) -> tuple[Executor, Callable[[], None]]:
    """The executor that ``--executor`` names, and how to close it.

    ``processes`` (a pool of ``jobs`` processes, default), ``threads``, ``serial`` (one after
    another in this process: tinyllm.tune's SerialExecutor), or ``dask://HOST:PORT``, a Dask
    scheduler (``pip install "dask[distributed]"``), through ``Client.get_executor()`` as
    tinyllm.tune runs trials on a cluster. Dask's workers must see the submissions folder.
    """
    if spec == "processes":
        pool: Executor = ProcessPoolExecutor(jobs)
    elif spec == "threads":
        pool = ThreadPoolExecutor(jobs)
    elif spec == "serial":
        pool = SerialExecutor()
    elif spec.startswith("dask://") and len(spec) > len("dask://"):
        try:
            from distributed import Client
        except ImportError:
            raise GradeError('--executor dask://...: Dask is not installed (pip install "dask[distributed]")') from None
        try:
            client = Client("tcp://" + spec.removeprefix("dask://"), timeout=10)
        except OSError as e:
            raise GradeError(f"--executor {spec}: cannot reach the Dask scheduler ({e})") from None
        return client.get_executor(), client.close
    else:
        raise ValueError(f"--executor must be one of {', '.join(EXECUTORS)}, not {spec!r}")
    return pool, lambda: pool.shutdown(cancel_futures=True)


class _Progress:
    """Submissions graded of the total, and how many had errors (tinyllm.tune's bar, for a class)."""

    def __init__(self, enabled: bool | None, total: int) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()  # a bar for a person at a terminal, not in logs
        self.bar: Any = None
        self.errors = 0
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="submission", desc="grade-all", dynamic_ncols=True)

    def done(self, row: Row) -> None:
        if self.bar is None:
            return
        self.errors += bool(row.error)
        if self.errors:
            self.bar.set_postfix_str(f"{self.errors} with errors", refresh=False)
        self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


# ----------------------------------------------------------------------------- the gradebook


def reports_folder(out: str | Path) -> Path:
    """``gradebook.csv`` -> ``gradebook.reports``: where the per-student reports go."""
    out = Path(out)
    return out.with_name(out.stem + ".reports")


def grade_all(
    submissions: str | Path,
    out: str | Path,
    task_ids: list[str] | None = None,
    timeout: float = 60.0,
    executor: Executor | None = None,
    jobs: int | None = None,
    regrade: bool = False,
    progress: bool | None = None,
) -> list[Row]:
    """Grade every entry of ``submissions``; write the gradebook CSV ``out`` and the reports beside it.

    ``task_ids`` are the tasks to grade (default: all), the gradebook's columns: a submission's
    own ``assignment.json`` is never read, so a student cannot choose what is graded. The
    executor runs :func:`grade_submission` (default: a pool of ``jobs`` processes).
    """
    if not (isinstance(timeout, (int, float)) and 0 < timeout < float("inf")):
        raise ValueError(f"grade-all: timeout must be a number of seconds > 0, not {timeout!r}")
    if jobs is not None and (not isinstance(jobs, int) or isinstance(jobs, bool) or jobs < 1):
        raise ValueError(f"grade-all: jobs must be a whole number >= 1, not {jobs!r}")
    tasks = select(task_ids)
    folder, out = Path(submissions), Path(out)
    if not folder.is_dir():
        raise GradeAllError(f"grade-all: no folder {submissions} of submissions")
    if not out.resolve().parent.is_dir():
        raise ValueError(f"--out: no folder {out.parent} to write {out.name} in")
    reports = reports_folder(out)
    entries = _entries(folder, {out.resolve(), reports.resolve()})
    (reports / "gradescope").mkdir(parents=True, exist_ok=True)

    ids = [t.id for t in tasks]
    rows: dict[str, Row] = {}
    todo: list[tuple[str, Path, str]] = []
    for sid, entry in entries.items():
        digest = content_hash(entry)
        earlier = _read_report(reports / f"{sid}.json")
        same = earlier and earlier.get("hash") == digest and earlier.get("task_ids") == ids
        if same and not regrade and not earlier.get("executor_failed"):  # the executor's failure is not the student's
            rows[sid] = _row(sid, tasks, earlier, skipped=True)
        else:
            todo.append((sid, entry, digest))

    seed = secrets.randbits(62)  # one draw of inputs for the class, unknown to every submission in advance
    reference = reference_runs(tuple(ids), seed, timeout) if todo else {}
    bar = _Progress(progress, len(entries))
    for row in rows.values():
        bar.done(row)
    own = executor is None
    pool = executor or ProcessPoolExecutor(jobs)
    try:
        futures: dict[Future, tuple[str, Path, str]] = {
            pool.submit(grade_submission, str(entry.resolve()), ids, timeout, seed, reference): (sid, entry, digest)
            for sid, entry, digest in todo
        }
        for future in as_completed(futures):
            sid, entry, digest = futures[future]
            try:
                result = future.result()
            except Exception as e:  # noqa: BLE001 (the executor failed it: a lost worker, a cluster gone)
                error = f"{type(e).__name__} in the executor: {e}"
                result = {"report": None, "error": error, "seconds": 0.0, "executor_failed": True}
            record = {"id": sid, "entry": entry.name, "hash": digest, "task_ids": ids, **result}
            _write_json(reports / f"{sid}.json", record)
            rows[sid] = _row(sid, tasks, record)
            _write_json(reports / "gradescope" / f"{sid}.json", gradescope(tasks, record))
            bar.done(rows[sid])
    finally:
        bar.close()
        if own:
            pool.shutdown(cancel_futures=True)
    ordered = [rows[sid] for sid in entries]
    write_gradebook(ordered, tasks, out)
    return ordered


def _entries(folder: Path, exclude: set[Path]) -> dict[str, Path]:
    """Student id -> entry, sorted by id; hidden entries and the gradebook's own files are left out."""
    found: dict[str, Path] = {}
    for entry in sorted(folder.iterdir()):
        if entry.name.startswith(".") or entry.resolve() in exclude:
            continue
        sid = student_id(entry)
        if sid in found:
            raise GradeAllError(f"grade-all: {found[sid].name} and {entry.name} are both student {sid!r}")
        found[sid] = entry
    return dict(sorted(found.items()))


def _read_report(path: Path) -> dict[str, Any] | None:
    try:
        report = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None  # none yet, or unreadable: grade again
    return report if isinstance(report, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    write_atomically(path, lambda f: f.write((json.dumps(data, indent=1) + "\n").encode()))


def _row(sid: str, tasks: list[Task], record: dict[str, Any], skipped: bool = False) -> Row:
    earned = {t["id"]: t["earned"] for t in (record.get("report") or {}).get("tasks", [])}
    points = {t.id: int(earned.get(t.id, 0)) for t in tasks}
    return Row(sid, points, sum(points.values()), sum(t.points for t in tasks), record.get("error", ""), skipped)


def write_gradebook(rows: list[Row], tasks: list[Task], out: str | Path) -> None:
    """The CSV: ``student``, one column per task, ``total``, ``max``, ``error``."""
    text = io.StringIO()
    writer = csv.writer(text, lineterminator="\n")
    writer.writerow(["student", *(t.id for t in tasks), "total", "max", "error"])
    for r in rows:
        writer.writerow([_cell(r.id), *(r.points[t.id] for t in tasks), r.total, r.max, _cell(r.error)])
    write_atomically(out, lambda f: f.write(text.getvalue().encode()))


def _cell(text: str) -> str:
    """Text a student controls (a submission's name, an error it caused), made inert for spreadsheets:
    a cell that starts with = + - @ (or a tab or carriage return) would run as a formula when the
    gradebook is opened, so it gets a leading apostrophe, which spreadsheets show as text."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def gradescope(tasks: list[Task], record: dict[str, Any]) -> dict[str, Any]:
    """Gradescope's ``results.json``: the score, and one test per task with its points and feedback."""
    graded = {t["id"]: t for t in (record.get("report") or {}).get("tasks", [])}
    tests = []
    for task in tasks:
        t = graded.get(task.id)
        if t is None:
            earned, output = 0, record.get("error") or "not graded"
        else:
            earned = t["earned"]
            lines = [_check_line(c) for c in t["checks"]]
            output = "\n".join(([t["message"]] if t["status"] in ("timeout", "crash", "error") else []) + lines)
        tests.append({"name": f"{task.id}: {task.title}", "score": earned, "max_score": task.points,
                      "status": "passed" if earned == task.points else "failed", "output": output})  # fmt: skip
    results: dict[str, Any] = {"score": sum(t["score"] for t in tests), "execution_time": record.get("seconds", 0.0),
                               "tests": tests}  # fmt: skip
    if record.get("error"):
        results["output"] = record["error"]
    return results


def _check_line(c: dict[str, Any]) -> str:
    """``failed elementwise_gradcheck (0/3): <why>``: one check, as Gradescope shows a test's output."""
    why = f": {c['message']}" if c["message"] and not c["passed"] else ""
    return f"{'passed' if c['passed'] else 'failed'} {c['name']} ({c['earned']}/{c['points']}){why}"
