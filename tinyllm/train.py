"""Training and evaluation: ``fit`` runs the loop, ``evaluate`` measures, ``History`` remembers.

One optimization step, as the seed document's workflow repeats it:

    zero the gradients -> forward -> loss -> backward -> (clip) -> optimizer step -> (schedule)

``fit`` adds what real training needs around it: gradient accumulation, an
evaluation every so often on a validation set, early stopping that restores the
best weights, checkpoints written atomically, resuming that continues exactly
where it stopped (same weights, optimizer and schedule state, random state and
data order, so the result is bit-identical to an uninterrupted run), and a clean
exit on Ctrl-C that saves a checkpoint first.

What a batch is depends on the task; a *step function* turns a batch into a
:class:`StepOutput` (loss, logits, targets). ``classification_step`` expects
``(ids, lengths, labels)`` batches and a model called as ``model(ids, lengths)``;
``lm_step`` expects ``(x, y)`` and a model that returns ``(logits, loss)``, as GPT does.
"""

from __future__ import annotations

import csv
import json
import math
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Iterable, NamedTuple, Sequence

import numpy

from tinyllm import backend, metrics
from tinyllm.nn import Module
from tinyllm.nn import functional as F
from tinyllm.nn.utils import clip_grad_norm_
from tinyllm.optim import Optimizer
from tinyllm.optim.lr_scheduler import ReduceLROnPlateau
from tinyllm.serialization import load, save
from tinyllm.autograd import no_grad
from tinyllm.tensor import Tensor


class StepOutput(NamedTuple):
    loss: Tensor  # a scalar, the mean over the batch
    logits: Tensor | None  # (N, C) predictions, for metrics
    targets: Tensor | None  # (N,) classes


StepFn = Callable[[Module, Any], StepOutput]


def classification_step(model: Module, batch: Any) -> StepOutput:
    """``(ids (B, T), lengths (B,), labels (B,))`` -> cross-entropy of ``model(ids, lengths)``."""
    ids, lengths, labels = batch
    logits = model(ids, lengths)
    return StepOutput(F.cross_entropy(logits, labels), logits, labels)


