# %% [markdown]
# # Lesson 6 — Tuning: random search and successive halving, in parallel
#
# The seed document's sixth step adjusts the hyperparameters by what validation shows.
# Done by hand, that is slow and biased toward what one tried first. Done by search, it
# is a loop anyone can rerun: draw configurations, train each, keep the best *on the
# validation set*. Two questions, each answered by measurement on several seeds:
#
# 1. Does a random search beat the **documented defaults** (Adam's learning rate 1e-3, no
#    dropout) when both get the same training budget?
# 2. Successive halving gives many configurations a short run and only the promising ones
#    a long one. At the **same total number of epochs**, does its best beat the best of a
#    random search that trains fewer configurations at full length?
#
# The trials run in parallel on both cores of this machine through an executor; on a
# cluster the same code runs through Dask.
#
# Run: `python lessons/06_tuning.py [--quick] [--seed N] [--out DIR]`.

# %%
import functools
import multiprocessing
import sys
from concurrent.futures import Executor, ProcessPoolExecutor

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import DataLoader, WordTokenizer, encode_labeled, synthetic_sentiment, train_val_test_split
from tinyllm.models import TextClassifier

args = lessons.options("06_tuning")
quick = args.quick
seeds = [args.seed] if quick else [args.seed + k for k in range(3)]
data = synthetic_sentiment(1500 if quick else 3000, seed=args.seed, noise=0.05)
train, val, _ = train_val_test_split(data, (0.7, 0.3, 0.0), seed=args.seed)
tokenizer = WordTokenizer.fit(train.texts)
train_set, val_set = encode_labeled(train, tokenizer), encode_labeled(val, tokenizer)
floor = -(0.05 * np.log(0.05) + 0.95 * np.log(0.95))
print(f"{len(train)} training and {len(val)} validation reviews; 5% of labels flipped: "
      f"no model's expected validation loss is below {floor:.3f} nats")  # fmt: skip

# %% [markdown]
# ## 1. A trial: train one configuration, report its validation metrics
#
# A trial is a plain function of a config (and a budget in epochs). It reports the lowest
# validation loss over its epochs — the model early stopping would keep.
#
# **Where trials run.** A process pool sends each worker the trial *by name*, and a worker
# started fresh (the *spawn* start method of macOS and Windows, or *forkserver*) must find
# that name by importing the module that defined it. A function defined in a script's or a
# notebook's `__main__` cannot be found that way. A *forked* worker is a copy of this
# process, notebook functions and loaded data included, so on Linux the lesson asks for fork
# explicitly; elsewhere it runs the trials one after another in this process, and says so.
# (For a pool on every platform, put the trial in a module of its own and import it.)

# %%


def trial(config: dict, budget: float) -> dict:
    tl.manual_seed(config["seed"] % 2**31)
    model = TextClassifier(tokenizer.vocab_size, config["embedding"], config["hidden"], 2, dropout=config["dropout"])
    optimizer = tl.optim.Adam(model.parameters(), lr=config["lr"])
    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=config["seed"] % 2**31)
    history = tl.train.fit(model, optimizer, loader, epochs=int(budget), progress=False,
                           val_loader=DataLoader(val_set, batch_size=512))  # fmt: skip
    best = int(np.argmin(history.series("val_loss", evals=True)))
    return {"val_loss": history.evals[best]["val_loss"], "val_accuracy": history.evals[best]["val_accuracy"]}


def workers() -> Executor:
    """Two forked processes where the platform can fork safely (Linux); otherwise this process."""
    if sys.platform.startswith("linux"):
        return ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("fork"))
    print(f"note: no fork on {sys.platform}: the trials run one after another in this process")
    return tl.tune.SerialExecutor()


# %% [markdown]
# ## 2. Random search against the documented defaults
#
# The default: Adam at its documented learning rate 1e-3 (PyTorch's too), no dropout, the
# sizes of lesson 8 (embedding 16, hidden 32). The search draws the learning rate
# log-uniformly (as likely between 1e-4 and 1e-3 as between 1e-2 and 1e-1), the sizes from
# short lists, dropout uniformly. Every trial — the default's included — gets the same short
# budget (3 epochs; 1 in the quick run); then we ask whether the default catches up when it
# trains three times as long (twelve times in the quick run, whose epochs are half as long).

