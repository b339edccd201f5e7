"""Learning-rate schedules: how the step size changes over training (PyTorch's ``lr_scheduler``).

A scheduler wraps an optimizer and, at each ``scheduler.step()`` (once per
epoch or per batch, as the training loop decides), sets every group's ``lr``
from the group's starting value ``initial_lr`` and the count of steps so far,
``last_epoch``. Making one applies step 0 at once, as in PyTorch.

Each schedule here is written as its closed form, lr(t) = f(initial_lr, t),
the formula a lesson plots.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy

from tinyllm.optim.optimizer import Optimizer, check_number


def check_schedulable(optimizer: Any, scheduler: str) -> None:
    """A schedule changes the learning rates of one optimizer's groups. A ``SwitchOptimizer``
    shows only its current stage's groups, so a schedule built on it would carry stage 0's
    rates into later stages: refuse it, and say what to do instead."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(
            f"{scheduler}: expected a tinyllm Optimizer, got {type(optimizer).__name__}. For a "
            "SwitchOptimizer, schedule the stage that needs it: pass switch.optimizers[i]"
        )


def check_count(where: str, name: str, value: Any, low: int = 1) -> None:
    """Refuse a step count that is not a whole number >= low (bools and floats included)."""
    if isinstance(value, bool) or not isinstance(value, (int, numpy.integer)) or value < low:
        kind = "a positive integer" if low == 1 else f"an integer >= {low}"
        raise ValueError(f"{where}: {name} must be {kind}, not {value!r}")


class LRScheduler:
    """Base class: a subclass writes ``lr_at(base_lr, t)``, the learning rate at step t."""

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        check_schedulable(optimizer, type(self).__name__)
        self.optimizer = optimizer
        for group in optimizer.param_groups:
            if last_epoch == -1:
                group.setdefault("initial_lr", group["lr"])
            elif "initial_lr" not in group:
                raise KeyError("resuming a schedule (last_epoch != -1) needs 'initial_lr' in every param group")
        self.base_lrs = [g["initial_lr"] for g in optimizer.param_groups]
        self.last_epoch = last_epoch
        self.step()

    def lr_at(self, base_lr: float, t: int) -> float:
        raise NotImplementedError

    def step(self) -> None:
        self.last_epoch += 1
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        """The learning rate of each group, as set by the latest ``step()``."""
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer" and not callable(v)}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)


class StepLR(LRScheduler):
    """lr(t) = base * gamma ** (t // step_size): drop by ``gamma`` every ``step_size`` steps."""

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1, last_epoch: int = -1) -> None:
        check_count("StepLR", "step_size", step_size)
        check_number("StepLR", "gamma", gamma)
        self.step_size, self.gamma = step_size, gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma ** (t // self.step_size)


class MultiStepLR(LRScheduler):
    """lr(t) = base * gamma ** (number of milestones <= t)."""

    def __init__(self, optimizer: Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:  # fmt: skip
        fn = "MultiStepLR"
        if not isinstance(milestones, (list, tuple, range)):
            raise TypeError(f"{fn}: milestones must be a list of step numbers, not {type(milestones).__name__}")
        for m in milestones:
            check_count(fn, "milestones", m, low=0)
        check_number(fn, "gamma", gamma)
        # unsorted or repeated milestones count as PyTorch counts them: each one passed multiplies by gamma
        self.milestones, self.gamma = sorted(milestones), gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma ** bisect.bisect_right(self.milestones, t)


class ExponentialLR(LRScheduler):
    """lr(t) = base * gamma ** t."""

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        check_number("ExponentialLR", "gamma", gamma)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        return base_lr * self.gamma**t


class CosineAnnealingLR(LRScheduler):
    """lr(t) = eta_min + (base - eta_min) * (1 + cos(pi * t / T_max)) / 2: half a cosine from base
    down to eta_min over T_max steps (past T_max the cosine goes on, back up)."""

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0, last_epoch: int = -1) -> None:
        check_count("CosineAnnealingLR", "T_max", T_max)
        check_number("CosineAnnealingLR", "eta_min", eta_min)
        self.T_max, self.eta_min = T_max, eta_min
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * t / self.T_max)) / 2


class LinearLR(LRScheduler):
    """lr(t) = base * factor(t), the factor going linearly from ``start_factor`` to ``end_factor``
    over ``total_iters`` steps and staying there."""

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:  # fmt: skip
        if not 0 < start_factor <= 1 or not 0 <= end_factor <= 1:
            raise ValueError(
                f"LinearLR: start_factor must be in (0, 1] and end_factor in [0, 1], not {start_factor}, {end_factor}"
            )
        check_count("LinearLR", "total_iters", total_iters, low=0)
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        if self.total_iters == 0:  # as PyTorch: no ramp, start_factor throughout
            return base_lr * self.start_factor
        frac = min(t, self.total_iters) / self.total_iters
        return base_lr * (self.start_factor + (self.end_factor - self.start_factor) * frac)


