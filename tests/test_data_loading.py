"""Splits, the DataLoader (shuffling, resuming, bucketing), collation and language-model batches."""

from __future__ import annotations

import json
import math
import re

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.data import (
    DataLoader,
    LabeledTexts,
    collate_sequences,
    encode_labeled,
    lm_batches,
    sequential_lm_batches,
    split_tokens,
    train_val_test_split,
)
from tinyllm.models import TextClassifier
from tinyllm.train import fit


def _labeled(counts: dict[str, int]) -> LabeledTexts:
    """Unique texts "<class>-<i>", class by class."""
    texts, labels = [], []
    for label, (name, n) in enumerate(counts.items()):
        texts += [f"{name}-{i}" for i in range(n)]
        labels += [label] * n
    return LabeledTexts(texts, labels, list(counts))


def _identity(batch: list) -> list:
    return batch


def _order(loader: DataLoader) -> list[int]:
    """One epoch of a loader over integers, collated by _identity, as a flat list."""
    return [i for batch in loader for i in batch]


# ----------------------------------------------------------------------------- splits


def test_stratified_split_gives_every_class_the_same_proportions() -> None:
    data = _labeled({"a": 503, "b": 301, "c": 97})
    parts = train_val_test_split(data, (0.7, 0.2, 0.1), seed=3)
    for part, f in zip(parts, (0.7, 0.2, 0.1)):
        for name, n in {"a": 503, "b": 301, "c": 97}.items():
            assert abs(part.class_counts()[name] - n * f) <= 1, (name, f, part.class_counts())


def test_split_puts_every_example_in_exactly_one_part() -> None:
    data = _labeled({"a": 40, "b": 23})
    parts = train_val_test_split(data, seed=1)
    texts = [t for part in parts for t in part.texts]
    assert sorted(texts) == sorted(data.texts)
    for part in parts:  # each text keeps its label
        assert all(t.startswith(part.classes[y]) for t, y in part)


def test_split_is_deterministic_for_a_seed_and_differs_between_seeds() -> None:
    data = _labeled({"a": 50, "b": 50})
    first = [p.texts for p in train_val_test_split(data, seed=7)]
    again = [p.texts for p in train_val_test_split(data, seed=7)]
    other = [p.texts for p in train_val_test_split(data, seed=8)]
    assert first == again
    assert first != other


def test_split_of_plain_sequences_and_arrays_has_exact_sizes() -> None:
    train, val, test = train_val_test_split(list(range(100)), seed=0)
    assert (len(train), len(val), len(test)) == (80, 10, 10)
    assert sorted(train + val + test) == list(range(100))
    parts = train_val_test_split(np.arange(50).reshape(25, 2), (0.6, 0.4), seed=0)
    assert [p.shape for p in parts] == [(15, 2), (10, 2)]
    assert sorted(np.concatenate(parts)[:, 0].tolist()) == list(range(0, 50, 2))


@pytest.mark.parametrize(
    ("fractions", "message"),
    [((0.8, 0.1), "add up to 1"), ((1.2, -0.2), ">= 0"), ((), "non-empty"), ((0.5, math.nan, 0.5), "finite")],
)
def test_split_rejects_bad_fractions(fractions: tuple, message: str) -> None:
    with pytest.raises(ValueError, match=f"train_val_test_split: fractions .*{message}"):
        train_val_test_split(list(range(10)), fractions)


def test_split_tokens_cuts_contiguous_parts_in_order() -> None:
    tokens = np.arange(1000)
    train, val, test = split_tokens(tokens, (0.9, 0.05, 0.05))
    assert (len(train), len(val), len(test)) == (900, 50, 50)
    assert np.array_equal(np.concatenate([train, val, test]), tokens)


def test_split_tokens_checks_each_part_can_hold_a_window() -> None:
    with pytest.raises(
        ValueError, match=r"split_tokens: part 1 has 5 of the 100 tokens, .* block_size \+ 1 = 9"
    ):
        split_tokens(np.arange(100), (0.9, 0.05, 0.05), block_size=8)


