"""Bad input to fit, evaluate, the metrics and gradcheck: a named error, or PyTorch's result."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tinyllm as tl
from tinyllm import metrics
from tinyllm.gradcheck import gradcheck
from tinyllm.train import evaluate, fit


def _pairs():
    rng = np.random.default_rng(0)
    return [(tl.tensor(rng.normal(size=(4, 3)).astype(np.float32)), tl.tensor(rng.integers(0, 2, 4)))
            for _ in range(2)]  # fmt: skip


DATA = _pairs()


def _model():
    tl.manual_seed(0)
    return tl.nn.Linear(3, 2)


def _fit(**kwargs):
    model = _model()
    options = {"epochs": 1, "progress": False, **kwargs}
    loader = options.pop("loader", DATA)
    optimizer = options.pop("optimizer", None) or tl.optim.SGD(model.parameters(), lr=0.1)
    return fit(options.pop("model", model), optimizer, loader, **options)


FIT_CASES = [
    ({"model": "linear"}, TypeError, r"fit: model must be a tinyllm Module.*str"),
    ({"model": lambda x: x}, TypeError, r"fit: model must be a tinyllm Module.*function"),
    ({"optimizer": "sgd"}, TypeError, r"fit: optimizer.*step.*zero_grad.*str"),
    ({"loader": 5}, TypeError, r"fit: train_loader must be iterable.*int"),
    ({"loader": []}, ValueError, r"gave no batches"),
    ({"val_loader": 5}, TypeError, r"fit: val_loader must be iterable.*int"),
    ({"loss_fn": "mse"}, TypeError, r"fit: loss_fn must be callable.*'mse'"),
    ({"step_fn": 3}, TypeError, r"fit: step_fn must be callable.*3"),
    ({"callback": "print"}, TypeError, r"fit: callback must be callable.*'print'"),
    ({"scheduler": "cosine"}, TypeError, r"fit: scheduler must have a step\(\) method.*str"),
    ({"resume": "yes"}, TypeError, r"fit: resume must be True or False.*'yes'"),
    ({"progress": "no"}, TypeError, r"fit: progress must be True, False or None.*'no'"),
    ({"epochs": "2"}, ValueError, r"epochs must be >= 1.*'2'"),
    ({"epochs": None, "steps": 2.0}, ValueError, r"steps must be >= 1.*2\.0"),
    ({"epochs": math.inf}, ValueError, r"epochs must be >= 1.*inf"),
    ({"eval_every": -2, "val_loader": DATA}, ValueError, r"eval_every must be >= 1.*-2"),
    ({"accumulate": None}, ValueError, r"accumulate must be >= 1.*None"),
    ({"clip_grad_norm": "1.0"}, ValueError, r"clip_grad_norm must be a number > 0.*'1\.0'"),
    ({"clip_grad_norm": True}, ValueError, r"clip_grad_norm must be a number > 0.*True"),
    ({"metrics": ["accuracy", 3]}, ValueError, r"unknown metric 3"),
    ({"metrics": ["perplexity", "auc"]}, ValueError, r"unknown metric 'auc'; choose from"),
    ({"on_nonfinite": None}, ValueError, r"on_nonfinite must be 'raise', 'skip' or 'restore', not None"),
    ({"patience": 1}, ValueError, r"patience.*needs a val_loader"),
    ({"checkpoint_dir": 3}, TypeError, r"fit: checkpoint_dir must be a path.*int"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), FIT_CASES)
def test_fit_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        _fit(**kwargs)


def test_fit_refuses_a_checkpoint_dir_that_is_a_file(tmp_path):
    path = tmp_path / "file.txt"
    path.write_text("x")
    with pytest.raises((NotADirectoryError, ValueError, FileExistsError), match=r"file\.txt"):
        _fit(checkpoint_dir=path)


def _evaluate(**kwargs):
    options = {"model": _model(), "loader": DATA, **kwargs}
    return evaluate(options.pop("model"), options.pop("loader"), **options)


EVALUATE_CASES = [
    ({"model": None}, TypeError, r"evaluate: model must be a tinyllm Module.*NoneType"),
    ({"loader": 7}, TypeError, r"evaluate: loader must be iterable.*int"),
    ({"loader": []}, ValueError, r"evaluate: the loader gave no batches"),
    ({"metrics": "accuracy"}, TypeError, r"evaluate: metrics must be a sequence of names"),
    ({"metrics": ("top5",)}, ValueError, r"evaluate: unknown metric 'top5'"),
    ({"step_fn": "supervised"}, TypeError, r"evaluate: step_fn must be callable"),
    ({"loss_fn": 1.0}, TypeError, r"evaluate: loss_fn must be callable"),
    ({"loss_fn": tl.nn.functional.cross_entropy, "step_fn": tl.train.lm_step}, ValueError, r"not both"),
    ({"loader": [(tl.randn(4, 3),)]}, TypeError, r"cannot read a batch"),
]


@pytest.mark.parametrize(("kwargs", "error", "match"), EVALUATE_CASES)
def test_evaluate_refuses_bad_arguments(kwargs, error, match):
    with pytest.raises(error, match=match):
        _evaluate(**kwargs)


METRIC_CASES = [
    (lambda: metrics.accuracy([0, 1, 1], [0, 1]), ValueError, r"3 predictions but 2 targets"),
    (lambda: metrics.accuracy(np.zeros((4, 3)), [0, 1]), ValueError, r"4 predictions but 2 targets"),
    (lambda: metrics.accuracy([0.5, 1.0], [0, 1]), ValueError, r"predictions must be class indices.*0\.5"),
    (lambda: metrics.accuracy([0, 1], [0.5, 1.0]), ValueError, r"targets must be class indices.*0\.5"),
    (lambda: metrics.accuracy([0, 1], ["a", "b"]), ValueError, r"targets must be class indices"),
    (lambda: metrics.accuracy([0, 1], [0, math.nan]), ValueError, r"targets must be class indices.*nan"),
    (lambda: metrics.accuracy(np.zeros((2, 3, 4)), [0, 1]), ValueError, r"predictions.*shape \(2, 3, 4\)"),
    (lambda: metrics.confusion_matrix([0, -1], [0, 1]), ValueError, r"predictions.*negative.*-1"),
    (lambda: metrics.confusion_matrix([0, 1], [0, -2]), ValueError, r"targets.*negative.*-2"),
    (lambda: metrics.confusion_matrix([0, 3], [0, 1], num_classes=2), ValueError, r"class 3.*num_classes=2"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], num_classes=0), ValueError, r"num_classes.*0"),
    (lambda: metrics.confusion_matrix([0, 1], [0, 1], num_classes=2.5), ValueError, r"num_classes.*2\.5"),
    (lambda: metrics.f1_score([0, 1], [0, 1, 1]), ValueError, r"2 predictions but 3 targets"),
    (lambda: metrics.precision_recall_f1([0, 1], [0, 1], num_classes=-1), ValueError, r"num_classes.*-1"),
    (lambda: metrics.perplexity("2.0"), TypeError, r"perplexity.*number.*str"),
    (lambda: metrics.perplexity(-1.0), ValueError, r"perplexity.*mean_cross_entropy.*>= 0.*-1"),
    (lambda: metrics.bits_per_char(-0.5), ValueError, r"bits_per_char.*>= 0.*-0\.5"),
    (lambda: metrics.bits_per_char(None), TypeError, r"bits_per_char.*NoneType"),
    (lambda: metrics.perplexity(True), TypeError, r"perplexity.*bool"),
]


@pytest.mark.parametrize(("build", "error", "match"), METRIC_CASES)
def test_metrics_refuse_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_metrics_of_no_examples_are_nan_not_an_error():
    assert math.isnan(metrics.accuracy([], []))


def test_perplexity_of_nan_and_inf_follows_exp():
    assert math.isnan(metrics.perplexity(math.nan)) and metrics.perplexity(math.inf) == math.inf
    assert metrics.perplexity(1000.0) == math.inf  # past float64's range, not an OverflowError


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 3)), min_size=1, max_size=30))
def test_confusion_matrix_counts_every_pair(pairs):
    p, t = (np.array(c) for c in zip(*pairs))
    m = metrics.confusion_matrix(p, t, num_classes=4)
    assert m.sum() == len(pairs) and metrics.accuracy(p, t) == pytest.approx(np.trace(m) / len(pairs))


def _x(dtype=tl.float64):
    return tl.randn(3, dtype=dtype, requires_grad=True)


GRADCHECK_CASES = [
    (lambda: gradcheck("sin", [_x()]), TypeError, r"gradcheck: fn must be callable.*'sin'"),
    (lambda: gradcheck(None, [_x()]), TypeError, r"gradcheck: fn must be callable"),
    (lambda: gradcheck(lambda x: x * 2, [tl.tensor([1, 2, 3])]), ValueError, r"no input requires grad"),
    (lambda: gradcheck(lambda x: x * 2, [_x(tl.float32)]), TypeError, r"input 0 has dtype float32.*float64"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], eps=0.0), ValueError, r"eps must be a number > 0.*0\.0"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], eps=-1e-6), ValueError, r"eps.*-1e-06"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], eps=math.nan), ValueError, r"eps.*nan"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], atol=-1.0), ValueError, r"atol must be a number >= 0.*-1"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], rtol=math.nan), ValueError, r"rtol.*nan"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], mode="fast"), ValueError, r"mode must be 'auto', 'full'"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], n_directions=0), ValueError, r"n_directions.*0"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], full_max_size=-1), ValueError, r"full_max_size.*-1"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], names=["a", "b"]), ValueError, r"2 names for 1 inputs"),
    (lambda: gradcheck(lambda x: x * 2, [_x() * 1]), ValueError, r"computed by an op"),
    (lambda: gradcheck(lambda x: 2.0, [_x()]), TypeError, r"fn must return tensors, got float"),
    (lambda: gradcheck(lambda x: x * 2, [_x()], seed=-1), ValueError, r"seed.*-1"),
]


@pytest.mark.parametrize(("build", "error", "match"), GRADCHECK_CASES)
def test_gradcheck_refuses_bad_input(build, error, match):
    with pytest.raises(error, match=match):
        build()


def test_gradcheck_accepts_a_single_tensor():
    assert gradcheck(lambda x: (x * x).sum(), _x()).passed
