"""What a training loop needs from an optimizer, as a type: :class:`OptimizerLike`.

Every :class:`~tinyllm.optim.Optimizer` has it, and so does
:class:`~tinyllm.optim.SwitchOptimizer`, which is not an ``Optimizer`` (it owns no
parameters; it hands each step to one of its stages). ``fit`` and anything else
that drives "an optimizer" should ask for this protocol rather than the base class.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from tinyllm.tensor import Tensor


@runtime_checkable
class OptimizerLike(Protocol):
    """Parameter groups (dicts with ``"params"`` and ``"lr"``, which schedulers and clipping
    read), a step, gradients to forget, and a state to save and restore."""

    param_groups: list[dict[str, Any]]

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None: ...

    def zero_grad(self, set_to_none: bool = True) -> None: ...

    def state_dict(self) -> dict[str, Any]: ...

    def load_state_dict(self, state_dict: dict[str, Any]) -> None: ...
