"""Staged training: one optimizer for the first steps, another after.

A common recipe trains with Adam (fast early progress) and finishes with SGD and
momentum, or first trains only a new classifier head and then the whole model.
:class:`SwitchOptimizer` makes such a plan one object that ``fit`` (or any
training loop) drives like a single optimizer: each ``step()`` goes to the
optimizer whose stage it is, and the switch happens after a given number of steps.

It is not a subclass of :class:`Optimizer`: it owns no parameters and computes no
update, so the base class's machinery (its own groups, per-parameter state, tracing)
would be wrong for it. It has what a training loop uses, :class:`~tinyllm.optim.OptimizerLike`:
``isinstance(switch, OptimizerLike)`` holds, as it does for every ``Optimizer``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from tinyllm.optim.optimizer import Optimizer
from tinyllm.tensor import Tensor


class SwitchOptimizer:
    """Run ``optimizers[0]`` for ``milestones[0]`` steps, then ``optimizers[1]`` until step
    ``milestones[1]``, and so on; the last one runs to the end.

        opt = SwitchOptimizer([Adam(model.parameters(), lr=1e-3),
                               SGD(model.parameters(), lr=0.05, momentum=0.9)], milestones=[800])

    Each optimizer keeps its own state (moments, momentum) and its own parameter groups,
    which may hold different parameters (train the head first, then everything).
    ``param_groups`` are the current stage's, so code that reads the learning rate sees
    the one in use. A learning-rate scheduler belongs to one inner optimizer and steps
    with every call of ``fit``'s step, in every stage; its step count is the global
    one. (PyTorch has no optimizer switch; ``SequentialLR`` is the same idea for schedules.)
    """

    def __init__(self, optimizers: Sequence[Optimizer], milestones: Sequence[int]) -> None:
        optimizers, milestones = list(optimizers), [int(m) for m in milestones]
        if not optimizers or not all(isinstance(o, Optimizer) for o in optimizers):
            raise TypeError("SwitchOptimizer: optimizers must be a non-empty list of tinyllm optimizers")
        if len(milestones) != len(optimizers) - 1:
            raise ValueError(
                f"SwitchOptimizer: {len(optimizers)} optimizers need {len(optimizers) - 1} milestones "
                f"(the steps at which to switch), not {len(milestones)}"
            )
        if any(m <= 0 for m in milestones) or any(b <= a for a, b in zip(milestones, milestones[1:])):
            raise ValueError(f"SwitchOptimizer: milestones must be positive and increasing, not {milestones}")
        self.optimizers = optimizers
        self.milestones = milestones
        self.steps_taken = 0

    @property
    def stage(self) -> int:
        """The index of the optimizer that the next ``step()`` uses."""
        return sum(self.steps_taken >= m for m in self.milestones)

    @property
    def current(self) -> Optimizer:
        return self.optimizers[self.stage]

    @property
    def param_groups(self) -> list[dict[str, Any]]:
        return self.current.param_groups

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        loss = self.current.step(closure)
        self.steps_taken += 1
        return loss

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients of every stage's parameters (a frozen stage's included)."""
        for optimizer in self.optimizers:
            optimizer.zero_grad(set_to_none)

    def state_dict(self) -> dict[str, Any]:
        return {"steps_taken": self.steps_taken, "optimizers": [o.state_dict() for o in self.optimizers]}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        saved = state_dict["optimizers"]
        if len(saved) != len(self.optimizers):
            raise ValueError(
                f"SwitchOptimizer.load_state_dict: the saved state has {len(saved)} optimizers, "
                f"this one has {len(self.optimizers)}"
            )
        for optimizer, state in zip(self.optimizers, saved):
            optimizer.load_state_dict(state)
        self.steps_taken = int(state_dict["steps_taken"])

    def __repr__(self) -> str:
        bounds = [0, *self.milestones]
        stages = [
            f"  steps {start}–{end - 1 if end else '…'}: " + repr(o).replace("\n", "\n  ")
            for o, start, end in zip(self.optimizers, bounds, [*self.milestones, None])
        ]
        return "SwitchOptimizer (\n" + "\n".join(stages) + "\n)"
