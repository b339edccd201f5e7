"""Utilities under PyTorch's names: ``tinyllm.utils.data`` is ``torch.utils.data``; and moving
weights to and from PyTorch (``from_torch_state_dict``, ``to_torch_state_dict``, see tinyllm.interop)."""

from __future__ import annotations

from tinyllm.interop import from_torch_state_dict, to_torch_state_dict
from tinyllm.utils import data

__all__ = ["data", "from_torch_state_dict", "to_torch_state_dict"]
