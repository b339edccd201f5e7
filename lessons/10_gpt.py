# %% [markdown]
# # Lesson 10 — A small GPT: next-token prediction with causal self-attention
#
# The seed document's language model is a GPT: a stack of transformer blocks trained to
# predict the next token. This lesson builds the objective from the data, checks that
# attention really cannot look ahead, trains a character-level GPT on text from a Markov
# source whose best possible loss is known exactly, looks inside its attention heads,
# and samples from it. Pass `--text PATH` to train on any plain-text file instead.
#
# Run: `python lessons/10_gpt.py [--quick] [--seed N] [--out DIR] [--text PATH]`.

# %%
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import CharTokenizer, lm_batches, markov_text, read_text, split_tokens
from tinyllm.models import GPT, GPTConfig

args = lessons.options("10_gpt")
quick = args.quick

# %% [markdown]
# ## 1. The objective: predict the next character
#
# A text of N characters gives N − 1 training examples at once: at every position t the
# model sees characters 0..t and must give the probability of character t + 1. The loss is
# the mean cross-entropy over all positions, $L = -\frac{1}{N-1}\sum_t \log p(x_{t+1} \mid x_{\le t})$.
# Inputs and targets are the same window, shifted by one.
#
# Our text comes from a Markov source of order k: each character depends only on the k
# before it, through a table drawn at random. Its **entropy rate** — computed exactly from
# that table — is the lowest loss any model can reach: the floor.

# %%
if args.text:
    text = read_text(args.text)
    floor = None
else:
    source = markov_text(order=1 if quick else 2, alphabet="abcdefgh", n_chars=30_000 if quick else 150_000,
                         seed=args.seed, concentration=0.3)  # fmt: skip
    text, floor = source.text, source.entropy_rate
    print(f"Markov source of order {source.order} over {len(source.alphabet)} characters: "
          f"entropy rate {floor:.4f} nats/char = {source.bits_per_char:.4f} bits/char")
tokenizer = CharTokenizer.fit([text])
ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
train_ids, val_ids, test_ids = split_tokens(ids, (0.8, 0.1, 0.1))
print(f"{len(ids):,} characters, vocabulary {tokenizer.vocab_size}: {text[:60]!r}...")

block = 32
x, y = next(lm_batches(train_ids, block, 1, seed=args.seed))
print("input :", tokenizer.decode(x.numpy()[0].tolist()))
print("target:", tokenizer.decode(y.numpy()[0].tolist()))

# %% [markdown]
# ## 2. Causal self-attention cannot see the future
#
# Every position attends only to itself and the positions before it: the attention
# weights above the diagonal are masked to zero before the softmax normalizes them.
# Changing a later character must leave every earlier prediction exactly unchanged.

# %%
config = GPTConfig(vocab_size=tokenizer.vocab_size, block_size=block, n_layer=1 if quick else 2,
                   n_head=4, n_embd=32 if quick else 64, dropout=0.0)  # fmt: skip
model = GPT(config)
probe = x[:, :16]
changed = probe.numpy().copy()
changed[0, 10:] = (changed[0, 10:] + 1) % tokenizer.vocab_size
with tl.no_grad():
    before = model(probe)[0].numpy()
    after = model(tl.tensor(changed))[0].numpy()
print(f"largest change of the logits at positions 0-9: {np.abs(before[0, :10] - after[0, :10]).max():.1e}")
print(f"largest change at positions 10-15:            {np.abs(before[0, 10:] - after[0, 10:]).max():.1e}")

# %% [markdown]
# ## 3. Training, against the floor
#
# AdamW with the GPT recipe: weight decay on the weight matrices only
# (`tl.nn.utils.decay_param_groups`), a linear warm-up and a cosine decay of the learning
# rate. The validation loss is measured every few steps on held-out text.

