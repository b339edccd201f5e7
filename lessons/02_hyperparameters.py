# %% [markdown]
# # Lesson 2 — Setting hyperparameters: learning rate, batch size, grid vs random search
#
# The seed document's second step is to set the hyperparameters: the numbers training
# does not learn by itself. The learning rate matters most; the batch size decides how
# noisy and how many the steps are; the rest is found by search. This lesson measures
# the learning rate with a range test, measures how a step's noise falls with the batch
# size, and then puts grid search
# and random search side by side with the same budget on the seed's LSTM classifier.
#
# Run: `python lessons/02_hyperparameters.py [--quick] [--seed N] [--out DIR]`.

# %%
import itertools
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import (
    DataLoader,
    WordTokenizer,
    collate_sequences,
    encode_labeled,
    synthetic_sentiment,
    train_val_test_split,
)
from tinyllm.models import TextClassifier

args = lessons.options("02_hyperparameters")
quick = args.quick
data = synthetic_sentiment(1500 if quick else 4000, seed=args.seed, noise=0.05)
train, val, _ = train_val_test_split(data, (0.7, 0.3, 0.0), seed=args.seed)
tokenizer = WordTokenizer.fit(train.texts)
train_set, val_set = encode_labeled(train, tokenizer), encode_labeled(val, tokenizer)
val_loader = DataLoader(val_set, batch_size=256)
print(f"{len(train)} training and {len(val)} validation reviews; best possible accuracy {data.info['bayes_accuracy']}")


def new_model(seed: int, hidden: int = 32, dropout: float = 0.0) -> TextClassifier:
    tl.manual_seed(seed)
    return TextClassifier(tokenizer.vocab_size, 16, hidden, 2, dropout=dropout)


# %% [markdown]
# ## 1. The learning-rate range test
#
# Train once while the learning rate grows exponentially, step after step, from tiny to
# huge, and record the loss. Too small: the loss barely moves. Too large: it explodes. A
# good learning rate sits below the point where the loss is lowest — where it still falls
# fast and is far from blowing up (Smith, 2017).

# %%
range_steps = 120 if quick else 300
lr_min, lr_max = 1e-5, 10.0
model = new_model(args.seed)
optimizer = tl.optim.Adam(model.parameters(), lr=lr_min)
growth = (lr_max / lr_min) ** (1 / range_steps)
schedule = tl.optim.lr_scheduler.LambdaLR(optimizer, lambda t: growth**t)
loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)
history = tl.train.fit(model, optimizer, itertools.chain.from_iterable(itertools.repeat(loader)), steps=range_steps,
                       scheduler=schedule)  # fmt: skip
lrs, losses = history.series("lr"), history.series("loss")
smooth = np.full_like(losses, np.nan)
smooth[4:-4] = np.convolve(losses, np.ones(9) / 9, mode="valid")  # a moving average over 9 steps
finite = np.isfinite(smooth)
best_lr = lrs[finite][np.argmin(smooth[finite])]
print(f"the smoothed loss is lowest at lr = {best_lr:.3g}; a good choice is about {best_lr / 10:.3g}")

fig, ax = plot.figure()
ax.semilogx(lrs, losses, color=plot.COLORS["train"], alpha=0.35, lw=0.8, label="loss per step")
ax.semilogx(lrs[finite], smooth[finite], color=plot.COLORS["train"], label="smoothed")
ax.axvline(best_lr / 10, color="tab:green", ls="--", label=f"chosen: {best_lr / 10:.2g} (a tenth of the minimum)")
ax.set_ylim(0, min(3.0, np.nanmax(losses[finite]) * 1.05))
ax.set_xlabel("learning rate (log scale), growing each step")
ax.set_ylabel("training cross-entropy (nats)")
ax.set_title("Learning-rate range test (Adam, LSTM classifier)")
ax.legend()
print("saved", plot.save(fig, args.out, "lr_range_test"))

# %% [markdown]
# ## 2. Batch size: how noisy is a step?
#
# The loss is a mean over the $N$ training examples, $L = \frac1N \sum_n \ell_n$, and so is
# its gradient $g = \frac1N \sum_n \nabla \ell_n$. A step uses a batch of $B$ examples
# drawn at random, and its gradient $g_B = \frac1B \sum_{b} \nabla \ell_{n_b}$ is an
# *estimate* of $g$: right on average, off by a random error. If the $B$ examples are
# drawn independently, the error is a mean of $B$ independent errors, so its variance is
# $1/B$ times one example's:
#
# $$\mathbb E\,\lVert g_B - g \rVert^2 = \frac{\operatorname{tr}\Sigma}{B}, \qquad
#   \text{noise}(B) = \sqrt{\mathbb E\,\lVert g_B - g \rVert^2} \propto \frac{1}{\sqrt B},$$
#
# with $\Sigma$ the covariance of one example's gradient. Four times the batch costs four
# times the work per step and only **halves** the noise. We measure it: the full gradient
# $g$ over the whole training set, then many random batches of each size (examples drawn
# with replacement, as the formula assumes), at the untrained model's weights.
#
# The batch is worth growing while the noise is larger than the signal $\lVert g \rVert$;
# past the size where the two cross, $B_\text{noise} = \operatorname{tr}\Sigma / \lVert g\rVert^2$
# (McCandlish et al., 2018), a bigger batch makes each step only a little more accurate.

