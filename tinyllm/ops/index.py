"""Looking rows up by id: the embedding table."""

from __future__ import annotations

from typing import Any

from tinyllm.backend import get_array_module
from tinyllm.ops.scatter import scatter_add
from tinyllm.tensor import Function


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
