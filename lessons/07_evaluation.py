# %% [markdown]
# # Lesson 7 — Evaluation: the test set, touched once
#
# The seed document's seventh step evaluates the final model on the test set. Everything
# before — training, early stopping, tuning — looked only at the training and validation
# sets; a number measured on data that guided a choice is optimistic. So the test set is
# read **once per model, after every choice is made**, and every number of this lesson
# comes from that one pass: accuracy with its uncertainty, macro-F1, the confusion matrix,
# accuracy by review length, the errors that remain — and, for a language model, the test
# loss against the lowest loss any model can reach.
#
# Run: `python lessons/07_evaluation.py [--quick] [--seed N] [--out DIR]`.

# %%
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, metrics, plot
from tinyllm.data import (
    CharTokenizer,
    DataLoader,
    WordTokenizer,
    encode_labeled,
    lm_batches,
    markov_text,
    sequential_lm_batches,
    split_tokens,
    synthetic_sentiment,
    train_val_test_split,
)
from tinyllm.data.synthetic import POSITIVE
from tinyllm.models import LSTMLanguageModel, TextClassifier

F = tl.nn.functional
args = lessons.options("07_evaluation")
quick = args.quick

# %% [markdown]
# ## 1. Three parts, and the best any model can do
#
# `synthetic_sentiment` labels a review by the polarity of its **last** clause ("A but B"
# takes B's), then flips 10% of the labels at random. We know the ceiling exactly: the
# **Bayes accuracy** 0.90 of the rule itself (written out below, and checked against the
# generator's noise-free labels); a bag-of-words model is capped lower, at 0.60, because
# "A but B" and "B but A" have the same words and opposite labels.
#
# We split the reviews 60 / 20 / 20 into training, validation and test sets, and put the
# test set aside.

# %%
data = synthetic_sentiment(3000 if quick else 20000, seed=args.seed)
train, val, test = train_val_test_split(data, (0.6, 0.2, 0.2), seed=args.seed)
bayes, bow_limit = data.info["bayes_accuracy"], data.info["bow_accuracy_limit"]


def rule(text: str) -> int:
    """The noise-free label: the last clause's adjective is positive, unless that clause says "not"."""
    words = text.split(" but ")[-1].split()
    return int((words[-1] in POSITIVE) != ("not" in words))


clean = synthetic_sentiment(len(data), seed=args.seed, noise=0.0)  # the same texts, no flipped labels
assert [rule(t) for t in clean.texts] == clean.labels.tolist()
tokenizer = WordTokenizer.fit(train.texts)
train_set, val_set = encode_labeled(train, tokenizer), encode_labeled(val, tokenizer)
print(f"{len(train)} training, {len(val)} validation, {len(test)} test reviews; "
      f"Bayes accuracy {bayes:.2f}, bag-of-words limit {bow_limit:.2f}")  # fmt: skip

# %% [markdown]
# ## 2. Two models, each chosen on the validation set
#
# - **Bag of words**: the mean of the word vectors, then a small MLP. It sees which words
#   occur, never their order. (The hidden layer matters: "good" is positive and "not
#   good" negative, "bad" negative and "not bad" positive — an exclusive or, which no
#   linear function of the word counts can compute.)
# - **LSTM**: the seed's `TextClassifier` (lesson 8), which reads the words in order.
#
# Both train with Adam and **early stopping**: the validation loss is measured twice per
# epoch, training stops after 4 measurements without improvement, and the weights of the
# best one are restored — the stopping point is chosen on validation, never on test.

# %%


class BagOfWords(tl.nn.Module):
    """ids (B, T), lengths (B,) -> logits (B, 2) from the mean of the word vectors: order-blind."""

    def __init__(self, vocab_size: int, embedding_dim: int, hidden_dim: int, padding_idx: int) -> None:
        super().__init__()
        self.embedding = tl.nn.Embedding(vocab_size, embedding_dim, padding_idx=padding_idx)
        self.mlp = tl.nn.Sequential(tl.nn.Linear(embedding_dim, hidden_dim), tl.nn.ReLU(),
                                    tl.nn.Linear(hidden_dim, 2))  # fmt: skip

    def forward(self, text: tl.Tensor, text_lengths: tl.Tensor) -> tl.Tensor:
        summed = self.embedding(text).sum(dim=1)  # the padding's vectors are zero
        return self.mlp(summed / text_lengths.reshape(-1, 1).float())


