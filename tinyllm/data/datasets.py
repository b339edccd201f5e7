"""The shapes data takes in tinyllm: labelled texts for classification, token arrays for language models."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy


@dataclass
class LabeledTexts:
    """Texts with one class label each: ``texts[i]`` has label ``labels[i]``, an index into ``classes``.

    ``info`` carries what the source knows about the data (e.g. the best accuracy any
    model can reach on a synthetic set). Indexing gives ``(text, label)`` pairs; a
    slice or an index array gives a new LabeledTexts (e.g. for splits).
    """

    texts: list[str]
    labels: numpy.ndarray
    classes: list[str]
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        labels = numpy.asarray(self.labels)
        if labels.size and labels.dtype.kind not in "iu" and not numpy.array_equal(labels, numpy.round(labels)):
            raise ValueError(f"LabeledTexts: labels must be whole numbers (class indices), not {self.labels!r}")
        self.labels = labels.astype(numpy.int64)
        if len(self.texts) != len(self.labels):
            raise ValueError(f"LabeledTexts: {len(self.texts)} texts but {len(self.labels)} labels")
        if len(self.labels) and (self.labels.min() < 0 or self.labels.max() >= len(self.classes)):
            raise ValueError(f"LabeledTexts: labels must be in [0, {len(self.classes)}) for classes {self.classes}")

    def __len__(self) -> int:
        return len(self.texts)

    def __getitem__(self, i: Any) -> Any:
        if isinstance(i, (int, numpy.integer)):
            return self.texts[i], int(self.labels[i])
        idx = numpy.arange(len(self))[i]
        return LabeledTexts([self.texts[j] for j in idx], self.labels[idx], list(self.classes), dict(self.info))

    def __iter__(self) -> Iterator[tuple[str, int]]:
        for t, y in zip(self.texts, self.labels):
            yield t, int(y)

    def class_counts(self) -> dict[str, int]:
        counts = numpy.bincount(self.labels, minlength=len(self.classes))
        return {c: int(n) for c, n in zip(self.classes, counts)}
