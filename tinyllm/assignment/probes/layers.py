"""Probes of the layers' pieces: softmax, cross-entropy, embedding, dropout and layer norm."""

from __future__ import annotations

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import nn, optim

from .common import Seen, backward, gradients, grads, manual_seed, probe, rng, shape_and_dtype, train

# ----------------------------------------------------------------------------- softmax


@probe
def softmax_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 30)
    for dim in (0, -1):  # log_softmax's shapes are checked with its values
        x = tl.tensor(r.standard_normal((2, 3, 4)).astype(np.float32), requires_grad=True)
        (F.softmax(x, dim=dim) * tl.tensor(r.standard_normal((2, 3, 4)).astype(np.float32))).sum().backward()
        shape_and_dtype(seen, f"softmax along dim {dim}", x.grad)


def _along_dims(seen: Seen, fn: object, r: np.random.Generator) -> None:
    for dim in (1, 0):
        x, u = r.standard_normal((3, 5)) * 2, r.standard_normal((3, 5))
        seen(f"{fn.__name__}(x, dim={dim}): dL/dx", grads(lambda t, d=dim: fn(t, dim=d), x, u=u)[0])  # type: ignore[operator, attr-defined]


@probe
def softmax_values(seen: Seen, seed: int) -> None:
    _along_dims(seen, F.softmax, rng(seed, 31))


@probe
def log_softmax_values(seen: Seen, seed: int) -> None:
    _along_dims(seen, F.log_softmax, rng(seed, 32))


@probe
def softmax_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 33)
    x, w = r.standard_normal((2, 3, 4)), r.standard_normal((2, 3, 4))
    gradients(seen, "softmax(x) * w along dim 1", lambda a, b: F.softmax(a, dim=1) * b, [x, w], ["x", ""], seed)
    t = r.integers(0, 4, (2, 3))
    onehot = np.eye(4)[t]
    gradients(seen, "-(log_softmax(x) * onehot).sum(): cross-entropy by hand",
              lambda a, h: -(F.log_softmax(a, dim=-1) * h).sum(), [x, onehot], ["x", ""], seed)  # fmt: skip


@probe
def softmax_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 34)
    manual_seed(seed)
    centers = r.standard_normal((3, 2)) * 2
    y = r.integers(0, 3, 90)
    x = tl.tensor(centers[y] + 0.3 * r.standard_normal((90, 2)), dtype=tl.float32)
    onehot = tl.tensor(np.eye(3)[y], dtype=tl.float32)
    model = nn.Linear(2, 3)
    train(seen, "softmax regression with a hand-written cross-entropy",
          lambda: -(F.log_softmax(model(x), dim=1) * onehot).sum(1).mean(), optim.SGD(model.parameters(), lr=0.5),
          60)  # fmt: skip


# ----------------------------------------------------------------------------- cross-entropy


@probe
def cross_entropy_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 35)
    x = tl.tensor(r.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    F.cross_entropy(x, tl.tensor(r.integers(0, 5, 4))).backward()
    shape_and_dtype(seen, "logits (4, 5)", x.grad)
    x3 = tl.tensor(r.standard_normal((2, 5, 3)).astype(np.float32), requires_grad=True)
    F.cross_entropy(x3, tl.tensor(r.integers(0, 5, (2, 3)))).backward()
    shape_and_dtype(seen, "logits (2, 5, 3)", x3.grad)


@probe
def cross_entropy_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 36)
    x, t = r.standard_normal((6, 4)), r.integers(0, 4, 6)
    for reduction in ("mean", "sum"):
        logits = tl.tensor(x, requires_grad=True)
        F.cross_entropy(logits, tl.tensor(t), reduction=reduction).backward()
        seen(f"reduction={reduction!r}: dL/dlogits", logits.grad)


