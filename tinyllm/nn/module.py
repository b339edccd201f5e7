"""Module and Parameter: how a model keeps its weights, sub-models and mode.

A :class:`Module` is a callable object with a ``forward``. Assigning a
:class:`Parameter` or another Module to one of its attributes *registers* it, so
``model.parameters()`` finds every weight of every sub-model, ``model.train()``
reaches every dropout layer, and ``model.state_dict()`` names every weight by
its dotted path (``"lstm.weight_ih_l0"``). Names and behaviour follow PyTorch's
``torch.nn.Module``; a model written for one reads the same in the other.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping
from typing import Any, NamedTuple, TypeVar

import numpy

from tinyllm import backend
from tinyllm.autograd import no_grad, zero_grads
from tinyllm.backend import Device
from tinyllm.tensor import Tensor

M = TypeVar("M", bound="Module")


class Parameter(Tensor):
    """A tensor that is a model's weight: a leaf that requires grad, registered by its Module."""

    __slots__ = ()

    def __init__(self, data: Any, requires_grad: bool = True) -> None:
        super().__init__(data.data if isinstance(data, Tensor) else data, requires_grad=requires_grad)

    def __repr__(self) -> str:
        return "Parameter containing:\n" + super().__repr__()


class IncompatibleKeys(NamedTuple):
    missing_keys: list[str]
    unexpected_keys: list[str]


