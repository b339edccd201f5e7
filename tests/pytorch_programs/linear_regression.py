"""Linear regression with raw autograd: tensors that require grad, a manual SGD step, grad.zero_()."""

import numpy as np
import torch

rng = np.random.default_rng(0)
X = torch.tensor(rng.standard_normal((64, 3)), dtype=torch.float32)
true_w = torch.tensor([[2.0], [-1.0], [0.5]])
y = X @ true_w + 0.3 + 0.01 * torch.tensor(rng.standard_normal((64, 1)), dtype=torch.float32)

w = torch.zeros(3, 1, requires_grad=True)
b = torch.zeros(1, requires_grad=True)
lr = 0.1
losses = []
for epoch in range(50):
    pred = X @ w + b
    loss = ((pred - y) ** 2).mean()
    loss.backward()
    with torch.no_grad():
        w -= lr * w.grad
        b -= lr * b.grad
        w.grad.zero_()
        b.grad.zero_()
    losses.append(loss.item())
    if epoch % 10 == 0:
        print(f"epoch {epoch}: loss {loss:.4f}")

result = {"losses": losses, "w": w.detach().numpy().ravel().tolist(), "b": b.item()}
