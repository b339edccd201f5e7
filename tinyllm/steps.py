"""Step functions: how ``fit`` and ``evaluate`` turn one batch into a loss.

A step function takes the model and a batch and returns a :class:`StepOutput`:
the loss (a scalar tensor, the mean over the batch) and, for the prediction
metrics, the logits and the targets. What a batch is depends on the task, so the
step is where ``fit`` meets the data:

- :func:`supervised_step`, the default, reads ``(inputs, targets)`` for any model,
  with a ``loss_fn`` (cross-entropy unless told otherwise), and ``(ids, lengths,
  labels)``, the text batches of :class:`tinyllm.data.DataLoader`;
- :func:`lm_step` reads ``(x, y)`` for a model that returns ``(logits, loss)``, as GPT does;
- anything else takes a function of your own with the same signature.

A batch that a step cannot read is reported with what it is (its type, length,
and the shapes and dtypes of its parts) and the forms the step reads.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, NamedTuple

from tinyllm.nn import Module
from tinyllm.nn import functional as F
from tinyllm.tensor import Tensor


class StepOutput(NamedTuple):
    """What a step function returns for one batch."""

    loss: Tensor  # a scalar, the mean over the batch
    logits: Tensor | None  # (N, C) predictions, for the prediction metrics; None when there are none
    targets: Tensor | None  # (N,) classes (their count weighs the batch in evaluate)


StepFn = Callable[[Module, Any], StepOutput]
LossFn = Callable[[Tensor, Any], Tensor]

_BATCH_FORMS = (
    "(inputs, targets), trained as loss_fn(model(inputs), targets), or "
    "(ids, lengths, labels) from tinyllm.data.DataLoader, trained as loss_fn(model(ids, lengths), labels)"
)


def supervised_step(model: Module, batch: Any, loss_fn: LossFn = F.cross_entropy) -> StepOutput:
    """The default step: ``(inputs, targets)`` -> ``loss_fn(model(inputs), targets)``;
    ``(ids (B, T), lengths (B,), labels (B,))`` -> ``loss_fn(model(ids, lengths), labels)``.

    The model's outputs count as logits (for accuracy and the other prediction
    metrics) when the targets are class ids, that is integers.
    """
    if not (_is_pair(batch) or _is_text(batch)):
        raise TypeError(_unreadable("supervised_step", batch, _BATCH_FORMS))
    *inputs, targets = batch
    outputs = model(*inputs)
    return StepOutput(loss_fn(outputs, targets), outputs if _is_integer(targets) else None, targets)


def classification_step(model: Module, batch: Any) -> StepOutput:
    """``(ids (B, T), lengths (B,), labels (B,))`` -> cross-entropy of ``model(ids, lengths)``."""
    if not _is_text(batch):
        raise TypeError(_unreadable("classification_step", batch, "(ids (B, T), lengths (B,), labels (B,))"))
    return supervised_step(model, batch)


def lm_step(model: Module, batch: Any) -> StepOutput:
    """``(x (B, T), y (B, T))`` -> the model's next-token loss; ``model(x, y)`` returns (logits, loss)."""
    if not _is_pair(batch):
        raise TypeError(_unreadable("lm_step", batch, "(x, y) token ids, as lm_batches gives them"))
    x, y = batch
    logits, loss = model(x, y)
    return StepOutput(loss, logits.reshape(-1, logits.shape[-1]), y.reshape(-1))


def _is_pair(batch: Any) -> bool:
    return isinstance(batch, (tuple, list)) and len(batch) == 2


def _is_text(batch: Any) -> bool:
    """(ids, lengths, labels), told from other triples by its lengths: (B,) integers."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 3):
        return False
    return _is_integer(batch[1]) and batch[1].ndim == 1


def _is_integer(x: Any) -> bool:
    return hasattr(x, "dtype") and hasattr(x, "ndim") and x.dtype.kind in "iu"


def _unreadable(where: str, batch: Any, accepted: str) -> str:
    """The message for a batch a step cannot read: what it is, and what the step reads."""
    return (
        f"{where}: cannot read a batch that is {_describe(batch)}; it reads {accepted}. "
        "For batches of another form, pass step_fn(model, batch) -> StepOutput to fit and evaluate"
    )


def _describe(batch: Any) -> str:
    """'a tuple of 4: Tensor (8, 6) int64, ...', 'a dict with keys [...]', 'Tensor (8, 4) float32'."""
    if isinstance(batch, (tuple, list)):
        parts = ": " + ", ".join(_describe_one(b) for b in batch) if batch else ""
        return f"a {type(batch).__name__} of {len(batch)}{parts}"
    if isinstance(batch, dict):
        return f"a dict with keys {list(batch)}"
    return _describe_one(batch)


def _describe_one(x: Any) -> str:
    if hasattr(x, "shape") and hasattr(x, "dtype"):
        return f"{type(x).__name__} {tuple(x.shape)} {x.dtype}"
    return type(x).__name__


def resolve_step(step_fn: StepFn | None, loss_fn: LossFn | None, where: str) -> StepFn:
    """The step function that ``fit`` or ``evaluate`` (``where``) uses for these two arguments."""
    if step_fn is None:
        return supervised_step if loss_fn is None else functools.partial(supervised_step, loss_fn=loss_fn)
    if loss_fn is not None:
        raise ValueError(f"{where}: give loss_fn or step_fn, not both (a step_fn computes its own loss)")
    return step_fn
