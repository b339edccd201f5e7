"""gradcheck itself: it passes correct gradients, catches wrong ones, and says where."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.ops.elementwise import ReLU, Tanh


def _randn(*shape: int, seed: int = 0, requires_grad: bool = True) -> tl.Tensor:
    data = np.random.default_rng(seed).standard_normal(shape)
    return tl.tensor(data, requires_grad=requires_grad)


def _wrong_tanh_backward(self: Tanh, gy: np.ndarray) -> np.ndarray:
    return gy * (1 - self.y)  # should be 1 - y^2


class SquareWithOneBadElement(tl.Function):
    """y = x^2, whose backward is right except at element (1, 2) of a matrix."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * x

    def backward(self, gy: np.ndarray) -> np.ndarray:
        g = gy * 2 * self.x
        g[1, 2] += 0.1
        return g


# ----------------------------------------------------------------------------- passing and failing


def test_correct_gradients_pass_with_a_pass_row_per_input() -> None:
    w, b = _randn(3, 4, seed=0), _randn(4, seed=1)
    report = tl.gradcheck(lambda w, b: (w * b).tanh(), [w, b], names=["weights", "bias"])

    assert report.passed
    assert [(r.name, r.shape, r.mode, r.status) for r in report.rows] == [
        ("weights", (3, 4), "full", "PASS"),
        ("bias", (4,), "full", "PASS"),
    ]
    lines = str(report).splitlines()
    assert any(line.startswith("weights") and line.endswith("PASS") for line in lines)
    assert any(line.startswith("bias") and line.endswith("PASS") for line in lines)
    assert report.summary() == "gradcheck passed"


def test_a_single_tensor_input_is_accepted() -> None:
    report = tl.gradcheck(tl.exp, _randn(3))
    assert report.passed and [r.name for r in report.rows] == ["input 0"]


def test_inputs_that_need_no_grad_are_not_checked() -> None:
    x, c = _randn(3), _randn(3, seed=1, requires_grad=False)
    report = tl.gradcheck(lambda x, c, k: x * c * k, [x, c, 2.0])
    assert [r.name for r in report.rows] == ["input 0"]


def test_wrong_backward_raises_naming_the_input_and_an_index(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Tanh, "backward", _wrong_tanh_backward)
    x, w = _randn(2, 3, seed=0), _randn(2, 3, seed=1)
    with pytest.raises(tl.GradcheckError, match=r"gradcheck failed for weights at index \(\d, \d\)") as info:
        tl.gradcheck(lambda x, w: x + w.tanh(), [x, w], names=["x", "weights"])
    report = info.value.report
    assert [(r.name, r.status) for r in report.rows] == [("x", "PASS"), ("weights", "FAIL")]
    assert "FAIL" in str(info.value)


def test_failure_points_at_the_wrong_element() -> None:
    x = _randn(3, 4)
    with pytest.raises(tl.GradcheckError, match=r"weights at index \(1, 2\)") as info:
        tl.gradcheck(SquareWithOneBadElement.apply, [x], names=["weights"])
    row = info.value.report.rows[0]
    assert row.worst_index == (1, 2)
    assert row.analytic - row.numeric == pytest.approx(0.1, rel=1e-4)
    assert row.max_abs_err == pytest.approx(0.1, rel=1e-4)


def test_raise_on_fail_false_returns_a_failing_report(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Tanh, "backward", _wrong_tanh_backward)
    report = tl.gradcheck(tl.tanh, [_randn(4)], names=["h"], raise_on_fail=False)
    assert report.passed is False
    assert report.rows[0].status == "FAIL"
    assert report.summary().startswith("gradcheck failed for h at index (")
    assert str(report).splitlines()[2].endswith("FAIL")


# ----------------------------------------------------------------------------- kinks


