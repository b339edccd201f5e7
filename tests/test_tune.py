"""Hyperparameter search: what each search tries, failures recorded, the same results on every executor."""

from __future__ import annotations

import csv
import itertools
import math
import os
import signal
import sys
import time
import types
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import tune

# Trial functions live at the top of the module, so worker processes can import them.


def bowl(config: dict) -> dict:
    """A quadratic bowl in (log10 lr, width) with its minimum at lr = 1e-2, width = 64, plus
    a little deterministic noise from the trial's own seed."""
    noise = np.random.default_rng(config["seed"]).normal(0, 1e-3)
    loss = (math.log10(config["lr"]) + 2) ** 2 + ((config["width"] - 64) / 64) ** 2 + noise
    return {"val_loss": loss, "val_accuracy": 1 - loss}


def fragile(config: dict) -> dict:
    """The bowl, failing in two ways: it raises for width 32 and returns NaN for width 128."""
    if config["width"] == 32:
        raise RuntimeError("out of memory (pretend)")
    if config["width"] == 128:
        return {"val_loss": float("nan")}
    return bowl(config)


def budgeted(config: dict, budget: int) -> dict:
    """A loss that falls with the budget toward the config's floor, lowest at lr = 1e-2."""
    floor = (math.log10(config["lr"]) + 2) ** 2
    return {"val_loss": floor + 1.0 / budget, "budget_was_int": float(isinstance(budget, int))}


def overfitting(config: dict, budget: int) -> dict:
    """A loss that grows with the budget: earlier rungs look better than later ones."""
    return {"val_loss": (math.log10(config["lr"]) + 2) ** 2 + budget}


def budgeted_fragile(config: dict, budget: int) -> dict:
    """Fails for lr above 0.1 at every budget."""
    if config["lr"] > 0.1:
        raise ValueError(f"diverged at lr {config['lr']:.3g}")
    return budgeted(config, budget)


def vandal(config: dict) -> dict:
    """Edits the config it was given."""
    config["width"] = -1
    config.pop("seed")
    return {"val_loss": 0.0}


def finishing_time(config: dict) -> dict:
    time.sleep(config["delay"])
    return {"val_loss": config["delay"], "finished_at": time.perf_counter()}


def unruly(config: dict) -> dict:
    """Ends its trial in one of the ways that escape a plain ``except Exception``."""
    how = config["how"]
    if how == "exit":
        sys.exit(3)
    if how == "hang":
        time.sleep(60)
    if how == "os._exit":
        os._exit(7)
    if how == "killed":
        os.kill(os.getpid(), signal.SIGKILL)
    return {"val_loss": 1.0}


def unruly_budgeted(config: dict, budget: int) -> dict:
    """``unruly`` under successive halving, with a loss that would rank the unruly configs first."""
    if config["how"] != "ok":
        unruly(config)
    return {"val_loss": config["loss"] / budget}


def interrupted(config: dict) -> dict:
    raise KeyboardInterrupt


UNRULY = {"how": ["ok", "exit", "hang", "os._exit", "killed", "ok"]}
UNRULY_ERRORS = {
    "ok": None,
    "exit": "SystemExit(3)",
    "hang": "timed out after 1 s",
    "os._exit": "the trial's process died: exit code 7",
    "killed": "the trial's process died: exit code -9 (SIGKILL)",
}


GRID = {"lr": [1e-3, 1e-2, 1e-1], "width": [32, 64, 128]}
SPACE = {"lr": tune.loguniform(1e-4, 1.0), "width": tune.choice([16, 32, 64, 128, 256]), "layers": 2}


def comparable(results: tune.SearchResults) -> list[dict]:
    """The rows without their durations (which change from run to run), NaN as text (NaN != NaN)."""
    rows = [{k: v for k, v in row.items() if k != "duration_s"} for row in results.to_rows()]
    return [
        {k: "nan" if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()} for row in rows
    ]


# ----------------------------------------------------------------------------- spaces and seeds


