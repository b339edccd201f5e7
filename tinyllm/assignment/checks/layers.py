"""Checks of the layers' pieces: cross-entropy, embedding, dropout and layer norm."""

from __future__ import annotations

from typing import Any

import numpy as np

import tinyllm as tl
import tinyllm.nn.functional as F
from tinyllm import nn, optim

from .common import (
    array,
    backward,
    check,
    close,
    expect,
    gradcheck,
    rng,
    same_shape_and_dtype,
    softmax,
    train,
)

# ----------------------------------------------------------------------------- cross-entropy


def _cross_entropy(x: np.ndarray, target: np.ndarray, weight: np.ndarray | None = None, ignore_index: int = -100,
                   reduction: str = "mean", smoothing: float = 0.0) -> Any:  # fmt: skip
    """PyTorch's cross-entropy of logits x (N, C), in NumPy."""
    n, c = x.shape
    logp = np.log(softmax(x, axis=1))
    w = np.ones(c) if weight is None else weight
    if target.ndim == 2:  # class probabilities
        losses = -(w * ((1 - smoothing) * target + smoothing / c) * logp).sum(axis=1)
        denominator = n
    else:
        counted = target != ignore_index
        safe = np.where(counted, target, 0)
        t = (1 - smoothing) * np.eye(c)[safe] + smoothing / c
        losses = -(w * t * logp).sum(axis=1) * counted
        denominator = (w[safe] * counted).sum()
    if reduction == "none":
        return losses
    return losses.sum() / (denominator if reduction == "mean" else 1)


@check
def cross_entropy_shapes() -> None:
    r = rng(20)
    x = tl.tensor(r.standard_normal((4, 5)).astype(np.float32), requires_grad=True)
    F.cross_entropy(x, tl.tensor([0, 4, 2, 2])).backward()
    same_shape_and_dtype(x.grad, x, "logits (4, 5)")
    x3 = tl.tensor(r.standard_normal((2, 5, 3)).astype(np.float32), requires_grad=True)
    F.cross_entropy(x3, tl.tensor(r.integers(0, 5, (2, 3)))).backward()
    same_shape_and_dtype(x3.grad, x3, "logits (2, 5, 3)")


@check
def cross_entropy_values() -> None:
    r = rng(21)
    x, t = r.standard_normal((6, 4)), np.array([0, 3, 1, 1, 2, 0])
    onehot = np.eye(4)[t]
    for reduction, scale in (("mean", 1 / 6), ("sum", 1.0)):
        logits = tl.tensor(x, requires_grad=True)
        F.cross_entropy(logits, tl.tensor(t), reduction=reduction).backward()
        close(logits.grad, (softmax(x) - onehot) * scale, f"reduction={reduction!r}: (softmax(x) - onehot(y)) / N")


@check
def cross_entropy_gradcheck() -> None:
    r = rng(22)
    x = r.standard_normal((5, 4)) * 2
    t = np.array([1, 3, -100, 0, 3])
    w = np.array([0.5, 2.0, 1.0, 1.5])
    probs = softmax(r.standard_normal((5, 4)))
    cases = [
        ("class weights and ignore_index", {"weight": w}, t),
        ("label smoothing, reduction='sum'", {"smoothing": 0.1, "reduction": "sum"}, np.abs(t) % 4),
        ("class probabilities", {}, probs),
        ("reduction='none', weights, smoothing", {"weight": w, "smoothing": 0.2, "reduction": "none"}, t),
    ]
    for what, kw, target in cases:
        def tl_fn(logits: tl.Tensor, kw: dict = kw, target: np.ndarray = target) -> tl.Tensor:
            weight = tl.tensor(kw["weight"]) if "weight" in kw else None
            return F.cross_entropy(logits, tl.tensor(target), weight=weight, reduction=kw.get("reduction", "mean"),
                                   label_smoothing=kw.get("smoothing", 0.0))  # fmt: skip

        gradcheck(f"cross_entropy, {what}", tl_fn, lambda a, kw=kw, target=target: _cross_entropy(a, target, **kw),
                  [x], ["logits"])  # fmt: skip


