"""Hyperparameter search: what each search tries, failures recorded, and the same results on every executor."""

from __future__ import annotations

import json
import math
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pytest

from tinyllm import tune

# Trial functions at module level, so worker processes can import them.


def bowl(config: dict) -> dict:
    """A quadratic bowl in (log10 lr, width) with its minimum at lr = 1e-2, width = 64, plus
    a little noise from the trial's own seed."""
    noise = np.random.default_rng(config["seed"]).normal(0, 1e-3)
    loss = (math.log10(config["lr"]) + 2) ** 2 + ((config["width"] - 64) / 64) ** 2 + noise
    return {"val_loss": loss, "val_accuracy": 1 - loss}


def fragile(config: dict) -> dict:
    """Fails in two ways: raises for one width, returns NaN for another."""
    if config["width"] == 32:
        raise RuntimeError("out of memory (pretend)")
    if config["width"] == 128:
        return {"val_loss": float("nan")}
    return bowl(config)


def budgeted(config: dict, budget: float) -> dict:
    """A trial whose loss falls with its budget toward the config's own floor."""
    floor = (math.log10(config["lr"]) + 2) ** 2
    return {"val_loss": floor + 1.0 / budget}


GRID = {"lr": [1e-3, 1e-2, 1e-1], "width": [32, 64, 128]}
SPACE = {"lr": tune.loguniform(1e-4, 1.0), "width": tune.choice([16, 32, 64, 128, 256]), "layers": 2}


def test_grid_search_tries_every_combination_in_order() -> None:
    results = grid_search_serial()
    assert [(t.config["lr"], t.config["width"]) for t in results] == [(a, b) for a in GRID["lr"] for b in GRID["width"]]
    best = results.best("val_loss")
    assert best.config["lr"] == 1e-2 and best.config["width"] == 64
    assert results.best("val_accuracy", mode="max").index == best.index


def grid_search_serial() -> tune.SearchResults:
    return tune.grid_search(bowl, GRID, metric="val_loss")


def test_random_search_draws_within_the_space_and_repeats_for_a_seed() -> None:
    a = tune.random_search(bowl, SPACE, n_trials=40, seed=3)
    b = tune.random_search(bowl, SPACE, n_trials=40, seed=3)
    c = tune.random_search(bowl, SPACE, n_trials=40, seed=4)
    assert [t.config for t in a] == [t.config for t in b] != [t.config for t in c]
    lrs = np.array([t.config["lr"] for t in a])
    assert lrs.min() >= 1e-4 and lrs.max() < 1.0
    assert {t.config["width"] for t in a} <= {16, 32, 64, 128, 256} and all(t.config["layers"] == 2 for t in a)
    # log-uniform: about half the draws below the geometric middle 1e-2
    assert 0.25 < np.mean(lrs < 1e-2) < 0.75
    assert len({t.config["seed"] for t in a}) == 40


def test_distributions_sample_their_documented_ranges() -> None:
    rng = np.random.default_rng(0)
    assert all(0 <= tune.randint(0, 3).sample(rng) < 3 for _ in range(100))
    assert {tune.randint(0, 3).sample(rng) for _ in range(200)} == {0, 1, 2}
    u = [tune.uniform(2.0, 3.0).sample(rng) for _ in range(500)]
    assert 2.0 <= min(u) and max(u) < 3.0 and abs(np.mean(u) - 2.5) < 0.05
    logs = np.log10([tune.loguniform(1e-6, 1.0).sample(rng) for _ in range(2000)])
    assert abs(np.mean(logs) + 3) < 0.15  # uniform in log space: mean exponent -3
    with pytest.raises(ValueError, match="0 < low < high"):
        tune.loguniform(0.0, 1.0)


