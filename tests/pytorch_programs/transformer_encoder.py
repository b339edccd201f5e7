"""nn.TransformerEncoder over token embeddings with positions, a padding mask, and mean pooling."""

import math

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
vocab, d_model, seq_len, pad = 10, 16, 7, 0
tokens = torch.tensor(rng.integers(1, vocab, (32, seq_len)), dtype=torch.long)
tokens[::4, 5:] = pad  # every fourth sequence is shorter
labels = (tokens == 3).any(dim=1).long()  # does the sequence hold a 3?


class PositionalEncoding(nn.Module):
    def __init__(self, d_model, max_len=64):
        super().__init__()
        position = torch.arange(max_len).unsqueeze(1)
        div_term = torch.exp(torch.arange(0, d_model, 2) * (-math.log(10000.0) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(position * div_term)
        pe[:, 1::2] = torch.cos(position * div_term)
        self.register_buffer("pe", pe)

    def forward(self, x):
        return x + self.pe[: x.size(1)]


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, d_model)
        self.pos = PositionalEncoding(d_model)
        layer = nn.TransformerEncoderLayer(d_model, nhead=2, dim_feedforward=32, dropout=0.0, batch_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(d_model, 2)

    def forward(self, x):
        padding = x == pad
        h = self.encoder(self.pos(self.embedding(x) * math.sqrt(d_model)), src_key_padding_mask=padding)
        keep = (~padding).unsqueeze(-1).float()
        return self.head((h * keep).sum(dim=1) / keep.sum(dim=1))


model = Classifier()
init = np.random.default_rng(1)  # the same starting weights in every framework
with torch.no_grad():
    for name, p in model.named_parameters():
        if "norm" not in name:
            p.copy_(torch.tensor(init.normal(0.0, 0.2, tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01)
loss_fn = nn.CrossEntropyLoss()
losses = []
for step in range(30):
    optimizer.zero_grad()
    loss = loss_fn(model(tokens), labels)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}")
result = {"losses": losses}