# %%
steps = 200 if quick else 1200
optimizer = tl.optim.AdamW(tl.nn.utils.decay_param_groups(model, 0.1), lr=3e-3)
schedule = tl.optim.lr_scheduler.WarmupCosine(optimizer, warmup_steps=steps // 20, total_steps=steps, min_lr=3e-4)
val_batches = list(lm_batches(val_ids, block, 32, steps=8 if quick else 20, seed=args.seed + 1))
history = tl.train.fit(
    model, optimizer, lm_batches(train_ids, block, 16, seed=args.seed), steps=steps, step_fn=tl.train.lm_step,
    val_loader=val_batches, eval_every=steps // 10, scheduler=schedule, clip_grad_norm=1.0,
    metrics=("bits_per_char",),
)  # fmt: skip
val = history.series("val_loss", evals=True)
print(f"validation loss: start {val[0]:.4f}, end {val[-1]:.4f}" + (f", floor {floor:.4f}" if floor else ""))

fig, ax = plot.figure(width=6.5)
ax.plot(history.series("step"), history.series("loss"), color=plot.COLORS["train"], alpha=0.5, lw=0.8,
        label="training loss (per step)")  # fmt: skip
ax.plot(history.series("step", evals=True), val, "o-", color=plot.COLORS["val"], label="validation loss")
if floor is not None:
    ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"entropy floor {floor:.3f}")
ax.axhline(math.log(tokenizer.vocab_size), color="0.7", ls=":", label=f"uniform guess ln {tokenizer.vocab_size}")
ax.set_xlabel("optimizer step")
ax.set_ylabel("cross-entropy (nats per character)")
ax.set_title("A character-level GPT learns down to the floor")
ax.legend()
print("saved", plot.save(fig, args.out, "loss_vs_floor"))

# %% [markdown]
# ## 4. Inside the attention heads
#
# Each head computes its own weights: row t shows how much position t draws from each
# earlier position. For a source of order k, the next character depends on the last k:
# the current one reaches the prediction through the residual path without attention,
# so for k = 2 (the full run) a head must fetch the *previous* character — look for the
# bright band just below the diagonal. (The quick run's order-1 source needs no attention
# at all, and its heads stay diffuse.)

# %%
model.eval()
with tl.no_grad():
    h = model.drop(model.wte(probe) + model.wpe(tl.arange(probe.shape[1])))
    _, weights = model.blocks[0].attn(model.blocks[0].ln_1(h), need_weights=True)
weights = weights.numpy()[0]  # (heads, T, T)
fig, axes = plot.figure(ncols=config.n_head, width=2.6, height=2.8)
labels = list(tokenizer.decode(probe.numpy()[0].tolist()))
for k, ax in enumerate(axes):
    ax.imshow(weights[k], cmap="viridis", vmin=0, vmax=1)
    ax.set_title(f"head {k}")
    ax.set_xlabel("key position")
    ax.set_xticks(range(len(labels)), labels, fontsize=7)
    ax.set_yticks(range(len(labels)), labels, fontsize=7)
    ax.grid(False)
axes[0].set_ylabel("query position")
fig.suptitle("Attention weights of the first layer (rows: where from; each row sums to 1)")
print("saved", plot.save(fig, args.out, "attention"))
recent = np.mean([np.trace(w, offset=-1) + np.trace(w) for w in weights]) / probe.shape[1]  # w: one head (T, T)
print(f"share of attention on the current and previous character, averaged over heads: {recent:.2f}")

# %% [markdown]
# ## 5. Samples
#
# Generation feeds the model its own predictions, one character at a time: sample from
# the softmax of the last position's logits (divided by a temperature), append, repeat.

# %%
start = tl.tensor([tokenizer.encode(text[:8])])
for temperature in (0.0, 1.0):
    out = model.generate(start, 80, temperature=temperature)
    print(f"temperature {temperature}: {tokenizer.decode(out.numpy()[0].tolist())!r}")

# %% [markdown]
# ## Conclusion
#
# The next-token cross-entropy needs no labels — the text is its own target. Causal
# attention makes each prediction depend on the past only. Trained on a source with a
# known floor, the GPT's validation loss comes down to that floor and no lower: there is
# nothing left to learn, only noise to memorize.

# %%
assert np.abs(before[0, :10] - after[0, :10]).max() == 0.0
assert np.abs(before[0, 10:] - after[0, 10:]).max() > 0
np.testing.assert_allclose(weights.sum(axis=-1), 1.0, rtol=1e-5)
assert np.allclose(np.triu(weights, k=1), 0.0)
assert val[-1] < val[0]
if floor is not None:
    margin = 0.15 if quick else 0.06
    assert floor - 0.05 < val[-1] < floor + margin, (val[-1], floor)
print("lesson 10: causal attention sees only the past; the GPT reaches the entropy floor and not below")
