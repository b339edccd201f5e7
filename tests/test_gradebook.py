"""``tinyllm assignment grade-all``: a class of submissions graded into a gradebook."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tarfile
import zipfile
from concurrent.futures import Future
from pathlib import Path

import pytest

from test_assignment import _replace_stub, _restore, student_copy  # noqa: F401 (student_copy: a fixture)
from tinyllm.assignment import gradebook
from tinyllm.assignment.grade import Report, TaskResult
from tinyllm.assignment.gradebook import ArchiveError, extract, grade_all
from tinyllm.assignment.tasks import BY_ID
from tinyllm.cli import main as cli_main
from tinyllm.tune import SerialExecutor

TASKS = ["sgd", "adam"]  # two quick tasks: the class is about the gradebook, not the checks
SGD, ADAM = BY_ID["sgd"].points, BY_ID["adam"].points


def _copy(student: Path, to: Path, *restore: str) -> Path:
    """A submission: the student copy's package, with ``restore``'s tasks written (their reference code)."""
    shutil.copytree(student / "tinyllm", to / "tinyllm")
    for task in restore:
        _restore(to, task)
    return to


def _read(csv_file: Path) -> dict[str, dict[str, str]]:
    return {row["student"]: row for row in csv.DictReader(io.StringIO(csv_file.read_text()))}


@pytest.fixture(scope="module")
def graded_class(student_copy: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:  # noqa: F811
    """A class of eleven, graded once by the command line on a pool of 2 processes: the gradebook's folder."""
    root = tmp_path_factory.mktemp("class")
    subs, work = root / "submissions", root / "work"
    subs.mkdir()
    _copy(student_copy, subs / "ref", "sgd", "adam")
    _copy(student_copy, subs / "fresh")
    _copy(student_copy, subs / "one", "sgd")
    (_copy(student_copy, subs / "syntax", "sgd") / "tinyllm/optim/adam.py").write_text("def broken(:\n")
    hang = _copy(student_copy, subs / "hang", "adam")
    _replace_stub(hang, "tinyllm/optim/sgd.py", "sgd", "SGD.update", ["while True:", "    pass"])
    (subs / "notacopy").mkdir()
    (subs / "notacopy" / "README.md").write_text("my homework")
    one = _copy(student_copy, work / "zipped" / "zipped", "sgd")  # the archive holds a folder that holds tinyllm/
    with zipfile.ZipFile(subs / "zipped.zip", "w") as z:
        for f in sorted(one.rglob("*")):
            z.write(f, f.relative_to(one.parent))
    ref = _copy(student_copy, work / "tarred", "sgd", "adam")  # the archive holds tinyllm/ at its top
    with tarfile.open(subs / "tarred.tar.gz", "w:gz") as t:
        t.add(ref / "tinyllm", "tinyllm")
    with tarfile.open(subs / "evil.tar.gz", "w:gz") as t:
        t.add(ref / "tinyllm", "tinyllm")
        data = b"gotcha"
        info = tarfile.TarInfo("../escaped.txt")
        info.size = len(data)
        t.addfile(info, io.BytesIO(data))
    (subs / "garbage.zip").write_bytes(b"this is not a zip file")
    with zipfile.ZipFile(subs / "homework.zip", "w") as z:
        z.writestr("answers.md", "my homework")
    out = root / "gradebook.csv"
    code = cli_main(["assignment", "grade-all", str(subs), "--out", str(out), "--tasks", *TASKS,
                     "--timeout", "4", "--jobs", "2"])  # fmt: skip
    assert code == 0
    return root