def train_early_stopped(model: tl.nn.Module, lr: float, max_epochs: int) -> tl.train.History:
    loader = DataLoader(train_set, batch_size=32, shuffle=True, seed=args.seed)
    return tl.train.fit(model, tl.optim.Adam(model.parameters(), lr=lr), loader, epochs=max_epochs,
                        val_loader=DataLoader(val_set, batch_size=512), eval_every=len(loader) // 2,
                        patience=4, progress=False)  # fmt: skip


embedding_dim, hidden_dim = (16, 32) if quick else (32, 64)
models = {
    "bag of words": BagOfWords(tokenizer.vocab_size, 16, 32, tokenizer.pad_id),
    "LSTM": TextClassifier(tokenizer.vocab_size, embedding_dim, hidden_dim, 2, 2, 0.2, tokenizer.pad_id),
}
settings = {"bag of words": (1e-2, 20), "LSTM": (3e-3, 8 if quick else 6)}  # learning rate, most epochs
for name, model in models.items():
    history = train_early_stopped(model, *settings[name])
    best = next(e for e in history.evals if e["step"] == history.best_step)
    print(f"{name:>12}: best validation loss {best['val_loss']:.3f} (accuracy {best['val_accuracy']:.3f}) "
          f"at step {history.best_step} of {history.steps[-1]['step']}")  # fmt: skip

# %% [markdown]
# ## 3. The one pass over the test set
#
# Each model reads the test reviews once; we keep its probabilities, and every number
# below is computed from them (and from the rule, the Bayes classifier, for reference).
# The accuracy on n test reviews is a fraction of n coin tosses, with a **standard error**
# $\mathrm{SE} = \sqrt{a(1-a)/n}$; about 95% of test sets would land within ±1.96 SE of
# the model's true accuracy. **Macro-F1** averages the F1 score of each class,
# $F_1 = 2PR/(P+R)$ from precision P and recall R, so a model that neglects one class
# cannot hide behind the other.

# %%


def predict(model: tl.nn.Module, reviews: tl.data.LabeledTexts) -> np.ndarray:
    """P(positive) for every review, in order: one pass, in eval mode, without gradients."""
    model.eval()
    with tl.no_grad():
        return np.concatenate([F.softmax(model(ids, lengths), dim=1).numpy()[:, 1] for ids, lengths, _ in
                               DataLoader(encode_labeled(reviews, tokenizer), batch_size=512)])  # fmt: skip


labels = test.labels
p_positive = {name: predict(model, test) for name, model in models.items()}  # the only look at test
predicted = {name: (p > 0.5).astype(int) for name, p in p_positive.items()}
predicted["Bayes rule"] = np.array([rule(t) for t in test.texts])
n = len(test)
acc = {name: metrics.accuracy(p, labels) for name, p in predicted.items()}
se = {name: math.sqrt(a * (1 - a) / n) for name, a in acc.items()}
f1 = {name: metrics.f1_score(p, labels, 2) for name, p in predicted.items()}
for name in predicted:
    print(f"{name:>12}: test accuracy {acc[name]:.3f} ± {1.96 * se[name]:.3f} (95%), macro-F1 {f1[name]:.3f}")

# %% [markdown]
# The rule's test accuracy is the Bayes accuracy realized on *this* test set: exactly the
# share of its labels that were not flipped. It differs from 0.90 by chance, within the
# ± band — and so will any model's.
#
# ## 4. The confusion matrix
#
# Row i, column j counts the test reviews of true class i predicted as class j; the
# diagonal holds the correct ones.

# %%
fig, axes = plot.figure(ncols=3, width=3.9, height=3.7)
for ax, (name, pred) in zip(axes, predicted.items()):
    m = metrics.confusion_matrix(pred, labels, 2)
    ax.imshow(m, cmap="Blues", vmin=0, vmax=n / 2)
    for i in range(2):
        for j in range(2):
            ax.text(j, i, f"{m[i, j]}", ha="center", va="center", fontsize=14,
                    color="white" if m[i, j] > n / 4 else "black")  # fmt: skip
    ax.set_xticks([0, 1], test.classes)
    ax.set_yticks([0, 1], test.classes)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("true (observed) class")
    ax.set_title(f"{name}: accuracy {acc[name]:.3f}")
    ax.grid(False)
fig.suptitle(f"Confusion matrices on the {n} test reviews (counts); the Bayes rule is the best possible")
print("saved", plot.save(fig, args.out, "confusion"))

