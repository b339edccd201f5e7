# %% [markdown]
# # Lesson 10 — A small GPT: next-token prediction with causal self-attention
#
# **GPT** stands for *generative pre-trained transformer*: a stack of transformer blocks
# (causal self-attention and a small MLP, each with a residual connection and layer norm)
# trained on raw text to predict the next token — *pre-trained*, because that objective needs
# no labels, and *generative*, because a model of the next token can write text one token at
# a time. The seed document's language model is one. The lesson's model is
# `tinyllm.models.GPT`, a decoder-only transformer built as GPT-2 is (pre-LayerNorm blocks,
# learned position embeddings, the output layer tied to the token embedding), only tiny: one
# or two blocks of four heads, 32 or 64 numbers per position, about 14k or 100k parameters.
# Lesson 9 builds its attention by hand — Q, K, V, the scaled scores, the causal mask, the
# weighted sum — and checks it against the library's `nn.MultiheadSelfAttention`; here we
# use that module inside the whole model.
#
# This lesson writes the objective out and finds it in the code, checks that attention
# cannot look ahead, trains the GPT with its recipe (explained) on text from a Markov source
# whose best possible loss is known exactly, shows what dropout does when the data are too
# few, finds the head that has learned to fetch the previous character, and samples, with a
# key/value cache that makes sampling several times faster. Pass
# `--text PATH` to train on any plain-text file instead.
#
# Run: `python lessons/10_gpt.py [--quick] [--seed N] [--out DIR] [--text PATH]`.

# %%
import math
import time

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import CharTokenizer, lm_batches, markov_text, read_text, split_tokens
from tinyllm.models import GPT, GPTConfig

F = tl.nn.functional
args = lessons.options("10_gpt")
quick = args.quick
started = time.perf_counter()

# %% [markdown]
# ## 1. The objective: the probability of a text, one token at a time
#
# The seed writes the language model's objective as the probability of an output sequence
# $y = (t_1, \dots, t_n)$ given an input $X$, factored by the chain rule of probability:
#
# $$P(y \mid X) = \prod_{i=1}^{n} P(t_i \mid t_{<i}, X).$$
#
# Nothing is lost by this factoring: it is exact for any distribution. Training maximizes the
# likelihood of the training text, that is, minimizes the negative log of the product — a
# sum, which we average over the positions:
#
# $$L = -\frac{1}{n}\log P(y \mid X) = -\frac{1}{n}\sum_{i=1}^{n} \log P(t_i \mid t_{<i}, X).$$
#
# For a plain language model $X$ is empty (or is the start of the text itself): a text of N
# characters gives N − 1 examples at once, since at every position the model sees the
# characters so far and gives a distribution over the next one. In the code, inputs `x` and
# targets `y` are the same window shifted by one, and **the loss line** is
#
# ```python
# logits, loss = model(x, y)   # tl.train.lm_step; inside: F.cross_entropy(logits.reshape(B*T, V), y.reshape(B*T))
# ```
#
# — each logit row is a softmax away from $P(\,\cdot \mid t_{<i})$, the cross-entropy picks
# $-\log P(t_i \mid t_{<i})$ at the target, and the mean over the $B \cdot T$ positions is $L$.
# We compute the sum of log-probabilities by hand below and find the model's loss.
#
# Our text comes from a Markov source of order k: each character depends only on the k
# before it, through a table drawn at random. Its **entropy rate** — computed exactly from
# that table — is the lowest loss any model can reach: the floor.

# %%
if args.text:
    text = read_text(args.text)
    floor = None
else:
    source = markov_text(order=2, alphabet="abcdefgh", n_chars=30_000 if quick else 150_000,
                         seed=args.seed, concentration=0.3)  # fmt: skip
    text, floor = source.text, source.entropy_rate
    print(f"Markov source of order {source.order} over {len(source.alphabet)} characters: "
          f"entropy rate {floor:.4f} nats/char = {source.bits_per_char:.4f} bits/char")
