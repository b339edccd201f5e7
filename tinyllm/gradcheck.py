"""Gradient checking: compare backward's gradients with finite differences.

For a function f of tensors and a random cotangent u of the output's shape,
the scalar s(x) = sum(u * f(x)) has gradient ds/dx = backward(u). A central
difference estimates the same number from two forward passes alone:

    ds/dx_i ≈ (s(x + eps e_i) - s(x - eps e_i)) / (2 eps)

with error O(eps^2) for a smooth s — which is why checks run in float64: in
float32 the rounding error of s, about 1e-7 |s| / eps, would swamp the estimate.

Small inputs are checked element by element ("full" mode: the whole Jacobian
contracted with u); large ones along random directions d ("directions" mode:
ds/dx · d vs (s(x + eps d) - s(x - eps d)) / (2 eps)), which is much cheaper
and still catches a wrong backward with overwhelming probability.

Where s has a kink (relu at 0, abs at 0, a max with ties) the two one-sided
differences disagree and no derivative exists; such an element is reported as
KINK rather than FAIL.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import enable_grad, no_grad
from tinyllm.tensor import Tensor


class GradcheckError(AssertionError):
    """Raised by :func:`gradcheck` when an analytic gradient disagrees with the numeric one."""

    def __init__(self, report: GradcheckReport) -> None:
        self.report = report
        super().__init__(f"{report.summary()}\n{report}")


@dataclass
class GradcheckRow:
    """The check of one input: its largest errors and where the worst one is."""

    name: str
    shape: tuple[int, ...]
    mode: str
    max_abs_err: float
    max_rel_err: float
    worst_index: tuple[int, ...] | str
    numeric: float
    analytic: float
    status: str  # PASS, FAIL or KINK


@dataclass
class GradcheckReport:
    """One row per checked input, plus problems that concern the function as a whole."""

    rows: list[GradcheckRow]
    eps: float
    atol: float
    rtol: float
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when no row failed and no problem was found (KINK rows do not fail)."""
        return not self.problems and all(r.status != "FAIL" for r in self.rows)

    def summary(self) -> str:
        for r in self.rows:
            if r.status == "FAIL":
                where = r.worst_index if isinstance(r.worst_index, str) else f"index {r.worst_index}"
                return (
                    f"gradcheck failed for {r.name} at {where}: numeric {r.numeric:.6g}, "
                    f"analytic {r.analytic:.6g} (abs err {r.max_abs_err:.2e})"
                )
        if self.problems:
            return "gradcheck failed: " + "; ".join(self.problems)
        kinks = [r.name for r in self.rows if r.status == "KINK"]
        if kinks:
            return f"gradcheck passed, with kinks (no derivative) in {', '.join(kinks)}"
        return "gradcheck passed"

    def __str__(self) -> str:
        header = ("input", "shape", "mode", "max abs err", "max rel err", "worst at", "numeric", "analytic", "status")
        lines = [header] + [
            (
                r.name, str(r.shape), r.mode, f"{r.max_abs_err:.2e}", f"{r.max_rel_err:.2e}",
                str(r.worst_index), f"{r.numeric:.6g}", f"{r.analytic:.6g}", r.status,
            )
            for r in self.rows
        ]  # fmt: skip
        widths = [max(len(line[i]) for line in lines) for i in range(len(header))]
        table = ["  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip() for line in lines]
        title = f"gradcheck: float64 central differences, eps={self.eps:g}, atol={self.atol:g}, rtol={self.rtol:g}"
        return "\n".join([title, *table, *("problem: " + p for p in self.problems)])


def gradcheck(
    fn: Callable[..., Any],
    inputs: Tensor | Sequence[Any],
    *,
    eps: float = 1e-6,
    atol: float = 1e-5,
    rtol: float = 1e-3,
    mode: str = "auto",
    full_max_size: int = 128,
    n_directions: int = 6,
    params: Iterable[tuple[str, Tensor]] | Any = None,
    names: Sequence[str] | None = None,
    seed: int = 0,
    raise_on_fail: bool = True,
) -> GradcheckReport:
    """Check ``fn``'s gradients with respect to every input (and param) that requires grad.

    Args:
        fn: called as ``fn(*inputs)``; returns a tensor, or a (nested) tuple of tensors.
        inputs: the arguments; those with ``requires_grad=True`` are checked and must be float64.
        mode: ``"full"`` (every element), ``"directions"`` (random directions) or ``"auto"``
            (full for inputs of at most ``full_max_size`` elements).
        params: more tensors to check that ``fn`` uses without taking them as arguments,
            as ``(name, tensor)`` pairs or an object with ``named_parameters()`` (a module).
        names: names for the inputs in the report (default ``input 0``, ``input 1``, ...).
        seed: seeds the random cotangent and directions.
        raise_on_fail: raise :class:`GradcheckError` on failure instead of only reporting it.

    Every evaluation of ``fn`` starts from the caller's random state, so dropout draws
    the same mask each time; the caller's state is restored afterwards.
    """
    if not callable(fn):
        raise TypeError(f"gradcheck: fn must be callable, not {fn!r}")
    for name, value, low in (("eps", eps, 0.0), ("atol", atol, None), ("rtol", rtol, None)):
        positive = low is not None
        if (isinstance(value, bool) or not isinstance(value, (int, float))
                or not (0 < value < math.inf if positive else 0 <= value < math.inf)):  # fmt: skip
            raise ValueError(f"gradcheck: {name} must be a number {'> 0' if positive else '>= 0'} and finite, "
                             f"not {value!r}")  # fmt: skip
    for name, value, least in (("full_max_size", full_max_size, 0), ("n_directions", n_directions, 1),
                               ("seed", seed, 0)):  # fmt: skip
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValueError(f"gradcheck: {name} must be an integer >= {least}, not {value!r}")
    if mode not in ("auto", "full", "directions"):
        raise ValueError(f"gradcheck: mode must be 'auto', 'full' or 'directions', got {mode!r}")
    args = [inputs] if isinstance(inputs, Tensor) else list(inputs)
    names = list(names) if names is not None else [f"input {i}" for i in range(len(args))]
    if len(names) != len(args):
        raise ValueError(f"gradcheck: {len(names)} names for {len(args)} inputs")
    checked = [(n, a) for n, a in zip(names, args) if isinstance(a, Tensor) and a.requires_grad]
    if params is not None:
        pairs = params.named_parameters() if hasattr(params, "named_parameters") else params
        checked += [(n, p) for n, p in pairs if p.requires_grad]
    if not checked:
        raise ValueError("gradcheck: no input requires grad, so there is nothing to check")
    for name, t in checked:
        if t.dtype != backend.float64:
            raise TypeError(
                f"gradcheck: {name} has dtype {t.dtype}; check in float64 (.double()), since "
                "float32 rounding swamps finite differences"
            )
        if not t.is_leaf:  # backward would not stop at it, and its .grad would stay empty
            raise ValueError(
                f"gradcheck: {name} was computed by an op ({type(t.grad_fn).__name__}); pass a leaf "
                "tensor instead, e.g. x.detach().requires_grad_()"
            )

    rng_state = backend.get_rng_state()
    saved_grads = [t.grad for _, t in checked]
    originals = [t.data for _, t in checked]
    for _, t in checked:  # work on private contiguous copies; the originals come back at the end
        t.data = t.data.copy()
    snapshots = [(n, a, a.data.copy()) for n, a in zip(names, args) if isinstance(a, Tensor)]
    try:
        return _check(fn, args, checked, snapshots, rng_state, eps, atol, rtol, mode,
                      full_max_size, n_directions, seed, raise_on_fail)  # fmt: skip
    finally:
        for (_, t), original, grad in zip(checked, originals, saved_grads):
            t.data, t.grad = original, grad
        backend.set_rng_state(rng_state)


def _outputs(result: Any) -> list[Tensor]:
    """The tensors in a (nested) tuple or list result, depth first."""
    if isinstance(result, Tensor):
        return [result]
    if isinstance(result, (tuple, list)):
        return [t for r in result for t in _outputs(r)]
    raise TypeError(f"gradcheck: fn must return tensors, got {type(result).__name__}")


def _check(
    fn: Callable[..., Any], args: list[Any], checked: list[tuple[str, Tensor]], snapshots: list[Any],
    rng_state: Any, eps: float, atol: float, rtol: float, mode: str, full_max_size: int,
    n_directions: int, seed: int, raise_on_fail: bool,
) -> GradcheckReport:  # fmt: skip
    rng = numpy.random.default_rng(seed)

    def run() -> list[Tensor]:
        backend.set_rng_state(rng_state)
        return _outputs(fn(*args))

    with no_grad():
        outs = run()
    cotangents = [
        backend.to_device(numpy.asarray(rng.standard_normal(o.shape)), o.device)
        if backend.is_floating(o.dtype)
        else None
        for o in outs
    ]

    def s() -> float:
        """The scalar sum(u * f(x)) whose gradient is checked."""
        with no_grad():
            return float(sum((o.data * u).sum() for o, u in zip(run(), cotangents) if u is not None))

    def analytic() -> list[Any]:
        for _, t in checked:
            t.grad = None
        with enable_grad():
            for o, u in zip(run(), cotangents):
                if u is not None and o.requires_grad:
                    o.backward(Tensor(u.astype(o.dtype, copy=False)), retain_graph=True)
        xp = backend.get_array_module(checked[0][1].data)
        return [t.grad.data.copy() if t.grad is not None else xp.zeros_like(t.data) for _, t in checked]

    grads = analytic()
    problems = []
    if any(not _same(a, b) for a, b in zip(grads, analytic())):
        problems.append("a second backward gave different gradients (is the function deterministic?)")

    s0 = s()
    rows = []
    for (name, t), g in zip(checked, grads):
        use_full = mode == "full" or (mode == "auto" and t.data.size <= full_max_size)
        if use_full:
            rows.append(_check_elements(name, t, g, s, s0, eps, atol, rtol))
        else:
            rows.append(_check_directions(name, t, g, s, s0, eps, atol, rtol, n_directions, rng))

    for name, a, before in snapshots:
        if not _same(a.data, before):
            problems.append(f"fn modified {name} in place")

    report = GradcheckReport(rows, eps, atol, rtol, problems)
    if raise_on_fail and not report.passed:
        raise GradcheckError(report)
    return report


def _same(a: Any, b: Any) -> bool:
    return bool(backend.get_array_module(a).array_equal(a, b, equal_nan=True))


def _compare(
    name: str, shape: tuple[int, ...], mode: str, numeric: numpy.ndarray, analytic: numpy.ndarray,
    left: numpy.ndarray, right: numpy.ndarray, where: Callable[[int], Any], atol: float, rtol: float,
) -> GradcheckRow:  # fmt: skip
    """A report row from the numeric and analytic values (and one-sided slopes) at each probe."""
    err = numpy.abs(numeric - analytic)
    tol = atol + rtol * numpy.abs(numeric)
    bad = ~(err <= tol)  # a NaN gradient is bad too (NaN > tol would say it is not)
    kink = numpy.abs(right - left) > atol + rtol * numpy.maximum(numpy.abs(left), numpy.abs(right))
    worst = int(numpy.argmax(err / tol)) if err.size else 0
    status = "PASS" if not bad.any() else "KINK" if kink[bad].all() else "FAIL"
    if err.size == 0:
        return GradcheckRow(name, shape, mode, 0.0, 0.0, "-", 0.0, 0.0, "PASS")
    rel = err / numpy.maximum(numpy.abs(numeric), numpy.finfo(numpy.float64).tiny)
    return GradcheckRow(
        name, shape, mode, float(err.max()), float(rel.max()), where(worst),
        float(numeric[worst]), float(analytic[worst]), status,
    )  # fmt: skip


def _check_elements(
    name: str, t: Tensor, grad: Any, s: Callable[[], float], s0: float, eps: float, atol: float, rtol: float
) -> GradcheckRow:
    flat = t.data.reshape(-1)  # a view: t.data is a private contiguous copy
    n = flat.size
    plus, minus = numpy.empty(n), numpy.empty(n)
    for i in range(n):
        x_i = float(flat[i])
        flat[i] = x_i + eps
        plus[i] = s()
        flat[i] = x_i - eps
        minus[i] = s()
        flat[i] = x_i
    numeric = (plus - minus) / (2 * eps)
    analytic = backend.to_device(grad, backend.CPU).reshape(-1).astype(numpy.float64)
    left, right = (s0 - minus) / eps, (plus - s0) / eps
    shape = t.shape
    return _compare(name, shape, "full", numeric, analytic, left, right,
                    lambda i: tuple(int(k) for k in numpy.unravel_index(i, shape)), atol, rtol)  # fmt: skip


def _check_directions(
    name: str, t: Tensor, grad: Any, s: Callable[[], float], s0: float, eps: float, atol: float,
    rtol: float, n_directions: int, rng: numpy.random.Generator,
) -> GradcheckRow:  # fmt: skip
    x = t.data.copy()
    g = backend.to_device(grad, backend.CPU)
    plus, minus, analytic = (numpy.empty(n_directions) for _ in range(3))
    for j in range(n_directions):
        d = rng.standard_normal(t.shape)
        d /= numpy.linalg.norm(d)
        d_dev = backend.to_device(d, t.device)
        t.data[...] = x + eps * d_dev
        plus[j] = s()
        t.data[...] = x - eps * d_dev
        minus[j] = s()
        analytic[j] = float((g * d).sum())
    t.data[...] = x
    numeric = (plus - minus) / (2 * eps)
    left, right = (s0 - minus) / eps, (plus - s0) / eps
    return _compare(name, t.shape, "directions", numeric, analytic, left, right,
                    lambda j: f"direction {j}", atol, rtol)  # fmt: skip
