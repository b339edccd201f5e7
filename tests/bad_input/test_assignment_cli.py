"""Bad input to ``tinyllm assignment``, run in-process: the exit code, and a message naming the argument.

Instructors' tests: student copies hold neither the grader nor this file.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tinyllm as tl
from tinyllm.cli import main

from .test_cli import _fails_with_one_line, _usage_error

ROOT = str(Path(tl.__file__).resolve().parent.parent)

ASSIGNMENT_USAGE_ERRORS = [  # `tinyllm assignment` refuses these arguments: exit 2, the message on stderr
    (["assignment"], r"required: action"),
    (["assignment", "publish"], r"invalid choice: 'publish'"),
    (["assignment", "make"], r"required: out"),
    (["assignment", "grade", "--jobs", "abc"], r"argument --jobs: invalid int value: 'abc'"),
    (["assignment", "grade", "--jobs", "1.5"], r"argument --jobs: invalid int value: '1\.5'"),
    (["assignment", "grade", "--timeout", "abc"], r"argument --timeout: invalid float value: 'abc'"),
    (["assignment", "grade", "--tasks"], r"argument --tasks: expected at least one argument"),
    (["assignment", "grade", ROOT, "--timeout", "0"], r"timeout must be a number of seconds > 0, not 0\.0"),
    (["assignment", "grade", ROOT, "--timeout", "-5"], r"timeout must be .* not -5\.0"),
    (["assignment", "grade", ROOT, "--timeout", "nan"], r"timeout must be .* not nan"),
    (["assignment", "grade", ROOT, "--timeout", "inf"], r"timeout must be .* not inf"),
    (["assignment", "grade", ROOT, "--jobs", "0"], r"jobs must be a whole number >= 1, not 0"),
    (["assignment", "grade", ROOT, "--jobs", "-2"], r"jobs must be .* not -2"),
    (["assignment", "grade", ROOT, "--tasks", "nope"], r"unknown task id 'nope'"),
]


@pytest.mark.parametrize(("argv", "match"), ASSIGNMENT_USAGE_ERRORS)
def test_assignment_usage_errors_exit_2_and_name_the_argument(capsys, argv, match):
    _usage_error(capsys, argv, match)


def test_grading_a_folder_without_tinyllm_fails_with_one_line(capsys):
    _fails_with_one_line(capsys, ["assignment", "grade", "/nonexistent/copy"], r"/nonexistent/copy holds no tinyllm")


def test_assignment_make_names_an_unknown_task_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "copy"
    with pytest.raises(SystemExit) as info:
        main(["assignment", "make", str(out), "--tasks", "nope"])
    assert info.value.code == 2
    assert "unknown task id 'nope'" in capsys.readouterr().err
    assert not out.exists()


def test_assignment_make_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    _fails_with_one_line(capsys, ["assignment", "make", str(tmp_path)], r"is not empty; pass --force")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_assignment_make_refuses_a_file_as_the_folder(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x")
    _fails_with_one_line(capsys, ["assignment", "make", str(path)], r"is a file, not a folder")


@pytest.mark.parametrize(("manifest", "match"), [
    ('{"task": ["sgd"]}', r'assignment\.json has no "tasks" list'),
    ("{not json", r"assignment\.json is not valid JSON \(JSONDecodeError"),
    ('{"tasks": "dropout"}', r'"tasks" must be a list of task ids, not \'dropout\''),
    ('{"tasks": [1, 2]}', r'"tasks" must be a list of task ids, not \[1, 2\]'),
    ('["sgd"]', r'assignment\.json has no "tasks" list'),
])  # fmt: skip
def test_grading_with_a_malformed_assignment_json_names_the_file(tmp_path, capsys, manifest, match):
    (tmp_path / "tinyllm").mkdir()
    (tmp_path / "tinyllm" / "__init__.py").write_text("")
    (tmp_path / "assignment.json").write_text(manifest)
    command = ["assignment", "grade", str(tmp_path), "--assignment", str(tmp_path / "assignment.json")]
    _fails_with_one_line(capsys, command, match)


def test_grade_refuses_a_json_report_into_a_missing_folder_before_grading(tmp_path, capsys):
    with pytest.raises(SystemExit) as info:
        main(["assignment", "grade", ROOT, "--tasks", "sgd", "--json", str(tmp_path / "no" / "such" / "r.json")])
    assert info.value.code == 2
    err = capsys.readouterr()
    assert re.search(r"--json: no folder .*no/such to write", err.err) and "sgd" not in err.out  # nothing graded
