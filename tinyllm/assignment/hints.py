"""What a student copy says about each task, at each hint level, and the tasks' written questions.

``tinyllm assignment make --hints LEVEL`` chooses how much of the solution the copy gives away:

- ``full``: the source as it is: each docstring holds the forward *and* the backward formula,
  and the task's hint (in :mod:`~tinyllm.assignment.tasks`) says how to write it;
- ``outline``: the docstring of every function or class that holds an assigned region states
  the forward computation, the shapes and *what* to derive (which gradients, of what, with
  respect to what), and points to the lesson that derives a similar result, without the
  backward formula; the hint says what to derive;
- ``none``: the docstring states only the contract (inputs, outputs, shapes, dtypes, what to
  return); there is no hint.

The texts are keyed by task id and by the qualified name of the function or class whose
docstring they replace (``"Mul"``, ``"unbroadcast"``, ``"LSTMLayer"``). ``make`` refuses a level
for which an assigned region has no text, so a new region cannot ship its formulas by
omission. ``SCRUBS`` takes out formulas that live elsewhere than the replaced docstrings (a
module docstring, a comment in ``forward``, a sibling's docstring) and would give a task away.
"""

from __future__ import annotations

from dataclasses import dataclass

LEVELS = ("full", "outline", "none")
#: The file students write their answers to the written questions in, at the copy's root.
ANSWERS = "answers.md"


@dataclass(frozen=True)
class Doc:
    """The docstring of one function or class at the ``outline`` and ``none`` levels."""

    outline: str
    none: str


@dataclass(frozen=True)
class Scrub:
    """At ``outline`` and ``none``, the text ``old`` of ``file`` becomes ``new`` (``old`` must occur once)."""

    file: str
    old: str
    new: str


_BACKWARD = "backward(gy) takes gy = dL/dy"
_LESSON_00 = "lessons/00_autograd.py, section 1 (A function small enough to differentiate by hand)"
_LESSON_00_WALK = "lessons/00_autograd.py, section 3 (The backward pass, node by node)"
_LESSON_01 = "lessons/01_objective.py, section 3 (the gradient of softmax + cross-entropy)"
_LESSON_03 = "lessons/03_regularization.py, the introduction and section 2 (Training with a regularizer)"
_LESSON_04_MOMENTUM = "lessons/04_training.py, section 1 (Three optimizers on an ill-conditioned valley)"
_LESSON_04_ADAM = "lessons/04_training.py, section 3 (Adam's bias correction, derived)"
_LESSON_08 = "lessons/08_lstm_classifier.py, section 6 (One step of backpropagation through time, by hand)"
_LESSON_09 = "lessons/09_attention.py, section 3 (The backward pass, derived)"


def _unary(forward: str, saved: str, derive: str) -> Doc:
    """The texts of an elementwise op of one input."""
    return Doc(
        outline=f"""{forward}, elementwise; forward saves {saved}.

        Derive: dL/dx from gy = dL/dy (both of x's shape), {derive}

        A similar result, derived by hand: {_LESSON_00}.""",
        none=f"""{forward}, elementwise.

        {_BACKWARD} (x's shape) and returns dL/dx, of x's shape and dtype.""",
    )


def _binary(forward: str, saved: str, derive: str) -> Doc:
    """The texts of a broadcasting elementwise op of two inputs."""
    return Doc(
        outline=f"""{forward}, elementwise; a and b broadcast against each other, y has the broadcast shape.

        Forward saves {saved}. Derive: dL/da and dL/db from gy = dL/dy, {derive} Each comes back in its
        own input's shape: where an input was broadcast, reduce the gradient with unbroadcast.

        A similar result, derived by hand: {_LESSON_00}.""",
        none=f"""{forward}, elementwise; a and b broadcast against each other.

        {_BACKWARD} (y's shape) and returns (ga, gb): dL/da in a's shape and dL/db in b's shape,
        or None for an input that needs no gradient (self.needs_grad(i) is False).""",
    )


