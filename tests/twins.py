"""PyTorch twins of tinyllm's models, built from torch's own modules with tinyllm's parameter names.

Each takes the ``torch`` module as its first argument (tests get it from the ``torch``
fixture), so importing this file never imports PyTorch.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from tinyllm.models import GPTConfig


def seed_classifier(torch):
    """The seed document's section-5 model, as written there (PyTorch)."""
    nn = torch.nn

    class SeedTextClassifier(nn.Module):
        def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, dropout):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, dropout=dropout, batch_first=True)
            self.fc = nn.Linear(hidden_dim, output_dim)
            self.dropout = nn.Dropout(dropout)

        def forward(self, text, text_lengths):
            embedded = self.embedding(text)
            packed = nn.utils.rnn.pack_padded_sequence(
                embedded, text_lengths.to("cpu"), batch_first=True, enforce_sorted=False
            )
            _, (hidden, _) = self.lstm(packed)
            return self.fc(self.dropout(hidden[-1, :, :]))

    return SeedTextClassifier


def torch_gpt(torch, c: GPTConfig):
    """The same architecture from PyTorch's own modules, with tinyllm's parameter names."""
    nn = torch.nn

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln_1 = nn.LayerNorm(c.n_embd, bias=c.bias)
            self.attn = nn.MultiheadAttention(c.n_embd, c.n_head, bias=c.bias, batch_first=True)
            self.ln_2 = nn.LayerNorm(c.n_embd, bias=c.bias)
            self.mlp = nn.Sequential(OrderedDict(
                fc=nn.Linear(c.n_embd, 4 * c.n_embd, bias=c.bias), gelu=nn.GELU(),
                proj=nn.Linear(4 * c.n_embd, c.n_embd, bias=c.bias), dropout=nn.Dropout(0.0),
            ))  # fmt: skip

        def forward(self, x):
            T = x.shape[1]
            future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
            h = self.ln_1(x)
            x = x + self.attn(h, h, h, attn_mask=future, need_weights=False)[0]
            return x + self.mlp(self.ln_2(x))

    class TorchGPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(c.vocab_size, c.n_embd)
            self.wpe = nn.Embedding(c.block_size, c.n_embd)
            self.blocks = nn.ModuleList(Block() for _ in range(c.n_layer))
            self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias)
            self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
            if c.tie_weights:
                self.lm_head.weight = self.wte.weight

        def forward(self, idx):
            x = self.wte(idx) + self.wpe(torch.arange(idx.shape[1]))
            for block in self.blocks:
                x = block(x)
            return self.lm_head(self.ln_f(x))

    return TorchGPT()


def torch_lstm_lm(torch: Any, vocab_size: int, embedding_dim: int, hidden_dim: int, n_layers: int = 1) -> Any:
    """:class:`tinyllm.models.LSTMLanguageModel` in PyTorch: embedding, LSTM, linear head (no dropout)."""
    nn = torch.nn

    class TorchLSTMLanguageModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(vocab_size, embedding_dim)
            self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, batch_first=True)
            self.head = nn.Linear(hidden_dim, vocab_size)

        def forward(self, idx):
            output, _ = self.lstm(self.embedding(idx))
            return self.head(output)

    return TorchLSTMLanguageModel()
