"""Hyperparameter search: grid search, random search and successive halving.

A *trial* is a function of a config (a dict of hyperparameters) that trains a
model and returns its metrics, e.g. ``{"val_loss": 0.41, "val_accuracy": 0.88}``.
A search decides which configs to try, runs the trials, and returns a
:class:`SearchResults` table:

    space = {"lr": tune.loguniform(1e-4, 1e-1), "hidden": tune.choice([32, 64, 128])}
    results = tune.random_search(train_and_validate, space, n_trials=20, seed=0)
    print(results.best("val_loss"))

Each config also gets a ``"seed"`` (derived from the search's seed and the
trial's number), fixed before any trial runs, so a trial gives the same result
wherever it runs. Trials that raise, or whose metric is NaN or infinite, are
recorded as failed with their error; the search goes on.

Where trials run is up to a ``concurrent.futures.Executor``: by default one after
another in this process; ``ProcessPoolExecutor()`` uses every core (the trial
function must then be importable: defined at the top level of a module); and a
cluster runs them through the same interface, e.g. with Dask::

    from distributed import Client
    client = Client("scheduler-address:8786")          # or Client() for a local cluster
    results = tune.grid_search(trial, grid, executor=client.get_executor())

Any other ``concurrent.futures.Executor`` works the same way. Results come back ordered by trial number, not by finishing time,
so they are identical whichever executor ran them.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import os
import time
from concurrent.futures import Executor, Future
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

import numpy

# ----------------------------------------------------------------------------- search spaces


class Distribution:
    """Something a config value can be drawn from."""

    def sample(self, rng: numpy.random.Generator) -> Any:
        raise NotImplementedError


@dataclass(frozen=True)
class choice(Distribution):  # noqa: N801 (a lower-case constructor, like the other distributions)
    """One of ``values``, each equally likely."""

    values: Sequence[Any]

    def sample(self, rng: numpy.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


@dataclass(frozen=True)
class uniform(Distribution):  # noqa: N801
    """A float uniform in [low, high)."""

    low: float
    high: float

    def sample(self, rng: numpy.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True)
class loguniform(Distribution):  # noqa: N801
    """A float whose logarithm is uniform: as likely in [1e-4, 1e-3) as in [1e-2, 1e-1) — the
    right prior for scales such as learning rates."""

    low: float
    high: float

    def __post_init__(self) -> None:
        if not 0 < self.low < self.high:
            raise ValueError(f"loguniform: need 0 < low < high, got {self.low}, {self.high}")

    def sample(self, rng: numpy.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True)
class randint(Distribution):  # noqa: N801
    """An int in [low, high) (high excluded, as in NumPy)."""

    low: int
    high: int

    def sample(self, rng: numpy.random.Generator) -> int:
        return int(rng.integers(self.low, self.high))


def sample_config(space: Mapping[str, Any], rng: numpy.random.Generator) -> dict[str, Any]:
    """One config: each distribution drawn (in the space's key order), constants as they are."""
    return {k: v.sample(rng) if isinstance(v, Distribution) else v for k, v in space.items()}


def trial_seed(search_seed: int, index: int) -> int:
    """The seed of trial ``index``: independent streams for every trial, fixed by the search's seed."""
    return int(numpy.random.SeedSequence([search_seed, index]).generate_state(1)[0])


# ----------------------------------------------------------------------------- results


@dataclass
class Trial:
    index: int
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"  # or "failed"
    error: str | None = None
    duration_s: float = 0.0
    budget: float | None = None
    rung: int | None = None


class SearchResults:
    """The trials of a search, in trial order, with the best and sorted views and exports."""

    def __init__(self, trials: list[Trial], metric: str | None = None, mode: str = "min") -> None:
        self.trials, self.metric, self.mode = trials, metric, mode

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def __getitem__(self, i: int) -> Trial:
        return self.trials[i]

    @property
    def failed(self) -> list[Trial]:
        return [t for t in self.trials if t.status != "ok"]

    def sorted(self, metric: str | None = None, mode: str | None = None) -> list[Trial]:
        """The successful trials, best first by ``metric`` ("min" or "max")."""
        metric, mode = metric or self.metric, mode or self.mode
        if metric is None:
            raise ValueError("SearchResults: name the metric to sort by")
        ok = [t for t in self.trials if t.status == "ok" and metric in t.metrics]
        return sorted(ok, key=lambda t: t.metrics[metric], reverse=(mode == "max"))

    def best(self, metric: str | None = None, mode: str | None = None) -> Trial:
        ranked = self.sorted(metric, mode)
        if not ranked:
            raise ValueError("SearchResults: no trial succeeded")
        return ranked[0]

    def to_rows(self) -> list[dict[str, Any]]:
        """One flat dict per trial: index, status, budget, rung, the config and the metrics, error."""
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"index": t.index, "status": t.status}
            if t.budget is not None:
                row.update(budget=t.budget, rung=t.rung)
            row.update(t.config)
            row.update(t.metrics)
            row.update(duration_s=round(t.duration_s, 4), error=t.error or "")
            rows.append(row)
        return rows

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        rows = self.to_rows()
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump({"metric": self.metric, "mode": self.mode, "trials": [asdict(t) for t in self.trials]}, f, indent=1)

    def __str__(self) -> str:
        rows = self.to_rows()
        if not rows:
            return "SearchResults (no trials)"
        keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in ("error", "duration_s")] + ["error"]
        cells = [[_cell(r.get(k, "")) for k in keys] for r in rows]
        widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]
        lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths)).rstrip()]
        lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)


