"""Classroom assignments: solution regions, the student copy, and the grader."""

from __future__ import annotations

import importlib
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tinyllm.assignment.grade import GradeError, grade
from tinyllm.assignment.make import PACKAGE, ROOT, MakeError, make
from tinyllm.assignment.probes import PROBES
from tinyllm.assignment.regions import RegionError, find_regions, package_regions, render
from tinyllm.assignment.tasks import BY_ID, STAGES, TASKS
from tinyllm.cli import main as cli_main

ALL = [t.id for t in TASKS]
HINTS = {t.id: (t.title, t.hint) for t in TASKS}
REGIONS = package_regions(PACKAGE, BY_ID)


def _tinyllm(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "tinyllm", *args]
    return subprocess.run(command, cwd=cwd, capture_output=True, text=True, check=False)


def _restore(copy: Path, task: str) -> None:
    """Put ``task``'s reference code back into a student copy (the other tasks stay stubs)."""
    for file, regions in REGIONS.items():
        if any(r.task == task for r in regions):
            (copy / file).write_text(render((ROOT / file).read_text(), regions, set(ALL) - {task}, HINTS))


def _replace_stub(copy: Path, file: str, task: str, function: str, code: list[str]) -> None:
    """Replace the stub's ``raise`` of ``function`` with ``code`` (lines at the raise's indentation)."""
    path = copy / file
    stub = f'raise NotImplementedError("task {task}: {function} is yours to write")'
    indent = re.search(rf"^( *){re.escape(stub)}$", path.read_text(), flags=re.MULTILINE)[1]  # type: ignore[index]
    path.write_text(path.read_text().replace(indent + stub, "\n".join(indent + line for line in code)))