#: task id -> qualified name -> the docstring at the outline and none levels.
DOCSTRINGS: dict[str, dict[str, Doc]] = {
    "backward": {
        "topological_order": Doc(
            outline=f"""Every node that ``root`` depends on through a recorded graph, in the order backward needs.

            ``backward`` runs the nodes in the reverse of this list. Work out the order that makes the
            gradient reaching each node complete when it runs, and build it without recursion (a graph
            can be thousands of nodes deep): visit each node once, from ``root.grad_fn`` along
            ``fn.inputs`` (an input with a ``grad_fn`` that requires grad leads to another node), calling
            ``_check_can_backward(fn)`` on each node and ``_check_output_unchanged(inp)`` on each input
            that has a ``grad_fn``. Returns a list of Function nodes.

            The walk done by hand, node by node: {_LESSON_00_WALK}.""",
            none="""Every node that ``root`` depends on through a recorded graph, as a list of Function nodes.

            Returns [] for a tensor without ``grad_fn``. ``backward`` runs the nodes in the reverse of this
            list; it must work for graphs of any depth. Calls ``_check_can_backward(fn)`` on each node and
            ``_check_output_unchanged(inp)`` on each input that has a ``grad_fn``.""",
        ),
        "backward": Doc(
            outline=f"""Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

            ``grad`` (shaped like ``root``) is dL/d(root); omitted, it is 1 for a one-element root. Derive
            the walk: in which order the nodes run, what gradient each node's ``backward`` receives when
            a tensor was used more than once or a node has several outputs (``n_outputs``,
            ``output_nr``), where each input's gradient goes (another node, or a leaf), and what happens
            to ``.grad`` across two backward calls. Without ``retain_graph`` every node is freed
            (``fn.release()``) once it has run. Leaves get their gradients through
            ``_accumulate_grad(leaf, g, handed_out)``.

            The walk done by hand, node by node: {_LESSON_00_WALK}.""",
            none="""Accumulate d(root)/d(leaf) into ``leaf.grad`` for every leaf that requires grad.

            ``grad`` (shaped like ``root``) is dL/d(root); omitted, it is 1 for a one-element root. Each
            node's ``backward(*output_grads)`` returns one gradient per input (None for none). Leaves get
            theirs through ``_accumulate_grad(leaf, g, handed_out)``; without ``retain_graph`` every node
            is released (``fn.release()``) after it ran. Returns None.""",
        ),
    },
    "softmax": {
        "Softmax": Doc(
            outline=f"""p_i = exp(x_i - m) / sum_j exp(x_j - m) along ``axis`` (m: the maximum, for stability).

            Forward saves p (x's shape) and the axis. Derive: dL/dx from g = dL/dp, of x's shape. Each
            p_j depends on every x_i of its slice, so start from the Jacobian dp_j/dx_i and sum over j.

            A similar result, derived by hand: {_LESSON_01}.""",
            none="""p_i = exp(x_i - m) / sum_j exp(x_j - m) along ``axis``.

            backward(g) takes g = dL/dp (x's shape) and returns dL/dx, of x's shape and dtype.""",
        ),
        "LogSoftmax": Doc(
            outline=f"""y_i = x_i - log(sum_j exp(x_j)) along ``axis``, computed with the maximum shifted out.

            Forward saves p = softmax(x) (x's shape) and the axis. Derive: dL/dx from g = dL/dy, of x's
            shape; start from dy_j/dx_i.

            A similar result, derived by hand: {_LESSON_01}.""",
            none="""y_i = x_i - log(sum_j exp(x_j)) along ``axis``.

            backward(g) takes g = dL/dy (x's shape) and returns dL/dx, of x's shape and dtype.""",
        ),
    },
    "elementwise": {
        "Mul": _binary("y = a * b", "a and b", "the gradient of a product with respect to each factor."),
        "Div": _binary(
            "y = a / b",
            "b, y = a / b and a's shape",
            "writing dL/db with the saved y, so that backward needs neither a nor a new division by b^2.",
        ),
        "Exp": _unary("y = exp(x)", "y", "written with the saved y (no new exponential)."),
        "Log": _unary("y = ln(x) for x > 0", "x", "written with the saved x."),
        "Tanh": _unary("y = tanh(x)", "y", "written with the saved y alone (no new tanh)."),
    },
    "unbroadcast": {
        "unbroadcast": Doc(
            outline=f"""The gradient of an input of shape ``shape`` that broadcasting stretched up to ``grad.shape``.

            In the forward pass, broadcasting added axes in front of the input and repeated it along
            its size-1 axes, so each of its elements was used at several places of the result; grad
            holds the gradient of the loss at every one of those places. Derive how the gradients of
            the uses of one element combine into the gradient of that element, and over which axes of
            grad that happens. Returns an array of exactly ``shape``.

            A similar result, derived by hand: {_LESSON_00}, where b reaches f along two paths: see
            what becomes of the two contributions.""",
            none="""The gradient of an input of shape ``shape`` that broadcasting stretched up to ``grad.shape``.

            grad: the gradient of the broadcast result; shape: a shape that broadcasts to grad.shape.
            Returns an array of exactly ``shape``, in grad's dtype.""",
        ),
    },
    "matmul": {
        "MatMul": Doc(
            outline=f"""Y = A @ B over the last two axes, A: (..., n, k), B: (..., k, m), Y: (..., n, m).

            Leading (batch) axes broadcast. A 1-D A is a row vector (1, k) and a 1-D B a column
            vector (k, 1), and the added axis is dropped from Y, as in NumPy. Forward saves a and b.

            Derive: dL/dA and dL/dB from dY = gy, each as a matrix product of dY with the other
            operand (write one element, Y_ij = sum_l A_il B_lj, and differentiate it; then check
            the shapes). Sum over the batch axes that broadcasting added (unbroadcast), and return
            each gradient in its input's exact shape, 1-D operands included.

            A similar result, derived: {_LESSON_09}: the gradients of O = PV and of S = QK^T.""",
            none=f"""Y = A @ B over the last two axes; leading axes broadcast; 1-D operands as in NumPy.

            {_BACKWARD} (Y's shape) and returns (dL/dA, dL/dB), each in its input's shape, or
            None for an input that needs no gradient (self.needs_grad(i) is False).""",
        ),
        "Linear": Doc(
            outline=f"""Y = X W^T + b, the affine map of a fully connected layer.

            X: (..., in), W: (out, in), b: (out,) (optional), Y: (..., out). Forward folds the
            leading axes of X into one: it saves x, w and n, the number of rows of the (n, in)
            matrix that X becomes.

            Derive: dL/dX, dL/dW and dL/db from dY = gy, each as one matrix product or one sum
            over the n rows. The inputs are x, w and b when given: return one gradient per input
            (two or three), each in its input's shape, None where self.needs_grad(i) is False.

            A similar result, derived: {_LESSON_09}: the gradients of a matrix product.""",
            none=f"""Y = X W^T + b: X (..., in), W (out, in), b (out,) optional, Y (..., out).

            {_BACKWARD} (Y's shape) and returns one gradient per input, (dL/dX, dL/dW) or
            (dL/dX, dL/dW, dL/db), each in its input's shape, or None for an input that needs no
            gradient (self.needs_grad(i) is False).""",
        ),
    },
    "cross_entropy": {
        "SoftmaxCrossEntropy": Doc(
            outline=f"""Cross-entropy of logits x: (N, C) against class ids or class probabilities.

            With log p = log_softmax(x), smoothing eps and class weights w (all ones if none), the
            target distribution of sample n is t_n = (1 - eps) onehot(y_n) + eps / C (class ids) or
            (1 - eps) y_n + eps / C (probabilities), and loss_n = -sum_c w_c t_nc log p_nc. Samples
            whose id is ``ignore_index`` count zero. ``reduction`` "mean" divides the sum by the
            total weight of the counted samples' classes (class ids) or by N (probabilities);
            "sum" sums; "none" returns loss_n. Forward saves p = softmax(x) (N, C), wt = w * t (N, C)
            (rows of zeros for ignored samples), the reduction and, for "mean", the denominator.

            Derive: d loss_n / d x_n, the gradient of one sample's loss with respect to its logits,
            in terms of p_n and wt_n (mind that sum_c wt_nc is not always 1); then the factor each
            reduction puts on it (g is 0-d for "mean" and "sum", (N,) for "none"). When nothing is
            counted (the denominator is 0) the gradient is zero, as in PyTorch.

            A similar result, derived: {_LESSON_01}, for one unweighted sample.""",
            none="""Cross-entropy of logits x: (N, C) against class ids or class probabilities.

            With log p = log_softmax(x), smoothing eps and class weights w (all ones if none), the
            target distribution of sample n is t_n = (1 - eps) onehot(y_n) + eps / C (class ids) or
            (1 - eps) y_n + eps / C (probabilities), and loss_n = -sum_c w_c t_nc log p_nc. Samples
            whose id is ``ignore_index`` count zero. ``reduction`` "mean" divides the sum by the
            total weight of the counted samples' classes (class ids) or by N (probabilities);
            "sum" sums; "none" returns loss_n.

            backward(g) takes g, the gradient of the returned loss (0-d for "mean" and "sum", (N,)
            for "none"), and returns dL/dx of shape (N, C) in x's dtype; zero when nothing is
            counted.""",
        ),
    },
    "embedding": {
        "Embedding": Doc(
            outline=f"""Y[..., :] = W[ids[...], :], a row of the table for every id.

            W: (V, C), ids: integers of any shape, Y: ids.shape + (C,). Forward saves ids, W's
            shape and padding_idx. The row ``padding_idx``, if given, gets no gradient.

            Derive: dL/dW, of W's shape, from dY = gy: which rows of W each position of Y used,
            and what a row that several positions used receives (ids repeat). Mind NumPy's
            fancy-index assignment when an index repeats.

            A similar result, derived by hand: {_LESSON_00}, where b is used twice.""",
            none=f"""Y[..., :] = W[ids[...], :]: W (V, C), ids integers of any shape, Y ids.shape + (C,).

            {_BACKWARD} (Y's shape) and returns dL/dW, of shape (V, C) in gy's dtype, whose row
            ``padding_idx`` (if not None) is all zeros.""",
        ),
    },
    "dropout": {
        "dropout_keep_mask": Doc(
            outline=f"""The keep-mask of inverted dropout, of ``shape`` in ``like``'s dtype.

            Each element is kept with probability 1 - p and dropped (0) with probability p; a kept
            element carries one scale, the same for all, chosen so that x * mask has the expected
            value of x, element by element. u, already drawn from the default generator of like's
            device, holds uniform numbers in [0, 1): decide keep or drop from u.

            Derive: the scale, from E[mask] = 1. p = 1 drops everything (and must not divide by
            zero). Return the mask in like's dtype.

            A similar result (a factor derived from an expectation): {_LESSON_04_ADAM}.""",
            none="""The keep-mask of inverted dropout, of ``shape`` in ``like``'s dtype.

            u (already drawn) holds uniform numbers in [0, 1), one per element. x * mask zeroes
            each element with probability p and keeps the expected value of every element
            (E[mask] = 1); p = 1 gives all zeros.""",
        ),
    },
    "layer_norm": {
        "LayerNorm": Doc(
            outline=f"""y = (x - mu) / sqrt(var + eps) * gamma + beta over the last ``n`` axes of x.

            mu and var are the mean and the biased variance over those axes: forward reshapes x to
            (rows, C), one row per normalized group, and saves xhat = (x - mu) * r (rows, C),
            r = 1 / sqrt(var + eps) (rows, 1), gamma flattened to (C,) (None without it) and x's
            shape. Inputs are ``x`` and then ``gamma`` and ``beta`` when present (``affine`` says
            which).

            Derive: dL/dx from dy = gy, row by row. Every output of a row depends on every input
            of the row, also through mu and var: follow each path and simplify with xhat. Then
            dL/dgamma and dL/dbeta (sums over the rows). Return one gradient per input, each in
            its input's shape, None where self.needs_grad(i) is False.

            A similar result, derived: {_LESSON_09}, the softmax's backward: another map whose
            every output depends on every input of its row.""",
            none=f"""y = (x - mu) / sqrt(var + eps) * gamma + beta over the last ``n`` axes of x.

            mu and var are the mean and the biased variance over those axes. Inputs are ``x`` and
            then ``gamma`` and ``beta`` when present (``affine`` says which), both of the
            normalized axes' shape. {_BACKWARD} (x's shape) and returns one gradient per input,
            each in its input's shape, or None for an input that needs no gradient.""",
        ),
    },
    "lstm": {
        "LSTMLayer": Doc(
            outline=f"""An LSTM layer run over a packed batch of sequences, from the state (h0, c0): (B, H) each.

            At every step t, with gates in PyTorch's order (i, f, g, o):

                [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{{t-1}} W_hh^T + b_hh
                i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
                c_t = f * c_{{t-1}} + i * g;   h_t = o * tanh(c_t)

            x: (N, I) holds the steps' inputs one after another, as in a PackedSequence: the
            batch is sorted longest first, step t has ``batch_sizes[t]`` rows (the sequences
            still running, always the first ones), at rows r : r + n. A sequence that has ended
            keeps its state. Forward saves the gate values acts (N, 4H) (i, f, o after their
            sigmoid, g after its tanh), the cells cs and tanh(c) tanh_cs (N, H); backward also has
            each row's previous state, h_prev and c_prev (N, H).

            Backward runs the steps in reverse (backpropagation through time): it fills da (N, 4H)
            with the gradients of every step's pre-activations (order i, f, g, o) and leaves in dh
            and dc (B, H) the gradients of h0 and c0 (they start as those of h_n and c_n); the
            weight gradients are then single products over all steps (written after the walk).
            Derive, for one step: from what reaches h_t and c_t (from the output at step t and
            from step t + 1), the gradients of the four pre-activations, and what flows on to
            h_{{t-1}} and c_{{t-1}}.

            A similar result, derived: {_LESSON_08}, for one step of one cell.

            Inputs: x, h0, c0, w_ih (4H, I), w_hh (4H, H), then b_ih and b_hh (4H,) if
            ``bias``. Outputs: y (N, H) (packed like x), h_n (B, H), c_n (B, H).""",
            none="""An LSTM layer run over a packed batch of sequences, from the state (h0, c0): (B, H) each.

            At every step t, with gates in PyTorch's order (i, f, g, o):

                [a_i, a_f, a_g, a_o] = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh
                i, f, o = sigmoid(a_i), sigmoid(a_f), sigmoid(a_o);   g = tanh(a_g)
                c_t = f * c_{t-1} + i * g;   h_t = o * tanh(c_t)

            x: (N, I) holds the steps' inputs one after another, as in a PackedSequence (step t
            has ``batch_sizes[t]`` rows, the sequences still running, at rows r : r + n).

            Backward must fill da (N, 4H) with the gradients of the loss with respect to every
            step's pre-activations, order i, f, g, o, and leave in dh and dc (B, H) the gradients
            with respect to h0 and c0 (they start as those of h_n and c_n).

            Inputs: x, h0, c0, w_ih (4H, I), w_hh (4H, H), then b_ih and b_hh (4H,) if
            ``bias``. Outputs: y (N, H) (packed like x), h_n (B, H), c_n (B, H).""",
        ),
    },
    "attention": {
        "Attention": Doc(
            outline=f"""O = dropout(P) V with P = softmax(S), S = scale * Q K^T (+ mask), over the last two axes.

            Q: (..., L, E), K: (..., S, E), V: (..., S, Ev); leading axes broadcast. ``mask`` is
            optional: a bool array (True where a query may attend to a key; False becomes -inf in
            S) or a float array added to S; a query whose keys are all masked gets all-zero
            weights. ``keep`` is optional: dropout's mask, already scaled, so that
            dropout(P) = P * keep. Outputs O and P (the weights, before dropout).

            Forward saves q (already multiplied by scale), k, v, p, d = dropout(P), keep and scale.

            Derive: dL/dQ, dL/dK and dL/dV from g_o = dL/dO and g_p = dL/dP (either may be None),
            backwards through O = D V, through the dropout, through the row-wise softmax and
            through the scaled product. Sum over broadcast batch axes (unbroadcast).

            A similar result, derived: {_LESSON_09}, for one head without dropout.""",
            none="""O = dropout(P) V with P = softmax(S), S = scale * Q K^T (+ mask), over the last two axes.

            Q: (..., L, E), K: (..., S, E), V: (..., S, Ev); leading axes broadcast. ``mask``:
            optional, bool (True where a query may attend) or float (added to S). ``keep``:
            optional, dropout's scaled mask, dropout(P) = P * keep. Outputs O and P.

            backward(g_o, g_p) takes the gradients of O and P (either may be None) and returns
            (dL/dQ, dL/dK, dL/dV), each in its input's shape, or None for an input that needs no
            gradient (self.needs_grad(i) is False).""",
        ),
    },
    "sgd": {
        "SGD": Doc(
            outline=f"""Stochastic gradient descent with PyTorch's options: p <- p + delta, delta = -lr * d.

            g is the gradient (negated if ``maximize``); ``weight_decay`` adds L2 regularization
            to g (coupled: before momentum); ``momentum`` keeps a velocity buffer v in
            state["momentum_buffer"] between steps, started from the first step's gradient (not
            from zero); ``dampening`` shrinks the share of each new gradient that v takes in;
            ``nesterov`` steps along the gradient plus a look-ahead along v instead of along v.

            Work out the rule: what d is for plain SGD, momentum and Nesterov, and in which order
            weight decay, the buffer and the look-ahead act, to match torch.optim.SGD (its
            documentation gives the algorithm; with PyTorch installed, the visible tests compare with it).

            A similar result: {_LESSON_04_MOMENTUM}, momentum's update and what it does.
            ``l1``: see :class:`Optimizer`.""",
            none="""Stochastic gradient descent with PyTorch's options and update rule: p <- p + delta.

            Hyperparameters lr, momentum, dampening, weight_decay, nesterov, maximize, as in
            torch.optim.SGD, to the order of operations. ``update`` sets delta, the change of p,
            and v, the momentum buffer (None without momentum), which persists between steps in
            state["momentum_buffer"]. ``l1``: see :class:`Optimizer`.""",
        ),
    },
    "adam": {
        "Adam": Doc(
            outline=f"""Adam (Kingma and Ba, 2015). With g the gradient (negated if ``maximize``) at step t:

                g <- g + weight_decay * p                     (L2, coupled: it goes through m and v)
                m <- beta1 * m + (1 - beta1) * g              (first moment: a running mean of g)
                v <- beta2 * v + (1 - beta2) * g^2            (second moment: a running mean of g^2)
                p <- p + delta,   delta = -lr * m_hat / (sqrt(v_hat) + eps)

            m and v start at 0 (state "exp_avg" and "exp_avg_sq", with "step" = t), so in the
            first steps they are pulled toward 0. m_hat and v_hat are m and v divided by the
            factors that remove that bias. With ``amsgrad``, v_hat uses the largest v so far
            (state "max_exp_avg_sq"); ``self.decoupled`` (AdamW) takes the decay out of g and
            shrinks p by lr * weight_decay * p in delta instead.

            Derive: the two bias corrections (bias_correction1 and bias_correction2, the divisors
            of m and v), assuming every g_t has the same mean. Define m, v, v_used (the v that
            v_hat uses), bias_correction1, bias_correction2 and delta.

            A similar result, derived: {_LESSON_04_ADAM}.""",
            none="""Adam (Kingma and Ba, 2015) and, with ``self.decoupled``, AdamW: PyTorch's rule and options.

            Hyperparameters lr, betas = (beta1, beta2), eps, weight_decay, amsgrad, maximize, as in
            torch.optim.Adam and torch.optim.AdamW. State: "step", "exp_avg" (m), "exp_avg_sq" (v)
            and, with amsgrad, "max_exp_avg_sq", created on the first step. ``update`` defines m, v,
            v_used (the second moment the step uses), bias_correction1 and bias_correction2 (what
            m and v_used are divided by) and delta, the change of p.""",
        ),
    },
    "penalties": {
        "PowScalar": Doc(
            outline=f"""y = x^p for a Python number p; forward saves x and p.

            Derive: dL/dx from gy = dL/dy (x's shape). For p = 0, y = 1 for every x: the gradient
            must be 0 everywhere, also at x = 0, where the general formula would form 0 * inf.

            A similar result, derived by hand: {_LESSON_00}.""",
            none=f"""y = x^p for a Python number p, elementwise.

            {_BACKWARD} (x's shape) and returns dL/dx of x's shape, with no NaN for p = 0 (then
            y = 1 everywhere and the gradient is 0, also at x = 0).""",
        ),
        "Abs": Doc(
            outline=f"""y = |x|, elementwise; forward saves x.

            Derive: dL/dx from gy = dL/dy. |x| has no derivative at x = 0: take 0 there, as
            PyTorch does.

            A similar result, derived by hand: {_LESSON_00}.""",
            none=f"""y = |x|, elementwise.

            {_BACKWARD} (x's shape) and returns dL/dx of x's shape, 0 where x = 0 (as in PyTorch).""",
        ),
        "soft_threshold": Doc(
            outline=f"""The proximal step of tau * |p|: elementwise, the w that minimizes tau |w| + (w - p)^2 / 2.

            Derive: that minimizer, case by case (w > 0, w < 0, w = 0), as a function of p and
            tau, and return it (p's shape and dtype). It is what the optimizers' ``l1`` applies
            after each step.

            Where it is used and what it does to the weights: {_LESSON_03}.""",
            none="""The proximal step of tau * |p| (soft thresholding), elementwise.

            p: an array; tau: a number >= 0. Returns, in p's shape and dtype, the w that minimizes
            tau |w| + (w - p)^2 / 2 at every element.""",
        ),
    },
}

