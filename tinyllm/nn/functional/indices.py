"""Functions of class ids: ``one_hot``."""

from __future__ import annotations

from tinyllm import backend
from tinyllm.tensor import Tensor, from_array


def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """Class ids (any shape, int64) -> tensor.shape + (num_classes,) int64, with a 1 at each id.

    ``num_classes=-1`` takes max id + 1. Ids must lie in [0, num_classes); like PyTorch, a
    negative id or one too large is an error. Not differentiable (ids have no gradient).
    """
    fn = "one_hot"
    if tensor.dtype != backend.int64:
        raise TypeError(f"{fn}: needs an int64 tensor of class ids, not dtype {tensor.dtype}; convert with .long()")
    ids = tensor.data
    xp = backend.get_array_module(ids)
    if num_classes == -1:
        if ids.size == 0:
            raise ValueError(f"{fn}: cannot infer num_classes from an empty tensor; pass num_classes")
        num_classes = int(ids.max()) + 1
    if ids.size and int(ids.min()) < 0:
        raise ValueError(f"{fn}: class ids must be non-negative, but one is {int(ids.min())}")
    if ids.size and int(ids.max()) >= num_classes:
        raise ValueError(f"{fn}: class id {int(ids.max())} is out of range for num_classes={num_classes}")
    if num_classes < 0:
        raise ValueError(f"{fn}: num_classes must be -1 or non-negative, not {num_classes}")
    return from_array((ids[..., None] == xp.arange(num_classes)).astype(backend.int64))
