"""Metrics against values worked out by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest

import tinyllm as tl
from tinyllm import metrics


def test_accuracy_from_classes_and_from_logits() -> None:
    assert metrics.accuracy([0, 1, 1, 2], [0, 1, 2, 2]) == 0.75
    logits = tl.tensor([[2.0, 1.0], [0.1, 0.3], [5.0, -1.0]])
    assert metrics.accuracy(logits, tl.tensor([0, 1, 1])) == pytest.approx(2 / 3)


def test_confusion_matrix_rows_are_true_classes() -> None:
    m = metrics.confusion_matrix([0, 1, 1, 2, 0], [0, 1, 2, 2, 1], num_classes=3)
    np.testing.assert_array_equal(m, [[1, 0, 0], [1, 1, 0], [0, 1, 1]])


def test_macro_precision_recall_f1_by_hand() -> None:
    # true:  0 0 0 1 1 2 ;  pred: 0 0 1 1 2 2
    p, r, f1 = metrics.precision_recall_f1([0, 0, 1, 1, 2, 2], [0, 0, 0, 1, 1, 2])
    # class 0: P = 2/2, R = 2/3; class 1: P = 1/2, R = 1/2; class 2: P = 1/2, R = 1/1
    precisions, recalls = [1.0, 0.5, 0.5], [2 / 3, 0.5, 1.0]
    f1s = [2 * a * b / (a + b) for a, b in zip(precisions, recalls)]
    assert p == pytest.approx(np.mean(precisions))
    assert r == pytest.approx(np.mean(recalls))
    assert f1 == pytest.approx(np.mean(f1s))


def test_a_class_never_predicted_counts_zero_precision() -> None:
    p, r, f1 = metrics.precision_recall_f1([0, 0, 0], [0, 0, 1], num_classes=2)
    assert p == pytest.approx((2 / 3 + 0) / 2) and r == pytest.approx((1 + 0) / 2)
    assert f1 == pytest.approx((0.8 + 0) / 2)


def test_perplexity_and_bits_per_char() -> None:
    assert metrics.perplexity(math.log(65)) == pytest.approx(65)
    assert metrics.bits_per_char(math.log(2)) == pytest.approx(1.0)


def test_mismatched_lengths_are_named() -> None:
    with pytest.raises(ValueError, match="3 predictions but 2 targets"):
        metrics.accuracy([0, 1, 1], [0, 1])
