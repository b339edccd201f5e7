# %% [markdown]
# # Lesson 9 — Self-attention from scratch
#
# An LSTM (lesson 8) carries everything it has read in one state vector, updated word by
# word. Self-attention does something else: at every position it **looks back at all the
# earlier positions at once** and takes a weighted average of what they hold, with
# weights it computes from the data. It is the layer at the heart of the GPT of the next
# lesson. This lesson builds it by hand from tinyllm tensors — one head, then several,
# then the block GPT wraps around it — derives its backward pass, checks both against
# the library's `tl.nn.MultiheadSelfAttention`, and trains it on a task that no model
# without attention can learn, then reads the pattern it learned.
#
# Run: `python lessons/09_attention.py [--quick] [--seed N] [--out DIR]`.

# %%
import math
import time

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.models import GPT, GPTConfig

F = tl.nn.functional
args = lessons.options("09_attention")
quick = args.quick
started = time.perf_counter()

# %% [markdown]
# ## 1. One head, by hand
#
# A sequence of T tokens arrives as T vectors of E numbers, the rows of $X$ (T × E).
# Three linear maps turn each row into three vectors of d numbers:
#
# - a **query** $q_t = W_Q x_t$: what position t is looking for;
# - a **key** $k_j = W_K x_j$: what position j offers to be found by;
# - a **value** $v_j = W_V x_j$: what position j hands over when it is found.
#
# Stacked as rows: $Q = X W_Q^\top$, $K = X W_K^\top$, $V = X W_V^\top$ (each T × d).
# The **score** of query i on key j is their dot product, scaled: $S = QK^\top/\sqrt{d}$
# (T × T). A softmax over each row turns scores into **attention weights**, positive and
# summing to 1 over the keys: $P_{ij} = e^{S_{ij}} / \sum_{j'} e^{S_{ij'}}$. The output at
# position i is the weighted average of the values: $O = PV$ (T × d). In one line,
#
# $$O = \operatorname{softmax}\!\left(\frac{QK^\top}{\sqrt d} + M\right) V,$$
#
# where the **causal mask** $M$ holds 0 on and below the diagonal and $-\infty$ above it:
# $e^{-\infty} = 0$, so position i gives weight 0 to every later position j > i. Why: a
# language model is trained to predict token i + 1 at every position i in parallel, and
# token i + 1 is the *input* at position i + 1. If position i could attend to it, the
# model would copy the answer instead of learning to predict it — and at generation
# time, when the future does not exist yet, it would fail.

# %%
T, E, d = 6, 8, 4
x = tl.randn(T, E)
W_Q, W_K, W_V = (tl.randn(d, E) / math.sqrt(E) for _ in range(3))  # unit-variance q, k, v entries