tokenizer = CharTokenizer.fit([text])
V = tokenizer.vocab_size
ids = np.asarray(tokenizer.encode(text), dtype=np.int64)
train_ids, val_ids, test_ids = split_tokens(ids, (0.8, 0.1, 0.1))
counts = np.bincount(train_ids, minlength=V) / len(train_ids)
unigram = float(-(counts[counts > 0] * np.log(counts[counts > 0])).sum())  # the loss of ignoring the context
print(f"{len(ids):,} characters, vocabulary {V}: {text[:60]!r}...")
print(f"unigram entropy of the training text (a model that ignores the context): {unigram:.4f} nats/char")

block = 32
x, y = next(lm_batches(train_ids, block, 1, seed=args.seed))
print("input :", tokenizer.decode(x.numpy()[0].tolist()))
print("target:", tokenizer.decode(y.numpy()[0].tolist()))

config = GPTConfig(vocab_size=V, block_size=block, n_layer=1 if quick else 2,
                   n_head=4, n_embd=32 if quick else 64, dropout=0.0)  # fmt: skip
model = GPT(config)
print(f"GPT with {config.n_layer} block(s), {config.n_head} heads, {config.n_embd} numbers per position: "
      f"{model.num_parameters():,} parameters")
with tl.no_grad():
    logits, loss = model(x, y)  # the loss line
log_p = F.log_softmax(logits, dim=-1).numpy()[0]  # (T, V): log P(. | t_<i) at every position i
by_hand = -np.mean(log_p[np.arange(block), y.numpy()[0]])  # -1/n sum_i log P(t_i | t_<i)
print(f"the model's loss {loss.item():.6f}; -1/n sum_i log P(t_i | t_<i) by hand {by_hand:.6f} "
      f"(untrained: close to ln {V} = {math.log(V):.4f})")

# %% [markdown]
# ## 2. Causal self-attention cannot see the future
#
# $P(t_i \mid t_{<i})$ must not read $t_i$ or anything after it: every position attends only
# to itself and the positions before it (the attention weights above the diagonal are masked
# to zero before the softmax normalizes them, lesson 9). Changing a later character must leave
# every earlier prediction exactly unchanged.

# %%
probe = x[:, :16]
changed = probe.numpy().copy()
changed[0, 10:] = (changed[0, 10:] + 1) % V
with tl.no_grad():
    before = model(probe)[0].numpy()
    after = model(tl.tensor(changed))[0].numpy()
print(f"largest change of the logits at positions 0-9: {np.abs(before[0, :10] - after[0, :10]).max():.1e}")
print(f"largest change at positions 10-15:            {np.abs(before[0, 10:] - after[0, 10:]).max():.1e}")

# %% [markdown]
# ## 3. The recipe, and training against the floor
#
# GPTs are trained with a recipe that this lesson follows (as GPT-2 and nanoGPT do):
#
# - **AdamW**, Adam with *decoupled* weight decay: each step multiplies the weights by
#   $1 - \eta\lambda$ apart from the gradient step, instead of adding $\lambda w$ to the
#   gradient, where Adam's division by $\sqrt{\hat v}$ would make the decay weak for weights
#   with large gradients and strong for the others. **Decay groups**
#   (`tl.nn.utils.decay_param_groups`): decay pulls a parameter towards 0, which is a
#   simpler model only for the weight *matrices* — shrinking them limits how sharply the
#   model can react to its input. A bias or a LayerNorm gain pulled to 0 just shifts or
#   silences a unit: a worse model, not a simpler one, so the 1-dimensional parameters get
#   no decay. (Embedding tables are matrices, and this library decays them, as nanoGPT does;
#   the original minGPT exempted them too, on the view that a token's vector is a lookup
#   rather than a linear map — both are in use.)
# - **Warmup**: the learning rate rises linearly from 0 over the first steps. Adam divides
#   each step by $\sqrt{\hat v_t}$, the running mean of the squared gradient, and in the first
#   steps that mean rests on a handful of gradients — noisy, and often too small for a weight
#   whose early gradients happened to be small, giving it a step of nearly the full learning
#   rate in a random direction. Early gradients of a transformer are also large and change
#   fast while the attention patterns form. Small steps until $\hat v$ has averaged enough
#   gradients keep those first updates from throwing the model somewhere bad.
# - **Cosine decay**: after the warmup the rate falls as $\eta_{\min} + \tfrac12(\eta -
#   \eta_{\min})(1 + \cos \pi r)$, r from 0 to 1. Late in training the loss is dominated by the
#   noise of the minibatch gradients; a smaller step averages that noise out and settles
#   lower. The cosine keeps the rate high for long (fast progress) and brings it down smoothly
#   near the end, with no step changes to tune.
# - Gradient clipping at norm 1 guards against a rare huge step.
#
# The peak rate is 0.01 in --quick (500 steps, the small model) and 0.003 in the full run
# (1200 steps, two blocks of 64), with a floor of a tenth of the peak at the end.
#
# The validation loss is measured every few steps on held-out text.

