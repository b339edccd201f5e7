"""Autograd: how tinyllm turns a forward computation into gradients.

Every op on tensors that require gradients records a :class:`Function` node: the
node keeps what its ``backward`` will need and links to its input tensors; its
outputs point back at it through ``tensor.grad_fn``. These links form a graph,
built as the code runs ("define by run").

``loss.backward()`` walks that graph from ``loss`` back to the leaves (tensors
made by the user, such as weights) in reverse topological order: a node runs only
after every node that used its outputs, so the gradient reaching it is complete.
At each node the chain rule is one call: ``backward`` turns dL/d(output) into
dL/d(input) for each input. Leaves add what reaches them to ``.grad``.

The walk is iterative (no recursion limit, any depth), and before anything is
accumulated it checks that every node can still run: that no tensor it saved was
changed in place since (each tensor has a version counter, bumped by every in-place
op), and that the graph was not already freed by an earlier backward.

Grad mode: under ``with no_grad():`` ops record nothing (evaluation, optimizer
steps); :func:`is_grad_enabled` tells which mode is on.
"""

from __future__ import annotations

import functools
import weakref
from collections.abc import Callable, Iterable
from typing import Any, TypeVar

import numpy

from tinyllm import backend

_HOST = {numpy.ndarray}  # the type of host arrays, checked on every op
F = TypeVar("F", bound=Callable[..., Any])

# ----------------------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    """Whether ops now record a graph (False inside ``no_grad``)."""
    return _grad_enabled


class _GradMode:
    """Switch graph recording for a ``with`` block or, used as a decorator, for a function."""

    mode: bool

    def __enter__(self) -> None:
        global _grad_enabled
        self.prev, _grad_enabled = _grad_enabled, self.mode

    def __exit__(self, *exc: object) -> None:
        global _grad_enabled
        _grad_enabled = self.prev

    def __call__(self, func: F) -> F:
        mode = self.mode

        @functools.wraps(func)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with set_grad_enabled(mode):
                return func(*args, **kwargs)

        return wrapper  # type: ignore[return-value]


class no_grad(_GradMode):
    """``with tl.no_grad():`` — ops inside record no graph (evaluation, optimizer steps)."""

    mode = False


class enable_grad(_GradMode):
    """``with tl.enable_grad():`` — record a graph again inside a ``no_grad`` block."""

    mode = True


class inference_mode(_GradMode):
    """``with tl.inference_mode():`` or ``@tl.inference_mode()`` — in tinyllm, the same as ``no_grad``.

    PyTorch's inference mode goes further than no_grad for speed: it stops counting
    versions and marks the tensors made inside as unusable in a graph later. tinyllm
    keeps only the part that matters for results, recording no graph.
    ``inference_mode(False)`` records again, as in PyTorch; a bare ``@tl.inference_mode``
    works as a decorator too.
    """

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @tl.inference_mode without parentheses: mode is the function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = not mode


class set_grad_enabled(_GradMode):
    """``tl.set_grad_enabled(False)`` switches at once; as a context manager it restores on exit."""

    def __init__(self, mode: bool) -> None:
        global _grad_enabled
        self.mode = mode
        self.prev, _grad_enabled = _grad_enabled, mode

    def __enter__(self) -> None:
        pass

    def __call__(self, func: F) -> F:
        global _grad_enabled
        _grad_enabled = self.prev  # used as a decorator: switch only while func runs
        return super().__call__(func)