@check
def cross_entropy_training() -> None:
    r = rng(23)
    tl.manual_seed(0)
    centers = np.array([[2.0, 0.0], [-1.0, 1.7], [-1.0, -1.7]])
    y = r.integers(0, 3, 120)
    x = tl.tensor(centers[y] + 0.3 * r.standard_normal((120, 2)), dtype=tl.float32)
    model = nn.Linear(2, 3)
    opt = optim.SGD(model.parameters(), lr=0.5)

    first, last = train(lambda: F.cross_entropy(model(x), tl.tensor(y)), opt, 60)
    accuracy = float((array(model(x).argmax(1)) == y).mean())
    expect(last < 0.2 * first and accuracy > 0.95, f"loss {first:.3g} -> {last:.3g}, accuracy {accuracy:.2f}")


# ----------------------------------------------------------------------------- embedding


@check
def embedding_shapes() -> None:
    w = tl.tensor(rng(24).standard_normal((6, 3)).astype(np.float32), requires_grad=True)
    F.embedding(tl.tensor([[0, 5, 2, 2], [1, 1, 1, 4]]), w).sum().backward()
    same_shape_and_dtype(w.grad, w, "F.embedding, weight")
    layer = nn.Embedding(7, 4)
    layer(tl.tensor([3, 3, 0])).sum().backward()
    same_shape_and_dtype(layer.weight.grad, layer.weight, "nn.Embedding, weight")


@check
def embedding_values() -> None:
    r = rng(25)
    table, ids = r.standard_normal((6, 3)), np.array([[1, 3, 1], [0, 1, 5]])
    u = r.standard_normal((2, 3, 3))
    expected = np.zeros((6, 3))
    for index in np.ndindex(ids.shape):
        expected[ids[index]] += u[index]
    for padding_idx in (None, 1):
        w = tl.tensor(table, requires_grad=True)
        backward(F.embedding(tl.tensor(ids), w, padding_idx=padding_idx), [u])
        if padding_idx is not None:
            expected[padding_idx] = 0
        close(w.grad, expected, f"dW with repeated ids, padding_idx={padding_idx}: rows summed per id")


@check
def embedding_gradcheck() -> None:
    r = rng(26)
    table = r.standard_normal((5, 3))
    for ids in (np.array([4, 0, 4, 2]), r.integers(0, 5, (2, 2, 3))):
        gradcheck(f"embedding of ids {ids.shape}", lambda w, ids=ids: F.embedding(tl.tensor(ids), w),
                  lambda w, ids=ids: w[ids], [table], ["weight"])  # fmt: skip


@check
def embedding_training() -> None:
    tl.manual_seed(0)
    r = rng(27)
    targets, ids = tl.tensor(r.standard_normal((5, 3)), dtype=tl.float32), tl.tensor(r.integers(0, 5, 40))
    layer = nn.Embedding(5, 3)
    opt = optim.SGD(layer.parameters(), lr=2.0)

    first, last = train(lambda: ((layer(ids) - targets[ids]) ** 2).mean(), opt, 100)
    expect(last < 1e-3 * first, f"the embedding rows did not reach their targets: loss {first:.3g} -> {last:.3g}")


# ----------------------------------------------------------------------------- dropout


@check
def dropout_shapes() -> None:
    for dtype in (tl.float32, tl.float64):
        like = tl.zeros(2, dtype=dtype)
        mask = F.dropout_keep_mask((3, 4), 0.5, like)
        expect(tuple(mask.shape) == (3, 4), f"keep-mask of shape {tuple(mask.shape)}, expected (3, 4)")
        expect(mask.dtype == like.dtype, f"keep-mask of dtype {mask.dtype} for a tensor of dtype {like.dtype}")
    x = tl.ones(5, 6)
    expect(F.dropout(x, 0.3).shape == (5, 6), "dropout changed the shape")