# %%
batch_sizes = [1, 2, 4, 8, 16, 32, 64] if quick else [1, 2, 4, 8, 16, 32, 64, 128, 256]
draws = 40 if quick else 100
noise_model = new_model(args.seed)
params = list(noise_model.parameters())


def gradient(indices) -> np.ndarray:
    """The gradient of the mean loss over the examples ``indices``, flattened into one vector."""
    for q in params:
        q.grad = None
    ids, lengths, labels = collate_sequences([train_set[int(i)] for i in indices])
    tl.nn.functional.cross_entropy(noise_model(ids, lengths), labels).backward()
    return np.concatenate([q.grad.numpy().ravel() for q in params])


chunks = np.array_split(np.arange(len(train_set)), max(1, len(train_set) // 256))
full = sum(gradient(c) * len(c) for c in chunks) / len(train_set)
draw = np.random.default_rng(args.seed)
noise = np.array([np.sqrt(np.mean([np.sum((gradient(draw.integers(0, len(train_set), b)) - full) ** 2)
                                   for _ in range(draws)])) for b in batch_sizes])  # fmt: skip
slope = np.polyfit(np.log(batch_sizes), np.log(noise), 1)[0]
b_noise = (noise[0] / np.linalg.norm(full)) ** 2  # tr(Sigma) / |g|^2, from the B = 1 noise
print(f"|g| = {np.linalg.norm(full):.4f} over all {len(train_set)} examples, {draws} random batches per size")
for b, n in zip(batch_sizes, noise):
    print(f"batch {b:>4}: noise |g_B - g| = {n:.4f}   noise × sqrt(B) = {n * math.sqrt(b):.4f}")
print(f"slope of log noise against log B: {slope:.3f} (1/sqrt(B) is -0.5); noise = signal at B ≈ {b_noise:.0f}")

fig, ax = plot.figure()
ax.loglog(batch_sizes, noise, "o", color=plot.COLORS["train"], ms=7, label="measured noise  √E|g_B − g|²")
ax.loglog(batch_sizes, noise[0] / np.sqrt(batch_sizes), "--", color=plot.COLORS["floor"],
          label="noise(1) / √B")  # fmt: skip
ax.axhline(np.linalg.norm(full), color="tab:green", ls=":", label="signal |g| (the full gradient)")
ax.set_xticks(batch_sizes, [str(b) for b in batch_sizes])
ax.set_xlabel("batch size B (log scale)")
ax.set_ylabel("size of the gradient's error (log scale)")
ax.set_title(f"A batch's gradient error falls as 1/√B (slope {slope:.2f})")
ax.legend()
print("saved", plot.save(fig, args.out, "batch_noise"))

# %% [markdown]
# The points lie on the line of slope −1/2: the noise of a step falls as $1/\sqrt B$.
# Four steps of batch 8 see the same examples as one step of batch 32, and each of them
# is only twice as noisy. Below $B_\text{noise}$ the error of a step is larger than the
# gradient itself — a single step mostly follows noise, and only the average of many
# steps follows $g$; the learning rate has to be small enough for that averaging.

# %% [markdown]
# ## 3. Grid search vs random search, same budget
#
# Two hyperparameters: the learning rate, which matters a lot, and the dropout rate,
# which (for this small model and short training) matters little. With 9 trials, a 3 × 3
# grid tries only **3** learning rates; random search tries **9** different ones. When one
# hyperparameter dominates, random search explores it better (Bergstra and Bengio, 2012).

# %%
epochs = 2 if quick else 4


def trial(config: dict) -> dict:
    m = new_model(config["seed"] % 1000, hidden=32, dropout=config["dropout"])
    h = tl.train.fit(m, tl.optim.Adam(m.parameters(), lr=config["lr"]),
                     DataLoader(train_set, batch_size=32, shuffle=True, seed=config["seed"] % 1000), epochs=epochs,
                     val_loader=val_loader)  # fmt: skip
    return {
        "val_loss": min(h.series("val_loss", evals=True)),
        "val_accuracy": max(h.series("val_accuracy", evals=True)),
    }


grid = tl.tune.grid_search(trial, {"lr": [1e-4, 1e-3, 1e-1], "dropout": [0.0, 0.25, 0.5]}, metric="val_loss",
                           seed=args.seed)  # fmt: skip
space = {"lr": tl.tune.loguniform(1e-4, 1e-1), "dropout": tl.tune.uniform(0.0, 0.5)}
rand = tl.tune.random_search(trial, space, n_trials=9, seed=args.seed, metric="val_loss")
print("grid search:\n" + str(grid))
print("random search:\n" + str(rand))
g, r = grid.best(), rand.best()
for label, best in (("grid:  ", g), ("random:", r)):
    print(f"best of the {label} val_loss {best.metrics['val_loss']:.3f} at lr {best.config['lr']:.2g}, "
          f"dropout {best.config['dropout']:.2f}")

fig, ax = plot.figure(width=6.5)
all_losses = [t.metrics["val_loss"] for t in [*grid, *rand]]
norm = plot.plt.Normalize(min(all_losses), max(all_losses))
for results, marker, name in ((grid, "s", "grid"), (rand, "o", "random")):
    xs = [t.config["lr"] for t in results]
    ys = [t.config["dropout"] for t in results]
    points = ax.scatter(xs, ys, c=[t.metrics["val_loss"] for t in results], cmap="viridis_r", norm=norm, s=90,
                        marker=marker, edgecolors="k", label=name)  # fmt: skip
ax.set_xscale("log")
ax.set_xlabel("learning rate (log scale)")
ax.set_ylabel("dropout")
ax.set_title("Grid vs random search, 9 trials each")
fig.colorbar(points, ax=ax, label="best validation loss (nats)")
# Legend markers in black and white (the colour is the loss, read on the colour bar), below the axes so no
# trial is hidden behind them.
handles = [plot.plt.Line2D([], [], ls="none", marker=m, ms=9, mfc="white", mec="k", label=f"{name} (9 trials)")
           for m, name in (("s", "grid"), ("o", "random"))]  # fmt: skip
ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2)
print("saved", plot.save(fig, args.out, "grid_vs_random"))
# How much each hyperparameter moves the loss, read off the grid: the spread over the 3 learning rates at each
# dropout, and over the 3 dropouts at each learning rate.
table = {(t.config["lr"], t.config["dropout"]): t.metrics["val_loss"] for t in grid}
grid_lrs, grid_dropouts = sorted({k[0] for k in table}), sorted({k[1] for k in table})
spread_lr = min(np.ptp([table[lr, d] for lr in grid_lrs]) for d in grid_dropouts)
spread_dropout = max(np.ptp([table[lr, d] for d in grid_dropouts]) for lr in grid_lrs)
print(f"on the grid, the learning rate moves the validation loss by at least {spread_lr:.3f} nats, "
      f"the dropout by at most {spread_dropout:.3f}")

# %% [markdown]
# ## Conclusion
#
# The range test finds the scale of a good learning rate in one short run. A batch of B
# examples estimates the gradient with an error that falls as $1/\sqrt B$: four times the
# work per step for half the noise. When one hyperparameter dominates — here the learning
# rate moves the validation loss more than ten times as much as dropout does — a grid
# spends two thirds of its trials repeating learning rates, and random search with the
# same budget finds a configuration at least as good (within 0.05 nats in this run).

# %%
assert smooth[finite][-5:].mean() > 1.5 * smooth[finite].min(), "the loss must blow up at the largest rates"
assert lrs[0] < best_lr < lrs[-1]
assert abs(slope + 0.5) < 0.06, f"the gradient noise must fall as 1/sqrt(B): slope {slope:.3f}"
scaled = noise * np.sqrt(batch_sizes)
assert np.all(np.abs(scaled / scaled.mean() - 1) < 0.3), f"noise x sqrt(B) must stay constant: {scaled}"
assert spread_lr > 10 * spread_dropout, "the learning rate must dominate: the grid wastes 6 of its 9 trials"
assert r.metrics["val_loss"] <= g.metrics["val_loss"] + 0.05, (r.metrics, g.metrics)
assert math.isfinite(r.metrics["val_loss"])
print("lesson 02: the range test brackets the learning rate; gradient noise falls as 1/sqrt(B); "
      "the learning rate dominates, and random search matches or beats the grid")

# %% [markdown]
# ## Exercises
#
# 1. **Predict, then run.** Section 2 draws each batch's examples *with* replacement.
#    Draw them without replacement, as a `DataLoader` does
#    (`draw.choice(len(train_set), b, replace=False)`), and extend `batch_sizes` up to
#    1024 (the training set has 1050 reviews in `--quick`). Before running: what is the
#    noise of a batch that holds (almost) the whole training set? Does the slope stay at
#    −1/2? (Switch off the two noise assertions for this run.)
# 2. **Derivation.** (a) Show that for $B$ examples drawn independently (with
#    replacement), $\mathbb E\,\lVert g_B - g \rVert^2 = \operatorname{tr}\Sigma / B$, where
#    $\Sigma$ is the covariance of one example's gradient over the training set. (b)
#    Without replacement the variance gains the factor $\frac{N - B}{N - 1}$ (the
#    *finite-population correction*). Use it to predict the noise at $B = 512$ and
#    $B = 1024$ of exercise 1 from the noise at $B = 1$, and compare with your measurement.
# 3. **Code change.** Replace the 3 × 3 grid by a one-dimensional grid of 9 learning rates
#    at dropout 0 (`{"lr": [float(v) for v in np.logspace(-4, -1, 9)], "dropout": [0.0]}`).
#    Predict: does random search still beat the grid? What does this say about *when*
#    random search beats a grid? (Switch off the `spread_lr` assertion, which needs a
#    two-dimensional grid.)
# 4. **Predict, then run.** Run the learning-rate range test with batches of 8 instead
#    of 32 (same number of steps). Will the lowest point of the smoothed loss move? What
#    does your answer imply for a learning rate found by a range test when you later
#    change the batch size?
