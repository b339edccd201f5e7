"""Multi-stage training: an LSTM language model, carrying weights by name, freezing, SwitchOptimizer."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, copy_to_torch
from tinyllm.models import LSTMLanguageModel, TextClassifier, next_token_loss
from tinyllm.optim import SGD, Adam, Optimizer, OptimizerLike, SwitchOptimizer
from tinyllm.optim.lr_scheduler import ReduceLROnPlateau, StepLR
from tinyllm.train import fit

# ----------------------------------------------------------------------------- LSTMLanguageModel


def _ids(vocab: int, shape: tuple[int, int], seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, vocab, shape)


def test_lstm_language_model_matches_torch_on_the_same_weights(torch) -> None:
    nn = torch.nn

    class TorchLM(nn.Module):
        def __init__(self):
            super().__init__()
            self.embedding = nn.Embedding(11, 4)
            self.lstm = nn.LSTM(4, 6, num_layers=2, batch_first=True)
            self.head = nn.Linear(6, 11)

        def forward(self, idx):
            return self.head(self.lstm(self.embedding(idx))[0])

    ours, theirs = LSTMLanguageModel(11, 4, 6, n_layers=2).double(), TorchLM().double()
    copy_to_torch(torch, ours, theirs)
    idx, targets = _ids(11, (3, 5), 0), _ids(11, (3, 5), 1)
    logits, loss = ours(tl.tensor(idx), tl.tensor(targets))
    loss.backward()
    t_logits = theirs(torch.tensor(idx))
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, 11), torch.tensor(targets).reshape(-1))
    t_loss.backward()
    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), atol=1e-12)
    assert loss.item() == pytest.approx(t_loss.item(), abs=1e-12)
    assert_grads_match(ours, theirs, atol=1e-12)


def test_lstm_language_model_passes_gradcheck_and_is_causal() -> None:
    model = LSTMLanguageModel(5, 3, 4).double()
    idx = tl.tensor([[1, 4, 0], [2, 2, 3]])
    assert tl.gradcheck(lambda: model(idx, idx)[1], [], params=model).passed
    changed = tl.tensor([[1, 4, 2], [2, 2, 0]])  # only the last position differs
    a, b = model(idx)[0].detach().numpy(), model(changed)[0].detach().numpy()
    np.testing.assert_array_equal(a[:, :2], b[:, :2])
    assert not np.allclose(a[:, 2], b[:, 2])


def test_fused_lstm_language_model_equals_composed_on_loss_and_gradients() -> None:
    fused = LSTMLanguageModel(7, 3, 5, n_layers=2).double()
    composed = LSTMLanguageModel(7, 3, 5, n_layers=2, fused=False).double()
    composed.load_state_dict(fused.state_dict())
    idx, targets = _ids(7, (2, 4), 0), _ids(7, (2, 4), 1)
    losses = []
    for model in (fused, composed):
        _, loss = model(tl.tensor(idx), targets)  # targets as an array are fine too
        loss.backward()
        losses.append(loss.item())
    assert losses[0] == pytest.approx(losses[1], abs=1e-12)
    for (name, p), q in zip(fused.named_parameters(), composed.parameters()):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=0, atol=1e-12, err_msg=name)


def test_next_token_loss_rejects_targets_that_do_not_match_the_logits() -> None:
    with pytest.raises(ValueError, match=r"targets of shape \(2, 3\) do not match the logits' \(2, 4\)"):
        next_token_loss(tl.zeros(2, 4, 5), np.zeros((2, 3), dtype=np.int64))


def test_lstm_language_model_rejects_a_flat_sequence() -> None:
    with pytest.raises(ValueError, match=r"idx must be \(B, T\) token ids, not shape \(4,\)"):
        LSTMLanguageModel(5, 3, 4)(tl.tensor([1, 2, 3, 4]))


# ----------------------------------------------------------------------------- carrying weights by name


def test_a_pretrained_language_model_hands_its_embedding_and_lstm_to_a_classifier() -> None:
    tl.manual_seed(0)
    lm = LSTMLanguageModel(12, 4, 6)
    classifier = TextClassifier(12, 4, 6, 2)
    keys = classifier.load_state_dict(lm.state_dict(), strict=False)
    assert sorted(keys.missing_keys) == ["fc.bias", "fc.weight"]
    assert sorted(keys.unexpected_keys) == ["head.bias", "head.weight"]
    ours, theirs = classifier.state_dict(), lm.state_dict()
    carried = [k for k in ours if k.startswith(("embedding.", "lstm."))]
    assert len(carried) == 5  # the embedding table and the LSTM's four tensors
    for k in carried:
        np.testing.assert_array_equal(ours[k].numpy(), theirs[k].numpy())


def test_carrying_weights_between_models_of_different_sizes_names_the_mismatch() -> None:
    lm, classifier = LSTMLanguageModel(12, 4, 6), TextClassifier(12, 4, 8, 2)
    with pytest.raises(RuntimeError, match=r"size mismatch for lstm.weight_ih_l0: the checkpoint has shape \(24, 4\)"):
        classifier.load_state_dict(lm.state_dict(), strict=False)


# ----------------------------------------------------------------------------- freezing


def _batches(n: int, seed: int) -> list[tuple[tl.Tensor, tl.Tensor, tl.Tensor]]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        lengths = rng.integers(2, 6, 8)
        text = np.zeros((8, 5), dtype=np.int64)
        for i, k in enumerate(lengths):
            text[i, :k] = rng.integers(1, 10, k)
        out.append((tl.tensor(text), tl.tensor(lengths), tl.tensor((text[:, 0] < 5).astype(np.int64))))
    return out


def _snapshot(module: tl.nn.Module) -> dict[str, np.ndarray]:
    return {k: v.numpy().copy() for k, v in module.state_dict().items()}


@pytest.mark.parametrize("fused", [True, False])
def test_frozen_parameters_get_no_gradient_and_do_not_move(fused: bool) -> None:
    tl.manual_seed(0)
    model = TextClassifier(10, 4, 6, 2, fused=fused)
    model.embedding.requires_grad_(False)
    model.lstm.requires_grad_(False)
    before = _snapshot(model)
    fit(model, Adam(model.parameters(), lr=0.05), _batches(3, 0), epochs=2)
    after = _snapshot(model)
    for k in before:
        if k.startswith("fc."):
            assert not np.array_equal(before[k], after[k]), k
        else:
            np.testing.assert_array_equal(before[k], after[k])
    assert all(p.grad is None for p in model.lstm.parameters())


def test_a_parameter_group_gives_pretrained_layers_a_smaller_learning_rate() -> None:
    tl.manual_seed(0)
    model = TextClassifier(10, 4, 6, 2)
    body = [*model.embedding.parameters(), *model.lstm.parameters()]
    optimizer = SGD([{"params": body, "lr": 0.0}, {"params": model.fc.parameters()}], lr=0.5)
    before = _snapshot(model)
    fit(model, optimizer, _batches(2, 1), epochs=1)
    after = _snapshot(model)
    assert all(np.array_equal(before[k], after[k]) for k in before if not k.startswith("fc."))
    assert not np.array_equal(before["fc.weight"], after["fc.weight"])


# ----------------------------------------------------------------------------- SwitchOptimizer


def _model(seed: int = 0) -> TextClassifier:
    tl.manual_seed(seed)
    return TextClassifier(10, 4, 6, 2).double()


def _two_stages(model: TextClassifier, milestone: int = 3) -> SwitchOptimizer:
    return SwitchOptimizer([Adam(model.parameters(), lr=0.05), SGD(model.parameters(), lr=0.2, momentum=0.9)],
                           milestones=[milestone])  # fmt: skip


def test_switch_optimizer_steps_adam_then_sgd_exactly_as_two_loops_by_hand() -> None:
    batches = _batches(6, 2)
    switched = _model()
    history = fit(switched, _two_stages(switched), batches, epochs=1)

    by_hand = _model()
    adam = Adam(by_hand.parameters(), lr=0.05)
    sgd = SGD(by_hand.parameters(), lr=0.2, momentum=0.9)
    for i, (text, lengths, labels) in enumerate(batches):
        optimizer = adam if i < 3 else sgd
        optimizer.zero_grad()
        tl.nn.functional.cross_entropy(by_hand(text, lengths), labels).backward()
        optimizer.step()
    for k, v in _snapshot(by_hand).items():
        np.testing.assert_array_equal(_snapshot(switched)[k], v)
    assert history.series("lr").tolist() == [0.05] * 3 + [0.2] * 3


def test_switch_optimizer_is_optimizer_like_and_its_stages_keep_their_schedulers() -> None:
    model = _model()
    adam = Adam(model.parameters(), lr=0.05)
    switch = SwitchOptimizer([adam, SGD(model.parameters(), lr=0.2)], milestones=[4])
    assert isinstance(switch, OptimizerLike) and isinstance(adam, OptimizerLike)
    assert not isinstance(switch, Optimizer)
    halving = tl.optim.lr_scheduler.StepLR(adam, step_size=2, gamma=0.5)
    history = fit(model, switch, _batches(6, 6), epochs=1, scheduler=halving)
    assert history.series("lr").tolist() == [0.05, 0.05, 0.025, 0.025, 0.2, 0.2]


def test_switch_optimizer_stages_can_train_different_parameters() -> None:
    model = _model()
    head_first = SwitchOptimizer([SGD(model.fc.parameters(), lr=0.5), SGD(model.parameters(), lr=0.5)], [2])
    before = _snapshot(model)
    fit(model, head_first, _batches(2, 3), epochs=1)
    assert head_first.stage == 1
    assert np.array_equal(before["lstm.weight_hh_l0"], _snapshot(model)["lstm.weight_hh_l0"])
    fit(model, head_first, _batches(1, 4), epochs=1)
    assert not np.array_equal(before["lstm.weight_hh_l0"], _snapshot(model)["lstm.weight_hh_l0"])


def test_switch_optimizer_resumes_from_a_checkpoint_bit_identically(tmp_path) -> None:
    batches = _batches(4, 5)

    def run(directory, interrupt_at=None, resume=False):
        model = _model()

        def stop(step, history):
            if step == interrupt_at:
                raise KeyboardInterrupt

        fit(model, _two_stages(model), batches, epochs=2, checkpoint_dir=directory, resume=resume,
            callback=stop)  # fmt: skip
        return _snapshot(model)

    straight = run(tmp_path / "a")
    run(tmp_path / "b", interrupt_at=5)  # after the switch at step 3: both optimizers have state
    resumed = run(tmp_path / "b", resume=True)
    for k in straight:
        np.testing.assert_array_equal(resumed[k], straight[k])


@pytest.mark.parametrize(
    ("milestones", "message"),
    [([], r"2 optimizers need 1 milestones \(the steps at which to switch\), not 0"),
     ([0], r"milestones must be positive and increasing, not \[0\]")],
)  # fmt: skip
def test_switch_optimizer_rejects_bad_milestones(milestones: list[int], message: str) -> None:
    model = _model()
    with pytest.raises(ValueError, match=message):
        SwitchOptimizer([SGD(model.parameters(), lr=0.1), SGD(model.parameters(), lr=0.1)], milestones)


def test_switch_optimizer_refuses_a_state_with_another_number_of_stages() -> None:
    model = _model()
    three = SwitchOptimizer([SGD(model.parameters(), lr=0.1) for _ in range(3)], [1, 2])
    with pytest.raises(ValueError, match="the saved state has 2 optimizers, this one has 3"):
        three.load_state_dict(_two_stages(model).state_dict())


@pytest.mark.parametrize("make", [lambda o: StepLR(o, 2), lambda o: ReduceLROnPlateau(o)])
def test_a_schedule_on_the_switch_itself_is_refused_with_the_fix_named(make: Any) -> None:
    p = tl.zeros(2, requires_grad=True)
    switch = SwitchOptimizer([SGD([p], lr=0.1), Adam([p], lr=0.01)], milestones=[3])
    with pytest.raises(TypeError, match=r"SwitchOptimizer.*switch\.optimizers\[i\]"):
        make(switch)
    make(switch.optimizers[0])  # a stage's own optimizer is schedulable