# ----------------------------------------------------------------------------- DataLoader: batches and order


def test_loader_batches_have_batch_size_and_a_short_last_one_unless_dropped() -> None:
    loader = DataLoader(list(range(10)), batch_size=3, collate_fn=_identity)
    assert len(loader) == 4
    assert list(loader) == [[0, 1, 2], [3, 4, 5], [6, 7, 8], [9]]
    dropping = DataLoader(list(range(10)), batch_size=3, drop_last=True, collate_fn=_identity)
    assert len(dropping) == 3
    assert [len(b) for b in dropping] == [3, 3, 3]


def test_shuffle_is_deterministic_per_seed_and_new_each_epoch() -> None:
    a = DataLoader(list(range(50)), batch_size=4, shuffle=True, seed=11, collate_fn=_identity)
    b = DataLoader(list(range(50)), batch_size=4, shuffle=True, seed=11, collate_fn=_identity)
    c = DataLoader(list(range(50)), batch_size=4, shuffle=True, seed=12, collate_fn=_identity)
    epochs_a = [_order(a) for _ in range(3)]
    assert epochs_a == [_order(b) for _ in range(3)]
    assert _order(c) != epochs_a[0]
    assert epochs_a[0] != epochs_a[1] != epochs_a[2]
    assert all(sorted(e) == list(range(50)) for e in epochs_a)
    assert a.epoch == 3


def test_shuffle_without_a_seed_follows_tl_manual_seed() -> None:
    orders = []
    for _ in range(2):
        tl.manual_seed(5)
        orders.append(_order(DataLoader(list(range(30)), batch_size=5, shuffle=True, collate_fn=_identity)))
    assert orders[0] == orders[1] != list(range(30))


def test_state_dict_resume_mid_epoch_gives_exactly_the_remaining_batches() -> None:
    data = [(np.arange(1, 2 + i % 7), i) for i in range(23)]
    loader = DataLoader(data, batch_size=4, shuffle=True, seed=2, bucket_by_length=True, bucket_batches=2)
    list(loader)  # epoch 0
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = json.loads(json.dumps(loader.state_dict()))  # plain numbers, as a checkpoint holds them
    assert (state["epoch"], state["position"]) == (1, 3)
    expected = list(it) + list(loader)  # the rest of epoch 1, then epoch 2

    resumed = DataLoader(data, batch_size=4, shuffle=True, seed=999, bucket_by_length=True, bucket_batches=2)
    resumed.load_state_dict(state)
    got = list(resumed) + list(resumed)
    assert len(got) == len(expected) == len(loader) - 3 + len(loader)
    for (ids, lengths, labels), (ids2, lengths2, labels2) in zip(got, expected):
        assert np.array_equal(ids.numpy(), ids2.numpy())
        assert np.array_equal(lengths.numpy(), lengths2.numpy())
        assert np.array_equal(labels.numpy(), labels2.numpy())


def test_state_saved_after_an_epochs_last_batch_resumes_with_an_empty_rest_then_the_next_epoch() -> None:
    loader = DataLoader(list(range(6)), batch_size=2, shuffle=True, seed=0, collate_fn=_identity)
    it = iter(loader)
    for _ in range(3):
        next(it)
    state = loader.state_dict()
    assert list(it) == []  # only the end of the epoch was left
    next_epoch = list(loader)
    resumed = DataLoader(list(range(6)), batch_size=2, shuffle=True, seed=0, collate_fn=_identity)
    resumed.load_state_dict(state)
    assert list(resumed) == []
    assert list(resumed) == next_epoch