def _cell(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


# ----------------------------------------------------------------------------- running trials


class SerialExecutor(Executor):
    """Runs each trial at once, in this process (the default executor)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as e:  # noqa: BLE001 (handed to the caller through the future)
            future.set_exception(e)
        return future


def run_trial(fn: Callable[..., Mapping[str, float]], index: int, config: dict[str, Any], budget: float | None,
              metric: str | None) -> Trial:  # fmt: skip
    """Run one trial and record it; an exception or a non-finite metric makes it a failed trial."""
    start = time.perf_counter()
    trial = Trial(index, dict(config), budget=budget)
    try:
        result = fn(config) if budget is None else fn(config, budget)
        trial.metrics = {k: float(v) for k, v in dict(result).items()}
        if metric is not None and metric not in trial.metrics:
            raise KeyError(f"the trial returned no {metric!r} (it returned {sorted(trial.metrics)})")
        bad = [k for k, v in trial.metrics.items() if not math.isfinite(v)]
        if bad:
            trial.status, trial.error = "failed", f"non-finite metric: {', '.join(f'{k}={trial.metrics[k]}' for k in bad)}"
    except Exception as e:  # noqa: BLE001 (a failed trial is a result, not the end of the search)
        trial.status = "failed"
        trial.error = f"{type(e).__name__}: {e}"
    trial.duration_s = time.perf_counter() - start
    return trial


def _run_all(fn: Callable[..., Any], jobs: list[tuple[int, dict[str, Any], float | None]], executor: Executor | None,
             metric: str | None) -> list[Trial]:  # fmt: skip
    executor = executor or SerialExecutor()
    futures = [executor.submit(run_trial, fn, index, config, budget, metric) for index, config, budget in jobs]
    return [f.result() for f in futures]  # in trial order, whatever order they finished in


def _with_seed(config: dict[str, Any], seed: int, index: int) -> dict[str, Any]:
    return config if "seed" in config else {**config, "seed": trial_seed(seed, index)}


# ----------------------------------------------------------------------------- the searches


def grid_search(trial_fn: Callable[[dict[str, Any]], Mapping[str, float]], grid: Mapping[str, Sequence[Any]],
                executor: Executor | None = None, metric: str | None = None, mode: str = "min",
                seed: int = 0) -> SearchResults:  # fmt: skip
    """Every combination of the ``grid``'s values (the last key varies fastest): ``trial_fn(config)``."""
    keys = list(grid)
    configs = [dict(zip(keys, values)) for values in itertools.product(*(grid[k] for k in keys))]
    jobs = [(i, _with_seed(c, seed, i), None) for i, c in enumerate(configs)]
    return SearchResults(_run_all(trial_fn, jobs, executor, metric), metric, mode)


def random_search(trial_fn: Callable[[dict[str, Any]], Mapping[str, float]], space: Mapping[str, Any],
                  n_trials: int, seed: int = 0, executor: Executor | None = None, metric: str | None = None,
                  mode: str = "min") -> SearchResults:  # fmt: skip
    """``n_trials`` configs drawn from ``space`` with a generator seeded by ``seed``: ``trial_fn(config)``.

    With the same number of trials, random search tries ``n_trials`` different values of
    every hyperparameter, where a grid tries only a few of each — which pays off when
    some hyperparameters matter far more than others (Bergstra and Bengio, 2012).
    """
    rng = numpy.random.default_rng(seed)
    jobs = [(i, _with_seed(sample_config(space, rng), seed, i), None) for i in range(n_trials)]
    return SearchResults(_run_all(trial_fn, jobs, executor, metric), metric, mode)


def successive_halving(trial_fn: Callable[[dict[str, Any], float], Mapping[str, float]],
                       space: Mapping[str, Any] | Sequence[dict[str, Any]], n_trials: int | None = None,
                       min_budget: float = 1, max_budget: float = 27, eta: int = 3, seed: int = 0,
                       metric: str = "val_loss", mode: str = "min",
                       executor: Executor | None = None) -> SearchResults:  # fmt: skip
    """Try many configs cheaply and spend the budget on the promising ones.

    Rung 0 runs every config with ``min_budget`` (epochs, steps, ... — whatever
    ``trial_fn(config, budget)`` takes); each next rung keeps the best 1/``eta`` of
    the previous one and multiplies the budget by ``eta``, up to ``max_budget``. With
    n configs this costs about n * min_budget per rung instead of n * max_budget in
    all. ``space`` is a search space (then ``n_trials`` configs are drawn) or a list of
    configs. Every rung's runs are in the results (``rung``, ``budget``); ``best`` is
    taken from the last rung.
    """
    if eta < 2 or min_budget <= 0 or max_budget < min_budget:
        raise ValueError("successive_halving: need eta >= 2 and 0 < min_budget <= max_budget")
    if isinstance(space, Mapping):
        if n_trials is None:
            raise ValueError("successive_halving: give n_trials to draw from a search space")
        rng = numpy.random.default_rng(seed)
        configs = [sample_config(space, rng) for _ in range(n_trials)]
    else:
        configs = [dict(c) for c in space]
    configs = [_with_seed(c, seed, i) for i, c in enumerate(configs)]
    alive, budget, rung, trials = list(range(len(configs))), float(min_budget), 0, []
    while True:
        results = _run_all(trial_fn, [(i, configs[i], budget) for i in alive], executor, metric)
        for t in results:
            t.rung = rung
        trials += results
        if budget >= max_budget or len(alive) == 1:
            break
        worst = math.inf if mode == "min" else -math.inf
        scores = [t.metrics.get(metric, worst) if t.status == "ok" else worst for t in results]
        order = sorted(range(len(alive)), key=lambda k: scores[k], reverse=(mode == "max"))
        alive = [alive[k] for k in order[: max(1, len(alive) // eta)]]
        budget, rung = min(budget * eta, float(max_budget)), rung + 1
    return _LastRung(trials, metric, mode)


class _LastRung(SearchResults):
    """Successive halving's results: ``best`` and ``sorted`` rank the last rung only (earlier
    rungs ran with smaller budgets, so their metrics do not compare)."""

    def sorted(self, metric: str | None = None, mode: str | None = None) -> list[Trial]:
        last = max((t.rung or 0) for t in self.trials)
        ranked = SearchResults([t for t in self.trials if t.rung == last], self.metric, self.mode)
        return ranked.sorted(metric, mode)