#: task id -> the hint at the outline level (STUDENTS.md and the stub's comment): what to derive, and where
#: a similar result is derived. At ``full`` the hint is the task table's; at ``none`` there is none.
OUTLINE_HINTS: dict[str, str] = {
    "backward": "work out the order in which the nodes must run, how the gradients of a tensor used twice "
    "combine, where each input's gradient goes, and when to free a node; build the order without recursion. "
    f"By hand: {_LESSON_00_WALK}.",
    "softmax": "derive the Jacobian of softmax (and of log-softmax) along one axis and contract it with the "
    f"upstream gradient, without forming the Jacobian. See {_LESSON_01}.",
    "elementwise": "derive the derivative of each op with respect to each input and multiply gy by it; "
    "mul and div broadcast, so reduce each gradient to its input's shape with unbroadcast. "
    f"Chain rule by hand: {_LESSON_00}.",
    "unbroadcast": "work out what the gradient of an element is when broadcasting used it at several places "
    f"of the result, and over which axes of grad that happens. See {_LESSON_00}: two paths to b.",
    "matmul": "derive dL/dA and dL/dB for Y = A @ B one element at a time, then write them as matrix products "
    f"and check the shapes; Linear is the same with the bias. See {_LESSON_09}.",
    "cross_entropy": "derive the gradient of one sample's loss with respect to its logits, with class weights "
    f"and smoothing, then apply the reduction. See {_LESSON_01}.",
    "embedding": "work out which table rows each output position used and what a row used several times "
    f"receives; ids repeat. See {_LESSON_00}.",
    "dropout": "derive the scale of the kept elements from E[mask] = 1, and handle p = 1. "
    f"A factor derived from an expectation: {_LESSON_04_ADAM}.",
    "layer_norm": "derive dx row by row through all three paths (direct, through the mean, through the "
    f"variance), then dgamma and dbeta. A row-coupled backward: {_LESSON_09}, the softmax.",
    "lstm": "derive one reverse step: from the gradients reaching h_t and c_t to the gate pre-activations, "
    f"and on to h_(t-1) and c_(t-1). One step of one cell, by hand: {_LESSON_08}.",
    "attention": "derive dQ, dK, dV backwards through the product with V, the dropout, the row-wise "
    f"softmax and the scaled product Q K^T. See {_LESSON_09}.",
    "sgd": "work out PyTorch's SGD rule: the momentum buffer's first step, dampening, Nesterov's look-ahead "
    "and where weight decay enters, as torch.optim.SGD has them (with PyTorch installed, the visible tests "
    f"compare with it). See {_LESSON_04_MOMENTUM}.",
    "adam": "derive the bias corrections of m and v (their divisors) from the expectation of a running mean "
    f"started at zero; the rest follows the class docstring. See {_LESSON_04_ADAM}.",
    "penalties": "derive the gradients of x^p (mind p = 0) and of |x| (0 at x = 0), and the minimizer of "
    f"tau |w| + (w - p)^2 / 2 for soft_threshold. See {_LESSON_03}.",
}