def test_distributions_sample_their_documented_ranges() -> None:
    rng = np.random.default_rng(0)
    assert {tune.randint(0, 3).sample(rng) for _ in range(200)} == {0, 1, 2}
    assert all(isinstance(tune.randint(0, 3).sample(rng), int) for _ in range(5))
    u = [tune.uniform(2.0, 3.0).sample(rng) for _ in range(500)]
    assert 2.0 <= min(u) and max(u) < 3.0 and abs(np.mean(u) - 2.5) < 0.05
    logs = np.log10([tune.loguniform(1e-6, 1.0).sample(rng) for _ in range(2000)])
    assert -6 <= logs.min() and logs.max() < 0 and abs(np.mean(logs) + 3) < 0.15  # uniform in log space
    assert {tune.choice(["a", "b", "c"]).sample(rng) for _ in range(100)} == {"a", "b", "c"}


def test_distributions_have_readable_reprs_and_reject_empty_ranges() -> None:
    for d, text in [
        (tune.choice([32, 64]), "choice([32, 64])"),
        (tune.uniform(0.0, 0.5), "uniform(0.0, 0.5)"),
        (tune.loguniform(1e-4, 0.1), "loguniform(0.0001, 0.1)"),
        (tune.randint(1, 4), "randint(1, 4)"),
    ]:
        assert repr(d) == text and eval(text, vars(tune)) == d  # noqa: S307 (our own repr)
    for make, message in [
        (lambda: tune.choice([]), "choice: needs at least one value"),
        (lambda: tune.uniform(1.0, 1.0), "uniform: need low < high"),
        (lambda: tune.loguniform(0.0, 1.0), "loguniform: need 0 < low < high"),
        (lambda: tune.randint(3, 3), "randint: need low < high"),
    ]:
        with pytest.raises(ValueError, match=message):
            make()


def test_loguniform_refuses_an_infinite_bound() -> None:
    with pytest.raises(
        ValueError, match=r"loguniform: low and high must be finite \(not inf or NaN\), got 0.0001, inf"
    ):
        tune.loguniform(1e-4, math.inf)


def test_distributions_refuse_bounds_that_are_not_finite_numbers() -> None:
    for make, error, message in [
        (lambda: tune.loguniform(math.nan, 1.0), ValueError, "loguniform: low and high must be finite"),
        (lambda: tune.uniform(0.0, math.inf), ValueError, "uniform: low and high must be finite"),
        (lambda: tune.uniform(math.nan, 1.0), ValueError, "uniform: low and high must be finite"),
        (lambda: tune.uniform(-1e308, 1e308), ValueError, "uniform: high - low must be a finite float"),
        (lambda: tune.uniform("a", "b"), TypeError, "uniform: low and high must be numbers, got 'a', 'b'"),
        (lambda: tune.randint(0, 2.5), TypeError, "randint: low and high must be ints, got 0, 2.5"),
        (lambda: tune.randint(0, math.inf), TypeError, "randint: low and high must be ints"),
        (lambda: tune.choice("abc"), TypeError, "choice: values must be a list of values, got 'abc'"),
        (lambda: tune.choice(3), TypeError, "choice: values must be a list of values, got 3"),
    ]:
        with pytest.raises(error, match=message):
            make()
    assert tune.choice(v for v in (1, 2)).values == [1, 2]  # any iterable becomes a list
    assert tune.randint(np.int64(0), 2) == tune.randint(0, 2)
    assert 0 <= tune.uniform(0, 1).sample(np.random.default_rng(0)) < 1  # ints are numbers


def test_each_trial_gets_a_seed_fixed_by_the_search_seed_and_its_index() -> None:
    results = tune.grid_search(bowl, GRID, seed=7)
    assert [t.config["seed"] for t in results] == [tune.trial_seed(7, i) for i in range(9)]
    assert len({t.config["seed"] for t in results}) == 9
    assert tune.trial_seed(7, 0) != tune.trial_seed(8, 0)
    repeats = tune.grid_search(bowl, {"lr": [1e-2], "width": [64], "seed": [0, 1, 2]})
    assert [t.config["seed"] for t in repeats] == [0, 1, 2]  # a config's own seed is kept


