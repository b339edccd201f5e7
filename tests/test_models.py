"""The models: TextClassifier and GPT against PyTorch twins, gradchecks, generation, the seed's code."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl
from parity import assert_grads_match, copy_to_torch
from tinyllm.models import GPT, GPTConfig, TextClassifier
from twins import seed_classifier, torch_gpt

# ----------------------------------------------------------------------------- helpers


# ----------------------------------------------------------------------------- TextClassifier


def _batch(vocab: int, lengths: list[int], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    text = np.zeros((len(lengths), max(lengths)), dtype=np.int64)
    for i, n in enumerate(lengths):
        text[i, :n] = rng.integers(1, vocab, n)
    return text, np.array(lengths)


@pytest.mark.parametrize("fused", [True, False])
def test_text_classifier_matches_the_seed_model_in_torch(torch, fused: bool) -> None:
    args = (30, 6, 5, 3, 2, 0.5)  # vocab, embedding, hidden, classes, layers, dropout
    ours = TextClassifier(*args, fused=fused).double().eval()
    theirs = seed_classifier(torch)(*args).double().eval()
    copy_to_torch(torch, ours, theirs)
    text, lengths = _batch(30, [4, 7, 1, 5])
    labels = np.array([0, 2, 1, 2])

    logits = ours(tl.tensor(text), tl.tensor(lengths))
    tl.nn.functional.cross_entropy(logits, tl.tensor(labels)).backward()
    t_logits = theirs(torch.tensor(text), torch.tensor(lengths))
    torch.nn.functional.cross_entropy(t_logits, torch.tensor(labels)).backward()

    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), atol=1e-12)
    assert_grads_match(ours, theirs, atol=1e-12)


def test_text_classifier_ignores_padding_tokens() -> None:
    model = TextClassifier(20, 4, 5, 2, 1, 0.0).double()
    text, lengths = _batch(20, [3, 5])
    noisy = text.copy()
    noisy[0, 3:] = 7  # change what sits past the first sequence's end
    a = model(tl.tensor(text), tl.tensor(lengths))
    b = model(tl.tensor(noisy), tl.tensor(lengths))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())


def test_text_classifier_passes_gradcheck() -> None:
    model = TextClassifier(8, 3, 3, 2, 2, 0.0).double()
    text, lengths = _batch(8, [3, 1, 2])
    report = tl.gradcheck(lambda: model(tl.tensor(text), tl.tensor(lengths)), [], params=model)
    assert report.passed


def test_text_classifier_dropout_acts_only_in_training() -> None:
    model = TextClassifier(20, 4, 6, 2, 2, 0.5)
    text, lengths = _batch(20, [3, 5, 2])
    model.eval()
    a, b = model(tl.tensor(text), tl.tensor(lengths)), model(tl.tensor(text), tl.tensor(lengths))
    np.testing.assert_array_equal(a.detach().numpy(), b.detach().numpy())
    model.train()
    c = model(tl.tensor(text), tl.tensor(lengths))
    assert not np.allclose(c.detach().numpy(), a.detach().numpy())


# ----------------------------------------------------------------------------- GPT


@pytest.mark.parametrize(("bias", "tie"), [(True, True), (False, False)])
def test_gpt_matches_torch_on_the_same_weights(torch, bias: bool, tie: bool) -> None:
    config = GPTConfig(vocab_size=13, block_size=8, n_layer=2, n_head=2, n_embd=8, bias=bias, tie_weights=tie)
    ours = GPT(config).double()
    theirs = torch_gpt(torch, config).double()
    copy_to_torch(torch, ours, theirs)
    rng = np.random.default_rng(0)
    idx, targets = rng.integers(0, 13, (3, 7)), rng.integers(0, 13, (3, 7))

    logits, loss = ours(tl.tensor(idx), tl.tensor(targets))
    loss.backward()
    t_logits = theirs(torch.tensor(idx))
    t_loss = torch.nn.functional.cross_entropy(t_logits.reshape(-1, 13), torch.tensor(targets).reshape(-1))
    t_loss.backward()

    np.testing.assert_allclose(logits.detach().numpy(), t_logits.detach().numpy(), atol=1e-12)
    assert loss.item() == pytest.approx(t_loss.item(), abs=1e-12)
    assert_grads_match(ours, theirs, atol=1e-10)


def test_gpt_passes_gradcheck() -> None:
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=1, n_head=2, n_embd=4)).double()
    idx = tl.tensor([[1, 4, 0], [2, 2, 3]])
    report = tl.gradcheck(lambda: model(idx, idx)[1], [], params=model)
    assert report.passed


def test_gpt_initial_loss_is_near_log_vocab_size() -> None:
    model = GPT(GPTConfig(vocab_size=50, block_size=16, n_layer=2, n_head=2, n_embd=16, tie_weights=False))
    idx = tl.randint(0, 50, (4, 16))
    targets = tl.randint(0, 50, (4, 16))
    _, loss = model(idx, targets)
    assert loss.item() == pytest.approx(np.log(50), abs=0.05)


def test_gpt_init_follows_gpt2_scaling_exactly_the_residual_projections_by_name() -> None:
    tl.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=300, block_size=64, n_layer=4, n_head=4, n_embd=64))
    assert model.lm_head.weight is model.wte.weight
    residual = 0.02 / np.sqrt(2 * 4)
    scaled = []
    for name, p in model.named_parameters():
        w = p.detach().numpy()
        if name.endswith("bias"):
            assert np.all(w == 0), name
        elif "ln_" in name:
            assert np.all(w == 1), name
        elif name.endswith(("attn.out_proj.weight", "mlp.proj.weight")):
            scaled.append(name)
            assert np.std(w) == pytest.approx(residual, rel=0.05), name
        else:
            assert np.std(w) == pytest.approx(0.02, rel=0.05), name
    assert scaled == [f"blocks.{i}.{p}.weight" for i in range(4) for p in ("attn.out_proj", "mlp.proj")]


def _gpt_run(model: GPT, idx: np.ndarray, targets: np.ndarray, seed: int = 2) -> dict[str, np.ndarray]:
    model.zero_grad()
    tl.manual_seed(seed)
    logits, loss = model(tl.tensor(idx), tl.tensor(targets))
    loss.backward()
    result = {"logits": logits.detach().numpy(), "loss": loss.detach().numpy()}
    result.update({f"{n} grad": p.grad.numpy() for n, p in model.named_parameters()})
    return result


@pytest.mark.parametrize("dropout", [0.0, 0.2])
def test_fused_gpt_equals_composed_on_logits_loss_and_gradients(dropout: float) -> None:
    config = GPTConfig(vocab_size=11, block_size=8, n_layer=2, n_head=2, n_embd=8, dropout=dropout)
    fused = GPT(config).double()
    composed = GPT(GPTConfig(**{**vars(config), "fused": False})).double()
    composed.load_state_dict(fused.state_dict())
    rng = np.random.default_rng(1)
    idx, targets = rng.integers(0, 11, (3, 7)), rng.integers(0, 11, (3, 7))

    got, want = _gpt_run(fused, idx, targets), _gpt_run(composed, idx, targets)
    assert sorted(got) == sorted(want) and len(got) == 2 + len(list(fused.parameters()))
    for name in got:
        np.testing.assert_allclose(got[name], want[name], rtol=0, atol=1e-10, err_msg=name)
    # the dropout draws agree, and with dropout > 0 they change the loss
    assert (dropout > 0) == (got["loss"] != _gpt_run(fused.eval(), idx, targets)["loss"])


def test_gpt_fused_switch_reaches_every_layer_with_a_twin() -> None:
    model = GPT(GPTConfig(vocab_size=5, block_size=4, n_layer=2, n_head=1, n_embd=4, fused=False))
    twins = [m for m in model.modules() if isinstance(m, (tl.nn.LayerNorm, tl.nn.MultiheadSelfAttention))]
    assert len(twins) == 2 * 3 + 1 and not any(m.fused for m in twins)


def test_gpt_is_causal() -> None:
    model = GPT(GPTConfig(vocab_size=9, block_size=6, n_layer=2, n_head=2, n_embd=8))
    a = tl.tensor([[1, 2, 3, 4, 5, 6]])
    b = tl.tensor([[1, 2, 3, 8, 8, 8]])
    la, lb = model(a)[0].detach().numpy(), model(b)[0].detach().numpy()
    np.testing.assert_array_equal(la[:, :3], lb[:, :3])
    assert not np.allclose(la[:, 3:], lb[:, 3:])


def test_gpt_rejects_a_sequence_longer_than_block_size() -> None:
    model = GPT(GPTConfig(vocab_size=9, block_size=4, n_layer=1, n_head=1, n_embd=4))
    with pytest.raises(ValueError, match="length 5 is longer than block_size 4"):
        model(tl.zeros(1, 5, dtype=tl.int64))


def test_gpt_generate_continues_within_the_vocabulary_and_repeats_with_a_seed() -> None:
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=8))
    start = tl.tensor([[1, 2], [3, 4]])
    tl.manual_seed(5)
    a = model.generate(start, 6, top_k=3)
    tl.manual_seed(5)
    b = model.generate(start, 6, top_k=3)
    assert a.shape == (2, 8)
    np.testing.assert_array_equal(a.numpy()[:, :2], start.numpy())
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.numpy().min() >= 0 and a.numpy().max() < 7
    assert model.training  # generate restores the mode


def test_gpt_greedy_and_top_1_pick_the_most_likely_token() -> None:
    model = GPT(GPTConfig(vocab_size=7, block_size=4, n_layer=1, n_head=1, n_embd=8))
    start = tl.tensor([[1, 2, 3]])
    greedy = model.generate(start, 1, temperature=0)
    top1 = model.generate(start, 1, top_k=1)
    expected = model.eval()(start)[0].detach().numpy()[0, -1].argmax()
    assert greedy.numpy()[0, -1] == expected == top1.numpy()[0, -1]


def test_gpt_learns_to_copy_a_fixed_sequence() -> None:
    model = GPT(GPTConfig(vocab_size=6, block_size=8, n_layer=1, n_head=2, n_embd=16))
    seq = tl.tensor([[0, 1, 2, 3, 4, 5, 0, 1, 2]])
    x, y = seq[:, :-1], seq[:, 1:]
    opt = tl.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    first = None
    for _ in range(60):
        _, loss = model(x, y)
        first = first if first is not None else loss.item()
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert first > 1.5 and loss.item() < 0.05


# ----------------------------------------------------------------------------- the seed's code

# Section 5 of the seed document, verbatim except for the three imports, which
# name tinyllm instead of torch. The names it leaves undefined are given values
# in the namespace it runs in (see the test below).
SEED_SECTION_5 = """
import tinyllm as torch
import tinyllm.nn as nn
import tinyllm.optim as optim

