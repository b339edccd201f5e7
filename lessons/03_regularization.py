# %% [markdown]
# # Lesson 3 — Regularization: L2, L1 and dropout against overfitting
#
# The seed document's third step chooses a regularization strategy (its section 4.4):
# a model with many more parameters than training examples can learn the examples by
# heart — including their noise — and then predicts new ones worse. Regularization
# limits what the model can learn cheaply:
#
# - **L2** adds $\tfrac{\lambda}{2} \sum w^2$ to the loss: every step pulls each weight
#   toward zero in proportion to its size (*weight decay*). Weights shrink; none
#   becomes exactly zero.
# - **L1** adds $\lambda \sum |w|$: a constant pull of size $\lambda$ toward zero,
#   whatever the weight's size. Taken as a *proximal step* (soft thresholding) it sets
#   small weights to exactly zero: the model becomes sparse.
# - **Dropout** zeroes each input of a layer with probability $p$ during training (and
#   scales the survivors by $1/(1-p)$): the model cannot rely on any single feature.
#
# We take an over-parameterized network on little data, train it without and with each
# regularizer, and look at the training and validation losses, the weights, and the
# validation loss against the regularization strength.
#
# Run: `python lessons/03_regularization.py [--quick] [--seed N] [--out DIR]`.

# %%
import math

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import lessons, nn, plot
from tinyllm.data import WordTokenizer, synthetic_sentiment

args = lessons.options("03_regularization")
quick = args.quick
epochs = 80 if quick else 100
seeds = [args.seed] if quick else [args.seed, args.seed + 1, args.seed + 2]

# %% [markdown]
# ## 1. The data and the model
#
# 300 one-clause reviews ("the plot was not very good") from `synthetic_sentiment`, a
# fifth of them with a wrong label (`noise=0.2`). With one clause, the words decide
# the label ("not" flips the adjective), so a network over word counts can learn the
# rule — and no model can beat 80 % accuracy, or a cross-entropy of
# $H(0.2) = -0.2 \ln 0.2 - 0.8 \ln 0.8 \approx 0.500$ nats, on new reviews. A separate
# set of 2000 reviews is the validation set.
#
# The model: word counts → 512 ReLU units → 2 logits, with optional dropout on the
# counts ("word dropout") and on the hidden units. It has about 18 000 parameters for
# 300 examples.

# %%
N_TRAIN, N_VAL, NOISE, HIDDEN = 300, 2000, 0.2, 512
floor = -NOISE * math.log(NOISE) - (1 - NOISE) * math.log(1 - NOISE)


def reviews(n: int, seed: int):
    return synthetic_sentiment(n, seed=seed, noise=NOISE, contrast=0.0)


tokenizer = WordTokenizer.fit([" ".join(reviews(0, 0).info["vocabulary"])])


def bag_of_words(texts: list[str]) -> tl.Tensor:
    """(N, V) float32: how often each vocabulary word occurs in each text."""
    counts = np.zeros((len(texts), tokenizer.vocab_size), dtype=np.float32)
    for i, text in enumerate(texts):
        np.add.at(counts[i], tokenizer.encode(text), 1.0)
    return tl.tensor(counts)


class BagOfWordsNet(nn.Module):
    """counts (B, V) -> dropout -> Linear(V, H) -> ReLU -> dropout -> Linear(H, 2) -> logits (B, 2)."""

    def __init__(self, vocab_size: int, hidden: int, word_dropout: float = 0.0, hidden_dropout: float = 0.0):
        super().__init__()
        self.word_dropout = nn.Dropout(word_dropout)
        self.fc1 = nn.Linear(vocab_size, hidden)
        self.hidden_dropout = nn.Dropout(hidden_dropout)
        self.fc2 = nn.Linear(hidden, 2)

    def forward(self, counts: tl.Tensor) -> tl.Tensor:
        return self.fc2(self.hidden_dropout(F.relu(self.fc1(self.word_dropout(counts)))))


print(f"{tokenizer.vocab_size} words, {N_TRAIN} training and {N_VAL} validation reviews, label noise {NOISE}")
print(f"parameters: {sum(p.numel() for p in BagOfWordsNet(tokenizer.vocab_size, HIDDEN).parameters())}")
print(f"best possible: accuracy {1 - NOISE:.2f}, cross-entropy {floor:.3f} nats")

