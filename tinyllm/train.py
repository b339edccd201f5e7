"""Training and evaluation: ``fit`` runs the loop, ``evaluate`` measures, ``History`` remembers.

One optimization step, as the seed document's workflow repeats it:

    zero the gradients -> forward -> loss -> backward -> (clip) -> optimizer step -> (schedule)

``fit`` adds what real training needs around it: gradient accumulation, an
evaluation every so often on a validation set, early stopping that restores the
best weights, checkpoints written atomically, resuming that continues exactly
where it stopped (same weights, optimizer and schedule state, random state and
data order, so the result is bit-identical to an uninterrupted run), and a clean
exit on Ctrl-C that saves a checkpoint first.

Two guarantees hold however a run ends. Ctrl-C is honoured at the next boundary
between optimizer steps, and the checkpoint then written is that boundary's state,
so resuming gives bit-identical weights and History; a second Ctrl-C stops at once
and keeps the last checkpoint written. A loss or gradient that is nan or inf stops
the run with :class:`NonFiniteError` before the optimizer steps on it (or skips the
step, with ``on_nonfinite="skip"``), and no checkpoint with non-finite weights is
ever written.

It trains any model. Batches may be ``(inputs, targets)``, with a ``loss_fn``
(cross-entropy unless told otherwise); ``(ids, lengths, labels)``, the text
batches of :class:`tinyllm.data.DataLoader`; or anything that a step function of
your own reads (``lm_step`` for GPT). The step functions live in
:mod:`tinyllm.steps`, ``evaluate`` in :mod:`tinyllm.evaluation` and ``History`` in
:mod:`tinyllm.history`; all are here too.
"""

from __future__ import annotations

import functools
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.evaluation import check_metrics, check_run_arguments, evaluate
from tinyllm.history import History
from tinyllm.nn import Module
from tinyllm.nn.utils import clip_grad_norm_
from tinyllm.optim import OptimizerLike
from tinyllm.optim.lr_scheduler import ReduceLROnPlateau
from tinyllm.serialization import load, save
from tinyllm.steps import (
    LossFn,
    StepFn,
    StepOutput,
    classification_step,
    lm_step,
    resolve_step,
    supervised_step,
)  # fmt: skip

__all__ = [
    "History", "LossFn", "StepFn", "StepOutput", "classification_step", "evaluate", "fit", "lm_step",
    "supervised_step",
]  # fmt: skip


# ----------------------------------------------------------------------------- fit


CHECKPOINT = "checkpoint.npz"


class NonFiniteError(FloatingPointError):
    """Training met a loss, gradient or weight that is nan or inf; the message names the step."""


