"""The Optimizer base class: parameter groups, the step loop, and state dicts.

An optimizer holds the parameters it updates in ``param_groups``, a list of
dicts: each has ``"params"`` and its own hyperparameters (``lr``,
``weight_decay``, ...), so one model can give its embeddings, its weight
matrices and its biases different settings. ``step()`` updates every parameter
that has a gradient, in place; ``state`` keeps what an optimizer remembers
between steps (momentum, moment estimates), per parameter.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable, Iterable
from typing import Any

from tinyllm import backend
from tinyllm.autograd import enable_grad, no_grad, zero_grads
from tinyllm.tensor import Tensor

ParamsLike = Iterable[Tensor] | Iterable[dict[str, Any]]


class Optimizer:
    """Base class. A subclass passes its hyperparameter ``defaults`` and writes
    ``update(p, g, group, state) -> (delta, quantities)``: from the parameter's array
    ``p``, its gradient ``g``, its group's hyperparameters and its state dict (which it
    updates), the change ``delta`` that ``step`` adds to ``p``; and, while
    ``self.tracing``, the quantities of the step by name (for :func:`tinyllm.optim.trace`).

    Every optimizer takes ``l1``: after its update, each weight takes the proximal
    step of the penalty ``l1 * |w|`` (soft thresholding by ``lr * l1``), which sets
    small weights to exactly zero. This is L1 regularization done by the optimizer;
    adding ``l1 * F.l1_penalty(params)`` to the loss is the same penalty done by the
    gradient, which only makes weights hover around zero.
    """

    def __init__(self, params: ParamsLike, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self.state: dict[Tensor, dict[str, Any]] = {}
        self.param_groups: list[dict[str, Any]] = []
        self._tracers: list[Any] = []
        if isinstance(params, Tensor):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (or of dicts), "
                "not a single tensor; wrap it in a list"
            )
        try:
            groups = list(params)
        except TypeError:
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of tensors (or of dicts), "
                f"not {type(params).__name__}"
            ) from None
        if not groups:
            raise ValueError(f"{type(self).__name__} got an empty parameter list")
        if not isinstance(groups[0], dict):
            groups = [{"params": groups}]
        for group in groups:
            self.add_param_group(group)

    def add_param_group(self, group: dict[str, Any]) -> None:
        """Add parameters with their own hyperparameters (missing ones come from ``defaults``)."""
        name = type(self).__name__
        i = len(self.param_groups)
        if not isinstance(group, dict):
            raise TypeError(
                f"{name}.add_param_group: parameter group {i} must be a dict with 'params', "
                f"not a {type(group).__name__}"
            )
        if "params" not in group:
            raise ValueError(f"{name}.add_param_group: parameter group {i} has no 'params' key")
        params = group["params"]
        params = [params] if isinstance(params, Tensor) else list(params)
        for i, p in enumerate(params):
            if not isinstance(p, Tensor):
                raise TypeError(f"{name}: can only optimize tensors, but parameter {i} is a {type(p).__name__}")
            if not p.is_leaf:
                raise ValueError(
                    f"{name}: parameter {i} (shape {p.shape}) is not a leaf tensor: it was computed by "
                    f"{type(p.grad_fn).__name__}, so updating it would not change the model. "
                    "Optimize the leaves (e.g. model.parameters())"
                )
            if not backend.is_floating(p.dtype):
                raise TypeError(f"{name}: parameter {i} has dtype {p.dtype}; only floating-point tensors train")
        seen = {id(p) for g in self.param_groups for p in g["params"]}
        if any(id(p) in seen for p in params) or len({id(p) for p in params}) != len(params):
            raise ValueError(f"{name}: some parameters appear more than once (in this or another group)")
        full = {**self.defaults, **group, "params": params}
        self.check_hyperparameters(full)
        self.param_groups.append(full)

    def check_hyperparameters(self, group: dict[str, Any]) -> None:
        """Raise a ValueError naming a hyperparameter outside its range; subclasses add theirs."""
        name = type(self).__name__
        check_number(name, "learning rate lr", group["lr"])
        for key in ("weight_decay", "l1"):
            if key in group:
                check_number(name, key, group[key])

    def zero_grad(self, set_to_none: bool = True) -> None:
        """Forget the gradients (they accumulate across backward calls otherwise)."""
        zero_grads((p for group in self.param_groups for p in group["params"]), set_to_none)

    def step(self, closure: Callable[[], Tensor] | None = None) -> Tensor | None:
        """Update every parameter that has a gradient. ``closure`` (optional) recomputes and
        returns the loss first, with its backward."""
        loss = None
        if closure is not None and not callable(closure):
            raise TypeError(f"{type(self).__name__}.step: closure must be callable (or None), not {closure!r}")
        if closure is not None:
            with enable_grad():
                loss = closure()
        tracers = self._tracers
        for tracer in tracers:
            tracer.begin_step()
        with no_grad():
            for group in self.param_groups:
                l1 = group.get("l1", 0.0)
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state.setdefault(p, {})
                    delta, record = self.update(p.data, p.grad.data, group, state)
                    p.add_(delta)  # in place: bumps p's version, so a graph that saved p refuses backward
                    if l1:
                        # the proximal step, kept as its own change so a trace can replay it
                        delta_l1 = soft_threshold(p.data, group["lr"] * l1) - p.data
                        p.add_(delta_l1)
                        record["delta_l1"] = delta_l1
                    for tracer in tracers:
                        tracer.record(self, p, {"lr": group["lr"], **record, "delta": delta})
        return loss

    def update(self, p: Any, g: Any, group: dict[str, Any], state: dict[str, Any]) -> tuple[Any, dict[str, Any]]:
        raise NotImplementedError

    @property
    def tracing(self) -> bool:
        """Whether a :func:`tinyllm.optim.trace` is recording (updates then return their quantities)."""
        return bool(self._tracers)

    # --- saving and restoring

    def state_dict(self) -> dict[str, Any]:
        """``{"state": {index: {...}}, "param_groups": [{..., "params": [index, ...]}]}``, with
        parameters numbered in group order, as PyTorch does; tensors are copies."""
        index: dict[int, int] = {}
        groups = []
        for group in self.param_groups:
            ids = []
            for p in group["params"]:
                index.setdefault(id(p), len(index))
                ids.append(index[id(p)])
            groups.append({**{k: v for k, v in group.items() if k != "params"}, "params": ids})
        state = {}
        for group in self.param_groups:
            for p in group["params"]:
                if p in self.state:
                    state[index[id(p)]] = {k: _copy(v) for k, v in self.state[p].items()}
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` saved, into an optimizer over parameters of the same shapes."""
        name = type(self).__name__
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise ValueError(f"{name}.load_state_dict: the state lacks {key!r}")
        groups = state_dict["param_groups"]
        if len(groups) != len(self.param_groups):
            raise ValueError(
                f"{name}.load_state_dict: the saved state has {len(groups)} parameter groups, "
                f"this optimizer has {len(self.param_groups)}"
            )
        by_index: dict[int, Tensor] = {}
        for i, (saved, own) in enumerate(zip(groups, self.param_groups)):
            if len(saved["params"]) != len(own["params"]):
                raise ValueError(
                    f"{name}.load_state_dict: group {i} has {len(saved['params'])} parameters in the "
                    f"saved state and {len(own['params'])} here"
                )
            by_index.update(zip(saved["params"], own["params"]))
        self.state = {}
        for k, s in state_dict["state"].items():
            if int(k) not in by_index:
                raise ValueError(
                    f"{name}.load_state_dict: the saved state has parameter {k}, but its groups list {sorted(by_index)}"
                )
            p = by_index[int(k)]
            self.state[p] = {key: _restore(v, p, key, name) for key, v in s.items()}
        for saved, own in zip(groups, self.param_groups):
            for key, value in saved.items():
                if key != "params":
                    own[key] = tuple(value) if isinstance(value, list) else value

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            n = sum(p.numel() for p in group["params"])
            settings = ", ".join(f"{k}={v}" for k, v in group.items() if k != "params")
            lines.append(f"  group {i}: {len(group['params'])} tensors, {n:,} numbers; {settings}")
        return "\n".join(lines + [")"])


