"""Batches: a resumable DataLoader with length bucketing, the padding collate, and language-model batches.

A classifier's batch is ``(ids (B, T) int64, lengths (B,) int64, labels (B,) int64)``:
the token ids padded to the longest sequence T of the batch. A language model's
batch is ``(x (B, T), y (B, T))`` with y the next token after each x, i.e. x shifted
by one along the text.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, Protocol

import numpy

from tinyllm import backend
from tinyllm.creation import tensor
from tinyllm.data.checks import check_count, check_flag, check_seed
from tinyllm.data.datasets import LabeledTexts
from tinyllm.tensor import Tensor


class Tokenizer(Protocol):
    def encode(self, text: str) -> list[int]: ...


class Dataset(Protocol):
    def __len__(self) -> int: ...

    def __getitem__(self, i: int) -> Any: ...


# ----------------------------------------------------------------------------- collate


def collate_sequences(batch: Sequence[Any], pad_id: int = 0, device: str | backend.Device | None = None) -> Any:
    """Turn a list of examples into tensors on ``device`` (None: the default device, see
    :func:`tinyllm.set_default_device`, as PyTorch's ``default_collate`` follows it).

    - ``(ids, label)`` pairs, ids a 1-D integer sequence of any length and label an
      int: returns ``(ids (B, T), lengths (B,), labels (B,))``, all int64, with ids
      padded by ``pad_id`` after each sequence up to the longest, T = max(lengths).
      Batches of equal lengths give the same three tensors (no padding).
    - anything else: each example is an array (or number) or a tuple of them, with
      the same shapes across the batch; they are stacked into one tensor (B, ...) or a
      tuple of such tensors, keeping NumPy's dtypes.

    An empty sequence, a text that was not encoded, or shapes that do not match
    raise an error naming the example's position in the batch.
    """
    fn = "collate_sequences"
    if len(batch) == 0:
        raise ValueError(f"{fn}: the batch is empty")
    if _is_sequence_example(batch[0]):
        return _pad(batch, pad_id, device, fn)
    if isinstance(batch[0], tuple):
        width = len(batch[0])
        for i, example in enumerate(batch):
            if not isinstance(example, tuple) or len(example) != width:
                raise TypeError(
                    f"{fn}: example 0 is a tuple of {width} fields, but example {i} is {_kind(example)}"
                )
        return tuple(_stack([ex[k] for ex in batch], f"{fn}: field {k}", device) for k in range(width))
    return _stack(batch, fn, device)


def _is_sequence_example(example: Any) -> bool:
    if not (
        isinstance(example, tuple) and len(example) == 2 and isinstance(example[1], (int, numpy.integer))
    ):
        return False
    ids = numpy.asarray(example[0])
    return ids.ndim == 1 and (ids.dtype.kind in "iu" or ids.size == 0)


def _kind(example: Any) -> str:
    return f"a tuple of {len(example)} fields" if isinstance(example, tuple) else type(example).__name__


def _pad(
    batch: Sequence[Any], pad_id: int, device: str | backend.Device, fn: str
) -> tuple[Tensor, Tensor, Tensor]:
    rows = []
    for i, example in enumerate(batch):
        if not _is_sequence_example(example):
            raise TypeError(f"{fn}: example 0 is an (ids, label) pair, but example {i} is {_kind(example)}")
        ids = numpy.asarray(example[0])
        if ids.size == 0:
            raise ValueError(
                f"{fn}: example {i} of the batch has an empty token sequence (label {example[1]})"
            )
        rows.append(ids)
    lengths = numpy.array([len(r) for r in rows], dtype=numpy.int64)
    padded = numpy.full((len(rows), int(lengths.max())), pad_id, dtype=numpy.int64)
    for i, r in enumerate(rows):
        padded[i, : len(r)] = r
    labels = numpy.array([int(ex[1]) for ex in batch], dtype=numpy.int64)
    return tensor(padded, device=device), tensor(lengths, device=device), tensor(labels, device=device)


def _stack(values: Sequence[Any], what: str, device: str | backend.Device) -> Tensor:
    arrays = [numpy.asarray(v) for v in values]
    for i, a in enumerate(arrays):
        if a.dtype.kind not in "biuf":
            raise TypeError(
                f"{what}: example {i} holds {a.dtype} values ({type(values[i]).__name__}), not numbers; "
                "encode texts into token ids first, e.g. with encode_labeled(data, tokenizer)"
            )
        if a.shape != arrays[0].shape:
            raise ValueError(
                f"{what}: example {i} has shape {a.shape} but example 0 has {arrays[0].shape}; "
                "variable-length sequences must come as (ids, label) pairs to be padded"
            )
    return tensor(numpy.stack(arrays), device=device)


def encode_labeled(data: LabeledTexts, tokenizer: Tokenizer) -> list[tuple[numpy.ndarray, int]]:
    """``(ids int64 (T_i,), label)`` per text, encoded with ``tokenizer.encode``: a DataLoader's dataset."""
    examples = []
    for i, (text, label) in enumerate(data):
        ids = numpy.asarray(tokenizer.encode(text), dtype=numpy.int64)
        if ids.size == 0:
            raise ValueError(f"encode_labeled: text {i} encodes to no tokens: {text[:80]!r}")
        examples.append((ids, label))
    return examples


# ----------------------------------------------------------------------------- DataLoader


class DataLoader:
    """Batches of ``dataset[i]`` (anything with ``len`` and integer indexing), collated by ``collate_fn``.

    ``len(loader)`` is the number of batches in an epoch: ceil(n / batch_size), or
    floor with ``drop_last`` (which drops the last, smaller batch). The default
    ``collate_fn`` is :func:`collate_sequences`, whose batches go to the default device
    (``tl.set_default_device("cuda")`` puts them on the GPU; so does
    ``functools.partial(collate_sequences, device="cuda")``). The order of the examples
    is always drawn on the host.

    Shuffling. With ``shuffle`` the order of epoch e is drawn by a NumPy Generator
    seeded with (seed, e): a different order every epoch, the same for the same
    seed and epoch. ``seed=None`` draws the seed once, here, from tinyllm's default
    CPU generator, so it follows ``tl.manual_seed``.

    Resuming. The loader remembers where it is: ``epoch`` and ``position`` (batches
    of this epoch already handed out). Iterating yields the rest of the current
    epoch; when the epoch is used up, ``epoch`` goes up by one and ``position`` back
    to 0. ``state_dict()`` is that place as plain numbers,
    ``{"epoch", "position", "seed", "dataset_len", "batch_size", "shuffle",
    "drop_last", "bucket_by_length"}``, and ``load_state_dict`` goes back to it, so a
    training loop can stop in the middle of an epoch, save the state with its
    checkpoint, and resume with exactly the batches it would have seen: the run is
    bit-identical to one that never stopped. Because the position lives in the
    loader, a loop that breaks out early continues there the next time;
    ``set_epoch(e)`` starts epoch e from its first batch. One pass at a time.

    Bucketing. Padding a batch to its longest sequence wastes work on the shorter
    ones. With ``bucket_by_length`` the (shuffled) examples are cut into chunks of
    ``bucket_batches`` batches' worth, each chunk is sorted by length, cut into
    batches, and the batches are then shuffled: each batch holds similar lengths
    (little padding) while batches still come in random order and every example is
    used once per epoch. A length is ``len(example[0])`` for tuples, else ``len(example)``.
    """

    def __init__(self, dataset: Dataset, batch_size: int = 1, shuffle: bool = False, drop_last: bool = False,
                 collate_fn: Callable[[list[Any]], Any] | None = None, seed: int | None = None,
                 bucket_by_length: bool = False, bucket_batches: int = 50) -> None:  # fmt: skip
        if not (hasattr(dataset, "__len__") and hasattr(dataset, "__getitem__")):
            raise TypeError(
                f"DataLoader: the dataset needs len() and indexing, and {type(dataset).__name__} lacks one"
            )
        fn = "DataLoader"
        check_count(fn, "batch_size", batch_size)
        check_count(fn, "bucket_batches", bucket_batches)
        for name, flag in (("shuffle", shuffle), ("drop_last", drop_last), ("bucket_by_length", bucket_by_length)):
            check_flag(fn, name, flag)
        if collate_fn is not None and not callable(collate_fn):
            raise TypeError(f"{fn}: collate_fn must be callable (a list of examples -> a batch), not {collate_fn!r}")
        if len(dataset) == 0:
            raise ValueError(f"{fn}: the dataset is empty")
        if drop_last and len(dataset) < batch_size:
            raise ValueError(
                f"{fn}: with drop_last, {len(dataset)} items and batch_size {batch_size} give no batch at all; "
                "use a batch_size <= the dataset's length, or drop_last=False"
            )
        check_seed(fn, seed)
        if seed is None and shuffle:
            seed = int(backend.default_generator("cpu").integers(0, 2**62, ()))
        self.dataset = dataset
        self.batch_size = int(batch_size)
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.collate_fn = collate_fn if collate_fn is not None else collate_sequences
        self.seed = None if seed is None else int(seed)
        self.bucket_by_length = bucket_by_length
        self.bucket_batches = int(bucket_batches)
        self.epoch = 0
        self.position = 0
        self._lengths: numpy.ndarray | None = None

    def __len__(self) -> int:
        n, b = len(self.dataset), self.batch_size
        return n // b if self.drop_last else -(-n // b)

    def __iter__(self) -> Iterator[Any]:
        batches = self._batches(self.epoch)
        while self.position < len(batches):
            indices = batches[self.position]
            self.position += 1  # before the yield: a state saved while the caller holds this batch skips it
            yield self.collate_fn([self.dataset[int(i)] for i in indices])
        self.epoch += 1
        self.position = 0

    def set_epoch(self, epoch: int) -> None:
        """Go to the first batch of ``epoch``."""
        self.epoch, self.position = int(epoch), 0

    def _batches(self, epoch: int) -> list[numpy.ndarray]:
        """The index arrays of the batches of ``epoch``, in order."""
        n, b = len(self.dataset), self.batch_size
        rng = numpy.random.default_rng([self.seed, epoch]) if self.shuffle else None
        order = rng.permutation(n) if rng is not None else numpy.arange(n)
        if self.bucket_by_length:
            lengths = self._example_lengths()
            chunk = self.bucket_batches * b
            chunks = numpy.split(order, range(chunk, n, chunk))
            order = numpy.concatenate([c[numpy.argsort(lengths[c], kind="stable")] for c in chunks])
        batches = numpy.split(order, range(b, n, b))
        if self.drop_last and len(batches[-1]) < b:
            batches.pop()
        if self.bucket_by_length and rng is not None:
            batches = [batches[i] for i in rng.permutation(len(batches))]
        return batches

    def _example_lengths(self) -> numpy.ndarray:
        if self._lengths is None:
            lengths = []
            for i in range(len(self.dataset)):
                example = self.dataset[i]
                seq = example[0] if isinstance(example, tuple) else example
                if not hasattr(seq, "__len__"):
                    raise TypeError(
                        f"DataLoader: bucket_by_length needs sized examples, but example {i} has no len()"
                    )
                lengths.append(len(seq))
            self._lengths = numpy.array(lengths, dtype=numpy.int64)
        return self._lengths

    def _config(self) -> dict[str, Any]:
        return {"dataset_len": len(self.dataset), "batch_size": self.batch_size, "shuffle": self.shuffle,
                "drop_last": self.drop_last, "bucket_by_length": self.bucket_by_length}  # fmt: skip

    def state_dict(self) -> dict[str, Any]:
        """Where the loader is: the next batch is batch ``position`` of epoch ``epoch`` (plain numbers)."""
        return {"epoch": self.epoch, "position": self.position, "seed": self.seed, **self._config()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Continue from ``state``; the loader must be built alike (dataset size, batch size, options)."""
        fn = "DataLoader.load_state_dict"
        missing = {"epoch", "position", "seed", *self._config()} - set(state)
        if missing:
            raise KeyError(f"{fn}: the state lacks {sorted(missing)}")
        differ = [
            f"{k}={state[k]!r} (this loader has {v!r})" for k, v in self._config().items() if state[k] != v
        ]
        if differ:
            raise ValueError(f"{fn}: the state is from a loader built differently: {', '.join(differ)}")
        for key in ("epoch", "position", "seed"):
            value = state[key]
            if key == "seed" and value is None:  # an unshuffled loader has no seed
                continue
            if not isinstance(value, (int, numpy.integer)) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{fn}: {key} must be a whole number >= 0, not {value!r}")
        if not state["position"] <= len(self):
            raise ValueError(f"{fn}: position {state['position']} is outside the epoch's {len(self)} batches")
        self.epoch, self.position = int(state["epoch"]), int(state["position"])
        self.seed = None if state["seed"] is None else int(state["seed"])


# ----------------------------------------------------------------------------- language-model batches


def _check_tokens(tokens: Any, block_size: int, batch_size: int, fn: str) -> numpy.ndarray:
    tokens = numpy.asarray(tokens)
    if tokens.ndim != 1 or tokens.dtype.kind not in "iu":
        raise ValueError(
            f"{fn}: tokens must be a 1-D integer array, not {tokens.dtype} of shape {tokens.shape}"
        )
    check_count(fn, "block_size", block_size)
    check_count(fn, "batch_size", batch_size)
    return tokens


def lm_batches(
    tokens: Any,
    block_size: int,
    batch_size: int,
    steps: int | None = None,
    seed: int | None = None,
    device: str | backend.Device | None = None,
) -> Iterator[tuple[Tensor, Tensor]]:
    """Random windows of a token array: ``(x, y)`` int64 tensors (B, T), y being x shifted by one token.

    Row b is x = tokens[o_b : o_b + T] and y = tokens[o_b + 1 : o_b + T + 1], with
    each offset o_b drawn uniformly from [0, N - T - 1] (N tokens, T = block_size,
    B = batch_size). Endless, or ``steps`` batches, on ``device`` (None: the default device).
    The offsets come from a NumPy Generator seeded with ``seed``, or, when it is None, from
    tinyllm's default CPU generator (so ``tl.manual_seed`` repeats them, on any device).
    """
    fn = "lm_batches"
    tokens = _check_tokens(tokens, block_size, batch_size, fn)
    if len(tokens) < block_size + 1:
        raise ValueError(f"{fn}: {len(tokens)} tokens are too few for block_size {block_size}: "
                         f"a window needs block_size + 1 = {block_size + 1}")  # fmt: skip
    if steps is not None and (not isinstance(steps, (int, numpy.integer)) or steps < 0):
        raise ValueError(f"{fn}: steps must be a non-negative integer or None, not {steps!r}")
    check_seed(fn, seed)
    rng = numpy.random.default_rng(seed) if seed is not None else backend.default_generator("cpu")
    window = numpy.arange(block_size)

    def batches() -> Iterator[tuple[Tensor, Tensor]]:
        step = 0
        while steps is None or step < steps:
            offsets = numpy.asarray(rng.integers(0, len(tokens) - block_size, (batch_size,)))
            idx = offsets[:, None] + window
            x, y = tokens[idx].astype(numpy.int64), tokens[idx + 1].astype(numpy.int64)
            yield tensor(x, device=device), tensor(y, device=device)
            step += 1

    return batches()


def sequential_lm_batches(
    tokens: Any, block_size: int, batch_size: int, device: str | backend.Device | None = None
) -> Iterator[tuple[Tensor, Tensor]]:
    """One pass over a token array as B parallel streams, for truncated backpropagation through time.

    The N tokens are cut into B contiguous streams of L = (N - 1) // B tokens
    (stream b starts at token b L), and batch k is columns [k T, (k + 1) T) of all
    streams: x (B, T) and y (B, T), y the next tokens. So row b of batch k + 1
    continues row b of batch k exactly (``x_{k+1}[b, 0] == y_k[b, -1]``), and a
    recurrent model can carry its hidden state from one batch to the next (detached,
    so gradients flow back only T steps). There are L // T batches; the last
    L mod T tokens of each stream are not used. Batches go to ``device`` (None: the default device).
    """
    fn = "sequential_lm_batches"
    tokens = _check_tokens(tokens, block_size, batch_size, fn)
    stream = (len(tokens) - 1) // batch_size
    if stream < block_size:
        raise ValueError(
            f"{fn}: {len(tokens)} tokens are too few for {batch_size} streams of block_size {block_size}: "
            f"need at least batch_size * block_size + 1 = {batch_size * block_size + 1}"
        )
    xs = tokens[: batch_size * stream].reshape(batch_size, stream)
    ys = tokens[1 : batch_size * stream + 1].reshape(batch_size, stream)

    def batches() -> Iterator[tuple[Tensor, Tensor]]:
        for start in range(0, stream - block_size + 1, block_size):
            x, y = (a[:, start : start + block_size].astype(numpy.int64) for a in (xs, ys))
            yield tensor(x, device=device), tensor(y, device=device)

    return batches()
