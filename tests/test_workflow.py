"""End-to-end workflows of the data/training issue: models against the known limits of the built-in data."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
from tinyllm.data import lm_batches, markov_text, split_tokens
from tinyllm.models import GPT, GPTConfig


def test_a_small_model_approaches_the_markov_entropy_floor_from_above() -> None:
    source = markov_text(order=1, alphabet="abcd", n_chars=40_000, seed=3, concentration=0.5)
    ids = np.frombuffer(source.text.encode(), dtype=np.uint8).astype(np.int64) - ord("a")
    train, val, _ = split_tokens(ids, (0.8, 0.1, 0.1))
    tl.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=4, block_size=16, n_layer=1, n_head=2, n_embd=16))
    opt = tl.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0.0)
    val_batches = list(lm_batches(val, 16, 64, steps=20, seed=1))
    history = tl.train.fit(
        model, opt, lm_batches(train, 16, 32, seed=0), steps=200, step_fn=tl.train.lm_step,
        val_loader=val_batches, eval_every=10, metrics=("bits_per_char",),
    )  # fmt: skip
    losses = history.series("val_loss", evals=True)
    floor = source.entropy_rate
    # 20 x 64 x 16 = 20,480 predictions: the validation loss's noise is about 0.01 nats
    assert np.all(losses > floor - 0.03), (losses, floor)
    assert losses[-1] < floor + 0.05, (losses, floor)
    assert losses[0] > floor + 0.1  # it started above and came down
    print(f"entropy floor {floor:.4f}; validation loss every 10 steps: {np.round(losses, 3)}")


def test_a_plain_text_file_trains_a_char_level_model_end_to_end(tmp_path) -> None:
    from tinyllm.data import CharTokenizer, read_text

    lines = [f"the {a} {b} sat on the {c}.\n" for a in ("quick", "lazy", "small") for b in ("cat", "dog")
             for c in ("mat", "log", "rug")]  # fmt: skip
    path = tmp_path / "corpus.txt"
    path.write_text("".join(lines * 20), encoding="utf-8")
    text = read_text(path)
    tokenizer = CharTokenizer.fit([text])
    ids = np.asarray(tokenizer.encode(text))
    train, val, _ = split_tokens(ids, (0.8, 0.1, 0.1))
    tl.manual_seed(0)
    model = GPT(GPTConfig(vocab_size=tokenizer.vocab_size, block_size=24, n_layer=1, n_head=2, n_embd=32))
    opt = tl.optim.AdamW(model.parameters(), lr=5e-3, weight_decay=0.0)
    history = tl.train.fit(
        model, opt, lm_batches(train, 24, 16, seed=0), steps=150, step_fn=tl.train.lm_step,
        val_loader=list(lm_batches(val, 24, 16, steps=4, seed=1)), eval_every=50,
    )  # fmt: skip
    val_losses = history.series("val_loss", evals=True)
    assert val_losses[-1] < 0.5 * np.log(tokenizer.vocab_size)
    generated = model.generate(tl.tensor([tokenizer.encode("the ")]), 40, temperature=0)
    sample = tokenizer.decode(generated.numpy()[0].tolist())
    assert sample.startswith("the ") and set(sample) <= set(text)
