# %% [markdown]
# # Lesson 2 — Setting hyperparameters: learning rate, batch size, grid vs random search
#
# The seed document's second step is to set the hyperparameters: the numbers training
# does not learn by itself. The learning rate matters most; the batch size decides how
# noisy and how many the steps are; the rest is found by search. This lesson measures
# the learning rate with a range test, compares batch sizes, and then puts grid search
# and random search side by side with the same budget on the seed's LSTM classifier.
#
# Run: `python lessons/02_hyperparameters.py [--quick] [--seed N] [--out DIR]`.

# %%
import itertools
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import DataLoader, WordTokenizer, encode_labeled, synthetic_sentiment, train_val_test_split
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
# ## 2. Batch size
#
# A batch of B examples averages B gradients: the estimate is less noisy, but one pass
# over the data gives N/B steps. With the same number of epochs, small batches take many
# small noisy steps, large batches a few accurate ones.

# %%
epochs = 2 if quick else 4
batch_results = {}
for batch_size in (8, 32, 128):
    m = new_model(args.seed)
    h = tl.train.fit(m, tl.optim.Adam(m.parameters(), lr=best_lr / 10),
                     DataLoader(train_set, batch_size=batch_size, shuffle=True, seed=args.seed), epochs=epochs,
                     val_loader=val_loader)  # fmt: skip
    batch_results[batch_size] = h
    print(f"batch {batch_size:>4}: {len(h.steps):>4} steps, validation loss {h.evals[-1]['val_loss']:.3f}, "
          f"accuracy {h.evals[-1]['val_accuracy']:.3f}")  # fmt: skip

fig, ax = plot.figure()
for batch_size, h in batch_results.items():
    ax.plot(h.series("epoch", evals=True), h.series("val_loss", evals=True), "o-",
            label=f"batch {batch_size} ({len(h.steps) // epochs} steps per epoch)")  # fmt: skip
ax.set_xticks(range(1, epochs + 1))
ax.set_xlabel("epochs completed")
ax.set_ylabel("validation cross-entropy (nats)")
ax.set_title(f"Same epochs, different batch sizes (lr {best_lr / 10:.2g})")
ax.legend()
print("saved", plot.save(fig, args.out, "batch_size"))

# %% [markdown]
# ## 3. Grid search vs random search, same budget
#
# Two hyperparameters: the learning rate, which matters a lot, and the dropout rate,
# which (for this small model and short training) matters little. With 9 trials, a 3 × 3
# grid tries only **3** learning rates; random search tries **9** different ones. When one
# hyperparameter dominates, random search explores it better (Bergstra and Bengio, 2012).

# %%


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
ax.legend(loc="upper left")
print("saved", plot.save(fig, args.out, "grid_vs_random"))

# %% [markdown]
# ## Conclusion
#
# The range test finds the scale of a good learning rate in one short run. Batch size
# trades the number of steps against their noise. With one important hyperparameter,
# random search with the same budget finds at least as good a configuration as a grid,
# because it never spends trials repeating the same learning rate.

# %%
assert smooth[finite][-5:].mean() > 1.5 * smooth[finite].min(), "the loss must blow up at the largest rates"
assert lrs[0] < best_lr < lrs[-1]
assert len({t.config["lr"] for t in rand}) == 9 and len({t.config["lr"] for t in grid}) == 3
assert r.metrics["val_loss"] <= g.metrics["val_loss"] + 0.05, (r.metrics, g.metrics)
assert math.isfinite(r.metrics["val_loss"])
print("lesson 02: the range test brackets the learning rate; random search matches or beats the grid")
