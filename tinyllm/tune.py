"""Hyperparameter search: grid search, random search and successive halving.

A *trial* is a function of a config (a dict of hyperparameters) that trains a
model and returns its metrics, e.g. ``{"val_loss": 0.41, "val_accuracy": 0.88}``:
``trial_fn(config)`` for grid and random search, ``trial_fn(config, budget)`` for
successive halving (the budget is epochs, steps, ... — whatever the trial makes of
it). A search decides which configs to try, runs the trials, and returns a
:class:`SearchResults` table:

    space = {"lr": tune.loguniform(1e-4, 1e-1), "hidden": tune.choice([32, 64, 128]), "layers": 2}
    results = tune.random_search(train_and_validate, space, n_trials=20, seed=0, metric="val_loss")
    print(results)                # one aligned row per trial
    print(results.best().config)

Seeds: each config also gets ``config["seed"] = trial_seed(seed, index)``, derived
from the search's seed and the trial's index and fixed before any trial runs, so
a trial gives the same result wherever and whenever it runs (a config that
already has a ``"seed"`` keeps it). Trials that raise (``sys.exit`` included), or
whose metric is NaN or infinite, are recorded as failed with their error; the search
goes on. A Ctrl-C (``KeyboardInterrupt``) still stops the search.

``trial_timeout=seconds`` runs every trial in a child process of its own, started on
whichever worker the executor chose, and kills it when it runs longer: a hang is
recorded as a failed trial ("timed out after 5 s"), and so is a crash that ends the
process (``os._exit``, a segfault: "the trial's process died: exit code -11 (SIGSEGV)").
The price is a process start per trial. Python cannot safely stop a function that runs
in the search's own process, so without ``trial_timeout`` a hanging trial hangs the search and a
crashing one takes its process with it. Where the platform spawns processes rather
than forking them (macOS, Windows), the trial function must then be picklable, as for
a process pool.

Where trials run is up to a ``concurrent.futures.Executor``. By default they run
one after another in this process. ``ProcessPoolExecutor()`` uses every core; the
trial function must then be picklable — defined at the top level of a module, not
a lambda or a nested function — and a script that starts the pool needs an
``if __name__ == "__main__":`` guard where processes are spawned (macOS, Windows).
A trial function defined in a notebook lives in a ``__main__`` that no file backs, which
workers started by 'spawn' or 'forkserver' (macOS, Windows; Linux from Python 3.14) cannot
import: given such a pool, a search runs those trials on a pool of the same size whose
workers fork (Linux), or else one after another in this process, and says so in a one-line
``RuntimeWarning``. A pool that forks (Linux's default up to Python 3.13) runs them as it is.
A cluster runs trials through the same interface, e.g. Dask (``pip install
"dask[distributed]"``; its workers must be able to import the trial's module)::

    from distributed import Client
    with Client("tcp://scheduler:8786") as client:      # Client() starts a local cluster
        results = tune.grid_search(trial, grid, executor=client.get_executor())

Results come back ordered by trial index, not by finishing time, so they are
identical whichever executor ran them. ``progress=True`` shows a tqdm bar (a widget in
notebooks) as they come back: trial k/n, with the best ``metric`` so far; by default, as
in :func:`tinyllm.train.fit`, only when stderr is a terminal. Threads (``ThreadPoolExecutor``, a Dask
client with ``processes=False``) share tinyllm's global random state: trials that
call ``tl.manual_seed`` are reproducible only in processes.
"""

from __future__ import annotations

import csv
import itertools
import json
import math
import multiprocessing
import numbers
import os
import signal
import sys
import time
import warnings
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field, fields
from typing import Any

import numpy

from tinyllm import backend

# ----------------------------------------------------------------------------- search spaces


class Distribution(ABC):
    """Something a config value is drawn from. A search space maps names to
    distributions or to constants (which every config gets as they are)."""

    @abstractmethod
    def sample(self, rng: numpy.random.Generator) -> Any: ...

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(repr(getattr(self, f.name)) for f in fields(self))})"


