# %% [markdown]
# # Lesson 1 — Choosing the objective: cross-entropy
#
# The seed document's first step of optimization is to choose what to optimize. For a
# language model, and for any classifier, the answer is the **cross-entropy**
#
# $$L = -\sum_c t_c \log p_c, \qquad p = \mathrm{softmax}(z),$$
#
# where $z$ are the model's scores (logits) for the $C$ classes and $t$ is the target
# distribution (one-hot for a class label). This lesson shows why: it is maximum
# likelihood, it starts at a known value, its gradient is as simple as a gradient can be,
# and unlike the squared error it keeps pushing when the model is confidently wrong.
#
# Run: `python lessons/01_objective.py [--quick] [--seed N] [--out DIR]`.

# %%
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, metrics, plot
from tinyllm.models import GPT, GPTConfig

F = tl.nn.functional
args = lessons.options("01_objective")
rng = np.random.default_rng(args.seed)

# %% [markdown]
# ## 1. Cross-entropy is maximum likelihood
#
# A model assigns probability $p_{n, y_n}$ to the true class of example $n$. The
# likelihood of all $N$ labels is the product $\prod_n p_{n, y_n}$; its negative log,
# divided by $N$, is exactly the mean cross-entropy with one-hot targets. Minimizing one
# is maximizing the other.

# %%
N, C = 6, 4
logits = tl.tensor(rng.standard_normal((N, C)), dtype=tl.float64)
labels = rng.integers(0, C, N)
p = F.softmax(logits, dim=1).numpy()
neg_log_likelihood = -np.log(np.prod(p[np.arange(N), labels])) / N
ce = F.cross_entropy(logits, tl.tensor(labels)).item()
print(f"-log(likelihood) / N = {neg_log_likelihood:.12f}")
print(f"mean cross-entropy   = {ce:.12f}")

# %% [markdown]
# ## 2. An untrained model starts at ln C
#
# Before training, a well-initialized model has no preference: $p_c \approx 1/C$ for every
# class, so $L \approx -\log(1/C) = \ln C$. A first loss far from $\ln C$ means a bug or a
# bad initialization — the first thing to check when training starts. Here: untrained GPT
# models (weights drawn from N(0, 0.02), as GPT-2 does) over vocabularies of several sizes.

# %%
sizes = [2, 5, 10, 65, 200] if args.quick else [2, 3, 5, 10, 20, 65, 100, 200, 500]
initial = []
for V in sizes:
    tl.manual_seed(args.seed)
    model = GPT(GPTConfig(vocab_size=V, block_size=16, n_layer=1, n_head=2, n_embd=16))
    idx = tl.tensor(rng.integers(0, V, (8, 16)))
    targets = tl.tensor(rng.integers(0, V, (8, 16)))
    with tl.no_grad():
        initial.append(model(idx, targets)[1].item())
    print(f"vocabulary {V:>4}: initial loss {initial[-1]:.4f}   ln V = {math.log(V):.4f}")

fig, ax = plot.figure()
ax.plot([math.log(v) for v in sizes], initial, "o", color=plot.COLORS["train"], label="untrained GPT")
line = np.linspace(0, math.log(max(sizes)) * 1.05, 2)
ax.plot(line, line, "--", color=plot.COLORS["floor"], label="loss = ln C")
for v, loss in zip(sizes, initial):
    ax.annotate(f"C={v}", (math.log(v), loss), textcoords="offset points", xytext=(5, -12), fontsize=9)
ax.set_xlabel("ln C (C = number of classes)")
ax.set_ylabel("initial cross-entropy (nats)")
ax.set_title("Before training, the loss is ln C")
ax.legend()
print("saved", plot.save(fig, args.out, "initial_loss"))