class LambdaLR(LRScheduler):
    """lr(t) = base * lr_lambda(t); one function for all groups, or a list with one per group."""

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | Sequence[Callable[[int], float]],
                 last_epoch: int = -1) -> None:  # fmt: skip
        check_schedulable(optimizer, "LambdaLR")
        n = len(optimizer.param_groups)
        fns = list(lr_lambda) if isinstance(lr_lambda, (list, tuple)) else [lr_lambda] * n
        if len(fns) != n:
            raise ValueError(f"LambdaLR: {len(fns)} lr_lambdas for {n} param groups")
        for f in fns:
            if not callable(f):
                raise TypeError(f"LambdaLR: lr_lambda must be callable (step -> factor), not {type(f).__name__} {f!r}")
        self.lr_lambdas = fns
        super().__init__(optimizer, last_epoch)

    def step(self) -> None:
        self.last_epoch += 1
        for group, base, fn in zip(self.optimizer.param_groups, self.base_lrs, self.lr_lambdas):
            group["lr"] = base * fn(self.last_epoch)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in super().state_dict().items() if k != "lr_lambdas"}


class WarmupCosine(LRScheduler):
    """The schedule of GPT-style training: linear warmup, cosine decay, then constant.

        t < warmup_steps:            lr = base * (t + 1) / warmup_steps
        warmup_steps <= t <= total:  lr = min_lr + (base - min_lr) * (1 + cos(pi * r)) / 2,
                                     r = (t - warmup_steps) / (total_steps - warmup_steps)
        t > total_steps:             lr = min_lr

    Warmup keeps the first steps small while Adam's moment estimates are still
    poor; the cosine spends the most steps at a mid-range rate and lands softly.
    """

    def __init__(self, optimizer: Optimizer, warmup_steps: int, total_steps: int, min_lr: float = 0.0,
                 last_epoch: int = -1) -> None:  # fmt: skip
        check_count("WarmupCosine", "warmup_steps", warmup_steps, low=0)
        check_count("WarmupCosine", "total_steps", total_steps)
        check_number("WarmupCosine", "min_lr", min_lr)
        if not 0 <= warmup_steps < total_steps:
            raise ValueError(f"WarmupCosine: need 0 <= warmup_steps < total_steps, got {warmup_steps}, {total_steps}")
        self.warmup_steps, self.total_steps, self.min_lr = warmup_steps, total_steps, min_lr
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        if t < self.warmup_steps:
            return base_lr * (t + 1) / self.warmup_steps
        if t > self.total_steps:
            return self.min_lr
        r = (t - self.warmup_steps) / (self.total_steps - self.warmup_steps)
        return self.min_lr + (base_lr - self.min_lr) * (1 + math.cos(math.pi * r)) / 2


class ReduceLROnPlateau:
    """Divide the learning rate when a watched metric stops improving: ``scheduler.step(val_loss)``.

    "Improving" (mode "min"): better than the best so far by more than ``threshold``
    (relative: best * (1 - threshold); absolute: best - threshold). After more than
    ``patience`` steps without improvement, lr <- max(lr * factor, min_lr) (changes
    smaller than ``eps`` are skipped), then ``cooldown`` steps pass before counting again.
    PyTorch's rule.
    """

    def __init__(self, optimizer: Optimizer, mode: str = "min", factor: float = 0.1, patience: int = 10,
                 threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float | Sequence[float] = 0.0, eps: float = 1e-8) -> None:  # fmt: skip
        fn = "ReduceLROnPlateau"
        if isinstance(factor, (int, float)) and factor >= 1.0:
            raise ValueError(f"{fn}: factor must be < 1, not {factor}")
        check_number(fn, "factor", factor, 0.0, 1.0, high_open=True)
        if mode not in ("min", "max"):
            raise ValueError(f"{fn}: mode must be 'min' or 'max', not {mode!r}")
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"{fn}: threshold_mode must be 'rel' or 'abs', not {threshold_mode!r}")
        check_count(fn, "patience", patience, low=0)
        check_count(fn, "cooldown", cooldown, low=0)
        check_number(fn, "threshold", threshold)
        check_number(fn, "eps", eps)
        check_schedulable(optimizer, fn)
        n = len(optimizer.param_groups)
        self.min_lrs = list(min_lr) if isinstance(min_lr, (list, tuple)) else [min_lr] * n
        if len(self.min_lrs) != n:
            raise ValueError(f"{fn}: {len(self.min_lrs)} min_lrs for {n} param groups")
        for value in self.min_lrs:
            check_number(fn, "min_lr", value)
        self.optimizer, self.mode, self.factor, self.patience = optimizer, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.eps = threshold, threshold_mode, cooldown, eps
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = self.cooldown_counter = self.last_epoch = 0
        self._last_lr = [g["lr"] for g in optimizer.param_groups]

    def is_better(self, a: float, best: float) -> bool:
        if self.mode == "min":
            return a < (best * (1 - self.threshold) if self.threshold_mode == "rel" else best - self.threshold)
        return a > (best * (1 + self.threshold) if self.threshold_mode == "rel" else best + self.threshold)

    def step(self, metric: float) -> None:
        if isinstance(metric, (str, bytes, bool)) or not hasattr(metric, "__float__"):
            raise TypeError(f"ReduceLROnPlateau.step: metric must be a number (the loss), not {type(metric).__name__}")
        current = float(metric)
        self.last_epoch += 1
        if self.is_better(current, self.best):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0
        if self.num_bad_epochs > self.patience:
            for group, min_lr in zip(self.optimizer.param_groups, self.min_lrs):
                new = max(group["lr"] * self.factor, min_lr)
                if group["lr"] - new > self.eps:
                    group["lr"] = new
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def get_last_lr(self) -> list[float]:
        return list(self._last_lr)

    def state_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if k != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