@dataclass(frozen=True, repr=False)
class choice(Distribution):  # lower-case: used like functions, as in Ray Tune
    """One of ``values``, each equally likely."""

    values: list[Any]

    def __post_init__(self) -> None:
        if isinstance(self.values, (str, bytes, Mapping)) or not isinstance(self.values, Iterable):
            raise TypeError(f"choice: values must be a list of values, got {self.values!r}")
        object.__setattr__(self, "values", list(self.values))
        if len(self.values) == 0:
            raise ValueError("choice: needs at least one value")

    def sample(self, rng: numpy.random.Generator) -> Any:
        return self.values[int(rng.integers(len(self.values)))]


@dataclass(frozen=True, repr=False)
class uniform(Distribution):
    """A float uniform in [low, high)."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_finite_bounds("uniform", self.low, self.high)
        if not self.low < self.high:
            raise ValueError(f"uniform: need low < high, got {self.low}, {self.high}")
        if not math.isfinite(self.high - self.low):
            raise ValueError(f"uniform: high - low must be a finite float, got {self.low}, {self.high}")

    def sample(self, rng: numpy.random.Generator) -> float:
        return float(rng.uniform(self.low, self.high))


@dataclass(frozen=True, repr=False)
class loguniform(Distribution):
    """A float whose logarithm is uniform: log x ~ U[log low, log high). As likely in
    [1e-4, 1e-3) as in [1e-2, 1e-1) — the right prior for scales such as learning rates."""

    low: float
    high: float

    def __post_init__(self) -> None:
        _check_finite_bounds("loguniform", self.low, self.high)
        if not 0 < self.low < self.high:
            raise ValueError(f"loguniform: need 0 < low < high, got {self.low}, {self.high}")

    def sample(self, rng: numpy.random.Generator) -> float:
        return float(math.exp(rng.uniform(math.log(self.low), math.log(self.high))))


@dataclass(frozen=True, repr=False)
class randint(Distribution):
    """An int uniform in [low, high) (high excluded, as in NumPy)."""

    low: int
    high: int

    def __post_init__(self) -> None:
        if not all(_is_int(v) for v in (self.low, self.high)):
            raise TypeError(f"randint: low and high must be ints, got {self.low!r}, {self.high!r}")
        if not self.low < self.high:
            raise ValueError(f"randint: need low < high (high is excluded), got {self.low}, {self.high}")

    def sample(self, rng: numpy.random.Generator) -> int:
        return int(rng.integers(self.low, self.high))


def _is_int(value: Any) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_finite_bounds(where: str, low: Any, high: Any) -> None:
    if not (_is_real(low) and _is_real(high)):
        raise TypeError(f"{where}: low and high must be numbers, got {low!r}, {high!r}")
    if not (math.isfinite(low) and math.isfinite(high)):
        raise ValueError(f"{where}: low and high must be finite (not inf or NaN), got {low}, {high}")


def sample_config(space: Mapping[str, Any], rng: numpy.random.Generator) -> dict[str, Any]:
    """One config: each distribution drawn (in the space's key order), constants as they are."""
    return {k: v.sample(rng) if isinstance(v, Distribution) else v for k, v in space.items()}


def trial_seed(search_seed: int, index: int) -> int:
    """The seed of trial ``index``: a 32-bit int from NumPy's ``SeedSequence([search_seed, index])``,
    so every trial has its own independent random stream, fixed by the search's seed."""
    return int(numpy.random.SeedSequence([search_seed, index]).generate_state(1)[0])


# ----------------------------------------------------------------------------- results


@dataclass
class Trial:
    """One run of the trial function.

    ``index`` numbers the configs of a search (0, 1, ...); in successive halving a
    config keeps its index through the rungs, and ``budget`` and ``rung`` say which
    run this is. ``status`` is "ok" or "failed"; a failed trial's ``error`` says why
    (``"ValueError: ..."`` or ``"non-finite val_loss: nan"``).
    """

    index: int
    config: dict[str, Any]
    metrics: dict[str, float] = field(default_factory=dict)
    status: str = "ok"
    error: str | None = None
    duration_s: float = 0.0
    budget: float | None = None
    rung: int | None = None


class SearchResults:
    """The trials of a search, ordered by (rung,) index, with ranked views and exports.

    ``metric`` and ``mode`` ("min" or "max") are the defaults of :meth:`best` and :meth:`sorted`.
    """

    def __init__(self, trials: list[Trial], metric: str | None = None, mode: str = "min") -> None:
        _check_mode(mode, "SearchResults")
        self.trials, self.metric, self.mode = trials, metric, mode

    def __len__(self) -> int:
        return len(self.trials)

    def __iter__(self) -> Iterator[Trial]:
        return iter(self.trials)

    def __getitem__(self, i: int) -> Trial:
        return self.trials[i]

    def __repr__(self) -> str:
        failed, metric, mode = len(self.failed), self.metric, self.mode
        return f"SearchResults({len(self)} trials, {failed} failed, metric={metric!r}, mode={mode!r})"

    @property
    def failed(self) -> list[Trial]:
        return [t for t in self.trials if t.status != "ok"]

    def sorted(self, metric: str | None = None, mode: str | None = None) -> list[Trial]:
        """The successful trials with a finite ``metric``, best first.

        Trials of a later rung (a bigger budget) come before those of earlier rungs,
        whose metrics, measured with less budget, do not compare with theirs.
        """
        metric, mode = metric or self.metric, mode or self.mode
        if metric is None:
            raise ValueError("SearchResults.sorted: name the metric to rank by (the search was given none)")
        _check_mode(mode, "SearchResults.sorted")
        sign = 1.0 if mode == "min" else -1.0
        ok = [t for t in self.trials if t.status == "ok" and math.isfinite(t.metrics.get(metric, math.nan))]
        return sorted(ok, key=lambda t: (-(t.rung or 0), sign * t.metrics[metric]))

    def best(self, metric: str | None = None, mode: str | None = None) -> Trial:
        """The best successful trial (of the last rung reached, in successive halving)."""
        ranked = self.sorted(metric, mode)
        if not ranked:
            first = self.failed[0] if self.failed else None
            why = f"; the first error: trial {first.index}: {first.error}" if first else ""
            raise ValueError(
                f"SearchResults.best: none of the {len(self)} trials succeeded with a finite "
                f"{metric or self.metric!r} ({len(self.failed)} failed){why}"
            )
        return ranked[0]

    def to_rows(self) -> list[dict[str, Any]]:
        """A flat dict per trial: index, status, (budget, rung), config, metrics, duration_s, error."""
        rows = []
        for t in self.trials:
            row: dict[str, Any] = {"index": t.index, "status": t.status}
            if t.budget is not None:
                row.update(budget=t.budget, rung=t.rung)
            row.update(t.config)
            row.update(t.metrics)
            row.update(duration_s=t.duration_s, error=t.error)
            rows.append(row)
        return rows

    def to_csv(self, path: str | os.PathLike[str]) -> None:
        """The rows of :meth:`to_rows` as CSV; a column a trial lacks (a failed trial's metrics) is empty."""
        rows = self.to_rows()
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def to_json(self, path: str | os.PathLike[str]) -> None:
        """Strict JSON that :meth:`from_json` reads back. Non-finite metrics are written as null (and
        read back as NaN); config values JSON cannot hold (a class, a function) as their ``str``."""
        trials = [
            {**asdict(t), "metrics": {k: v if math.isfinite(v) else None for k, v in t.metrics.items()}}
            for t in self.trials
        ]
        with open(path, "w") as f:
            json.dump(
                {"metric": self.metric, "mode": self.mode, "trials": trials},
                f,
                indent=1,
                allow_nan=False,
                default=lambda v: v.item() if isinstance(v, numpy.generic) else str(v),
            )

    @classmethod
    def from_json(cls, path: str | os.PathLike[str]) -> SearchResults:
        """The results :meth:`to_json` wrote."""
        with open(path) as f:
            data = json.load(f)
        trials = [
            Trial(**{**t, "metrics": {k: math.nan if v is None else v for k, v in t["metrics"].items()}})
            for t in data["trials"]
        ]
        return cls(trials, data["metric"], data["mode"])

    def __str__(self) -> str:
        rows = self.to_rows()
        if not rows:
            return "SearchResults: no trials"
        # durations change from run to run; without them the table is the same on every executor
        keys = [k for k in dict.fromkeys(k for r in rows for k in r) if k not in ("duration_s", "error")]
        keys += ["error"] if self.failed else []
        cells = [[_cell(r.get(k)) for k in keys] for r in rows]
        numeric = [all(isinstance(r.get(k), (int, float, numpy.number, type(None))) for r in rows) for k in keys]
        widths = [max(len(k), *(len(c[i]) for c in cells)) for i, k in enumerate(keys)]

        def line(texts: list[str]) -> str:
            return "  ".join(s.rjust(w) if n else s.ljust(w) for s, w, n in zip(texts, widths, numeric)).rstrip()

        return "\n".join([line(keys)] + [line(c) for c in cells])


def _cell(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.4g}"
    text = str(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _check_mode(mode: str, where: str) -> None:
    if mode not in ("min", "max"):
        raise ValueError(f"{where}: mode must be 'min' or 'max', got {mode!r}")


# ----------------------------------------------------------------------------- running trials


class SerialExecutor(Executor):
    """Runs each call at once, in this process, when it is submitted (the default executor)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future:
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except Exception as e:  # noqa: BLE001 (handed to the caller through the future)
            future.set_exception(e)
        return future


def run_trial(
    trial_fn: Callable[..., Mapping[str, float]],
    index: int,
    config: dict[str, Any],
    budget: float | None,
    metric: str | None,
    trial_timeout: float | None = None,
) -> Trial:
    """Run one trial and record it, on whichever worker the executor chose.

    It fails when ``trial_fn`` raises (``SystemExit`` too), returns no dict of numbers,
    or returns a non-finite ``metric`` (with no metric named: any non-finite value).
    With a ``trial_timeout`` it runs in a child process, and fails when that runs past
    the timeout (it is killed) or dies.
    """
    if trial_timeout is not None:
        return _run_in_child(trial_fn, index, config, budget, metric, trial_timeout)
    start = time.perf_counter()
    trial = Trial(index, dict(config), budget=budget)
    try:
        # a copy, so a trial that edits its config cannot change the next rung's
        result = trial_fn(dict(config)) if budget is None else trial_fn(dict(config), budget)
        if not isinstance(result, Mapping):
            raise TypeError(f"the trial returned {type(result).__name__}, not a dict of metrics")
        trial.metrics = {k: float(v) for k, v in result.items()}
        checked = list(trial.metrics) if metric is None else [metric]
        if metric is not None and metric not in trial.metrics:
            trial.status, trial.error = "failed", f"no {metric!r} among the metrics {sorted(trial.metrics)}"
        elif bad := [k for k in checked if not math.isfinite(trial.metrics[k])]:
            trial.status, trial.error = (
                "failed",
                "non-finite " + ", ".join(f"{k}: {trial.metrics[k]}" for k in bad),
            )
    except Exception as e:  # noqa: BLE001 (a failed trial is a result, not the end of the search)
        trial.status, trial.error = "failed", f"{type(e).__name__}: {e}"
    except SystemExit as e:  # a trial's sys.exit ends the trial, not the search (Ctrl-C still does)
        trial.status, trial.error = "failed", f"SystemExit({e.code!r})"
    trial.duration_s = time.perf_counter() - start
    return trial


def _child_main(connection: Any, *args: Any) -> None:
    try:
        trial = run_trial(*args)
    except KeyboardInterrupt:
        connection.send(None)  # the parent stops the search, as it would were the trial its own
        return
    # the outcome only: the parent has the config, which need not be picklable where processes fork
    connection.send((trial.metrics, trial.status, trial.error))
    connection.close()


def _run_in_child(
    trial_fn: Callable[..., Any],
    index: int,
    config: dict[str, Any],
    budget: float | None,
    metric: str | None,
    trial_timeout: float,
) -> Trial:
    start = time.perf_counter()
    trial = Trial(index, dict(config), budget=budget)
    receiver, sender = multiprocessing.Pipe(duplex=False)
    forked = _defined_in_a_notebook(trial_fn) and _fork_available()  # a spawned child could not find it
    context = multiprocessing.get_context("fork" if forked else None)
    child = context.Process(target=_child_main, args=(sender, trial_fn, index, config, budget, metric))
    try:
        child.start()
        sender.close()  # the child holds its own copy: when the child ends, the pipe reads as closed
        if not receiver.poll(trial_timeout):
            trial.status, trial.error = "failed", f"timed out after {trial_timeout:g} s"
        else:
            try:
                outcome = receiver.recv()
                if outcome is None:
                    raise KeyboardInterrupt(f"in trial {index}'s process")
                trial.metrics, trial.status, trial.error = outcome
            except EOFError:  # the child ended without a word: os._exit, a signal, out of memory
                child.join()
                code = child.exitcode
                name = f" ({signal.Signals(-code).name})" if code is not None and code < 0 else ""
                trial.status, trial.error = "failed", f"the trial's process died: exit code {code}{name}"
    finally:  # also when Ctrl-C stops the search while the child runs
        if child.is_alive():
            child.kill()
        if child.pid is not None:
            child.join()
        receiver.close()
    trial.duration_s = time.perf_counter() - start
    return trial


class _Progress:
    """A search's progress bar: trials done of the total, the best ``metric`` so far and the failures."""

    def __init__(self, enabled: bool | None, total: int, metric: str | None, mode: str, where: str) -> None:
        if enabled is None:
            enabled = sys.stderr.isatty()  # as fit decides: a bar for a person at a terminal, not in logs
        self.bar: Any = None
        if enabled:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, unit="trial", desc=where, dynamic_ncols=True)
        self.metric, self.sign = metric, 1.0 if mode == "min" else -1.0
        self.best: float | None = None
        self.failed = 0

    def new_rung(self, rung: int, budget: float) -> None:
        """Successive halving: a bigger budget, whose metrics do not compare with the rung before's."""
        self.best = None
        if self.bar is not None:
            self.bar.set_description(f"successive_halving rung {rung} (budget {budget:g})", refresh=False)

    def done(self, trial: Trial) -> None:
        if self.bar is None:
            return
        value = trial.metrics.get(self.metric, math.nan) if self.metric is not None else math.nan
        if trial.status != "ok":
            self.failed += 1
        elif math.isfinite(value) and (self.best is None or self.sign * value < self.sign * self.best):
            self.best = value
        notes = [f"best {self.metric}={self.best:.4g}"] if self.best is not None else []
        notes += [f"{self.failed} failed"] if self.failed else []
        self.bar.set_postfix_str(", ".join(notes), refresh=False)
        self.bar.update()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _defined_in_a_notebook(fn: Any) -> bool:
    """True when ``fn`` lives in a ``__main__`` that no file backs: a Jupyter kernel, IPython, ``python -c``.

    A process started by 'spawn' or 'forkserver' imports ``__main__`` again from its file to find such a
    function by name; with no file, it cannot (a forked process has a copy of everything instead).
    """
    main = sys.modules.get("__main__")
    return getattr(fn, "__module__", None) == "__main__" and getattr(main, "__file__", None) is None


def _fork_available() -> bool:
    """Whether forking is a safe way to start processes here: Linux (macOS's system libraries may crash
    after a fork, and Windows cannot fork)."""
    return sys.platform.startswith("linux") and "fork" in multiprocessing.get_all_start_methods()


def _reachable_executor(trial_fn: Callable[..., Any], executor: Executor) -> tuple[Executor, bool]:
    """``executor``, or one whose workers can find ``trial_fn``, and whether it is this search's own to close.

    A process pool that starts its workers by 'spawn' or 'forkserver' (macOS and Windows; Linux from
    Python 3.14) cannot run a trial defined in a notebook. On Linux the search then runs on a pool of
    the same size that forks its workers; elsewhere, one trial after another in this process. Either
    way a warning says so in one line.

    With a GPU as the default device (``tl.set_default_device("cuda")``), a process pool's workers
    cannot share it: a forked process cannot use CUDA that its parent started, and a spawned one
    starts on the CPU. The trials then run one after another in this process, on the GPU.
    """
    if isinstance(executor, ProcessPoolExecutor) and backend.get_default_device().type != "cpu":
        warnings.warn(f"tune: the default device is {backend.get_default_device()}, which the workers of a "
                      "process pool cannot share; the trials run one after another in this process instead",
                      RuntimeWarning, stacklevel=4)  # fmt: skip
        return SerialExecutor(), False
    if not isinstance(executor, ProcessPoolExecutor) or not _defined_in_a_notebook(trial_fn):
        return executor, False
    context = getattr(executor, "_mp_context", None) or multiprocessing.get_context()
    method = context.get_start_method()
    if method == "fork":
        return executor, False
    name = getattr(trial_fn, "__name__", "the trial function")
    why = f"tune: {name}() is defined in a notebook, which processes started by {method!r} cannot import"
    if _fork_available():
        workers = getattr(executor, "_max_workers", None)
        warnings.warn(f"{why}; its trials run on {workers or 'os.cpu_count()'} forked processes instead",
                      RuntimeWarning, stacklevel=4)  # fmt: skip
        return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork")), True
    warnings.warn(f"{why}; its trials run one after another in this process instead (define it in a module "
                  "and import it to run them in parallel)", RuntimeWarning, stacklevel=4)  # fmt: skip
    return SerialExecutor(), False


def _run_all(
    trial_fn: Callable[..., Any],
    jobs: list[tuple[int, dict[str, Any], float | None]],
    executor: Executor | None,
    metric: str | None,
    trial_timeout: float | None,
    progress: _Progress,
) -> list[Trial]:
    executor, own = _reachable_executor(trial_fn, executor or SerialExecutor())
    try:
        return _collect(trial_fn, jobs, executor, metric, trial_timeout, progress)
    finally:
        if own:  # after a Ctrl-C, the trials not yet started are dropped
            executor.shutdown(cancel_futures=True)


def _collect(
    trial_fn: Callable[..., Any],
    jobs: list[tuple[int, dict[str, Any], float | None]],
    executor: Executor,
    metric: str | None,
    trial_timeout: float | None,
    progress: _Progress,
) -> list[Trial]:
    futures = [
        executor.submit(run_trial, trial_fn, i, config, budget, metric, trial_timeout) for i, config, budget in jobs
    ]
    trials = []
    for (i, config, budget), future in zip(jobs, futures):  # in trial order, whatever order they finished in
        try:
            trials.append(future.result())
        except Exception as e:  # noqa: BLE001 (the executor failed it: a function it cannot pickle, a lost worker)
            hint = " (worker processes need a trial function defined at the top level of a module)"
            error = f"{type(e).__name__} in the executor: {e}{hint if 'pickle' in str(e) else ''}"
            trials.append(Trial(i, dict(config), status="failed", error=error, budget=budget))
        progress.done(trials[-1])
    return trials


def _check_search(
    where: str, trial_fn: Any, metric: Any, mode: str, seed: Any, trial_timeout: Any, progress: Any
) -> None:
    """The arguments every search shares, checked before any trial runs."""
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"{where}: progress must be True, False or None, not {progress!r}")
    if not callable(trial_fn):
        raise TypeError(f"{where}: trial_fn must be callable, got {trial_fn!r}")
    if metric is not None and not isinstance(metric, str):
        raise TypeError(f"{where}: metric must be a name (a str) or None, got {metric!r}")
    _check_mode(mode, where)
    _check_number(where, "seed", seed, _is_int(seed) and seed >= 0, "an int >= 0")
    if trial_timeout is not None:
        ok = _is_real(trial_timeout) and 0 < trial_timeout < math.inf
        _check_number(where, "trial_timeout", trial_timeout, ok, "None or a finite number of seconds > 0")


