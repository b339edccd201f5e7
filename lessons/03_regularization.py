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
          word_dropout: float = 0.0, hidden_dropout: float = 0.0, every_epoch: bool = True) -> dict:  # fmt: skip
    """Train one BagOfWordsNet; training and validation losses (after each epoch, or the last only), and the model."""
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
    for epoch in range(epochs):
        model.train()
        for batch in np.array_split(order.permutation(N_TRAIN), N_TRAIN // 32):
            optimizer.zero_grad()
            loss = F.cross_entropy(model(x[batch]), y[batch])
            if l1_in_loss:
                loss = loss + l1_in_loss * F.l1_penalty(weights)
            loss.backward()
            optimizer.step()
        if not every_epoch and epoch < epochs - 1:
            continue  # measuring 2300 reviews costs more than an epoch of training
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
# Where dropout acts matters: on the 512 hidden units it leaves most of the gap open (many
# units carry the same information, so losing half of them costs little); on the input words it
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
# A weight matrix holds two kinds of weights. Most of them are *active*: the input
# weights of a hidden unit that is on for some review. But a ReLU unit can be **dead**:
# its pre-activation is negative for every training review, so it outputs 0, passes back
# no gradient, and the data never moves its weights again. A dead unit's weights change
# only under the regularizer — so we count the dead units of every model, and look at
# their weights (grey) apart from the active ones (colour), on a log scale of $|w|$,
# with the weights that are *exactly* 0 counted in a bar of their own.

# %%
subgradient = train(args.seed, l1_in_loss=3e-3)  # a strength whose validation loss is close to the proximal run's
models = {name: runs[name]["model"] for name in ["none", "L2 (weight_decay=0.01)", "L1 (proximal, l1=0.3)"]}
models["L1 in the loss (λ=0.003)"] = subgradient["model"]
x_train = bag_of_words(reviews(N_TRAIN, args.seed).texts)
weights, dead = {}, {}
for name, model in models.items():
    weights[name] = model.fc1.weight.detach().numpy()  # (H, V): row j holds hidden unit j's input weights
    with tl.no_grad():
        dead[name] = model.fc1(x_train).numpy().max(axis=0) <= 0  # off for every training review
zeros = {name: float(np.mean(w == 0.0)) for name, w in weights.items()}
tiny = {name: float(np.mean(np.abs(w) < 1e-2)) for name, w in weights.items()}
active_rms = {name: float(np.sqrt(np.mean(w[~dead[name]] ** 2))) for name, w in weights.items()}
dead_max = {name: float(np.abs(w[dead[name]]).max()) for name, w in weights.items()}
print(f"{'':26s} {'dead units':>10} {'exactly 0':>10} {'|w| < 0.01':>11} {'rms active':>11} {'max |w| dead':>13}")
for name in weights:
    print(f"{name:26s} {int(dead[name].sum()):>6} / {HIDDEN} {zeros[name]:>9.1%} {tiny[name]:>11.1%} "
          f"{active_rms[name]:>11.4f} {dead_max[name]:>13.2e}")  # fmt: skip
print(f"L1 in the loss: validation loss {subgradient['val'][-1]:.3f}")
l2 = "L2 (weight_decay=0.01)"
below = np.abs(weights[l2]) < 1e-6
share_dead = float(below[dead[l2]].sum() / below.sum())
print(f"L2: {below.mean():.1%} of the weights are below 1e-6; {share_dead:.1%} of those belong to dead units")
alive = int((np.abs(weights["L1 (proximal, l1=0.3)"]).sum(axis=1) > 0).sum())
print(f"hidden units with any nonzero input weight after proximal L1: {alive} of {HIDDEN}")

# %%
fig, axes = plot.figure(ncols=2, nrows=2, width=5, height=3.4)
bins = np.linspace(-10, 1, 45)
colors = dict(zip(weights, ["tab:red", "tab:blue", "tab:green", "tab:orange"]))
for ax, (name, w) in zip(axes.ravel(), weights.items()):
    nonzero = [np.log10(np.maximum(np.abs(part[part != 0]), 1e-10)) for part in (w[~dead[name]], w[dead[name]])]
    ax.hist(nonzero, bins=bins, stacked=True, color=[colors[name], "tab:gray"],
            label=["active units", f"dead units ({int(dead[name].sum())} of {HIDDEN})"])  # fmt: skip
    ax.bar(-11.5, int((w == 0).sum()), width=0.5, color="k", label=f"exactly 0 ({zeros[name]:.0%})")
    ax.set_xticks([-11.5, -10, -8, -6, -4, -2, 0], ["0", "1e-10", "1e-8", "1e-6", "1e-4", "0.01", "1"])
    ax.set_yscale("log")
    ax.set_ylim(0.8, 3 * w.size)
    ax.set_title(name, fontsize=11)
    ax.set_xlabel("|w| (log scale; below 1e-10 drawn at 1e-10)")
    ax.set_ylabel("number of weights (log scale)")
    ax.legend(fontsize=8, loc="upper center")
fig.suptitle(f"First-layer weights ({weights['none'].size} per model): L2 shrinks, only proximal L1 makes exact zeros")
print("saved", plot.save(fig, args.out, "weights"))

# %% [markdown]
# Without regularization a few units die, and their weights stay where they were when
# they died (grey, around 0.1). L2 shrinks the active weights — their root mean square
# falls to less than half — and makes none of them exactly 0. It also leaves far more
# units dead, most of them: a unit that helps little is cheaper off than on, and once it
# is off for every review, the decay is the only force left on its weights and pulls
# them toward 0 step after step — below 0.01, most below 1e-6, never exactly to 0. That
# is where the L2 model's tiny weights come from: almost all of them belong to dead
# units, not to shrunken active ones (the few active-unit weights down there read words
# that never occur in the training reviews, and get no gradient either). Proximal L1
# zeroes almost every weight, dead units and active ones alike — whole hidden units are
# switched off — and keeps a few large ones: a smaller network, found by training. The L1 penalty added to the loss
# instead pushes nearly every weight below 0.01, yet none to exactly 0: a gradient step
# on |w| jumps across zero instead of stopping on it, so the weights rattle around zero.
# (The two strengths differ, 0.003 vs 0.3, because Adam rescales the penalty's gradient
# like any other gradient, while the proximal step is applied after Adam, unscaled.)
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
    results = [[train(s, **{key: v}, every_epoch=False) for s in seeds] for v in values]
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
# 2 and 6). L2 shrinks the weights without making any exactly 0 (and leaves most ReLU
# units dead, whose weights then decay toward 0); proximal L1 zeroes most of them; and
# dropout works where it removes information the network would otherwise lean on.

# %%
none = runs["none"]
gap = {name: r["val"][-1] - r["train"][-1] for name, r in runs.items()}
assert none["train"][-1] < 0.2 and gap["none"] > 0.5, "without regularization the network overfits"
for name in ["L2 (weight_decay=0.01)", "L1 (proximal, l1=0.3)", "dropout 0.5 on words"]:
    assert runs[name]["val"][-1] < none["val"][-1] - 0.3, (name, runs[name]["val"][-1], none["val"][-1])
    assert gap[name] < 0.5 * gap["none"], (name, gap)
assert gap["dropout 0.5 on hidden units"] > 0.75 * gap["none"], "dropout on hidden units leaves most of the gap"
assert runs["dropout 0.5 on words"]["val_accuracy"] < none["val_accuracy"] + 0.02, "word dropout: no better accuracy"
assert zeros["L1 (proximal, l1=0.3)"] > 0.8 and zeros["none"] == zeros[l2] == 0.0
assert zeros["L1 in the loss (λ=0.003)"] == 0.0 and tiny["L1 in the loss (λ=0.003)"] > 0.9
assert active_rms[l2] < 0.5 * active_rms["none"], "L2 shrinks the active weights"
assert dead[l2].mean() > 0.5 and dead[l2].sum() > 3 * dead["none"].sum(), "L2 leaves most units dead"
assert dead_max[l2] < 1e-2 and dead_max["none"] > 0.1, "dead units' weights decay under L2, stay put without it"
assert np.mean(np.abs(weights[l2][dead[l2]]) < 1e-6) > 0.5, "most of L2's dead-unit weights fall below 1e-6"
assert share_dead > 0.9, "the L2 model's tiny weights are those of dead units"
for title, s in sweep.items():
    val = s["val"].mean(axis=1)
    best = int(np.argmin(val))
    assert 0 < best < len(val) - 1, f"{title}: the minimum lies inside the range (a U), {val}"
    assert val[0] > val[best] + 0.1 and val[-1] > val[best] + 0.02, (title, val)
    assert abs(val[-1] - math.log(2)) < 0.02, f"{title}: far too strong, it predicts 1/2 for every review"
    assert s["train"].mean(axis=1)[-1] > s["train"].mean(axis=1)[0] + 0.1, f"{title}: too strong underfits"
print("lesson 03: regularization turns memorizing into generalizing; its strength has a U-shaped validation loss")

# %% [markdown]
# ## Exercises
#
# 1. **Predict, then run.** Section 4 found that L2 at `weight_decay=0.01` leaves most
#    hidden units dead. Train with `weight_decay=1e-3` and `3e-2` and count the dead
#    units of each (a unit is dead if `model.fc1(x_train)` is ≤ 0 in its column for
#    every training review). Before running: more or fewer dead units than at 0.01?
# 2. **Predict, then run.** Without any regularizer, train on `N_TRAIN = 1000` reviews
#    instead of 300 (set it before calling `train`). Will the network still memorize
#    the noisy labels (training loss near 0)? How much does the validation loss improve?
# 3. **Code change.** Train the L2 model with the penalty in the loss instead of the
#    optimizer: `weight_decay=0` and `loss = loss + 0.01 * F.l2_penalty(weights)` inside
#    `train`. Predict how far the final weights will be from the `weight_decay=0.01`
#    run's, then measure the largest difference. Would the answer be the same with
#    `tl.optim.AdamW`'s decoupled decay?
# 4. **Derivation.** A proximal step solves, after the optimizer's update has produced
#    $v$, the problem $w = \arg\min_w \frac{1}{2\eta}(w - v)^2 + R(w)$. (a) For
#    $R(w) = \lambda |w|$, show that $w = \operatorname{sign}(v)\max(|v| - \eta\lambda, 0)$
#    (consider $w > 0$, $w < 0$ and $w = 0$ separately). (b) For
#    $R(w) = \frac{\lambda}{2} w^2$, find $w$. (c) Which of the two can return exactly 0
#    for a nonzero $v$, and for which $v$? Connect the answer to the "exactly 0" bars
#    of the weights figure.
