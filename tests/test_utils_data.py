"""tinyllm.utils.data against torch.utils.data: datasets, samplers, collation and the DataLoader."""

from __future__ import annotations

import collections
import contextlib
import threading
import time
from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.nn import functional as F
from tinyllm.train import fit
from tinyllm.utils.data import (
    BatchSampler,
    ConcatDataset,
    DataLoader,
    Dataset,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    Subset,
    TensorDataset,
    default_collate,
    random_split,
)

Point = collections.namedtuple("Point", "x y")


def _plain(obj: Any) -> Any:
    """A batch as plain, comparable Python: tensors become (dtype name, shape, values)."""
    if hasattr(obj, "detach") or isinstance(obj, tl.Tensor):  # a torch or a tinyllm tensor
        a = obj.detach().numpy() if hasattr(obj, "detach") else obj.numpy()
        return (str(a.dtype), a.shape, a.tolist())
    if isinstance(obj, dict):
        return {k: _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return obj


def _data(n: int = 10) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, 3)).astype(np.float32), rng.integers(0, 4, n)


def _twins(torch: Any, n: int = 10) -> tuple[TensorDataset, Any]:
    X, y = _data(n)
    return TensorDataset(tl.tensor(X), tl.tensor(y)), torch.utils.data.TensorDataset(torch.tensor(X), torch.tensor(y))


def _indices(loader: Any) -> list[list[int]]:
    """The example indices of each batch, for a loader over ``range``-like integer examples."""
    return [b.tolist() for b in loader]


# ----------------------------------------------------------------------------- the same batches as PyTorch


@pytest.mark.parametrize(("batch_size", "drop_last"), [(1, False), (3, False), (3, True), (10, False), (32, False)])
def test_sequential_batches_match_torch(torch: Any, batch_size: int, drop_last: bool) -> None:
    ours, theirs = _twins(torch)
    mine = DataLoader(ours, batch_size=batch_size, drop_last=drop_last)
    ref = torch.utils.data.DataLoader(theirs, batch_size=batch_size, drop_last=drop_last)
    assert len(mine) == len(ref)
    assert [_plain(b) for b in mine] == [_plain(b) for b in ref]


def test_fixed_index_lists_match_torch(torch: Any) -> None:
    ours, theirs = _twins(torch)
    order = [7, 2, 2, 9, 0, 4, 1]
    batches = [[3, 1], [0], [9, 8, 7]]
    for kwargs in ({"sampler": order, "batch_size": 3}, {"batch_sampler": batches}, {"sampler": order}):
        mine = DataLoader(ours, **kwargs)
        ref = torch.utils.data.DataLoader(theirs, **kwargs)
        assert len(mine) == len(ref)
        assert [_plain(b) for b in mine] == [_plain(b) for b in ref]
    for drop_last in (False, True):
        assert list(BatchSampler(order, 3, drop_last)) == list(torch.utils.data.BatchSampler(order, 3, drop_last))
        assert len(BatchSampler(order, 3, drop_last)) == len(torch.utils.data.BatchSampler(order, 3, drop_last))
    assert list(SequentialSampler(range(5))) == list(torch.utils.data.SequentialSampler(range(5)))


def test_no_batching_converts_each_example_as_torch(torch: Any) -> None:
    examples = [(np.arange(3, dtype=np.int16), 2.5), {"a": np.float32(1), "b": "text"}, Point(np.ones(2), 1)]
    mine = list(DataLoader(examples, batch_size=None))
    ref = list(torch.utils.data.DataLoader(examples, batch_size=None))
    assert [_plain(b) for b in mine] == [_plain(b) for b in ref]
    assert isinstance(mine[2], Point)


def _nested_batches() -> list[list[Any]]:
    """Batches of examples of several structures, each batch of one structure."""
    arr = np.arange(6, dtype=np.float32).reshape(2, 3)
    return [
        [(np.float32(i), i, float(i), True, "s", arr + i) for i in range(4)],
        [{"a": [i, i + 1], "b": (np.int16(i), np.int64(i)), "c": {"d": np.float64(i)}} for i in range(3)],
        [Point(i, float(i)) for i in range(2)],
        [[np.zeros((2, 2), np.int32) + i, [1.5, 2.5]] for i in range(3)],
        [np.array([i, 2 * i], dtype=np.uint8) for i in range(3)],
    ]


@pytest.mark.parametrize("batch", _nested_batches())
def test_default_collate_gives_torch_structures_dtypes_and_values(torch: Any, batch: list[Any]) -> None:
    assert _plain(default_collate(batch)) == _plain(torch.utils.data.default_collate(batch))


