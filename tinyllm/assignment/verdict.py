"""The grader's side of a check: read what a probe saw, and compare it with the reference.

Everything here reads the child's messages as untrusted data: a line that is not JSON,
an array whose bytes do not match its shape or whose dtype is not a plain number type,
more bytes than a check could need — each ends the report there, and the checks it
did not finish score 0. A verdict is the parent's alone: the child's report says what
values the package computed, and the reference's report (same probes, same seed, on
the instructor's package) says what they should be.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: The array types a probe may report: numbers and booleans, never objects.
DTYPES = {np.dtype(t).str for t in ("bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32",
                                    "uint64", "float16", "float32", "float64")}  # fmt: skip
#: How close a value must be to the reference's, by stage and dtype: (rtol, atol).
TOLERANCES = {"float64": (1e-6, 1e-9), "float32": (1e-4, 1e-5), "float16": (1e-2, 1e-3)}
TRAINING = (5e-2, 1e-3)  # atol is relative to the largest reference value of the check


class ReportError(ValueError):
    """The child's messages are not what the runner sends: the report stops being read here."""


@dataclass
class Observation:
    label: str
    value: Any


@dataclass
class Run:
    """What one child reported: its observations per check, and how each check ended."""

    observations: dict[str, list[Observation]] = field(default_factory=dict)
    ended: dict[str, str] = field(default_factory=dict)  # check -> "" (finished) or the error it raised
    warnings: list[str] = field(default_factory=list)
    setup_error: str | None = None
    done: bool = False
    broken: str | None = None  # why the rest of the report was not read


