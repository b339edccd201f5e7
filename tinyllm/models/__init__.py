"""Complete models: the seed's LSTM text classifier, an LSTM language model and a small GPT.

The two language models share their objective, :func:`next_token_loss`.
"""

from __future__ import annotations

from tinyllm.models.gpt import GPT, GPTConfig
from tinyllm.models.losses import next_token_loss
from tinyllm.models.lstm_lm import LSTMLanguageModel
from tinyllm.models.text_classifier import TextClassifier

__all__ = ["GPT", "GPTConfig", "LSTMLanguageModel", "TextClassifier", "next_token_loss"]