def test_default_collate_stacks_tensors_as_torch(torch: Any) -> None:
    X, _ = _data(4)
    mine = default_collate([(tl.tensor(x), tl.tensor(x[0], dtype=tl.float64)) for x in X])
    ref = torch.utils.data.default_collate([(torch.tensor(x), torch.tensor(x[0], dtype=torch.float64)) for x in X])
    assert _plain(mine) == _plain(ref)
    assert isinstance(default_collate([Point(tl.zeros(2), 1)]), Point)


@pytest.mark.parametrize(
    ("n", "lengths"),
    [(10, [0.8, 0.2]), (11, [0.8, 0.2]), (7, [0.5, 0.5]), (10, [0.33, 0.33, 0.34]), (11, [0.1] * 10),
     (100, [0.7, 0.15, 0.15]), (5, [1.0]), (3, [0.2, 0.2, 0.2, 0.2, 0.2]), (10, [3, 7]), (4, [4, 0])],
)  # fmt: skip
def test_random_split_lengths_match_torch(torch: Any, n: int, lengths: list[float]) -> None:
    empty_fraction = 0 in _torch_lengths(torch, n, lengths) and isinstance(lengths[0], float)
    with pytest.warns(UserWarning, match="empty") if empty_fraction else contextlib.nullcontext():
        mine = random_split(range(n), lengths, generator=tl.Generator().manual_seed(0))
    assert [len(s) for s in mine] == _torch_lengths(torch, n, lengths)
    assert sorted(i for s in mine for i in s) == list(range(n))  # disjoint, and every example used


def _torch_lengths(torch: Any, n: int, lengths: list[float]) -> list[int]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return [len(s) for s in torch.utils.data.random_split(range(n), lengths)]


def test_random_split_repeats_for_a_seed_and_differs_between_seeds() -> None:
    def split(seed: int) -> list[list[int]]:
        return [list(s) for s in random_split(range(20), [0.5, 0.5], generator=tl.Generator().manual_seed(seed))]

    assert split(3) == split(3)
    assert split(3) != split(4)
    tl.manual_seed(5)
    first = [list(s) for s in random_split(range(20), [10, 10])]
    tl.manual_seed(5)
    assert [list(s) for s in random_split(range(20), [10, 10])] == first


def test_concat_and_subset_index_as_torch(torch: Any) -> None:
    a, b = list(range(3)), list(range(10, 14))
    mine = Subset(list(range(5)), [4, 0, 2]) + b  # Dataset + dataset is a ConcatDataset
    ref = torch.utils.data.Subset(list(range(5)), [4, 0, 2]) + b
    assert isinstance(mine, ConcatDataset)
    assert len(mine) == len(ref) == 7
    assert [mine[i] for i in range(-7, 7)] == [ref[i] for i in range(-7, 7)]
    assert ConcatDataset([a, b]).cumulative_sizes == torch.utils.data.ConcatDataset([a, b]).cumulative_sizes
    assert list(ConcatDataset([a, b])) == a + b  # iteration stops at the IndexError past the end


def test_subclasses_written_for_torch_run_the_same(torch: Any) -> None:
    def classes(base: Any, sampler_base: Any) -> tuple[type, type]:
        class Squares(base[tuple]):  # a tutorial's dataset: examples made from the index
            def __len__(self) -> int:
                return 7

            def __getitem__(self, i: int) -> tuple:
                return np.array([i, i * i], dtype=np.float32), i % 2

        class Backwards(sampler_base[int]):
            def __init__(self, n: int) -> None:
                self.n = n

            def __iter__(self):
                return iter(range(self.n - 1, -1, -1))

            def __len__(self) -> int:
                return self.n

        return Squares, Backwards

    mine, ref = classes(Dataset, tl.utils.data.Sampler), classes(torch.utils.data.Dataset, torch.utils.data.Sampler)
    ours = DataLoader(mine[0](), batch_size=3, sampler=mine[1](7))
    theirs = torch.utils.data.DataLoader(ref[0](), batch_size=3, sampler=ref[1](7))
    assert [_plain(b) for b in ours] == [_plain(b) for b in theirs]
    assert len(ours) == len(theirs) == 3


# ----------------------------------------------------------------------------- errors where PyTorch raises


