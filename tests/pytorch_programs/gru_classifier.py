"""A bidirectional GRU classifier over variable-length sequences: pad_sequence and packing."""

import numpy as np
import torch
import torch.nn as nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_sequence

rng = np.random.default_rng(0)
vocab, n_classes = 12, 3
# the class is the most frequent token among 1, 2, 3 (shifted to 0..2)
sequences, labels = [], []
for _ in range(48):
    length = int(rng.integers(3, 9))
    seq = rng.integers(1, vocab, length)
    sequences.append(torch.tensor(seq, dtype=torch.long))
    counts = [(seq == k).sum() for k in (1, 2, 3)]
    labels.append(int(np.argmax(counts)))
lengths = torch.tensor([len(s) for s in sequences])
padded = pad_sequence(sequences, batch_first=True, padding_value=0)
targets = torch.tensor(labels)


class GRUClassifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(vocab, 8, padding_idx=0)
        self.gru = nn.GRU(8, 10, batch_first=True, bidirectional=True)
        self.fc = nn.Linear(20, n_classes)

    def forward(self, x, lengths):
        packed = pack_padded_sequence(self.embedding(x), lengths, batch_first=True, enforce_sorted=False)
        _, h_n = self.gru(packed)
        return self.fc(torch.cat((h_n[-2], h_n[-1]), dim=1))


model = GRUClassifier()
init = np.random.default_rng(1)  # the same starting weights in every framework
with torch.no_grad():
    for p in model.parameters():
        p.copy_(torch.tensor(init.uniform(-0.3, 0.3, tuple(p.shape)), dtype=torch.float32))
criterion = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=0.02)
losses = []
for step in range(40):
    optimizer.zero_grad()
    loss = criterion(model(padded, lengths), targets)
    loss.backward()
    optimizer.step()
    losses.append(loss.item())
accuracy = (model(padded, lengths).argmax(dim=1) == targets).float().mean().item()
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}, training accuracy {accuracy:.2f}")
result = {"losses": losses, "accuracy": accuracy, "padded": list(padded.shape)}
