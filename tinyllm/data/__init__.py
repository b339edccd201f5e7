"""Data: tokenizers, built-in synthetic sources, file loaders, splits and batching."""

from __future__ import annotations

from tinyllm.data.datasets import LabeledTexts
from tinyllm.data.files import read_folder_per_class, read_line_per_class, read_text, read_tsv_labeled
from tinyllm.data.loader import (
    DataLoader,
    collate_sequences,
    encode_labeled,
    lm_batches,
    sequential_lm_batches,
)
from tinyllm.data.splits import split_tokens, train_val_test_split
from tinyllm.data.synthetic import MarkovText, markov_text, synthetic_sentiment
from tinyllm.data.tokenizers import BPETokenizer, CharTokenizer, WordTokenizer

__all__ = ["LabeledTexts", "MarkovText", "markov_text", "synthetic_sentiment"]
__all__ += [
    "DataLoader", "collate_sequences", "encode_labeled", "lm_batches", "read_folder_per_class",
    "read_line_per_class", "read_text", "read_tsv_labeled", "sequential_lm_batches", "split_tokens",
    "train_val_test_split",
]  # fmt: skip
__all__ += ["BPETokenizer", "CharTokenizer", "WordTokenizer"]
