"""The task table: what students write, what it is worth, how it is graded, and where to start.

Each task owns one or more solution regions in tinyllm's own source (see
:mod:`tinyllm.assignment.regions`). Its ``checks`` name functions in
:mod:`tinyllm.assignment.checks`, run in this order by the grader; each passing check
earns its points. Stages go shape -> values -> gradcheck -> training:

- ``shape``: the gradients (or updates) have the inputs' shapes and dtypes;
- ``values``: they equal closed-form values computed in NumPy;
- ``gradcheck``: they equal float64 central differences of a NumPy forward pass;
- ``training``: a few steps of training with them bring the loss down.

A check may name the ``ops`` it exercises (in a task with several: ``mul``, ``tanh``, ...).
A check whose earlier-stage check on the same op failed earns nothing, even if its own
values match: a training run cannot vouch for a gradient that the values stage found
wrong. Tasks are listed in dependency order: a task's code only calls tasks above it.

``tests`` are the visible tests (pytest arguments) that exercise the same code, for the
students' STUDENTS.md. Only this module knows the table; everything else reads it.
"""

from __future__ import annotations

from dataclasses import dataclass

STAGES = ("shape", "values", "gradcheck", "training")


@dataclass(frozen=True)
class Check:
    """One graded check: a function in ``checks.py``, its stage, and what it is worth."""

    name: str
    stage: str
    points: int
    ops: tuple[str, ...] = ()  # the ops it exercises; () for all of the task's


@dataclass(frozen=True)
class Task:
    """A piece of tinyllm that students write."""

    id: str
    title: str
    hint: str
    checks: tuple[Check, ...]
    tests: tuple[str, ...] = ()

    @property
    def points(self) -> int:
        return sum(c.points for c in self.checks)

    def depends(self, check: Check) -> list[Check]:
        """The checks of an earlier stage on an op that ``check`` exercises too: if one fails, ``check`` earns 0."""
        stage = STAGES.index(check.stage)
        return [c for c in self.checks if STAGES.index(c.stage) < stage
                and (not c.ops or not check.ops or set(c.ops) & set(check.ops))]  # fmt: skip