def lm_step(model: Module, batch: Any) -> StepOutput:
    """``(x (B, T), y (B, T))`` -> the model's next-token loss; ``model(x, y)`` returns (logits, loss)."""
    x, y = batch
    logits, loss = model(x, y)
    return StepOutput(loss, logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


# ----------------------------------------------------------------------------- History


@dataclass
class History:
    """What happened during ``fit``: one record per optimizer step and one per evaluation.

    ``steps``: dicts with step, epoch, loss (train, mean over the step's batches), lr,
    grad_norm (before clipping), time (seconds since the start). ``evals``: dicts with
    step, epoch, val_loss, val_<metric>..., time.
    """

    steps: list[dict[str, float]] = field(default_factory=list)
    evals: list[dict[str, float]] = field(default_factory=list)
    best_step: int | None = None
    stopped_early: bool = False
    interrupted: bool = False

    def series(self, key: str, evals: bool = False) -> numpy.ndarray:
        rows = self.evals if evals else self.steps
        return numpy.array([r[key] for r in rows])

    def to_json(self, path: str | os.PathLike[str]) -> None:
        with open(path, "w") as f:
            json.dump(asdict(self), f, indent=1)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(**d)

    def to_csv(self, path: str | os.PathLike[str], which: str = "steps") -> None:
        """The per-step records (``which="steps"``) or the evaluations (``"evals"``) as CSV."""
        rows = self.steps if which == "steps" else self.evals
        keys = list(dict.fromkeys(k for r in rows for k in r))
        with open(path, "w", newline="") as f:
            writer = csv.DictWriter(f, fieldnames=keys)
            writer.writeheader()
            writer.writerows(rows)

    def plot(self, path: str | os.PathLike[str] | None = None) -> Any:
        """Training loss per step and validation loss per evaluation, with the learning rate
        beneath; saved to ``path`` if given. Returns the matplotlib figure."""
        import matplotlib  # noqa: PLC0415 (only plotting needs it)

        if path is not None:
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt  # noqa: PLC0415

        fig, (ax, ax_lr) = plt.subplots(2, 1, figsize=(7, 5), sharex=True, height_ratios=(3, 1))
        if self.steps:
            ax.plot(self.series("step"), self.series("loss"), lw=0.8, alpha=0.7, label="train loss")
            ax_lr.plot(self.series("step"), self.series("lr"), color="tab:gray")
        if self.evals:
            ax.plot(self.series("step", True), self.series("val_loss", True), "o-", label="validation loss")
        if self.best_step is not None:
            ax.axvline(self.best_step, color="tab:green", ls=":", label="best (restored)")
        ax.set_ylabel("cross-entropy (nats)")
        ax.set_title("Training history")
        ax.legend()
        ax_lr.set_ylabel("learning rate")
        ax_lr.set_xlabel("optimizer step")
        fig.tight_layout()
        if path is not None:
            fig.savefig(path, dpi=120)
        return fig


# ----------------------------------------------------------------------------- evaluate


@no_grad()
def evaluate(model: Module, loader: Iterable[Any], step_fn: StepFn = classification_step,
             metrics_: Sequence[str] = ("accuracy",)) -> dict[str, float]:  # fmt: skip
    """Mean loss (weighted by batch size) and the named metrics over a whole loader, in eval mode.

    Metric names: accuracy, precision, recall, f1 (macro), perplexity, bits_per_char.
    """
    was_training = model.training
    model.eval()
    total, count, logits, targets = 0.0, 0, [], []
    try:
        for batch in loader:
            out = step_fn(model, batch)
            n = int(out.targets.shape[0]) if out.targets is not None else 1
            total += float(out.loss.item()) * n
            count += n
            if out.logits is not None and any(m in metrics.PREDICTION_METRICS for m in metrics_):
                logits.append(metrics._host(out.logits).argmax(axis=-1))
                targets.append(metrics._host(out.targets))
    finally:
        model.train(was_training)
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches")
    result = {"loss": total / count}
    for name in metrics_:
        if name in metrics.LOSS_METRICS:
            result[name] = metrics.LOSS_METRICS[name](result["loss"])
        elif name in metrics.PREDICTION_METRICS:
            result[name] = metrics.PREDICTION_METRICS[name](numpy.concatenate(logits), numpy.concatenate(targets))
        else:
            known = sorted([*metrics.PREDICTION_METRICS, *metrics.LOSS_METRICS])
            raise ValueError(f"evaluate: unknown metric {name!r}; choose from {known}")
    return result


# ----------------------------------------------------------------------------- fit


CHECKPOINT = "checkpoint.npz"


def fit(
    model: Module,
    optimizer: Optimizer,
    train_loader: Iterable[Any],
    *,
    step_fn: StepFn = classification_step,
    epochs: int | None = None,
    steps: int | None = None,
    val_loader: Iterable[Any] | None = None,
    eval_every: int | None = None,
    metrics: Sequence[str] = ("accuracy",),
    scheduler: Any = None,
    clip_grad_norm: float | None = None,
    accumulate: int = 1,
    patience: int | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool | None = None,
    callback: Callable[[int, History], None] | None = None,
) -> History:
    """Train ``model`` with ``optimizer`` on ``train_loader``; return the :class:`History`.

    Length: ``epochs`` passes over the loader, or ``steps`` optimizer steps (one of them).
    ``accumulate`` batches make one step (their gradients add up; each loss is divided
    by ``accumulate``). ``eval_every`` steps (default: at the end of each epoch) the
    model is evaluated on ``val_loader`` with ``metrics``. With ``patience``, training
    stops after that many evaluations without a lower validation loss, and the best
    weights are restored. ``scheduler`` steps after every optimizer step
    (``ReduceLROnPlateau`` after every evaluation, with the validation loss).

    ``checkpoint_dir``: a checkpoint is written (atomically) at every evaluation, at the
    end, and on Ctrl-C, which then returns cleanly with ``history.interrupted``.
    ``resume=True`` continues from that checkpoint: weights, optimizer, scheduler,
    random state and position in the data, so the run ends exactly as an
    uninterrupted one would. A loader with ``state_dict`` (:class:`tinyllm.data.DataLoader`)
    restores its position directly; any other loader is replayed from the start of
    the epoch, which is exact when it repeats its batches for the same random state.

    ``callback(step, history)`` runs after every optimizer step.
    """
    if (epochs is None) == (steps is None):
        raise ValueError("fit: give the length of training as epochs or as steps (one of them)")
    if accumulate < 1:
        raise ValueError(f"fit: accumulate must be >= 1, not {accumulate}")
    if patience is not None and val_loader is None:
        raise ValueError("fit: early stopping (patience) needs a val_loader")
    plateau = isinstance(scheduler, ReduceLROnPlateau)
    state = _State(history=History())
    ckpt_path = os.path.join(checkpoint_dir, CHECKPOINT) if checkpoint_dir is not None else None
    if resume:
        if ckpt_path is None or not os.path.exists(ckpt_path):
            raise FileNotFoundError(f"fit: resume=True but there is no checkpoint at {ckpt_path}")
        state = _restore(ckpt_path, model, optimizer, scheduler, train_loader)
    else:
        state.loader_state = _loader_state(train_loader)
        if ckpt_path is not None:
            os.makedirs(checkpoint_dir, exist_ok=True)  # type: ignore[arg-type]
    total = steps if steps is not None else _epoch_steps(train_loader, accumulate, epochs)
    bar = _progress_bar(total, state.step, progress)
    start = time.perf_counter() - state.elapsed

    def run_eval() -> bool:
        """Evaluate, record, checkpoint; True when early stopping says stop."""
        if val_loader is None:
            return False
        result = evaluate(model, val_loader, step_fn, metrics)
        record = {"step": state.step, "epoch": state.epoch, **{f"val_{k}": v for k, v in result.items()}}
        record["time"] = time.perf_counter() - start
        state.history.evals.append(record)
        if plateau:
            scheduler.step(result["loss"])
        stop = False
        if patience is not None:
            if result["loss"] < state.best_loss:
                state.best_loss, state.history.best_step = result["loss"], state.step
                state.best_weights = {k: v.data.copy() for k, v in model.state_dict().items()}
                state.bad_evals = 0
            else:
                state.bad_evals += 1
                stop = state.bad_evals >= patience
        if ckpt_path is not None:
            _save(ckpt_path, state, model, optimizer, scheduler, train_loader, time.perf_counter() - start)
        return stop

    try:
        model.train()
        done = False
        while not done:
            if epochs is not None and state.epoch >= epochs:
                break
            batches = _epoch_iterator(train_loader, state)
            losses: list[float] = []
            for batch in batches:
                out = step_fn(model, batch)
                loss = out.loss / accumulate if accumulate > 1 else out.loss
                loss.backward()
                losses.append(float(out.loss.item()))
                if len(losses) < accumulate:
                    continue
                _optimizer_step(model, optimizer, scheduler, clip_grad_norm, plateau, state, losses, start)
                # the position a checkpoint resumes from: right after a whole optimizer step
                state.batch_in_epoch += len(losses)
                state.loader_state = _loader_state(train_loader)
                losses = []
                bar.update(1) if bar is not None else None
                if callback is not None:
                    callback(state.step, state.history)
                if eval_every is not None and state.step % eval_every == 0 and run_eval():
                    state.history.stopped_early = done = True
                    break
                if steps is not None and state.step >= steps:
                    done = True
                    break
            else:
                if state.batch_in_epoch == 0 and not losses:
                    raise ValueError("fit: train_loader gave no batches (an exhausted generator?)")
                optimizer.zero_grad()  # an incomplete accumulation at the epoch's end is dropped
                state.epoch += 1
                state.batch_in_epoch = 0
                state.loader_state = _loader_state(train_loader)
                if eval_every is None and run_eval():
                    state.history.stopped_early = done = True
        if val_loader is not None and (not state.history.evals or state.history.evals[-1]["step"] != state.step):
            if run_eval():
                state.history.stopped_early = True
    except KeyboardInterrupt:
        state.history.interrupted = True
        if ckpt_path is not None:
            _save(ckpt_path, state, model, optimizer, scheduler, train_loader, time.perf_counter() - start)
        print(f"\ninterrupted at step {state.step}" + (f"; checkpoint in {ckpt_path}" if ckpt_path else ""), file=sys.stderr)
        return state.history
    finally:
        if bar is not None:
            bar.close()
    if state.best_weights is not None:
        model.load_state_dict(state.best_weights)
    if ckpt_path is not None:
        _save(ckpt_path, state, model, optimizer, scheduler, train_loader, time.perf_counter() - start)
    return state.history


@dataclass
class _State:
    history: History
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of the current epoch already used
    elapsed: float = 0.0
    best_loss: float = math.inf
    bad_evals: int = 0
    best_weights: dict[str, Any] | None = None
    loader_state: Any = None  # the loader's state right after the last optimizer step


def _optimizer_step(model: Module, optimizer: Optimizer, scheduler: Any, clip: float | None, plateau: bool,
                    state: _State, losses: list[float], start: float) -> None:  # fmt: skip
    params = [p for g in optimizer.param_groups for p in g["params"]]
    norm = clip_grad_norm_(params, clip if clip is not None else math.inf)
    lr = optimizer.param_groups[0]["lr"]
    optimizer.step()
    optimizer.zero_grad()
    if scheduler is not None and not plateau:
        scheduler.step()
    state.step += 1
    state.history.steps.append({
        "step": state.step, "epoch": state.epoch, "loss": float(numpy.mean(losses)), "lr": lr,
        "grad_norm": float(norm.item()), "time": time.perf_counter() - start,
    })  # fmt: skip


def _loader_state(loader: Any) -> Any:
    return loader.state_dict() if hasattr(loader, "state_dict") else None


def _epoch_iterator(loader: Iterable[Any], state: _State) -> Iterable[Any]:
    """This epoch's remaining batches: the loader restores its own position if it can; otherwise
    the batches already used are replayed and skipped."""
    if hasattr(loader, "state_dict"):
        return iter(loader)
    it = iter(loader)
    for _ in range(state.batch_in_epoch):
        next(it)
    return it


def _epoch_steps(loader: Iterable[Any], accumulate: int, epochs: int | None) -> int | None:
    try:
        return len(loader) // accumulate * (epochs or 0)  # type: ignore[arg-type]
    except TypeError:
        return None


def _progress_bar(total: int | None, done: int, enabled: bool | None) -> Any:
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    from tqdm.auto import tqdm  # noqa: PLC0415

    return tqdm(total=total, initial=done, unit="step", dynamic_ncols=True)


# ----------------------------------------------------------------------------- checkpoints


def _save(path: str, state: _State, model: Module, optimizer: Optimizer, scheduler: Any, loader: Any,
          elapsed: float) -> None:  # fmt: skip
    checkpoint = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),
        "scheduler": _plain(scheduler.state_dict()) if scheduler is not None else None,
        "loader": state.loader_state,
        "rng": {str(dev): s for dev, s in backend.get_rng_state().items()},
        "history": asdict(state.history),
        "progress": {
            "step": state.step, "epoch": state.epoch, "batch_in_epoch": state.batch_in_epoch,
            "elapsed": elapsed, "best_loss": state.best_loss, "bad_evals": state.bad_evals,
        },  # fmt: skip
        "best_weights": state.best_weights,
    }
    save(checkpoint, path)


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """A scheduler's state without what a checkpoint cannot hold (functions)."""
    return {k: v for k, v in d.items() if not callable(v)}


def _restore(path: str, model: Module, optimizer: Optimizer, scheduler: Any, loader: Any) -> _State:
    ckpt = load(path)
    model.load_state_dict(ckpt["model"])
    optimizer.load_state_dict(ckpt["optimizer"])
    if scheduler is not None and ckpt["scheduler"] is not None:
        scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["loader"] is not None and hasattr(loader, "load_state_dict"):
        loader.load_state_dict(ckpt["loader"])
    backend.set_rng_state({backend.as_device(dev): s for dev, s in ckpt["rng"].items()})
    p = ckpt["progress"]
    best = ckpt["best_weights"]
    history = History.from_dict(ckpt["history"])
    history.interrupted = False
    return _State(
        history=history, step=p["step"], epoch=p["epoch"],
        batch_in_epoch=p["batch_in_epoch"], elapsed=p["elapsed"], best_loss=p["best_loss"],
        bad_evals=p["bad_evals"], best_weights={k: v.data for k, v in best.items()} if best else None,
        loader_state=ckpt["loader"],
    )  # fmt: skip