def _check_number(where: str, name: str, value: Any, ok: bool, valid: str) -> None:
    """Refuse ``value`` unless ``ok``: a TypeError when it is no number at all, else a ValueError."""
    if not ok:
        error = ValueError if _is_real(value) else TypeError
        raise error(f"{where}: {name} must be {valid}, got {value!r}")


def _check_n_trials(where: str, n_trials: Any, extra: str = "") -> None:
    if not _is_int(n_trials):
        raise TypeError(f"{where}: n_trials must be an int >= 1{extra}, got {n_trials!r}")
    if n_trials < 1:  # the message the first version gave
        raise ValueError(f"{where}: n_trials must be at least 1{extra}, got {n_trials}")


def _check_space(where: str, space: Any) -> None:
    if not isinstance(space, Mapping):
        raise TypeError(f"{where}: the space must be a dict of distributions and constants, got {space!r}")


def _with_seed(config: dict[str, Any], seed: int, index: int) -> dict[str, Any]:
    return config if "seed" in config else {**config, "seed": trial_seed(seed, index)}


# ----------------------------------------------------------------------------- the searches


def grid_search(
    trial_fn: Callable[[dict[str, Any]], Mapping[str, float]],
    grid: Mapping[str, Sequence[Any]],
    executor: Executor | None = None,
    metric: str | None = None,
    mode: str = "min",
    seed: int = 0,
    trial_timeout: float | None = None,
    progress: bool | None = None,
) -> SearchResults:
    """Run ``trial_fn(config)`` on every combination of the ``grid``'s values.

    Trial ``i`` is the ``i``-th element of the product of the value lists, in the
    grid's key order: the last key varies fastest. Its seed is ``trial_seed(seed, i)``.
    ``trial_timeout`` (seconds) runs each trial in a process of its own (see the module's notes);
    ``progress`` shows a bar (default: when stderr is a terminal).
    """
    _check_search("grid_search", trial_fn, metric, mode, seed, trial_timeout, progress)
    if not isinstance(grid, Mapping):
        raise TypeError(f"grid_search: grid must be a dict of value lists, got {grid!r}")
    for k, values in grid.items():
        if isinstance(values, (str, bytes)) or not isinstance(values, (Sequence, numpy.ndarray)):
            raise TypeError(f"grid_search: grid[{k!r}] must be a list of values, got {values!r}")
        if len(values) == 0:
            raise ValueError(f"grid_search: grid[{k!r}] is empty")
    configs = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    jobs = [(i, _with_seed(c, seed, i), None) for i, c in enumerate(configs)]
    bar = _Progress(progress, len(jobs), metric, mode, "grid_search")
    try:
        return SearchResults(_run_all(trial_fn, jobs, executor, metric, trial_timeout, bar), metric, mode)
    finally:
        bar.close()