class Module:
    """Base class of every layer and model.

    A subclass sets its parameters and sub-modules as attributes in ``__init__``
    (after ``super().__init__()``) and computes its output in ``forward``; call
    the module itself, ``model(x)``, which runs ``forward``.
    """

    training: bool

    def __init__(self) -> None:
        d = self.__dict__
        d["training"] = True
        d["_parameters"] = OrderedDict()
        d["_buffers"] = OrderedDict()
        d["_non_persistent"] = set()
        d["_modules"] = OrderedDict()

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward method")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.forward(*args, **kwargs)

    # --- registration: parameters, buffers and sub-modules live in ordered dicts
    # and, for fast attribute access, in the instance __dict__ too.

    def __setattr__(self, name: str, value: Any) -> None:
        d = self.__dict__
        if "_parameters" not in d:
            raise AttributeError(f"{type(self).__name__}: call super().__init__() before setting attributes")
        params, modules, buffers = d["_parameters"], d["_modules"], d["_buffers"]
        if isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to parameter {name!r} of "
                    f"{type(self).__name__} (a tl.nn.Parameter or None is expected)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign a {type(value).__name__} to sub-module {name!r} of "
                    f"{type(self).__name__} (a Module or None is expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(f"buffer {name!r} must be a Tensor or None, not {type(value).__name__}")
            buffers[name] = value
        d[name] = value

    def __delattr__(self, name: str) -> None:
        self._forget(name)
        object.__delattr__(self, name)

    def _forget(self, name: str) -> None:
        for key in ("_parameters", "_modules", "_buffers"):
            self.__dict__[key].pop(name, None)
        self._non_persistent.discard(name)

    def register_parameter(self, name: str, param: Parameter | None) -> None:
        if param is None:
            self._forget(name)
            self._parameters[name] = None
            self.__dict__[name] = None
        elif not isinstance(param, Parameter):
            raise TypeError(
                f"register_parameter: {name!r} of {type(self).__name__} must be a tl.nn.Parameter "
                f"or None, not {type(param).__name__}"
            )
        else:
            setattr(self, name, param)

    def register_buffer(self, name: str, tensor: Tensor | None, persistent: bool = True) -> None:
        """A tensor that belongs to the module's state but is not trained (moves with ``to``)."""
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent.add(name)
        self.__dict__[name] = tensor

    def register_module(self, name: str, module: Module | None) -> None:
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"register_module: {name!r} must be a Module or None, not {type(module).__name__}")
        if not isinstance(name, str) or "." in name or not name:
            raise KeyError(f"register_module: a module name must be a non-empty string without '.', not {name!r}")
        self._forget(name)
        self._modules[name] = module
        self.__dict__[name] = module

    add_module = register_module

    # --- walking the tree

    def named_modules(self, prefix: str = "", memo: set[int] | None = None) -> Iterator[tuple[str, Module]]:
        """This module and every sub-module, each once, with its dotted name ("" for self)."""
        memo = set() if memo is None else memo
        if id(self) in memo:
            return
        memo.add(id(self))
        yield prefix, self
        for name, child in self._modules.items():
            if child is not None:
                yield from child.named_modules(f"{prefix}.{name}" if prefix else name, memo)

    def modules(self) -> Iterator[Module]:
        for _, m in self.named_modules():
            yield m

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, child in self._modules.items():
            if child is not None:
                yield name, child

    def children(self) -> Iterator[Module]:
        for _, child in self.named_children():
            yield child

    def named_parameters(self, prefix: str = "", recurse: bool = True) -> Iterator[tuple[str, Parameter]]:
        """Every parameter with its dotted name; a parameter shared by two modules (tied
        weights) comes once, under its first name."""
        seen: set[int] = set()
        modules = self.named_modules(prefix) if recurse else iter([(prefix, self)])
        for mod_name, module in modules:
            for name, p in module._parameters.items():
                if p is None or id(p) in seen:
                    continue
                seen.add(id(p))
                yield (f"{mod_name}.{name}" if mod_name else name), p

    def parameters(self, recurse: bool = True) -> Iterator[Parameter]:
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        for mod_name, module in self.named_modules(prefix):
            for name, b in module._buffers.items():
                if b is not None:
                    yield (f"{mod_name}.{name}" if mod_name else name), b

    def buffers(self) -> Iterator[Tensor]:
        for _, b in self.named_buffers():
            yield b

    def apply(self: M, fn: Callable[[Module], None]) -> M:
        """Call ``fn`` on every sub-module (children first) and then on this module."""
        for child in self.children():
            child.apply(fn)
        fn(self)
        return self

    # --- mode and gradients

    def train(self: M, mode: bool = True) -> M:
        """Training mode (dropout active) for this module and all below it."""
        for m in self.modules():
            m.__dict__["training"] = mode
        return self

    def eval(self: M) -> M:
        """Evaluation mode: dropout becomes the identity. Same as ``train(False)``."""
        return self.train(False)

    def requires_grad_(self: M, requires_grad: bool = True) -> M:
        """Freeze (False) or unfreeze every parameter."""
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none: bool = True) -> None:
        zero_grads(self.parameters(), set_to_none)

    # --- devices and dtypes

    def to(self: M, target: str | Device | Any) -> M:
        """Move every parameter and buffer to a device (``"cuda"``) or convert floating ones to a
        dtype (``tl.float64``), in place: the Parameter objects stay the same, so an optimizer
        made before still holds them."""
        if isinstance(target, (str, Device)):
            dev = backend.as_device(target)

            def convert(a: Any) -> Any:
                return backend.to_device(a, dev)
        else:
            dtype = numpy.dtype(target)
            if not backend.is_floating(dtype):
                raise TypeError(
                    f"{type(self).__name__}.to: a module converts to a floating dtype, not {dtype} "
                    "(integer weights cannot require gradients)"
                )

            def convert(a: Any) -> Any:
                return a.astype(dtype) if backend.is_floating(a.dtype) else a

        for t in [*self.parameters(), *self.buffers()]:
            t.data = convert(t.data)
            if t.grad is not None:
                t.grad.data = convert(t.grad.data)
        return self

    def cpu(self: M) -> M:
        return self.to("cpu")

    def cuda(self: M) -> M:
        return self.to("cuda")

    def double(self: M) -> M:
        return self.to(numpy.float64)

    def float(self: M) -> M:
        return self.to(numpy.float32)

    # --- state dicts

    def state_dict(self) -> OrderedDict[str, Tensor]:
        """Every parameter and persistent buffer by dotted name, as detached tensors that share
        memory with the model (save them, or copy them into another model)."""
        out: OrderedDict[str, Tensor] = OrderedDict()
        for key, t in self._named_state():
            out[key] = t.detach()
        return out

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True) -> IncompatibleKeys:
        """Copy values into this model's parameters and buffers, by name.

        Each value is copied into the existing tensor (the Parameter objects stay
        the same) and converted to its dtype and device. Raises a RuntimeError that
        lists every shape mismatch and, when ``strict``, every missing and
        unexpected key; with ``strict=False`` returns those keys instead.
        """
        if not isinstance(state_dict, Mapping):
            raise TypeError(
                f"load_state_dict: expected a mapping of names to tensors, got {type(state_dict).__name__}"
            )
        own = dict(self._named_state())
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        problems = []
        for key, target in own.items():
            if key not in state_dict:
                continue
            value = state_dict[key]
            kind = getattr(getattr(value, "dtype", None), "kind", "f")  # a torch dtype has no kind
            if not hasattr(value, "shape") or kind not in ("f", "i", "u", "b"):
                problems.append(
                    f"value for {key} is a {type(value).__name__}"
                    + (f" of dtype {value.dtype}" if hasattr(value, "dtype") else "")
                    + ", not a numeric tensor or array"
                )
                continue
            shape = tuple(value.shape)
            if shape != target.shape:
                problems.append(
                    f"size mismatch for {key}: the checkpoint has shape {shape}, "
                    f"the model has shape {target.shape}"
                )
        if strict:
            if missing:
                problems.insert(0, "missing key(s): " + ", ".join(missing))
            if unexpected:
                problems.insert(len(missing) > 0, "unexpected key(s): " + ", ".join(unexpected))
        if problems:
            raise RuntimeError(
                f"error(s) in loading state_dict for {type(self).__name__}:\n  " + "\n  ".join(problems)
            )
        with no_grad():
            for key, target in own.items():
                if key in state_dict:
                    value = state_dict[key]
                    array = value.data if isinstance(value, Tensor) else numpy.asarray(value)
                    target.copy_(backend.to_device(array, target.device).astype(target.dtype, copy=False))
        return IncompatibleKeys(missing, unexpected)

    def _named_state(self, prefix: str = "") -> Iterator[tuple[str, Tensor]]:
        # Every path to every tensor, as in PyTorch: a sub-module used twice is saved under
        # both names, so checkpoints keep the same keys in either library.
        for name, p in self._parameters.items():
            if p is not None:
                yield prefix + name, p
        for name, b in self._buffers.items():
            if b is not None and name not in self._non_persistent:
                yield prefix + name, b
        for name, child in self._modules.items():
            if child is not None:
                yield from child._named_state(f"{prefix}{name}.")

    # --- printing

    def extra_repr(self) -> str:
        """The constructor arguments shown in ``repr``; layers override it."""
        return ""

    def num_parameters(self) -> int:
        """How many numbers the model learns (shared weights counted once)."""
        return sum(p.numel() for p in self.parameters())

    def __repr__(self) -> str:
        return self._repr(top=True)

    def _repr(self, top: bool = False) -> str:
        n = self.num_parameters()
        count = f"  # {n:,} parameters" if n and (top or self._modules) else ""
        extra = self.extra_repr()
        if not self._modules:
            head = f"{type(self).__name__}({extra})"
            return head + (count if top else "")
        lines = [f"{type(self).__name__}({count}"]
        if extra:
            lines.append(f"  {extra}")
        for name, child in self._modules.items():
            body = child._repr() if child is not None else "None"
            if child is not None and not child._modules:
                m = child.num_parameters()
                body += f"  # {m:,}" if m else ""
            body = body.replace("\n", "\n  ")
            lines.append(f"  ({name}): {body}")
        lines.append(")")
        return "\n".join(lines)
