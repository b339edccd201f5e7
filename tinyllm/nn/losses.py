"""Losses as modules (``criterion = nn.CrossEntropyLoss(); loss = criterion(logits, y)``)."""

from __future__ import annotations

from typing import Any

from tinyllm.nn import functional as F
from tinyllm.nn.module import Module
from tinyllm.tensor import Tensor


class CrossEntropyLoss(Module):
    """:func:`F.cross_entropy` with its options fixed at construction."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean",
                 label_smoothing: float = 0.0, fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction
        self.label_smoothing, self.fused = label_smoothing, fused

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.cross_entropy(input, target, self.weight, self.ignore_index, self.reduction,
                               self.label_smoothing, fused=self.fused)  # fmt: skip


class NLLLoss(Module):
    """:func:`F.nll_loss`: for inputs that are already log-probabilities."""

    def __init__(self, weight: Tensor | None = None, ignore_index: int = -100, reduction: str = "mean") -> None:
        super().__init__()
        self.weight, self.ignore_index, self.reduction = weight, ignore_index, reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.nll_loss(input, target, self.weight, self.ignore_index, self.reduction)


class MSELoss(Module):
    """:func:`F.mse_loss` with its options fixed at construction."""

    def __init__(self, reduction: str = "mean", fused: bool = True) -> None:
        super().__init__()
        self.reduction, self.fused = reduction, fused

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.mse_loss(input, target, self.reduction, fused=self.fused)


class BCEWithLogitsLoss(Module):
    def __init__(self, weight: Tensor | None = None, reduction: str = "mean", pos_weight: Tensor | None = None) -> None:
        super().__init__()
        self.weight, self.reduction, self.pos_weight = weight, reduction, pos_weight

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy_with_logits(input, target, self.weight, self.reduction, self.pos_weight)


def _settings_repr(**settings: tuple[object, object]) -> str:
    """The settings that differ from their defaults, as ``name=value``; empty for a default loss,
    whose repr is then PyTorch's (``L1Loss()``)."""
    return ", ".join(f"{k}={v!r}" for k, (v, default) in settings.items() if v != default)


class L1Loss(Module):
    """:func:`F.l1_loss`: mean absolute error."""

    def __init__(self, reduction: str = "mean") -> None:
        super().__init__()
        self.reduction = reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.l1_loss(input, target, self.reduction)

    def extra_repr(self) -> str:
        return _settings_repr(reduction=(self.reduction, "mean"))


class SmoothL1Loss(Module):
    """:func:`F.smooth_l1_loss`: quadratic below ``beta``, linear above."""

    def __init__(self, reduction: str = "mean", beta: float = 1.0) -> None:
        super().__init__()
        self.reduction, self.beta = reduction, beta

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.smooth_l1_loss(input, target, self.reduction, self.beta)

    def extra_repr(self) -> str:
        return _settings_repr(reduction=(self.reduction, "mean"), beta=(self.beta, 1.0))


class BCELoss(Module):
    """:func:`F.binary_cross_entropy`: for probabilities (after a sigmoid); prefer :class:`BCEWithLogitsLoss`."""

    def __init__(self, weight: Tensor | None = None, reduction: str = "mean") -> None:
        super().__init__()
        self.weight, self.reduction = weight, reduction

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.binary_cross_entropy(input, target, self.weight, self.reduction)

    def extra_repr(self) -> str:
        return _settings_repr(reduction=(self.reduction, "mean"))


class KLDivLoss(Module):
    """:func:`F.kl_div`: KL(target || model) for log-probabilities; use ``reduction="batchmean"``
    for the divergence per sample."""

    def __init__(self, reduction: str = "mean", log_target: bool = False) -> None:
        super().__init__()
        self.reduction, self.log_target = reduction, log_target

    def forward(self, input: Tensor, target: Any) -> Tensor:
        return F.kl_div(input, target, self.reduction, self.log_target)

    def extra_repr(self) -> str:
        return _settings_repr(reduction=(self.reduction, "mean"), log_target=(self.log_target, False))