def random_search(
    trial_fn: Callable[[dict[str, Any]], Mapping[str, float]],
    space: Mapping[str, Any],
    n_trials: int,
    seed: int = 0,
    executor: Executor | None = None,
    metric: str | None = None,
    mode: str = "min",
    trial_timeout: float | None = None,
    progress: bool | None = None,
) -> SearchResults:
    """Run ``trial_fn(config)`` on ``n_trials`` configs drawn from ``space``.

    The configs are drawn in order by one generator seeded with ``seed``, so the
    first k configs are the same whatever ``n_trials`` is. With the same number of
    trials, random search tries ``n_trials`` values of every hyperparameter where a
    grid tries only a few of each — which pays off when some hyperparameters matter
    far more than others (Bergstra and Bengio, 2012). ``trial_timeout`` and ``progress`` as in
    :func:`grid_search`.
    """
    _check_search("random_search", trial_fn, metric, mode, seed, trial_timeout, progress)
    _check_space("random_search", space)
    _check_n_trials("random_search", n_trials)
    rng = numpy.random.default_rng(seed)
    jobs = [(i, _with_seed(sample_config(space, rng), seed, i), None) for i in range(n_trials)]
    bar = _Progress(progress, len(jobs), metric, mode, "random_search")
    try:
        return SearchResults(_run_all(trial_fn, jobs, executor, metric, trial_timeout, bar), metric, mode)
    finally:
        bar.close()


