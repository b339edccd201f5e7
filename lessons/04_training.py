# %% [markdown]
# # Lesson 4 — Training: the optimization step, one number at a time
#
# The seed document's fourth step is to train: repeat *compute the gradient, take a step*
# many times. How big a step, and in which direction, is the optimizer's job. This lesson
# compares plain gradient descent (SGD), SGD with momentum and Adam — first on two small
# functions whose landscape we can draw, then on a real model — reproduces Adam's first
# steps by hand from the optimizer's own record, and shows the two tools that keep
# training stable: learning-rate schedules and gradient clipping.
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
steps = 60 if args.quick else 150

# %% [markdown]
# ## 1. Three optimizers on an ill-conditioned valley
#
# $f(x, y) = \tfrac12 (x^2 + 25 y^2)$ curves 25 times more steeply across the valley ($y$)
# than along it ($x$). Gradient descent must keep its step below $2/25$ or it diverges
# across the valley — and then it crawls along it. Momentum accumulates the consistent
# $x$-direction and cancels the zig-zag in $y$; Adam divides each coordinate's step by
# its own gradient scale.
#
# Updates (g the gradient, η the learning rate):
#
# - SGD: $\theta \leftarrow \theta - \eta g$
# - momentum: $v \leftarrow \mu v + g,\ \theta \leftarrow \theta - \eta v$
# - Adam: $m \leftarrow \beta_1 m + (1-\beta_1) g,\ v \leftarrow \beta_2 v + (1-\beta_2) g^2,\
#   \theta \leftarrow \theta - \eta\, \hat m / (\sqrt{\hat v} + \epsilon)$

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


# Each at a good setting for this valley (curvatures L = 25 and mu = 1, condition number 25):
# SGD at its best fixed step 2 / (L + mu); momentum with the step and mu that theory gives
# for this condition number (heavy ball: 4 / (sqrt L + sqrt mu)^2 and ((5 - 1) / (5 + 1))^2);
# Adam at a step of 0.3.
QUADRATIC = {
    "SGD": lambda ps: tl.optim.SGD(ps, lr=2 / 26),
    "momentum": lambda ps: tl.optim.SGD(ps, lr=4 / 36, momentum=(4 / 6) ** 2),
    "Adam": lambda ps: tl.optim.Adam(ps, lr=0.3),
}
quad_paths = {k: descend(quadratic, [-9.0, 1.5], make, steps) for k, make in QUADRATIC.items()}


def final_value(fn, path):
    return fn(tl.tensor(path[-1], dtype=tl.float64)).item()


for name, path in quad_paths.items():
    sign_changes = int(np.sum(np.diff(np.sign(path[:, 1])) != 0))
    print(f"quadratic, {name:<8} f after {steps} steps = {final_value(quadratic, path):.2e}; "
          f"y changed sign {sign_changes} times")  # fmt: skip

# %% [markdown]
# Momentum converges by orders of magnitude faster than SGD at its best step. Adam crosses
# the valley without zig-zagging (it scales each coordinate's step separately) but, at a
# fixed learning rate, ends up hovering around the minimum at a distance set by η — one
# reason to decay the learning rate (section 4).
#
# ## 2. …and on the Rosenbrock banana
#
# $f(x, y) = (1 - x)^2 + 100 (y - x^2)^2$ has its minimum at $(1, 1)$ at the end of a
# long, curved, flat-bottomed valley — hard for any method, and the ranking of the
# optimizers depends on their settings: no optimizer wins everywhere.

# %%
rosen_steps = 4 * steps
ROSENBROCK = {
    "SGD": lambda ps: tl.optim.SGD(ps, lr=1e-3),
    "momentum": lambda ps: tl.optim.SGD(ps, lr=5e-4, momentum=0.9),
    "Adam": lambda ps: tl.optim.Adam(ps, lr=0.05),
}
rosen_paths = {k: descend(rosenbrock, [-1.5, 2.0], make, rosen_steps) for k, make in ROSENBROCK.items()}
for name, path in rosen_paths.items():
    dist = np.linalg.norm(path[-1] - [1.0, 1.0])
    print(f"Rosenbrock, {name:<8} distance to the minimum after {rosen_steps} steps = {dist:.3f}")

# %%
fig, axes = plot.figure(ncols=2, width=5.5, height=4.5)
for ax, fn, paths, (lo, hi), title in [
    (axes[0], quadratic, quad_paths, ((-10, 2), (-2, 2)), "½(x² + 25y²): an ill-conditioned valley"),
    (axes[1], rosenbrock, rosen_paths, ((-2, 2), (-1, 3)), "Rosenbrock: minimum at (1, 1)"),
]:
    xs, ys = np.meshgrid(np.linspace(*lo, 200), np.linspace(*hi, 200))
    zs = fn(tl.tensor(np.stack([xs, ys]), dtype=tl.float64)).numpy()
    ax.contour(xs, ys, np.log1p(zs), levels=20, colors="0.75", linewidths=0.8)
    for name, path in reversed(paths.items()):  # SGD last, on top
        ax.plot(path[:, 0], path[:, 1], ".-", ms=2, lw=1.2, color=plot.COLORS[name.lower()], label=name)
    ax.plot(*([0, 0] if fn is quadratic else [1, 1]), "k*", ms=12, label="minimum")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(title)
    ax.legend(loc="upper left" if fn is quadratic else "lower right")