# %% [markdown]
# The LSTM's matrix is (nearly) the rule's. A model that cannot decide some reviews may lean to one
# class on them — as the bag of words can on "A but B" reviews, depending on the run;
# then its macro-F1 falls below its accuracy, and the off-diagonal cells show to which side.
#
# ## 5. Where the errors are: accuracy by review length
#
# One number hides *where* a model fails. Reviews of 4–6 words are one clause; reviews of
# 9–13 words are two, joined by "but". The bag of words should be near the rule on the
# first and a coin on the second.

# %%
length = np.array([len(t.split()) for t in test.texts])
two_clauses = length > 6
fig, ax = plot.figure(width=7.5, height=4.2)
style = {"bag of words": ("tab:red", "o-"), "LSTM": (plot.COLORS["train"], "s-"), "Bayes rule": ("0.4", "^:")}
for k, (name, pred) in enumerate(predicted.items()):
    for sizes in (np.arange(4, 7), np.arange(9, 14)):  # one clause; two clauses (no review has 7 or 8 words)
        a = np.array([np.mean(pred[length == s] == labels[length == s]) for s in sizes])
        err = 1.96 * np.sqrt(a * (1 - a) / np.array([np.sum(length == s) for s in sizes]))
        ax.errorbar(sizes + 0.12 * (k - 1), a, yerr=err, fmt=style[name][1], color=style[name][0], capsize=3,
                    ms=5, label=name if sizes[0] == 4 else None)  # fmt: skip
by_kind = {name: [np.mean(pred[two_clauses == k] == labels[two_clauses == k]) for k in (False, True)]
           for name, pred in predicted.items()}  # fmt: skip
for name, (one, two) in by_kind.items():
    print(f"{name:>12}: accuracy {one:.3f} on one-clause reviews, {two:.3f} on 'A but B' reviews")
ax.axhline(0.5, color="0.6", ls=":", label="chance 0.5")
ax.set_xlabel("review length (words): 4–6 one clause, 9–13 two clauses “A but B”")
ax.set_ylabel("test accuracy (error bars: 95%)")
ax.set_title(f"Test accuracy by review length ({n} test reviews)")
ax.legend(loc="center")
print("saved", plot.save(fig, args.out, "by_length"))

# %% [markdown]
# ## 6. The errors the LSTM still makes
#
# Where the LSTM is wrong, is the review hard, or is the label one of the flipped ones?
# The rule tells us: a flipped label is an error no model can avoid without memorizing it.

# %%
wrong = np.flatnonzero(predicted["LSTM"] != labels)
flipped = predicted["Bayes rule"] != labels
own = np.flatnonzero(predicted["LSTM"] != predicted["Bayes rule"])
print(f"the LSTM gets {len(wrong)} of {n} test reviews wrong, {flipped[wrong].sum()} of them with a flipped "
      f"label; it disagrees with the rule on {len(own)}. Its most confident errors, then those:")  # fmt: skip
confident = wrong[np.argsort(-np.abs(p_positive["LSTM"][wrong] - 0.5))]
for i in list(confident[:4]) + list(own[:3]):
    print(f"  P(positive) {p_positive['LSTM'][i]:.3f}, label {test.classes[labels[i]]:>8}, "
          f"rule says {test.classes[predicted['Bayes rule'][i]]:>8}: {test.texts[i]}")  # fmt: skip

# %% [markdown]
# The most confident errors are flipped labels: the model is sure, and right by the rule.
# At least 98% of all its errors are flipped labels (every one of them in the full run;
# 57 of 57, 66 of 66 and 59 of 60 in quick runs with seeds 0, 1, 2, and 55 of 57 with seed 3,
# the worst of seeds 0-10): its own mistakes — where it disagrees with the rule — are at most
# one or two in a thousand reviews (two in the quick run's 600 at worst).
#
# ## 7. Why the test set is read once: choosing by test score leaks the test set
#
# The seed document's workflow ends with "evaluate on the test set, then keep optimizing".
# The moment a test score guides a choice — another learning rate, another epoch, another
# architecture — the test set has become a validation set, and its score stops being an
# honest estimate. Why: a model's accuracy on $n$ test reviews is its true accuracy $a$
# plus a chance error of standard deviation $\mathrm{SE} = \sqrt{a(1-a)/n}$. Score $N$
# candidates that are truly about equally good and keep the highest: you keep the one
# whose chance error happened to be largest. For $N$ independent candidates,
#
# $$\mathbb{E}\Big[\max_{k \le N} \widehat{a}_k\Big] \approx a + \mathrm{SE} \cdot
#   \mathbb{E}\Big[\max_{k \le N} Z_k\Big], \qquad Z_k \sim \mathcal N(0, 1),$$
#
# and $\mathbb{E}[\max Z_k] \approx 1.87$ for $N = 20$: the winner's test score is inflated
# by nearly two standard errors, and nothing about it will carry over to new data.
#
# Two measurements, each on the test reviews pooled with as many **fresh** ones from the
# same source: we repeat the choice on 500 random halvings of the pool — choose on one half,
# measure the chosen candidate on the other — and average, so that the luck of one split
# does not decide.
#
# - **Twenty bag-of-words models, equally good by construction.** The bag of words is right
#   like the rule on one-clause reviews and a coin on "A but B" reviews. Twenty copies that
#   keep its one-clause predictions and toss *their own* coin on each "A but B" review are
#   twenty equally good models with independent errors — what twenty training runs with
#   different seeds would roughly give. The formula above predicts their inflation; each of
#   the 500 repetitions draws twenty new copies, so we measure its expectation.
# - **Twenty jittered LSTMs**: the trained LSTM with its weights jittered by noise (20% of
#   each weight array's spread).

