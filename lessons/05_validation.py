# %% [markdown]
# # Lesson 5 — Validation: diagnosing underfitting and overfitting
#
# The seed document's fifth step is to validate: measure the trained model on examples it
# never trained on. A model can fail in two opposite ways, and two numbers — the loss on the
# training set and the loss on the validation set — tell them apart:
#
# - **underfitting** (high *bias*): the model is too simple, or trained too little, to
#   capture the rule. It does badly everywhere: **both losses are high**, and close together.
# - **overfitting** (high *variance*): the model has learned the accidents of its particular
#   training sample — here, which reviews had their labels flipped. It does very well on the
#   training set and badly on new data: **a large gap** between the two losses.
#
# Three knobs move a model between the two: its size (section 1), the amount of training
# data (section 2) and the length of training (section 3).
#
# Run: `python lessons/05_validation.py [--quick] [--seed N] [--out DIR]`.

# %%
import time
from typing import Any

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import DataLoader, WordTokenizer, encode_labeled, synthetic_sentiment, train_val_test_split
from tinyllm.models import TextClassifier

args = lessons.options("05_validation")
started = time.perf_counter()

# %% [markdown]
# ## The data, and the floor under every loss
#
# The reviews of `synthetic_sentiment` (lesson 8), with 20% of the labels flipped at random.
# The best any model can do is to give the rule's label probability 0.8; its cross-entropy
# is then the entropy of the label noise,
#
# $$\ell^* = -(0.8 \ln 0.8 + 0.2 \ln 0.2) \approx 0.500 \text{ nats}.$$
#
# No model has an expected loss below $\ell^*$ on new reviews. A *training* loss below
# $\ell^*$ is possible — and a warning: the model has memorized flipped labels.
#
# 1000 reviews are kept for validation, and a pool of 3200 for training, from which each
# experiment takes the first n. The model is lesson 8's LSTM classifier with a single
# **width** w as its embedding size and its hidden size, trained with Adam (learning rate
# 3e-3, batches of 32). Its *training loss* is measured after training on its whole training
# set, exactly as the validation loss is measured on the validation set.

# %%
noise = 0.2
data = synthetic_sentiment(4200, seed=args.seed, noise=noise)
pool, val, _ = train_val_test_split(data, (3200 / 4200, 1000 / 4200, 0.0), seed=args.seed)
tokenizer = WordTokenizer.fit(pool.texts)
pool_set = encode_labeled(pool, tokenizer)
val_loader = DataLoader(encode_labeled(val, tokenizer), batch_size=1000)
floor = -(noise * np.log(noise) + (1 - noise) * np.log(1 - noise))
print(f"{len(pool)} training reviews in the pool, {len(val)} for validation; floor {floor:.3f} nats")


def make_model(width: int) -> TextClassifier:
    tl.manual_seed(args.seed)
    return TextClassifier(tokenizer.vocab_size, width, width, 2)


def fit_model(model: TextClassifier, n: int, steps: int, **fit_options: Any) -> tl.train.History:
    """Train on the first n reviews of the pool for ``steps`` steps, validating as fit_options say."""
    loader = DataLoader(pool_set[:n], batch_size=32, shuffle=True, seed=args.seed)
    return tl.train.fit(model, tl.optim.Adam(model.parameters(), lr=3e-3), loader, steps=steps,
                        val_loader=val_loader, progress=False, **fit_options)  # fmt: skip


def train_loss(model: TextClassifier, n: int) -> float:
    return tl.train.evaluate(model, DataLoader(pool_set[:n], batch_size=1000))["loss"]


def diagnose(on_train: float, on_val: float) -> str:
    """The rule of thumb. Here the floor is known; elsewhere compare with a simple baseline."""
    if on_train > floor + 0.05:
        return "underfit: even the training loss is high"
    return "overfit: large gap" if on_val - on_train > 0.25 else "good fit"