print("saved", plot.save(fig, args.out, "trajectories"))

# %% [markdown]
# ## 2b. …and on a real model
#
# The seed's LSTM classifier on `synthetic_sentiment`, mini-batches of 32, the same number
# of steps for each optimizer. The real loss surface shares the valley's trouble: plain SGD
# crawls where momentum and Adam move.

# %%
reviews = synthetic_sentiment(1000, seed=args.seed, noise=0.05)
tokenizer = WordTokenizer.fit(reviews.texts)
batches = DataLoader(encode_labeled(reviews, tokenizer), batch_size=32, shuffle=True, seed=args.seed)
REAL = {
    "SGD": lambda ps: tl.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: tl.optim.SGD(ps, lr=0.1, momentum=0.9),
    "Adam": lambda ps: tl.optim.Adam(ps, lr=1e-2),
}
real_loss = {}
for name, make in REAL.items():
    tl.manual_seed(args.seed)
    classifier = TextClassifier(tokenizer.vocab_size, 16, 32, 2)
    endless = itertools.chain.from_iterable(itertools.repeat(batches))
    real_loss[name] = tl.train.fit(classifier, make(classifier.parameters()), endless, steps=150).series("loss")
    print(f"LSTM classifier, {name:<8} mean loss over the last 20 steps: {real_loss[name][-20:].mean():.3f}")
fig, ax = plot.figure()
for name, losses in real_loss.items():
    smooth = np.convolve(losses, np.ones(10) / 10, mode="valid")
    ax.plot(np.arange(10, len(losses) + 1), smooth, color=plot.COLORS[name.lower()], label=name)
ax.axhline(math.log(2), color=plot.COLORS["floor"], ls=":", label="ln 2 (a coin)")
ax.set_xlabel("optimizer step (batches of 32)")
ax.set_ylabel("training cross-entropy (nats), mean of 10 steps")
ax.set_title("The LSTM classifier: SGD (lr 0.1), momentum (0.9), Adam (1e-2)")
ax.legend()
print("saved", plot.save(fig, args.out, "real_model"))

# %% [markdown]
# ## 3. Adam's first steps, by hand, from the optimizer's own record
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
b1, b2, eps = 0.9, 0.999, 1e-8
m = v = np.zeros(2)
print(f"{'step':>4} {'g':>22} {'m_hat':>22} {'v_hat':>22} {'delta (trace)':>24} {'delta (by hand)':>24}")
worst = 0.0
for k, record in enumerate(log, start=1):
    q = record["θ"]
    m = b1 * m + (1 - b1) * q["g"]
    v = b2 * v + (1 - b2) * q["g"] ** 2
    by_hand = -0.3 * (m / (1 - b1**k)) / (np.sqrt(v / (1 - b2**k)) + eps)
    worst = max(worst, float(np.abs(by_hand - q["delta"]).max()))
    print(f"{k:>4} {np.array2string(q['g'], precision=4):>22} {np.array2string(q['m_hat'], precision=4):>22} "
          f"{np.array2string(q['v_hat'], precision=3):>22} {np.array2string(q['delta'], precision=5):>24} "
          f"{np.array2string(by_hand, precision=5):>24}")  # fmt: skip
print(f"largest difference between the trace and the hand computation: {worst:.1e}")

# %% [markdown]
# Note step 1: $\hat m / \sqrt{\hat v} = g / |g| = \pm 1$ — Adam's first step has size η in
# every coordinate, whatever the gradient's scale.
#
# ## 4. Learning-rate schedules
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
# ## 5. Gradient clipping
#
# Where a landscape is steep, one gradient can be huge and one step can throw the
# parameters far away. Clipping rescales the whole gradient to a maximum norm, keeping its
# direction. On Rosenbrock with a learning rate too large for its steep walls:

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
# On a badly conditioned problem — the valley, and the real LSTM classifier — momentum and
# Adam reach in the same number of steps what plain SGD cannot; every quantity of an Adam
# step can be recomputed by hand from the trace; schedules shape the step size over time;
# clipping stops a single huge gradient from wrecking training.

# %%
f_quad = {k: final_value(quadratic, p) for k, p in quad_paths.items()}
assert f_quad["momentum"] < 1e-6 * f_quad["SGD"], f_quad
zigzag = {k: int(np.sum(np.diff(np.sign(p[:, 1])) != 0)) for k, p in quad_paths.items()}
assert zigzag["Adam"] < zigzag["SGD"] / 3, zigzag
for p in rosen_paths.values():  # every optimizer makes progress on the banana
    assert final_value(rosenbrock, p) < final_value(rosenbrock, p[:1])
assert worst < 1e-12
assert real_loss["Adam"][-20:].mean() < 0.5 * real_loss["SGD"][-20:].mean()
assert real_loss["momentum"][-20:].mean() < 0.5 * real_loss["SGD"][-20:].mean()
assert not math.isfinite(f_wild[-1]) or f_wild[-1] > 1e6 * f_tamed[-1]
assert f_tamed[-1] < f_tamed[0]
print("lesson 04: momentum beats SGD on an ill-conditioned valley, Adam does not zig-zag; the trace matches")