# %%
fresh = synthetic_sentiment(n, seed=args.seed + 1000)  # new reviews from the same source
pool = {"texts": list(test.texts) + list(fresh.texts), "labels": np.concatenate([labels, fresh.labels])}
pool_two = np.array([len(t.split()) > 6 for t in pool["texts"]])
rng = np.random.default_rng(args.seed)
n_candidates, n_halvings = 20, 500
bow_pool = np.concatenate([predicted["bag of words"], (predict(models["bag of words"], fresh) > 0.5).astype(int)])


def bow_copies() -> np.ndarray:
    """(candidate, review): right or wrong, for new bag-of-words copies with their own coins on "A but B" reviews."""
    return np.where(pool_two, rng.integers(0, 2, (n_candidates, 2 * n)), bow_pool) == pool["labels"]


lstm = models["LSTM"]
base = {k: v.numpy().copy() for k, v in lstm.state_dict().items()}
rows = []
for _ in range(n_candidates):
    lstm.load_state_dict({k: v + 0.2 * v.std() * rng.standard_normal(v.shape) if v.dtype.kind == "f" else v
                          for k, v in base.items()})  # fmt: skip
    rows.append(np.concatenate([(predict(lstm, r) > 0.5) == r.labels for r in (test, fresh)]))
lstm.load_state_dict(base)
lstm_copies = np.array(rows)
xs = np.linspace(-8, 8, 4001)  # E[max of N standard normals] = integral of x N phi(x) Phi(x)^(N-1)
phi, cdf = np.exp(-(xs**2) / 2) / math.sqrt(2 * math.pi), 0.5 * (1 + np.vectorize(math.erf)(xs / math.sqrt(2)))
expected_max = float(np.sum(xs * n_candidates * phi * cdf ** (n_candidates - 1)) * (xs[1] - xs[0]))
leak = {}
for name in ("bag of words", "LSTM"):
    chosen_gap, no_choice_gap, coin_sd, accuracy = [], [], [], []
    for _ in range(n_halvings):  # for the bag of words, each repetition is a new experiment: twenty new copies
        right = (bow_copies() if name == "bag of words" else lstm_copies).astype(float)
        half = rng.permutation(2 * n)
        choose_on, measure_on = half[:n], half[n:]
        best_k = int(np.argmax(right[:, choose_on].mean(axis=1)))
        chosen_gap.append(right[best_k, choose_on].mean() - right[best_k, measure_on].mean())
        no_choice_gap.append(right[:, choose_on].mean() - right[:, measure_on].mean())
        coin_sd.append(0.5 * math.sqrt(pool_two[choose_on].sum()) / n)  # the SD of the coins' share of n reviews
        accuracy.append(right.mean())
    a = float(np.mean(accuracy))
    leak[name] = {"se": math.sqrt(a * (1 - a) / n), "chosen": float(np.mean(chosen_gap)),
                  "no choice": float(np.mean(no_choice_gap)), "formula": expected_max * float(np.mean(coin_sd))}
    print(f"{name:>12}: {n_candidates} candidates, accuracy {a:.3f}. Over {n_halvings} halvings the chosen one's "
          f"score is inflated by {leak[name]['chosen']:+.4f} on average ({leak[name]['chosen'] / leak[name]['se']:.2f} "
          f"SE); with no choice, {leak[name]['no choice']:+.4f}")  # fmt: skip