# %%
steps = 500 if quick else 1200
optimizer = tl.optim.AdamW(tl.nn.utils.decay_param_groups(model, 0.1), lr=1e-2 if quick else 3e-3)
schedule = tl.optim.lr_scheduler.WarmupCosine(optimizer, warmup_steps=steps // 20, total_steps=steps,
                                              min_lr=optimizer.param_groups[0]["lr"] / 10)  # fmt: skip
val_batches = list(lm_batches(val_ids, block, 32, steps=8 if quick else 20, seed=args.seed + 1))
history = tl.train.fit(
    model, optimizer, lm_batches(train_ids, block, 16, seed=args.seed), steps=steps, step_fn=tl.train.lm_step,
    val_loader=val_batches, eval_every=steps // 10, scheduler=schedule, clip_grad_norm=1.0,
    metrics=("bits_per_char",), progress=False,
)  # fmt: skip
val = history.series("val_loss", evals=True)
print(f"validation loss: start {val[0]:.4f}, end {val[-1]:.4f}" + (f", floor {floor:.4f}" if floor else "")
      + f", unigram {unigram:.4f}")  # fmt: skip

fig, ax = plot.figure(width=6.5)
ax.plot(history.series("step"), history.series("loss"), color=plot.COLORS["train"], alpha=0.5, lw=0.8,
        label="training loss (per step)")  # fmt: skip
ax.plot(history.series("step", evals=True), val, "o-", color=plot.COLORS["val"], label="validation loss")
if floor is not None:
    ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"entropy floor {floor:.3f}")
ax.axhline(unigram, color="tab:red", ls=":", label=f"ignoring the context {unigram:.3f}")
ax.axhline(math.log(V), color="0.7", ls=":", label=f"uniform guess ln {V}")
ax.set_xlabel("optimizer step (batches of 16 windows of 32 characters)")
ax.set_ylabel("cross-entropy (nats per character)")
ax.set_title("A character-level GPT learns down to the floor")
ax.legend()
print("saved", plot.save(fig, args.out, "loss_vs_floor"))

# %% [markdown]
# ## 4. Dropout, where the data are too few
#
# With 24k (quick) or 120k characters of training text the model above cannot memorize it and needs no
# dropout (`dropout=0.0`). Give a GPT only 600 characters and it will: it learns the windows
# by heart, its training loss falls *below the floor* — impossible for a model of the source,
# possible for a model of these 600 characters — and its validation loss climbs. **Dropout**
# zeroes a random fraction p of the activations at each training step (and scales the rest
# by 1/(1 − p)); GPT applies it to the embeddings' sum, to the attention weights, and to the
# output of each attention and MLP branch before it joins the residual stream (lesson 9). A
# unit can no longer rely on a particular other unit being there, which makes exact
# memorization of the few windows much harder. Same data, same initial weights, same steps:
# dropout 0 against 0.2, on one seed in --quick, three in the full run.