# ----------------------------------------------------------------------------- grid and random search


def test_grid_search_tries_every_combination_in_order() -> None:
    results = tune.grid_search(bowl, GRID, metric="val_loss")
    assert [t.index for t in results] == list(range(9))
    assert [(t.config["lr"], t.config["width"]) for t in results] == [
        (a, b) for a in GRID["lr"] for b in GRID["width"]
    ]
    best = results.best()
    assert (best.config["lr"], best.config["width"]) == (1e-2, 64)
    assert results.best("val_accuracy", mode="max").index == best.index


def test_grid_search_rejects_a_value_that_is_not_a_list() -> None:
    with pytest.raises(TypeError, match=r"grid_search: grid\['act'\] must be a list of values, got 'relu'"):
        tune.grid_search(bowl, {"act": "relu"})
    with pytest.raises(ValueError, match=r"grid_search: grid\['lr'\] is empty"):
        tune.grid_search(bowl, {"lr": []})


def test_random_search_draws_within_the_space_and_repeats_for_a_seed() -> None:
    a = tune.random_search(bowl, SPACE, n_trials=40, seed=3)
    b = tune.random_search(bowl, SPACE, n_trials=40, seed=3)
    c = tune.random_search(bowl, SPACE, n_trials=40, seed=4)
    assert [t.config for t in a] == [t.config for t in b] != [t.config for t in c]
    assert [t.config for t in tune.random_search(bowl, SPACE, n_trials=5, seed=3)] == [t.config for t in a][
        :5
    ]
    lrs = np.array([t.config["lr"] for t in a])
    assert lrs.min() >= 1e-4 and lrs.max() < 1.0
    assert 0.25 < np.mean(lrs < 1e-2) < 0.75  # log-uniform: about half below the geometric middle 1e-2
    assert {t.config["width"] for t in a} <= {16, 32, 64, 128, 256} and all(
        t.config["layers"] == 2 for t in a
    )


def test_searches_reject_bad_arguments_saying_where() -> None:
    with pytest.raises(ValueError, match="random_search: n_trials must be at least 1, got 0"):
        tune.random_search(bowl, SPACE, n_trials=0)
    with pytest.raises(ValueError, match="grid_search: mode must be 'min' or 'max', got 'minimum'"):
        tune.grid_search(bowl, GRID, mode="minimum")
    with pytest.raises(ValueError, match="successive_halving: need eta >= 2"):
        tune.successive_halving(budgeted, [{"lr": 0.1}], eta=1)
    with pytest.raises(ValueError, match="successive_halving: n_trials=3 but 1 configs were given"):
        tune.successive_halving(budgeted, [{"lr": 0.1}], n_trials=3)
    with pytest.raises(
        ValueError, match="successive_halving: n_trials must be at least 1 to draw from a space"
    ):
        tune.successive_halving(budgeted, SPACE)
    with pytest.raises(ValueError, match="successive_halving: no configs to try"):
        tune.successive_halving(budgeted, [])


# ----------------------------------------------------------------------------- failures


def test_failed_trials_are_recorded_with_their_error_and_the_search_completes() -> None:
    results = tune.grid_search(fragile, GRID, metric="val_loss")
    assert len(results) == 9 and len(results.failed) == 6
    for t in results:
        status, error = {
            32: ("failed", "RuntimeError: out of memory (pretend)"),
            128: ("failed", "non-finite val_loss: nan"),
            64: ("ok", None),
        }[t.config["width"]]
        assert (t.status, t.error) == (status, error)
    assert (results.best().config["lr"], results.best().config["width"]) == (1e-2, 64)  # failures ignored
    assert [t.config["width"] for t in results.sorted()] == [64, 64, 64]


def test_a_trial_fails_for_a_missing_metric_or_a_result_that_is_not_a_dict() -> None:
    missing = tune.grid_search(lambda c: {"loss": 1.0}, {"x": [1]}, metric="val_loss")
    assert missing[0].error == "no 'val_loss' among the metrics ['loss']"
    not_a_dict = tune.grid_search(lambda c: 0.5, {"x": [1]})
    assert not_a_dict[0].error == "TypeError: the trial returned float, not a dict of metrics"


