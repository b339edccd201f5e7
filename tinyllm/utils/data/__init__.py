"""PyTorch's ``torch.utils.data``: datasets, samplers, ``default_collate`` and the DataLoader.

Loading a batch answers three questions, each by its own object, as in PyTorch:

- a **dataset** says what example i is (map-style: ``len(ds)`` and ``ds[i]``), or
  hands out examples one after another (an :class:`IterableDataset`);
- a **sampler** says which indices come in which order; a :class:`BatchSampler`
  groups them into lists, one list per batch;
- a **collate function** turns a list of examples into one batch of tensors
  (:func:`default_collate` stacks them).

:class:`DataLoader` wires the three together, so code written against
``torch.utils.data`` runs with ``tinyllm.utils.data`` in its place. For training
runs that must stop and resume mid-epoch, :class:`tinyllm.data.DataLoader` is the
resumable loader (it has a ``state_dict``); this one, like PyTorch's, has none.
"""

from __future__ import annotations

from tinyllm.utils.data.collate import default_collate, default_convert
from tinyllm.utils.data.dataloader import DataLoader
from tinyllm.utils.data.datasets import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    Subset,
    TensorDataset,
    random_split,
)
from tinyllm.utils.data.samplers import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = [
    "BatchSampler", "ChainDataset", "ConcatDataset", "DataLoader", "Dataset", "IterableDataset", "RandomSampler",
    "Sampler", "SequentialSampler", "Subset", "TensorDataset", "default_collate", "default_convert", "random_split",
]  # fmt: skip