# %%
few = train_ids[:600]
drop_seeds = [args.seed] if quick else [args.seed + k for k in range(3)]
dropout_runs = {p: [] for p in (0.0, 0.2)}
for s in drop_seeds:
    if args.text:
        few_ids, few_val, few_floor = few, val_ids, None
    else:
        other = markov_text(order=2, alphabet="abcdefgh", n_chars=30_000, seed=s, concentration=0.3)
        other_ids = np.asarray(tokenizer.encode(other.text), dtype=np.int64)
        few_ids, few_val, few_floor = other_ids[:600], other_ids[-3000:], other.entropy_rate
    few_val_batches = list(lm_batches(few_val, block, 32, steps=8, seed=s + 1))
    for p, rows in dropout_runs.items():
        tl.manual_seed(s)
        small = GPT(GPTConfig(vocab_size=V, block_size=block, n_layer=1, n_head=4, n_embd=64, dropout=p))
        opt = tl.optim.AdamW(tl.nn.utils.decay_param_groups(small, 0.1), lr=1e-2)
        h = tl.train.fit(small, opt, lm_batches(few_ids, block, 16, seed=s), steps=300, step_fn=tl.train.lm_step,
                         val_loader=few_val_batches, eval_every=60, clip_grad_norm=1.0, progress=False,
                         scheduler=tl.optim.lr_scheduler.WarmupCosine(opt, 15, 300, min_lr=1e-3))  # fmt: skip
        small.eval()
        with tl.no_grad():  # the training loss without dropout's noise: the model itself on its 600 characters
            fitted = np.mean([small(bx, by)[1].item() for bx, by in lm_batches(few_ids, block, 32, steps=8, seed=s)])
        rows.append({"seed": s, "steps": h.series("step", evals=True), "val": h.series("val_loss", evals=True),
                     "train": float(fitted), "floor": few_floor})  # fmt: skip
        print(f"seed {s}, dropout {p}: training loss {fitted:.3f}, validation loss {rows[-1]['val'][-1]:.3f}"
              + (f" (floor {few_floor:.3f})" if few_floor else ""))  # fmt: skip

fig, ax = plot.figure(width=6.5)
for p, rows in dropout_runs.items():
    color = "tab:red" if p == 0 else "tab:blue"
    for k, r in enumerate(rows):
        ax.plot(r["steps"], r["val"], "o-", ms=3, color=color, label=f"dropout {p}: validation" if k == 0 else None)
        ax.plot(r["steps"][-1], r["train"], "x", ms=8, mew=2, color=color,
                label=f"dropout {p}: training loss at the end" if k == 0 else None)  # fmt: skip
if not args.text:
    ax.axhline(np.mean([r["floor"] for r in dropout_runs[0.0]]), color=plot.COLORS["floor"], ls="--",
               label="entropy floor (mean over seeds)")  # fmt: skip
ax.set_xlabel("optimizer step (batches of 16 windows)")
ax.set_ylabel("cross-entropy (nats per character)")
ax.set_title(f"600 training characters: dropout 0.2 narrows the gap and lowers the validation loss\n"
             f"({len(drop_seeds)} seed(s), one line each)", fontsize=11)  # fmt: skip
ax.set_ylim(0, None)
ax.legend(fontsize=8, loc="lower left")
print("saved", plot.save(fig, args.out, "dropout"))

# %% [markdown]
# Without dropout the model memorizes: its training loss ends below the entropy floor and its
# validation loss rises after its first minimum. With dropout 0.2 the gap between training
# and validation loss is less than half as wide, and the validation loss ends lower — by more
# than 0.3 nats per character on every seed. (It still ends far above the floor: 600
# characters cannot show all 64 two-character contexts often enough to learn their tables.)
# Exercise 1 asks what the same dropout does to the model of section 3, which has plenty of
# data.
#
# ## 5. Inside the attention heads
#
# Each head computes its own weights: row t shows how much position t draws from each
# earlier position. For a source of order 2, the next character depends on the last two:
# the current one reaches the prediction through the residual path without attention, but the
# *previous* one must be fetched — by attention, the only way information moves between
# positions. So some head should learn to put its weight on position t − 1. We measure, for
# every head, over all positions t ≥ 1 of the validation windows, the weight it puts on t − 1.