# %% [markdown]
# ## 1. Model size: the U curve
#
# Widths from 1 to 128 (51 to 136,000 parameters), each trained on the same 500 reviews for
# the same 600 steps (about 38 epochs). For the squared error, the expected loss on new data
# splits into three parts, the expectations taken over the training sets we might have drawn:
#
# $$\mathbb{E}\,[(y - \hat f(x))^2] = \underbrace{\sigma^2}_{\text{noise: the floor}}
#   + \underbrace{(\mathbb{E}\hat f(x) - f(x))^2}_{\text{bias}^2}
#   + \underbrace{\operatorname{Var} \hat f(x)}_{\text{variance}}.$$
#
# In plain words: the **bias** is how far the model's *average* answer is from the truth — a
# model too small to represent the rule is wrong in the same way whatever sample it sees. The
# **variance** is how much the answer changes from one training sample to another — a model
# big enough to fit every flipped label learns something different, and wrong, from each
# sample. Cross-entropy does not split into exactly these terms, but the story is the same:
# a bigger model has less bias and more variance, and the validation loss traces a U.

# %%
n_small, steps = 500, 600
widths = [1, 4, 32] if args.quick else [1, 2, 4, 8, 16, 32, 64, 128]
epoch = len(DataLoader(pool_set[:n_small], batch_size=32))  # optimizer steps per epoch
rows = []
for width in widths:
    model = make_model(width)
    history = fit_model(model, n_small, steps, eval_every=epoch)
    val_curve = history.series("val_loss", evals=True)
    on_train = train_loss(model, n_small)
    rows.append((model.num_parameters(), on_train, val_curve[-1], val_curve.min()))
    print(f"width {width:>3} ({rows[-1][0]:>7,} parameters): train {on_train:.3f}, "
          f"validation {val_curve[-1]:.3f} (at its best epoch {val_curve.min():.3f})  "
          f"-> {diagnose(on_train, val_curve[-1])}")  # fmt: skip
n_params, size_train, size_val, size_val_early = np.array(rows).T
best = int(np.argmin(size_val))
print(f"best width {widths[best]}: validation loss {size_val[best]:.3f}")

# %%
fig, ax = plot.figure(width=7.0, height=4.5)
ax.plot(n_params, size_train, "o-", color=plot.COLORS["train"], label="training loss")
ax.plot(n_params, size_val, "o-", color=plot.COLORS["val"], label="validation loss")
ax.plot(n_params, size_val_early, "o:", ms=4, lw=1.2, color=plot.COLORS["val"], alpha=0.6,
        label="validation loss at each model's best epoch")  # fmt: skip
ax.plot(n_params[best], size_val[best], "*", ms=18, color="tab:green", zorder=3,
        label=f"best size: width {widths[best]} ({n_params[best]:,.0f} parameters)")  # fmt: skip
ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"floor: label-noise entropy {floor:.3f}")
ax.text(0.02, 0.55, "← underfitting:\nboth losses high", transform=ax.transAxes, fontsize=10)
ax.text(0.98, 0.55, "overfitting: →\nlarge gap", transform=ax.transAxes, fontsize=10, ha="right")
ax.set_xscale("log")
ax.set_xticks(n_params, [f"w={w}\n{p:,.0f}" for w, p in zip(widths, n_params)], fontsize=9)
ax.set_xticks([], minor=True)
ax.set_xlabel("model size: width w and number of parameters (log scale)")
ax.set_ylabel("cross-entropy (nats)")
ax.set_title(f"Model size: {n_small} training reviews, {steps} steps each (losses after the last step)")
ax.legend(fontsize=9)
print("saved", plot.save(fig, args.out, "capacity"))

# %% [markdown]
# Small models underfit: training and validation losses sit together, well above the floor.
# Large models overfit: their training loss falls far below the floor — they have memorized
# the flipped labels — while their validation loss climbs far above it. The best size is in
# between. The dotted line is a warning not to read too much into one U: the same large
# models, *stopped at their best epoch*, do about as well as the best small one. Overfitting
# depends on size **and** on training time; section 3 turns the second knob.
#
# ## 2. Training-set size: learning curves
#
# Now one model, width 16 — on the overfitting side with 500 reviews — trained for the same
# 600 steps on ever more data. With more examples, memorizing gets harder (the training loss
# rises) and what is learned holds more generally (the validation loss falls): the variance
# shrinks, and the two losses close in on the floor from either side. (The validation set's own
# share of flipped labels varies by chance, so its loss may land a little below the floor.)

# %%
sizes = [50, 400, 3200] if args.quick else [50, 100, 200, 400, 800, 1600, 3200]
rows = []
for n in sizes:
    model = make_model(16)
    history = fit_model(model, n, steps, eval_every=steps)
    rows.append((train_loss(model, n), history.evals[-1]["val_loss"]))
    print(f"{n:>5} training reviews: train {rows[-1][0]:.3f}, validation {rows[-1][1]:.3f}, "
          f"gap {rows[-1][1] - rows[-1][0]:.3f}  -> {diagnose(*rows[-1])}")  # fmt: skip