# %% [markdown]
# ## 2. Training with a regularizer
#
# One function trains every variant: Adam at a learning rate of 0.01, mini-batches of
# 32, a fixed number of epochs. After each epoch it measures the loss on the training
# and the validation set with dropout switched off (`model.eval()`), so the two are
# comparable. The penalties apply to the weight matrices only: shrinking a bias does not
# make the model simpler.
#
# - L2 goes through the optimizer's `weight_decay=λ`, which adds λw to each gradient —
#   exactly the gradient of $\tfrac{\lambda}{2}\sum w^2$ (`F.l2_penalty`) added to the loss.
# - L1 goes through the optimizer's `l1=λ`: after each update, the proximal step
#   $w \leftarrow \operatorname{sign}(w)\max(|w| - \eta\lambda, 0)$. For comparison we also
#   add $\lambda \sum |w|$ (`F.l1_penalty`) to the loss, whose subgradient λ sign(w)
#   makes small weights jump back and forth across zero instead of stopping there.

# %%


def train(seed: int, weight_decay: float = 0.0, l1: float = 0.0, l1_in_loss: float = 0.0,
          word_dropout: float = 0.0, hidden_dropout: float = 0.0) -> dict:  # fmt: skip
    """Train one BagOfWordsNet; per-epoch training and validation losses, and the model."""
    tl.manual_seed(seed)
    train_set, val_set = reviews(N_TRAIN, seed), reviews(N_VAL, 10_000 + seed)
    x, y = bag_of_words(train_set.texts), tl.tensor(train_set.labels)
    x_val, y_val = bag_of_words(val_set.texts), tl.tensor(val_set.labels)
    model = BagOfWordsNet(tokenizer.vocab_size, HIDDEN, word_dropout, hidden_dropout)
    weights = [p for p in model.parameters() if p.ndim == 2]
    biases = [p for p in model.parameters() if p.ndim < 2]
    optimizer = tl.optim.Adam([{"params": weights, "weight_decay": weight_decay, "l1": l1},
                               {"params": biases}], lr=1e-2)  # fmt: skip
    order = np.random.default_rng(seed)
    curves = {"train": [], "val": []}
    for _ in range(epochs):
        model.train()
        for batch in np.array_split(order.permutation(N_TRAIN), N_TRAIN // 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            if l1_in_loss:
                loss = loss + l1_in_loss * F.l1_penalty(weights)
            loss.backward()
            optimizer.step()
        model.eval()
        with tl.no_grad():
            curves["train"].append(F.cross_entropy(model(x), y).item())
            curves["val"].append(F.cross_entropy(model(x_val), y_val).item())
    with tl.no_grad():
        val_accuracy = tl.metrics.accuracy(model(x_val), y_val)
    return {**curves, "model": model, "val_accuracy": val_accuracy}


# %% [markdown]
# ## 3. Without regularization, the network learns the noise
#
# We train five variants on the same data from the same initial weights. The strengths
# are good values from the sweep in section 5.

# %%
VARIANTS = {
    "none": {},
    "L2 (weight_decay=0.01)": {"weight_decay": 1e-2},
    "L1 (proximal, l1=0.3)": {"l1": 0.3},
    "dropout 0.5 on hidden units": {"hidden_dropout": 0.5},
    "dropout 0.5 on words": {"word_dropout": 0.5},
}
runs = {name: train(args.seed, **kw) for name, kw in VARIANTS.items()}
for name, r in runs.items():
    gap = r["val"][-1] - r["train"][-1]
    print(f"{name:28s} train {r['train'][-1]:.3f}  validation {r['val'][-1]:.3f}  gap {gap:.3f}  "
          f"validation accuracy {r['val_accuracy']:.3f}")  # fmt: skip

# %%
fig, axes = plot.figure(ncols=len(runs), width=3.2, height=3.4, sharey=True)
for ax, (name, r) in zip(axes, runs.items()):
    ax.plot(range(1, epochs + 1), r["train"], color=plot.COLORS["train"], label="training")
    ax.plot(range(1, epochs + 1), r["val"], color=plot.COLORS["val"], label="validation")
    ax.axhline(floor, color="gray", ls=":", label="best possible (noise)")
    ax.set_title(name, fontsize=10)
    ax.set_xlabel("epoch")
axes[0].set_ylabel("cross-entropy (nats)")
axes[0].set_ylim(0, 2.0)
axes[1].legend(loc="upper right")
fig.suptitle("Training vs validation loss, without and with each regularizer")
print("saved", plot.save(fig, args.out, "curves"))

# %% [markdown]
# Without regularization the training loss goes to almost zero — the network has learned
# which of the 300 reviews carry a flipped label — while the validation loss climbs far
# above the floor: **overfitting**. L2 and L1 keep the validation loss near the floor.
# Where dropout acts matters: on the 512 hidden units it does not help here (many units
# carry the same information, so losing half of them costs little); on the input words it
# forces the network to decide from any half of the words, and the gap closes.
#
# But compare the validation *accuracies*: word dropout closes the gap without
# predicting better than no regularization at all. In these reviews, dropping "not"
# reverses the meaning: each time dropout removes it, the input says the opposite of its
# label, and the network learns to hedge — which helps the loss more than the accuracy.
# A regularizer is a guess about the task; measure whether it fits.
#
# ## 4. What the regularizers do to the weights
#
# The histogram of the first layer's weights (log scale on the counts) and the fraction
# that is exactly zero.

# %%
subgradient = train(args.seed, l1_in_loss=3e-3)  # a strength whose validation loss is close to the proximal run's
first_layer = {name: runs[name]["model"].fc1.weight.detach().numpy().ravel()
               for name in ["none", "L2 (weight_decay=0.01)", "L1 (proximal, l1=0.3)"]}  # fmt: skip
first_layer["L1 in the loss (λ=0.003)"] = subgradient["model"].fc1.weight.detach().numpy().ravel()
zeros = {name: float(np.mean(w == 0.0)) for name, w in first_layer.items()}
tiny = {name: float(np.mean(np.abs(w) < 1e-2)) for name, w in first_layer.items()}
norms = {name: float(np.linalg.norm(w)) for name, w in first_layer.items()}
for name in first_layer:
    print(f"{name:26s} exactly zero: {zeros[name]:6.1%}   |w| < 0.01: {tiny[name]:6.1%}   ||W1|| = {norms[name]:5.2f}")
print(f"L1 in the loss: validation loss {subgradient['val'][-1]:.3f}")
alive = int((np.abs(runs["L1 (proximal, l1=0.3)"]["model"].fc1.weight.detach().numpy()).sum(axis=1) > 0).sum())
print(f"hidden units with any nonzero input weight after proximal L1: {alive} of {HIDDEN}")

# %%
fig, (ax, ax_cdf) = plot.figure(ncols=2, width=6, height=4.2)
colors = dict(zip(first_layer, ["tab:red", "tab:blue", "tab:green", "tab:orange"]))
for name, w in first_layer.items():
    ax.hist(w, bins=np.linspace(-1.5, 1.5, 121), histtype="step", lw=1.6, color=colors[name], label=name)
    size = np.sort(np.abs(w))
    ax_cdf.plot(np.maximum(size, 1e-9), np.arange(1, size.size + 1) / size.size, color=colors[name],
                lw=1.8, label=f"{name}: {zeros[name]:.0%} exactly 0")  # fmt: skip
ax.set_yscale("log")
ax.set_xlabel("first-layer weight")
ax.set_ylabel("number of weights (log scale)")
ax.set_title("Distribution of the first layer's weights")
ax.legend(fontsize=8)
ax_cdf.set_xscale("log")
ax_cdf.set_xlim(1e-9, 3)
ax_cdf.set_xlabel("|w| (exact zeros drawn at 1e-9)")
ax_cdf.set_ylabel("fraction of weights with |weight| ≤ |w|")
ax_cdf.set_title("Only the proximal step makes weights exactly 0")
ax_cdf.legend(fontsize=8, loc="center right")
fig.suptitle("L2 shrinks the weights; L1 pushes most of them to zero")
print("saved", plot.save(fig, args.out, "weights"))

# %% [markdown]
# L2 narrows the distribution, and the weights of hidden units that stopped receiving a
# gradient (a ReLU that is off for every review) decay toward zero step after step —
# far below 1e-6, yet never exactly to 0. Proximal L1 zeroes almost
# every weight — whole hidden units are switched off — and keeps a few large ones: a
# smaller network, found by training. The L1 penalty added to the loss instead pushes
# nearly every weight below 0.01, yet none to exactly 0: a gradient step on |w| jumps
# across zero instead of stopping on it, so the weights rattle around zero. (The two
# strengths differ, 0.003 vs 0.3, because Adam rescales the penalty's gradient like any
# other gradient, while the proximal step is applied after Adam, unscaled.)
#
# ## 5. How strong? Validation loss against the regularization strength
#
# Too little regularization and the model overfits; too much and it cannot fit even the
# rule (**underfitting**: training and validation loss both high, up to ln 2 = 0.693
# nats, the loss of predicting 1/2 for every review). In between lies the minimum — a
# U shape. Each point is the mean over seeds (the band spans them) of the
# validation loss at the last epoch.

# %%
SWEEPS = {
    "L2: weight_decay": ("weight_decay", [1e-4, 1e-3, 1e-2, 3e-2, 1e-1, 3e-1] if not quick else [1e-4, 1e-2, 3e-1]),
    "L1: l1": ("l1", [1e-2, 1e-1, 3e-1, 1.0, 3.0] if not quick else [1e-2, 3e-1, 3.0]),
    "word dropout: p": ("word_dropout", [0.0, 0.2, 0.5, 0.7, 0.9] if not quick else [0.0, 0.5, 0.9]),
}
sweep = {}
for title, (key, values) in SWEEPS.items():
    results = [[train(s, **{key: v}) for s in seeds] for v in values]
    sweep[title] = {
        "values": values,
        "val": np.array([[r["val"][-1] for r in rs] for rs in results]),
        "train": np.array([[r["train"][-1] for r in rs] for rs in results]),
    }
    best = int(np.argmin(sweep[title]["val"].mean(axis=1)))
    print(f"{title:18s}: " + "  ".join(f"{v:g} -> {m:.3f}" for v, m in zip(values, sweep[title]["val"].mean(axis=1)))
          + f"   best {values[best]:g}")  # fmt: skip

# %%
fig, axes = plot.figure(ncols=3, width=4.6, height=4, sharey=True)
for ax, (title, s) in zip(axes, sweep.items()):
    for split in ("train", "val"):
        mean = s[split].mean(axis=1)
        label = "training" if split == "train" else "validation"
        ax.plot(s["values"], mean, "o-", color=plot.COLORS[split], label=label)
        ax.fill_between(s["values"], s[split].min(axis=1), s[split].max(axis=1), color=plot.COLORS[split], alpha=0.2)
    ax.axhline(floor, color="gray", ls=":", label="best possible (noise)")
    ax.axhline(math.log(2), color="gray", ls="--", label="ln 2: always predict 1/2")
    if title.startswith("L"):
        ax.set_xscale("log")
    ax.set_xlabel(f"strength ({title.split(': ')[1]})")
    ax.set_title(title.split(":")[0])
axes[0].set_ylabel(f"cross-entropy after {epochs} epochs (nats)")
axes[0].set_ylim(0, 2.0)
axes[0].legend()
fig.suptitle("Too little regularization overfits, too much underfits "
             f"({len(seeds)} seed{'s' if len(seeds) > 1 else ''})")
print("saved", plot.save(fig, args.out, "strength"))

# %% [markdown]
# ## Conclusion
#
# An over-parameterized network trained on little noisy data memorizes it: training loss
# near zero, validation loss far above what is possible. L2, L1 and dropout each trade a
# little training fit for a much better validation loss; their strength is a
# hyperparameter with a U-shaped validation loss, chosen on the validation set (lessons
# 2 and 6). L2 shrinks every weight, proximal L1 zeroes most of them, and dropout works
# where it removes information the network would otherwise lean on.

# %%
none = runs["none"]
gap = {name: r["val"][-1] - r["train"][-1] for name, r in runs.items()}
assert none["train"][-1] < 0.2 and gap["none"] > 0.5, "without regularization the network overfits"
for name in ["L2 (weight_decay=0.01)", "L1 (proximal, l1=0.3)", "dropout 0.5 on words"]:
    assert runs[name]["val"][-1] < none["val"][-1] - 0.3, (name, runs[name]["val"][-1], none["val"][-1])
    assert gap[name] < 0.5 * gap["none"], (name, gap)
assert zeros["L1 (proximal, l1=0.3)"] > 0.8 and zeros["none"] == zeros["L2 (weight_decay=0.01)"] == 0.0
assert zeros["L1 in the loss (λ=0.003)"] == 0.0 and tiny["L1 in the loss (λ=0.003)"] > 0.9
assert norms["L2 (weight_decay=0.01)"] < 0.5 * norms["none"]
for title, s in sweep.items():
    val = s["val"].mean(axis=1)
    best = int(np.argmin(val))
    assert 0 < best < len(val) - 1, f"{title}: the minimum lies inside the range (a U), {val}"
    assert val[0] > val[best] + 0.1 and val[-1] > val[best] + 0.02, (title, val)
    assert abs(val[-1] - math.log(2)) < 0.02, f"{title}: far too strong, it predicts 1/2 for every review"
    assert s["train"].mean(axis=1)[-1] > s["train"].mean(axis=1)[0] + 0.1, f"{title}: too strong underfits"
print("lesson 03: regularization turns memorizing into generalizing; its strength has a U-shaped validation loss")