def test_fit_resumed_from_a_checkpoint_with_a_fresh_loader_is_bit_identical(tmp_path) -> None:
    rng = np.random.default_rng(0)
    data = [(rng.integers(1, 10, size=int(n)), int(n % 2)) for n in rng.integers(1, 9, size=40)]

    def run(directory: str, interrupt_at: int | None = None, resume: bool = False) -> list[np.ndarray]:
        tl.manual_seed(0)
        model = TextClassifier(10, 4, 8, 2, n_layers=1, dropout=0.2)
        loader = DataLoader(data, batch_size=8, shuffle=True, bucket_by_length=True, bucket_batches=2)

        def stop(step: int, history: object) -> None:
            if step == interrupt_at:
                raise KeyboardInterrupt

        opt = tl.optim.Adam(model.parameters(), lr=0.01)
        options = {"checkpoint_dir": directory, "resume": resume, "callback": stop, "progress": False}
        fit(model, opt, loader, epochs=3, **options)
        return [p.data.copy() for p in model.parameters()]

    straight = run(str(tmp_path / "straight"))
    run(str(tmp_path / "split"), interrupt_at=7)  # in the middle of epoch 1 (5 batches an epoch)
    resumed = run(str(tmp_path / "split"), resume=True)
    assert all(np.array_equal(p, q) for p, q in zip(straight, resumed))


def test_a_loop_that_breaks_continues_where_it_stopped_and_set_epoch_restarts() -> None:
    loader = DataLoader(list(range(8)), batch_size=2, collate_fn=_identity)
    for batch in loader:  # noqa: B007 (the batch it stopped at is the point)
        break
    assert batch == [0, 1]
    assert next(iter(loader)) == [2, 3]
    loader.set_epoch(0)
    assert list(loader) == [[0, 1], [2, 3], [4, 5], [6, 7]]


def test_load_state_dict_refuses_a_state_from_a_loader_built_differently() -> None:
    state = DataLoader(list(range(10)), batch_size=2).state_dict()
    with pytest.raises(ValueError, match=r"load_state_dict: .*batch_size=2 \(this loader has 5\)"):
        DataLoader(list(range(10)), batch_size=5).load_state_dict(state)
    with pytest.raises(KeyError, match="lacks"):
        DataLoader(list(range(10)), batch_size=2).load_state_dict({"epoch": 0})


def _padding(batches: list[list[tuple[np.ndarray, int]]]) -> int:
    """Pad tokens the batches would need: sum over batches of B * max length - sum of lengths."""
    return sum(len(b) * max(len(x) for x, _ in b) - sum(len(x) for x, _ in b) for b in batches)


def test_bucketing_cuts_padding_and_still_yields_every_example_once() -> None:
    rng = np.random.default_rng(0)
    data = [(np.ones(int(n), dtype=np.int64), i) for i, n in enumerate(rng.integers(1, 200, size=1000))]
    plain = DataLoader(data, batch_size=16, shuffle=True, seed=1, collate_fn=_identity)
    bucketed = DataLoader(
        data, batch_size=16, shuffle=True, seed=1, collate_fn=_identity, bucket_by_length=True
    )
    plain_batches, bucketed_batches = list(plain), list(bucketed)
    assert len(bucketed_batches) == len(bucketed) == len(plain)
    assert _padding(bucketed_batches) < 0.1 * _padding(plain_batches)
    assert sorted(i for b in bucketed_batches for _, i in b) == list(range(1000))
    next_epoch = list(bucketed)  # batches come in a new random order each epoch
    assert [[i for _, i in b] for b in next_epoch] != [[i for _, i in b] for b in bucketed_batches]


def test_bucketing_with_drop_last_drops_only_the_short_batch() -> None:
    data = [(np.ones(1 + i % 9, dtype=np.int64), i) for i in range(103)]
    loader = DataLoader(data, batch_size=10, shuffle=True, seed=0, drop_last=True, bucket_by_length=True,
                        bucket_batches=3, collate_fn=_identity)  # fmt: skip
    batches = list(loader)
    assert len(batches) == len(loader) == 10
    assert all(len(b) == 10 for b in batches)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"batch_size": 0}, "batch_size must be a positive integer"), ({"seed": -1}, "seed must be")],
)
def test_loader_rejects_bad_arguments(kwargs: dict, message: str) -> None:
    with pytest.raises(ValueError, match=f"DataLoader: {message}"):
        DataLoader(list(range(4)), **kwargs)


