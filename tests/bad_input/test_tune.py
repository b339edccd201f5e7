"""Bad input to the searches and their distributions: each is refused where it enters, by name."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import pytest

from tinyllm import tune


def trial(config: dict[str, Any]) -> dict[str, float]:
    return {"val_loss": 1.0}


def budgeted(config: dict[str, Any], budget: float) -> dict[str, float]:
    return {"val_loss": 1.0}


SPACE = {"lr": tune.uniform(0, 1)}

CASES: list[tuple[str, Callable[[], Any], type[Exception], str]] = [
    ("uniform reversed", lambda: tune.uniform(1, 0), ValueError, r"uniform: need low < high"),
    ("uniform nan", lambda: tune.uniform(0, math.nan), ValueError, r"uniform: low and high must be finite"),
    ("uniform -inf", lambda: tune.uniform(-math.inf, 0), ValueError, r"uniform: low and high must be finite"),
    ("uniform text", lambda: tune.uniform("a", 1), TypeError, r"uniform: low and high must be numbers"),
    ("loguniform at 0", lambda: tune.loguniform(0, 1), ValueError, r"loguniform: need 0 < low < high"),
    ("loguniform negative", lambda: tune.loguniform(-1, 1), ValueError, r"loguniform: need 0 < low < high"),
    ("loguniform inf", lambda: tune.loguniform(1e-4, math.inf), ValueError, r"loguniform: .*must be finite"),
    ("loguniform reversed", lambda: tune.loguniform(2, 1), ValueError, r"loguniform: need 0 < low < high"),
    ("randint empty", lambda: tune.randint(5, 5), ValueError, r"randint: need low < high"),
    ("randint float", lambda: tune.randint(0.5, 3), TypeError, r"randint: low and high must be ints"),
    ("choice empty", lambda: tune.choice([]), ValueError, r"choice: needs at least one value"),
    ("choice str", lambda: tune.choice("abc"), TypeError, r"choice: values must be a list"),
    ("choice int", lambda: tune.choice(3), TypeError, r"choice: values must be a list"),
    ("n_trials 2.5", lambda: tune.random_search(trial, SPACE, n_trials=2.5), TypeError,
     r"n_trials must be an int >= 1"),
    ("n_trials True", lambda: tune.random_search(trial, SPACE, n_trials=True), TypeError, r"n_trials must be an int"),
    ("n_trials -1", lambda: tune.random_search(trial, SPACE, n_trials=-1), ValueError, r"n_trials must be at least 1"),
    ("seed -1", lambda: tune.random_search(trial, SPACE, n_trials=1, seed=-1), ValueError, r"seed must be an int >= 0"),
    ("seed 1.5", lambda: tune.random_search(trial, SPACE, n_trials=1, seed=1.5), ValueError, r"seed must be an int"),
    ("space list", lambda: tune.random_search(trial, [1], n_trials=1), TypeError, r"the space must be a dict"),
    ("trial_fn int", lambda: tune.random_search(3, SPACE, n_trials=1), TypeError, r"trial_fn must be callable"),
    ("metric int", lambda: tune.random_search(trial, SPACE, n_trials=1, metric=3), TypeError, r"metric must be a name"),
    ("mode", lambda: tune.random_search(trial, SPACE, n_trials=1, mode="up"), ValueError,
     r"mode must be 'min' or 'max'"),
    ("timeout 0", lambda: tune.random_search(trial, SPACE, n_trials=1, trial_timeout=0), ValueError,
     r"trial_timeout must be None or a finite number of seconds > 0, got 0"),
    ("timeout inf", lambda: tune.random_search(trial, SPACE, n_trials=1, trial_timeout=math.inf), ValueError,
     r"trial_timeout must be .* > 0, got inf"),
    ("timeout nan", lambda: tune.random_search(trial, SPACE, n_trials=1, trial_timeout=math.nan), ValueError,
     r"trial_timeout must be .* > 0, got nan"),
    ("grid list", lambda: tune.grid_search(trial, [1, 2]), TypeError, r"grid_search: grid must be a dict"),
    ("grid str value", lambda: tune.grid_search(trial, {"lr": "abc"}), TypeError, r"grid\['lr'\] must be a list"),
    ("grid empty value", lambda: tune.grid_search(trial, {"lr": []}), ValueError, r"grid\['lr'\] is empty"),
    ("max_budget inf", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, max_budget=math.inf), ValueError,
     r"max_budget must be a finite number > 0, got inf"),
    ("min_budget 0", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, min_budget=0), ValueError,
     r"min_budget must be a finite number > 0, got 0"),
    ("min_budget nan", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, min_budget=math.nan), ValueError,
     r"min_budget must be a finite number > 0, got nan"),
    ("budgets reversed", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, min_budget=10, max_budget=5),
     ValueError, r"need min_budget <= max_budget, got 10 > 5"),
    ("eta 1", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, eta=1), ValueError, r"need eta >= 2"),
    ("eta 2.5", lambda: tune.successive_halving(budgeted, SPACE, n_trials=2, eta=2.5), ValueError, r"need eta >= 2"),
    ("halving n_trials 0", lambda: tune.successive_halving(budgeted, SPACE, n_trials=0), ValueError,
     r"n_trials must be at least 1"),
    ("halving no configs", lambda: tune.successive_halving(budgeted, []), ValueError, r"no configs to try"),
    ("halving config int", lambda: tune.successive_halving(budgeted, [1, 2]), TypeError, r"each config must be a dict"),
]  # fmt: skip


@pytest.mark.parametrize(("name", "call", "error", "message"), CASES, ids=[c[0] for c in CASES])
def test_a_bad_search_argument_is_refused_by_name(
    name: str, call: Callable[[], Any], error: type, message: str
) -> None:
    with pytest.raises(error, match=message):
        call()
