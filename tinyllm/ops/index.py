"""Looking rows up by id: the embedding table."""

from __future__ import annotations

from typing import Any

import numpy

from tinyllm import backend
from tinyllm.autograd import Function
from tinyllm.backend import get_array_module
from tinyllm.ops.scatter import scatter_add
from tinyllm.tensor import Tensor


class Embedding(Function):
    """Y[..., :] = W[ids[...], :], a row of the table for every id;
    dW[k] = sum of dY at every position whose id is k (ids repeat, so the rows are scatter-added).

    The row ``padding_idx``, if given, gets no gradient: padding stays where it was.
    """

    def forward(self, w: Any, ids: Any, padding_idx: int | None = None) -> Any:
        self.ids, self.shape, self.padding_idx = ids, w.shape, padding_idx
        return w[ids]

    def backward(self, gy: Any) -> Any:
        # BEGIN SOLUTION task=embedding
        gw = get_array_module(gy).zeros(self.shape, dtype=gy.dtype)
        scatter_add(gw, self.ids.reshape(-1), gy.reshape(-1, self.shape[1]))  # ids repeat: sum their rows
        if self.padding_idx is not None:
            gw[self.padding_idx] = 0
        return gw
        # END SOLUTION


def embedding(ids: Any, weight: Tensor, padding_idx: int | None = None) -> Tensor:
    """The rows of ``weight`` (V, C) picked by integer ``ids`` (any shape) -> ids.shape + (C,).

    An id outside [0, V) raises an IndexError naming it; the ``padding_idx`` row
    (if any) receives no gradient.
    """
    ids_array = ids.data if isinstance(ids, Tensor) else backend.get_array_module(weight.data).asarray(ids)
    if not numpy.issubdtype(ids_array.dtype, numpy.integer):
        raise TypeError(f"embedding: ids must be integers, not {ids_array.dtype}")
    if weight.ndim != 2:
        raise ValueError(
            f"embedding: the weight must be a (num_embeddings, embedding_dim) table, not shape {weight.shape}"
        )
    vocab = weight.shape[0]
    if ids_array.size:
        lo, hi = int(ids_array.min()), int(ids_array.max())
        if lo < 0 or hi >= vocab:
            bad = hi if hi >= vocab else lo
            raise IndexError(
                f"embedding: id {bad} is out of range for a vocabulary of {vocab} "
                f"(ids must be in [0, {vocab}))"
            )
    if padding_idx is not None:
        if not -vocab <= padding_idx < vocab:
            raise ValueError(f"embedding: padding_idx {padding_idx} is outside a vocabulary of {vocab}")
        padding_idx %= vocab
    backend.check_same_device([weight.data, ids_array], "embedding")
    return Embedding.apply(weight, ids=ids_array, padding_idx=padding_idx)