@pytest.fixture(scope="module")
def student_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A student copy with every task, made by the command line."""
    out = tmp_path_factory.mktemp("assignment") / "student"
    done = _tinyllm("assignment", "make", str(out))
    assert done.returncode == 0, done.stdout + done.stderr
    return out


# ----------------------------------------------------------------------------- the task table


def test_task_table_names_existing_probes_in_stage_order_and_totals_116_points() -> None:
    named = [c.name for t in TASKS for c in t.checks]
    assert sorted(named) == sorted(PROBES), "the table and probes/ must name the same checks"
    assert len(set(named)) == len(named)
    for t in TASKS:
        stages = [STAGES.index(c.stage) for c in t.checks]
        assert stages == sorted(stages), f"{t.id}: checks out of stage order"
        assert all(c.points > 0 for c in t.checks) and t.tests and t.hint
    assert sum(t.points for t in TASKS) == 116


def test_every_task_has_regions_in_the_source_and_every_region_a_task() -> None:
    found = {r.task for regions in REGIONS.values() for r in regions}
    assert found == set(ALL)
    functions = {(file, r.function) for file, regions in REGIONS.items() for r in regions}
    assert ("tinyllm/ops/elementwise.py", "Mul.backward") in functions
    assert ("tinyllm/optim/adam.py", "Adam.update") in functions


def test_visible_tests_of_every_task_exist() -> None:
    for t in TASKS:
        for args in t.tests:
            assert (ROOT / args.split()[0]).is_file(), f"{t.id}: {args}"


# ----------------------------------------------------------------------------- regions


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("def f():\n    # BEGIN SOLUTION task=sgd\n    return 1\n", "f.py:2: BEGIN SOLUTION is never closed"),
        ("def f():\n    return 1\n    # END SOLUTION\n", "f.py:3: END SOLUTION without a BEGIN"),
        ("def f():\n    # BEGIN SOLUTION task=nope\n    return 1\n    # END SOLUTION\n", "f.py:2: unknown task 'nope'"),
        ("def f():\n    # BEGIN SOLUTION task=sgd\n    # BEGIN SOLUTION task=sgd\n", "f.py:3: BEGIN SOLUTION inside"),
        ("def f():\n    # BEGIN SOLUTION\n    return 1\n", "f.py:2: malformed marker"),
        ("def f():\n    # BEGIN SOLUTION task=sgd\n    return 1\n  # END SOLUTION\n",
         "f.py:4: END SOLUTION is not indented"),
        ("def f():\n    # BEGIN SOLUTION task=sgd\n    # END SOLUTION\n", "f.py:2: the region of task 'sgd' is empty"),
        ("# BEGIN SOLUTION task=sgd\nx = 1\n# END SOLUTION\n",
         "f.py:1: the region of task 'sgd' is not inside a function"),
        ("def f():\n    def g():\n        # BEGIN SOLUTION task=sgd\n        return 1\n        # END SOLUTION\n",
         "f.py:3: the region of task 'sgd' is in a nested function (f.<locals>.g)"),
        ("def f():\n    if x:\n        # BEGIN SOLUTION task=sgd\n        y = 1\n    z = 2\n        # END SOLUTION\n",
         "f.py:5: this line is indented less"),
        (("def f():\n    # BEGIN SOLUTION task=sgd\n    a = 1\n    # END SOLUTION\n"
          "    # BEGIN SOLUTION task=adam\n    return a\n    # END SOLUTION\n"),
         "f.py:5: f already holds a region of task 'sgd'"),
    ],
)  # fmt: skip
def test_bad_markers_raise_naming_file_and_line(source: str, message: str) -> None:
    with pytest.raises(RegionError, match=re.escape(message)):
        find_regions(source, "f.py", BY_ID)


def test_a_stub_keeps_signature_and_docstring_and_raises_naming_task_and_function() -> None:
    source = (
        "class Op:\n"
        "    def backward(self, gy: float) -> float:\n"
        '        """d/dx tanh(x) = 1 - tanh(x)^2."""\n'
        "        # BEGIN SOLUTION task=elementwise\n"
        "        return gy * 2\n"
        "        # END SOLUTION\n"
    )
    regions = find_regions(source, "op.py", BY_ID)
    assert [(r.task, r.function, r.begin, r.end) for r in regions] == [("elementwise", "Op.backward", 4, 6)]
    kept = render(source, regions, set(), HINTS)
    assert "SOLUTION" not in kept and "return gy * 2" in kept
    stubbed = render(source, regions, {"elementwise"}, HINTS)
    assert "SOLUTION" not in stubbed and "return gy * 2" not in stubbed
    assert "def backward(self, gy: float) -> float:" in stubbed and "1 - tanh(x)^2" in stubbed and "# Hint: " in stubbed
    namespace: dict = {}
    exec(stubbed, namespace)  # noqa: S102 (our own generated stub)
    with pytest.raises(NotImplementedError, match="task elementwise: Op.backward is yours to write"):
        namespace["Op"]().backward(1.0)


# ----------------------------------------------------------------------------- make


def test_student_copy_has_no_markers_nor_grader_and_imports_and_runs_forward(student_copy: Path) -> None:
    for file in student_copy.rglob("*"):
        if file.is_file():
            assert not re.search(r"(BEGIN|END) SOLUTION", file.read_bytes().decode(errors="replace")), file
    assert not (student_copy / "tinyllm" / "assignment").exists()
    assert not (student_copy / "tests" / "test_assignment.py").exists()
    assert (student_copy / "tests" / "test_autograd.py").is_file() and (student_copy / "lessons").is_dir()
    assert not (student_copy / "lessons" / "solutions").exists()  # the lessons' exercises, without their answers
    assert (student_copy / "lessons" / "09_attention.py").is_file()
    students = (student_copy / "STUDENTS.md").read_text()
    assert all(f"`{t}`" in students for t in ALL)
    assert json.loads((student_copy / "assignment.json").read_text())["tasks"] == ALL
    code = """
import sys
import tinyllm as tl
from tinyllm.models import GPT, GPTConfig
assert tl.__file__.startswith(sys.argv[1]), tl.__file__
model = GPT(GPTConfig(vocab_size=11, block_size=8, n_layer=1, n_head=2, n_embd=8))
idx = tl.randint(0, 11, (2, 8))
logits, loss = model(idx, idx)              # forward, and the loss, work
try:
    loss.backward()                         # backward needs the students' code
except NotImplementedError as e:
    print(e)