def decode(value: Any) -> Any:
    """A reported value back from JSON: arrays checked against their dtype and shape."""
    if isinstance(value, dict):
        if set(value) != {"dtype", "shape", "data"}:
            raise ReportError("an array without exactly dtype, shape and data")
        dtype, shape, data = value["dtype"], value["shape"], value["data"]
        if dtype not in DTYPES:
            raise ReportError(f"an array of dtype {dtype!r}, which is not a number type")
        if not (isinstance(shape, list) and all(isinstance(n, int) and 0 <= n < 2**31 for n in shape)):
            raise ReportError(f"an array of shape {shape!r}")
        try:
            raw = base64.b64decode(data, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise ReportError("an array whose data is not base64") from None
        if len(raw) != math.prod(shape) * np.dtype(dtype).itemsize:
            raise ReportError(f"an array of shape {shape} and dtype {dtype} with {len(raw)} bytes")
        return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape)
    if isinstance(value, list):
        return [decode(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    raise ReportError(f"a value of type {type(value).__name__}")


def read_run(lines: list[bytes]) -> Run:
    """Parse the child's messages, one JSON object per line, in the order the runner sends them."""
    run, current = Run(), None
    for number, line in enumerate(lines, 1):
        try:
            message = json.loads(line)
            if not isinstance(message, dict) or len(message) != 1 and set(message) != {"label", "value"}:
                raise ReportError("a message that is not one of the runner's")
            if "check" in message:
                current = str(message["check"])
                run.observations.setdefault(current, [])
            elif "label" in message:
                if current is None or current in run.ended:
                    raise ReportError("an observation outside a check")
                run.observations[current].append(Observation(str(message["label"]), decode(message["value"])))
            elif "end" in message or "error" in message:
                if current is None or current in run.ended:
                    raise ReportError("the end of a check that was not running")
                run.ended[current] = "" if "end" in message else str(message["error"])[:2000]
            elif "warning" in message:
                run.warnings.append(str(message["warning"])[:500])
            elif "setup_error" in message:
                run.setup_error = str(message["setup_error"])[:2000]
            elif message.get("done") is True:
                run.done = True
            else:
                raise ReportError("a message that is not one of the runner's")
        except (ValueError, RecursionError) as e:
            run.broken = f"message {number}: {e if isinstance(e, ReportError) else 'not JSON'}"
            break
    return run


def compare(stage: str, reference: list[Observation], got: list[Observation], error: str | None) -> str:
    """What differs first between ``got`` and ``reference``, in one line; empty when they match label by label.

    ``error`` is how the child's check ended ("" finished, a message if it raised, None if
    it never ended: the process died or was killed).
    """
    scale = max((_largest(o.value) for o in reference), default=0.0)
    for i, ref in enumerate(reference):
        if i >= len(got):
            if error:
                return f"{ref.label}: {error}"
            return f"{ref.label}: no value (the check stopped before it)"
        if got[i].label != ref.label:
            return f"expected a value for {ref.label!r}, got one for {got[i].label!r}"
        problem = _differs(ref.value, got[i].value, stage, scale)
        if problem:
            return f"{ref.label}: {problem}"
    if len(got) > len(reference):
        return f"more values than the check takes ({len(got)}, expected {len(reference)})"
    if error is None:
        return "the check did not finish"
    return f"raised after its last value: {error}" if error else ""


def _largest(value: Any) -> float:
    if isinstance(value, np.ndarray) and value.dtype.kind == "f" and value.size:
        finite = value[np.isfinite(value)]
        return float(np.abs(finite).max()) if finite.size else 0.0
    if isinstance(value, float) and math.isfinite(value):
        return abs(value)
    if isinstance(value, list):
        return max((_largest(v) for v in value), default=0.0)
    return 0.0


def _differs(expected: Any, got: Any, stage: str, scale: float) -> str:
    """Expected and got, for the worst element; empty when ``got`` is close enough to ``expected``."""
    if isinstance(expected, list):
        if not isinstance(got, list) or len(got) != len(expected):
            return f"expected {_show(expected)}, got {_show(got)}"
        return next((p for e, g in zip(expected, got) if (p := _differs(e, g, stage, scale))), "")
    if expected is None or isinstance(expected, (bool, str)):
        same = got == expected and type(got) is type(expected)
        return "" if same else f"expected {_show(expected)}, got {_show(got)}"
    if isinstance(expected, (int, float)):
        if not isinstance(got, (int, float)) or isinstance(got, bool):
            return f"expected {_show(expected)}, got {_show(got)}"
        expected, got = np.float64(expected), np.float64(got)
    if not isinstance(got, (np.ndarray, np.floating)):
        return f"expected an array of shape {np.shape(expected)}, got {_show(got)}"
    e, g = np.asarray(expected), np.asarray(got)
    if e.shape != g.shape:
        return f"shape {g.shape}, expected {e.shape}"
    if e.dtype != g.dtype:
        return f"dtype {g.dtype}, expected {e.dtype}"
    if e.dtype.kind not in "fc":
        bad = e != g
        tolerance = 0.0
    else:
        rtol, atol = TRAINING if stage == "training" else TOLERANCES.get(e.dtype.name, TOLERANCES["float64"])
        atol = atol * scale if stage == "training" else atol
        e64, g64 = e.astype(np.float64), g.astype(np.float64)
        tolerance = atol + rtol * np.abs(e64)
        bad = ~(np.abs(g64 - e64) <= tolerance) & ~((e64 == g64) | (np.isnan(e64) & np.isnan(g64)))
    if not bad.any():
        return ""
    if e.dtype.kind in "fc":
        excess = np.where(bad, np.nan_to_num(np.abs(g64 - e64) - tolerance, nan=np.inf), -np.inf)
        worst = np.unravel_index(int(np.argmax(excess)), e.shape)
    else:
        worst = tuple(int(k) for k in np.argwhere(bad)[0])
    where = f" at index {tuple(int(k) for k in worst)}" if e.ndim else ""
    count = f" ({int(bad.sum())} of {bad.size} differ)" if e.size > 1 else ""
    return f"got {_show(g[worst])}{where}, expected {_show(e[worst])}{count}"


def _show(value: Any) -> str:
    """A value for a student to read: numbers in full precision, never an internal repr."""
    if isinstance(value, (np.floating, float)):
        return repr(float(value))
    if isinstance(value, (np.integer, np.bool_)):
        return repr(value.item())
    if isinstance(value, np.ndarray):
        return f"an array of shape {value.shape}" if value.size > 8 else repr(value.tolist())
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    return repr(value)