def test_loader_rejects_an_empty_dataset() -> None:
    with pytest.raises(ValueError, match="DataLoader: the dataset is empty"):
        DataLoader([])


# ----------------------------------------------------------------------------- collate


def test_collate_pads_sequences_and_returns_lengths_and_labels(device: str) -> None:
    batch = [(np.array([5, 6, 7]), 1), ([8], 0), (np.array([9, 10], dtype=np.int32), 2)]
    ids, lengths, labels = collate_sequences(batch, pad_id=-1, device=device)
    assert ids.tolist() == [[5, 6, 7], [8, -1, -1], [9, 10, -1]]
    assert lengths.tolist() == [3, 1, 2]
    assert labels.tolist() == [1, 0, 2]
    for t in (ids, lengths, labels):
        assert t.dtype == tl.int64 and t.device == device


def test_collate_stacks_fixed_shape_arrays_and_tuples(device: str) -> None:
    images = collate_sequences([np.zeros((2, 3), np.float32), np.ones((2, 3), np.float32)], device=device)
    assert images.shape == (2, 2, 3) and images.dtype == tl.float32 and images.device == device
    x, y = collate_sequences([(np.array([0.5, 1.5]), 1), (np.array([2.5, 3.5]), 0)])
    assert x.tolist() == [[0.5, 1.5], [2.5, 3.5]] and x.dtype == tl.float64  # floats are features, not ids
    assert y.tolist() == [1, 0]


def test_collate_names_an_empty_sequence() -> None:
    with pytest.raises(
        ValueError, match="collate_sequences: example 1 of the batch has an empty token sequence"
    ):
        collate_sequences([(np.array([1, 2]), 0), (np.array([], dtype=np.int64), 1)])


def test_collate_says_texts_must_be_encoded_first() -> None:
    with pytest.raises(TypeError, match="not numbers; encode texts into token ids first"):
        collate_sequences([("a good film", 1), ("dull", 0)])


def test_collate_names_an_example_whose_shape_differs() -> None:
    with pytest.raises(ValueError, match=r"example 1 has shape \(3,\) but example 0 has \(2,\)"):
        collate_sequences([np.zeros(2), np.zeros(3)])


class _CharTokenizer:
    """The duck-typed tokenizer the helpers need: encode(text) -> list[int]."""

    def encode(self, text: str) -> list[int]:
        return [ord(c) - ord("a") + 1 for c in text if c.isalpha()]


def test_encode_labeled_then_a_loader_gives_classifier_batches() -> None:
    data = LabeledTexts(["ab", "c", "abcd"], [1, 0, 1], ["neg", "pos"])
    examples = encode_labeled(data, _CharTokenizer())
    assert [(x.tolist(), y) for x, y in examples] == [([1, 2], 1), ([3], 0), ([1, 2, 3, 4], 1)]
    assert examples[0][0].dtype == np.int64
    ids, lengths, labels = next(iter(DataLoader(examples, batch_size=3)))
    assert ids.tolist() == [[1, 2, 0, 0], [3, 0, 0, 0], [1, 2, 3, 4]]
    assert lengths.tolist() == [2, 1, 4] and labels.tolist() == [1, 0, 1]


def test_encode_labeled_names_a_text_that_encodes_to_nothing() -> None:
    data = LabeledTexts(["ab", "123"], [1, 0], ["neg", "pos"])
    with pytest.raises(ValueError, match="encode_labeled: text 1 encodes to no tokens: '123'"):
        encode_labeled(data, _CharTokenizer())


# ----------------------------------------------------------------------------- language-model batches