@check
def dropout_values() -> None:
    like = tl.zeros(1, dtype=tl.float64)
    for p in (0.25, 0.5):
        mask = array(F.dropout_keep_mask((50, 40), p, like))
        kept = np.isclose(mask, 1 / (1 - p), rtol=1e-12)
        expect(((mask == 0) | kept).all(), f"p={p}: mask values must be 0 or 1 / (1 - p) = {1 / (1 - p):g}")
        expect((mask == 0).any() and kept.any(), f"p={p}: a mask of 2000 elements should both keep and drop some")
    everything = array(F.dropout_keep_mask((4, 4), 1.0, like))
    expect(np.isfinite(everything).all() and (everything == 0).all(), "p=1: the mask must be all zeros")
    expect((array(F.dropout_keep_mask((4, 4), 0.0, like)) == 1).all(), "p=0: the mask must be all ones")
    x = rng(28).uniform(1, 2, (30, 30))
    y = array(F.dropout(tl.tensor(x), 0.4))
    close(y[y != 0], x[y != 0] / 0.6, "dropout(x, 0.4) where kept: x / (1 - p)")


@check
def dropout_statistics() -> None:
    like = tl.zeros(1, dtype=tl.float64)
    n = 200_000
    for p in (0.1, 0.5, 0.8):
        mask = array(F.dropout_keep_mask((n,), p, like))
        dropped = float((mask == 0).mean())
        tolerance = 5 * np.sqrt(p * (1 - p) / n)
        expect(abs(dropped - p) < tolerance, f"p={p}: dropped a fraction {dropped:.4f} of the elements")
        mean_tolerance = 5 * np.sqrt(p / (1 - p) / n)
        expect(abs(mask.mean() - 1) < mean_tolerance, f"p={p}: the mask's mean is {mask.mean():.4f}, not 1")
    a, b = (array(F.dropout_keep_mask((100,), 0.5, like)) for _ in range(2))
    expect((a != b).any(), "two draws gave the same mask")


@check
def dropout_training() -> None:
    tl.manual_seed(0)
    r = rng(29)
    x = tl.tensor(r.standard_normal((128, 4)), dtype=tl.float32)
    y = tl.tensor(np.tanh(x.numpy() @ r.standard_normal((4, 1))), dtype=tl.float32)
    model = nn.Sequential(nn.Linear(4, 64), nn.Tanh(), nn.Dropout(0.2), nn.Linear(64, 1))
    opt = optim.Adam(model.parameters(), lr=1e-2)

    first, last = train(lambda: ((model(x) - y) ** 2).mean(), opt, 150)
    expect(last < 0.2 * first, f"a model with dropout did not train: loss {first:.3g} -> {last:.3g}")
    expect((array(model(x)) != array(model(x))).any(), "in training mode two forward passes should differ")
    model.eval()
    close(model(x), array(model(x)), "in evaluation mode dropout is the identity")


# ----------------------------------------------------------------------------- layer norm


def _layer_norm(x: np.ndarray, n: int, gamma: np.ndarray | None = None, beta: np.ndarray | None = None) -> np.ndarray:
    axes = tuple(range(-n, 0))
    xc = x - x.mean(axis=axes, keepdims=True)
    y = xc / np.sqrt((xc**2).mean(axis=axes, keepdims=True) + 1e-5)
    y = y * gamma if gamma is not None else y
    return y + beta if beta is not None else y


@check
def layer_norm_shapes() -> None:
    r = rng(30)
    x, w, b = (tl.tensor(r.standard_normal(s).astype(np.float32), requires_grad=True) for s in ((2, 3, 4), (4,), (4,)))
    F.layer_norm(x, (4,), w, b).sum().backward()
    for name, t in (("x", x), ("weight", w), ("bias", b)):
        same_shape_and_dtype(t.grad, t, f"layer_norm over (4,), {name}")
    x.grad = None
    w2 = tl.tensor(r.standard_normal((3, 4)).astype(np.float32), requires_grad=True)
    F.layer_norm(x, (3, 4), w2).sum().backward()
    same_shape_and_dtype(x.grad, x, "layer_norm over (3, 4), x")
    same_shape_and_dtype(w2.grad, w2, "layer_norm over (3, 4), weight")
    x.grad = None
    F.layer_norm(x * 2.0, (4,)).sum().backward()
    same_shape_and_dtype(x.grad, x, "layer_norm without weight and bias, x")