print(f"formula for the independent bag-of-words copies: E[max of {n_candidates} normals] = {expected_max:.3f}, "
      f"times the SD of their accuracy {leak['bag of words']['formula'] / expected_max:.4f} "
      f"= {leak['bag of words']['formula']:.4f}")  # fmt: skip

# %% [markdown]
# For the twenty equally good bag-of-words models, the one chosen by its test score owes
# more than a standard error of that score to luck — as much as the formula predicts — while
# the average over all of them, with no choice made, shows no gap. For the LSTM the
# inflation is nearly nil, and that is telling too: every good copy makes the *same* errors
# (the flipped labels), so there is no luck to select. Inflation is largest exactly where it
# hurts — among candidates that differ on hard cases, which is what tuning compares. The
# remedy is the one this lesson follows: make every choice on validation, read the test set
# once at the end, and if you must choose again, collect a new test set.
#
# ## 8. A language model's test loss against the floor
#
# For a language model the test number is the mean cross-entropy per character on
# held-out text — in nats, or in bits (÷ ln 2: the average code length of a compressor
# built from the model). Text from a Markov source has a floor no model can beat on
# average: its entropy rate h. We train a small character-level LSTM language model
# (`LSTMLanguageModel`: embedding, LSTM, a linear layer over the characters) on the first
# 80% of such a text, stop early on the next 10%, and evaluate it once on the last 10%,
# read as 64 long streams (`sequential_lm_batches`) so that every prediction but the first few of
# each stream has its whole past. Two references: a **unigram** model (the character
# frequencies of the training text, no context) and **the source itself** — its true
# probabilities scored on the same test text: the best possible model, on this text. (This
# source uses its 8 characters about equally often: what it lets us predict lies in the
# context, which the unigram ignores.)

# %%
source = markov_text(order=2, alphabet="abcdefgh", n_chars=200_000 if quick else 300_000, seed=args.seed,
                     concentration=0.3)  # fmt: skip