def test_the_gradebook_holds_exactly_the_expected_points_for_every_student(graded_class: Path) -> None:
    rows = _read(graded_class / "gradebook.csv")
    got = {sid: (int(r["sgd"]), int(r["adam"]), int(r["total"]), int(r["max"])) for sid, r in rows.items()}
    full = SGD + ADAM
    assert got == {
        "evil": (0, 0, 0, full),
        "fresh": (0, 0, 0, full),
        "garbage": (0, 0, 0, full),
        "hang": (0, ADAM, ADAM, full),  # the hang costs its task only
        "homework": (0, 0, 0, full),
        "notacopy": (0, 0, 0, full),
        "one": (SGD, 0, SGD, full),
        "ref": (SGD, ADAM, full, full),
        "syntax": (0, 0, 0, full),
        "tarred": (SGD, ADAM, full, full),
        "zipped": (SGD, 0, SGD, full),
    }
    assert list(rows) == sorted(rows) and list(next(iter(rows.values()))) == [
        "student", "sgd", "adam", "total", "max", "error"]  # fmt: skip
    assert "bad archive: '../escaped.txt' leads out of the archive's folder (..)" == rows["evil"]["error"]
    assert rows["garbage"]["error"].startswith("bad archive: not a readable zip archive (BadZipFile")
    assert "holds no tinyllm package" in rows["notacopy"]["error"]
    assert rows["homework"]["error"].startswith("grade: the archive homework.zip holds no tinyllm package")
    assert all(not rows[s]["error"] for s in ("ref", "fresh", "one", "syntax", "hang", "zipped", "tarred"))
    assert not list(graded_class.rglob("escaped.txt"))
    report = json.loads((graded_class / "gradebook.reports" / "hang.json").read_text())
    assert report["report"]["tasks"][0]["status"] == "timeout" and len(report["hash"]) == 64


def test_each_student_gets_a_gradescope_results_json(graded_class: Path) -> None:
    reports = graded_class / "gradebook.reports"
    ref = json.loads((reports / "gradescope" / "ref.json").read_text())
    assert set(ref) == {"score", "execution_time", "tests"} and ref["score"] == SGD + ADAM
    assert [(t["score"], t["max_score"], t["status"]) for t in ref["tests"]] == [(SGD, SGD, "passed"),
                                                                                 (ADAM, ADAM, "passed")]  # fmt: skip
    for t in ref["tests"]:
        assert set(t) == {"name", "score", "max_score", "status", "output"} and t["name"].split(":")[0] in TASKS
    hang = json.loads((reports / "gradescope" / "hang.json").read_text())
    assert hang["score"] == ADAM and hang["tests"][0]["output"].startswith("timed out after 4 s")
    evil = json.loads((reports / "gradescope" / "evil.json").read_text())
    assert evil["score"] == 0 and evil["output"].startswith("bad archive") and len(evil["tests"]) == 2


# ----------------------------------------------------------------------------- resuming


def _fake_grade(calls: list[str]):
    """grade() stood in for: the submission's ``points.txt`` says what each task earns."""

    def fake(
        path: Path, task_ids: list[str], timeout: float = 60.0, jobs: int = 1, seed=None, reference=None
    ) -> Report:
        calls.append(Path(path).name)
        earned = json.loads((Path(path) / "points.txt").read_text())
        tasks = [TaskResult(t, t, BY_ID[t].points, earned[t], "pass", "", 0.0) for t in task_ids]
        return Report(str(path), tasks)

    return fake


def _stand_in(monkeypatch: pytest.MonkeyPatch, calls: list[str]) -> None:
    monkeypatch.setattr(gradebook, "grade", _fake_grade(calls))
    monkeypatch.setattr(gradebook, "reference_runs", lambda *args: {})  # the stand-in compares nothing


def test_a_second_run_skips_what_is_graded_regrades_what_changed_and_regrade_does_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    _stand_in(monkeypatch, calls)
    subs = tmp_path / "subs"
    for sid, points in {"ann": {"sgd": 6, "adam": 8}, "bob": {"sgd": 0, "adam": 3}}.items():
        (subs / sid).mkdir(parents=True)
        (subs / sid / "points.txt").write_text(json.dumps(points))
    out = tmp_path / "gb.csv"

    def run(**kw) -> list:
        return grade_all(subs, out, TASKS, executor=SerialExecutor(), **kw)

    assert [(r.id, r.total, r.skipped) for r in run()] == [("ann", 14, False), ("bob", 3, False)]
    assert sorted(calls) == ["ann", "bob"]
    assert [(r.id, r.total, r.skipped) for r in run()] == [("ann", 14, True), ("bob", 3, True)]
    assert len(calls) == 2  # nothing graded again
    (subs / "bob" / "points.txt").write_text(json.dumps({"sgd": 6, "adam": 3}))  # bob hands in again
    assert [(r.id, r.total, r.skipped) for r in run()] == [("ann", 14, True), ("bob", 9, False)]
    assert calls[2:] == ["bob"]
    assert [r.skipped for r in run(regrade=True)] == [False, False] and sorted(calls[3:]) == ["ann", "bob"]
    assert [r.skipped for r in grade_all(subs, out, ["sgd"], executor=SerialExecutor())] == [False, False]
    assert _read(out)["bob"] == {"student": "bob", "sgd": "6", "total": "6", "max": "6", "error": ""}


