"""The grader's side of a check: reading a child's report as untrusted data, and comparing values."""

from __future__ import annotations

import base64
import json

import numpy as np
import pytest

from tinyllm.assignment.grade import Child, score
from tinyllm.assignment.runner import encode
from tinyllm.assignment.tasks import BY_ID
from tinyllm.assignment.verdict import Observation, Run, compare, read_run


def _lines(*messages: object) -> list[bytes]:
    return [(json.dumps(m) + "\n").encode() for m in messages]


def _array(a: np.ndarray) -> dict:
    return encode(a)


def test_a_report_round_trips_arrays_numbers_and_shapes() -> None:
    a = np.arange(6, dtype=np.float32).reshape(2, 3)
    shape = {"label": "n", "value": [[2, 3], "float32"]}
    run = read_run(_lines({"check": "c"}, {"label": "a", "value": _array(a)}, shape, {"end": "c"}, {"done": True}))
    got = run.observations["c"]
    assert got[0].value.dtype == np.float32 and np.array_equal(got[0].value, a)
    assert got[1].value == [[2, 3], "float32"] and run.ended == {"c": ""} and run.done and run.broken is None


@pytest.mark.parametrize(
    ("message", "why"),
    [
        ({"label": "a", "value": {"dtype": "|O", "shape": [1], "data": ""}}, "not a number type"),
        ({"label": "a", "value": {"dtype": "<f8", "shape": [2], "data": base64.b64encode(b"x" * 8).decode()}},
         "with 8 bytes"),
        ({"label": "a", "value": {"dtype": "<f8", "shape": [-1], "data": ""}}, "of shape"),
        ({"label": "a", "value": {"dtype": "<f8", "shape": [1], "data": "%%%"}}, "not base64"),
        ({"label": "a", "value": {"dtype": "<f8", "shape": [1], "data": "", "extra": 1}}, "exactly dtype"),
        ({"verdict": "pass"}, "not one of the runner's"),
        ({"done": "yes"}, "not one of the runner's"),
    ],
)  # fmt: skip
def test_a_malformed_message_ends_the_report_there(message: dict, why: str) -> None:
    run = read_run(_lines({"check": "c"}, message, {"end": "c"}, {"done": True}))
    assert run.broken is not None and why in run.broken
    assert not run.done and "c" not in run.ended


def test_lines_that_are_not_json_or_an_end_outside_a_check_break_the_report() -> None:
    assert read_run([b"not json\n"]).broken == "message 1: not JSON"
    assert "end of a check that was not running" in (read_run(_lines({"end": "c"})).broken or "")
    assert "outside a check" in (read_run(_lines({"label": "x", "value": 1})).broken or "")


def test_compare_names_the_worst_element_with_expected_and_got_in_full() -> None:
    e = np.array([[1.0, 2.0], [3.0, 4.0]])
    g = e.copy()
    g[0, 1] = 2.0001
    g[1, 0] = 3.123456789012345  # the worst
    message = compare("values", [Observation("dX", e)], [Observation("dX", g)], "")
    assert message == "dX: got 3.123456789012345 at index (1, 0), expected 3.0 (2 of 4 differ)"


@pytest.mark.parametrize(
    ("got", "error", "says"),
    [
        ([], "not implemented: task x", "dX: not implemented: task x"),
        ([], None, "dX: no value (the check stopped before it)"),
        ([Observation("dY", np.zeros(2))], "", "expected a value for 'dX', got one for 'dY'"),
        ([Observation("dX", np.zeros(3))], "", "dX: shape (3,), expected (2,)"),
        ([Observation("dX", np.zeros(2, dtype=np.float32))], "", "dX: dtype float32, expected float64"),
        ([Observation("dX", np.zeros(2))] * 2, "", "more values than the check takes (2, expected 1)"),
        ([Observation("dX", np.zeros(2))], None, "the check did not finish"),
        ([Observation("dX", np.full(2, np.nan))], "", "dX: got nan at index (0,), expected 0.0 (2 of 2 differ)"),
    ],
)
def test_compare_fails_a_check_for_each_way_a_report_can_differ(got: list, error: str | None, says: str) -> None:
    assert compare("values", [Observation("dX", np.zeros(2))], got, error) == says


def test_training_values_are_compared_loosely_and_values_tightly() -> None:
    ref = [Observation("loss", 1.0), Observation("loss", 0.01)]
    near = [Observation("loss", 1.02), Observation("loss", 0.0102)]
    assert compare("training", ref, near, "") == ""
    assert compare("values", ref, near, "").startswith("loss: got 1.02")


def _child(run: Run) -> Child:
    return Child(run, False, 0, "", 0.1, 60.0)


def test_a_later_stage_does_not_count_when_an_earlier_stage_on_its_op_failed() -> None:
    task = BY_ID["elementwise"]
    reference = Run(observations={c.name: [Observation("v", 1.0)] for c in task.checks}, done=True)
    student = Run(observations={c.name: [Observation("v", 1.0)] for c in task.checks}, done=True)
    student.ended = {c.name: "" for c in task.checks}
    student.observations["tanh_values"] = [Observation("v", 2.0)]  # a wrong tanh backward
    result = score(task, reference, _child(student))
    lost = {c.name: c.message for c in result.checks if not c.passed}
    assert set(lost) == {"tanh_values", "tanh_gradcheck", "elementwise_training"}
    assert lost["tanh_gradcheck"] == "not counted: tanh_values failed first"
    assert result.earned == task.points - 3