#: task id -> the written questions: answered in answers.md, read by the instructor, not scored.
QUESTIONS: dict[str, tuple[str, ...]] = {
    "backward": (
        "Why must a node run only after every node that uses its output? Draw a small graph where another "
        "order gives a wrong gradient.",
        "Why does a leaf add into .grad instead of overwriting it, and why does backward free the graph by default?",
    ),
    "softmax": (
        "Why is subtracting the row maximum before exp harmless for the output and its gradient?",
        "Your backward never forms the C x C Jacobian. How many operations does it take per row, and how "
        "many would multiplying by the Jacobian take?",
    ),
    "elementwise": (
        "Each op saves in forward exactly what its backward reads (the output for some ops, the inputs "
        "for others). Why save it rather than recompute it in backward, and what does saving cost?",
        "Mul's backward skips the gradient of an input that does not need one. What does that save, "
        "and where in a model does it matter?",
    ),
    "unbroadcast": (
        "Why does unbroadcast sum the gradient over the broadcast axes rather than average it?",
        "Name a parameter of a transformer that is broadcast in the forward pass, and the axes its "
        "gradient is reduced over.",
    ),
    "matmul": (
        "How can the shapes alone tell you which products give dL/dA and dL/dB? Why is a shape check "
        "necessary but not sufficient?",
        "Linear folds the leading axes into one before its products. Why is the result the same as a "
        "batched product, and why is it faster?",
    ),
    "cross_entropy": (
        "Why is the gradient of softmax and cross-entropy taken in one node numerically safer than "
        "chaining the softmax's backward with the logarithm's?",
        "With label smoothing, what is a sample's gradient once the model predicts the smoothed target "
        "exactly? What does that say about how confident smoothing lets a model become?",
    ),
    "embedding": (
        "Why does `gw[ids] += rows` give a wrong gradient when an id repeats in a batch?",
        "Why does the padding_idx row get no gradient, and what would happen to it during training if it did?",
    ),
    "dropout": (
        "Why does inverted dropout rescale the kept activations while training rather than rescale the "
        "outputs at test time? Give a practical advantage.",
        "What must dropout return for p = 1, and why must that case be handled on its own?",
    ),
    "layer_norm": (
        "Show that each row of dL/dx sums to zero over the normalized axes. Why must it, given what "
        "layer norm's output does not depend on?",
        "Why does forward save xhat and r rather than x, mu and var?",
    ),
    "lstm": (
        "Compare how the gradient travels from step t back to step t - 1 through the cell state with "
        "how it travels in a plain RNN. Why can an LSTM learn longer-range dependencies?",
        "The weight gradients are computed after the reverse loop, as one product over all steps. Why "
        "is that possible, and why is it faster than accumulating them step by step?",
    ),
    "attention": (
        "A masked score gets weight 0 in P. Why does it then get zero gradient in S, without any "
        "special handling in the backward pass?",
        "Why does the softmax's backward never form a row's Jacobian matrix? Compare the memory a "
        "Jacobian would take for L = S = 1024 with what your backward uses.",
    ),
    "sgd": (
        "Weight decay here is added to the gradient before the momentum buffer. How does that differ "
        "from shrinking the weights directly, and for which optimizer does the difference matter?",
        "What does Nesterov momentum anticipate, and why can it damp oscillations better than plain momentum?",
    ),
    "adam": (
        "Why does Adam need bias correction, and why does its effect fade after the first steps "
        "(faster for m than for v)?",
        "How large is Adam's very first step in each coordinate, whatever the scale of the gradient? Why?",
        "Adam's weight_decay goes through m and v; AdamW's does not. Which weights does Adam's decay "
        "shrink less, and why?",
    ),
    "penalties": (
        "|x| has no derivative at 0. Why is 0 a valid choice there?",
        "Why does the proximal step set small weights to exactly zero, while gradient steps on "
        "lam * |w| only make them oscillate around zero?",
    ),
}