def _class_of(tmp_path: Path, points: dict[str, dict[str, int]]) -> Path:
    for sid, earned in points.items():
        (tmp_path / "subs" / sid).mkdir(parents=True)
        (tmp_path / "subs" / sid / "points.txt").write_text(json.dumps(earned))
    return tmp_path / "subs"


def test_a_dask_cluster_grades_the_same_gradebook(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'dask[distributed]')"
    )
    _stand_in(monkeypatch, [])  # threads: the workers see the stand-in
    subs = _class_of(tmp_path, {"ann": {"sgd": 6, "adam": 8}, "bob": {"sgd": 2, "adam": 0}})
    serial = grade_all(subs, tmp_path / "serial.csv", TASKS, executor=SerialExecutor())
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        on_dask = grade_all(subs, tmp_path / "dask.csv", TASKS, executor=client.get_executor())
    assert on_dask == serial and (tmp_path / "dask.csv").read_text() == (tmp_path / "serial.csv").read_text()


class _LostWorkers(SerialExecutor):
    def submit(self, fn, /, *args, **kwargs) -> Future:
        future: Future = Future()
        future.set_exception(RuntimeError("worker lost"))
        return future


def test_an_executor_that_fails_a_submission_costs_its_row_until_the_next_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    subs = _class_of(tmp_path, {"ann": {"sgd": 6, "adam": 8}})
    (row,) = grade_all(subs, tmp_path / "gb.csv", TASKS, executor=_LostWorkers())
    assert (row.total, row.error) == (0, "RuntimeError in the executor: worker lost")
    assert _read(tmp_path / "gb.csv")["ann"]["error"] == "RuntimeError in the executor: worker lost"
    _stand_in(monkeypatch, [])
    (row,) = grade_all(subs, tmp_path / "gb.csv", TASKS, executor=SerialExecutor())  # graded again, not skipped
    assert (row.total, row.error, row.skipped) == (14, "", False)


def test_the_progress_bar_counts_submissions_and_is_quiet_off_a_terminal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    _stand_in(monkeypatch, [])
    for sid in ("ann", "bob", "cy"):
        (tmp_path / "subs" / sid).mkdir(parents=True)
        (tmp_path / "subs" / sid / "points.txt").write_text(json.dumps({"sgd": 1, "adam": 2}))
    grade_all(tmp_path / "subs", tmp_path / "gb.csv", TASKS, executor=SerialExecutor())  # stderr is no terminal here
    assert capsys.readouterr().err == ""
    grade_all(tmp_path / "subs", tmp_path / "gb.csv", TASKS, executor=SerialExecutor(), regrade=True, progress=True)
    assert "grade-all" in (err := capsys.readouterr().err) and "3/3" in err


# ----------------------------------------------------------------------------- archives