# %%
space = {
    "lr": tl.tune.loguniform(1e-4, 1e-1),
    "embedding": tl.tune.choice([8, 16, 32]),
    "hidden": tl.tune.choice([16, 32, 64]),
    "dropout": tl.tune.uniform(0.0, 0.4),
}
short, long, n_random = (1, 12, 6) if quick else (3, 9, 9)  # epochs, epochs, trials
max_budget = 3 if quick else 9  # successive halving's longest run
default = {"lr": 1e-3, "embedding": 16, "hidden": 32, "dropout": 0.0}
rows = []
for seed in seeds:
    with workers() as pool:
        default_short = pool.submit(trial, {**default, "seed": seed}, short)
        default_long = pool.submit(trial, {**default, "seed": seed}, long)
        search = tl.tune.random_search(functools.partial(trial, budget=short), space, n_trials=n_random,
                                       seed=seed, executor=pool, metric="val_loss")  # fmt: skip
        default_short, default_long = default_short.result()["val_loss"], default_long.result()["val_loss"]
    rows.append((default_short, search.best().metrics["val_loss"], default_long))
    print(f"seed {seed}: default after {short} epochs {default_short:.3f}; best of {n_random} random configs "
          f"after {short} epochs {rows[-1][1]:.3f} ({search.best().config['lr']:.2g} lr); "
          f"default after {long} epochs {default_long:.3f}")  # fmt: skip
default_short, random_best, default_long = np.array(rows).T
print(search)

# %% [markdown]
# ## 3. Successive halving against random search, at the same total budget
#
# Successive halving with $\eta = 3$: nine configurations get 1 epoch; the best third
# get 3; the best of those gets 9. That costs $9 \cdot 1 + 3 \cdot 3 + 1 \cdot 9 = 27$
# epochs. Random search with the same 27 epochs trains $27 / 9 = 3$ configurations at full
# length. (Quick run: 1 then 3 epochs, $9 + 9 = 18$ epochs, against 6 random configurations
# at 3 epochs.) Both searches draw from one generator
# with the same seed, so random search's three configurations are the first three of
# successive halving's nine: the only difference is how the epochs are spent.