def fit(
    model: Module,
    optimizer: OptimizerLike,
    train_loader: Iterable[Any],
    *,
    loss_fn: LossFn | None = None,
    step_fn: StepFn | None = None,
    epochs: int | None = None,
    steps: int | None = None,
    val_loader: Iterable[Any] | None = None,
    eval_every: int | None = None,
    metrics: Sequence[str] | None = None,
    scheduler: Any = None,
    clip_grad_norm: float | None = None,
    accumulate: int = 1,
    patience: int | None = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    resume: bool = False,
    progress: bool | None = None,
    callback: Callable[[int, History], None] | None = None,
    on_nonfinite: str = "raise",
) -> History:
    """Train ``model`` with ``optimizer`` on ``train_loader``; return the :class:`History`.

    Batches: ``(inputs, targets)``, trained as ``loss_fn(model(inputs), targets)``
    (``loss_fn`` defaults to cross-entropy; ``F.mse_loss`` for regression), or
    ``(ids, lengths, labels)`` text batches from :class:`tinyllm.data.DataLoader`,
    trained as ``loss_fn(model(ids, lengths), labels)``; any other form needs a
    ``step_fn(model, batch) -> StepOutput`` (:func:`lm_step` for GPT), instead of ``loss_fn``.
    ``optimizer``: any :class:`~tinyllm.optim.OptimizerLike`, e.g. ``Adam`` or a ``SwitchOptimizer``.

    Length: ``epochs`` passes over the loader, or ``steps`` optimizer steps (one of them).
    ``accumulate`` batches make one step (their gradients add up; each loss is divided
    by ``accumulate``). ``eval_every`` steps (default: at the end of each epoch) the
    model is evaluated on ``val_loader`` with ``metrics`` (see :func:`evaluate`). With
    ``patience``, training stops after that many evaluations without a lower validation
    loss, and the best weights are restored. ``scheduler`` steps after every optimizer
    step (``ReduceLROnPlateau`` after every evaluation, with the validation loss).

    ``checkpoint_dir``: a checkpoint is written (atomically) at every evaluation, at the
    end, and on Ctrl-C, which then returns cleanly with ``history.interrupted``.
    ``resume=True`` continues from that checkpoint: weights, optimizer, scheduler,
    random state and position in the data, so the run ends exactly as an
    uninterrupted one would. A loader with ``state_dict`` (:class:`tinyllm.data.DataLoader`)
    restores its position directly; any other loader is replayed from the start of
    the epoch with the random state the epoch began with, which is exact when the
    loader draws its order from tinyllm's generators (``tl.utils.data.DataLoader(...,
    shuffle=True)``); one that shuffles with a generator of its own needs ``state_dict``.

    ``callback(step, history)`` runs after every optimizer step.

    ``on_nonfinite``: what a step whose loss or gradient is nan or inf does — ``"raise"``
    a :class:`NonFiniteError` naming the step (the default); ``"restore"`` the model and
    optimizer from the last checkpoint first, then raise; or ``"skip"`` the update, as
    loss scalers in mixed-precision training do (the step is listed in
    ``history.skipped_steps``). No checkpoint with non-finite weights is written.
    """
    check_run_arguments("fit", model, {"train_loader": train_loader, "val_loader": val_loader},
                        {"loss_fn": loss_fn, "step_fn": step_fn, "callback": callback})  # fmt: skip
    _check_objects(optimizer, scheduler, resume, progress, checkpoint_dir)
    _check_arguments(epochs, steps, accumulate, patience, val_loader, metrics, clip_grad_norm, eval_every,
                     on_nonfinite)  # fmt: skip
    run = _Run(
        model=model, optimizer=optimizer, loader=train_loader, step_fn=resolve_step(step_fn, loss_fn, "fit"),
        epochs=epochs, steps=steps, accumulate=accumulate, clip_grad_norm=clip_grad_norm, scheduler=scheduler,
        val_loader=val_loader, eval_every=eval_every, metrics=metrics, patience=patience, callback=callback,
        on_nonfinite=on_nonfinite,
        checkpoint=os.path.join(checkpoint_dir, CHECKPOINT) if checkpoint_dir is not None else None,
    )  # fmt: skip
    state = _resume(run) if resume else _begin(run)
    state.history.loss_name = loss_name(loss_fn, step_fn)
    total = steps if steps is not None else _epoch_steps(train_loader, accumulate, epochs)
    bar = _progress_bar(total, state.step, progress)
    try:
        with _StepBoundaryInterrupt() as stop:
            model.train()
            while not run.finished(state):
                _train_epoch(run, state, bar, stop)
            if not state.history.evals or state.history.evals[-1]["step"] != state.step:
                _evaluate(run, state)  # the last steps, if no evaluation came after them
    except KeyboardInterrupt:
        _interrupted(run, state)
        return state.history
    finally:
        if bar is not None:
            bar.close()
    if state.best_weights is not None:
        model.load_state_dict(state.best_weights)
    _save(run, state)
    return state.history


#: the loss functions and steps whose loss has a name to print on an axis
_LOSS_NAMES = {
    "cross_entropy": "cross-entropy (nats)", "CrossEntropyLoss": "cross-entropy (nats)",
    "supervised_step": "cross-entropy (nats)", "lm_step": "cross-entropy (nats)",
    "classification_step": "cross-entropy (nats)", "nll_loss": "negative log-likelihood (nats)",
    "NLLLoss": "negative log-likelihood (nats)", "mse_loss": "mean squared error", "MSELoss": "mean squared error",
    "l1_loss": "mean absolute error", "L1Loss": "mean absolute error",
}  # fmt: skip


def loss_name(loss_fn: LossFn | None, step_fn: StepFn | None) -> str:
    """What ``fit`` minimizes, in words: cross-entropy by default, else the function's own name."""
    fn = loss_fn if loss_fn is not None else step_fn
    if fn is None:
        return _LOSS_NAMES["cross_entropy"]
    while isinstance(fn, functools.partial):  # a step with its loss bound in is named by that loss
        fn = fn.keywords.get("loss_fn", fn.func)
    name = getattr(fn, "__name__", type(fn).__name__)
    return _LOSS_NAMES.get(name, f"loss ({name})")


