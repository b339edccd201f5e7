"""A character-level LSTM language model: truncated backprop through time, clipping, sampling."""

import torch
import torch.nn as nn
import torch.nn.functional as F

torch.manual_seed(0)
text = "to be or not to be that is the question " * 30
chars = sorted(set(text))
char_to_ix = {c: i for i, c in enumerate(chars)}
data = torch.tensor([char_to_ix[c] for c in text], dtype=torch.long)


class CharLSTM(nn.Module):
    def __init__(self, vocab, hidden):
        super().__init__()
        self.embed = nn.Embedding(vocab, 16)
        self.lstm = nn.LSTM(16, hidden, num_layers=2, batch_first=True)
        self.fc = nn.Linear(hidden, vocab)

    def forward(self, x, hidden=None):
        out, hidden = self.lstm(self.embed(x), hidden)
        return self.fc(out), hidden


model = CharLSTM(len(chars), 64)
optimizer = torch.optim.Adam(model.parameters(), lr=5e-3)
seq_len, batch = 20, 8
starts = torch.arange(0, len(data) - seq_len - 1, seq_len)
losses = []
for epoch in range(4):
    hidden = None
    perm = starts[torch.randperm(len(starts))]
    for i in range(0, len(perm) - batch + 1, batch):
        idx = perm[i : i + batch]
        x = torch.stack([data[s : s + seq_len] for s in idx])
        y = torch.stack([data[s + 1 : s + seq_len + 1] for s in idx])
        logits, _ = model(x)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), y.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        losses.append(loss.item())


def sample(model, start, length, temperature=0.8):
    model.eval()
    x = torch.tensor([[char_to_ix[start]]])
    hidden, out = None, start
    with torch.no_grad():
        for _ in range(length):
            logits, hidden = model(x, hidden)
            probs = F.softmax(logits[0, -1] / temperature, dim=-1)
            ix = torch.multinomial(probs, 1).item()
            out += chars[ix]
            x = torch.tensor([[ix]])
    return out


text_out = sample(model, "t", 40)
print(f"loss {losses[0]:.3f} -> {losses[-1]:.3f}: {text_out!r}")
result = {"start": sum(losses[:5]) / 5, "end": sum(losses[-5:]) / 5, "sample": text_out}