@pytest.mark.parametrize(
    "kwargs",
    [
        {"batch_sampler": [[0, 1]], "batch_size": 2},
        {"batch_sampler": [[0, 1]], "shuffle": True},
        {"batch_sampler": [[0, 1]], "sampler": [0, 1]},
        {"batch_sampler": [[0, 1]], "drop_last": True},
        {"sampler": [0, 1], "shuffle": True},
        {"batch_size": None, "drop_last": True},
        {"batch_size": 0},
        {"batch_size": 2.0},
        {"drop_last": 1},
        {"num_workers": -1},
        {"timeout": -1},
        {"prefetch_factor": 2},
        {"persistent_workers": True},
    ],
)
def test_dataloader_refuses_what_torch_refuses(torch: Any, kwargs: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        torch.utils.data.DataLoader(range(4), **kwargs)
    with pytest.raises(ValueError):
        DataLoader(range(4), **kwargs)


def test_an_iterable_dataset_takes_no_order_as_in_torch(torch: Any) -> None:
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(4))

    for kwargs in ({"shuffle": True}, {"sampler": [0, 1]}, {"batch_sampler": [[0, 1]]}):
        with pytest.raises(ValueError):
            torch.utils.data.DataLoader(Stream(), **kwargs)
        with pytest.raises(ValueError, match="IterableDataset"):
            DataLoader(_Stream(4), **kwargs)


def test_datasets_and_samplers_refuse_what_torch_refuses(torch: Any) -> None:
    td = torch.utils.data
    with pytest.raises(AssertionError):
        td.TensorDataset(torch.zeros(3), torch.zeros(4))
    with pytest.raises(ValueError, match=r"\(3, 4\)"):
        TensorDataset(tl.zeros(3), tl.zeros(4))
    for lengths in ([1, 2], [0.5, 0.6], [4, 4, 3]):
        with pytest.raises(ValueError):
            td.random_split(range(10), lengths)
        with pytest.raises(ValueError, match="random_split"):
            random_split(range(10), lengths)
    with pytest.raises(ValueError):
        td.random_split(range(10), [1.5, -0.5])
    with pytest.raises(ValueError, match="fraction 0 is 1.5"):
        random_split(range(10), [1.5, -0.5])
    for args in ((range(3), 0, False), (range(3), 2, 1), (range(3), True, False)):
        with pytest.raises(ValueError):
            td.BatchSampler(*args)
        with pytest.raises(ValueError, match="BatchSampler"):
            BatchSampler(*args)
    for kwargs, error in (({"num_samples": 0}, ValueError), ({"replacement": 1}, TypeError)):
        with pytest.raises(error):
            td.RandomSampler(range(3), **kwargs)
        with pytest.raises(error, match="RandomSampler"):
            RandomSampler(range(3), **kwargs)
    with pytest.raises(ValueError):
        td.RandomSampler([])
    with pytest.raises(ValueError, match="empty"):
        RandomSampler([])
    with pytest.raises(AssertionError):
        td.ConcatDataset([])
    with pytest.raises(ValueError, match="empty"):
        ConcatDataset([])
    with pytest.raises(TypeError):
        td.default_collate([object()])
    with pytest.raises(TypeError, match="object"):
        default_collate([object()])
    with pytest.raises(TypeError):
        td.default_collate([np.array(["a"])])
    with pytest.raises(TypeError, match="<U1"):
        default_collate([np.array(["a"])])
    with pytest.raises(RuntimeError):
        td.default_collate([(1, 2), (1,)])
    with pytest.raises(ValueError, match="example 1 has 1 fields"):
        default_collate([(1, 2), (1,)])


def test_errors_name_the_problem() -> None:
    with pytest.raises(ValueError, match="batch_size must be a positive integer, not 0"):
        DataLoader(range(3), batch_size=0)
    with pytest.raises(TypeError, match="generator must be a tinyllm Generator"):
        DataLoader(range(3), shuffle=True, generator=np.random.default_rng(0))
    with pytest.raises(IndexError, match="index 7 is out of range for 7"):
        ConcatDataset([range(3), range(4)])[7]
    with pytest.raises(NotImplementedError, match="__getitem__"):
        Dataset()[0]
    with pytest.raises(TypeError, match="no __len__"):
        len(Dataset())
    with pytest.raises(TypeError, match="no __len__"):  # fit's progress bar relies on a TypeError here
        len(DataLoader(_Unsized()))
    with pytest.raises(TypeError, match="neither"):
        DataLoader(iter(range(3)))


# ----------------------------------------------------------------------------- shuffling, drop_last, workers


