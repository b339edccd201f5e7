"""Data: tokenizers, built-in synthetic sources, file loaders, splits and batching."""

from __future__ import annotations

from tinyllm.data.datasets import LabeledTexts
from tinyllm.data.synthetic import MarkovText, markov_text, synthetic_sentiment

__all__ = ["LabeledTexts", "MarkovText", "markov_text", "synthetic_sentiment"]