def test_relu_at_zero_is_a_kink_not_a_failure() -> None:
    x = tl.tensor(np.array([-1.5, 0.0, 2.0]), requires_grad=True)
    report = tl.gradcheck(tl.relu, [x])  # does not raise
    assert report.passed
    assert report.rows[0].status == "KINK"
    assert report.rows[0].worst_index == (1,)
    assert "kinks" in report.summary()


def test_abs_at_zero_passes_since_the_central_difference_is_its_subgradient_zero() -> None:
    # (|eps| - |-eps|) / (2 eps) = 0 = sign(0): both sides agree, so there is nothing to flag
    x = tl.tensor(np.array([0.0, 1.0]), requires_grad=True)
    assert tl.gradcheck(tl.abs, [x]).rows[0].status == "PASS"


def test_a_wrong_gradient_away_from_the_kink_still_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ReLU, "backward", lambda self, gy: 2 * gy * self.positive)
    x = tl.tensor(np.array([-1.5, 0.0, 2.0]), requires_grad=True)
    report = tl.gradcheck(tl.relu, [x], raise_on_fail=False)
    assert report.rows[0].status == "FAIL"


# ----------------------------------------------------------------------------- directions mode


def test_large_inputs_are_checked_along_random_directions() -> None:
    x = tl.tensor(np.random.default_rng(0).standard_normal((40, 40)) * 0.1, requires_grad=True)
    report = tl.gradcheck(lambda x: (x @ x).tanh(), [x])
    row = report.rows[0]
    assert report.passed
    assert row.mode == "directions" and row.status == "PASS"
    assert row.worst_index.startswith("direction ")