def test_lm_batches_are_windows_with_targets_shifted_by_one(device: str) -> None:
    tokens = np.arange(100, 400, dtype=np.int32)
    batches = list(lm_batches(tokens, block_size=8, batch_size=5, steps=4, seed=0, device=device))
    assert len(batches) == 4
    for x, y in batches:
        assert x.shape == y.shape == (5, 8) and x.dtype == y.dtype == tl.int64 and x.device == device
        x, y = x.numpy(), y.numpy()
        assert np.array_equal(x - x[:, :1], np.broadcast_to(np.arange(8), (5, 8)))  # contiguous windows
        assert np.array_equal(y, x + 1)
        assert x.min() >= 100 and y.max() <= 399


def test_lm_batches_repeat_for_a_seed_and_follow_tl_manual_seed() -> None:
    tokens = np.arange(1000)

    def first(seed: int | None) -> list[list[int]]:
        return next(lm_batches(tokens, 4, 3, seed=seed))[0].tolist()

    assert first(1) == first(1) != first(2)
    tl.manual_seed(3)
    a = first(None)
    tl.manual_seed(3)
    assert first(None) == a


def test_lm_batches_reach_the_last_token_and_say_when_tokens_are_too_few() -> None:
    x, y = next(lm_batches(np.arange(9), block_size=8, batch_size=2, seed=0))  # only one window fits
    assert x.tolist() == [list(range(8))] * 2 and y.tolist() == [list(range(1, 9))] * 2
    with pytest.raises(ValueError, match=r"lm_batches: 8 tokens are too few for block_size 8: .* 9"):
        lm_batches(np.arange(8), block_size=8, batch_size=2)


def test_sequential_lm_batches_continue_each_row_from_the_previous_batch(device: str) -> None:
    tokens = np.arange(103)  # B=4 streams of L=(103-1)//4=25 tokens, 25//6 = 4 batches
    batches = list(sequential_lm_batches(tokens, block_size=6, batch_size=4, device=device))
    assert len(batches) == 4
    xs = np.concatenate([x.numpy() for x, _ in batches], axis=1)
    ys = np.concatenate([y.numpy() for _, y in batches], axis=1)
    assert np.array_equal(xs, np.arange(4)[:, None] * 25 + np.arange(24))  # row b reads stream b in order
    assert np.array_equal(ys, xs + 1)
    for (_, y), (x_next, _) in zip(batches, batches[1:]):
        assert np.array_equal(x_next.numpy()[:, 0], y.numpy()[:, -1])
    assert all(x.shape == (4, 6) and x.device == device for x, _ in batches)


def test_sequential_lm_batches_say_when_tokens_are_too_few() -> None:
    with pytest.raises(
        ValueError, match=r"sequential_lm_batches: 20 tokens are too few .* need at least .* = 25"
    ):
        sequential_lm_batches(np.arange(20), block_size=6, batch_size=4)


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"epoch": -5}, "epoch must be a whole number >= 0, not -5"),
        ({"epoch": 1.5}, "epoch must be a whole number >= 0, not 1.5"),
        ({"position": -1}, "position must be a whole number >= 0"),
        ({"position": 6}, "position 6 is outside the epoch's 5 batches"),
        ({"seed": "abc"}, "seed must be a whole number >= 0, not 'abc'"),
        ({"seed": True}, "seed must be a whole number >= 0"),
    ],
)
def test_load_state_dict_names_a_value_outside_its_range(change: dict, named: str) -> None:
    loader = DataLoader(list(range(10)), batch_size=2, shuffle=True, seed=4)
    state = {**loader.state_dict(), **change}
    with pytest.raises(ValueError, match=re.escape(named)):
        DataLoader(list(range(10)), batch_size=2, shuffle=True, seed=4).load_state_dict(state)


def test_an_unshuffled_loader_resumes_without_a_seed() -> None:
    loader = DataLoader(list(range(10)), batch_size=2)
    next(iter(loader))
    resumed = DataLoader(list(range(10)), batch_size=2)
    resumed.load_state_dict(loader.state_dict())
    assert [b.tolist() for b in resumed] == [[2, 3], [4, 5], [6, 7], [8, 9]]