@probe
def cross_entropy_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 37)
    x = r.standard_normal((5, 4)) * 2
    t = r.integers(0, 4, 5)
    t[2] = -100
    w = r.uniform(0.5, 2.0, 4)
    probs = np.exp(r.standard_normal((5, 4)))
    probs /= probs.sum(axis=1, keepdims=True)
    cases = [
        ("class weights and ignore_index", {"weight": tl.tensor(w)}, t),
        ("label smoothing, reduction='sum'", {"label_smoothing": 0.1, "reduction": "sum"}, np.abs(t) % 4),
        ("class probabilities", {}, probs),
        ("reduction='none', weights, smoothing",
         {"weight": tl.tensor(w), "label_smoothing": 0.2, "reduction": "none"}, t),
    ]  # fmt: skip
    for what, kw, target in cases:
        gradients(seen, f"cross_entropy, {what}", lambda a, kw=kw, target=target: F.cross_entropy(
            a, tl.tensor(target), **kw), [x], ["logits"], seed)  # fmt: skip


@probe
def cross_entropy_training(seen: Seen, seed: int) -> None:
    r = rng(seed, 38)
    manual_seed(seed)
    centers = r.standard_normal((3, 2)) * 2
    y = r.integers(0, 3, 120)
    x = tl.tensor(centers[y] + 0.3 * r.standard_normal((120, 2)), dtype=tl.float32)
    model = nn.Linear(2, 3)
    train(seen, "softmax regression", lambda: F.cross_entropy(model(x), tl.tensor(y)),
          optim.SGD(model.parameters(), lr=0.5), 60)  # fmt: skip


# ----------------------------------------------------------------------------- embedding


@probe
def embedding_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 39)
    w = tl.tensor(r.standard_normal((6, 3)).astype(np.float32), requires_grad=True)
    F.embedding(tl.tensor(r.integers(0, 6, (2, 4))), w).sum().backward()
    shape_and_dtype(seen, "F.embedding, weight", w.grad)
    manual_seed(seed)
    layer = nn.Embedding(7, 4)
    layer(tl.tensor([3, 3, 0])).sum().backward()
    shape_and_dtype(seen, "nn.Embedding, weight", layer.weight.grad)


@probe
def embedding_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 40)
    table, ids, u = r.standard_normal((6, 3)), r.integers(0, 6, (3, 4)), r.standard_normal((3, 4, 3))
    ids[0, :2] = ids[1, 0] = 1  # repeats, and the padding row
    for padding_idx in (None, 1):
        w = tl.tensor(table, requires_grad=True)
        backward(F.embedding(tl.tensor(ids), w, padding_idx=padding_idx), [u])
        seen(f"dW with repeated ids, padding_idx={padding_idx}", w.grad)


@probe
def embedding_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 41)
    table = r.standard_normal((5, 3))
    for ids in (r.integers(0, 5, 4), r.integers(0, 5, (2, 2, 3))):
        gradients(seen, f"embedding of ids {ids.shape}", lambda w, ids=ids: F.embedding(tl.tensor(ids), w), [table],
                  ["weight"], seed)  # fmt: skip