def test_seeded_shuffle_uses_every_index_once_per_epoch_and_differs_between_epochs() -> None:
    loader = DataLoader(list(range(50)), batch_size=8, shuffle=True, generator=tl.Generator().manual_seed(1))
    epochs = [sum(_indices(loader), []) for _ in range(3)]
    for order in epochs:
        assert sorted(order) == list(range(50))
    assert epochs[0] != epochs[1] != epochs[2]
    again = DataLoader(list(range(50)), batch_size=8, shuffle=True, generator=tl.Generator().manual_seed(1))
    assert [sum(_indices(again), []) for _ in range(3)] == epochs


def test_shuffle_without_generator_follows_manual_seed() -> None:
    loader = DataLoader(list(range(30)), batch_size=4, shuffle=True)
    tl.manual_seed(7)
    first = [_indices(loader) for _ in range(2)]
    tl.manual_seed(7)
    assert [_indices(loader) for _ in range(2)] == first
    assert first[0] != first[1]


def test_random_sampler_with_replacement_and_more_samples_than_examples() -> None:
    order = list(RandomSampler(range(5), num_samples=12, generator=tl.Generator().manual_seed(0)))
    assert len(order) == 12  # two whole permutations, then the start of a third
    assert sorted(order[:5]) == sorted(order[5:10]) == list(range(5)) and len(set(order[10:])) == 2
    draws = list(RandomSampler(range(4), replacement=True, num_samples=400, generator=tl.Generator().manual_seed(0)))
    assert len(draws) == 400 and all(60 < c < 140 for c in collections.Counter(draws).values())
    assert not all(sorted(draws[i : i + 4]) == [0, 1, 2, 3] for i in range(0, 400, 4))  # not permutations


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (9, 3), (2, 5)])
def test_drop_last_drops_only_a_short_last_batch(torch: Any, n: int, batch_size: int) -> None:
    for drop_last in (False, True):
        mine = DataLoader(list(range(n)), batch_size=batch_size, shuffle=True, drop_last=drop_last)
        ref = torch.utils.data.DataLoader(list(range(n)), batch_size=batch_size, shuffle=True, drop_last=drop_last)
        sizes = [len(b) for b in mine]
        assert sizes == [len(b) for b in ref]
        assert len(mine) == len(ref) == len(sizes)
        assert sizes == [batch_size] * (n // batch_size) + (
            [n % batch_size] if n % batch_size and not drop_last else []
        )


@pytest.mark.parametrize("persistent", [False, True])
def test_workers_give_the_same_batches_as_the_main_thread(persistent: bool) -> None:
    X, y = _data(101)
    ds = TensorDataset(tl.tensor(X), tl.tensor(y))
    started: list[int] = []

    def loader(workers: int) -> DataLoader:
        kwargs = {"persistent_workers": persistent, "worker_init_fn": started.append} if workers else {}
        return DataLoader(ds, batch_size=8, shuffle=True, num_workers=workers, generator=tl.Generator().manual_seed(2),
                          pin_memory=True, **kwargs)  # fmt: skip

    main, threaded = loader(0), loader(3)
    for _ in range(2):  # two epochs: the shuffled orders differ, and still agree between the loaders
        assert [_plain(b) for b in threaded] == [_plain(b) for b in main]
    expected = [0, 1, 2] if persistent else [0, 0, 1, 1, 2, 2]  # every worker, once (a pass)
    deadline = time.monotonic() + 5
    while len(started) < len(expected) and time.monotonic() < deadline:  # a thread may start after the pass
        time.sleep(0.01)
    assert sorted(started) == expected


def test_workers_read_in_threads_and_pass_errors_on() -> None:
    seen: set[str] = set()

    class Named(Dataset):
        def __len__(self) -> int:
            return 12

        def __getitem__(self, i: int) -> int:
            seen.add(threading.current_thread().name)
            if i == 9:
                raise KeyError("example 9 is broken")
            return i

    loader = DataLoader(Named(), batch_size=2, num_workers=2)
    with pytest.raises(KeyError, match="example 9 is broken"):
        list(loader)
    assert seen and all(name.startswith("DataLoader-worker") for name in seen)
    first = next(iter(DataLoader(list(range(100)), batch_size=2, num_workers=2)))  # a pass left early
    assert first.tolist() == [0, 1]