@check
def layer_norm_values() -> None:
    r = rng(31)
    x, gamma, beta, u = r.standard_normal((5, 6)), r.standard_normal(6), r.standard_normal(6), r.standard_normal((5, 6))
    xc = x - x.mean(axis=1, keepdims=True)
    rstd = 1 / np.sqrt((xc**2).mean(axis=1, keepdims=True) + 1e-5)
    xhat = xc * rstd
    dxhat = u * gamma
    dx = rstd * (dxhat - dxhat.mean(axis=1, keepdims=True) - xhat * (dxhat * xhat).mean(axis=1, keepdims=True))
    ts = [tl.tensor(a, requires_grad=True) for a in (x, gamma, beta)]
    backward(F.layer_norm(ts[0], (6,), ts[1], ts[2]), [u])
    close(ts[0].grad, dx, "dx = r (dxhat - mean(dxhat) - xhat mean(dxhat xhat))")
    close(ts[1].grad, (u * xhat).sum(axis=0), "dgamma = sum of dy * xhat")
    close(ts[2].grad, u.sum(axis=0), "dbeta = sum of dy")


@check
def layer_norm_gradcheck() -> None:
    r = rng(32)
    x = r.standard_normal((2, 3, 4)) * 3 + 1
    g4, b4, g34 = r.standard_normal(4), r.standard_normal(4), r.standard_normal((3, 4))
    gradcheck("layer_norm over (4,)", lambda a, g, b: F.layer_norm(a, (4,), g, b),
              lambda a, g, b: _layer_norm(a, 1, g, b), [x, g4, b4], ["x", "weight", "bias"])  # fmt: skip
    gradcheck("layer_norm over (3, 4)", lambda a, g: F.layer_norm(a, (3, 4), g), lambda a, g: _layer_norm(a, 2, g),
              [x, g34], ["x", "weight"])  # fmt: skip
    gradcheck("layer_norm without weight and bias", lambda a: F.layer_norm(a, (4,)), lambda a: _layer_norm(a, 1),
              [x], ["x"])  # fmt: skip
    gradcheck("layer_norm with a bias only", lambda a, b: F.layer_norm(a, (4,), None, b),
              lambda a, b: _layer_norm(a, 1, None, b), [x, b4], ["x", "bias"])  # fmt: skip


@check
def layer_norm_training() -> None:
    tl.manual_seed(0)
    r = rng(33)
    x = tl.tensor(r.standard_normal((64, 8)) * 2 + 1, dtype=tl.float32)
    weight, bias = r.standard_normal(8), r.standard_normal(8)
    y = tl.tensor(_layer_norm(x.numpy().astype(np.float64), 1, weight, bias), dtype=tl.float32)
    norm = nn.LayerNorm(8)
    opt = optim.SGD(norm.parameters(), lr=0.5)

    first, last = train(lambda: ((norm(x) - y) ** 2).mean(), opt, 100)
    expect(last < 1e-3 * first, f"LayerNorm's weight and bias did not fit: loss {first:.3g} -> {last:.3g}")
    target = tl.tensor(np.sin(x.numpy()[:, :1] * 2), dtype=tl.float32)
    model = nn.Sequential(nn.Linear(8, 16), nn.LayerNorm(16), nn.Tanh(), nn.Linear(16, 1))
    first, last = train(lambda: ((model(x) - target) ** 2).mean(), optim.Adam(model.parameters(), lr=1e-2), 150)
    expect(last < 0.3 * first, f"Linear -> LayerNorm -> Linear did not train: loss {first:.3g} -> {last:.3g}")
