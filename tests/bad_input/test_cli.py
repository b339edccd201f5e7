"""Bad input to the ``tinyllm`` command, run in-process: the exit code, and a message naming the argument."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import tinyllm as tl
from tinyllm.cli import main

ROOT = str(Path(tl.__file__).resolve().parent.parent)

USAGE_ERRORS = [  # argparse refuses these: exit code 2, the argument named on stderr
    ([], r"required: command"),
    (["train"], r"invalid choice: 'train'"),
    (["lesson"], r"invalid choice: 'lesson'"),
    (["lessons", "--threads", "0"], r"unrecognized arguments: --threads"),
    (["lessons", "--threads", "-1"], r"unrecognized arguments: --threads"),
    (["lessons", "--threads", "abc"], r"unrecognized arguments: --threads"),
    (["lessons", "--seed", "x"], r"unrecognized arguments: --seed"),
    (["bench", "--threads", "2"], r"unrecognized arguments: --threads"),
    (["demo", "--seed", "1"], r"unrecognized arguments: --seed 1"),
    (["demo", "extra"], r"unrecognized arguments: extra"),
    (["lessons", "--device", "tpu"], r"argument --device: invalid device 'tpu'"),
    (["lessons", "--device", "cuda:x"], r"argument --device: invalid device 'cuda:x'"),
    (["lessons", "--device", ""], r"argument --device: invalid device ''"),
    (["bench", "--device", "gpu"], r"argument --device: invalid device 'gpu'"),
    (["bench", "--device", "CPU"], r"argument --device: invalid device 'CPU'"),
    (["lessons", "--out"], r"argument --out: expected one argument"),
    (["lessons", "--quick=yes"], r"argument --quick: ignored explicit argument 'yes'"),
    (["bench", "--json=1"], r"argument --json: ignored explicit argument '1'"),
    (["assignment"], r"required: action"),
    (["assignment", "publish"], r"invalid choice: 'publish'"),
    (["assignment", "make"], r"required: out"),
    (["assignment", "grade", "--jobs", "abc"], r"argument --jobs: invalid int value: 'abc'"),
    (["assignment", "grade", "--jobs", "1.5"], r"argument --jobs: invalid int value: '1\.5'"),
    (["assignment", "grade", "--timeout", "abc"], r"argument --timeout: invalid float value: 'abc'"),
    (["assignment", "grade", "--tasks"], r"argument --tasks: expected at least one argument"),
]


@pytest.mark.parametrize(("argv", "match"), USAGE_ERRORS)
def test_cli_usage_errors_exit_2_and_name_the_argument(capsys, argv, match):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


NAMED_EXITS = [  # the command refuses these before running anything: SystemExit with the message
    (["lessons", "99"], r"no single lesson matches '99'; the lessons are: 00_"),
    (["lessons", "0"], r"no single lesson matches '0'"),
    (["lessons", "autograd", "nope"], r"no single lesson matches 'nope'"),
    (["lessons", ""], r"no single lesson matches ''"),
    (["bench", "nope"], r"unknown workload 'nope'; choose from"),
    (["bench", "gemm", "GEMM"], r"unknown workload 'GEMM'"),
]


@pytest.mark.parametrize(("argv", "match"), NAMED_EXITS)
def test_cli_names_an_unknown_lesson_or_workload(argv, match):
    with pytest.raises(SystemExit, match=match):
        main(argv)


def test_bench_on_cuda_without_a_gpu_says_so():
    if tl.cuda_is_available():
        pytest.skip("a GPU is present: the benchmark would run")
    with pytest.raises(SystemExit, match=r"device 'cuda' is not available"):
        main(["bench", "--device", "cuda", "gemm"])


ASSIGNMENT_ERRORS = [  # `tinyllm assignment` prints the error and returns 2
    (["assignment", "grade", ROOT, "--timeout", "0"], r"timeout must be a number of seconds > 0, not 0\.0"),
    (["assignment", "grade", ROOT, "--timeout", "-5"], r"timeout must be .* not -5\.0"),
    (["assignment", "grade", ROOT, "--timeout", "nan"], r"timeout must be .* not nan"),
    (["assignment", "grade", ROOT, "--timeout", "inf"], r"timeout must be .* not inf"),
    (["assignment", "grade", ROOT, "--jobs", "0"], r"jobs must be a whole number >= 1, not 0"),
    (["assignment", "grade", ROOT, "--jobs", "-2"], r"jobs must be .* not -2"),
    (["assignment", "grade", "/nonexistent/copy"], r"/nonexistent/copy holds no tinyllm package"),
    (["assignment", "grade", ROOT, "--tasks", "nope"], r"unknown task id 'nope'"),
]


@pytest.mark.parametrize(("argv", "match"), ASSIGNMENT_ERRORS)
def test_assignment_errors_return_2_and_name_the_argument(capsys, argv, match):
    assert main(argv) == 2
    assert re.search(match, capsys.readouterr().out)


def test_assignment_make_names_an_unknown_task_and_writes_nothing(tmp_path, capsys):
    out = tmp_path / "copy"
    assert main(["assignment", "make", str(out), "--tasks", "nope"]) == 2
    assert "unknown task id 'nope'" in capsys.readouterr().out
    assert not out.exists()


def test_assignment_make_refuses_a_folder_that_is_not_empty(tmp_path, capsys):
    (tmp_path / "keep.txt").write_text("mine")
    assert main(["assignment", "make", str(tmp_path)]) == 2
    assert "is not empty; pass --force" in capsys.readouterr().out
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_assignment_make_refuses_a_file_as_the_folder(tmp_path, capsys):
    path = tmp_path / "file.txt"
    path.write_text("x")
    assert main(["assignment", "make", str(path)]) == 2
    assert "is a file, not a folder" in capsys.readouterr().out