# %%
rows = []
for seed in seeds:
    with workers() as pool:
        halving = tl.tune.successive_halving(trial, space, n_trials=9, min_budget=1, max_budget=max_budget, eta=3,
                                             seed=seed, metric="val_loss", executor=pool)  # fmt: skip
        spent = sum(t.budget for t in halving)
        full_length = tl.tune.random_search(functools.partial(trial, budget=max_budget), space,
                                            n_trials=int(spent // max_budget), seed=seed, executor=pool,
                                            metric="val_loss")  # fmt: skip
    assert not halving.failed and not full_length.failed
    rows.append((halving.best().metrics["val_loss"], full_length.best().metrics["val_loss"]))
    print(f"seed {seed}: {spent:.0f} epochs each; successive halving's best {rows[-1][0]:.3f} "
          f"(lr {halving.best().config['lr']:.2g}), random search's best of {len(full_length)} "
          f"{rows[-1][1]:.3f}; the {len(full_length)} random configs' losses: "
          f"{np.round([t.metrics['val_loss'] for t in full_length], 3)}")  # fmt: skip
halving_best, equal_budget_best = np.array(rows).T

# %%
fig, axes = plot.figure(ncols=2, width=5.5, height=4.2)
x = np.arange(len(seeds))
ax = axes[0]
ax.plot(x - 0.15, default_short, "s", ms=9, color="tab:red", label=f"default, {short} epoch{'s' * (short > 1)}")
ax.plot(x, random_best, "o", ms=9, color=plot.COLORS["val"],
        label=f"best of {n_random} random configs, {short} epoch{'s' * (short > 1)}")  # fmt: skip
ax.plot(x + 0.15, default_long, "s", ms=9, mfc="none", color="tab:red", label=f"default, {long} epochs")
ax.set_title("1. Random search against the defaults")
ax = axes[1]
ax.plot(x - 0.1, equal_budget_best, "o", ms=9, color=plot.COLORS["val"],
        label=f"random search: best of {len(full_length)} at {max_budget} epochs")  # fmt: skip
ax.plot(x + 0.1, halving_best, "D", ms=8, color="tab:green", label="successive halving: 9 configs screened")
ax.set_title(f"2. The same {spent:.0f} epochs, spent two ways")
for ax in axes:
    ax.axhline(floor, color=plot.COLORS["floor"], ls="--", label=f"floor {floor:.3f} (5% flipped labels)")
    ax.set_xticks(x, [f"search seed {s}" for s in seeds])
    ax.set_xlim(-0.6, len(seeds) - 0.4)
    ax.set_ylabel("best validation cross-entropy (nats)")
    ax.legend(fontsize=9, loc="upper center", bbox_to_anchor=(0.5, -0.1))
print("saved", plot.save(fig, args.out, "tuning"))

# %% [markdown]
# ## Conclusion
#
# 1. With the same short budget, the best of a handful of random configurations beats the
#    documented defaults by a wide margin on every seed (a loss at least a fifth lower; 0.07
#    to 0.2 nats over the data seeds 0-11 of full runs): Adam's 1e-3 is a safe learning
#    rate, not a fast one for this model. But trained three times as long the
#    default closes at least 80% of that gap — here tuning bought speed far more
#    than a better final model, since both approach the floor that label noise sets. (The
#    full run's validation set happens to hold 42 flipped labels in 900, 4.7%, so its own
#    floor is 0.189: the best losses land a little below 0.199.)
# 2. At the same total number of epochs, successive halving's best is never worse than
#    random search's (within 0.005 nats) on any seed. Where most configurations reach the
#    floor at full length, the two tie; where random search's few full-length draws are all
#    poor (seed 2 of the full run: 0.280 against 0.189), screening nine configurations
#    cheaply finds a good one. Its value is insurance against bad draws.
#
# Every winner was chosen on the validation set; only lesson 7 touches the test set, once.

# %%
assert np.all(random_best < 0.8 * default_short), (default_short, random_best)  # full runs, seeds 0-11: 0.48-0.72
assert np.all(default_long - random_best < 0.2 * (default_short - random_best)), (default_long, random_best)
assert np.all(halving_best <= equal_budget_best + 0.005), (halving_best, equal_budget_best)
if not quick and args.seed == 0:  # the run the text describes: on its seed 2 random search's draws all miss
    # (other seeds may draw no such miss: of the full runs with seeds 3-5, 6-8 and 9-11, only the last does)
    assert np.any(halving_best < equal_budget_best - 0.05), (halving_best, equal_budget_best)
print("lesson 06: random search beats the defaults at equal budget, which longer training mostly recovers; "
      "successive halving is never worse than random search at equal epochs")  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. *Predict, then run.* Narrow the search space's learning rate to `loguniform(3e-3, 3e-2)`,
#    where (section 2 suggests) almost every draw trains well. Will successive halving still
#    beat random search at equal budget on any seed? Will random search still beat the
#    default by more than 0.1 nats?
# 2. *Derivation.* With $n = \eta^R$ configurations, a first budget $b$ and $R$ cuts by
#    $\eta$, show that each rung of successive halving costs $n b$ epochs, so the whole search
#    costs $(R + 1)\, n b$ — against $n \cdot \eta^R b$ to train every configuration at full
#    length. How many full-length configurations can random search train for the same
#    budget? Evaluate for $n = 9$, $\eta = 3$, $b = 1$, and for $n = 81$.
# 3. *Code change.* Make the trial report the validation loss after its *last* epoch instead
#    of the lowest over its epochs. Predict which of the random configurations of section 2
#    get worse, and whether the default's catch-up (section 2) still holds. Then run it.
# 4. *Predict, then run.* In a Jupyter notebook, replace the fork context in `workers()` by
#    `multiprocessing.get_context("spawn")` and run section 2. What happens, and why does the
#    same change work when the trial is imported from a module?