# %%
model.eval()
weights = []  # one (B, heads, T, T) array per layer
with tl.no_grad():
    vx = tl.tensor(np.concatenate([b[0].numpy() for b in val_batches[:4]]))
    h = model.drop(model.wte(vx) + model.wpe(tl.arange(block)))
    for blk in model.blocks:
        _, w = blk.attn(blk.ln_1(h), need_weights=True)
        weights.append(w.numpy())
        h = blk(h)
on_previous = np.stack([np.diagonal(w, offset=-1, axis1=2, axis2=3) for w in weights])  # (layers, B, heads, T-1)
share_prev = on_previous.mean(axis=(1, 3))  # (layers, heads): mean weight on t - 1
mostly_prev = (on_previous > 0.5).mean(axis=(1, 3))  # the fraction of positions where it is more than half
best_layer, best_head = np.unravel_index(np.argmax(mostly_prev), mostly_prev.shape)
for k in range(config.n_layer):
    print(f"layer {k + 1}: mean weight on t - 1 per head {np.round(share_prev[k], 2)}; "
          f"positions with more than half on t - 1 {np.round(mostly_prev[k], 2)}")
print(f"the previous-character head: layer {best_layer + 1}, head {best_head}: "
      f"more than half its weight on t - 1 at {mostly_prev[best_layer, best_head]:.0%} of the positions")

fig, (ax_bar, ax_map) = plot.figure(ncols=2, width=5.2, height=4.2)
for k in range(config.n_layer):
    ax_bar.bar(np.arange(config.n_head) + (k - (config.n_layer - 1) / 2) * 0.8 / config.n_layer,
               mostly_prev[k], 0.8 / config.n_layer, label=f"layer {k + 1}")  # fmt: skip
ax_bar.axhline(0.8, color="0.5", ls=":", label="80% of the positions")
ax_bar.set_xticks(range(config.n_head), [f"head {k}" for k in range(config.n_head)])
ax_bar.set_ylim(0, 1.05)
ax_bar.set_ylabel("share of positions t with\nweight on t − 1 above 0.5")
ax_bar.set_title(f"Which head fetches the previous character?\n({vx.shape[0]} validation windows of {block})")
ax_bar.legend(fontsize=9)
T_show = 16
ax_map.imshow(weights[best_layer][0, best_head, :T_show, :T_show], cmap="viridis", vmin=0, vmax=1)
labels = list(tokenizer.decode(vx.numpy()[0, :T_show].tolist()))
ax_map.set_xticks(range(T_show), labels, fontsize=8)
ax_map.set_yticks(range(T_show), labels, fontsize=8)
ax_map.grid(False)
ax_map.set_xlabel("key position (attended to)")
ax_map.set_ylabel("query position")
ax_map.set_title(f"Layer {best_layer + 1}, head {best_head} on one window:\nthe band just below the diagonal is t − 1")
fig.suptitle("Attention of the trained GPT: one head learns to look one character back")
print("saved", plot.save(fig, args.out, "attention"))

# %% [markdown]
# ## 6. Samples
#
# Generation feeds the model its own predictions, one character at a time: sample from
# the softmax of the last position's logits (divided by a temperature), append, repeat.
# Temperature 0 always takes the most likely character, and soon loops; temperature 1
# samples the model's distribution as it is.

# %%
start = tl.tensor([tokenizer.encode(text[:8])])
for temperature in (0.0, 1.0):
    out = model.generate(start, 80, temperature=temperature)
    print(f"temperature {temperature}: {tokenizer.decode(out.numpy()[0].tolist())!r}")

