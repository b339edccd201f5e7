"""Save a model's and optimizer's state dicts, load them into fresh objects, and resume training."""

import os
import tempfile

import numpy as np
import torch
import torch.nn as nn

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 5)), dtype=torch.float32)
y = torch.tensor(rng.integers(0, 3, 64), dtype=torch.long)


def make_model():
    model = nn.Sequential(nn.Linear(5, 8), nn.GELU(), nn.Dropout(0.0), nn.Linear(8, 3))
    init = np.random.default_rng(1)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(torch.tensor(init.uniform(-0.4, 0.4, tuple(p.shape)), dtype=torch.float32))
    return model


def train(model, optimizer, steps):
    losses = []
    for _ in range(steps):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


model = make_model()
optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
first = train(model, optimizer, 5)
with tempfile.TemporaryDirectory() as folder:
    path = os.path.join(folder, "checkpoint.pt")
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(), "epoch": 5}, path)
    checkpoint = torch.load(path)

resumed = make_model()
resumed.load_state_dict(checkpoint["model"])
resumed_opt = torch.optim.Adam(resumed.parameters(), lr=0.01)
resumed_opt.load_state_dict(checkpoint["optimizer"])
same_output = torch.allclose(resumed(X), model(X))
continued = train(model, optimizer, 5)
after_resume = train(resumed, resumed_opt, 5)
print(f"epoch {checkpoint['epoch']}: continued {continued[-1]:.5f}, resumed {after_resume[-1]:.5f}")
result = {"losses": first + continued, "resumed": after_resume, "same_output": bool(same_output)}