TASKS: tuple[Task, ...] = (
    Task(
        "backward",
        "the backward walk: topological order, accumulation into .grad, freeing the graph",
        "topological_order: a depth-first search from root.grad_fn over fn.inputs that appends a node "
        "after all the nodes it depends on (iteratively, with a stack: no recursion limit), calling "
        "_check_can_backward(fn) on each node and _check_output_unchanged(inp) on each input that has a "
        "grad_fn. backward: "
        "visit the nodes in reverse of that order; give each the sum of the gradients of its outputs "
        "(a tensor used twice gets two), call fn.backward, route each input's gradient to its own "
        "grad_fn's slot or, for a leaf, add it up and hand it to _accumulate_grad at the end; call "
        "fn.release() after a node ran unless retain_graph.",
        (
            Check("backward_shapes", "shape", 1),
            Check("backward_values", "values", 3),
            Check("backward_freeing", "values", 2),
            Check("backward_gradcheck", "gradcheck", 2),
            Check("backward_training", "training", 2),
        ),
        ("tests/test_autograd.py",),
    ),
    Task(
        "unbroadcast",
        "sum a broadcast gradient back to its input's shape",
        "an input of shape (3, 1) added to one of shape (2, 3, 4) was used 2 * 4 times per element: "
        "sum grad over the axes broadcasting added in front, and (with keepdims) over the axes where "
        "shape has size 1.",
        (
            Check("unbroadcast_shapes", "shape", 1),
            Check("unbroadcast_values", "values", 2),
            Check("unbroadcast_gradcheck", "gradcheck", 2),
            Check("unbroadcast_training", "training", 1),
        ),
        ("tests/test_properties.py -k broadcasting", "tests/test_autograd.py -k broadcast"),
    ),
    Task(
        "elementwise",
        "backward of mul, div, exp, log and tanh",
        "backward receives gy = dL/dy and returns dL/dx = gy * dy/dx for each input; the class "
        "docstring gives dy/dx. Use what forward saved on self. Mul and div broadcast: sum each "
        "gradient back to its input's shape with unbroadcast(grad, shape).",
        (
            Check("elementwise_shapes", "shape", 1, ("mul", "div")),
            Check("mul_values", "values", 1, ("mul",)),
            Check("div_values", "values", 1, ("div",)),
            Check("exp_values", "values", 1, ("exp",)),
            Check("log_values", "values", 1, ("log",)),
            Check("tanh_values", "values", 1, ("tanh",)),
            Check("mul_div_gradcheck", "gradcheck", 1, ("mul", "div")),
            Check("exp_log_gradcheck", "gradcheck", 1, ("exp", "log")),
            Check("tanh_gradcheck", "gradcheck", 1, ("tanh",)),
            Check("elementwise_training", "training", 1, ("mul", "div", "tanh")),
        ),
        ('tests/test_ops_registry.py -k "gradcheck and cpu and (-mul- or -div- or -exp- or -log- or -tanh-)"',),
    ),
    Task(
        "matmul",
        "backward of matrix multiplication and of the linear layer",
        "for Y = A @ B: dA = dY @ B^T and dB = A^T @ dY. Treat a 1-D operand as a row (left) or "
        "column (right) matrix, and sum over batch axes that broadcasting added (unbroadcast).",
        (
            Check("matmul_shapes", "shape", 1, ("matmul",)),
            Check("linear_shapes", "shape", 1, ("linear",)),
            Check("matmul_values", "values", 1, ("matmul",)),
            Check("linear_values", "values", 1, ("linear",)),
            Check("matmul_gradcheck", "gradcheck", 2, ("matmul",)),
            Check("linear_gradcheck", "gradcheck", 1, ("linear",)),
            Check("matmul_training", "training", 1, ("linear",)),
        ),
        ('tests/test_ops_registry.py -k "gradcheck and cpu and (-matmul- or -linear-)"',),
    ),
    Task(
        "softmax",
        "backward of softmax and log-softmax",
        "softmax: p = softmax(x) along axis, and dL/dx_i = sum_j g_j dp_j/dx_i with dp_j/dx_i = "
        "p_j (delta_ij - p_i), which sums to p * (g - sum(g * p)). log_softmax: y = x - logsumexp(x), "
        "dy_j/dx_i = delta_ij - p_i, so dx = g - p * sum(g). Sum along self.axis with keepdims.",
        (
            Check("softmax_shapes", "shape", 1, ("softmax",)),
            Check("softmax_values", "values", 1, ("softmax",)),
            Check("log_softmax_values", "values", 1, ("log_softmax",)),
            Check("softmax_gradcheck", "gradcheck", 2),
            Check("softmax_training", "training", 1, ("log_softmax",)),
        ),
        ('tests/test_ops_registry.py -k "gradcheck and cpu and softmax"',),
    ),
    Task(
        "cross_entropy",
        "backward of softmax and cross-entropy in one node",
        "forward saved p = softmax(x) and wt = w * t (class weights times target distribution); "
        "d loss_n / d x_n = (sum_c wt_nc) p_n - wt_n. Then apply the reduction: divide by "
        "self.denominator for 'mean', multiply row n by g[n] for 'none'.",
        (
            Check("cross_entropy_shapes", "shape", 1),
            Check("cross_entropy_values", "values", 2),
            Check("cross_entropy_gradcheck", "gradcheck", 3),
            Check("cross_entropy_training", "training", 2),
        ),
        ("tests/test_losses.py -k cross_entropy",),
    ),
    Task(
        "embedding",
        "backward of the embedding lookup (scatter-add)",
        "dW starts at zeros of the table's shape; row k gets the sum of gy at every position whose "
        "id is k. Ids repeat, so gw[ids] += rows would drop repeats: use scatter_add. The "
        "padding_idx row gets no gradient.",
        (
            Check("embedding_shapes", "shape", 1),
            Check("embedding_values", "values", 2),
            Check("embedding_gradcheck", "gradcheck", 2),
            Check("embedding_training", "training", 1),
        ),
        ("tests/test_nn_layers.py -k embedding",),
    ),
    Task(
        "dropout",
        "the keep-mask of inverted dropout",
        "u holds uniform draws in [0, 1): keep an element where u >= p and scale the kept ones by "
        "1 / (1 - p), so every element keeps its expected value. p = 1 drops everything (and must "
        "not divide by zero). Return the mask in like's dtype.",
        (
            Check("dropout_shapes", "shape", 1),
            Check("dropout_values", "values", 2),
            Check("dropout_statistics", "values", 2),
            Check("dropout_training", "training", 1),
        ),
        ("tests/test_nn_layers.py -k dropout", "tests/test_nn_attention.py -k dropout"),
    ),
    Task(
        "layer_norm",
        "backward of layer normalization",
        "forward saved xhat (rows of the normalized groups), r = 1 / sqrt(var + eps) and gamma; "
        "follow the docstring's dx, dgamma, dbeta row by row. Return one gradient per input in "
        "self.inputs (x, then gamma and beta when present), each in its input's shape.",
        (
            Check("layer_norm_shapes", "shape", 1),
            Check("layer_norm_values", "values", 3),
            Check("layer_norm_gradcheck", "gradcheck", 4),
            Check("layer_norm_training", "training", 2),
        ),
        ("tests/test_nn_layers.py -k layer_norm",),
    ),
    Task(
        "penalties",
        "gradients of the L1 and L2 penalties, and L1's proximal step",
        "d|x|/dx = sign(x), 0 at x = 0; d(x^p)/dx = p x^(p-1), and 0 for p = 0 (also at x = 0), "
        "which gives l2_penalty = 1/2 sum w^2 the gradient w. soft_threshold: sign(p) max(|p| - "
        "tau, 0).",
        (
            Check("penalties_shapes", "shape", 1, ("abs", "pow")),
            Check("abs_values", "values", 1, ("abs",)),
            Check("pow_values", "values", 1, ("pow",)),
            Check("soft_threshold_values", "values", 1, ("soft_threshold",)),
            Check("penalties_gradcheck", "gradcheck", 1, ("abs", "pow")),
            Check("penalties_training", "training", 1, ("pow", "soft_threshold")),
        ),
        ("tests/test_nn_layers.py -k penalty", 'tests/test_optim.py -k "soft_threshold or l1"'),
    ),
    Task(
        "lstm",
        "backpropagation through time in the LSTM layer",
        "walk the steps in reverse (step t: rows r : r + n); at each, add the output's gradient gy "
        "to what flows in from step t + 1 (dh[:n], dc[:n]), fill da[r : r + n] with the gradients of "
        "the gate pre-activations (order i, f, g, o), then set dh[:n] and dc[:n] to what flows to step t - 1.",
        (
            Check("lstm_shapes", "shape", 1),
            Check("lstm_values", "values", 3),
            Check("lstm_gradcheck", "gradcheck", 6),
            Check("lstm_training", "training", 3),
        ),
        ("tests/test_nn_recurrent.py -k lstm",),
    ),
    Task(
        "attention",
        "backward of scaled dot-product attention",
        "follow the docstring: dV = D^T dO; dP = (dO V^T) * keep, plus g_p; dS = P * (dP - rowsum(dP "
        "* P)); then dQ and dK from dS (self.q is already scaled). Either upstream gradient may be "
        "None; sum over broadcast batch axes with unbroadcast.",
        (
            Check("attention_shapes", "shape", 1),
            Check("attention_values", "values", 3),
            Check("attention_gradcheck", "gradcheck", 6),
            Check("attention_training", "training", 3),
        ),
        ("tests/test_nn_attention.py",),
    ),
    Task(
        "sgd",
        "the SGD step with momentum, dampening, Nesterov and weight decay",
        "follow the class docstring line by line. Keep the momentum buffer in state (it persists "
        "between steps); set v to it (None without momentum) and delta to the change of p.",
        (
            Check("sgd_shapes", "shape", 1),
            Check("sgd_values", "values", 3),
            Check("sgd_training", "training", 2),
        ),
        ('tests/test_optim.py -k "sgd or SGD"',),
    ),
    Task(
        "adam",
        "the Adam and AdamW step",
        "follow the class docstring: create state step, exp_avg, exp_avg_sq (and max_exp_avg_sq "
        "for amsgrad) on the first step; define m, v, v_used, bias_correction1 and "
        "bias_correction2 and delta. self.decoupled is True for AdamW.",
        (
            Check("adam_shapes", "shape", 1),
            Check("adam_values", "values", 3, ("adam",)),
            Check("adamw_values", "values", 1, ("adamw",)),
            Check("adam_training", "training", 3, ("adam",)),
        ),
        ('tests/test_optim.py -k "adam or Adam"',),
    ),
)

BY_ID = {t.id: t for t in TASKS}


def select(ids: list[str] | tuple[str, ...] | None) -> list[Task]:
    """The tasks with these ids, in table order (all of them for None); unknown ids raise."""
    if ids is None:
        return list(TASKS)
    unknown = [i for i in ids if i not in BY_ID]
    if unknown:
        raise ValueError(
            f"unknown task id{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))}; "
            f"the tasks are: {', '.join(BY_ID)}"
        )
    wanted = set(ids)
    return [t for t in TASKS if t.id in wanted]


def table() -> str:
    """The task table as text: id, points, title and how each is checked."""
    rows = [("TASK", "POINTS", "TITLE", "CHECKS")]
    for t in TASKS:
        rows.append((t.id, str(t.points), t.title, ", ".join(f"{c.name} ({c.points})" for c in t.checks)))
    rows.append(("TOTAL", str(sum(t.points for t in TASKS)), "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return "\n".join(
        f"{r[0]:<{widths[0]}} | {r[1]:>{widths[1]}} | {r[2]:<{widths[2]}} | {r[3]}".rstrip(" |") for r in rows
    )