def _check_objects(optimizer: Any, scheduler: Any, resume: Any, progress: Any, checkpoint_dir: Any) -> None:
    if not isinstance(optimizer, OptimizerLike):
        raise TypeError(
            f"fit: optimizer must have param_groups, step(), zero_grad() and a state_dict, "
            f"like tinyllm.optim.Adam; not {type(optimizer).__name__}"
        )
    if scheduler is not None and not callable(getattr(scheduler, "step", None)):
        raise TypeError(f"fit: scheduler must have a step() method (or be None), not {type(scheduler).__name__}")
    if not isinstance(resume, bool):
        raise TypeError(f"fit: resume must be True or False, not {resume!r}")
    if progress is not None and not isinstance(progress, bool):
        raise TypeError(f"fit: progress must be True, False or None, not {progress!r}")
    if checkpoint_dir is not None and not isinstance(checkpoint_dir, (str, os.PathLike)):
        raise TypeError(f"fit: checkpoint_dir must be a path (str or Path), not {type(checkpoint_dir).__name__}")


def _check_arguments(epochs: int | None, steps: int | None, accumulate: int, patience: int | None,
                     val_loader: Iterable[Any] | None, metrics: Sequence[str] | None, clip: float | None,
                     eval_every: int | None, on_nonfinite: str) -> None:  # fmt: skip
    if (epochs is None) == (steps is None):
        raise ValueError("fit: give the length of training as epochs or as steps (one of them)")
    for name, value in (("epochs", epochs), ("steps", steps), ("accumulate", accumulate),
                        ("patience", patience), ("eval_every", eval_every)):  # fmt: skip
        optional = name != "accumulate"  # the others may be None: not given
        if (value is not None or not optional) and (
            not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 1
        ):
            raise ValueError(f"fit: {name} must be >= 1 (a whole number), not {value!r}")
    if clip is not None and not (isinstance(clip, (int, float)) and not isinstance(clip, bool)
                                 and 0 < clip <= math.inf):  # fmt: skip
        raise ValueError(f"fit: clip_grad_norm must be a number > 0 (or None for no clipping), not {clip!r}")
    if on_nonfinite not in ("raise", "skip", "restore"):
        raise ValueError(f"fit: on_nonfinite must be 'raise', 'skip' or 'restore', not {on_nonfinite!r}")
    if patience is not None and val_loader is None:
        raise ValueError("fit: early stopping (patience) needs a val_loader")
    check_metrics(metrics, "fit")


class _StepBoundaryInterrupt:
    """Ctrl-C while training, honoured where the run is whole: between optimizer steps.

    The first SIGINT only sets ``requested``; the loop checks it before each step and
    then stops with the state of that boundary, which a checkpoint can hold exactly. A
    second SIGINT raises ``KeyboardInterrupt`` at once. Signal handlers can only be set
    from the main thread; elsewhere Ctrl-C does not reach the loop anyway.
    """

    def __enter__(self) -> _StepBoundaryInterrupt:
        self.requested = False
        self.previous: Any = None
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\ninterrupt: stopping after this step (Ctrl-C again to stop at once)", file=sys.stderr)

    def check(self) -> None:
        """At a step boundary: stop here if Ctrl-C was pressed."""
        if self.requested:
            raise KeyboardInterrupt


@dataclass
class _Run:
    """What one call of ``fit`` trains, and how: its arguments, fixed for the run."""

    model: Module
    optimizer: OptimizerLike
    loader: Iterable[Any]
    step_fn: StepFn
    epochs: int | None
    steps: int | None
    accumulate: int
    clip_grad_norm: float | None
    scheduler: Any
    val_loader: Iterable[Any] | None
    eval_every: int | None
    metrics: Sequence[str] | None
    patience: int | None
    callback: Callable[[int, History], None] | None
    on_nonfinite: str
    checkpoint: str | None  # the checkpoint file's path

    @property
    def plateau(self) -> bool:
        """Whether the scheduler steps with the validation loss rather than with every step."""
        return isinstance(self.scheduler, ReduceLROnPlateau)

    def finished(self, state: _State) -> bool:
        """Whether the run has done its epochs or steps, or early stopping has ended it."""
        if self.steps is not None and state.step >= self.steps:
            return True
        return state.history.stopped_early or (self.epochs is not None and state.epoch >= self.epochs)