def test_directions_mode_catches_a_wrong_backward(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(Tanh, "backward", _wrong_tanh_backward)
    x = _randn(40, 40)
    with pytest.raises(tl.GradcheckError, match="gradcheck failed for big at direction") as info:
        tl.gradcheck(tl.tanh, [x], names=["big"])
    assert info.value.report.rows[0].mode == "directions"


def test_mode_can_be_forced() -> None:
    assert tl.gradcheck(tl.exp, [_randn(2, 2)], mode="directions").rows[0].mode == "directions"
    assert tl.gradcheck(tl.exp, [_randn(200)], mode="full").rows[0].mode == "full"


# ----------------------------------------------------------------------------- inputs and state


def test_float32_inputs_are_rejected() -> None:
    with pytest.raises(TypeError, match="float32.*double"):
        tl.gradcheck(tl.exp, [tl.ones(3, requires_grad=True)])


def test_bad_arguments_raise_value_errors() -> None:
    with pytest.raises(ValueError, match="nothing to check"):
        tl.gradcheck(tl.exp, [_randn(3, requires_grad=False)])
    with pytest.raises(ValueError, match="mode"):
        tl.gradcheck(tl.exp, [_randn(3)], mode="exact")
    with pytest.raises(ValueError, match="2 names for 1 inputs"):
        tl.gradcheck(tl.exp, [_randn(3)], names=["a", "b"])


def test_an_input_computed_by_an_op_is_rejected_naming_it() -> None:
    with pytest.raises(ValueError, match="scaled was computed by an op"):
        tl.gradcheck(tl.exp, [_randn(3) * 0.1], names=["scaled"])


def _dropout_like(x: tl.Tensor) -> tl.Tensor:
    keep = tl.rand(*x.shape, dtype=tl.float64) > 0.5
    return x * keep * 2.0


def test_function_with_random_draws_passes_because_every_evaluation_is_reseeded() -> None:
    report = tl.gradcheck(_dropout_like, [_randn(4, 5)])
    assert report.passed and report.rows[0].status == "PASS"


def test_callers_random_state_is_unchanged() -> None:
    tl.manual_seed(5)
    tl.gradcheck(_dropout_like, [_randn(4, 5)])
    after = tl.rand(6).tolist()

    tl.manual_seed(5)
    assert tl.rand(6).tolist() == after


def test_function_that_modifies_an_input_in_place_is_reported() -> None:
    def counting(x: tl.Tensor, scale: float, calls: tl.Tensor) -> tl.Tensor:
        calls.add_(1.0)  # allowed: calls needs no grad, but gradcheck must notice
        return x * scale

    x, calls = _randn(3), tl.zeros(1, dtype=tl.float64)
    report = tl.gradcheck(counting, [x, 2.0, calls], names=["x", "scale", "calls"], raise_on_fail=False)
    assert not report.passed
    assert report.rows[0].status == "PASS"
    assert report.problems == ["fn modified calls in place"]
    with pytest.raises(tl.GradcheckError, match="fn modified calls in place"):
        tl.gradcheck(counting, [x, 2.0, calls], names=["x", "scale", "calls"])


def test_non_deterministic_backward_is_reported() -> None:
    class Jittery(tl.Function):
        """y = x^2, whose backward drifts by 1e-12 each call: within tolerance, but not repeatable."""

        calls = 0

        def forward(self, x: np.ndarray) -> np.ndarray:
            self.x = x
            return x * x

        def backward(self, gy: np.ndarray) -> np.ndarray:
            Jittery.calls += 1
            return gy * 2 * self.x + 1e-12 * Jittery.calls

    report = tl.gradcheck(Jittery.apply, [_randn(3)], raise_on_fail=False)
    assert report.rows[0].status == "PASS"
    assert not report.passed
    assert any("deterministic" in p for p in report.problems)


def test_params_given_as_name_tensor_pairs_are_checked() -> None:
    x, w = _randn(2, 3, seed=0), _randn(3, 4, seed=1)
    report = tl.gradcheck(lambda x: (x @ w).tanh(), [x], params=[("w", w)])
    assert [(r.name, r.shape, r.status) for r in report.rows] == [
        ("input 0", (2, 3), "PASS"),
        ("w", (3, 4), "PASS"),
    ]


def test_a_param_cut_from_the_graph_fails() -> None:
    x, w = _randn(2, 3, seed=0), _randn(3, 4, seed=1)
    with pytest.raises(tl.GradcheckError, match="gradcheck failed for w at index"):
        tl.gradcheck(lambda x: x @ w.detach(), [x], params=[("w", w)])


def test_params_from_an_object_with_named_parameters() -> None:
    class TinyModule:
        def __init__(self) -> None:
            self.weight, self.bias = _randn(3, 2, seed=2), _randn(2, seed=3)

        def named_parameters(self) -> list[tuple[str, tl.Tensor]]:
            return [("weight", self.weight), ("bias", self.bias)]

        def __call__(self, x: tl.Tensor) -> tl.Tensor:
            return (x @ self.weight + self.bias).sigmoid()

    m = TinyModule()
    report = tl.gradcheck(m, [_randn(4, 3, requires_grad=False)], params=m)
    assert [(r.name, r.status) for r in report.rows] == [("weight", "PASS"), ("bias", "PASS")]


def test_callers_grads_and_data_are_restored() -> None:
    x, y = _randn(3, seed=0), _randn(3, seed=1)
    before = x.data.copy()
    data = x.data
    sentinel = tl.tensor(np.array([7.0, 8.0, 9.0]))
    x.grad = sentinel

    tl.gradcheck(lambda x, y: x * y, [x, y])

    assert x.grad is sentinel and sentinel.tolist() == [7.0, 8.0, 9.0]
    assert y.grad is None
    assert x.data is data
    np.testing.assert_array_equal(x.data, before)


def test_multiple_outputs_are_all_checked(monkeypatch: pytest.MonkeyPatch) -> None:
    x = _randn(3)
    assert tl.gradcheck(lambda x: (x.exp(), (x.tanh(), x * 2)), [x]).passed
    monkeypatch.setattr(Tanh, "backward", _wrong_tanh_backward)
    with pytest.raises(tl.GradcheckError):
        tl.gradcheck(lambda x: (x.exp(), (x.tanh(), x * 2)), [x])
