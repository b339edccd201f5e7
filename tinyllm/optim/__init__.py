"""Optimizers, named as in PyTorch's ``torch.optim``: SGD, Adam, AdamW."""

from __future__ import annotations

from tinyllm.optim.adam import Adam, AdamW
from tinyllm.optim.optimizer import Optimizer
from tinyllm.optim.sgd import SGD

__all__ = ["SGD", "Adam", "AdamW", "Optimizer"]
