# %% [markdown]
# # Lesson 4 — Training: the optimization step, one number at a time
#
# The seed document's fourth step is to train: repeat *compute the gradient, take a step*
# many times. How big a step, and in which direction, is the optimizer's job. This lesson
# compares plain gradient descent (SGD), SGD with momentum and Adam — first on a small
# function whose landscape we can draw, then on a real model — derives Adam's bias
# correction, reproduces Adam's first steps by hand from the optimizer's own record, and
# shows the two tools that keep training stable: learning-rate schedules and gradient
# clipping.
#
# Run: `python lessons/04_training.py [--quick] [--seed N] [--out DIR]`.

# %%
import itertools
import math

import numpy as np

import tinyllm as tl
from tinyllm import lessons, plot
from tinyllm.data import DataLoader, WordTokenizer, encode_labeled, synthetic_sentiment
from tinyllm.models import TextClassifier

args = lessons.options("04_training")
# %% [markdown]
# ## 1. Three optimizers on an ill-conditioned valley
#
# $f(x, y) = \tfrac12 (x^2 + 25 y^2)$ curves 25 times more steeply across the valley ($y$)
# than along it ($x$). Gradient descent multiplies each coordinate by $1 - \eta\lambda$ per
# step ($\lambda$ = 1 along, 25 across): it must keep $\eta < 2/25$ or it diverges across the
# valley, and at such a step it crawls along it ($1 - \eta \approx 0.93$ per step). With
# $\eta\lambda > 1$ across, $1 - 25\eta$ is negative: $y$ changes sign on every step, the
# zig-zag.
#
# Updates (g the gradient, η the learning rate):
#
# - SGD: $\theta \leftarrow \theta - \eta g$
# - momentum: $v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta v$
# - Adam: $m \leftarrow \beta_1 m + (1-\beta_1) g,\ v \leftarrow \beta_2 v + (1-\beta_2) g^2,\
#   \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$
#
# What does momentum do here? Along the valley the gradient keeps its sign, so $v$ adds it
# up: a steady gradient gives $v \to g / (1 - \mu)$, a step up to $1/(1-\mu)$ times longer.
# Across the valley the gradient flips sign every step, so successive terms of $v$ partly
# cancel. But they do not cancel the zig-zag: for one coordinate of curvature $\lambda$,
# momentum's update is $y_{k+1} = (1 + \mu - \eta\lambda)\, y_k - \mu\, y_{k-1}$, whose
# roots $z$ of $z^2 - (1 + \mu - \eta\lambda) z + \mu = 0$ are complex whenever
# $(1 + \mu - \eta\lambda)^2 < 4\mu$ — then $y$ *rotates* (a damped oscillation of
# amplitude $\propto |z|^k = \mu^{k/2}$) instead of settling. Whenever $\eta\lambda > 1$ no
# choice of $\mu \in [0, 1)$ gives positive real roots: **momentum never removes the
# oscillation across the valley; its gain is along it.**
#
# SGD and momentum take the same step η = 0.072 (= 1.8/25, near SGD's limit), momentum with
# μ = 0.5; Adam a step of 0.3. We stop after 20 steps, before any of them has converged, and
# look at each coordinate on its own.

# %%


def quadratic(p: tl.Tensor) -> tl.Tensor:
    return 0.5 * (p[0] ** 2 + 25 * p[1] ** 2)


def rosenbrock(p: tl.Tensor) -> tl.Tensor:
    return (1 - p[0]) ** 2 + 100 * (p[1] - p[0] ** 2) ** 2


def descend(fn, start, make_optimizer, n: int, clip: float | None = None) -> np.ndarray:
    """The path of the parameters over n steps of an optimizer, from ``start``."""
    p = tl.tensor(start, dtype=tl.float64, requires_grad=True)
    opt = make_optimizer([p])
    path = [p.detach().numpy().copy()]
    for _ in range(n):
        opt.zero_grad()
        fn(p).backward()
        if clip is not None:
            tl.nn.utils.clip_grad_norm_([p], clip)
        opt.step()
        path.append(p.detach().numpy().copy())
    return np.array(path)


def final_value(fn, path):
    return fn(tl.tensor(path[-1], dtype=tl.float64)).item()