def one_head(x: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
    """x (T, E) -> the output O (T, d) and the weights P (T, T) of one causal head."""
    Q, K, V = x @ W_Q.T, x @ W_K.T, x @ W_V.T  # (T, d) each
    S = Q @ K.T / math.sqrt(d)  # (T, T): S[i, j] = q_i . k_j / sqrt(d)
    future = tl.triu(tl.ones(T, T), diagonal=1) > 0  # True above the diagonal: j > i
    S = S.masked_fill(future, -math.inf)
    P = S.softmax(dim=-1)  # over the keys j, row by row
    return P @ V, P


out_head, P = one_head(x)
np.set_printoptions(precision=3, suppress=True)
print("attention weights P (row i: how much position i takes from each position j):")
print(P.numpy())
print("row sums:", P.sum(dim=-1).numpy())

# Changing the last two tokens must leave the first four outputs exactly as they were.
changed = x.numpy().copy()
changed[4:] += 1.0
out_changed, _ = one_head(tl.tensor(changed))
future_leak = float(np.abs(out_changed.numpy()[:4] - out_head.numpy()[:4]).max())
print(f"largest change of outputs 0-3 after changing inputs 4-5: {future_leak:.1e}")

# %% [markdown]
# Row 0 puts all its weight on position 0 — the only position it may see — and row t
# spreads its weight over positions 0..t. Every row sums to 1, everything above the
# diagonal is exactly 0, and changing the last two tokens leaves the first four outputs
# unchanged to the last bit.
#
# ### Why divide by $\sqrt d$?
#
# Take a query and a key whose d entries are independent, with mean 0 and variance 1 (what
# a good initialization and the layer norm of section 2 aim for). Their dot product
# $q \cdot k = \sum_{i=1}^{d} q_i k_i$ is a sum of d independent terms, each of mean
# $E[q_i]E[k_i] = 0$ and variance $E[q_i^2 k_i^2] = E[q_i^2]\,E[k_i^2] = 1$. Variances of
# independent terms add:
#
# $$\operatorname{Var}(q \cdot k) = \sum_{i=1}^{d} \operatorname{Var}(q_i k_i) = d,
# \qquad \operatorname{Var}\!\left(\frac{q \cdot k}{\sqrt d}\right) = \frac{d}{d} = 1.$$
#
# So unscaled scores have a standard deviation of $\sqrt d$ — 16 for a head of d = 256 —
# and a softmax of numbers that far apart is nearly one-hot: the largest score takes
# almost all the weight. A nearly one-hot softmax is **saturated**: its Jacobian
# $\partial P_j / \partial S_l = P_j(\delta_{jl} - P_l)$ is close to 0 in every entry (the
# winning key has $P_j (1 - P_j) \approx 1 \cdot 0$, every other key $P_j \approx 0$), so
# almost no gradient flows back to the queries and keys, and the head cannot learn where
# to look. Dividing by $\sqrt d$ keeps the scores' variance at 1 whatever the head size.
# We measure all three claims.

# %%
ds = [1, 4, 16, 64, 256, 1024]
# Large d needs fewer pairs for the same relative precision (the spread of a sample variance is about
# sqrt(2 / n) of it for large d, sqrt(8 / n) for d = 1); quick mode saves the time of drawing them.
n_pairs = {dim: 40_000 if dim <= 16 or not quick else 10_000 for dim in ds}
n_keys, n_rows = 16, 500 if quick else 2000
variance, variance_scaled, top_weight, grad_norm = {}, {}, {}, {}
for dim in ds:
    q, k = tl.randn(n_pairs[dim], dim), tl.randn(n_pairs[dim], dim)
    dots = (q * k).sum(dim=-1)  # n_pairs dot products of two d-dim unit-variance vectors
    variance[dim] = dots.var().item()
    variance_scaled[dim] = (dots / math.sqrt(dim)).var().item()
    # One query against 16 keys, n_rows times: the weights, and the gradient that reaches the
    # scores from an arbitrary upstream gradient G (what a loss would send back), row by row.
    q, k = tl.randn(n_rows, 1, dim), tl.randn(n_rows, n_keys, dim)
    G = tl.randn(n_rows, n_keys)
    for scaled in (False, True):
        S = ((q * k).sum(dim=-1) / (math.sqrt(dim) if scaled else 1.0)).detach().requires_grad_()
        P_rows = S.softmax(dim=-1)
        (P_rows * G).sum().backward()
        top_weight[dim, scaled] = P_rows.max(dim=-1).values.mean().item()
        grad_norm[dim, scaled] = float(np.median(S.grad.norm(dim=-1).numpy()))
print(f"{'d':>5} {'Var(q.k)':>9} {'/ d':>6} | largest of 16 weights: "
      f"{'unscaled':>8} {'scaled':>7} | median |dS|: {'unscaled':>9} {'scaled':>7}")  # fmt: skip
for dim in ds:
    print(f"{dim:>5} {variance[dim]:>9.1f} {variance[dim] / dim:>6.3f} | "
          f"{'':>22}{top_weight[dim, False]:>8.3f} {top_weight[dim, True]:>7.3f} | "
          f"{'':>13}{grad_norm[dim, False]:>9.2e} {grad_norm[dim, True]:>7.3f}")  # fmt: skip

fig, (ax_var, ax_top, ax_grad) = plot.figure(ncols=3, width=4.3, height=3.8)
ax_var.loglog(ds, [variance[m] for m in ds], "o-", color="tab:red", label=r"$q\cdot k$ (unscaled)")
ax_var.loglog(ds, [variance_scaled[m] for m in ds], "o-", color="tab:blue", label=r"$q\cdot k/\sqrt{d}$")
ax_var.loglog(ds, ds, ":", color="0.5", label="the line Var = d")
ax_var.set_xlabel("head size d")
ax_var.set_ylabel("variance of the score")
ax_var.set_title(f"Var(q·k) = d\n({min(n_pairs.values()):,} to {max(n_pairs.values()):,} random pairs per d)"
                 if quick else f"Var(q·k) = d\n({n_pairs[1]:,} random pairs per d)")  # fmt: skip
ax_var.legend(fontsize=9)
for scaled, color, label in ((False, "tab:red", "unscaled"), (True, "tab:blue", r"scaled by $1/\sqrt{d}$")):
    ax_top.semilogx(ds, [top_weight[m, scaled] for m in ds], "o-", color=color, label=label)
    ax_grad.loglog(ds, [grad_norm[m, scaled] for m in ds], "o-", color=color, label=label)
ax_top.axhline(1 / n_keys, color="0.5", ls=":", label=f"uniform 1/{n_keys}")
ax_top.set_ylim(0, 1.05)
ax_top.set_xlabel("head size d")
ax_top.set_ylabel("largest weight in the row (mean)")
ax_top.set_title(f"Unscaled softmax saturates\n(one query, {n_keys} keys)")
ax_top.legend(fontsize=9)
ax_grad.set_xlabel("head size d")
ax_grad.set_ylabel(r"median $\|dS\|$ (gradient at the scores)")
ax_grad.set_title("…and passes back no gradient")
ax_grad.legend(fontsize=9)
fig.suptitle("Why attention divides the scores by √d")
print("saved", plot.save(fig, args.out, "scaling"))

# %% [markdown]
# The measured variance of $q \cdot k$ sits on the line Var = d, and the scaled scores'
# variance stays at 1. Unscaled, the largest of 16 weights grows with d towards 1 (one
# key takes everything), and the gradient reaching the scores of a typical (median) row
# falls by orders of magnitude — about $10^{-5}$ of the scaled one at d = 1024; scaled,
# both stay where they are for every d.

# %% [markdown]
# ## 2. Several heads, and the block around them
#
# One head computes one pattern of weights: each position can look for one thing. **Multi-head
# attention** runs h heads side by side, each on its own slice: with $D = E/h$, the
# projections give Q, K, V of E numbers per position (one matrix $W_{in}$ of shape 3E × E
# computes all three at once), each is cut into h pieces of D numbers, every head attends
# in its own D-dimensional space (scaled by $1/\sqrt D$), the h outputs are concatenated
# back into E numbers per position, and an **output projection** $W_{out}$ (E × E) mixes
# what the heads found. The parameters are as many as for one head of size E; the heads
# only split the work.
#
# Below, the whole computation as a function of tinyllm tensors: `mask` is the (T, T)
# "may attend" table (the causal one by default), and `dropout` drops attention weights
# during training (below).

# %%


def attention(x: tl.Tensor, w_in: tl.Tensor, b_in: tl.Tensor, w_out: tl.Tensor, b_out: tl.Tensor, heads: int,
              mask: tl.Tensor | None = None, dropout: float = 0.0,
              training: bool = False) -> tuple[tl.Tensor, tl.Tensor]:  # fmt: skip
    """Multi-head self-attention of x (B, T, E) -> output (B, T, E) and weights (B, heads, T, T)."""
    B, T, E = x.shape
    D = E // heads
    q, k, v = (x @ w_in.T + b_in).split(E, dim=-1)  # (B, T, E) each
    q, k, v = (t.reshape(B, T, heads, D).transpose(1, 2) for t in (q, k, v))  # (B, heads, T, D)
    may_attend = tl.tril(tl.ones(T, T)) > 0 if mask is None else mask
    scores = (q @ k.transpose(-2, -1) / math.sqrt(D)).masked_fill(~may_attend, -math.inf)  # (B, heads, T, T)
    weights = scores.softmax(dim=-1)
    out = F.dropout(weights, dropout, training) @ v  # (B, heads, T, D)
    out = out.transpose(1, 2).reshape(B, T, E)  # the heads side by side again
    return out @ w_out.T + b_out, weights


# %% [markdown]
# **Residual connection and layer norm.** GPT does not use the attention's output in
# place of its input: it *adds* it, $x \leftarrow x + \mathrm{attention}(\mathrm{LN}(x))$.
# The residual path $x + \dots$ lets every layer make a small correction to the stream
# of vectors instead of rewriting it, and gives the gradient a path that skips the layer
# ($\partial x_{out} / \partial x_{in} = I + \dots$); below we measure what it saves a
# deep stack from. The **layer norm** LN, applied before the attention (*pre-norm*, as in GPT-2),
# rescales each position's vector to mean 0 and variance 1 (then a learned scale and
# shift): whatever the size of the residual stream — which grows as layers add to it —
# the queries and keys keep the size the $\sqrt d$ argument assumed. We check that: the
# same vectors made 10 times larger leave the pre-norm weights unchanged, but saturate
# the weights of attention without the norm.

# %%
B, T, E, H = 64, 16, 32, 4
xs = tl.randn(B, T, E)
w_in, b_in = tl.randn(3 * E, E) / math.sqrt(E), tl.zeros(3 * E)
w_out, b_out = tl.randn(E, E) / math.sqrt(E), tl.zeros(E)
ln = tl.nn.LayerNorm(E)


def top(weights: tl.Tensor) -> float:
    """The mean over queries (rows past the first four, which see few keys) of the largest weight."""
    return weights.numpy()[..., 4:, :].max(axis=-1).mean()


with tl.no_grad():
    _, w_norm = attention(ln(xs), w_in, b_in, w_out, b_out, H)
    _, w_norm10 = attention(ln(10 * xs), w_in, b_in, w_out, b_out, H)
    _, w_raw = attention(xs, w_in, b_in, w_out, b_out, H)
    _, w_raw10 = attention(10 * xs, w_in, b_in, w_out, b_out, H)
    block_out = xs + attention(ln(xs), w_in, b_in, w_out, b_out, H)[0]  # one pre-norm attention sub-block
ln_change = float(np.abs(w_norm10.numpy() - w_norm.numpy()).max())
print(f"pre-norm: largest weight per row {top(w_norm):.3f}; inputs x10: {top(w_norm10):.3f} "
      f"(largest change of any weight {ln_change:.1e})")  # fmt: skip
print(f"no norm:  largest weight per row {top(w_raw):.3f}; inputs x10: {top(w_raw10):.3f}")
print("a pre-norm sub-block maps", tuple(xs.shape), "to", tuple(block_out.shape), "(the residual needs equal shapes)")

# %% [markdown]
# Without the residual, a stack of attention layers only ever *averages*: each output is a
# weighted mean of the (projected) inputs. Stacked, the averages of averages make all
# positions alike, and the gradient has no way around the layers. We stack 12 pre-norm
# attention layers with random weights, once as $x \leftarrow x + \mathrm{attention}(\mathrm{LN}(x))$
# and once as $x \leftarrow \mathrm{attention}(\mathrm{LN}(x))$, and measure how different the
# positions' vectors still are at the top (their standard deviation across positions, per
# channel, averaged) and the size of the gradient that reaches the input (per position)
# from the same random gradient at the top.

# %%
depth = 12
stack = [(tl.randn(3 * E, E) / math.sqrt(E), tl.zeros(3 * E), tl.randn(E, E) / math.sqrt(E), tl.zeros(E),
          tl.nn.LayerNorm(E)) for _ in range(depth)]  # fmt: skip
G_top = tl.randn(B, T, E)
spread, input_grad = {}, {}
for residual in (True, False):
    x_in = xs.detach().clone().requires_grad_()
    h = x_in
    for w_in_l, b_in_l, w_out_l, b_out_l, ln_l in stack:
        a, _ = attention(ln_l(h), w_in_l, b_in_l, w_out_l, b_out_l, H)
        h = h + a if residual else a
    (h * G_top).sum().backward()
    spread[residual] = float(h.detach().numpy().std(axis=1).mean())
    input_grad[residual] = float(np.linalg.norm(x_in.grad.numpy(), axis=-1).mean())
    print(f"{depth} layers {'with' if residual else 'without'} the residual: spread across positions at the top "
          f"{spread[residual]:.4f} (input {xs.numpy().std(axis=1).mean():.2f}), gradient at the input "
          f"{input_grad[residual]:.2f} per position")  # fmt: skip

# %% [markdown]
# With the residual, the positions stay distinct (their spread even grows) and the gradient
# arrives at full size; without it, after 12 layers the positions' vectors differ by about
# a thousandth of what they did — the sequence has collapsed into one vector repeated —
# and the gradient reaching the input is 5 to 15 times smaller.

# %% [markdown]
# **Dropout.** During training, GPT zeroes each attention weight with probability p and
# divides the survivors by 1 − p (inverted dropout): a position cannot rely on one
# single earlier position always being visible. A row of dropped weights no longer sums
# to exactly 1, but to 1 on average; in evaluation dropout is the identity. Everywhere
# GPT uses dropout, it drops something that is *added*: the token-plus-position
# embeddings entering the residual stream, the attention weights, the attention's
# output after its projection (before it is added back), and the MLP's output.

# %%
with tl.no_grad():
    out_plain, _ = attention(xs, w_in, b_in, w_out, b_out, H)
    out_eval, _ = attention(xs, w_in, b_in, w_out, b_out, H, dropout=0.1, training=False)
    out_train, _ = attention(xs, w_in, b_in, w_out, b_out, H, dropout=0.1, training=True)
    dropped = F.dropout(w_raw, 0.1, training=True)
eval_change = float(np.abs(out_eval.numpy() - out_plain.numpy()).max())
train_change = float(np.abs(out_train.numpy() - out_plain.numpy()).max())
row_sums = dropped.sum(dim=-1).numpy()
print(f"attention weights after dropout p = 0.1: row sums from {row_sums.min():.2f} to {row_sums.max():.2f}, "
      f"mean {row_sums.mean():.4f} over {row_sums.size:,} rows")  # fmt: skip
print(f"largest change of the attention's output from dropout: training {train_change:.2f}, evaluation {eval_change}")
gpt = GPT(GPTConfig(vocab_size=10, block_size=16, n_layer=1, n_head=4, n_embd=32, dropout=0.1))
dropout_sites = sorted(name for name, m in gpt.named_modules() if isinstance(m, tl.nn.Dropout)) + sorted(
    f"{name} (its weights, p = {m.dropout})"
    for name, m in gpt.named_modules()
    if isinstance(m, tl.nn.MultiheadSelfAttention)
)
print("where a GPT drops:", ", ".join(dropout_sites))

# %% [markdown]
# ## 3. The backward pass, derived
#
# Training needs the gradients of a loss L with respect to Q, K and V. Write
# $dA = \partial L / \partial A$ for any matrix A, and follow the forward pass backwards,
# $S = QK^\top/\sqrt d$, $P = \operatorname{softmax}(S)$ row by row, $O = PV$, with
# $dO$ given by the layers above.
#
# **Through $O = PV$.** $O_{ik} = \sum_j P_{ij} V_{jk}$, so
# $\partial O_{ik} / \partial V_{jk} = P_{ij}$ and $\partial O_{ik} / \partial P_{ij} = V_{jk}$:
#
# $$dV_{jk} = \sum_i P_{ij}\, dO_{ik} \;\Rightarrow\; dV = P^\top dO, \qquad
#   dP_{ij} = \sum_k dO_{ik} V_{jk} \;\Rightarrow\; dP = dO\, V^\top.$$
#
# **Through the softmax**, one row at a time (drop the row index i). With
# $P_j = e^{S_j} / \sum_l e^{S_l}$, the quotient rule gives
# $\partial P_j / \partial S_l = P_j \delta_{jl} - P_j P_l$, so
#
# $$dS_l = \sum_j dP_j \frac{\partial P_j}{\partial S_l} = P_l\, dP_l - P_l \sum_j dP_j P_j
#   \;\Rightarrow\; dS = P \odot \Big(dP - \operatorname{rowsum}(dP \odot P)\Big),$$
#
# where rowsum sums each row and is broadcast back along it. A masked entry has
# $P_{ij} = 0$, hence $dS_{ij} = 0$: the mask needs no work in the backward pass.
#
# **Through $S = QK^\top/\sqrt d$**, like any matrix product:
# $S_{ij} = \sum_k Q_{ik} K_{jk} / \sqrt d$, so
#
# $$dQ = \frac{dS\, K}{\sqrt d}, \qquad dK = \frac{dS^\top Q}{\sqrt d}.$$
#
# We write these five lines as code and compare them with what tinyllm's autograd
# computes through the forward pass, in float64, for a causal head and a random $dO$;
# then `tl.gradcheck` compares autograd with finite differences.

# %%
T, d = 7, 5
Q, K, V = (tl.randn(T, d, dtype=tl.float64, requires_grad=True) for _ in range(3))
dO = tl.randn(T, d, dtype=tl.float64)
causal = tl.tril(tl.ones(T, T)) > 0


def head(Q: tl.Tensor, K: tl.Tensor, V: tl.Tensor) -> tl.Tensor:
    """One causal head from its queries, keys and values (T, d) -> O (T, d)."""
    S = (Q @ K.T / math.sqrt(d)).masked_fill(~causal, -math.inf)
    return S.softmax(dim=-1) @ V


(head(Q, K, V) * dO).sum().backward()  # L = sum(O * dO), so dL/dO = dO
with tl.no_grad():
    P = (Q @ K.T / math.sqrt(d)).masked_fill(~causal, -math.inf).softmax(dim=-1)
    dV = P.T @ dO
    dP = dO @ V.T
    dS = P * (dP - (dP * P).sum(dim=-1, keepdim=True))
    dQ = dS @ K / math.sqrt(d)
    dK = dS.T @ Q / math.sqrt(d)
by_hand = {"dQ": dQ, "dK": dK, "dV": dV}
derivation_gap = {n: float(np.abs(g.numpy() - t.grad.numpy()).max()) for (n, g), t in zip(by_hand.items(), (Q, K, V))}
for name, gap in derivation_gap.items():
    print(f"max |{name} by hand - autograd| = {gap:.1e}")
print(f"dS is 0 above the diagonal: max |dS| there {np.abs(np.triu(dS.numpy(), 1)).max():.1e}")
report = tl.gradcheck(head, (Q, K, V), names=["Q", "K", "V"])
print(report)

# %% [markdown]
# ## 4. The same numbers as the library
#
# `tl.nn.MultiheadSelfAttention(E, h, causal=True)` computes this same function — fused
# into one operation with the backward pass of section 3 written by hand (PyTorch's
# parameter names: `in_proj_weight` (3E × E), `in_proj_bias`, `out_proj`). We give our
# function the module's weights (with random biases, so that they are tested too), run
# both on the same batch in float64, send the same gradient back, and compare the
# outputs and the gradients with respect to the input and every weight.

# %%
B, T, E, H = 3, 6, 12, 3
module = tl.nn.MultiheadSelfAttention(E, H, causal=True, dtype=tl.float64)
with tl.no_grad():
    module.in_proj_bias.copy_(0.1 * tl.randn(3 * E, dtype=tl.float64))
    module.out_proj.bias.copy_(0.1 * tl.randn(E, dtype=tl.float64))
ours = {"in_proj_weight": module.in_proj_weight, "in_proj_bias": module.in_proj_bias,
        "out_proj.weight": module.out_proj.weight, "out_proj.bias": module.out_proj.bias}  # fmt: skip
ours = {name: p.detach().clone().requires_grad_() for name, p in ours.items()}
x_lib = tl.randn(B, T, E, dtype=tl.float64, requires_grad=True)
x_ours = x_lib.detach().clone().requires_grad_()
upstream = tl.randn(B, T, E, dtype=tl.float64)
out_lib, weights_lib = module(x_lib, need_weights=True)
out_ours, weights_ours = attention(x_ours, *ours.values(), heads=H)
(out_lib * upstream).sum().backward()
(out_ours * upstream).sum().backward()
library_gap = {"output": out_lib.detach().numpy() - out_ours.detach().numpy(),
               "weights": weights_lib.detach().numpy() - weights_ours.detach().numpy(),
               "grad input": x_lib.grad.numpy() - x_ours.grad.numpy()}  # fmt: skip
for name, p in module.named_parameters():
    library_gap[f"grad {name}"] = p.grad.numpy() - ours[name].grad.numpy()
library_gap = {name: float(np.abs(g).max()) for name, g in library_gap.items()}
for name, gap in library_gap.items():
    print(f"max |library - ours| {name:<22} {gap:.1e}")

# %% [markdown]
# ## 5. A task that needs attention: copy the token three places back
#
# Random tokens $x_0, x_1, \dots$ from a vocabulary of V, drawn independently and
# uniformly; the target at position t is the token **k = 3 positions earlier**,
# $y_t = x_{t-3}$ (positions 0-2 have no target). The token at t says nothing about
# $x_{t-3}$, so a model that sees each position on its own — an embedding of the token
# and of its position, a layer norm, a position-wise map, a linear read-out — can do no
# better than chance: accuracy 1/V, loss $\ln V$. Our baseline is exactly the attention
# model below with its attention **masked to the current position** (the mask is the
# identity matrix: $P = I$, so each position only passes its own value through). With
# the causal mask instead, one head can learn to put its weight on position t − 3: its
# queries and keys only need the position embeddings to match t with t − 3.
#
# The model: token and position embeddings, then one pre-norm attention sub-block with a
# single head (`tl.nn.MultiheadSelfAttention`, so we can read its weights with
# `need_weights=True`), then a linear layer to the V logits. Adam, cross-entropy on
# fresh random batches every step, and the validation accuracy measured every few steps
# on sequences the model never trained on.

# %%
V, T, LAG = (8, 12, 3) if quick else (10, 20, 3)
E = 16 if quick else 32
steps, batch_size = (150, 32) if quick else (200, 64)
rng = np.random.default_rng(args.seed)


def copy_task(n: int) -> tuple[tl.Tensor, tl.Tensor]:
    """n random sequences (n, T) and their targets: y[:, t] = x[:, t - LAG], -100 (ignored) for t < LAG."""
    x = rng.integers(0, V, size=(n, T))
    y = np.full((n, T), -100)
    y[:, LAG:] = x[:, :-LAG]
    return tl.tensor(x), tl.tensor(y)


class Copier(tl.nn.Module):
    """Embeddings, one pre-norm single-head attention sub-block, a linear read-out: (B, T) -> (B, T, V)."""

    def __init__(self, look_back: bool) -> None:
        super().__init__()
        self.tok, self.pos = tl.nn.Embedding(V, E), tl.nn.Embedding(T, E)
        self.ln = tl.nn.LayerNorm(E)
        self.attn = tl.nn.MultiheadSelfAttention(E, 1, causal=True)
        self.head = tl.nn.Linear(E, V)
        self.look_back = look_back  # False: attention masked to the current position

    def forward(self, idx: tl.Tensor) -> tuple[tl.Tensor, tl.Tensor]:
        h = self.tok(idx) + self.pos(tl.arange(idx.shape[1]))
        if self.look_back:
            a, weights = self.attn(self.ln(h), need_weights=True)
        else:
            a, weights = attention(self.ln(h), self.attn.in_proj_weight, self.attn.in_proj_bias,
                                   self.attn.out_proj.weight, self.attn.out_proj.bias, heads=1,
                                   mask=tl.eye(idx.shape[1]) > 0)  # fmt: skip
        return self.head(h + a), weights


x_val, y_val = copy_task(500 if quick else 2000)
has_target = y_val.numpy() >= 0


def evaluate(model: Copier) -> tuple[float, float, np.ndarray]:
    """Validation accuracy and loss over the positions with a target, and the attention weights."""
    model.eval()  # no dropout while measuring (this model has none; exercise 4 adds some)
    with tl.no_grad():
        logits, weights = model(x_val)
        loss = F.cross_entropy(logits.reshape(-1, V), y_val.reshape(-1), ignore_index=-100).item()
    model.train()
    correct = logits.numpy().argmax(-1) == y_val.numpy()
    return float(correct[has_target].mean()), loss, weights.numpy()[:, 0]  # weights (n, T, T) of the one head


runs = {}
for look_back in (True, False):
    model = Copier(look_back)
    optimizer = tl.optim.Adam(model.parameters(), lr=2e-2 if quick else 1e-2)
    curve = [(0, evaluate(model)[0])]
    for step in range(1, steps + 1):
        x, y = copy_task(batch_size)
        loss = F.cross_entropy(model(x)[0].reshape(-1, V), y.reshape(-1), ignore_index=-100)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 5 == 0:
            curve.append((step, evaluate(model)[0]))
    accuracy, val_loss, weights = evaluate(model)
    runs[look_back] = {"curve": np.array(curve), "accuracy": accuracy, "loss": val_loss, "weights": weights}
    name = "causal attention" if look_back else "attention masked to the current position"
    print(f"{name:<42} validation accuracy {accuracy:.3f}, loss {val_loss:.3f}")
print(f"chance: accuracy 1/V = {1 / V:.3f}, loss ln V = {math.log(V):.3f}")

# The learned pattern: at every position with a target, where does the head look?
weights = runs[True]["weights"]
t = np.arange(LAG, T)
on_lag = weights[:, t, t - LAG]  # (n, T - LAG): the weight from position t onto position t - LAG
lag_is_max = float((weights[:, t, :].argmax(-1) == t - LAG).mean())
print(f"the weight on position t - {LAG}: mean {on_lag.mean():.3f}, the largest in the row at "
      f"{lag_is_max:.1%} of {on_lag.size:,} positions")  # fmt: skip

fig, (ax_map, ax_acc) = plot.figure(ncols=2, width=5.2, height=4.4)
tokens = [str(v) for v in x_val.numpy()[0]]
image = ax_map.imshow(weights[0], cmap="viridis", vmin=0, vmax=1)
ax_map.plot(t - LAG, t, "s", mfc="none", mec="white", ms=7, mew=1.0, label=f"key t − {LAG}")
ax_map.set_xticks(range(T), [f"{i}:{v}" for i, v in enumerate(tokens)], fontsize=7, rotation=90)
ax_map.set_yticks(range(T), [f"{i}:{v}" for i, v in enumerate(tokens)], fontsize=7)
ax_map.set_xlabel("key position j : its token")
ax_map.set_ylabel("query position t : its token")
ax_map.set_title(f"Learned weights, one validation sequence\n(row t: where position t looks; target x[t−{LAG}])")
ax_map.legend(loc="upper right", fontsize=8, facecolor="0.25", labelcolor="white")
ax_map.grid(False)
fig.colorbar(image, ax=ax_map, fraction=0.046, label="attention weight")
for look_back, color, label in ((True, plot.COLORS["train"], "causal attention"),
                                (False, "tab:red", "attention masked to the current position")):  # fmt: skip
    curve = runs[look_back]["curve"]
    ax_acc.plot(curve[:, 0], curve[:, 1], "o-", ms=3, color=color, label=label)
ax_acc.axhline(1 / V, color=plot.COLORS["floor"], ls="--", label=f"chance 1/V = {1 / V:.3f}")
ax_acc.set_ylim(0, 1.05)
ax_acc.set_xlabel(f"optimizer step (batches of {batch_size} sequences)")
ax_acc.set_ylabel("validation accuracy (fraction correct)")
ax_acc.set_title(f"Copying x[t−{LAG}]: only attention can")
ax_acc.legend(loc="center right", fontsize=9)
print("saved", plot.save(fig, args.out, "copy_task"))

# %% [markdown]
# With causal attention the accuracy climbs to (nearly) 1 within a few dozen steps;
# masked to the current position, the same model stays at chance, its loss at $\ln V$.
# The heat map shows why: each row has a single bright cell, three to the left of the
# diagonal — position t takes almost all of its value from position t − 3, whatever the
# tokens are. (Rows 0-2 have no target, and nothing to learn.)

# %% [markdown]
# ## Conclusion
#
# Self-attention is four matrix products and a softmax: queries meet keys in scaled dot
# products, the causal mask hides the future, and each position takes a weighted average
# of the values. The $1/\sqrt d$ keeps the scores' variance at 1, where the softmax neither
# saturates nor kills the gradient. Several heads split the embedding; GPT wraps them in
# a pre-norm residual block — the layer norm keeps the scores' scale, the residual keeps a
# deep stack from collapsing every position into one vector — with dropout on the weights
# and on what is added to the stream. The backward pass follows from the chain rule in five lines, and our
# hand-written attention equals the library's, values and gradients, to float64
# rounding. On a task only attention can solve, one head learns to look exactly where
# the answer is.

# %%
margin = 0.02
print(f"lesson ran {time.perf_counter() - started:.1f} s")
assert future_leak == 0.0
for dim in ds:  # Var(q.k) = d (and so Var(q.k / sqrt d) = 1)
    assert abs(variance[dim] / dim - 1) < 0.08, (dim, variance[dim])
assert all(top_weight[a, False] < top_weight[b, False] for a, b in zip(ds, ds[1:])), top_weight  # grows with d
assert top_weight[1024, False] > 0.9, top_weight
assert all(abs(top_weight[dim, True] - top_weight[16, True]) < 0.05 for dim in ds), top_weight
assert top_weight[1024, True] < 0.5, top_weight
assert grad_norm[1024, False] < 1e-3 * grad_norm[1024, True], grad_norm  # orders of magnitude
assert all(grad_norm[dim, True] > 0.2 for dim in ds), grad_norm
assert ln_change < 1e-3 and top(w_raw10) > 0.9 and top(w_norm) < 0.5, (ln_change, top(w_raw10), top(w_norm))
assert abs(row_sums.mean() - 1) < 0.01 and row_sums.std() > 0.05, (row_sums.mean(), row_sums.std())
input_spread = float(xs.numpy().std(axis=1).mean())
assert spread[True] > input_spread and spread[False] < 0.003 * input_spread, (spread, input_spread)
assert input_grad[False] < 0.2 * input_grad[True], input_grad
assert eval_change == 0.0 and train_change > 0.1, (eval_change, train_change)
assert dropout_sites == ["blocks.0.mlp.dropout", "blocks.0.resid_dropout", "drop",
                         "blocks.0.attn (its weights, p = 0.1)"], dropout_sites  # fmt: skip
assert all(gap < 1e-12 for gap in derivation_gap.values()), derivation_gap
assert report.passed, report
assert all(gap < 1e-12 for gap in library_gap.values()), library_gap
accuracy, baseline = runs[True]["accuracy"], runs[False]["accuracy"]
assert accuracy > 0.98, accuracy
assert baseline < 1 / V + margin, (baseline, 1 / V)
assert runs[False]["loss"] > math.log(V) - 0.02, (runs[False]["loss"], math.log(V))
assert lag_is_max > 0.9 and on_lag.mean() > 0.5, (lag_is_max, on_lag.mean())
print(f"lesson 09: Var(q.k) = d; one head by hand = the library's module (values and gradients); copying "
      f"x[t-{LAG}]: attention {accuracy:.3f}, masked to the current position {baseline:.3f} (chance {1 / V:.3f})")

# %% [markdown]
# ## Exercises
#
# Run the lesson with `--quick` after each change (answers for instructors:
# `lessons/solutions/09_attention.md`).
#
# 1. **Predict, then run: a longer reach.** Set `LAG = 6` in section 5. Before running,
#    write down the accuracy you expect for the attention model and for the baseline
#    masked to the current position, and where the marked cells of the heat map will be.
# 2. **Predict, then run: attention without positions.** In `Copier.forward`, leave out the
#    position embedding: `h = self.tok(idx)`. Will the attention model still reach an
#    accuracy near 1, stay at chance, or land in between? If in between, at which positions
#    will it do best? Print the accuracy per position (`correct.mean(0)` in `evaluate`)
#    and explain what the head can and cannot know about where a token is.
# 3. **Code change: two heads.** Give the copy model two heads
#    (`tl.nn.MultiheadSelfAttention(E, 2, causal=True)`, and `heads=2` in the baseline's
#    call) and compute the pattern statistics (`on_lag`, `lag_is_max`) for each head
#    separately (in `evaluate`, return `weights.numpy()[:, h]` for head h). Do the two
#    heads divide the work, or do both learn the same pattern? Why is either possible here?
# 4. **Predict, then run: dropout on the weights.** Pass `dropout=0.3` to the copy model's
#    `MultiheadSelfAttention` and print the training loss of the last batches. The trained
#    head puts nearly all of its weight on one key: predict, as a number, the training
#    loss the model settles at, and its validation accuracy (measured in `eval()` mode,
#    without dropout). Hint: what does the output at position t hold when that one
#    weight is dropped?
# 5. **Derivation: the rows of dS sum to zero.** From
#    $dS = P \odot (dP - \operatorname{rowsum}(dP \odot P))$ and $\sum_j P_{ij} = 1$, show
#    that $\sum_j dS_{ij} = 0$ for every row i, and check it on `dS` of section 3. Then explain
#    it without algebra: what does a softmax do to a row of scores when the same number
#    $c_i$ is added to all of them? Use this to predict the gradient of the **key bias**
#    $b_K$ (the middle third of `in_proj_bias`), given that the score is
#    $q_i \cdot (W_K x_j + b_K)/\sqrt d$, and check your prediction on
#    `module.in_proj_bias.grad` in section 4.