def check_number(where: str, name: str, value: Any, low: float = 0.0, high: float = math.inf,
                 low_open: bool = False, high_open: bool = False) -> None:  # fmt: skip
    """Refuse a hyperparameter that is not a real number (TypeError) or lies outside its range
    (ValueError; nan always does). The high end of an unbounded range is inf, refused too."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}: {name} must be a number, not {type(value).__name__} {value!r}")
    above = low < value if low_open else low <= value
    below = value < high if high_open or high == math.inf else value <= high
    if not (above and below):
        if high == math.inf:
            valid = f"{'>' if low_open else '>='} {low:g} and finite"
        else:
            valid = f"in {'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ValueError(f"{where}: invalid {name}={value} (must be {valid})")


def soft_threshold(p: Any, tau: float) -> Any:
    """sign(p) * max(|p| - tau, 0): the proximal step of tau * |p|.

    It moves every weight toward 0 by tau and stops at exactly 0 those closer
    than tau, which a gradient step on |p| (it jumps across 0 by lr) never does.
    """
    # BEGIN SOLUTION task=penalties
    xp = backend.get_array_module(p)
    shrunk = xp.abs(p) - tau
    xp.maximum(shrunk, 0, out=shrunk)
    return xp.sign(p) * shrunk
    # END SOLUTION


def _copy(v: Any) -> Any:
    return v.copy() if hasattr(v, "copy") and hasattr(v, "shape") else v


def _restore(v: Any, p: Tensor, key: str, optimizer: str) -> Any:
    if isinstance(v, Tensor):
        v = v.data
    if not hasattr(v, "shape") or v.shape == ():
        return v.item() if hasattr(v, "item") else v
    if v.shape != p.shape:
        raise ValueError(
            f"{optimizer}.load_state_dict: state {key!r} has shape {v.shape} but its parameter has shape {p.shape}"
        )
    return backend.to_device(v, p.device).astype(p.dtype, copy=True)
