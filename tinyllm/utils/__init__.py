"""Utilities under PyTorch's names: ``tinyllm.utils.data`` is ``torch.utils.data``."""

from __future__ import annotations

from tinyllm.utils import data

__all__ = ["data"]
