"""``evaluate``: the mean loss and the metrics of a model over a whole loader, in eval mode."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import numpy

from tinyllm import metrics as metric_fns  # not ``metrics``: that name is evaluate's argument
from tinyllm.autograd import no_grad
from tinyllm.nn import Module
from tinyllm.steps import LossFn, StepFn, resolve_step


@no_grad()
def evaluate(
    model: Module,
    loader: Iterable[Any],
    step_fn: StepFn | None = None,
    metrics: Sequence[str] | None = None,
    *,
    loss_fn: LossFn | None = None,
) -> dict[str, float]:
    """Mean loss (weighted by batch size) and the named metrics over a whole loader, in eval mode.

    ``step_fn`` and ``loss_fn`` read the batches as in :func:`fit`. Metric names:
    accuracy, precision, recall, f1 (macro), perplexity, bits_per_char; by default
    accuracy when the step gives predictions (classification), none otherwise.
    """
    check_run_arguments("evaluate", model, {"loader": loader}, {"step_fn": step_fn, "loss_fn": loss_fn})
    check_metrics(metrics, "evaluate")
    step_fn = resolve_step(step_fn, loss_fn, "evaluate")
    keep = metrics is None or any(name in metric_fns.PREDICTION_METRICS for name in metrics)
    was_training = model.training
    model.eval()
    try:
        loss, predicted, targets = _mean_loss_and_predictions(model, loader, step_fn, keep)
    finally:
        model.train(was_training)
    if metrics is None:
        metrics = ("accuracy",) if predicted is not None else ()
    result = {"loss": loss}
    for name in metrics:
        if name in metric_fns.LOSS_METRICS:
            result[name] = metric_fns.LOSS_METRICS[name](loss)
        elif predicted is None:
            raise ValueError(
                f"evaluate: metric {name!r} needs predictions, but the step gave logits=None "
                "(are the targets class ids?); ask for loss metrics only, e.g. metrics=()"
            )
        else:
            result[name] = metric_fns.PREDICTION_METRICS[name](predicted, targets)
    return result


def _mean_loss_and_predictions(
    model: Module, loader: Iterable[Any], step_fn: StepFn, keep_predictions: bool
) -> tuple[float, numpy.ndarray | None, numpy.ndarray | None]:
    """The loss averaged over examples, and (if kept) the predicted classes, argmax of the
    logits, with the targets, on the host; these two are None when the step gives no logits."""
    total, count, predicted, targets = 0.0, 0, [], []
    for batch in loader:
        out = step_fn(model, batch)
        n = int(out.targets.shape[0]) if out.targets is not None else 1
        total += float(out.loss.item()) * n
        count += n
        if keep_predictions and out.logits is not None:
            predicted.append(metric_fns.to_host(out.logits).argmax(axis=-1))
            targets.append(metric_fns.to_host(out.targets))
    if count == 0:
        raise ValueError("evaluate: the loader gave no batches")
    if not predicted:
        return total / count, None, None
    return total / count, numpy.concatenate(predicted), numpy.concatenate(targets)


def check_run_arguments(where: str, model: Any, loaders: dict[str, Any], functions: dict[str, Any]) -> None:
    """Refuse, by name, a model that is not a Module, a loader that cannot be iterated and a
    function argument that cannot be called (``None`` stands for the default everywhere)."""
    if not isinstance(model, Module):
        raise TypeError(f"{where}: model must be a tinyllm Module, not {type(model).__name__}")
    for name, loader in loaders.items():
        if loader is not None and not hasattr(loader, "__iter__"):
            raise TypeError(f"{where}: {name} must be iterable (a DataLoader or a list of batches), "
                            f"not {type(loader).__name__}")  # fmt: skip
    for name, fn in functions.items():
        if fn is not None and not callable(fn):
            raise TypeError(f"{where}: {name} must be callable (or None), not {fn!r}")


def check_metrics(metrics: Sequence[str] | None, where: str) -> None:
    """Refuse a string or an unknown name among ``metrics``, naming ``where`` they were given."""
    if isinstance(metrics, str):
        raise TypeError(f"{where}: metrics must be a sequence of names, e.g. ({metrics!r},), not a string")
    known = sorted([*metric_fns.PREDICTION_METRICS, *metric_fns.LOSS_METRICS])
    for name in metrics or ():
        if name not in known:
            raise ValueError(f"{where}: unknown metric {name!r}; choose from {known}")