# %% [markdown]
# ## 3. The gradient of softmax + cross-entropy is p − t
#
# The result first: $\partial L / \partial z_k = p_k - t_k$, the prediction minus the
# target — no exponentials, no divisions, nothing that can blow up. Now the derivation,
# in three steps.
#
# **Step 1: the softmax Jacobian.** Write $p_i = e^{z_i} / S$ with $S = \sum_j e^{z_j}$,
# so $\partial S / \partial z_k = e^{z_k}$. By the quotient rule,
#
# $$\frac{\partial p_i}{\partial z_k}
#   = \frac{\delta_{ik}\, e^{z_i}\, S - e^{z_i}\, e^{z_k}}{S^2}
#   = p_i\,\delta_{ik} - p_i\, p_k
#   = p_i\,(\delta_{ik} - p_k),$$
#
# where $\delta_{ik}$ is 1 if $i = k$ and 0 otherwise. As a matrix:
# $J = \operatorname{diag}(p) - p\,p^\top$.
#
# **Step 2: the chain rule through the logarithm.** $L = -\sum_i t_i \log p_i$ depends
# on $z_k$ through every $p_i$, and $\partial \log p_i / \partial p_i = 1 / p_i$:
#
# $$\frac{\partial L}{\partial z_k}
#   = -\sum_i \frac{t_i}{p_i}\, \frac{\partial p_i}{\partial z_k}
#   = -\sum_i \frac{t_i}{p_i}\, p_i\,(\delta_{ik} - p_k)
#   = -\sum_i t_i\,\delta_{ik} + p_k \sum_i t_i
#   = -t_k + p_k \sum_i t_i .$$
#
# The $1/p_i$ of the logarithm cancels the $p_i$ of the softmax: that is why the result
# has no division, even where $p_i$ is tiny.
#
# **Step 3: the target is a distribution.** $t$ sums to 1 (a one-hot $t = e_y$ has a
# single 1 at the true class $y$), so $\sum_i t_i = 1$ and
#
# $$\frac{\partial L}{\partial z_k} = p_k - t_k, \qquad
#   \nabla_z L = p - e_y \text{ for a label } y .$$
#
# The true class's logit is pushed up by $1 - p_y$, every other logit down by its own
# probability. Autograd, a numerical check, the Jacobian of step 1 and the formula all agree:

# %%
z = tl.tensor(rng.standard_normal((5, 7)), dtype=tl.float64, requires_grad=True)
y = rng.integers(0, 7, 5)
F.cross_entropy(z, tl.tensor(y), reduction="sum").backward()
t = np.eye(7)[y]
formula = F.softmax(z.detach(), dim=1).numpy() - t
gap = np.abs(z.grad.numpy() - formula).max()
print(f"max |autograd - (p - t)| = {gap:.2e}")
check = tl.gradcheck(lambda z: F.cross_entropy(z, tl.tensor(y), reduction="sum"), [z.detach().requires_grad_()],
                     names=["logits"], raise_on_fail=False)  # fmt: skip
print(check)
# Step 1 on its own: the Jacobian of softmax, one row of autograd per output p_i, against diag(p) - p p^T.
z_row = tl.tensor(rng.standard_normal(7), dtype=tl.float64, requires_grad=True)
jacobian = np.zeros((7, 7))
for i in range(7):
    z_row.grad = None
    F.softmax(z_row, dim=0)[i].backward()
    jacobian[i] = z_row.grad.numpy()
p_row = F.softmax(z_row.detach(), dim=0).numpy()
jacobian_gap = np.abs(jacobian - (np.diag(p_row) - np.outer(p_row, p_row))).max()
print(f"max |autograd Jacobian - (diag(p) - p p^T)| = {jacobian_gap:.2e}")

# %% [markdown]
# ## 4. Why not the squared error?
#
# Take one example of class 1 in a two-class problem, with logit $z$ and $p = \sigma(z)$.
# The squared error $(p - 1)^2$ has gradient $2(p - 1)\,p(1 - p)$: the factor
# $p(1 - p)$ — the sigmoid's slope — goes to zero when the model is *confidently wrong*
# ($z \ll 0$, $p \approx 0$). The model barely learns from its worst mistakes. The
# cross-entropy $-\log p$ has gradient $p - 1 \to -1$ there: the full push.

# %%
zs = np.linspace(-10, 10, 401)
z_t = tl.tensor(zs, dtype=tl.float64, requires_grad=True)
F.binary_cross_entropy_with_logits(z_t, tl.ones(401, dtype=tl.float64), reduction="sum").backward()
ce_grad = np.abs(z_t.grad.numpy())
z_m = tl.tensor(zs, dtype=tl.float64, requires_grad=True)
((z_m.sigmoid() - 1) ** 2).sum().backward()
mse_grad = np.abs(z_m.grad.numpy())

