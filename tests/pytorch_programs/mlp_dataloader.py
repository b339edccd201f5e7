"""A two-layer MLP on a DataLoader over a TensorDataset, with a random train/validation split."""

import numpy as np
import torch
import torch.nn as nn
from torch.utils.data import DataLoader, TensorDataset, random_split

torch.manual_seed(0)
rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((512, 2)), dtype=torch.float32)
y = ((X[:, 0] * X[:, 1]) > 0).long()  # XOR-like quadrants: not linearly separable

dataset = TensorDataset(X, y)
train_set, val_set = random_split(dataset, [0.8, 0.2], generator=torch.Generator().manual_seed(42))
train_loader = DataLoader(train_set, batch_size=32, shuffle=True)
val_loader = DataLoader(val_set, batch_size=64)

model = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
loss_fn = nn.CrossEntropyLoss()
optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)

epoch_losses = []
for epoch in range(15):
    model.train()
    running = 0.0
    for xb, yb in train_loader:
        optimizer.zero_grad()
        loss = loss_fn(model(xb), yb)
        loss.backward()
        optimizer.step()
        running += loss.item() * xb.size(0)
    epoch_losses.append(running / len(train_set))

model.eval()
correct = 0
with torch.no_grad():
    for xb, yb in val_loader:
        correct += (model(xb).argmax(1) == yb).float().sum().item()
accuracy = correct / len(val_set)
print(f"loss {epoch_losses[0]:.3f} -> {epoch_losses[-1]:.3f}, validation accuracy {accuracy:.2%}")
result = {"losses": epoch_losses, "accuracy": accuracy, "sizes": [len(train_set), len(val_set)]}
