"""A training loop with momentum, a OneCycle schedule stepped every batch, and gradient clipping."""

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.optim.lr_scheduler import OneCycleLR

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((128, 4)), dtype=torch.float32)
y = torch.tensor(np.sin(rng.standard_normal((128, 1)) + X.numpy()[:, :1]), dtype=torch.float32)

model = nn.Sequential(nn.Linear(4, 16), nn.Tanh(), nn.Linear(16, 1))
with torch.no_grad():  # the same starting weights in every framework
    for p in model.parameters():
        p.copy_(torch.tensor(rng.uniform(-0.5, 0.5, tuple(p.shape)), dtype=torch.float32))
optimizer = torch.optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-4)
epochs, steps_per_epoch = 5, 4
scheduler = OneCycleLR(optimizer, max_lr=0.2, epochs=epochs, steps_per_epoch=steps_per_epoch)

losses, lrs, norms = [], [], []
for epoch in range(epochs):
    for i in range(steps_per_epoch):
        xb, yb = X[i * 32 : (i + 1) * 32], y[i * 32 : (i + 1) * 32]
        optimizer.zero_grad()
        loss = F.mse_loss(model(xb), yb)
        loss.backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm=0.5)))
        optimizer.step()
        scheduler.step()
        losses.append(loss.item())
        lrs.append(scheduler.get_last_lr()[0])
print(f"loss {losses[0]:.4f} -> {losses[-1]:.4f}, last lr {lrs[-1]:.2e}")
result = {"losses": losses, "lrs": lrs, "norms": norms}