@dataclass
class _State:
    """Where a run stands; a checkpoint holds all of it but ``started``."""

    history: History = field(default_factory=History)
    step: int = 0
    epoch: int = 0
    batch_in_epoch: int = 0  # batches of the current epoch already used
    best_loss: float = math.inf
    bad_evals: int = 0  # evaluations since the best one
    best_weights: dict[str, Any] | None = None
    # The state of the last step boundary that is not held by the model and optimizer:
    # the loader's position and every random generator (dropout's included).
    loader_state: Any = None
    rng: Any = None
    # every random generator as the epoch began, before the loader drew this epoch's order:
    # a loader without state_dict is replayed from there on resume, so it draws the same order
    epoch_rng: Any = None
    updating: bool = False  # inside an optimizer step: the weights are not those of a boundary
    saved_step: int | None = None  # the step of the checkpoint on disk
    # perf_counter() less the time trained before a resume, so that times count across runs
    started: float = field(default_factory=time.perf_counter)

    def seconds(self) -> float:
        """Training time so far, over every run that resumed this one."""
        return time.perf_counter() - self.started


# ----------------------------------------------------------------------------- the loop's parts


def _train_epoch(run: _Run, state: _State, bar: Any, stop: _StepBoundaryInterrupt) -> None:
    """One pass over the loader (what is left of it, after a resume), or less if the run finishes."""
    stop.check()
    batches = iter(_epoch_iterator(run.loader, state))
    losses: list[float] = []  # of the batches in the step being accumulated
    while True:
        if not losses:
            stop.check()
        batch = next(batches, _END)
        if batch is _END:
            break
        losses.append(_forward_backward(run, batch))
        if len(losses) < run.accumulate:
            continue
        _optimizer_step(run, state, losses)
        losses = []
        if bar is not None:
            bar.update(1)
        if run.callback is not None:
            run.callback(state.step, state.history)
        if run.eval_every is not None and state.step % run.eval_every == 0:
            _evaluate(run, state)
        if run.finished(state):
            return
    if state.batch_in_epoch == 0 and not losses:
        raise ValueError("fit: train_loader gave no batches (an exhausted generator?)")
    run.optimizer.zero_grad()  # an incomplete accumulation at the epoch's end is dropped
    state.epoch += 1
    state.batch_in_epoch = 0
    _mark_boundary(run, state)
    if run.eval_every is None:
        _evaluate(run, state)


_END = object()


def _mark_boundary(run: _Run, state: _State) -> None:
    """Remember what a checkpoint of this step boundary needs beyond the model and optimizer."""
    state.loader_state = _loader_state(run.loader)
    state.rng = backend.get_rng_state()


def _forward_backward(run: _Run, batch: Any) -> float:
    """Add this batch's share of the step's gradient to ``.grad``; return its loss (a loss that
    is nan or inf is returned without a backward: the step will not be taken)."""
    out = run.step_fn(run.model, batch)
    loss = float(out.loss.item())
    if math.isfinite(loss):
        (out.loss / run.accumulate if run.accumulate > 1 else out.loss).backward()
    return loss


