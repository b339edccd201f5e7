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
]


def _usage_error(capsys, argv, match) -> None:
    """A usage error: argparse exits with status 2 and a message matching ``match`` on stderr."""
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


@pytest.mark.parametrize(("argv", "match"), USAGE_ERRORS)
def test_cli_usage_errors_exit_2_and_name_the_argument(capsys, argv, match):
    _usage_error(capsys, argv, match)


NAMED_EXITS = [  # usage errors the command finds before running anything: exit 2, the message on stderr
    (["lessons", "99"], r"no single lesson matches '99'; the lessons are: 00_"),
    (["lessons", "0"], r"no single lesson matches '0'"),
    (["lessons", "autograd", "nope"], r"no single lesson matches 'nope'"),
    (["lessons", ""], r"no single lesson matches ''"),
    (["bench", "nope"], r"unknown workload 'nope'; choose from"),
    (["bench", "gemm", "GEMM"], r"unknown workload 'GEMM'"),
]


@pytest.mark.parametrize(("argv", "match"), NAMED_EXITS)
def test_cli_names_an_unknown_lesson_or_workload(capsys, argv, match):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 2
    assert re.search(match, capsys.readouterr().err)


def _fails_with_one_line(capsys, argv, match) -> None:
    """A failure (not a usage error): exit status 1 and one line ``tinyllm <cmd>: error: ...`` on stderr."""
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("tinyllm ") and ": error: " in err
    assert re.search(match, err)


def test_bench_on_cuda_without_a_gpu_says_so(capsys):
    if tl.cuda_is_available():
        pytest.skip("a GPU is present: the benchmark would run")
    _fails_with_one_line(capsys, ["bench", "--device", "cuda", "gemm"], r"device 'cuda' is not available")