eta, mu, budget = 1.8 / 25, 0.5, 20
QUADRATIC = {
    "SGD": lambda ps: tl.optim.SGD(ps, lr=eta),
    "momentum": lambda ps: tl.optim.SGD(ps, lr=eta, momentum=mu),
    "Adam": lambda ps: tl.optim.Adam(ps, lr=0.3),
}
quad_paths = {k: descend(quadratic, [-9.0, 1.5], make, budget) for k, make in QUADRATIC.items()}
f_quad, along, across, flips = {}, {}, {}, {}
for name, path in quad_paths.items():
    f_quad[name] = final_value(quadratic, path)
    along[name] = abs(path[-1, 0]) / 9.0  # the share of the distance along the valley still to go
    across[name] = np.abs(path[budget // 2 :, 1]).max()  # the zig-zag's amplitude over the last 10 steps
    flips[name] = int(np.sum(np.diff(np.sign(path[:, 1])) != 0))
    print(f"after {budget} steps, {name:<8} f = {f_quad[name]:.3g}; along the valley {along[name]:.1%} of the "
          f"way left; across: |y| up to {across[name]:.3f} over steps {budget // 2}-{budget}, "
          f"y changed sign {flips[name]} times in {budget} steps")  # fmt: skip
z = np.roots([1, -(1 + mu - eta * 25), mu])
print(f"momentum across the valley: roots {np.round(z, 3)}, |z| = {abs(z[0]):.3f} = √μ; "
      f"SGD: 1 - 25η = {1 - 25 * eta:.3f}")  # fmt: skip

# %% [markdown]
# Adam is a different animal: it divides each coordinate's step by that coordinate's own
# gradient scale, so its steps have about the same size η in $x$ as in $y$ — no zig-zag
# across, but no long strides along either: at this η it has covered less of the valley in
# 20 steps than SGD. (At a fixed learning rate it also ends up hovering around the minimum
# at a distance set by η — one reason to decay the learning rate, section 5.)

# %%
fig, axes = plot.figure(ncols=3, width=4.6, height=4.0)
xs, ys = np.meshgrid(np.linspace(-10, 2, 200), np.linspace(-2, 2, 200))
axes[0].contour(xs, ys, np.log1p(0.5 * (xs**2 + 25 * ys**2)), levels=20, colors="0.75", linewidths=0.8)
for name, path in quad_paths.items():
    color = plot.COLORS[name.lower()]
    axes[0].plot(path[:, 0], path[:, 1], ".-", ms=4, lw=1.2, color=color, label=name)
    axes[1].plot(path[:, 1], ".-", ms=4, color=color, label=f"{name}: {flips[name]} sign changes")
    axes[2].plot(path[:, 0], ".-", ms=4, color=color, label=name)
axes[0].plot(0, 0, "k*", ms=12, label="minimum")
axes[0].set_title(f"½(x² + 25y²): {budget} steps from (−9, 1.5)")
axes[0].set_xlabel("x (along the valley)")
axes[0].set_ylabel("y (across the valley)")
axes[0].legend(loc="upper left", fontsize=9)
axes[1].axhline(0, color="k", lw=0.8)
axes[1].set_title("Across: momentum still zig-zags")
axes[1].set_ylabel("y")
axes[2].axhline(0, color="k", lw=0.8)
axes[2].set_title("Along: momentum strides")
axes[2].set_ylabel("x")
for ax in axes[1:]:
    ax.set_xlabel("optimizer step")
    ax.legend(fontsize=9)
print("saved", plot.save(fig, args.out, "trajectories"))

# %% [markdown]
# The figure says what the algebra said. Across the valley (middle) momentum's $y$ still
# changes sign on most steps; its oscillation decays a little faster than SGD's ($|z| =
# \sqrt{0.5} \approx 0.71$ against $|1 - 25\eta| = 0.80$ per step) but does not vanish.
# Along the valley (right) momentum covers the distance SGD has barely begun: the gradient
# there keeps its sign and $v$ accumulates it. That — not cancelling the zig-zag — is why
# momentum wins on an ill-conditioned problem.

# %% [markdown]
# ## 2. …and on a real model
#
# The seed's LSTM classifier on `synthetic_sentiment`, mini-batches of 32, the same number
# of steps for each optimizer, on several seeds (each seed draws its own reviews and
# initial weights). The real loss surface shares the valley's trouble: plain SGD crawls
# where momentum and Adam move.

# %%
REAL = {
    "SGD": lambda ps: tl.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: tl.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: tl.optim.Adam(ps, lr=1e-2),
}
seeds = [args.seed] if args.quick else [args.seed + k for k in range(3)]
real_loss, last20 = {}, {name: [] for name in REAL}
for seed in seeds:
    reviews = synthetic_sentiment(1000, seed=seed, noise=0.05)
    tokenizer = WordTokenizer.fit(reviews.texts)
    batches = DataLoader(encode_labeled(reviews, tokenizer), batch_size=32, shuffle=True, seed=seed)
    for name, make in REAL.items():
        tl.manual_seed(seed)
        classifier = TextClassifier(tokenizer.vocab_size, 16, 32, 2)
        endless = itertools.chain.from_iterable(itertools.repeat(batches))
        losses = tl.train.fit(classifier, make(classifier.parameters()), endless, steps=150).series("loss")
        last20[name].append(losses[-20:].mean())
        if seed == args.seed:
            real_loss[name] = losses
    print(f"seed {seed}: mean loss over the last 20 of 150 steps: "
          + ", ".join(f"{name} {last20[name][-1]:.3f}" for name in REAL))  # fmt: skip
fig, ax = plot.figure()
for name, losses in real_loss.items():
    smooth = np.convolve(losses, np.ones(10) / 10, mode="valid")
    ax.plot(np.arange(10, len(losses) + 1), smooth, color=plot.COLORS[name.lower()], label=name)
ax.axhline(math.log(2), color=plot.COLORS["floor"], ls=":", label="ln 2 (a coin)")
ax.set_xlabel("optimizer step (batches of 32)")
ax.set_ylabel("training cross-entropy (nats), mean of 10 steps")
ax.set_title(f"The LSTM classifier (seed {args.seed}): SGD (lr 0.1), momentum (0.9), Adam (1e-2)")
ax.legend()
print("saved", plot.save(fig, args.out, "real_model"))

# %% [markdown]
# ## 3. Adam's bias correction, derived
#
# Adam's averages start at $m_0 = v_0 = 0$, so early on they are pulled toward zero. How
# much? Unroll the recursion $m_t = \beta_1 m_{t-1} + (1-\beta_1) g_t$:
#
# $$m_t = (1-\beta_1) \sum_{i=1}^{t} \beta_1^{\,t-i} g_i .$$
#
# Suppose the gradient is *stationary*: every $g_i$ has the same mean $\mathbb{E}[g]$. Then,
# by linearity of expectation and the geometric sum $\sum_{i=1}^{t} \beta_1^{\,t-i} =
# (1 - \beta_1^t)/(1 - \beta_1)$,
#
# $$\mathbb{E}[m_t] = (1-\beta_1) \sum_{i=1}^{t} \beta_1^{\,t-i}\, \mathbb{E}[g]
#   = (1-\beta_1) \frac{1-\beta_1^t}{1-\beta_1}\, \mathbb{E}[g] = (1 - \beta_1^t)\, \mathbb{E}[g].$$
#
# So $m_t$ underestimates the mean gradient by the factor $1 - \beta_1^t$ (0.1 at $t = 1$
# with $\beta_1 = 0.9$), and dividing by it removes the bias:
# $\hat m_t = m_t / (1 - \beta_1^t)$ has $\mathbb{E}[\hat m_t] = \mathbb{E}[g]$. The same
# steps with $g^2$ give $\mathbb{E}[v_t] = (1 - \beta_2^t)\, \mathbb{E}[g^2]$, hence
# $\hat v_t = v_t / (1 - \beta_2^t)$. Without the correction Adam's first step would be
# $\eta\, (1-\beta_1) g / \sqrt{(1-\beta_2) g^2} = \eta \cdot 0.1/\sqrt{0.001} \approx 3.16\,\eta$ per
# coordinate, not η.
#
# A numerical check: 200,000 independent runs of gradients drawn from N(0.5, 1), the mean of
# $m_t$ and $\hat m_t$ over the runs, against $(1 - \beta_1^t) \cdot 0.5$ and 0.5.

# %%
b1, b2, eps = 0.9, 0.999, 1e-8
rng = np.random.default_rng(args.seed)
m_sim = np.zeros(200_000)
bias_error = 0.0
for t in range(1, 11):
    m_sim = b1 * m_sim + (1 - b1) * rng.normal(0.5, 1.0, m_sim.shape)
    predicted, corrected = (1 - b1**t) * 0.5, m_sim.mean() / (1 - b1**t)
    bias_error = max(bias_error, abs(m_sim.mean() - predicted))
    if t in (1, 2, 5, 10):
        print(f"t = {t:>2}: mean m_t {m_sim.mean():.4f} (predicted {predicted:.4f}), mean m_hat {corrected:.4f}")
print(f"largest |mean m_t - (1 - b1^t) E[g]| over t = 1..10: {bias_error:.4f}")

# %% [markdown]
# ## 4. Adam's first steps, by hand, from the optimizer's own record
#
# `tl.optim.trace` records every quantity of every step. Here are Adam's first three steps
# on the quadratic — and the same numbers recomputed from the formulas above, with the
# recorded gradient as the only input.

# %%
p = tl.tensor([-9.0, 1.5], dtype=tl.float64, requires_grad=True)
adam = tl.optim.Adam([p], lr=0.3)
with tl.optim.trace(adam, names={"θ": p}) as log:
    for _ in range(3):
        adam.zero_grad()
        quadratic(p).backward()
        adam.step()
m = v = np.zeros(2)
print(f"{'step':>4} {'g':>22} {'m_hat':>22} {'v_hat':>22} {'delta (trace)':>24} {'delta (by hand)':>24}")
worst = 0.0
for k, record in enumerate(log, start=1):
    q = record["θ"]
    m = b1 * m + (1 - b1) * q["g"]
    v = b2 * v + (1 - b2) * q["g"] ** 2
    by_hand = -0.3 * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    worst = max(worst, float(np.abs(by_hand - q["delta"]).max()))
    if k == 1:
        first_step = q["delta"]
    print(f"{k:>4} {np.array2string(q['g'], precision=4):>22} {np.array2string(q['m_hat'], precision=4):>22} "
          f"{np.array2string(q['v_hat'], precision=3):>22} {np.array2string(q['delta'], precision=5):>24} "
          f"{np.array2string(by_hand, precision=5):>24}")  # fmt: skip
print(f"largest difference between the trace and the hand computation: {worst:.1e}")

# %% [markdown]
# Note step 1: $\hat m / \sqrt{\hat v} = g / |g| = \pm 1$ — Adam's first step has size η in
# every coordinate, whatever the gradient's scale.
#
# ## 5. Learning-rate schedules
#
# A large learning rate early moves fast; a small one late settles into a minimum. The
# schedules most used, over 100 steps from η = 0.1:

# %%
schedules = {
    "StepLR (÷10 at 50)": lambda o: tl.optim.lr_scheduler.StepLR(o, step_size=50, gamma=0.1),
    "CosineAnnealingLR": lambda o: tl.optim.lr_scheduler.CosineAnnealingLR(o, T_max=100),
    "WarmupCosine (10 warm-up)": lambda o: tl.optim.lr_scheduler.WarmupCosine(o, 10, 100, min_lr=0.01),
}
fig, ax = plot.figure(width=6.5)
for name, make in schedules.items():
    opt = tl.optim.SGD([tl.tensor([0.0], requires_grad=True)], lr=0.1)
    sched = make(opt)
    lrs = []
    for _ in range(110):
        lrs.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    ax.plot(lrs, label=name)
ax.set_xlabel("optimizer step")
ax.set_ylabel("learning rate")
ax.set_title("Learning-rate schedules")
ax.legend()
print("saved", plot.save(fig, args.out, "schedules"))

# %% [markdown]
# ## 6. Gradient clipping
#
# Where a landscape is steep, one gradient can be huge and one step can throw the
# parameters far away. Clipping rescales the whole gradient to a maximum norm, keeping its
# direction. On Rosenbrock's banana, $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$ — a long, curved,
# flat-bottomed valley with steep walls and its minimum at $(1, 1)$ — with a learning rate too
# large for the walls:

# %%
with np.errstate(all="ignore"):  # it does blow up, on purpose
    wild = descend(rosenbrock, [-1.5, 2.0], lambda ps: tl.optim.SGD(ps, lr=4e-3), 40)
tamed = descend(rosenbrock, [-1.5, 2.0], lambda ps: tl.optim.SGD(ps, lr=4e-3), 40, clip=5.0)
with np.errstate(all="ignore"):
    f_wild = [rosenbrock(tl.tensor(q, dtype=tl.float64)).item() for q in wild]
f_tamed = [rosenbrock(tl.tensor(q, dtype=tl.float64)).item() for q in tamed]
fig, ax = plot.figure()
shown = [f for f in f_wild if math.isfinite(f) and f < 1e9]
ax.semilogy(shown, "o-", color="tab:red", ms=3, label="SGD, lr 4e-3")
ax.annotate("then beyond 1e9, then inf / NaN", (len(shown) - 1, shown[-1]), textcoords="offset points",
            xytext=(8, -4), color="tab:red", fontsize=9)  # fmt: skip
ax.semilogy(f_tamed, color=plot.COLORS["train"], label="same, gradient norm clipped to 5")
ax.set_ylim(0.5, 3e9)
ax.set_xlabel("optimizer step")
ax.set_ylabel("Rosenbrock value (log scale)")
ax.set_title("Clipping keeps a too-large step from exploding")
ax.legend()
print("saved", plot.save(fig, args.out, "clipping"))
print(f"after 40 steps: unclipped f = {f_wild[-1]:.3g}, clipped f = {f_tamed[-1]:.3g}")

# %% [markdown]
# ## Conclusion
#
# On an ill-conditioned valley, momentum does not cancel the zig-zag across it — its $y$
# still changes sign on most steps, as the complex roots of its recursion say — but it
# strides along it, where the gradient keeps its sign: after 20 steps at SGD's own step
# size it has a small fraction of SGD's distance left to go. Adam scales each coordinate
# separately and does not zig-zag at all. On the real LSTM classifier, momentum and Adam
# reach in the same number of steps a loss plain SGD does not, on every seed. Adam's
# $1 - \beta^t$ divisions undo the bias of averages started at zero, and every quantity
# of an Adam step can be recomputed by hand from the trace; schedules shape the step size
# over time; clipping stops a single huge gradient from wrecking training.

# %%
assert f_quad["SGD"] > 1 and f_quad["momentum"] > 1e-3, f_quad  # compared before either has converged
assert along["momentum"] < along["SGD"] / 5, along  # momentum's gain is along the valley
assert flips["SGD"] == budget and flips["momentum"] >= budget // 2, flips  # ...not the zig-zag across it
assert np.all(np.iscomplex(z)) and abs(abs(z[0]) - math.sqrt(mu)) < 1e-9 < abs(1 - 25 * eta) - abs(z[0]), z
assert across["momentum"] < across["SGD"], across  # its oscillation decays at sqrt(mu), a little faster
assert flips["Adam"] <= budget // 10 and along["Adam"] > along["SGD"], (flips, along)  # no zig-zag, short strides
assert bias_error < 0.003, bias_error
assert worst < 1e-12 and np.allclose(np.abs(first_step), 0.3), (worst, first_step)  # Adam's first step: η
for name in ("momentum", "Adam"):
    assert all(a < 0.5 * s for a, s in zip(last20[name], last20["SGD"])), last20
assert not math.isfinite(f_wild[-1]) or f_wild[-1] > 1e6 * f_tamed[-1]
assert max(f_tamed) <= f_tamed[0] and f_tamed[-1] < 0.5 * f_tamed[0], f_tamed
print("lesson 04: momentum strides along the valley but still zig-zags across it; Adam does not zig-zag; "
      "Adam's bias correction derived and checked; the trace matches")  # fmt: skip

# %% [markdown]
# ## Exercises
#
# 1. *Predict, then run.* Keep η = 0.072 and raise momentum from μ = 0.5 to μ = 0.9. Before
#    running: after 20 steps, will momentum be closer to the minimum along the valley than
#    with μ = 0.5, and will its $y$ change sign more or less often? Then run it and explain
#    what you see with the roots of $z^2 - (1 + \mu - \eta\lambda) z + \mu = 0$ for both
#    $\lambda = 1$ and $\lambda = 25$.
# 2. *Predict, then run.* Set η = 0.085, just above SGD's limit 2/25. What happens to SGD's
#    $y$ in 20 steps? What happens to momentum's (μ = 0.5) at the same η?
# 3. *Derivation.* For one coordinate of curvature $\lambda > 0$, show that heavy-ball momentum
#    converges (both roots of $z^2 - (1 + \mu - \eta\lambda) z + \mu = 0$ inside the unit
#    circle) if and only if $0 < \eta\lambda < 2(1 + \mu)$, for $0 \le \mu < 1$. Compare with
#    SGD's $\eta\lambda < 2$, and check exercise 2's answer against it.
# 4. *Code change.* In section 4's hand computation, drop the bias correction (use $m$ and $v$
#    in place of $\hat m$ and $\hat v$). Predict the size of the first step in each
#    coordinate, then measure it. Why does this matter more for $\beta_2 = 0.999$ than for
#    $\beta_1 = 0.9$?
# 5. *Predict, then run.* On the real model, give plain SGD a learning rate of 0.5, then 1.0
#    (= 0.1 / (1 − 0.9)), instead of 0.1. Will it reach the loss that momentum (lr 0.1,
#    μ = 0.9) reaches in 150 steps? What does section 1 say about why 1.0 is the number to try?