def _optimizer_step(run: _Run, state: _State, losses: list[float]) -> None:
    """Clip, step, forget the gradients, schedule, and record the step; a step whose loss or
    gradient is not finite raises :class:`NonFiniteError` or, told so, is skipped."""
    optimizer = run.optimizer
    params = [p for g in optimizer.param_groups for p in g["params"]]
    norm = float(clip_grad_norm_(params, run.clip_grad_norm if run.clip_grad_norm is not None else math.inf))
    lr = optimizer.param_groups[0]["lr"]
    problem = _nonfinite(run, losses, norm)
    if problem is None:
        state.updating = True
        optimizer.step()
        if run.scheduler is not None and not run.plateau:
            run.scheduler.step()
    elif run.on_nonfinite in ("raise", "restore"):
        where = f"of step {state.step}"
        if run.on_nonfinite == "restore" and state.saved_step is not None:
            _restore_weights(run)
            where = f"restored from the checkpoint of step {state.saved_step}"
        elif state.saved_step is not None:
            where += f"; the checkpoint on disk is step {state.saved_step}"
        raise NonFiniteError(
            f"fit: at step {state.step + 1} (epoch {state.epoch}) {problem}. The weights are those {where}. "
            "Lower the learning rate, clip the gradients (clip_grad_norm=), or pass on_nonfinite='skip' "
            "to skip such steps"
        )
    else:
        state.history.skipped_steps.append(state.step + 1)
    optimizer.zero_grad()
    state.step += 1
    state.history.steps.append({
        "step": state.step, "epoch": state.epoch, "loss": float(numpy.mean(losses)), "lr": lr,
        "grad_norm": norm, "time": state.seconds(),
    })  # fmt: skip
    state.batch_in_epoch += len(losses)
    _mark_boundary(run, state)
    state.updating = False


def _nonfinite(run: _Run, losses: list[float], norm: float) -> str | None:
    """What is not finite in this step (its loss, or its gradient and where), or None."""
    bad = [loss for loss in losses if not math.isfinite(loss)]
    if bad:
        return f"the loss is {bad[0]}"
    if math.isfinite(norm):
        return None
    problem = f"the gradient's norm is {norm}"
    for name, p in run.model.named_parameters():
        if p.grad is not None and not _all_finite(p.grad.data):
            return f"{problem} (first non-finite in {name!r})"
    return problem


def _all_finite(a: Any) -> bool:
    return bool(backend.get_array_module(a).isfinite(a).all())


def _evaluate(run: _Run, state: _State) -> None:
    """Evaluate on the validation set (if any), record it, let the plateau scheduler and
    early stopping see it, and write a checkpoint."""
    if run.val_loader is None:
        return
    result = evaluate(run.model, run.val_loader, run.step_fn, run.metrics)
    record = {"step": state.step, "epoch": state.epoch, **{f"val_{k}": v for k, v in result.items()}}
    state.history.evals.append({**record, "time": state.seconds()})
    if run.plateau:
        run.scheduler.step(result["loss"])
    if run.patience is not None:
        _early_stopping(run, state, result["loss"])
    _save(run, state)


def _early_stopping(run: _Run, state: _State, val_loss: float) -> None:
    """Remember the best weights; stop after ``patience`` evaluations without a lower loss."""
    if val_loss < state.best_loss:
        state.best_loss, state.history.best_step = val_loss, state.step
        state.best_weights = {k: v.data.copy() for k, v in run.model.state_dict().items()}
        state.bad_evals = 0
        return
    state.bad_evals += 1
    if state.bad_evals >= run.patience:  # type: ignore[operator]
        state.history.stopped_early = True


def _interrupted(run: _Run, state: _State) -> None:
    """Ctrl-C: save the last step boundary, say so, and let ``fit`` return. Inside an
    optimizer step (a second Ctrl-C) the weights are half updated: nothing is saved then."""
    state.history.interrupted = True
    if state.updating:
        kept = f"; the checkpoint on disk is step {state.saved_step}" if state.saved_step is not None else ""
        print(f"\ninterrupted inside step {state.step + 1}: not saved{kept}", file=sys.stderr)
        return
    _save(run, state)
    where = f"; checkpoint in {run.checkpoint}" if run.checkpoint is not None else ""
    print(f"\ninterrupted at step {state.step}{where}", file=sys.stderr)


def _loader_state(loader: Any) -> Any:
    return loader.state_dict() if hasattr(loader, "state_dict") else None


def _epoch_iterator(loader: Iterable[Any], state: _State) -> Iterable[Any]:
    """This epoch's remaining batches: the loader restores its own position if it can; otherwise
    the batches already used are replayed and skipped."""
    if hasattr(loader, "state_dict"):
        return iter(loader)
    if state.batch_in_epoch == 0:  # a fresh epoch: the order it draws now is the one to replay
        state.epoch_rng = backend.get_rng_state()
        return iter(loader)
    boundary = backend.get_rng_state()
    if state.epoch_rng is not None:
        backend.set_rng_state(state.epoch_rng)
    it = iter(loader)
    for _ in range(state.batch_in_epoch):
        next(it)
    backend.set_rng_state(boundary)  # dropout and the rest go on as they would have
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
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=done, unit="step", dynamic_ncols=True)


