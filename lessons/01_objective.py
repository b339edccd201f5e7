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
# Differentiate $L = -\sum_c t_c \log \mathrm{softmax}(z)_c$ with respect to $z_k$:
# $\partial L / \partial z_k = p_k - t_k$. The prediction minus the target — no
# exponentials, no divisions, nothing that can blow up. Autograd, a numerical check and
# the formula all agree:

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

# %%
print(f"{'loss (nats)':>12} {'perplexity':>11} {'bits/char':>10}")
for loss in [math.log(65), 2.0, 1.5, 1.0]:
    print(f"{loss:>12.3f} {metrics.perplexity(loss):>11.2f} {metrics.bits_per_char(loss):>10.3f}")

# %% [markdown]
# ## Conclusion
#
# Cross-entropy is the negative log-likelihood of the labels; an untrained model starts
# at ln C; its gradient with respect to the logits is p − t, exact; and it keeps a strong
# gradient exactly where the squared error loses it.

# %%
assert abs(neg_log_likelihood - ce) < 1e-12
for V, loss in zip(sizes, initial):
    assert abs(loss - math.log(V)) < 0.05 * max(1.0, math.log(V)), (V, loss)
assert gap < 1e-12 and check.passed
assert ce_grad[at] > 100 * mse_grad[at]
assert abs(metrics.perplexity(math.log(65)) - 65) < 1e-9
print("lesson 01: cross-entropy = max likelihood; starts at ln C; gradient p - t; no saturation")