@probe
def embedding_training(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    r = rng(seed, 42)
    targets, ids = tl.tensor(r.standard_normal((5, 3)), dtype=tl.float32), tl.tensor(r.integers(0, 5, 40))
    layer = nn.Embedding(5, 3)
    train(seen, "embedding rows to their targets", lambda: ((layer(ids) - targets[ids]) ** 2).mean(),
          optim.SGD(layer.parameters(), lr=2.0), 100)  # fmt: skip


# ----------------------------------------------------------------------------- dropout


@probe
def dropout_shapes(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    for dtype in (tl.float32, tl.float64):
        shape_and_dtype(
            seen, f"keep-mask for a {dtype} tensor", F.dropout_keep_mask((3, 4), 0.5, tl.zeros(2, dtype=dtype))
        )
    shape_and_dtype(seen, "dropout(x, 0.3)", F.dropout(tl.ones(5, 6), 0.3))


@probe
def dropout_values(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    like = tl.zeros(1, dtype=tl.float64)
    for p in (0.25, 0.5, 1.0, 0.0):
        seen(f"keep-mask with p={p}", F.dropout_keep_mask((6, 5), p, like))
    x = rng(seed, 43).uniform(1, 2, (30, 30))
    seen("dropout(x, 0.4)", F.dropout(tl.tensor(x), 0.4))


@probe
def dropout_statistics(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    like = tl.zeros(1, dtype=tl.float64)
    for p in (0.1, 0.5, 0.8):
        mask = np.asarray(F.dropout_keep_mask((200_000,), p, like))
        seen(f"p={p}: the fraction of elements dropped", float((mask == 0).mean()))
        seen(f"p={p}: the mask's mean", float(mask.mean()))


@probe
def dropout_training(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    r = rng(seed, 44)
    x = tl.tensor(r.standard_normal((128, 4)), dtype=tl.float32)
    y = tl.tensor(np.tanh(x.numpy() @ r.standard_normal((4, 1))), dtype=tl.float32)
    model = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Dropout(0.2), nn.Linear(64, 1))
    train(seen, "a model with dropout", lambda: ((model(x) - y) ** 2).mean(), optim.Adam(model.parameters(), lr=1e-2),
          150)  # fmt: skip
    seen("two forward passes in training mode", [model(x), model(x)])
    model.eval()
    seen("a forward pass in evaluation mode", model(x))


# ----------------------------------------------------------------------------- layer norm


@probe
def layer_norm_shapes(seen: Seen, seed: int) -> None:
    r = rng(seed, 45)
    x, w, b = (tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True) for s in ((2, 3, 4), (4,), (4,)))
    F.layer_norm(x, (4,), w, b).sum().backward()
    for name, t in (("x", x), ("weight", w), ("bias", b)):
        shape_and_dtype(seen, f"layer_norm over (4,), {name}", t.grad)
    x.grad = None
    w2 = tl.tensor(r.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    F.layer_norm(x, (3, 4), w2).sum().backward()
    shape_and_dtype(seen, "layer_norm over (3, 4), x", x.grad)
    shape_and_dtype(seen, "layer_norm over (3, 4), weight", w2.grad)
    x.grad = None
    F.layer_norm(x * 2.0, (4,)).sum().backward()
    shape_and_dtype(seen, "layer_norm without weight and bias, x", x.grad)


@probe
def layer_norm_values(seen: Seen, seed: int) -> None:
    r = rng(seed, 46)
    x, gamma, beta, u = r.standard_normal((5, 6)), r.standard_normal(6), r.standard_normal(6), r.standard_normal((5, 6))
    gx, gg, gb = grads(lambda a, g, b: F.layer_norm(a, (6,), g, b), x, gamma, beta, u=u)
    seen("dL/dx", gx)
    seen("dL/dgamma", gg)
    seen("dL/dbeta", gb)


@probe
def layer_norm_gradcheck(seen: Seen, seed: int) -> None:
    r = rng(seed, 47)
    x = r.standard_normal((2, 3, 4)) * 3 + 1
    g4, b4, g34 = r.standard_normal(4), r.standard_normal(4), r.standard_normal((3, 4))
    gradients(seen, "layer_norm over (4,)", lambda a, g, b: F.layer_norm(a, (4,), g, b), [x, g4, b4],
              ["x", "weight", "bias"], seed)  # fmt: skip
    gradients(seen, "layer_norm over (3, 4)", lambda a, g: F.layer_norm(a, (3, 4), g), [x, g34], ["x", "weight"],
              seed)  # fmt: skip
    gradients(seen, "layer_norm without weight and bias", lambda a: F.layer_norm(a, (4,)), [x], ["x"], seed)
    gradients(seen, "layer_norm with a bias only", lambda a, b: F.layer_norm(a, (4,), None, b), [x, b4],
              ["x", "bias"], seed)  # fmt: skip


@probe
def layer_norm_training(seen: Seen, seed: int) -> None:
    manual_seed(seed)
    r = rng(seed, 48)
    x = tl.tensor(r.standard_normal((64, 8)) * 2 + 1, dtype=tl.float32)
    norm = nn.LayerNorm(8)
    target = tl.tensor(r.standard_normal((64, 8)) * 0.5 + r.standard_normal(8), dtype=tl.float32)
    train(seen, "LayerNorm's weight and bias", lambda: ((norm(x) - target) ** 2).mean(),
          optim.SGD(norm.parameters(), lr=0.5), 100)  # fmt: skip
    y = tl.tensor(np.sin(x.numpy()[:, :1] * 2), dtype=tl.float32)
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 1))
    train(seen, "Linear -> LayerNorm -> Linear", lambda: ((model(x) - y) ** 2).mean(),
          optim.Adam(model.parameters(), lr=1e-2), 150)  # fmt: skip
