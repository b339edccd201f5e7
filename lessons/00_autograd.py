# %% [markdown]
# # Lesson 0 — Automatic differentiation: where gradients come from
#
# Every optimization step in this course needs the gradient of a loss with respect to
# millions of weights. No one writes those derivatives by hand. The engine records each
# operation as the code runs — a *computation graph* — and then walks that graph backwards,
# applying the chain rule once per node. This lesson does it by hand on a tiny function,
# checks that the engine gives the same numbers, watches the backward pass step by step,
# and then shows how `tl.gradcheck` catches a wrong derivative.
#
# Run: `python lessons/00_autograd.py [--quick] [--seed N] [--out DIR]`.

# %%
import math

import tinyllm as tl
from tinyllm import lessons, plot

args = lessons.options("00_autograd")

# %% [markdown]
# ## 1. A function small enough to differentiate by hand
#
# $$f(a, b) = \tanh(a \cdot b + b)$$
#
# Name the intermediate values: $u = a b$, $v = u + b$, $f = \tanh v$. The chain rule,
# applied from the output back to the inputs, gives
#
# $$\frac{\partial f}{\partial v} = 1 - \tanh^2 v, \qquad
# \frac{\partial f}{\partial a} = \frac{\partial f}{\partial v}\, b, \qquad
# \frac{\partial f}{\partial b} = \frac{\partial f}{\partial v}\,(a + 1)$$
#
# — $b$ reaches $f$ along two paths (through $u$ and directly), and the two contributions add.

# %%
a_value, b_value = 0.5, -1.5
u = a_value * b_value
v = u + b_value
f_value = math.tanh(v)
df_dv = 1 - math.tanh(v) ** 2
by_hand = {"a": df_dv * b_value, "b": df_dv * (a_value + 1)}
print(f"f = {f_value:.6f};  by hand: df/da = {by_hand['a']:.6f}, df/db = {by_hand['b']:.6f}")

# %% [markdown]
# ## 2. The same function through the engine
#
# Each operation on tensors that require gradients returns a tensor linked to the
# `Function` node that made it. `f.backward()` walks those links in reverse order.

# %%
a = tl.tensor(a_value, dtype=tl.float64, requires_grad=True)
b = tl.tensor(b_value, dtype=tl.float64, requires_grad=True)
u_t = a * b
v_t = u_t + b
f = v_t.tanh()
for t in (u_t, v_t):
    t.retain_grad()  # keep the intermediate gradients too, to look at them
f.backward(retain_graph=True)  # keep the graph, to draw it below (backward frees it otherwise)
print(f"engine:  df/da = {a.grad.item():.6f}, df/db = {b.grad.item():.6f}")
print(f"intermediate: df/dv = {v_t.grad.item():.6f} (by hand {df_dv:.6f}), df/du = {u_t.grad.item():.6f}")

# %% [markdown]
# ## 3. The backward pass, node by node
#
# The engine orders the nodes so that each one runs after every node that uses its
# output (a reverse topological order). Every tensor an op computed points to the node
# that made it, `t.grad_fn`; every node lists its input tensors, `fn.inputs`; and
# `tl.autograd.topological_order(out)` returns the nodes `out` depends on, inputs first.
# Here we run the backward walk by hand, in the engine's order, and print what each node
# handed back to its inputs.

# %%
a2 = tl.tensor(a_value, dtype=tl.float64, requires_grad=True)
b2 = tl.tensor(b_value, dtype=tl.float64, requires_grad=True)
out = ((a2 * b2) + b2).tanh()
order = tl.autograd.topological_order(out)  # every node, inputs before outputs
grad_of = {id(out.grad_fn): tl.ones_like(out).data}  # d out / d out = 1, an array on out's device
print(f"{'node':<8}{'upstream grad':>15}  gradients passed to its inputs")
for fn in reversed(order):
    upstream = grad_of[id(fn)]
    passed = fn.backward(upstream)
    passed = passed if isinstance(passed, tuple) else (passed,)
    for inp, g in zip(fn.inputs, passed):
        if inp.grad_fn is not None:
            grad_of[id(inp.grad_fn)] = grad_of.get(id(inp.grad_fn), 0) + g
    shown = ", ".join(f"{float(g):+.6f}" for g in passed)
    print(f"{type(fn).__name__:<8}{float(upstream):>15.6f}  {shown}")
# b receives +… from Mul and +… from Add: their sum is df/db.

# %% [markdown]
# ## 4. A drawing of the graph
#
# Leaves (the inputs) are circles, operations are boxes; each shows its value and the
# gradient of f with respect to it after backward.