chars = CharTokenizer.fit([source.text])
ids = np.asarray(chars.encode(source.text), dtype=np.int64)
train_ids, val_ids, test_ids = split_tokens(ids, (0.8, 0.1, 0.1))
lm = LSTMLanguageModel(chars.vocab_size, 16, 64)
steps = 300 if quick else 2000
adam = tl.optim.Adam(lm.parameters(), lr=2e-2)
cosine = tl.optim.lr_scheduler.CosineAnnealingLR(adam, T_max=steps)
val_streams = list(sequential_lm_batches(val_ids, (len(val_ids) - 1) // 64, 64))  # one batch of 64 rows
tl.train.fit(lm, adam, lm_batches(train_ids, 16, 64, seed=args.seed), steps=steps, step_fn=tl.train.lm_step,
             val_loader=val_streams, eval_every=steps // 10, patience=3, metrics=(), clip_grad_norm=1.0,
             scheduler=cosine, progress=False)  # fmt: skip
test_streams = list(sequential_lm_batches(test_ids, (len(test_ids) - 1) // 64, 64))
lm_test = tl.train.evaluate(lm, test_streams, tl.train.lm_step, ("perplexity",))  # the one look at test

counts = np.bincount(train_ids, minlength=chars.vocab_size) + 1.0
unigram = float(-np.log(counts / counts.sum())[test_ids[1:]].mean())
x = np.array([source.alphabet.index(c) for c in chars.decode(test_ids.tolist())])
context = x[:-2] * len(source.alphabet) + x[1:-1]  # the two characters before each one
source_on_test = float(-np.log(source.transition[context, x[2:]]).mean())
floor = source.entropy_rate
losses = {"uniform": math.log(chars.vocab_size), "unigram": unigram, "LSTM": lm_test["loss"],
          "the source itself": source_on_test, "entropy rate h": floor}  # fmt: skip
for name, value in losses.items():
    print(f"{name:>18}: {value:.4f} nats/char = {metrics.bits_per_char(value):.4f} bits/char")
print(f"LSTM test perplexity {lm_test['perplexity']:.2f}: as unsure as a uniform choice among that many")

fig, ax = plot.figure(width=7.5, height=4.2)
colors = ["0.75", "tab:red", plot.COLORS["train"], plot.COLORS["floor"], plot.COLORS["floor"]]
ticks = [f"uniform\n(ln {chars.vocab_size})", "unigram\n(no context)", "character\nLSTM",
         "the source's own\nprobabilities", "entropy rate h\n(the floor)"]  # fmt: skip
bars = ax.bar(ticks, list(losses.values()), color=colors, hatch=[""] * 4 + ["//"])
ax.bar_label(bars, [f"{v:.3f}\n{metrics.bits_per_char(v):.3f} bits" for v in losses.values()], padding=2)
ax.set_ylim(0, 2.6)
ax.axhline(floor, color=plot.COLORS["floor"], ls="--", lw=1, label=f"floor h = {floor:.3f} nats/char")
ax.set_ylabel("test cross-entropy (nats per character)")
ax.set_title(f"Test loss on {len(test_ids):,} held-out characters of an order-2 Markov source")
ax.legend(loc="upper right")
print("saved", plot.save(fig, args.out, "lm_floor"))

# %% [markdown]
# ## Conclusion
#
# Read once, after every choice was made on validation, the test set says: the LSTM sits
# at the Bayes accuracy within the test set's own uncertainty, the bag of words at its
# limit — right on one-clause reviews, a coin on "A but B" — and nearly all of the LSTM's
# errors (at least 98%; 95% in quick runs) are flipped labels that no model should predict.
# A single accuracy hides that; the breakdown by kind of review shows it. Choosing among
# models by their test score would have made that score optimistic — most for models that
# differ on the hard cases.
# The language model's test loss lies just above the source's own score on the same text —
# the floor — and far below the unigram's: there is almost nothing left to learn.

# %%
assert acc["LSTM"] > acc["bag of words"] + 0.2, acc
assert acc["LSTM"] > acc["Bayes rule"] - (0.04 if quick else 0.02), acc
assert acc["LSTM"] > bayes - 3 * se["LSTM"] - 0.02, (acc, se)
assert abs(acc["Bayes rule"] - bayes) < 3 * se["Bayes rule"], acc
assert acc["bag of words"] < bow_limit + 3 * se["bag of words"], (acc, bow_limit)
assert f1["LSTM"] > f1["bag of words"] + 0.2, f1
assert by_kind["bag of words"][1] < 0.6 and by_kind["bag of words"][0] > 0.75, by_kind
# quick (600 test reviews), seeds 0-10: all errors flipped labels but for seed 2 (59 of 60) and seed 3 (55 of 57)
share, own_at_most = (0.95, 0.004) if quick else (0.98, 0.002)
assert flipped[confident[:4]].all() and flipped[wrong].mean() >= share, flipped[wrong].mean()
assert len(own) <= own_at_most * n, len(own)
bow_leak = leak["bag of words"]
assert bow_leak["chosen"] > bow_leak["se"] and abs(bow_leak["chosen"] / bow_leak["formula"] - 1) < 0.15, leak
assert abs(bow_leak["no choice"]) < 0.1 * bow_leak["se"], leak  # the choice inflates, not the halving
assert leak["LSTM"]["chosen"] < 0.25 * leak["LSTM"]["se"], leak  # equal errors leave no luck to select
assert source_on_test - 0.01 < lm_test["loss"] < source_on_test + (0.06 if quick else 0.03), losses
assert floor - 0.05 < lm_test["loss"] < unigram - 0.5, losses
print("lesson 07: on the test set, once: LSTM at the Bayes accuracy, bag of words at its limit, "
      "the language model just above the entropy floor")

# %% [markdown]
# ## Exercises
#
# 1. *Predict, then run.* In section 7, try 100 jittered copies of the bag of words instead
#    of 20. Will the average inflation of the chosen copy's score grow, shrink or stay? By
#    roughly what factor, if the copies were independent (use the formula)?
# 2. *Predict, then run.* Jitter the LSTM by 1.0 instead of 0.2: its copies now differ a lot
#    (some are much worse). Will choosing among them by test score inflate the winner's score
#    as much as for the bag of words? Why or why not?
# 3. *Derivation.* A model's accuracy on $n$ test reviews is the mean of $n$ independent
#    Bernoulli($a$) variables. Derive $\mathrm{SE} = \sqrt{a(1-a)/n}$, and compute how many
#    test reviews are needed to tell a 0.90 model from a 0.89 one at ±1.96 SE. Then show
#    that for two independent standard normals $\mathbb{E}[\max(Z_1, Z_2)] = 1/\sqrt{\pi}$.
# 4. *Predict, then run.* Train the LSTM for at most 2 epochs instead of 6 (quick run: 8).
#    Predict the share of its errors that are flipped labels, and which kind of review
#    ("A but B" or one clause) loses accuracy first.
