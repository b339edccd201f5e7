"""The ``tinyllm`` command's contract: exit 2 for usage errors, 1 with one line for failures, plain help.

``tinyllm assignment``'s errors are tested in test_assignment.py (it stays with the instructor).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import tinyllm as tl
from tinyllm import cli, coverage, demo, lessons

ROOT = Path(__file__).resolve().parents[1]
no_gpu = pytest.mark.skipif(tl.cuda_is_available(), reason="checks the failure without CuPy or a GPU")


def _usage_error(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the command, expecting argparse's exit status 2; return what it printed on stderr."""
    with pytest.raises(SystemExit) as stop:
        cli.main(argv)
    assert stop.value.code == 2
    return capsys.readouterr().err


@pytest.mark.parametrize(
    ("argv", "named"),
    [
        ([], "the following arguments are required: command"),
        (["train"], "invalid choice: 'train'"),
        (["demo", "--fast"], "unrecognized arguments: --fast"),
        (["bench", "nope"], "tinyllm bench: error: unknown workload 'nope'; choose from lstm-clf"),
        (["bench", "--device", "gpu"], "tinyllm bench: error: argument --device: invalid device 'gpu'"),
        (["lessons", "nope"], "tinyllm lessons: error: no single lesson matches 'nope'; the lessons are: 00_"),
        (["lessons", "--device", "cuda:x"], "tinyllm lessons: error: argument --device: invalid device 'cuda:x'"),
        (["api-coverage", "--all"], "unrecognized arguments: --all"),
    ],
)
def test_usage_errors_exit_2_naming_the_problem(argv, named, capsys) -> None:
    err = _usage_error(argv, capsys)
    assert named in err and "usage: tinyllm" in err


@no_gpu
@pytest.mark.parametrize("command", [["bench", "gemm", "--quick"], ["lessons", "--quick", "00"]])
def test_device_cuda_without_cupy_fails_with_one_line_naming_cupy(command, capsys) -> None:
    assert cli.main([*command, "--device", "cuda"]) == 1
    out, err = capsys.readouterr()
    assert err.count("\n") == 1 and err.startswith(f"tinyllm {command[0]}: error: device 'cuda' is not available")
    assert "CuPy" in err and 'pip install "tinyllm[cuda]"' in err
    assert out == "", "nothing ran before the device was checked"


@no_gpu
def test_lessons_check_the_device_before_running_any_lesson(tmp_path, monkeypatch) -> None:
    ran = tmp_path / "ran"
    (tmp_path / "00_first.py").write_text(f"open({str(ran)!r}, 'w').close()\n")
    monkeypatch.setattr(lessons, "LESSONS_DIR", tmp_path)
    with pytest.raises(tl.backend.DeviceError, match="CuPy"):
        lessons.run(["00"], device="cuda")
    assert not ran.exists()


@no_gpu
def test_a_lesson_run_directly_with_device_cuda_stops_at_once(tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "lessons" / "00_autograd.py"), "--device", "cuda", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 1 and "Traceback" not in done.stderr and "CuPy" in done.stderr
    assert done.stderr.startswith("lessons/00_autograd.py: error: device 'cuda' is not available")
    assert not list(tmp_path.iterdir()), "the lesson ran before the device was checked"


@pytest.mark.skipif(not tl.cuda_is_available(), reason="CuPy sees no GPU on this machine")
def test_device_cuda_reaches_the_lesson_as_its_default_device(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "00_device.py").write_text(
        "import tinyllm as tl\nfrom tinyllm import lessons\nargs = lessons.options('00_device')\n"
        "assert args.device == 'cuda' and tl.zeros(1).device.type == 'cuda', tl.zeros(1).device\n"
    )
    monkeypatch.setattr(lessons, "LESSONS_DIR", tmp_path)
    assert cli.main(["lessons", "00", "--device", "cuda"]) == 0
    assert "00_device" in capsys.readouterr().out


def test_failures_print_one_line_and_exit_1(monkeypatch, capsys) -> None:
    def broken(*args, **kwargs):
        raise OSError("pytorch_names.txt: no such file")

    monkeypatch.setattr(coverage, "report", broken)
    monkeypatch.setattr(demo, "main", broken)
    for command in ("api-coverage", "demo"):
        assert cli.main([command]) == 1
        assert capsys.readouterr().err == f"tinyllm {command}: error: pytorch_names.txt: no such file\n"


def test_failed_lessons_exit_1_saying_how_many(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "00_passes.py").write_text("print('fine')\n")
    (tmp_path / "01_fails.py").write_text("assert 1 + 1 == 3, 'arithmetic is broken'\n")
    monkeypatch.setattr(lessons, "LESSONS_DIR", tmp_path)
    assert cli.main(["lessons", "--progress"]) == 1
    out, err = capsys.readouterr()
    assert "00_passes                ok" in out and "01_fails                 FAILED" in out
    assert "arithmetic is broken" in out
    assert err.splitlines()[-1] == "tinyllm lessons: error: 1 of 2 lessons failed"


def test_a_failure_shows_no_traceback_unless_tinyllm_debug_asks() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    command = [sys.executable, "-m", "tinyllm", "bench", "gemm", "--quick", "--device", "cuda:99"]  # no GPU 99
    quiet = subprocess.run(command, capture_output=True, text=True, env=env, timeout=120)
    assert quiet.returncode == 1 and quiet.stdout == ""
    assert quiet.stderr.startswith("tinyllm bench: error: device 'cuda") and quiet.stderr.count("\n") == 1
    loud = subprocess.run(command, capture_output=True, text=True, env={**env, "TINYLLM_DEBUG": "1"}, timeout=120)
    assert loud.returncode == 1 and "Traceback" in loud.stderr and "DeviceError" in loud.stderr


def test_help_is_plain_text(capsys) -> None:
    for argv in ([], ["bench"], ["lessons"], ["demo"], ["api-coverage"]):
        with pytest.raises(SystemExit) as stop:
            cli.main([*argv, "--help"])
        assert stop.value.code == 0
        out = capsys.readouterr().out
        assert out.startswith("usage: tinyllm") and "``" not in out and ":func:" not in out
    with pytest.raises(SystemExit):
        cli.main(["--help"])
    out = capsys.readouterr().out
    assert cli.DESCRIPTION.split(":")[0] in out
    assert all(name in out for name in ("demo", "bench", "lessons", "api-coverage"))


def test_a_reader_that_leaves_early_gets_no_error_message() -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    reader, writer = os.pipe()
    os.close(reader)  # `tinyllm lessons --list | head -0`: nobody reads
    done = subprocess.run([sys.executable, "-m", "tinyllm", "lessons", "--list"], stdout=writer,
                          stderr=subprocess.PIPE, text=True, env=env, timeout=120)  # fmt: skip
    os.close(writer)
    assert done.returncode == 1 and done.stderr == ""