data_train, data_val = np.array(rows).T
gap = data_val - data_train

# %%
fig, ax = plot.figure(width=7.0, height=4.5)
ax.plot(sizes, data_train, "o-", color=plot.COLORS["train"], label="training loss")
ax.plot(sizes, data_val, "o-", color=plot.COLORS["val"], label="validation loss")
ax.fill_between(sizes, data_train, data_val, color=plot.COLORS["val"], alpha=0.12,
                label="gap: the mark of overfitting (variance)")  # fmt: skip
ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"floor: label-noise entropy {floor:.3f}")
ax.set_xscale("log")
ax.set_xticks(sizes, [str(n) for n in sizes])
ax.set_xticks([], minor=True)
ax.set_xlabel("training reviews (log scale)")
ax.set_ylabel("cross-entropy (nats)")
ax.set_title(f"Learning curves: width 16, {steps} steps for every training-set size")
ax.legend()
print("saved", plot.save(fig, args.out, "learning_curves"))

# %% [markdown]
# With 50 reviews the model learns them by heart (training loss near 0) and generalizes
# badly; with 3200 the gap has almost closed. Once the two curves meet, more data no longer
# helps; had they met above the floor, only a model with less bias would (here they meet at
# the floor: nothing is left to gain). While they are far apart, more data — or a smaller
# model, or regularization (lesson 3) — is the cure.
#
# ## 3. Training time: early stopping
#
# The width-16 model on 500 reviews once more, now for 40 epochs (25 in the quick run), both
# losses measured after every epoch. First the model learns the rule and both losses fall; then it learns the
# noise, and the validation loss turns up. **Early stopping** keeps the weights of the epoch
# with the lowest validation loss. `fit(..., patience=p)` does it: it remembers the best
# weights, stops after p evaluations without a new best, and restores them. With a patience
# as long as the run it never stops early, but it still restores the best weights at the end.

# %%
n_epochs = 25 if args.quick else 40
train_curve: list[float] = []


def measure_train(step: int, history: tl.train.History) -> None:
    """After each epoch's last step: the loss on the whole training set, as for validation."""
    if step % epoch == 0:
        train_curve.append(train_loss(model, n_small))


model = make_model(16)
history = fit_model(model, n_small, n_epochs * epoch, eval_every=epoch, patience=n_epochs,
                    callback=measure_train)  # fmt: skip
val_curve = history.series("val_loss", evals=True)
best_epoch = int(np.argmin(val_curve)) + 1
restored = tl.train.evaluate(model, val_loader)["loss"]
print(f"lowest validation loss {val_curve.min():.3f} after epoch {best_epoch}; "
      f"after the last epoch ({n_epochs}) {val_curve[-1]:.3f}")  # fmt: skip
print(f"training loss {train_curve[best_epoch - 1]:.3f} at the best epoch, {train_curve[-1]:.3f} at the last")
print("validation loss by epoch:", np.round(val_curve, 3))
print(f"the restored model's validation loss: {restored:.3f} (the best epoch's weights)")
# Stopping for real: patience 5 ends the same run five epochs after its best.
stopped = fit_model(make_model(16), n_small, n_epochs * epoch, eval_every=epoch, patience=5)
stop_epoch = stopped.evals[-1]["step"] // epoch
print(f"with patience 5: stops after epoch {stop_epoch}, restores epoch {stopped.best_step // epoch}")

# %%
epochs = np.arange(1, n_epochs + 1)
fig, ax = plot.figure(width=7.0, height=4.5)
ax.plot(epochs, train_curve, "o-", ms=3, color=plot.COLORS["train"], label="training loss")
ax.plot(epochs, val_curve, "o-", ms=3, color=plot.COLORS["val"], label="validation loss")
ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"floor: label-noise entropy {floor:.3f}")
ax.axvline(best_epoch, color="tab:green", ls=":")
ax.plot(best_epoch, val_curve.min(), "*", ms=16, color="tab:green", zorder=3,
        label=f"minimum {val_curve.min():.3f}, epoch {best_epoch}: these weights are restored")  # fmt: skip
