"""Learning-rate schedules: how the step size changes over training (PyTorch's ``lr_scheduler``).

A scheduler wraps an optimizer and, at each ``scheduler.step()`` (once per
epoch or per batch, as the training loop decides), sets every group's ``lr``
from the group's starting value ``initial_lr`` and the count of steps so far,
``last_epoch``. Making one applies step 0 at once, as in PyTorch.

Each schedule here is written as its closed form, lr(t) = f(initial_lr, t),
the formula a lesson plots (PyTorch writes several as a ratio to the previous
step's lr; the rates are the same). CosineAnnealingWarmRestarts and OneCycleLR
keep a little more state (the cycle; the phases, and momentum), and SequentialLR
hands the steps from one schedule to the next.
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


class ConstantLR(LRScheduler):
    """lr(t) = base * factor for t < total_iters, then base: a flat warmup at a reduced rate.

    Written in closed form: PyTorch multiplies the current lr by factor at step 0 and divides by
    it at total_iters, which gives the same rates (and, with factor = 0, a division by zero that
    this form avoids). With total_iters = 0, as in PyTorch, the factor is never lifted.
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:  # fmt: skip
        check_number("ConstantLR", "factor", factor, 0.0, 1.0)
        check_count("ConstantLR", "total_iters", total_iters, low=0)
        self.factor, self.total_iters = factor, total_iters
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        if self.total_iters == 0 or t < self.total_iters:
            return base_lr * self.factor
        return base_lr


class PolynomialLR(LRScheduler):
    """lr(t) = base * (1 - min(t, total_iters) / total_iters) ** power: from base down to exactly 0
    at total_iters (a straight line for power 1), and 0 after. With total_iters = 0, as in
    PyTorch, base throughout."""

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0, last_epoch: int = -1) -> None:
        check_count("PolynomialLR", "total_iters", total_iters, low=0)
        check_number("PolynomialLR", "power", power)
        self.total_iters, self.power = total_iters, power
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        if self.total_iters == 0:
            return base_lr
        return base_lr * (1.0 - min(t, self.total_iters) / self.total_iters) ** self.power


class CosineAnnealingWarmRestarts(LRScheduler):
    """SGDR (Loshchilov and Hutter, 2017): cosine annealing that restarts at base.

        lr = eta_min + (base - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    T_cur counts the steps since the last restart; the first cycle lasts T_i = T_0 steps and each
    next one T_mult times longer. ``step()`` moves one step; ``step(epoch)`` jumps to ``epoch``,
    which may be fractional (``epoch + i / iters_per_epoch`` inside an epoch), as in PyTorch.
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:  # fmt: skip
        fn = "CosineAnnealingWarmRestarts"
        check_count(fn, "T_0", T_0)
        check_count(fn, "T_mult", T_mult)
        check_number(fn, "eta_min", eta_min)
        self.T_0, self.T_i, self.T_mult, self.eta_min = T_0, T_0, T_mult, eta_min
        self.T_cur: float = last_epoch
        super().__init__(optimizer, last_epoch)

    def lr_at(self, base_lr: float, t: int) -> float:
        """The rate at the current place in the cycle (``step`` has moved T_cur and T_i to step t)."""
        return self.eta_min + (base_lr - self.eta_min) * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2

    def step(self, epoch: float | None = None) -> None:
        if epoch is None and self.last_epoch < 0:
            epoch = 0
        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur += 1
            if self.T_cur >= self.T_i:  # a restart
                self.T_cur -= self.T_i
                self.T_i *= self.T_mult
        else:
            check_number("CosineAnnealingWarmRestarts.step", "epoch", epoch)
            self.T_cur, self.T_i = self._position(epoch)
        self.last_epoch = math.floor(epoch)
        for group, base in zip(self.optimizer.param_groups, self.base_lrs):
            group["lr"] = self.lr_at(base, self.last_epoch)
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]

    def _position(self, epoch: float) -> tuple[float, int]:
        """(T_cur, T_i) at ``epoch``. Cycle k (from 0) starts at T_0 * (1 + m + ... + m^(k-1)) =
        T_0 * (m^k - 1) / (m - 1) for m = T_mult > 1, so the cycle holding epoch is
        k = floor(log_m(epoch * (m - 1) / T_0 + 1)); for m = 1 it is epoch // T_0."""
        if epoch < self.T_0:
            return epoch, self.T_0
        if self.T_mult == 1:
            return epoch % self.T_0, self.T_0
        m = self.T_mult
        k = int(math.log(epoch / self.T_0 * (m - 1) + 1, m))
        return epoch - self.T_0 * (m**k - 1) / (m - 1), self.T_0 * m**k