def test_only_the_chosen_metric_must_be_finite() -> None:
    def trial(config: dict) -> dict:
        return {"val_loss": config["x"], "grad_norm": math.inf if config["x"] == 1 else 2.0}

    chosen = tune.grid_search(trial, {"x": [1, 2]}, metric="val_loss")
    assert [t.status for t in chosen] == ["ok", "ok"]
    assert [t.index for t in chosen.sorted("grad_norm")] == [1]  # ranked on a finite value only
    unchosen = tune.grid_search(trial, {"x": [1, 2]})
    assert [t.status for t in unchosen] == ["failed", "ok"] and unchosen[
        0
    ].error == "non-finite grad_norm: inf"


def test_best_says_why_when_every_trial_failed() -> None:
    results = tune.grid_search(fragile, {"lr": [1e-2], "width": [32, 128]}, metric="val_loss")
    with pytest.raises(
        ValueError, match=r"none of the 2 trials succeeded .* first error: trial 0: RuntimeError"
    ):
        results.best()


def test_a_trial_editing_its_config_does_not_change_the_record() -> None:
    results = tune.grid_search(vandal, {"width": [8]}, seed=1)
    assert results[0].config == {"width": 8, "seed": tune.trial_seed(1, 0)}


def test_a_trial_calling_sys_exit_is_a_failed_trial_and_the_search_completes() -> None:
    results = tune.grid_search(unruly, {"how": ["ok", "exit", "ok"]}, metric="val_loss")
    assert [(t.status, t.error) for t in results] == [("ok", None), ("failed", "SystemExit(3)"), ("ok", None)]
    with ProcessPoolExecutor(max_workers=2) as pool:
        pooled = tune.grid_search(unruly, {"how": ["ok", "exit", "ok"]}, executor=pool, metric="val_loss")
    assert comparable(pooled) == comparable(results)


def test_a_keyboard_interrupt_still_stops_the_search() -> None:
    with pytest.raises(KeyboardInterrupt):
        tune.grid_search(interrupted, {"x": [1, 2]})
    with pytest.raises(KeyboardInterrupt, match="in trial 0's process"):  # and from a trial's child process
        tune.grid_search(interrupted, {"x": [1, 2]}, trial_timeout=5)


def test_trial_timeout_records_hangs_and_crashes_as_failed_trials_and_the_search_completes() -> None:
    start = time.perf_counter()
    results = tune.grid_search(unruly, UNRULY, metric="val_loss", trial_timeout=1)
    assert time.perf_counter() - start < 10  # the hanging trial (60 s) was killed
    assert [(t.status, t.error) for t in results] == [
        ("ok" if error is None else "failed", error) for error in map(UNRULY_ERRORS.get, UNRULY["how"])
    ]
    assert [t.metrics for t in results if t.status == "ok"] == [{"val_loss": 1.0}] * 2
    hung = results[2]
    assert 1 <= hung.duration_s < 5 and hung.metrics == {}


def test_trial_timeout_isolates_crashes_in_a_process_pool_too() -> None:
    serial = tune.grid_search(unruly, UNRULY, metric="val_loss", trial_timeout=1)
    with ProcessPoolExecutor(max_workers=2) as pool:  # a crash kills the trial's child, not the pool's worker
        pooled = tune.grid_search(unruly, UNRULY, executor=pool, metric="val_loss", trial_timeout=1)
    assert comparable(pooled) == comparable(serial)


def test_trial_timeout_changes_no_result_of_a_trial_that_finishes_in_time() -> None:
    plain = run_search("halving")
    timed = tune.successive_halving(
        budgeted_fragile, SPACE, n_trials=9, min_budget=1, max_budget=9, seed=5, trial_timeout=5
    )
    assert comparable(timed) == comparable(plain)