def test_failed_trials_are_recorded_and_the_search_completes() -> None:
    results = tune.grid_search(fragile, GRID, metric="val_loss")
    assert len(results) == 9
    failed = {t.index: t for t in results.failed}
    assert len(failed) == 6
    raised = [t for t in failed.values() if t.config["width"] == 32]
    assert all(t.error == "RuntimeError: out of memory (pretend)" for t in raised)
    assert all("non-finite metric: val_loss=nan" in t.error for t in failed.values() if t.config["width"] == 128)
    assert results.best().config == {"lr": 1e-2, "width": 64, "seed": results.best().config["seed"]}


def test_successive_halving_keeps_the_best_third_and_triples_the_budget() -> None:
    configs = [{"lr": 10.0 ** e} for e in np.linspace(-4, 0, 27)]
    results = tune.successive_halving(budgeted, configs, min_budget=1, max_budget=9, eta=3)
    rungs = [[t for t in results if t.rung == r] for r in range(3)]
    assert [len(r) for r in rungs] == [27, 9, 3]
    assert [r[0].budget for r in rungs] == [1.0, 3.0, 9.0]
    # the survivors of each rung are the best of the rung before
    for before, after in zip(rungs, rungs[1:]):
        ranked = sorted(before, key=lambda t: t.metrics["val_loss"])[: len(after)]
        assert {t.index for t in ranked} == {t.index for t in after}
    assert abs(math.log10(results.best().config["lr"]) + 2) < 0.2
    spent = sum(t.budget for t in results)
    assert spent == 27 * 1 + 9 * 3 + 3 * 9 < 27 * 9


def test_successive_halving_draws_from_a_space() -> None:
    results = tune.successive_halving(budgeted, {"lr": tune.loguniform(1e-4, 1.0)}, n_trials=9, min_budget=1,
                                      max_budget=3, eta=3, seed=1)  # fmt: skip
    assert [t.rung for t in results].count(1) == 3


@pytest.mark.parametrize("search", ["grid", "random"])
def test_results_are_identical_under_serial_and_process_executors(search: str) -> None:
    def run(executor=None):
        if search == "grid":
            return tune.grid_search(bowl, GRID, executor=executor, metric="val_loss")
        return tune.random_search(bowl, SPACE, n_trials=12, seed=5, executor=executor, metric="val_loss")

    serial = run()
    with ProcessPoolExecutor(max_workers=2) as pool:
        parallel = run(pool)
    assert [(t.config, t.metrics, t.status) for t in serial] == [(t.config, t.metrics, t.status) for t in parallel]
    assert serial.best().config == parallel.best().config


def test_results_are_identical_on_a_local_dask_cluster() -> None:
    distributed = pytest.importorskip("distributed", reason="dask.distributed is not installed")
    serial = tune.random_search(bowl, SPACE, n_trials=8, seed=2, metric="val_loss")
    with distributed.Client(processes=False, n_workers=1, threads_per_worker=2, dashboard_address=None) as client:
        on_dask = tune.random_search(bowl, SPACE, n_trials=8, seed=2, metric="val_loss", executor=client.get_executor())
    assert [(t.config, t.metrics) for t in serial] == [(t.config, t.metrics) for t in on_dask]


def test_results_export_to_csv_json_and_an_aligned_table(tmp_path) -> None:
    results = tune.grid_search(fragile, GRID, metric="val_loss")
    results.to_csv(tmp_path / "r.csv")
    results.to_json(tmp_path / "r.json")
    header = (tmp_path / "r.csv").read_text().splitlines()[0].split(",")
    assert header[:4] == ["index", "status", "lr", "width"] and "error" in header
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["trials"]) == 9 and data["metric"] == "val_loss"
    lines = str(results).splitlines()
    assert len(lines) == 10
    status_column = lines[0].index("status")
    assert all(line[status_column:].startswith(("status", "ok", "failed")) for line in lines)
    assert [t.index for t in results.sorted()] == sorted(
        [t.index for t in results if t.status == "ok"], key=lambda i: results[i].metrics["val_loss"]
    )