def successive_halving(
    trial_fn: Callable[[dict[str, Any], float], Mapping[str, float]],
    space_or_configs: Mapping[str, Any] | Sequence[dict[str, Any]],
    n_trials: int | None = None,
    min_budget: float = 1,
    max_budget: float = 27,
    eta: int = 3,
    seed: int = 0,
    metric: str = "val_loss",
    mode: str = "min",
    executor: Executor | None = None,
    trial_timeout: float | None = None,
    progress: bool | None = None,
) -> SearchResults:
    """Try many configs cheaply and spend the budget on the promising ones.

    Rung 0 runs ``trial_fn(config, min_budget)`` for every config; each next rung
    keeps the best ``n // eta`` successful configs of the rung before (at least one)
    and multiplies the budget by ``eta``: budgets b_r = min(min_budget * eta^r,
    max_budget), the last rung running at ``max_budget``. With n = eta^R configs and
    max_budget = min_budget * eta^R, each rung costs n * min_budget budget units, so
    the whole search (R + 1) * n * min_budget instead of n * max_budget for
    every config at full budget (Jamieson and Talwalkar, 2016; one bracket of Hyperband).

    ``space_or_configs`` is a search space (``n_trials`` configs are drawn, as in
    :func:`random_search`) or a list of configs. Every rung's runs are in the
    results, ordered by rung, then index; a config keeps its index and seed through
    the rungs. ``best`` ranks the last rung reached. ``trial_timeout`` as in
    :func:`grid_search`: the same seconds at every rung, whatever its budget. ``progress`` as in
    :func:`grid_search`; the bar counts every rung's runs and shows the best of the rung running.
    """
    where = "successive_halving"
    _check_search(where, trial_fn, metric, mode, seed, trial_timeout, progress)
    if not _is_int(eta) or eta < 2:
        error = ValueError if _is_real(eta) else TypeError
        raise error(f"{where}: need eta >= 2 (an int, the factor of each cut), got eta={eta!r}")
    for name, budget in (("min_budget", min_budget), ("max_budget", max_budget)):
        _check_number(where, name, budget, _is_real(budget) and 0 < budget < math.inf, "a finite number > 0")
    if min_budget > max_budget:
        raise ValueError(f"{where}: need min_budget <= max_budget, got {min_budget} > {max_budget}")
    if isinstance(space_or_configs, Mapping):
        if n_trials is None:
            raise ValueError(f"{where}: n_trials must be at least 1 to draw from a space, got None")
        _check_n_trials(where, n_trials, " to draw from a space")
        rng = numpy.random.default_rng(seed)
        configs = [sample_config(space_or_configs, rng) for _ in range(n_trials)]
    else:
        if isinstance(space_or_configs, (str, bytes)) or not isinstance(space_or_configs, Iterable):
            raise TypeError(f"{where}: expected a space (a dict) or a list of configs, got {space_or_configs!r}")
        configs = list(space_or_configs)
        if bad := [c for c in configs if not isinstance(c, Mapping)]:
            raise TypeError(f"{where}: each config must be a dict, got {bad[0]!r}")
        configs = [dict(c) for c in configs]
        if n_trials is not None and n_trials != len(configs):
            raise ValueError(f"successive_halving: n_trials={n_trials} but {len(configs)} configs were given")
    if not configs:
        raise ValueError("successive_halving: no configs to try")
    configs = [_with_seed(c, seed, i) for i, c in enumerate(configs)]
    alive, budget, trials = list(range(len(configs))), min_budget, []
    bar = _Progress(progress, _planned_runs(len(configs), min_budget, max_budget, eta), metric, mode, where)
    try:
        for rung in itertools.count():
            bar.new_rung(rung, budget)
            jobs = [(i, configs[i], budget) for i in alive]
            results = _run_all(trial_fn, jobs, executor, metric, trial_timeout, bar)
            for t in results:
                t.rung = rung
            trials += results
            survivors = SearchResults(results, metric, mode).sorted()[: max(1, int(len(alive) // eta))]
            if budget >= max_budget or not survivors:
                break
            alive, budget = sorted(t.index for t in survivors), min(budget * eta, max_budget)
    finally:
        bar.close()
    return SearchResults(trials, metric, mode)


def _planned_runs(n: int, min_budget: float, max_budget: float, eta: int) -> int:
    """How many runs successive halving makes when every rung keeps ``n // eta`` (at least one) configs."""
    runs, budget = n, min_budget
    while budget < max_budget:
        n, budget = max(1, n // eta), min(budget * eta, max_budget)
        runs += n
    return runs