class OneCycleLR(LRScheduler):
    """The 1cycle policy (Smith and Topin, 2019), stepped once per batch for ``total_steps`` batches
    (or ``epochs * steps_per_epoch``):

        phase 1, the first pct_start of the steps:  lr from max_lr / div_factor up to max_lr
        phase 2, the rest:                          lr from max_lr down to initial_lr / final_div_factor

    each by half a cosine (``anneal_strategy="cos"``) or a straight line ("linear"). With
    ``three_phase``, phase 2 comes back down to initial_lr symmetrically and a third phase
    anneals to the minimum. Momentum (SGD's ``momentum``, or beta1 of Adam's ``betas``) moves
    the other way, between max_momentum and base_momentum: a high rate with low momentum.
    ``max_lr`` and the momenta take one value, or a list with one per group. Stepping past
    total_steps raises, as in PyTorch. PyTorch's schedule, group keys and phase boundaries.
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | Sequence[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: str = "cos", cycle_momentum: bool = True,
                 base_momentum: float | Sequence[float] = 0.85, max_momentum: float | Sequence[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:  # fmt: skip
        fn = "OneCycleLR"
        check_schedulable(optimizer, fn)
        if total_steps is not None:
            check_count(fn, "total_steps", total_steps)
        elif epochs is not None and steps_per_epoch is not None:
            check_count(fn, "epochs", epochs)
            check_count(fn, "steps_per_epoch", steps_per_epoch)
            total_steps = epochs * steps_per_epoch
        else:
            raise ValueError(f"{fn}: give total_steps, or both epochs and steps_per_epoch")
        check_number(fn, "pct_start", pct_start, 0.0, 1.0)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"{fn}: anneal_strategy must be 'cos' or 'linear', not {anneal_strategy!r}")
        check_number(fn, "div_factor", div_factor, low_open=True)
        check_number(fn, "final_div_factor", final_div_factor, low_open=True)
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        # (last step of the phase, lr key at its start, at its end, momentum key at its start, at its end)
        up = float(pct_start * total_steps) - 1
        if three_phase:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (2 * up, "max_lr", "initial_lr", "base_momentum", "max_momentum"),
                           (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]  # fmt: skip
        else:
            self.phases = [(up, "initial_lr", "max_lr", "max_momentum", "base_momentum"),
                           (total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum")]  # fmt: skip
        groups = optimizer.param_groups
        if last_epoch == -1:
            for group, peak in zip(groups, _per_group(fn, "max_lr", max_lr, len(groups))):
                group["initial_lr"] = peak / div_factor
                group["max_lr"] = peak
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.use_beta1 = "betas" in optimizer.defaults
        if cycle_momentum:
            if "momentum" not in optimizer.defaults and not self.use_beta1:
                raise ValueError(
                    f"{fn}: cycle_momentum needs an optimizer with momentum or betas, not "
                    f"{type(optimizer).__name__}; pass cycle_momentum=False"
                )
            highs = _per_group(fn, "max_momentum", max_momentum, len(groups))
            lows = _per_group(fn, "base_momentum", base_momentum, len(groups))
            if last_epoch == -1:
                for group, high, low in zip(groups, highs, lows):
                    self._set_momentum(group, high)
                    group["max_momentum"], group["base_momentum"] = high, low
        super().__init__(optimizer, last_epoch)

    def _set_momentum(self, group: dict[str, Any], value: float) -> None:
        if self.use_beta1:
            group["betas"] = (value, *group["betas"][1:])
        else:
            group["momentum"] = value

    def _anneal(self, start: float, end: float, pct: float) -> float:
        """From start (pct = 0) to end (pct = 1): half a cosine, or a straight line."""
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def step(self) -> None:
        t = self.last_epoch + 1
        if t > self.total_steps:
            raise ValueError(f"OneCycleLR: tried to step {t} times, but total_steps is {self.total_steps}")
        self.last_epoch = t
        for group in self.optimizer.param_groups:
            start = 0.0
            for i, (end, lr_from, lr_to, mom_from, mom_to) in enumerate(self.phases):
                if t <= end or i == len(self.phases) - 1:
                    pct = (t - start) / (end - start)
                    group["lr"] = self._anneal(group[lr_from], group[lr_to], pct)
                    if self.cycle_momentum:
                        self._set_momentum(group, self._anneal(group[mom_from], group[mom_to], pct))
                    break
                start = end
        self._last_lr = [g["lr"] for g in self.optimizer.param_groups]


class SequentialLR(LRScheduler):
    """Run ``schedulers`` one after another: schedulers[i] takes over at step milestones[i - 1]
    and starts its own count from 0 there. For a warmup then a decay:

        SequentialLR(opt, [LinearLR(opt, 0.1, total_iters=5), CosineAnnealingLR(opt, T_max=95)], milestones=[5])

    Making the schedulers already stepped each once; this undoes that and starts the first.
    ``state_dict`` holds every scheduler's state. PyTorch's rule, with one difference: a scheduler
    listed twice starts from its step 0 at each of its turns (PyTorch undoes its creation step
    twice, which shifts its first turn by one step).
    """

    def __init__(self, optimizer: Optimizer, schedulers: Sequence[LRScheduler], milestones: Sequence[int],
                 last_epoch: int = -1) -> None:  # fmt: skip
        fn = "SequentialLR"
        check_schedulable(optimizer, fn)
        if len(schedulers) < 1:
            raise ValueError(f"{fn}: expects at least one scheduler, got none")
        for i, s in enumerate(schedulers):
            if isinstance(s, ReduceLROnPlateau):
                raise ValueError(f"{fn}: scheduler {i} is a ReduceLROnPlateau, whose step needs a metric (unsupported)")
            if not isinstance(s, LRScheduler):
                raise TypeError(f"{fn}: scheduler {i} must be an LRScheduler, not {type(s).__name__}")
            if s.optimizer is not optimizer:
                raise ValueError(f"{fn}: scheduler {i} ({type(s).__name__}) schedules a different optimizer")
        if len(milestones) != len(schedulers) - 1:
            raise ValueError(
                f"{fn}: {len(schedulers)} schedulers need {len(schedulers) - 1} milestones "
                f"(one per switch), got {len(milestones)}"
            )
        for m in milestones:
            check_count(fn, "milestones", m, low=0)
        self.optimizer = optimizer
        self._schedulers, self._milestones = list(schedulers), list(milestones)
        self.last_epoch = last_epoch + 1
        for group in optimizer.param_groups:
            group["lr"] = group["initial_lr"]
        _undo_initial_step(self)
        current = self._schedulers[bisect.bisect_right(self._milestones, 0)]
        current.step()
        self._last_lr = current.get_last_lr()

    def step(self) -> None:
        self.last_epoch += 1
        i = bisect.bisect_right(self._milestones, self.last_epoch)
        current = self._schedulers[i]
        if i > 0 and self._milestones[i - 1] == self.last_epoch:
            current.last_epoch = -1  # its turn begins: start it at its step 0
        current.step()
        self._last_lr = current.get_last_lr()

    def state_dict(self) -> dict[str, Any]:
        state = {k: v for k, v in self.__dict__.items() if k not in ("optimizer", "_schedulers")}
        state["_schedulers"] = [s.state_dict() for s in self._schedulers]
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        own = {k: v for k, v in state_dict.items() if k != "_schedulers"}
        self.__dict__.update(own)
        for s, saved in zip(self._schedulers, state_dict["_schedulers"]):
            s.load_state_dict(saved)


def _undo_initial_step(scheduler: SequentialLR, seen: set[int] | None = None) -> None:
    """Take back the step each scheduler made when it was created (inside nested SequentialLRs
    too; once for a scheduler listed twice, which made one step)."""
    seen = set() if seen is None else seen
    for s in scheduler._schedulers:
        if id(s) in seen:
            continue
        seen.add(id(s))
        if isinstance(s, SequentialLR):
            _undo_initial_step(s, seen)
        else:
            s.last_epoch -= 1


def _per_group(where: str, name: str, value: float | Sequence[float], n: int) -> list[float]:
    """One value per parameter group: a list of n, or one number for all."""
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{where}: expected {n} values for {name} (one per param group), got {len(value)}")
        values = list(value)
    else:
        values = [value] * n
    for v in values:
        check_number(where, name, v)
    return values