def test_successive_halving_never_promotes_a_trial_that_exited_hung_or_crashed() -> None:
    hows = ["exit", "hang", "os._exit", "killed", "ok", "ok"]
    configs = [{"how": how, "loss": i} for i, how in enumerate(hows)]  # the unruly ones would rank first
    results = tune.successive_halving(
        unruly_budgeted, configs, min_budget=1, max_budget=4, eta=2, trial_timeout=1
    )
    assert [(t.rung, t.index, t.status) for t in results][6:] == [(1, 4, "ok"), (1, 5, "ok"), (2, 4, "ok")]
    assert [t.error for t in results.failed] == [UNRULY_ERRORS[how] for how in hows[:4]]


# ----------------------------------------------------------------------------- arguments


def test_successive_halving_refuses_an_infinite_budget() -> None:
    with pytest.raises(ValueError, match=r"successive_halving: max_budget must be a finite number > 0, got inf"):
        tune.successive_halving(budgeted, [{"lr": 0.1}], max_budget=math.inf)


def test_successive_halving_refuses_budgets_and_eta_out_of_range() -> None:
    for kwargs, message in [
        ({"min_budget": math.inf}, "min_budget must be a finite number > 0, got inf"),
        ({"min_budget": math.nan}, "min_budget must be a finite number > 0, got nan"),
        ({"max_budget": math.nan}, "max_budget must be a finite number > 0, got nan"),
        ({"min_budget": 0}, "min_budget must be a finite number > 0, got 0"),
        ({"min_budget": 9, "max_budget": 3}, "need min_budget <= max_budget, got 9 > 3"),
        ({"eta": 2.5}, r"need eta >= 2 \(an int, the factor of each cut\), got eta=2.5"),
        ({"eta": math.nan}, "need eta >= 2 .* got eta=nan"),
        ({"eta": math.inf}, "need eta >= 2 .* got eta=inf"),
        ({"eta": 1}, "need eta >= 2 .* got eta=1"),
    ]:
        with pytest.raises(ValueError, match="successive_halving: " + message):
            tune.successive_halving(budgeted, [{"lr": 0.1}], **kwargs)
    for kwargs, message in [
        ({"max_budget": "27"}, "max_budget must be a finite number > 0, got '27'"),
        ({"eta": "3"}, "need eta >= 2 .* got eta='3'"),
    ]:
        with pytest.raises(TypeError, match="successive_halving: " + message):  # no number at all
            tune.successive_halving(budgeted, [{"lr": 0.1}], **kwargs)


def test_searches_refuse_a_number_of_trials_that_is_not_an_int() -> None:
    with pytest.raises(TypeError, match=r"random_search: n_trials must be an int >= 1, got 2.5"):
        tune.random_search(bowl, SPACE, n_trials=2.5)
    with pytest.raises(TypeError, match=r"random_search: n_trials must be an int >= 1, got True"):
        tune.random_search(bowl, SPACE, n_trials=True)
    with pytest.raises(TypeError, match=r"successive_halving: n_trials must be an int >= 1 to draw .* got 2.5"):
        tune.successive_halving(budgeted, SPACE, n_trials=2.5)
    assert len(tune.random_search(bowl, SPACE, n_trials=np.int64(2))) == 2  # NumPy's ints are ints


def test_searches_refuse_a_timeout_seed_metric_or_trial_that_cannot_work() -> None:
    for timeout, error in [(0, ValueError), (-1, ValueError), (math.inf, ValueError), (math.nan, ValueError),
                           ("5", TypeError), (True, TypeError)]:
        with pytest.raises(error, match=r"grid_search: trial_timeout must be None or a finite number of seconds"):
            tune.grid_search(bowl, GRID, trial_timeout=timeout)
    for seed, error in [(-1, ValueError), (1.5, ValueError), (None, TypeError)]:
        with pytest.raises(error, match=f"random_search: seed must be an int >= 0, got {seed!r}"):
            tune.random_search(bowl, SPACE, n_trials=2, seed=seed)
    with pytest.raises(TypeError, match="grid_search: metric must be a name"):
        tune.grid_search(bowl, GRID, metric=["val_loss"])
    with pytest.raises(TypeError, match="grid_search: trial_fn must be callable, got 'bowl'"):
        tune.grid_search("bowl", GRID)
    with pytest.raises(TypeError, match="grid_search: grid must be a dict of value lists"):
        tune.grid_search(bowl, [("lr", [1e-3])])
    with pytest.raises(TypeError, match="random_search: the space must be a dict"):
        tune.random_search(bowl, [SPACE], n_trials=2)
    with pytest.raises(TypeError, match="successive_halving: each config must be a dict, got 0.1"):
        tune.successive_halving(budgeted, [{"lr": 0.1}, 0.1])
    with pytest.raises(TypeError, match="successive_halving: expected a space .* or a list of configs"):
        tune.successive_halving(budgeted, "lr")