# ----------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation: ``forward`` on arrays, ``backward`` beside it.

    A subclass implements

    - ``forward(self, *arrays, **params) -> array``: compute the output and keep on
      ``self`` whatever ``backward`` will need;
    - ``backward(self, grad_out) -> array | tuple``: given dL/d(output), return
      dL/d(input) for each input (``None`` for one that needs none), each with
      that input's shape.

    ``Op.apply(*tensors, **params)`` runs ``forward`` and, when a graph is being
    recorded and some input requires grad, links the output to this node.

    A node may have several outputs (an LSTM returns its outputs and its final
    states): ``forward`` returns a tuple, ``apply`` returns a tuple of tensors, and
    ``backward(*grads_out)`` receives one gradient per output, ``None`` for an
    output that no path to the loss used.
    """

    #: The input tensors, in order (None once backward has freed the node).
    inputs: tuple[Tensor, ...] | None
    versions: tuple[int, ...]
    out_versions: tuple[int, ...]
    #: Non-leaf outputs that asked for ``retain_grad()``, by output index (weak references).
    retained: dict[int, Any] | None = None
    n_outputs: int = 1
    released: bool = False
    #: True for ops whose outputs are views of input 0's memory (reshape, permute, unbind, ...):
    #: they then share one version counter, so an in-place change through any of them shows.
    shares_memory: bool = False

    def forward(self, *arrays: Any, **params: Any) -> Any:
        raise NotImplementedError

    def backward(self, grad_out: Any) -> Any:
        raise NotImplementedError

    @classmethod
    def apply(cls, *inputs: Tensor, **params: Any) -> Any:
        arrays = [t.data for t in inputs]
        if len(arrays) > 1 and {type(a) for a in arrays} != _HOST:  # all on the host: nothing to check
            backend.check_same_device(arrays, cls.__name__)
        fn = cls()
        result = fn.forward(*arrays, **params)
        many = type(result) is tuple
        outs = tuple([from_array(r) for r in result]) if many else (from_array(result),)
        if cls.shares_memory:
            for out in outs:  # views of input 0 (unbind gives several): one version counter for all
                out._vc = inputs[0]._vc
        if _grad_enabled:
            for t in inputs:
                if t._requires_grad:
                    for i, out in enumerate(outs):
                        out._requires_grad = True  # the slot, not the checking setter: this runs for every op
                        out.grad_fn = fn
                        out.output_nr = i
                    fn.inputs = inputs
                    fn.versions = tuple([i._vc[0] for i in inputs])
                    # fresh outputs start at version 0; views carry input 0's counter
                    fn.out_versions = (fn.versions[0] if cls.shares_memory else 0,) * len(outs)
                    fn.n_outputs = len(outs)
                    break
        return outs if many else outs[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__}Backward>"

    def needs_grad(self, i: int) -> bool:
        """Whether input ``i`` wants a gradient (lets backward skip needless work)."""
        return self.inputs[i]._requires_grad  # type: ignore[index]

    def release(self) -> None:
        """Drop the saved arrays and the links to the inputs, once backward is done with them."""
        self.__dict__.clear()
        self.inputs = None
        self.released = True


# ----------------------------------------------------------------------------- the backward walk


def topological_order(root: Tensor) -> list[Function]:
    """Every node that ``root`` depends on through a recorded graph, inputs before outputs.

    ``reversed(topological_order(loss))`` is the order in which ``loss.backward()``
    runs the nodes. An iterative depth-first search, so graphs of any depth work (no
    recursion limit). It also checks, before anything is accumulated, that each node
    can still run its backward.
    """
    if root.grad_fn is None:
        return []
    _check_output_unchanged(root)
    # BEGIN SOLUTION task=backward
    order: list[Function] = []
    visited: set[Function] = set()  # Functions hash by identity
    stack: list[tuple[Function, bool]] = [(root.grad_fn, False)]
    while stack:
        fn, children_done = stack.pop()
        if children_done:
            order.append(fn)
            continue
        if fn in visited:
            continue
        visited.add(fn)
        stack.append((fn, True))
        if fn.released or tuple([t._vc[0] for t in fn.inputs]) != fn.versions:  # type: ignore[union-attr]
            _check_can_backward(fn)  # raises, saying what is wrong
        for inp in fn.inputs:  # type: ignore[union-attr]
            inp_fn = inp.grad_fn
            if inp_fn is not None and inp._requires_grad:
                if not inp_fn.released and inp._vc[0] != inp_fn.out_versions[inp.output_nr]:
                    _check_output_unchanged(inp)
                if inp_fn not in visited:
                    stack.append((inp_fn, False))
    return order
    # END SOLUTION


def _check_can_backward(fn: Function) -> None:
    name = type(fn).__name__
    if fn.released:
        raise RuntimeError(
            f"backward through a graph a second time: {name}'s saved arrays were freed by the "
            "first backward. Pass retain_graph=True to the first backward if you need a second"
        )
    for i, (t, v) in enumerate(zip(fn.inputs, fn.versions)):  # type: ignore[arg-type]
        if t._vc[0] != v:
            raise RuntimeError(
                f"backward of {name}: its input {i} (shape {t.shape}, dtype {t.dtype}) was "
                f"modified in place after {name} used it (version {t._vc[0]}, was {v}); "
                "the gradient would be wrong. Modify a copy (.clone()) or change it after backward"
            )


def _check_output_unchanged(out: Tensor) -> None:
    fn = out.grad_fn
    if fn is not None and not fn.released and out._vc[0] != fn.out_versions[out.output_nr]:
        raise RuntimeError(
            f"backward of {type(fn).__name__}: its output (shape {out.shape}) was modified in "
            "place; the gradient would be wrong. Modify a copy (.clone()) instead"
        )


def backward(root: Tensor, grad: Tensor | Any | None = None, retain_graph: bool = False) -> None:
    """Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

    ``grad`` (a tensor or array shaped like ``root``) is the gradient of some final
    scalar with respect to ``root``; it may be omitted only when ``root`` holds one
    element, and then is 1. Without ``retain_graph`` each node is freed as soon as it
    has run, so its saved arrays do not outlive the backward pass.
    """
    if not root.requires_grad:
        raise RuntimeError(
            "backward: this tensor does not require grad and has no graph; set "
            "requires_grad=True on the inputs, and do not compute it under tl.no_grad()"
        )
    if grad is None:
        if root.data.size != 1:
            raise RuntimeError(
                f"backward: grad can be omitted only for a one-element output, but this "
                f"tensor has shape {root.shape}; reduce it first (e.g. .sum()) or pass "
                f"grad= with shape {root.shape}"
            )
        grad = backend.get_array_module(root.data).ones(root.shape, dtype=root.dtype)
    else:
        grad = grad.data if isinstance(grad, Tensor) else grad
        if not hasattr(grad, "shape") or grad.shape != root.shape:
            raise RuntimeError(
                f"backward: grad has shape {getattr(grad, 'shape', type(grad).__name__)} "
                f"but the tensor has shape {root.shape}"
            )
        backend.check_same_device([root.data, grad], "backward")
    # Arrays already stored where the user can reach them (.grad, or the grad they
    # passed in): a second leaf that receives the same array gets a copy, so an
    # in-place update of one .grad never changes another.
    handed_out: set[int] = {id(grad)}
    if root.grad_fn is None:
        _accumulate_grad(root, grad, handed_out)
        return
    # BEGIN SOLUTION task=backward
    order = topological_order(root)
    grads: dict[Function, list[Any]] = {root.grad_fn: [None] * root.grad_fn.n_outputs}  # per node, per output
    grads[root.grad_fn][root.output_nr] = grad
    leaves: dict[int, tuple[Tensor, Any]] = {}
    for fn in reversed(order):
        out_grads = grads.pop(fn, None)
        if out_grads is None:
            continue
        if fn.retained:
            for i, ref in fn.retained.items():
                t = ref()
                if t is not None and out_grads[i] is not None:
                    _accumulate_grad(t, out_grads[i], handed_out)
        in_grads = fn.backward(*out_grads)
        if type(in_grads) is not tuple:
            in_grads = (in_grads,)
        for i, (inp, ig) in enumerate(zip(fn.inputs, in_grads)):  # type: ignore[arg-type]
            if ig is None or not inp._requires_grad:
                continue
            data = inp.data
            if ig.shape != data.shape:
                raise RuntimeError(
                    f"{type(fn).__name__}.backward returned a gradient of shape {ig.shape} "
                    f"for input {i}, whose shape is {data.shape}"
                )
            if ig.dtype is not data.dtype and ig.dtype != data.dtype:  # float32 mixed with float64 in one op
                ig = ig.astype(data.dtype)
            inp_fn = inp.grad_fn
            if inp_fn is None:
                prev = leaves.get(id(inp))
                leaves[id(inp)] = (inp, ig if prev is None else prev[1] + ig)
                continue
            slots = grads.get(inp_fn)
            if slots is None:
                slots = grads[inp_fn] = [None] * inp_fn.n_outputs
            prev = slots[inp.output_nr]
            slots[inp.output_nr] = ig if prev is None else prev + ig
        if not retain_graph:
            fn.release()
    for leaf, g in leaves.values():
        _accumulate_grad(leaf, g, handed_out)
    # END SOLUTION


def _accumulate_grad(t: Tensor, g: Any, handed_out: set[int]) -> None:
    if t.grad is not None:
        t.grad.data = as_array(t.grad.data + g)
        return
    if id(g) in handed_out or g.base is not None:  # handed out already, or a view of another array
        g = g.copy()
    handed_out.add(id(g))
    t.grad = from_array(g)


def retain_grad(t: Tensor) -> None:
    """Ask the walk to store the gradient reaching the non-leaf ``t`` in ``t.grad`` too."""
    fn = t.grad_fn
    if fn is not None:
        if fn.retained is None:
            fn.retained = {}
        fn.retained[t.output_nr] = weakref.ref(t)


def zero_grads(params: Iterable[Tensor], set_to_none: bool = True) -> None:
    """Forget the gradients (they accumulate across backward calls otherwise): drop them, or
    fill them with zeros in place."""
    for p in params:
        if p.grad is None:
            continue
        if set_to_none:
            p.grad = None
        else:
            p.grad.data[...] = 0


# Tensor and autograd need each other: each imports the other at its end, once its own
# names exist, so either may be imported first.
from tinyllm.tensor import Tensor, as_array, from_array  # noqa: E402