#: task id -> formulas outside the replaced docstrings that would give the task away at outline and none.
SCRUBS: dict[str, tuple[Scrub, ...]] = {
    "backward": (
        Scrub(
            "tinyllm/autograd.py",
            "in reverse topological order: a node runs only\nafter every node that used its outputs, so the "
            "gradient reaching it is complete.",
            "in an order that\nmakes the gradient reaching each node complete when it runs.",
        ),
    ),
    "softmax": (
        Scrub(
            "tinyllm/ops/softmax.py",
            "    softmax:      dx = p * (g - sum(g * p))\n    log_softmax:  dx = g - p * sum(g)\n",
            "",
        ),
    ),
    "unbroadcast": (
        Scrub(
            "tinyllm/ops/elementwise.py",
            "with :func:`unbroadcast`: a value that was used k times gets the sum of its\nk gradients.",
            "with :func:`unbroadcast`.",
        ),
    ),
    "dropout": (
        Scrub(
            "tinyllm/nn/functional/layers.py",
            "the survivors are scaled\n    by 1 / (1 - p), so the expected value",
            "the survivors are scaled\n    so that the expected value",
        ),
        Scrub("tinyllm/nn/layers.py", "(survivors scaled by 1/(1-p))", "(survivors scaled up)"),
        Scrub("tinyllm/fused/attention.py", "scaled by 1 / (1 - p), so that", "scaled, so that"),
    ),
    "penalties": (
        Scrub(
            "tinyllm/nn/functional/layers.py",
            "its (sub)gradient is lam * sign(w):\n    a constant pull toward zero",
            "it pulls every weight\n    toward zero with the same strength",
        ),
        Scrub(
            "tinyllm/nn/functional/layers.py",
            "The 1/2 makes its gradient w itself, so ``loss + lam * l2_penalty(params)`` gives",
            "With the 1/2, ``loss + lam * l2_penalty(params)`` gives",
        ),
    ),
    "adam": (
        Scrub(
            "tinyllm/optim/adam.py",
            "        delta = -lr * m_hat / (sqrt(v_hat) + eps) - lr * weight_decay * p   (no L2 term in g)\n",
            "        the decay does not go through g, m and v: the step shrinks p directly\n",
        ),
    ),
}


def docstring(task: str, name: str, level: str) -> str | None:
    """The docstring of ``name`` (a function or class holding ``task``'s code) at ``level``, None if unwritten."""
    doc = DOCSTRINGS.get(task, {}).get(name)
    return None if doc is None else getattr(doc, level)


def hint(task: str, full: str, level: str) -> str | None:
    """The task's hint at ``level``: ``full`` (the task table's) as it is, "" at ``none``; None if unwritten."""
    return {"full": full, "outline": OUTLINE_HINTS.get(task), "none": ""}[level]
