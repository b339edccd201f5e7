# %% [markdown]
# # Lesson 6 — Tuning: random search and successive halving, in parallel
#
# The seed document's sixth step adjusts the hyperparameters by what validation shows.
# Done by hand, that is slow and biased toward what one tried first. Done by search, it
# is a loop anyone can rerun: draw configurations, train each, keep the best *on the
# validation set*. Successive halving spends the budget better: many configurations
# get a short run, and only the promising ones get longer ones. The trials run in
# parallel through an executor — here both cores of this machine, on a cluster the same
# code through Dask.
#
# Run: `python lessons/06_tuning.py [--quick] [--seed N] [--out DIR]`.

# %%
from concurrent.futures import ProcessPoolExecutor

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import DataLoader, WordTokenizer, encode_labeled, synthetic_sentiment, train_val_test_split
from tinyllm.models import TextClassifier

args = lessons.options("06_tuning")
quick = args.quick
data = synthetic_sentiment(1500 if quick else 3000, seed=args.seed, noise=0.05)
train, val, _ = train_val_test_split(data, (0.7, 0.3, 0.0), seed=args.seed)
tokenizer = WordTokenizer.fit(train.texts)
train_set, val_set = encode_labeled(train, tokenizer), encode_labeled(val, tokenizer)
print(f"{len(train)} training and {len(val)} validation reviews (best possible accuracy {data.info['bayes_accuracy']})")

# %% [markdown]
# ## 1. A trial: train one configuration, report its validation metrics
#
# It is a plain function of a config (and, for successive halving, a budget in epochs).
# It must be defined at the top level of the script so that worker processes can run it.

# %%


def trial(config: dict, budget: float = 2) -> dict:
    tl.manual_seed(config["seed"] % 2**31)
    model = TextClassifier(tokenizer.vocab_size, config["embedding"], config["hidden"], 2, dropout=config["dropout"])
    optimizer = tl.optim.Adam(model.parameters(), lr=config["lr"])
    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=config["seed"] % 2**31)
    history = tl.train.fit(model, optimizer, loader, epochs=int(budget), val_loader=DataLoader(val_set, batch_size=512))
    best = int(np.argmin(history.series("val_loss", evals=True)))
    return {"val_loss": history.evals[best]["val_loss"], "val_accuracy": history.evals[best]["val_accuracy"]}


default = {"lr": 1e-3, "embedding": 16, "hidden": 32, "dropout": 0.0, "seed": args.seed}
baseline = trial(default)
print(f"default config {default}: validation loss {baseline['val_loss']:.3f}, accuracy {baseline['val_accuracy']:.3f}")

# %% [markdown]
# ## 2. Random search, trials in parallel
#
# The learning rate is drawn log-uniformly (as likely between 1e-4 and 1e-3 as between
# 1e-2 and 1e-1), the sizes from short lists.

# %%
space = {
    "lr": tl.tune.loguniform(3e-4, 5e-2),
    "embedding": tl.tune.choice([8, 16, 32]),
    "hidden": tl.tune.choice([16, 32, 64]),
    "dropout": tl.tune.uniform(0.0, 0.4),
}
n_trials = 6 if quick else 16
with ProcessPoolExecutor(max_workers=2) as pool:
    search = tl.tune.random_search(trial, space, n_trials=n_trials, seed=args.seed, executor=pool, metric="val_loss")
print(search)
best = search.best()
print(f"best: {best.config} -> validation loss {best.metrics['val_loss']:.3f}")

# %% [markdown]
# ## 3. Successive halving: short runs for all, long runs for the best
#
# Nine configurations get 1 epoch; the best third gets 3; (in the full run) the best of
# those gets 9. The total is far below nine full-length runs.

# %%
max_budget = 3 if quick else 9
with ProcessPoolExecutor(max_workers=2) as pool:
    halving = tl.tune.successive_halving(trial, space, n_trials=9, min_budget=1, max_budget=max_budget, eta=3,
                                         seed=args.seed + 1, metric="val_loss", executor=pool)  # fmt: skip
spent = sum(t.budget for t in halving)
sh_best = halving.best()
print(f"successive halving spent {spent:.0f} epochs (9 full runs: {9 * max_budget}); "
      f"best validation loss {sh_best.metrics['val_loss']:.3f} at {sh_best.config}")

# %%
fig, ax = plot.figure(width=6.5)
losses = [t.metrics["val_loss"] if t.status == "ok" else np.nan for t in search]
ax.plot(range(1, len(losses) + 1), losses, "o", color=plot.COLORS["val"], alpha=0.6, label="each random trial")
ax.step(range(1, len(losses) + 1), np.fmin.accumulate(losses), where="post", color=plot.COLORS["val"],
        label="best so far (random search)")  # fmt: skip
ax.axhline(baseline["val_loss"], color="tab:red", ls="--", label="default config")
ax.axhline(sh_best.metrics["val_loss"], color="tab:green", ls="-.", label=f"successive halving ({spent:.0f} epochs)")
ax.set_xlabel("trial")
ax.set_ylabel("validation cross-entropy (nats)")
ax.set_title("Tuning the LSTM classifier on the validation set")
ax.legend()
print("saved", plot.save(fig, args.out, "best_so_far"))

# %% [markdown]
# ## Conclusion
#
# A search beats the default configuration, and successive halving reaches a comparable
# result with a fraction of the epochs. The winner is chosen on the validation set; only
# lesson 7 touches the test set, once.

# %%
assert best.metrics["val_loss"] < 0.8 * baseline["val_loss"], (best.metrics, baseline)
assert sh_best.metrics["val_loss"] < baseline["val_loss"]
assert spent <= 9 * max_budget * 2 / 3
assert not search.failed
print("lesson 06: the tuned configuration beats the default; successive halving uses a fraction of the budget")