"""
    done = subprocess.run([sys.executable, "-c", code, str(student_copy)], cwd=student_copy,
                          capture_output=True, text=True, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("task ")


def test_make_refuses_a_non_empty_folder_and_force_without_a_record_of_an_earlier_make(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(MakeError, match="not empty; pass --force"):
        make(tmp_path, ["sgd"])
    with pytest.raises(MakeError, match=r"holds no record of an earlier make \(\.tinyllm-make\.json\)"):
        make(tmp_path, ["sgd"], force=True)
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"] and (tmp_path / "notes.txt").read_text() == "mine"


def test_force_replaces_only_what_the_earlier_make_wrote(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    make(copy, ["adam"])
    (copy / "notes.txt").write_text("mine")  # a student's or an instructor's own files
    (copy / "tinyllm" / "my_experiment.py").write_text("print('mine')")
    (copy / "tinyllm" / "optim" / "sgd.py").write_text("edited")  # a file make wrote: --force replaces it
    make(copy, ["sgd"], force=True)
    assert (copy / "notes.txt").read_text() == "mine"
    assert (copy / "tinyllm" / "my_experiment.py").read_text() == "print('mine')"
    assert json.loads((copy / "assignment.json").read_text())["tasks"] == ["sgd"]
    assert "task sgd: SGD.update" in (copy / "tinyllm/optim/sgd.py").read_text()
    assert "NotImplementedError" not in (copy / "tinyllm/optim/adam.py").read_text()


def test_make_never_writes_over_a_file_it_did_not_write(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    make(copy, ["sgd"])
    record = json.loads((copy / ".tinyllm-make.json").read_text())
    record["files"].remove("README.md")  # as if README.md were someone else's
    (copy / ".tinyllm-make.json").write_text(json.dumps(record))
    (copy / "README.md").write_text("my notes")
    with pytest.raises(MakeError, match=r"holds files that make did not write where the copy goes \(README\.md\)"):
        make(copy, ["sgd"], force=True)
    assert (copy / "README.md").read_text() == "my notes"


@pytest.mark.parametrize(("where", "message"), [
    (lambda root: root, "is the source tree"),
    (lambda root: root / "student-copy", "lies inside the source tree"),
    (lambda root: root / "tinyllm", "lies inside the source tree"),
    (lambda root: root.parent, "contains the source tree"),
])  # fmt: skip
def test_make_refuses_the_source_tree_itself_inside_it_or_around_it(
    where, message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A stand-in source tree: were the refusal missing, make --force would delete this one, not the checkout.
    make_module = importlib.import_module("tinyllm.assignment.make")  # the module (the package exports the function)
    root = tmp_path / "outer" / "source"
    (root / "tinyllm").mkdir(parents=True)
    (root / "tinyllm" / "__init__.py").write_text("# the sources")
    (root / "README.md").write_text("# the project")
    monkeypatch.setattr(make_module, "ROOT", root)
    monkeypatch.setattr(make_module, "PACKAGE", root / "tinyllm")
    with pytest.raises(MakeError, match=message):
        make(where(root), ["sgd"], force=True)
    assert sorted(p.name for p in root.iterdir()) == ["README.md", "tinyllm"]
    assert (root / "tinyllm" / "__init__.py").read_text() == "# the sources"


@pytest.mark.parametrize("entry", ["../outside.txt", "/etc/hostname", "", "tinyllm/../../outside.txt", 7])
def test_a_tampered_record_removes_nothing(tmp_path: Path, entry) -> None:
    copy = tmp_path / "copy"
    make(copy, ["sgd"])
    (tmp_path / "outside.txt").write_text("keep")
    record = json.loads((copy / ".tinyllm-make.json").read_text())
    (copy / ".tinyllm-make.json").write_text(json.dumps({"files": [*record["files"], entry]}))
    with pytest.raises(MakeError, match="nothing was removed"):
        make(copy, ["sgd"], force=True)
    assert (tmp_path / "outside.txt").read_text() == "keep" and (copy / "tinyllm" / "optim" / "sgd.py").is_file()


def test_a_record_that_leads_through_a_link_out_of_the_folder_removes_nothing(tmp_path: Path) -> None:
    copy, elsewhere = tmp_path / "copy", tmp_path / "elsewhere"
    make(copy, ["sgd"])
    elsewhere.mkdir()
    (elsewhere / "precious.py").write_text("keep")
    (copy / "link").symlink_to(elsewhere, target_is_directory=True)
    record = json.loads((copy / ".tinyllm-make.json").read_text())
    (copy / ".tinyllm-make.json").write_text(json.dumps({"files": [*record["files"], "link/precious.py"]}))
    with pytest.raises(MakeError, match="leads outside"):
        make(copy, ["sgd"], force=True)
    assert (elsewhere / "precious.py").read_text() == "keep"


def test_a_record_that_is_not_json_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    make(copy, ["sgd"])
    (copy / ".tinyllm-make.json").write_text("{not json")
    with pytest.raises(MakeError, match=r"\.tinyllm-make\.json is not a record make wrote \(JSONDecodeError"):
        make(copy, ["sgd"], force=True)


def test_unknown_task_ids_are_named_in_the_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(ValueError, match="unknown task ids 'bogus', 'nope'"):
        make(tmp_path / "a", ["sgd", "bogus", "nope"])
    with pytest.raises(SystemExit) as usage_error:
        cli_main(["assignment", "make", str(tmp_path / "b"), "--tasks", "sgd,bogus"])
    assert usage_error.value.code == 2
    assert "tinyllm assignment make: error: unknown task id 'bogus'" in capsys.readouterr().err
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_assignment_failures_exit_1_with_one_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "notes.txt").write_text("mine")
    assert cli_main(["assignment", "make", str(tmp_path), "--tasks", "sgd"]) == 1
    assert capsys.readouterr().err == f"tinyllm assignment make: error: make: {tmp_path} is not empty; pass --force " \
        "to write the student copy over it\n"  # fmt: skip
    assert cli_main(["assignment", "grade", str(tmp_path)]) == 1
    assert capsys.readouterr().err.startswith("tinyllm assignment grade: error: grade: ")


def test_assignment_list_prints_the_task_table(capsys: pytest.CaptureFixture) -> None:
    assert cli_main(["assignment", "list"]) == 0
    out = capsys.readouterr().out
    assert all(t in out for t in ALL) and "TOTAL" in out and "116" in out


# ----------------------------------------------------------------------------- grade


def test_reference_package_scores_every_point() -> None:
    report = grade(ROOT, jobs=2)
    assert [t.id for t in report.tasks] == ALL
    failed = {t.id: t.message for t in report.tasks if t.earned != t.points}
    assert not failed
    assert report.earned == report.points == 116


def test_fresh_student_copy_scores_zero_on_every_task_and_the_report_lists_them(
    student_copy: Path, tmp_path: Path
) -> None:
    done = _tinyllm("assignment", "grade", str(student_copy), "--jobs", "2", "--json", str(tmp_path / "report.json"))
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert [t["id"] for t in report["tasks"]] == ALL
    assert report["earned"] == 0 and report["points"] == 116
    for t in report["tasks"]:
        assert t["status"] == "fail" and t["earned"] == 0
        assert [c["name"] for c in t["checks"]] == [c.name for c in BY_ID[t["id"]].checks]
        assert all("not implemented" in c["message"] for c in t["checks"])
    lines = done.stdout.splitlines()
    assert re.match(r"TASK +\| +POINTS", lines[0]) and re.match(r"TOTAL +\| +0/116", lines[-2])
    assert all(any(line.startswith(t + " ") for line in lines) for t in ALL)
    assert lines[-1] == "answers.md: written answers for 0 of 14 tasks (not scored; in the JSON report)"


def test_a_copy_with_one_task_written_earns_exactly_that_tasks_points(student_copy: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(student_copy, copy)
    _restore(copy, "elementwise")  # its file also holds the unbroadcast and penalties stubs
    report = grade(copy, jobs=2)
    earned = {t.id: t.earned for t in report.tasks}
    assert earned == {t: BY_ID[t].points if t == "elementwise" else 0 for t in ALL}


def test_a_hang_or_a_crash_costs_only_its_own_task(student_copy: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(student_copy, copy)
    _replace_stub(copy, "tinyllm/optim/sgd.py", "sgd", "SGD.update", ["while True:", "    pass"])
    _replace_stub(copy, "tinyllm/optim/adam.py", "adam", "Adam.update",
                  ["import os", "print('adam | 8/8 | passed')", "os._exit(3)"])  # fmt: skip
    _restore(copy, "penalties")
    report = grade(copy, ["sgd", "adam", "penalties"], timeout=5, jobs=2)
    by_id = {t.id: t for t in report.tasks}
    sgd, adam, penalties = by_id["sgd"], by_id["adam"], by_id["penalties"]
    assert (sgd.status, sgd.earned) == ("timeout", 0) and "timed out after 5 s in sgd_shapes" in sgd.message
    assert (adam.status, adam.earned) == ("crash", 0) and "exit code 3" in adam.message
    assert "adam | 8/8" in adam.output  # what it printed is kept, and never counted
    assert (penalties.status, penalties.earned) == ("pass", penalties.points)


def test_grading_a_folder_without_tinyllm_raises(tmp_path: Path) -> None:
    with pytest.raises(GradeError, match="holds no tinyllm package"):
        grade(tmp_path)


@pytest.mark.parametrize(
    ("flags", "named"),
    [
        (["--timeout", "0"], "timeout must be a number of seconds > 0, not 0.0"),
        (["--timeout", "-5"], "timeout must be a number of seconds > 0, not -5.0"),
        (["--timeout", "nan"], "timeout must be a number of seconds > 0, not nan"),
        (["--jobs", "0"], "jobs must be a whole number >= 1, not 0"),
    ],
)
def test_grade_names_a_timeout_or_jobs_outside_its_range(flags: list[str], named: str, capsys) -> None:
    with pytest.raises(SystemExit) as usage_error:
        cli_main(["assignment", "grade", str(ROOT), "--tasks", "sgd", *flags])
    assert usage_error.value.code == 2
    assert named in capsys.readouterr().err