# ----------------------------------------------------------------------------- successive halving


def test_successive_halving_keeps_the_best_third_and_triples_the_budget() -> None:
    configs = [{"lr": 10.0**e} for e in np.linspace(-4, 0, 27)]
    results = tune.successive_halving(budgeted, configs, min_budget=1, max_budget=9, eta=3)
    rungs = [[t for t in results if t.rung == r] for r in range(3)]
    assert [len(r) for r in rungs] == [27, 9, 3] and len(results) == 39
    assert [{t.budget for t in r} for r in rungs] == [{1}, {3}, {9}]
    assert all(t.metrics["budget_was_int"] == 1.0 for t in results)  # int budgets stay ints
    for before, after in itertools.pairwise(rungs):  # survivors: the best of the rung before, by index
        best_before = sorted(before, key=lambda t: t.metrics["val_loss"])[: len(after)]
        assert [t.index for t in after] == sorted(t.index for t in best_before)
        assert all(t.config == configs[t.index] | {"seed": tune.trial_seed(0, t.index)} for t in after)
    assert abs(math.log10(results.best().config["lr"]) + 2) < 0.1
    assert sum(t.budget for t in results) == 27 * 1 + 9 * 3 + 3 * 9 < 27 * 9


def test_successive_halving_runs_the_last_survivor_up_to_the_max_budget() -> None:
    results = tune.successive_halving(
        budgeted, [{"lr": 1e-3}, {"lr": 1e-2}, {"lr": 1e-1}], min_budget=1, max_budget=10, eta=3
    )
    assert [(t.rung, t.budget, t.config["lr"]) for t in results][3:] == [
        (1, 3, 1e-2),
        (2, 9, 1e-2),
        (3, 10, 1e-2),
    ]


def test_successive_halving_ranks_the_last_rung_first() -> None:
    results = tune.successive_halving(
        overfitting, [{"lr": 10.0**e} for e in (-3, -2, -1)], min_budget=1, max_budget=3, eta=3
    )
    best = results.best()
    assert best.rung == 1 and best.config["lr"] == 1e-2
    assert best.metrics["val_loss"] > min(t.metrics["val_loss"] for t in results)  # a rung-0 loss was lower


def test_successive_halving_promotes_only_successful_trials() -> None:
    configs = [{"lr": 10.0**e} for e in np.linspace(-3, 0, 9)]  # the last 3 have lr > 0.1 and fail
    results = tune.successive_halving(budgeted_fragile, configs, min_budget=1, max_budget=9, eta=3)
    assert [len([t for t in results if t.rung == r]) for r in range(3)] == [9, 3, 1]
    assert all(t.status == "ok" for t in results if t.rung > 0) and len(results.failed) == 3
    all_fail = tune.successive_halving(
        budgeted_fragile, [{"lr": 0.5}, {"lr": 0.9}], min_budget=1, max_budget=9
    )
    assert len(all_fail) == 2 and len(all_fail.failed) == 2  # nothing to promote: the search stops


def test_successive_halving_draws_a_space_as_random_search_does() -> None:
    space = {"lr": tune.loguniform(1e-4, 1.0)}
    halving = tune.successive_halving(budgeted, space, n_trials=9, min_budget=1, max_budget=3, eta=3, seed=1)
    drawn = tune.random_search(lambda c: {"val_loss": 0.0}, space, n_trials=9, seed=1)
    assert [t.config for t in halving if t.rung == 0] == [t.config for t in drawn]
    assert [t.rung for t in halving].count(1) == 3