# %%
fig, ax = plot.figure(width=8, height=3.2)
plot.draw_graph(f, names={id(a): "a", id(b): "b", id(u_t): "u = a·b", id(v_t): "v = u + b", id(f): "f = tanh v"}, ax=ax)
ax.set_title("f(a, b) = tanh(a·b + b): forward left to right, gradients after backward")
print("saved", plot.save(fig, args.out, "graph"))

# %% [markdown]
# ## 5. Checking gradients numerically: `tl.gradcheck`
#
# For any input element $x_i$, the centred difference
# $\frac{f(x + \epsilon e_i) - f(x - \epsilon e_i)}{2\epsilon}$ approximates
# $\partial f / \partial x_i$ with an error of order $\epsilon^2$. In float64 with
# $\epsilon = 10^{-6}$ that is about $10^{-10}$ — far below any real mistake.
# `tl.gradcheck` compares this against the engine for every input and prints a report.

# %%
size = 4 if args.quick else 8
x = tl.randn(size, size, dtype=tl.float64, requires_grad=True)
w = tl.randn(size, 3, dtype=tl.float64, requires_grad=True)
good = tl.gradcheck(lambda x, w: ((x @ w).tanh() ** 2).sum(), [x, w], names=["x", "w"], raise_on_fail=False)
print(good)

# %% [markdown]
# Now an op with a deliberate mistake: $y = x^3$ whose backward forgets the factor 3
# (it returns $x^2 \cdot \bar y$ instead of $3x^2 \cdot \bar y$). The forward values
# are right, so nothing looks wrong — until the gradient is checked.

# %%


class BrokenCube(tl.Function):
    """y = x^3, with a wrong backward: dy/dx should be 3 x^2."""

    def forward(self, x):
        self.x = x
        return x**3

    def backward(self, gy):
        return gy * self.x**2  # the bug: the factor 3 is missing


bad = tl.gradcheck(lambda x: BrokenCube.apply(x).sum(), [x], names=["x"], raise_on_fail=False)
print(bad)

# %% [markdown]
# ## Conclusion
#
# The engine's gradients equal the chain rule worked by hand, to the last digits; the
# backward pass is the chain rule applied node by node in reverse order, adding the
# contributions of every path; and a numerical check tells a correct derivative from a
# wrong one at once. Every op and layer in tinyllm is checked this way in the tests.

# %%
assert abs(a.grad.item() - by_hand["a"]) < 1e-12 and abs(b.grad.item() - by_hand["b"]) < 1e-12
assert abs(v_t.grad.item() - df_dv) < 1e-12
assert good.passed, "a correct op must pass gradcheck"
assert not bad.passed, "the broken op must fail gradcheck"
worst = bad.rows[0]
print(f"at the worst element, numeric / analytic = {worst.numeric / worst.analytic:.4f}: the missing factor 3")
assert abs(worst.numeric / worst.analytic - 3) < 1e-4
print("lesson 00: the engine matches the chain rule; gradcheck passes the correct op and fails the broken one")

# %% [markdown]
# ## Exercises
#
# 1. **Derivation.** Take $g(a, b) = \tanh(a b)\cdot b$. Name the intermediate values as
#    in section 1, and work out $\partial g / \partial a$ and $\partial g / \partial b$ by
#    hand with the chain rule (how many paths lead from $b$ to $g$?). Evaluate them at
#    $a = 0.5$, $b = -1.5$, then build $g$ from tensors and compare with the engine's
#    `a.grad` and `b.grad`.
# 2. **Predict, then run.** Section 2 calls `f.backward(retain_graph=True)` once. Add a
#    second `f.backward()` right after it. Before running: what will `a.grad` hold, and
#    which of the closing assertions will fail? What does this tell you about why a
#    training loop calls `optimizer.zero_grad()` before every backward pass?
# 3. **Predict, then run.** `tl.gradcheck` compares with tolerances `atol=1e-5`,
#    `rtol=1e-3` (printed under each report). Change `BrokenCube`'s backward to return
#    `gy * 3.003 * self.x**2`, then `gy * 3.03 * self.x**2`. Which of the two passes the
#    check? Is a passing gradcheck a proof that a backward is exact?
# 4. **Code change.** Build `x` and `w` in section 5 without `dtype=tl.float64` (so in
#    float32) and run the check. What happens, and why does a finite-difference check
#    with $\epsilon = 10^{-6}$ need float64? (Estimate the rounding error of
#    $f(x + \epsilon) - f(x - \epsilon)$ in float32, where one ulp of a number near 1 is
#    about $10^{-7}$.)