# %% [markdown]
# ## 7. Sampling faster: the key/value cache
#
# Done as section 6 describes it (`generate(..., use_cache=False)`), each step runs the model
# over the whole window again and uses only the last position's logits. But with causal
# attention, the key and value of position j depend on the tokens up to j only (section 2: a
# later token changes nothing before it), so appending a token leaves every earlier key and
# value as it was. `generate` keeps them: a first pass over the prompt stores each layer's
# keys and values (a `KVCache` per layer, arrays (B, H, T, D)); each step then feeds **the
# newest token alone**, at the next position, computes its query, key and value, appends the
# key and value to the cache, and attends over all cached positions — with no mask, since the
# newest token may see every earlier one. A step costs
# $O(C^2)$ for the projections and the MLP and $O(TC)$ for the attention, instead of a full
# pass, $O(TC^2 + T^2C)$: n new tokens cost n single-position steps instead of about $n^2/2$
# positions' worth of passes.
#
# One catch: the window. The model has position embeddings for positions 0 to
# `block_size` − 1 only; once the text is longer, each step reads the last `block_size`
# tokens, and every one of them moves down one position. Its position embedding changes, and
# with it every key and value in every layer: nothing cached is valid, and `generate` refills
# the cache from the window, which is the uncached step's work. (Models whose attention sees
# relative positions, such as RoPE's, can slide a cache; learned absolute positions, as here
# and in GPT-2, cannot.) Either way the cache must change no token: with the same random
# generator, both paths sample the same text.
#
# We time it on a model of this lesson's shape with a context of 192 (untrained: the speed
# does not depend on the weights), sampling 191 tokens after one for 8 texts at once. Each
# path runs twice, alternating, and keeps its faster run, timed in CPU seconds of this process
# (`time.process_time`), which other programs on a busy machine do not inflate. Then we check
# the cache on the trained model, 80 characters past its window of 32.

# %%
context, texts = 192, 8
long = GPT(GPTConfig(vocab_size=V, block_size=context, n_layer=config.n_layer, n_head=config.n_head,
                     n_embd=config.n_embd))  # fmt: skip
first = tl.tensor(np.zeros((texts, 1), dtype=np.int64))
new_tokens = context - 1
seconds: dict[bool, list[float]] = {True: [], False: []}
sampled = {}
for _ in range(2):
    for use_cache in (True, False):
        tick = time.process_time()
        generator = tl.Generator(first.device).manual_seed(args.seed)
        sampled[use_cache] = long.generate(first, new_tokens, generator=generator, use_cache=use_cache).numpy()
        seconds[use_cache].append(time.process_time() - tick)
cached_s, uncached_s = min(seconds[True]), min(seconds[False])
speedup = uncached_s / cached_s
positions = sum(range(1, new_tokens + 1))  # the uncached passes read 1, 2, ..., new_tokens positions
print(f"{texts} texts x {new_tokens} new tokens, context {context}: without the cache {uncached_s:.2f} s "
      f"({texts * new_tokens / uncached_s:,.0f} tokens/s), with it {cached_s:.2f} s "
      f"({texts * new_tokens / cached_s:,.0f} tokens/s): {speedup:.1f}x faster")  # fmt: skip
print(f"positions run through the model per text: {positions:,} without the cache, {new_tokens} with it")
same_long = bool(np.array_equal(sampled[True], sampled[False]))
trained_samples = {use_cache: model.generate(start, 80, generator=tl.Generator(start.device).manual_seed(args.seed),
                                             use_cache=use_cache).numpy() for use_cache in (True, False)}  # fmt: skip
same_trained = bool(np.array_equal(trained_samples[True], trained_samples[False]))
print(f"the same tokens with and without the cache: {same_long} (context {context}), {same_trained} (the trained "
      f"model, {start.shape[1] + 80} characters through a window of {block})")  # fmt: skip

# %% [markdown]
# The cache saves far more arithmetic than time: each text's uncached passes read nearly a
# hundred times as many positions, but a step of one position is so small that its time
# goes to the fixed cost of each operation (Python and NumPy calling into small arrays), not
# to arithmetic. The saving grows with the length of the text and the size of the model;
# GPU inference servers are built around this cache (and its memory: 2 L T C numbers per text).