# ----------------------------------------------------------------------------- executors


def run_search(search: str, executor=None) -> tune.SearchResults:
    if search == "grid":
        return tune.grid_search(fragile, GRID, executor=executor, metric="val_loss")
    if search == "random":
        return tune.random_search(bowl, SPACE, n_trials=12, seed=5, executor=executor, metric="val_loss")
    return tune.successive_halving(
        budgeted_fragile, SPACE, n_trials=9, min_budget=1, max_budget=9, seed=5, executor=executor
    )


@pytest.mark.parametrize("search", ["grid", "random", "halving"])
def test_results_are_identical_under_serial_and_process_executors(search: str) -> None:
    serial = run_search(search)
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = run_search(search, pool)
    assert comparable(serial) == comparable(parallel) and str(serial) == str(parallel)
    assert serial.best().config == parallel.best().config


def test_results_are_identical_on_a_local_dask_cluster() -> None:
    distributed = pytest.importorskip(
        "distributed", reason="dask.distributed is not installed (pip install 'dask[distributed]')"
    )
    serial = [run_search(s) for s in ("grid", "random")]
    with distributed.Client(
        processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None
    ) as client:
        on_dask = [run_search(s, client.get_executor()) for s in ("grid", "random")]
    for a, b in zip(serial, on_dask):
        assert comparable(a) == comparable(b) and str(a) == str(b) and a.best().config == b.best().config


def test_results_are_ordered_by_index_not_by_finishing_time() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = tune.grid_search(finishing_time, {"delay": [0.5, 0.0, 0.0]}, executor=pool)
    assert [t.index for t in results] == [0, 1, 2]
    assert results[0].metrics["finished_at"] > results[1].metrics["finished_at"]  # trial 0 finished after 1


def test_a_trial_function_the_pool_cannot_pickle_is_recorded_as_failed() -> None:
    with ProcessPoolExecutor(max_workers=2) as pool:
        results = tune.grid_search(lambda c: {"val_loss": 0.0}, {"x": [1, 2]}, executor=pool)
    assert [t.status for t in results] == ["failed", "failed"]
    assert all(
        " in the executor: Can't pickle " in t.error and t.error.endswith("at the top level of a module)")
        for t in results
    )


#: A notebook cell that defines a trial: run in a Jupyter kernel, its function belongs to a ``__main__``
#: that no file backs, which processes started by 'spawn' or 'forkserver' cannot import.
NOTEBOOK_CELL = """
import os

def notebook_trial(config):
    return {"val_loss": (config["x"] - 2) ** 2, "pid": os.getpid()}

def notebook_budgeted(config, budget):
    return {**notebook_trial(config), "budget": budget}
"""


@pytest.fixture
def notebook_trial(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    main = types.ModuleType("__main__")  # as a kernel's: no __file__
    monkeypatch.setitem(sys.modules, "__main__", main)
    exec(NOTEBOOK_CELL, main.__dict__)  # noqa: S102 (the cell a kernel would run)
    return main


def test_a_spawned_worker_cannot_find_a_trial_defined_in_a_notebook(notebook_trial, capfd) -> None:
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        with pytest.raises(BrokenProcessPool):  # the problem the searches work around
            pool.submit(tune.run_trial, notebook_trial.notebook_trial, 0, {"x": 1}, None, None).result(timeout=60)
    assert "Can't get attribute 'notebook_trial' on <module '__main__'" in capfd.readouterr().err


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forking is the workaround on Linux only")
@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_a_notebooks_trial_on_a_spawning_pool_runs_on_forked_processes_with_a_note(notebook_trial, method) -> None:
    serial = tune.grid_search(notebook_trial.notebook_trial, {"x": [0, 1, 2, 3]}, metric="val_loss")
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context(method)) as pool:
        with pytest.warns(RuntimeWarning, match=rf"notebook_trial\(\) is defined in a notebook, which processes "
                          rf"started by '{method}' cannot import; its trials run on 2 forked processes instead"):
            pooled = tune.grid_search(notebook_trial.notebook_trial, {"x": [0, 1, 2, 3]}, metric="val_loss",
                                      executor=pool)  # fmt: skip
    assert not pooled.failed
    assert [t.metrics["val_loss"] for t in pooled] == [t.metrics["val_loss"] for t in serial] == [4, 1, 0, 1]
    assert os.getpid() not in {t.metrics["pid"] for t in pooled}


