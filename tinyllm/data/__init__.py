"""Data: tokenizers, built-in synthetic sources, file loaders, splits and batching."""

from __future__ import annotations

from tinyllm.data.datasets import LabeledTexts

__all__ = ["LabeledTexts"]