# %% [markdown]
# ## Conclusion
#
# The GPT's loss is the seed's $-\log P(y \mid X)$ per token: the next-token cross-entropy,
# which needs no labels — the text is its own target. Causal attention makes each prediction
# depend on the past only. Trained with AdamW, warmup and cosine decay on a source with a
# known floor, the validation loss comes down to that floor and no lower, and one head learns
# the one thing attention is needed for here: fetching the previous character. On too little
# data the same model memorizes, and dropout is what keeps its validation loss down. Sampling
# keeps each layer's keys and values, which a new token cannot change, and feeds one token per
# step: the same text, several times faster.

# %%
print(f"lesson ran {time.perf_counter() - started:.1f} s")
assert abs(loss.item() - by_hand) < 1e-5, (loss.item(), by_hand)
assert np.abs(before[0, :10] - after[0, :10]).max() == 0.0
assert np.abs(before[0, 10:] - after[0, 10:]).max() > 0
for w in weights:
    np.testing.assert_allclose(w.sum(axis=-1), 1.0, rtol=1e-5)
    assert np.allclose(np.triu(w, k=1), 0.0)
if floor is not None:
    margin = 0.15 if quick else 0.06
    assert floor - 0.05 < val[-1] < floor + margin, (val[-1], floor)  # down to the floor, and not below
    assert mostly_prev.max() >= 0.8, mostly_prev  # a head puts most of its weight on t - 1 at 80% of positions
    for without, with_dropout in zip(dropout_runs[0.0], dropout_runs[0.2]):
        assert without["train"] < without["floor"], without  # memorized: below what the source allows
        assert without["val"][-1] > without["val"].min() + 0.1, without  # and the validation loss rose
        assert with_dropout["val"][-1] - with_dropout["train"] < 0.5 * (without["val"][-1] - without["train"])
        assert with_dropout["val"][-1] < without["val"][-1] - 0.3, (with_dropout, without)
else:  # any text: the model uses the context, beyond the characters' frequencies
    assert val[-1] < unigram - 0.1, (val[-1], unigram)
assert same_long and same_trained  # the cache changes no sampled token
assert speedup > (1.5 if quick else 3.0), seconds  # a modest bar: the measured factor is several times this
print("lesson 10: the GPT's loss is -log P(y|X) per token; causal attention sees only the past; it reaches the "
      "entropy floor; a head fetches the previous character; on too little data dropout lowers the validation loss; "
      f"the key/value cache samples the same tokens {speedup:.1f}x faster")


# %% [markdown]
# ## Exercises
#
# 1. **Predict, then run.** In section 3, set `dropout=0.2` in `config` (the model that trains
#    on 24,000 or 120,000 characters). Will the final validation loss come closer to the floor
#    than with dropout 0, or end further from it? Write down your guess and a reason, then run
#    `--quick` and compare the printed losses.
# 2. **Predict, then run.** Change the source in section 1 to `order=1`: each character then
#    depends on the previous one only, and that one is the current position's own input. Will
#    a head still put most of its weight on t − 1? Which assertion will fail, and what does
#    that tell you about *why* the head of section 5 formed?
# 3. **Code change.** Turn the warmup off (`warmup_steps=0`) and raise the learning rate of
#    section 3 to 0.03, in --quick. Record the training loss of the first 20 steps and the final
#    validation loss, then put the warmup back at 0.03. What did the warmup change, and where?
# 4. **Derivation.** For a Markov source of order k with transition table $P(x \mid c)$ and
#    stationary distribution $\pi(c)$ over the contexts c of k characters, show that the
#    expected loss per character of a model $Q(x \mid t_{<i})$ that reads the last k characters,
#    $\mathbb{E}[-\log Q(t_i \mid c_i)]$, equals the entropy rate
#    $H = -\sum_c \pi(c) \sum_x P(x \mid c) \log P(x \mid c)$ plus a sum of KL divergences, and
#    so is never below H. Why can a model that reads *more* than k characters not beat H either?
#    What does this say about a training loss below the floor, as in section 4?
# 5. **Small code change.** Sample 200 characters at temperature 0.5 and at 2.0 and compute,
#    for each, the fraction of characters that equal the model's most likely next character.
#    Predict the order of the three fractions (0.5, 1.0, 2.0) before you run it.