def test_without_fork_a_notebooks_trial_runs_in_this_process_with_a_note(notebook_trial, monkeypatch) -> None:
    monkeypatch.setattr(tune, "_fork_available", lambda: False)  # as on macOS and Windows
    with ProcessPoolExecutor(max_workers=2, mp_context=get_context("spawn")) as pool:
        with pytest.warns(RuntimeWarning, match="its trials run one after another in this process instead"):
            results = tune.successive_halving(notebook_trial.notebook_budgeted, [{"x": x} for x in range(3)],
                                              max_budget=3, executor=pool)  # fmt: skip
    assert not results.failed and {t.metrics["pid"] for t in results} == {os.getpid()}
    assert results.best().config["x"] == 2


def test_a_forking_pool_or_a_scripts_trial_is_left_as_it_is(notebook_trial) -> None:
    spawn = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
    assert tune._reachable_executor(bowl, spawn) == (spawn, False)  # a module's function: spawn imports it
    if sys.platform.startswith("linux"):
        fork = ProcessPoolExecutor(max_workers=1, mp_context=get_context("fork"))
        assert tune._reachable_executor(notebook_trial.notebook_trial, fork) == (fork, False)
        fork.shutdown()
    spawn.shutdown()


# ----------------------------------------------------------------------------- the table and its exports


def test_results_round_trip_through_json_and_csv(tmp_path) -> None:
    results = run_search("halving")
    results.to_json(tmp_path / "r.json")
    back = tune.SearchResults.from_json(tmp_path / "r.json")
    assert comparable(back) == comparable(results) and (back.metric, back.mode) == ("val_loss", "min")
    assert [t.duration_s for t in back] == [t.duration_s for t in results]
    grid = tune.grid_search(fragile, GRID, metric="val_loss")  # NaN metrics, empty cells, errors with commas
    grid.to_csv(tmp_path / "r.csv")
    with open(tmp_path / "r.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0])[:4] == ["index", "status", "lr", "width"]
    assert rows == [{k: "" if row.get(k) is None else str(row[k]) for k in rows[0]} for row in grid.to_rows()]
    assert float(rows[4]["val_loss"]) == grid[4].metrics["val_loss"]  # floats are written exactly


def test_the_table_has_aligned_columns_text_left_numbers_right() -> None:
    results = tune.grid_search(fragile, GRID, metric="val_loss")
    lines = str(results).splitlines()
    header, rows = lines[0], lines[1:]
    assert len(rows) == 9 and "duration_s" not in header and header.split()[-1] == "error"
    status = header.index("status")
    assert all(line[status - 1] == " " and line[status:].startswith(("ok", "failed")) for line in rows)
    end = header.index("val_loss") + len("val_loss")  # numbers end where their header ends
    assert all(line[end - 1] in "0123456789n " and line[end] == " " for line in rows)
    assert repr(results) == "SearchResults(9 trials, 6 failed, metric='val_loss', mode='min')"


def test_tune_is_part_of_the_package() -> None:
    assert tl.tune is tune and {"grid_search", "random_search", "successive_halving"} <= set(vars(tl.tune))


def test_with_a_gpu_as_the_default_device_a_process_pool_gives_way_to_trials_in_this_process(monkeypatch) -> None:
    monkeypatch.setattr(tune.backend, "get_default_device", lambda: tl.backend.Device("cuda", 0))  # as on a GPU
    fork = ProcessPoolExecutor(max_workers=1)
    with pytest.warns(RuntimeWarning, match=r"default device is cuda:0.*one after another in this process"):
        executor, own = tune._reachable_executor(bowl, fork)
    assert isinstance(executor, tune.SerialExecutor) and not own
    fork.shutdown()