def _zip(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
        if link:
            info = zipfile.ZipInfo(link)
            info.external_attr = 0o120777 << 16  # a symlink, as zip -y stores one
            z.writestr(info, "/etc")
    return path


@pytest.mark.parametrize(
    ("members", "link", "named"),
    [
        ({"/etc/evil": b"x"}, None, "'/etc/evil' is an absolute path"),
        ({"a/../../evil": b"x"}, None, "'a/../../evil' leads out of the archive's folder (..)"),
        ({"ok.txt": b"x"}, "tinyllm", "'tinyllm' is a link"),
        ({"big.bin": b"x" * 5000}, None, "more than"),
    ],
)
def test_an_unsafe_zip_is_refused_before_anything_is_written(tmp_path: Path, members, link, named: str) -> None:
    archive, into = _zip(tmp_path / "a.zip", members, link), tmp_path / "into"
    into.mkdir()
    with pytest.raises(ArchiveError, match=named.replace("(", r"\(").replace(")", r"\)")):
        extract(archive, into, max_bytes=4096)
    assert not list(into.iterdir()) and not (tmp_path / "evil").exists()


def test_a_tar_with_a_link_out_of_its_folder_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "a.tar.gz"
    with tarfile.open(archive, "w:gz") as t:
        info = tarfile.TarInfo("tinyllm")
        info.type, info.linkname = tarfile.SYMTYPE, "/usr/lib/python3/tinyllm"
        t.addfile(info)
    (tmp_path / "into").mkdir()
    with pytest.raises(ArchiveError, match="'tinyllm' is a link"):
        extract(archive, tmp_path / "into")
    assert not list((tmp_path / "into").iterdir())


# ----------------------------------------------------------------------------- bad arguments


@pytest.mark.parametrize(
    ("flags", "code", "named"),
    [
        (["--executor", "cluster"], 2, "--executor must be one of processes, threads, serial, dask://HOST:PORT"),
        (["--timeout", "0"], 2, "--timeout must be a number of seconds > 0, not 0.0"),
        (["--jobs", "0"], 2, "--jobs must be a whole number >= 1, not 0"),
        (["--executor", "dask://localhost:1", "--jobs", "2"], 2,
         "--jobs sizes a pool of processes or threads; a Dask cluster has its own workers"),
        (["--tasks", "sgd,bogus"], 2, "unknown task id 'bogus'"),
    ],
)  # fmt: skip
def test_grade_all_names_bad_flags_as_usage_errors(tmp_path: Path, flags, code: int, named: str, capsys) -> None:
    with pytest.raises(SystemExit) as usage_error:
        cli_main(["assignment", "grade-all", str(tmp_path), "--out", str(tmp_path / "gb.csv"), *flags])
    assert usage_error.value.code == code
    assert f"tinyllm assignment grade-all: error: {named}" in capsys.readouterr().err


def test_grade_all_failures_exit_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["assignment", "grade-all", str(tmp_path / "nope"), "--out", str(tmp_path / "gb.csv")]) == 1
    error = f"tinyllm assignment grade-all: error: grade-all: no folder {tmp_path / 'nope'} of submissions\n"
    assert capsys.readouterr().err == error
    (tmp_path / "subs" / "alice").mkdir(parents=True)
    _zip(tmp_path / "subs" / "alice.zip", {"x": b"x"})
    assert cli_main(["assignment", "grade-all", str(tmp_path / "subs"), "--out", str(tmp_path / "gb.csv")]) == 1
    assert "alice and alice.zip are both student 'alice'" in capsys.readouterr().err
    with pytest.raises(SystemExit) as usage_error:
        cli_main(["assignment", "grade-all", str(tmp_path / "subs"), "--out", str(tmp_path / "no" / "gb.csv")])
    assert usage_error.value.code == 2 and "--out: no folder" in capsys.readouterr().err
    assert not (tmp_path / "gb.csv").exists()


def test_the_student_copy_leaves_these_tests_out(student_copy: Path) -> None:  # noqa: F811
    assert not (student_copy / "tests" / "test_gradebook.py").exists()  # they import the grader, which stays home


def test_text_a_student_controls_cannot_become_a_spreadsheet_formula(tmp_path: Path) -> None:
    tasks = [BY_ID["sgd"]]
    rows = [
        gradebook.Row('=HYPERLINK("http://x")', {"sgd": 0}, 0, 3, "@SUM(1)"),
        gradebook.Row("alice", {"sgd": 3}, 3, 3, "-1 points?"),
        gradebook.Row("bob", {"sgd": 1}, 1, 3, ""),
    ]
    gradebook.write_gradebook(rows, tasks, tmp_path / "g.csv")
    read = list(csv.reader(io.StringIO((tmp_path / "g.csv").read_text())))
    assert read[1][0] == '\'=HYPERLINK("http://x")' and read[1][-1] == "'@SUM(1)"
    assert read[2] == ["alice", "3", "3", "3", "'-1 points?"] and read[3] == ["bob", "1", "1", "3", ""]