fig, ax = plot.figure()
ax.semilogy(zs, ce_grad, color=plot.COLORS["train"], label="cross-entropy:  |p − 1|")
ax.semilogy(zs, mse_grad, color=plot.COLORS["val"], label="squared error:  |2(p − 1) p (1 − p)|")
ax.axvspan(-10, -3, color="tab:red", alpha=0.08, label="confidently wrong")
ax.set_xlabel("logit z of the true class")
ax.set_ylabel("|dL/dz| (log scale)")
ax.set_title("The squared error stops pushing when the model is confidently wrong")
ax.legend(loc="lower left")
print("saved", plot.save(fig, args.out, "gradient_saturation"))
at = int(np.argmin(np.abs(zs + 6)))
print(f"at z = -6: cross-entropy gradient {ce_grad[at]:.3f}, squared-error gradient {mse_grad[at]:.5f}")

# %% [markdown]
# ## 5. Loss, perplexity and bits per character
#
# The same number, three ways. A mean cross-entropy $L$ in nats is a **perplexity** of
# $e^L$ — the model is as unsure as a uniform choice among that many tokens — and
# $L / \ln 2$ **bits per character** for a character model: the average length of a code
# built from its predictions.
#
# Perplexity makes section 2's rule easy to remember: an untrained model is as unsure as
# a uniform choice among all $C$ tokens, so **its perplexity is the vocabulary size**.
# The untrained GPTs above, measured:

# %%
print(f"{'loss (nats)':>12} {'perplexity':>11} {'bits/char':>10}")
for loss in [math.log(65), 2.0, 1.5, 1.0]:
    print(f"{loss:>12.3f} {metrics.perplexity(loss):>11.2f} {metrics.bits_per_char(loss):>10.3f}")
untrained_perplexity = [metrics.perplexity(loss) for loss in initial]
for V, ppl in zip(sizes, untrained_perplexity):
    print(f"untrained GPT, vocabulary {V:>4}: perplexity {ppl:7.2f}  ({ppl / V:.3f} × the vocabulary size)")

# %% [markdown]
# ## Conclusion
#
# Cross-entropy is the negative log-likelihood of the labels; an untrained model starts
# at ln C (a perplexity equal to the vocabulary size); its gradient with respect to the
# logits is p − t, exact, because the logarithm's 1/p cancels the softmax's p; and it
# keeps a strong gradient exactly where the squared error loses it.

# %%
assert abs(neg_log_likelihood - ce) < 1e-12
for V, loss in zip(sizes, initial):
    assert abs(loss - math.log(V)) < 0.05 * max(1.0, math.log(V)), (V, loss)
assert gap < 1e-12 and check.passed and jacobian_gap < 1e-12
assert ce_grad[at] > 100 * mse_grad[at]
for V, ppl in zip(sizes, untrained_perplexity):
    assert abs(ppl / V - 1) < 0.1, f"an untrained model's perplexity is its vocabulary size: {V}, {ppl:.2f}"
print("lesson 01: cross-entropy = max likelihood; starts at ln C (perplexity V); gradient p - t; no saturation")

# %% [markdown]
# ## Exercises
#
# 1. **Predict, then run.** In section 2, right after building each model, add
#    `model.wte.weight.data *= 50`, so the embedding table (which the output layer
#    shares) is drawn from N(0, 1) instead of N(0, 0.02). Before running: will the initial
#    loss still be close to ln C, above it, or below it? Why can it not be below by much?
# 2. **Predict, then run.** Section 4 prints the two gradients at $z = -6$. From the
#    formulas alone, predict the ratio of the cross-entropy gradient to the squared-error
#    gradient at $z = -10$; then change `zs + 6` to `zs + 10` and check.
# 3. **Code change.** Section 3 sums the loss over the batch (`reduction="sum"`). Switch to
#    the default, the mean over the $N$ examples. The check `gap < 1e-12` now fails: by how
#    much, and what is the gradient instead? Fix the `formula` line so the check passes.
# 4. **Derivation.** *Label smoothing* trains on the target
#    $t = (1 - \varepsilon)\, e_y + \varepsilon / C$ instead of the one-hot $e_y$.
#    (a) Go through steps 2 and 3 of section 3 again: is the gradient still $p - t$?
#    Which property of $t$ does the derivation need? (b) With one-hot targets the loss
#    has no minimum at finite logits; with smoothing it does. Find $p$ at the minimum,
#    the minimal loss, and the gap $z_y - z_k$ between the true class's logit and any
#    other, for $C = 7$, $\varepsilon = 0.1$. (c) Check (a) numerically with
#    `-(tl.tensor(t) * F.log_softmax(z, dim=1)).sum()` and autograd.
