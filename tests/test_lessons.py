"""Every lesson runs in --quick mode and its closing assertions hold; ``tinyllm lessons`` finds them."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tinyllm import cli, lessons

LESSONS = lessons.available()


@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_lesson_runs_quick_and_its_assertions_hold(script, tmp_path) -> None:
    done = subprocess.run(
        [sys.executable, str(script), "--quick", "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=lessons.ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert list(tmp_path.glob("*.png")), "a lesson draws at least one figure"


def test_tinyllm_lessons_lists_every_lesson(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["lessons", "--list"]) == 0
    assert capsys.readouterr().out.split() == [p.stem for p in LESSONS]


def test_a_lesson_is_found_by_number_or_name() -> None:
    first = LESSONS[0]
    assert lessons.find(first.stem[:2]) == first == lessons.find(first.stem[3:])
    with pytest.raises(LookupError, match="no single lesson matches 'nope'"):
        lessons.find("nope")


def test_the_gpt_lesson_trains_on_a_text_file_passed_with_text(tmp_path) -> None:
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("to be or not to be, that is the question. " * 200, encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(lessons.find("gpt")), "--quick", "--text", str(corpus), "--out", str(tmp_path)],
        capture_output=True, text=True, timeout=300, cwd=lessons.ROOT,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "temperature 1.0" in done.stdout


@pytest.mark.parametrize("script", LESSONS, ids=[p.stem for p in LESSONS])
def test_a_lesson_names_itself_so_it_needs_no_file_and_runs_in_a_notebook_kernel(script) -> None:
    assert f'args = lessons.options("{script.stem}")' in script.read_text(encoding="utf-8")