ax.axvline(stop_epoch, color="0.4", ls="-.", lw=1.2, label=f"patience 5 stops here (epoch {stop_epoch})")
ax.plot(n_epochs, val_curve[-1], "s", ms=7, color=plot.COLORS["val"], label=f"last epoch {val_curve[-1]:.3f}")
ax.set_xlabel(f"epoch (passes over {n_small} training reviews)")
ax.set_ylabel("cross-entropy (nats)")
ax.set_title(f"Early stopping: width 16 trained for {n_epochs} epochs, the best epoch kept")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), ncol=2, fontsize=9)
print("saved", plot.save(fig, args.out, "early_stopping"))

# %% [markdown]
# The validation loss reaches its minimum after about ten epochs and rises for the rest of
# the run, while the training loss keeps falling — below the floor, into the noise. The
# restored model is the one at the minimum. (That minimum was *chosen* on the validation set,
# so it is a slightly optimistic estimate of the loss on new data; lesson 7 measures the
# chosen model once on the untouched test set.)
#
# ## Conclusion
#
# Two numbers diagnose a model. **Both losses high** and close: underfitting, high bias — use
# a bigger model or train longer. **A large gap**: overfitting, high variance — use more data,
# a smaller model, regularization, or stop early. Against model size, the validation loss is
# a U with the best size in between; against training-set size, the gap closes as the data
# grows; against training time, it has a minimum, and early stopping keeps it.

# %%
assert 0 < best < len(widths) - 1, ("the best width is at an edge of the sweep", size_val)
assert size_val[0] > size_val[best] + 0.05 and size_val[-1] > size_val[best] + 0.5, size_val
assert size_train[0] > floor + 0.05 and size_val[0] - size_train[0] < 0.1, (size_train, size_val)  # underfit
assert size_train[-1] < 0.1 and size_val[-1] - size_train[-1] > 0.8, (size_train, size_val)  # overfit
assert size_val_early[-1] < size_val[best] + 0.05, (size_val_early, size_val)  # early stopping rescues size
assert data_train[0] < floor - 0.3 and np.all(np.diff(data_train) > 0) and data_train[-1] < floor, data_train
assert np.all(np.diff(data_val) < 0.02) and data_val[-1] < data_val[0] - 1.0, data_val
assert abs(data_val[-1] - floor) < 0.06, data_val
assert gap[0] > 1.0 and gap[-1] < 0.1 and np.all(np.diff(gap) < 0.05), gap
assert 5 <= best_epoch <= 15, val_curve  # "after about ten epochs"
rise = val_curve[best_epoch + 4 :]  # "...and rises for the rest of the run"
assert rise[-1] >= rise.max() - 0.01 and rise[-1] > val_curve.min() + (0.04 if args.quick else 0.15), val_curve
assert train_curve[-1] < min(floor, train_curve[best_epoch - 1]) - 0.1, train_curve
assert abs(restored - val_curve.min()) < 1e-9, (restored, val_curve.min())
assert stop_epoch == best_epoch + 5 and stopped.best_step == best_epoch * epoch, (stop_epoch, best_epoch)
print(f"lesson ran {time.perf_counter() - started:.1f} s")
print("lesson 05: a U in model size, a gap that closes with more data, early stopping at the minimum")

# %% [markdown]
# ## Exercises
#
# 1. *Predict, then run.* Set `noise = 0.0` (no flipped labels, so the floor is 0) and rerun
#    section 1. Will the largest model still have a validation loss far above the best
#    model's? Will its training loss still fall below its validation loss by a wide gap?
# 2. *Predict from the printout.* The lesson prints the validation loss after every epoch of
#    section 3. With `patience=2` instead of 5, after which epoch does training stop, and
#    which epoch's weights come back? Check by running it.
# 3. *Predict, then run.* Redraw the learning curves of section 2 with width 4 — the best
#    size of section 1 — instead of 16. With 50 reviews, will the gap be larger or smaller
#    than width 16's? With 3200?
# 4. *Derivation.* A review's observed label is the rule's label with probability
#    $1 - \epsilon$ and flipped with probability $\epsilon$. Show that the expected
#    cross-entropy of a model that gives the rule's label probability $q$ is
#    $-(1-\epsilon)\ln q - \epsilon \ln(1-q)$, that it is smallest at $q = 1 - \epsilon$, and
#    that its minimum is the entropy $-(\epsilon\ln\epsilon + (1-\epsilon)\ln(1-\epsilon))$:
#    0.500 nats for $\epsilon = 0.2$. Why, then, can a *training* loss go below it?