def test_worker_failures_and_timeouts_reach_the_caller() -> None:
    def broken_init(worker_id: int) -> None:
        raise OSError(f"worker {worker_id} cannot open its file")

    with pytest.raises(OSError, match="cannot open its file"):
        list(DataLoader(list(range(6)), batch_size=2, num_workers=2, worker_init_fn=broken_init))

    class Slow(Dataset):
        def __len__(self) -> int:
            return 2

        def __getitem__(self, i: int) -> int:
            time.sleep(0.5)
            return i

    with pytest.raises(RuntimeError, match="timeout=0.05"):
        list(DataLoader(Slow(), num_workers=1, timeout=0.05))


class _Stream(IterableDataset):
    def __init__(self, n: int) -> None:
        self.n = n

    def __iter__(self):
        return iter(range(self.n))

    def __len__(self) -> int:
        return self.n


class _Unsized(IterableDataset):
    def __iter__(self):
        return iter(range(3))


@pytest.mark.parametrize(("batch_size", "drop_last"), [(3, False), (3, True), (None, False)])
def test_an_iterable_dataset_is_batched_as_torch(torch: Any, batch_size: int | None, drop_last: bool) -> None:
    class Stream(torch.utils.data.IterableDataset):
        def __iter__(self):
            return iter(range(10))

        def __len__(self) -> int:
            return 10

    mine = DataLoader(_Stream(10), batch_size=batch_size, drop_last=drop_last, num_workers=2)
    ref = torch.utils.data.DataLoader(Stream(), batch_size=batch_size, drop_last=drop_last)
    assert [_plain(b) for b in mine] == [_plain(b) for b in ref]
    assert len(mine) == len(ref)
    assert [b.tolist() for b in DataLoader(_Stream(2) + _Stream(3), batch_size=4)] == [[0, 1, 0, 1], [2]]


# ----------------------------------------------------------------------------- training through the loader


def _regression(n: int = 256) -> tuple[tl.Tensor, tl.Tensor]:
    rng = np.random.default_rng(0)
    X = rng.standard_normal((n, 4)).astype(np.float32)
    y = (np.sin(X[:, :1]) + 0.5 * X[:, 1:2] * X[:, 2:3]).astype(np.float32)
    return tl.tensor(X), tl.tensor(y)


def _mlp() -> tl.nn.Module:
    return tl.nn.Sequential(tl.nn.Linear(4, 32), tl.nn.ReLU(), tl.nn.Linear(32, 1))


def test_an_mlp_trained_through_the_dataloader_lowers_its_loss() -> None:
    X, y = _regression()
    model = _mlp()
    optimizer = tl.optim.Adam(model.parameters(), lr=1e-2)
    loader = DataLoader(TensorDataset(X, y), batch_size=32, shuffle=True)
    epoch_losses = []
    for _ in range(8):
        total = 0.0
        for xb, yb in loader:
            loss = F.mse_loss(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(xb)
        epoch_losses.append(total / len(X))
    assert epoch_losses[-1] < 0.5 * epoch_losses[0]
    assert all(b < a * 1.05 for a, b in zip(epoch_losses, epoch_losses[1:]))  # falling, epoch after epoch


def test_fit_trains_from_the_dataloader() -> None:
    X, y = _regression()
    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], generator=tl.Generator().manual_seed(0))
    model = _mlp()
    history = fit(model, tl.optim.Adam(model.parameters(), lr=1e-2), DataLoader(train, batch_size=32, shuffle=True),
                  loss_fn=F.mse_loss, epochs=6, val_loader=DataLoader(val, batch_size=64), progress=False)  # fmt: skip
    val_losses = history.series("val_loss", evals=True)
    assert len(history.steps) == 6 * 7  # 205 examples in batches of 32: 7 a pass
    assert val_losses[-1] < 0.6 * val_losses[0]


def test_the_tutorial_loop_sees_each_training_example_once_per_epoch() -> None:
    X = tl.tensor(np.arange(200, dtype=np.float32).reshape(100, 2))
    y = tl.tensor(np.arange(100))
    train, val = random_split(TensorDataset(X, y), [0.8, 0.2], generator=tl.Generator().manual_seed(0))
    seen = []
    for xb, yb in DataLoader(train, batch_size=32, shuffle=True, num_workers=2, pin_memory=True, drop_last=False):
        assert np.array_equal(xb.numpy(), X.numpy()[yb.numpy()])  # rows stay paired with their labels
        seen += yb.tolist()
    assert [len(yb) for _, yb in DataLoader(train, batch_size=32)] == [32, 32, 16]
    assert sorted(seen) == sorted(int(train[i][1].item()) for i in range(len(train)))
    assert sorted(seen + [int(val[i][1].item()) for i in range(len(val))]) == list(range(100))