# 定义网络结构
class TextClassifier(nn.Module):
    def __init__(self, vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, dropout):
        super(TextClassifier, self).__init__()
        self.embedding = nn.Embedding(vocab_size, embedding_dim)
        self.lstm = nn.LSTM(embedding_dim, hidden_dim, num_layers=n_layers, dropout=dropout, batch_first=True)
        self.fc = nn.Linear(hidden_dim, output_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, text, text_lengths):
        embedded = self.embedding(text)
        packed_embedded = nn.utils.rnn.pack_padded_sequence(embedded, text_lengths.to('cpu'), batch_first=True, enforce_sorted=False)
        packed_output, (hidden, cell) = self.lstm(packed_embedded)
        hidden = self.dropout(hidden[-1,:,:])
        return self.fc(hidden.squeeze(0))

model = TextClassifier(vocab_size, embedding_dim, hidden_dim, output_dim, n_layers, dropout)

# 定义损失函数和优化器
criterion = nn.CrossEntropyLoss()
optimizer = optim.Adam(model.parameters(), lr=learning_rate)

# 训练模型
for epoch in range(num_epochs):
    for i, (text, text_lengths, labels) in enumerate(train_loader):
        optimizer.zero_grad()
        outputs = model(text, text_lengths)
        loss = criterion(outputs, labels)
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
"""  # noqa: E501 (the seed's code, verbatim)


def test_the_seed_section_5_code_trains_with_only_its_imports_changed() -> None:
    # The one line added to the seed's loop is `losses.append(loss.item())`, to observe it.
    # The task: is token 1 among the first two tokens? (labels 1/0), lengths 2..6.
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(4):
        lengths = rng.integers(2, 7, 16)
        text = np.zeros((16, 6), dtype=np.int64)
        for i, n in enumerate(lengths):
            text[i, :n] = rng.integers(1, 10, n)
        labels = (text[:, :2] == 1).any(axis=1).astype(np.int64)
        batches.append((tl.tensor(text), tl.tensor(lengths), tl.tensor(labels)))
    namespace = {
        "vocab_size": 10, "embedding_dim": 8, "hidden_dim": 16, "output_dim": 2, "n_layers": 2,
        "dropout": 0.1, "learning_rate": 0.02, "num_epochs": 15, "train_loader": batches, "losses": [],
    }  # fmt: skip
    exec(compile(SEED_SECTION_5, "seed_section_5", "exec"), namespace)  # noqa: S102 (the seed's code, verbatim)
    losses = namespace["losses"]
    assert len(losses) == 60 and np.all(np.isfinite(losses))
    assert np.mean(losses[-8:]) < 0.5 * np.mean(losses[:4])
