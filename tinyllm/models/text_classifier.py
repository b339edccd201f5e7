"""The text classifier of the seed document's section 5: Embedding -> LSTM -> dropout -> Linear."""

from __future__ import annotations

from typing import Any

from tinyllm import nn
from tinyllm.nn.utils.rnn import pack_padded_sequence
from tinyllm.tensor import Tensor


class TextClassifier(nn.Module):
    """Classify token sequences of different lengths.

    text (B, T) int ids, padded; text_lengths (B,) -> logits (B, output_dim).

    The embedded batch is packed, so the LSTM never reads the padding, and the
    last layer's hidden state at each sequence's own last token — a summary of
    the whole sequence — goes through dropout to the linear classifier. The same
    ``dropout`` also acts between stacked LSTM layers (when n_layers > 1).
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, output_dim: int,
                 n_layers: int = 1, dropout: float = 0.0, padding_idx: int | None = None,
                 fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                            dropout=dropout if n_layers > 1 else 0.0, batch_first=True, fused=fused)  # fmt: skip
        self.fc = nn.Linear(hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text: Tensor, text_lengths: Any) -> Tensor:
        embedded = self.embedding(text)  # (B, T, embedding_dim)
        packed = pack_padded_sequence(embedded, text_lengths, batch_first=True, enforce_sorted=False)
        _, (hidden, _) = self.lstm(packed)  # hidden: (n_layers, B, hidden_dim)
        return self.fc(self.dropout(hidden[-1]))
