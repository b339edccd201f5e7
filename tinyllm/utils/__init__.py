"""Utilities named as in ``torch.utils``: moving weights to and from PyTorch."""

from __future__ import annotations

from tinyllm.interop import from_torch_state_dict, to_torch_state_dict

__all__ = ["from_torch_state_dict", "to_torch_state_dict"]