# ----------------------------------------------------------------------------- checkpoints


def _begin(run: _Run) -> _State:
    """A fresh run's state (and its checkpoint folder)."""
    if run.checkpoint is not None:
        os.makedirs(os.path.dirname(run.checkpoint), exist_ok=True)
    state = _State()
    _mark_boundary(run, state)
    return state


def _save(run: _Run, state: _State) -> None:
    """Write everything the run needs to continue (nothing without a checkpoint_dir)."""
    if run.checkpoint is None:
        return
    for name, p in run.model.named_parameters():
        if not _all_finite(p.data):
            raise NonFiniteError(
                f"fit: the weights are not finite after step {state.step} ({name!r} holds nan or inf); "
                f"the checkpoint on disk was kept (step {state.saved_step})"
            )
    checkpoint = {
        "model": run.model.state_dict(),
        "optimizer": run.optimizer.state_dict(),
        "scheduler": _plain(run.scheduler.state_dict()) if run.scheduler is not None else None,
        "loader": state.loader_state,
        "rng": {str(dev): s for dev, s in state.rng.items()},
        "epoch_rng": {str(dev): s for dev, s in state.epoch_rng.items()} if state.epoch_rng is not None else None,
        "history": asdict(state.history),
        "progress": {
            "step": state.step, "epoch": state.epoch, "batch_in_epoch": state.batch_in_epoch,
            "elapsed": state.seconds(), "best_loss": state.best_loss, "bad_evals": state.bad_evals,
        },  # fmt: skip
        "best_weights": state.best_weights,
    }
    save(checkpoint, run.checkpoint)
    state.saved_step = state.step


def _restore_weights(run: _Run) -> None:
    """Put the model and optimizer back as the last checkpoint holds them (its weights are finite)."""
    ckpt = load(run.checkpoint)
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])


def _devices(rng: dict[str, Any] | None) -> Any:
    """A checkpoint's random state (keyed by device name) as ``backend.set_rng_state`` takes it."""
    return None if rng is None else {backend.as_device(dev): s for dev, s in rng.items()}


def _plain(d: dict[str, Any]) -> dict[str, Any]:
    """A scheduler's state without what a checkpoint cannot hold (functions)."""
    return {k: v for k, v in d.items() if not callable(v)}


def _resume(run: _Run) -> _State:
    """Put the model, optimizer, scheduler, loader and random state back as the checkpoint has them."""
    if run.checkpoint is None or not os.path.exists(run.checkpoint):
        raise FileNotFoundError(f"fit: resume=True but there is no checkpoint at {run.checkpoint}")
    ckpt = load(run.checkpoint)
    parts = ("model", "optimizer", "scheduler", "loader", "rng", "history", "progress", "best_weights")
    missing = [k for k in parts if not isinstance(ckpt, dict) or k not in ckpt]
    if missing:
        raise ValueError(
            f"fit: {run.checkpoint} is not a checkpoint of fit (it lacks {', '.join(map(repr, missing))}); "
            "a model's state_dict alone cannot resume a run: load it with model.load_state_dict(tl.load(path))"
        )
    run.model.load_state_dict(ckpt["model"])
    run.optimizer.load_state_dict(ckpt["optimizer"])
    if run.scheduler is not None and ckpt["scheduler"] is not None:
        run.scheduler.load_state_dict(ckpt["scheduler"])
    if ckpt["loader"] is not None and hasattr(run.loader, "load_state_dict"):
        run.loader.load_state_dict(ckpt["loader"])
    backend.set_rng_state(_devices(ckpt["rng"]))
    p, best = ckpt["progress"], ckpt["best_weights"]
    history = History.from_dict(ckpt["history"])
    history.interrupted = False
    return _State(
        history=history, step=p["step"], epoch=p["epoch"], batch_in_epoch=p["batch_in_epoch"],
        best_loss=p["best_loss"], bad_evals=p["bad_evals"],
        best_weights={k: v.data for k, v in best.items()} if best else None,
        loader_state=ckpt["loader"], rng=backend.get_rng_state(), saved_step=p["step"],
        epoch_rng=_devices(ckpt.get("epoch_rng")),
        started=time.perf_counter() - p["elapsed"],
    )  # fmt: skip
