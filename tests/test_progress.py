"""Progress bars on searches and on ``tinyllm lessons``: k/n and the best score when asked, silent in logs.

As in ``fit``, ``progress=None`` shows a bar only when stderr is a terminal; under pytest's capture
it is not, so the default stays silent.
"""

from __future__ import annotations

import pytest

from tinyllm import lessons, tune

LOSSES = {1: 0.5, 2: 0.25, 3: 0.75}


def trial(config: dict) -> dict:
    if config["width"] == 4:
        raise ValueError("too wide")
    return {"val_loss": LOSSES[config["width"]]}


def halving_trial(config: dict, budget: float) -> dict:
    return {"val_loss": config["x"] / budget}


def test_a_search_shows_trials_done_of_all_and_the_best_so_far(capsys) -> None:
    tune.grid_search(trial, {"width": [1, 2, 3]}, metric="val_loss", progress=True)
    err = capsys.readouterr().err
    assert "grid_search" in err and "3/3" in err and "best val_loss=0.25" in err and "failed" not in err


def test_the_best_follows_the_mode_and_failures_are_counted(capsys) -> None:
    tune.grid_search(trial, {"width": [1, 2, 3, 4]}, metric="val_loss", mode="max", progress=True)
    err = capsys.readouterr().err
    assert "4/4" in err and "best val_loss=0.75, 1 failed" in err


def test_random_search_counts_its_trials(capsys) -> None:
    tune.random_search(trial, {"width": tune.choice([1, 2, 3])}, n_trials=5, metric="val_loss", progress=True)
    err = capsys.readouterr().err
    assert "random_search" in err and "5/5" in err and "best val_loss=" in err


def test_successive_halving_counts_the_runs_of_every_rung(capsys) -> None:
    configs = [{"x": float(x)} for x in range(1, 10)]
    results = tune.successive_halving(halving_trial, configs, min_budget=1, max_budget=9, eta=3, progress=True)
    assert len(results) == 9 + 3 + 1
    err = capsys.readouterr().err
    # the last rung runs x = 1 at budget 9: its best is 1/9, not rung 0's 1/1
    assert "13/13" in err and "rung 2 (budget 9)" in err and "best val_loss=0.1111" in err


def test_searches_are_silent_by_default_when_stderr_is_no_terminal(capsys) -> None:
    tune.grid_search(trial, {"width": [1, 2]}, metric="val_loss")
    tune.successive_halving(halving_trial, [{"x": 1.0}, {"x": 2.0}], min_budget=1, max_budget=2, eta=2)
    assert capsys.readouterr().err == ""


def test_progress_must_be_a_bool_or_none() -> None:
    with pytest.raises(TypeError, match="random_search: progress must be True, False or None, not 'yes'"):
        tune.random_search(trial, {"width": 1}, n_trials=1, progress="yes")


@pytest.fixture
def two_lessons(tmp_path, monkeypatch) -> None:
    for name in ("00_first", "01_second"):
        (tmp_path / f"{name}.py").write_text("print('done')\n")
    monkeypatch.setattr(lessons, "LESSONS_DIR", tmp_path)


def test_lessons_show_lesson_k_of_n_when_asked(two_lessons, capsys) -> None:
    assert lessons.run(progress=True) == 0
    out, err = capsys.readouterr()
    assert "lessons" in err and "2/2" in err
    assert "00_first" in out and "01_second" in out  # the lines themselves stay on stdout


def test_lessons_are_silent_on_stderr_by_default_when_it_is_no_terminal(two_lessons, capsys) -> None:
    assert lessons.run() == 0
    out, err = capsys.readouterr()
    assert err == "" and "01_second" in out
