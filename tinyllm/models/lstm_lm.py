"""An LSTM language model: Embedding -> LSTM -> Linear over the vocabulary, at every position.

Its ``embedding`` and ``lstm`` are named as in :class:`TextClassifier`, so a model
pretrained on unlabelled text hands them to a classifier by name:

    classifier.load_state_dict(language_model.state_dict(), strict=False)
"""

from __future__ import annotations

from typing import Any

from tinyllm import nn
from tinyllm.models.losses import next_token_loss
from tinyllm.tensor import Tensor


class LSTMLanguageModel(nn.Module):
    """idx (B, T) ids -> logits (B, T, V) for the next token at every position.

    The same next-token cross-entropy as :class:`GPT`, computed by a recurrence
    instead of attention: the hidden state at position t summarizes tokens 0..t.
    ``fused=False`` runs the composed twins of the LSTM layer and of the loss.
    """

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, n_layers: int = 1,
                 dropout: float = 0.0, fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers,
                            dropout=dropout if n_layers > 1 else 0.0, batch_first=True, fused=fused)  # fmt: skip
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_dim, vocab_size)

    def forward(self, idx: Tensor, targets: Any = None) -> tuple[Tensor, Tensor | None]:
        """idx (B, T) -> (logits (B, T, V), loss or None); with ``targets`` (B, T), the loss is the
        mean cross-entropy of every position's next-token prediction (as :meth:`GPT.forward`)."""
        if idx.ndim != 2:
            raise ValueError(f"LSTMLanguageModel: idx must be (B, T) token ids, not shape {idx.shape}")
        output, _ = self.lstm(self.embedding(idx))  # (B, T, hidden_dim)
        logits = self.head(self.dropout(output))
        if targets is None:
            return logits, None
        return logits, next_token_loss(logits, targets, fused=self.lstm.fused)
