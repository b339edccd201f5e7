"""Complete models: the seed's LSTM text classifier, an LSTM language model and a small GPT."""

from __future__ import annotations

from tinyllm.models.gpt import GPT, GPTConfig
from tinyllm.models.lstm_lm import LSTMLanguageModel
from tinyllm.models.text_classifier import TextClassifier

__all__ = ["GPT", "GPTConfig", "LSTMLanguageModel", "TextClassifier"]
