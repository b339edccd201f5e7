"""fit, evaluate and History: batch forms, accumulation, early stopping, checkpoints, exact resume, Ctrl-C."""

from __future__ import annotations

import functools
import itertools
import json
import math

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.models import LSTMLanguageModel, TextClassifier
from tinyllm.train import StepOutput, evaluate, fit, lm_step, supervised_step


def _batches(n: int, seed: int, batch: int = 8, flip: bool = False) -> list[tuple[tl.Tensor, ...]]:
    """Token sequences labelled 1 when token 1 is among the first two (0 otherwise); ``flip``
    swaps the labels, a validation set on which learning the task raises the loss."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lengths = rng.integers(2, 7, batch)
        text = np.zeros((batch, 6), dtype=np.int64)
        for i, k in enumerate(lengths):
            text[i, :k] = rng.integers(1, 10, k)
        labels = (text[:, :2] == 1).any(axis=1).astype(np.int64)
        out.append((tl.tensor(text), tl.tensor(lengths), tl.tensor(1 - labels if flip else labels)))
    return out


TRAIN, VAL = _batches(6, 0), _batches(2, 1)


def _model_and_optimizer(seed: int = 0, dropout: float = 0.2, lr: float = 0.02):
    tl.manual_seed(seed)
    model = TextClassifier(10, 8, 16, 2, n_layers=1, dropout=dropout)
    return model, tl.optim.Adam(model.parameters(), lr=lr)


def _without_times(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in r.items() if k != "time"} for r in rows]


def test_fit_learns_and_records_every_step_and_evaluation() -> None:
    model, opt = _model_and_optimizer()
    history = fit(model, opt, TRAIN * 2, epochs=5, val_loader=VAL, metrics=("accuracy", "f1"))
    assert [r["step"] for r in history.steps] == list(range(1, 61))
    assert {"loss", "lr", "grad_norm", "epoch"} <= set(history.steps[0])
    assert len(history.evals) == 5 and history.evals[-1]["step"] == 60
    assert history.evals[-1]["val_loss"] < history.evals[0]["val_loss"]
    assert np.mean(history.series("loss")[-6:]) < 0.5 * np.mean(history.series("loss")[:6])
    assert 0 <= history.evals[-1]["val_f1"] <= 1


def _pairs(n: int, seed: int, batch: int = 16) -> list[tuple[tl.Tensor, tl.Tensor]]:
    """(x (B, 4) float, y (B,) class) pairs; the class is the side of a fixed plane x lies on."""
    rng = np.random.default_rng(seed)
    plane = np.array([1.0, -2.0, 0.5, 1.5])
    xs = [rng.normal(size=(batch, 4)).astype(np.float32) for _ in range(n)]
    return [(tl.tensor(x), tl.tensor((x @ plane > 0).astype(np.int64))) for x in xs]


def _epoch_means(history: tl.train.History) -> list[float]:
    epochs = history.series("epoch")
    return [float(history.series("loss")[epochs == e].mean()) for e in np.unique(epochs)]


def test_fit_trains_a_linear_model_on_input_target_pairs() -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(4, 2)
    history = fit(model, tl.optim.SGD(model.parameters(), lr=0.5), _pairs(8, 0), epochs=3)
    first, *_, last = _epoch_means(history)
    assert len(history.steps) == 24 and last < 0.5 * first
    assert evaluate(model, _pairs(4, 1), metrics=("accuracy", "f1"))["accuracy"] > 0.9


def test_fit_takes_a_loss_function_for_input_target_pairs() -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(1, 1)
    x = tl.tensor(np.linspace(-1, 1, 16, dtype=np.float32).reshape(16, 1))
    data = [(x, 3 * x + 1)]
    mse = tl.nn.functional.mse_loss
    optimizer = tl.optim.SGD(model.parameters(), lr=0.3)
    history = fit(model, optimizer, data, epochs=200, loss_fn=mse, val_loader=data, eval_every=100)
    assert model.weight.item() == pytest.approx(3, abs=1e-3)
    assert model.bias.item() == pytest.approx(1, abs=1e-3)
    assert set(history.evals[-1]) == {"step", "epoch", "val_loss", "time"}  # no accuracy for real targets
    with pytest.raises(ValueError, match="metric 'accuracy' needs predictions, but the step gave logits"):
        evaluate(model, data, metrics=("accuracy",), loss_fn=mse)


def _figure_ylabel(history: tl.train.History) -> str:
    import matplotlib

    matplotlib.use("Agg")
    fig = history.plot()
    label = fig.axes[0].get_ylabel()
    matplotlib.pyplot.close(fig)
    return label


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({}, "cross-entropy (nats)"),
        ({"loss_fn": tl.nn.functional.mse_loss}, "mean squared error"),
        ({"loss_fn": tl.nn.MSELoss()}, "mean squared error"),
        ({"loss_fn": functools.partial(tl.nn.functional.l1_loss, reduction="mean")}, "mean absolute error"),
        ({"loss_fn": lambda out, y: (out - y).abs().pow(3).mean()}, "loss (<lambda>)"),
        ({"step_fn": functools.partial(supervised_step, loss_fn=tl.nn.functional.mse_loss)}, "mean squared error"),
    ],
)
def test_the_history_figure_names_the_loss_that_was_minimized(kwargs: dict, name: str) -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(1, 2 if not kwargs else 1)
    x = tl.tensor(np.linspace(-1, 1, 8, dtype=np.float32).reshape(8, 1))
    data = [(x, tl.tensor(np.arange(8) % 2))] if not kwargs else [(x, 2 * x)]
    history = fit(model, tl.optim.SGD(model.parameters(), lr=0.1), data, epochs=2, **kwargs)
    assert history.loss_name == name
    assert _figure_ylabel(history) == name


def test_fit_drives_a_language_model_with_lm_step() -> None:
    tl.manual_seed(0)
    model = LSTMLanguageModel(7, 8, 16)
    ids = np.random.default_rng(0).integers(0, 7, (4, 9))
    data = [(tl.tensor(ids[:, :-1] % 3), tl.tensor(ids[:, 1:] % 3))]  # only 3 of the 7 tokens occur
    optimizer = tl.optim.Adam(model.parameters(), lr=0.05)
    history = fit(model, optimizer, data, epochs=20, step_fn=lm_step, metrics=())
    assert history.steps[-1]["loss"] < 0.5 * history.steps[0]["loss"]
    with pytest.raises(TypeError, match=r"lm_step: cannot read a batch that is a tuple of 3"):
        fit(model, tl.optim.Adam(model.parameters()), TRAIN, epochs=1, step_fn=lm_step)


@pytest.mark.parametrize(
    ("batch", "described"),
    [
        ((*TRAIN[0], TRAIN[0][2]),
         "a tuple of 4: Tensor (8, 6) int64, " + ", ".join(["Tensor (8,) int64"] * 3)),
        ((_pairs(1, 0)[0][0], *_pairs(1, 0)[0]),  # a triple without (B,) integer lengths is not text
         "a tuple of 3: Tensor (16, 4) float32, Tensor (16, 4) float32, Tensor (16,) int64"),
        (TRAIN[0][0], "Tensor (8, 6) int64"),
        ({"ids": TRAIN[0][0], "labels": TRAIN[0][2]}, "a dict with keys ['ids', 'labels']"),
    ],
)  # fmt: skip
def test_a_batch_fit_cannot_read_is_named_with_the_forms_it_reads(batch, described: str) -> None:
    model, opt = _model_and_optimizer()
    with pytest.raises(TypeError) as error:
        fit(model, opt, [batch], epochs=1)
    message = str(error.value)
    assert message.startswith(f"supervised_step: cannot read a batch that is {described}; ")
    assert "it reads (inputs, targets)" in message
    assert "(ids, lengths, labels)" in message and "pass step_fn(model, batch) -> StepOutput" in message


def test_evaluate_weights_the_loss_by_batch_size() -> None:
    model, _ = _model_and_optimizer(dropout=0.0)
    small = [(t[:3], n[:3], y[:3]) for t, n, y in VAL[:1]]
    batches = small + VAL[1:]
    result = evaluate(model, batches, metrics=("accuracy",))
    losses = [tl.nn.functional.cross_entropy(model(t, n), y).item() for t, n, y in batches]
    assert result["loss"] == pytest.approx((3 * losses[0] + 8 * losses[1]) / 11, rel=1e-6)
    with pytest.raises(ValueError, match="unknown metric 'auc'"):
        evaluate(model, batches, metrics=("auc",))


def test_accumulating_two_batches_equals_one_step_on_both() -> None:
    # in float64 with plain SGD the update is linear in the gradient, so the two agree to rounding
    a, b = TRAIN[0], TRAIN[1]
    both = tuple(tl.cat([x, y], 0) for x, y in zip(a, b))
    models = []
    for batches, accumulate in (([a, b], 2), ([both], 1)):
        model, _ = _model_and_optimizer(dropout=0.0)
        model.double()
        fit(model, tl.optim.SGD(model.parameters(), lr=0.5), batches, steps=1, accumulate=accumulate)
        models.append(model)
    moved = False
    untrained, _ = _model_and_optimizer(dropout=0.0)
    for p, q, r in zip(models[0].parameters(), models[1].parameters(), untrained.parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=1e-12, atol=1e-14)
        moved |= not np.allclose(p.detach().numpy(), r.detach().numpy())
    assert moved


def test_early_stopping_restores_the_best_weights() -> None:
    flipped = _batches(2, 1, flip=True)  # learning the task makes this loss worse
    model, opt = _model_and_optimizer(dropout=0.0)
    snapshots = {}

    def remember(step: int, history: tl.train.History) -> None:
        snapshots[step] = [p.detach().numpy().copy() for p in model.parameters()]

    history = fit(model, opt, TRAIN * 3, epochs=50, val_loader=flipped, eval_every=2, patience=3, callback=remember)
    assert history.stopped_early
    losses = history.series("val_loss", evals=True)
    assert len(losses) < 25 and history.best_step == history.evals[int(np.argmin(losses))]["step"]
    for p, best in zip(model.parameters(), snapshots[history.best_step]):
        np.testing.assert_array_equal(p.detach().numpy(), best)


def _interruptible_run(directory, interrupt_at: int | None = None, resume: bool = False):
    model, opt = _model_and_optimizer()
    sched = tl.optim.lr_scheduler.StepLR(opt, step_size=5, gamma=0.5)

    def stop(step: int, history: tl.train.History) -> None:
        if step == interrupt_at:
            raise KeyboardInterrupt

    history = fit(
        model, opt, TRAIN, epochs=4, val_loader=VAL, eval_every=3, scheduler=sched, clip_grad_norm=1.0,
        accumulate=2, checkpoint_dir=directory, resume=resume, callback=stop,
    )  # fmt: skip
    return model, history


def test_resuming_an_interrupted_fit_is_bit_identical_to_an_uninterrupted_one(tmp_path, capsys) -> None:
    straight_model, straight = _interruptible_run(tmp_path / "straight")
    _, first = _interruptible_run(tmp_path / "split", interrupt_at=7)
    assert first.interrupted and len(first.steps) == 7
    assert "interrupted at step 7" in capsys.readouterr().err
    resumed_model, resumed = _interruptible_run(tmp_path / "split", resume=True)
    assert not resumed.interrupted
    for p, q in zip(straight_model.parameters(), resumed_model.parameters()):
        assert np.array_equal(p.data, q.data)
    assert _without_times(resumed.steps) == _without_times(straight.steps)
    assert _without_times(resumed.evals) == _without_times(straight.evals)


class _CtrlCInsideStep(tl.optim.Adam):
    """Adam whose update of step ``at`` stops half done, as a second Ctrl-C during it does."""

    def __init__(self, params, at: int, **kwargs) -> None:
        super().__init__(params, **kwargs)
        self.at, self.calls = at, 0

    def step(self, closure=None):
        self.calls += 1
        if self.calls == self.at:
            first = self.param_groups[0]["params"][0]
            first.data[...] += 1.0  # the first tensor updated, the others not: a state no boundary had
            raise KeyboardInterrupt
        return super().step(closure)


def test_a_second_ctrl_c_inside_an_optimizer_step_saves_nothing_and_the_last_checkpoint_resumes_exactly(
    tmp_path, capsys
) -> None:
    straight_model, straight = _interruptible_run(tmp_path / "straight")
    model, _ = _model_and_optimizer()
    broken = _CtrlCInsideStep(model.parameters(), at=8, lr=0.02)
    sched = tl.optim.lr_scheduler.StepLR(broken, step_size=5, gamma=0.5)
    history = fit(model, broken, TRAIN, epochs=4, val_loader=VAL, eval_every=3, scheduler=sched, clip_grad_norm=1.0,
                  accumulate=2, checkpoint_dir=tmp_path / "split")  # fmt: skip
    assert history.interrupted and len(history.steps) == 7
    assert "interrupted inside step 8: not saved; the checkpoint on disk is step 6" in capsys.readouterr().err
    resumed_model, resumed = _interruptible_run(tmp_path / "split", resume=True)  # from step 6, not the torn 8
    for p, q in zip(straight_model.parameters(), resumed_model.parameters()):
        assert np.array_equal(p.data, q.data)
    assert _without_times(resumed.steps) == _without_times(straight.steps)


def test_fit_runs_for_a_number_of_steps_on_an_endless_loader() -> None:
    model, opt = _model_and_optimizer()
    history = fit(model, opt, itertools.cycle(TRAIN), steps=9)
    assert len(history.steps) == 9


def test_reduce_lr_on_plateau_steps_with_the_validation_loss() -> None:
    model, opt = _model_and_optimizer(dropout=0.0)
    flipped = _batches(2, 1, flip=True)
    sched = tl.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=0, factor=0.5)
    history = fit(model, opt, TRAIN, epochs=4, val_loader=flipped, eval_every=2, scheduler=sched)
    lrs = history.series("lr")
    assert lrs[0] == 0.02 and lrs[-1] < 0.02  # cut after evaluations without improvement


def test_history_writes_csv_json_and_a_figure(tmp_path) -> None:
    model, opt = _model_and_optimizer()
    history = fit(model, opt, TRAIN, epochs=2, val_loader=VAL)
    history.to_csv(tmp_path / "steps.csv")
    history.to_csv(tmp_path / "evals.csv", which="evals")
    history.to_json(tmp_path / "h.json")
    assert (tmp_path / "steps.csv").read_text().splitlines()[0].startswith("step,epoch,loss,lr,grad_norm")
    assert len((tmp_path / "evals.csv").read_text().splitlines()) == 3
    assert json.loads((tmp_path / "h.json").read_text())["evals"][-1]["step"] == 12
    history.plot(tmp_path / "h.png")
    assert (tmp_path / "h.png").stat().st_size > 1000


def test_a_custom_step_function_drives_fit() -> None:
    w = tl.nn.Linear(1, 1)

    def regression(model, batch) -> StepOutput:
        x, y = batch
        return StepOutput(tl.nn.functional.mse_loss(model(x), y), None, None)

    x = tl.tensor(np.linspace(-1, 1, 16, dtype=np.float32).reshape(16, 1))
    data = [(x, 3 * x + 1)]
    fit(w, tl.optim.SGD(w.parameters(), lr=0.3), data, epochs=200, step_fn=regression, metrics=())
    assert w.weight.item() == pytest.approx(3, abs=1e-3) and w.bias.item() == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({}, ValueError, "epochs or as steps"),
        ({"epochs": 1, "steps": 1}, ValueError, "epochs or as steps"),
        ({"epochs": 1, "patience": 2}, ValueError, "needs a val_loader"),
        ({"epochs": 1, "accumulate": 0}, ValueError, "accumulate must be >= 1"),
        ({"epochs": 1, "resume": True}, FileNotFoundError, "no checkpoint"),
        ({"epochs": 1, "metrics": ("auc",)}, ValueError, "fit: unknown metric 'auc'"),
        ({"epochs": 1, "metrics": "f1"}, TypeError, r"e.g. \('f1',\), not a string"),
        ({"epochs": 1, "loss_fn": tl.nn.functional.mse_loss, "step_fn": lm_step}, ValueError, "not both"),
    ],
)
def test_fit_rejects_inconsistent_arguments(kwargs, error, message) -> None:
    model, opt = _model_and_optimizer()
    with pytest.raises(error, match=message):
        fit(model, opt, TRAIN, **kwargs)


def test_an_exhausted_generator_is_reported_not_looped_on() -> None:
    model, opt = _model_and_optimizer()
    with pytest.raises(ValueError, match="gave no batches"):
        fit(model, opt, iter(TRAIN[:2]), steps=5)
    assert math.isfinite(opt.param_groups[0]["lr"])


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"steps": 0}, "steps must be >= 1"),
        ({"steps": -3}, "steps must be >= 1"),
        ({"epochs": -1}, "epochs must be >= 1"),
        ({"epochs": 0}, "epochs must be >= 1"),
        ({"epochs": 1.5}, r"epochs must be >= 1 \(a whole number\), not 1.5"),
        ({"epochs": True}, "epochs must be >= 1"),
        ({"epochs": 1, "eval_every": 0}, "eval_every must be >= 1"),
        ({"epochs": 1, "patience": 0, "val_loader": VAL}, "patience must be >= 1"),
        ({"epochs": 1, "accumulate": 2.0}, "accumulate must be >= 1"),
        ({"epochs": 1, "clip_grad_norm": -1}, "clip_grad_norm must be a number > 0"),
        ({"epochs": 1, "clip_grad_norm": 0}, "clip_grad_norm must be a number > 0"),
        ({"epochs": 1, "clip_grad_norm": math.nan}, "clip_grad_norm must be a number > 0"),
        ({"epochs": 1, "on_nonfinite": "ignore"}, "on_nonfinite must be .raise., .skip. or .restore."),
    ],
)
def test_fit_names_an_argument_outside_its_range_before_training(kwargs, named: str) -> None:
    model, opt = _model_and_optimizer()
    before = [p.data.copy() for p in model.parameters()]
    with pytest.raises(ValueError, match=named):
        fit(model, opt, TRAIN, **kwargs)
    assert all(np.array_equal(p.data, b) for p, b in zip(model.parameters(), before))


def _exploding_run(tmp_path, **kwargs):
    """A two-layer network trained with lr 1e30: weights of ~1e29 after step 1, whose product
    overflows float32 at step 2."""
    tl.manual_seed(0)
    model = tl.nn.Sequential(tl.nn.Linear(4, 16), tl.nn.ReLU(), tl.nn.Linear(16, 2))
    opt = tl.optim.SGD(model.parameters(), lr=1e30)
    pairs = _pairs(6, 0)
    with np.errstate(over="ignore", invalid="ignore"):  # the overflow is the point
        return model, fit(model, opt, pairs, epochs=2, val_loader=pairs[:1], eval_every=1,
                          checkpoint_dir=tmp_path, **kwargs)  # fmt: skip


def test_a_blown_up_run_stops_at_its_first_non_finite_step_and_keeps_the_last_finite_checkpoint(tmp_path) -> None:
    with pytest.raises(tl.train.NonFiniteError, match=r"fit: at step 2 \(epoch 0\) the (loss|gradient)") as info:
        _exploding_run(tmp_path)
    message = str(info.value)
    step = 2
    assert "the checkpoint on disk is step 1" in message and "on_nonfinite='skip'" in message
    checkpoint = tl.load(tmp_path / "checkpoint.npz")
    assert checkpoint["progress"]["step"] == step - 1
    assert all(np.isfinite(v.numpy()).all() for v in checkpoint["model"].values())


def test_a_non_finite_loss_is_named_with_its_value() -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(4, 2)
    pairs = _pairs(3, 0)
    with tl.no_grad():
        model.weight[0, 0] = math.nan
    with pytest.raises(tl.train.NonFiniteError, match=r"fit: at step 1 \(epoch 0\) the loss is nan"):
        fit(model, tl.optim.SGD(model.parameters(), lr=0.1), pairs, epochs=1)


def test_skipping_non_finite_steps_leaves_the_weights_of_the_last_good_step(tmp_path) -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(4, 2)
    pairs = _pairs(4, 0)
    poisoned = (tl.tensor(np.full(pairs[0][0].shape, np.inf, dtype=np.float32)), pairs[0][1])
    with np.errstate(invalid="ignore"):  # inf inputs give nan logits: the point
        history = fit(model, tl.optim.SGD(model.parameters(), lr=0.1), [pairs[0], poisoned, pairs[1], poisoned],
                      epochs=1, on_nonfinite="skip", checkpoint_dir=tmp_path)  # fmt: skip
    assert history.skipped_steps == [2, 4]
    assert len(history.steps) == 4 and all(np.isfinite(p.data).all() for p in model.parameters())
    tl.manual_seed(0)
    twin = tl.nn.Linear(4, 2)
    fit(twin, tl.optim.SGD(twin.parameters(), lr=0.1), [pairs[0], pairs[1]], epochs=1)
    for p, q in zip(model.parameters(), twin.parameters()):
        assert np.array_equal(p.data, q.data)


def test_resuming_from_a_file_that_is_not_a_fit_checkpoint_names_the_file_and_what_it_lacks(tmp_path) -> None:
    model, opt = _model_and_optimizer()
    tl.save(model.state_dict(), tmp_path / "checkpoint.npz")
    with pytest.raises(ValueError, match=r"checkpoint.npz is not a checkpoint of fit \(it lacks 'model'"):
        fit(model, opt, TRAIN, epochs=1, checkpoint_dir=tmp_path, resume=True)


@pytest.mark.parametrize("mode", ["raise", "restore"])
def test_restore_puts_the_last_checkpoint_back_before_raising(tmp_path, mode: str) -> None:
    tl.manual_seed(0)
    model = tl.nn.Linear(4, 2)
    pairs = _pairs(3, 0)
    poisoned = (tl.tensor(np.full(pairs[0][0].shape, np.nan, dtype=np.float32)), pairs[0][1])
    with np.errstate(invalid="ignore"), pytest.raises(tl.train.NonFiniteError, match="at step 4") as info:
        fit(model, tl.optim.SGD(model.parameters(), lr=0.1), [*pairs, poisoned], epochs=1, val_loader=pairs[:1],
            eval_every=2, checkpoint_dir=tmp_path, on_nonfinite=mode)  # fmt: skip
    saved = tl.load(tmp_path / "checkpoint.npz")
    assert saved["progress"]["step"] == 2
    same = all(np.array_equal(model.state_dict()[k].numpy(), v.numpy()) for k, v in saved["model"].items())
    if mode == "restore":
        assert same and "restored from the checkpoint of step 2" in str(info.value)
    else:  # the weights stay those of step 3, one step past the checkpoint
        assert not same and "those of step 3; the checkpoint on disk is step 2" in str(info.value)


def _shuffled_run(directory, interrupt_at: int | None = None, resume: bool = False):
    """An MLP with dropout, fed by tl.utils.data.DataLoader(shuffle=True): a loader without
    state_dict that draws each epoch's order from tinyllm's default generator."""
    from tinyllm.utils.data import DataLoader, TensorDataset

    tl.manual_seed(0)
    rng = np.random.default_rng(0)
    x = tl.tensor(rng.standard_normal((40, 3)), dtype=tl.float32)
    data = TensorDataset(x, (x[:, 0] > 0).long())
    model = tl.nn.Sequential(tl.nn.Linear(3, 8), tl.nn.ReLU(), tl.nn.Dropout(0.3), tl.nn.Linear(8, 2))
    opt = tl.optim.SGD(model.parameters(), lr=0.1)

    def stop(step: int, history: tl.train.History) -> None:
        if step == interrupt_at:
            raise KeyboardInterrupt

    history = fit(model, opt, DataLoader(data, batch_size=8, shuffle=True), epochs=3,
                  loss_fn=tl.nn.functional.cross_entropy, checkpoint_dir=directory, resume=resume,
                  callback=stop)  # fmt: skip
    return model, history


def test_a_shuffling_loader_without_state_dict_resumes_mid_epoch_exactly(tmp_path, capsys) -> None:
    straight_model, straight = _shuffled_run(tmp_path / "straight")
    _, first = _shuffled_run(tmp_path / "split", interrupt_at=7)  # step 7: inside the second epoch of 5 steps
    assert first.interrupted
    resumed_model, resumed = _shuffled_run(tmp_path / "split", resume=True)
    assert _without_times(resumed.steps) == _without_times(straight.steps)
    for p, q in zip(straight_model.parameters(), resumed_model.parameters()):
        assert np.array_equal(p.data, q.data)
