"""PyTorch's transformer modules: MultiheadAttention, TransformerEncoderLayer and TransformerEncoder.

Constructor arguments, parameter names, shapes, initialization and forward
semantics are those of ``torch.nn``, so a PyTorch state dict loads by name and
the outputs agree. The attention itself is :func:`F.scaled_dot_product_attention`;
these modules add the projections, the head split, the masks and the residual
layout around it.

Deliberate differences from PyTorch, all outside ordinary use:

- ``add_bias_kv`` and ``add_zero_attn`` are not implemented (a clear error).
- A query that may attend to no key at all (every key masked by bool masks) gets
  a zero output and zero weights; PyTorch gives NaN.
- With dropout in training, the returned attention weights are those before
  dropout (PyTorch returns them after). Masks are constants: no gradient reaches
  a float mask.
- There is no fast path: ``enable_nested_tensor`` and ``mask_check`` are accepted
  and ignored, and positions marked as padding get their computed values, never
  the zeros of PyTorch's nested-tensor inference path.
"""

from __future__ import annotations

import copy
import functools
import math
from collections.abc import Callable
from typing import Any

from tinyllm import backend
from tinyllm.nn import functional as F
from tinyllm.nn import init
from tinyllm.nn.containers import ModuleList
from tinyllm.nn.layers import Dropout, LayerNorm, Linear, _empty
from tinyllm.nn.module import Module
from tinyllm.tensor import Tensor, from_array


def _mask_array(mask: Any, name: str, like: Tensor) -> Any:
    """A mask's array on ``like``'s device; bool (True = not allowed) or floating (added to the scores)."""
    xp = backend.get_array_module(like.data)
    a = xp.asarray(mask.data if isinstance(mask, Tensor) else mask)
    if a.dtype != bool and not backend.is_floating(a.dtype):
        raise TypeError(f"MultiheadAttention: {name} must be bool or floating, not {a.dtype}")
    return a


def _additive(mask: Any, dtype: Any) -> Any:
    """A bool mask as 0 (allowed) / -inf (not allowed); a float mask as it is. In ``dtype``."""
    if mask.dtype == bool:
        xp = backend.get_array_module(mask)
        return xp.where(mask, -math.inf, 0.0).astype(dtype)
    return mask.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Queries attend to keys and values in ``num_heads`` heads: PyTorch's ``nn.MultiheadAttention``.

    Shapes (E = embed_dim, H heads of size D = E / H, N batch, L target, S source length):
    query (L, N, E), key (S, N, kdim), value (S, N, vdim) -> output (L, N, E); with
    ``batch_first=True`` the batch comes first, (N, L, E); unbatched inputs are (L, E).

    Each head h computes softmax(q_h k_h^T / sqrt(D) + mask) v_h with q = query W_q^T + b_q
    (likewise k and v); the heads are concatenated and projected by ``out_proj``. W_q, W_k,
    W_v are the three row blocks of ``in_proj_weight`` (3E, E) when kdim = vdim = E, else
    the separate ``q_proj_weight`` (E, E), ``k_proj_weight`` (E, kdim), ``v_proj_weight``
    (E, vdim). Initialization as PyTorch: Xavier-uniform in-projections, zero biases.

    Masks (bool: True = may not attend; float: added to the scores): ``key_padding_mask``
    (N, S) hides padding keys from every query; ``attn_mask`` (L, S) or (N * H, L, S).
    ``is_causal`` is PyTorch's hint that ``attn_mask`` is the causal mask; it needs one.
    Returns (output, weights): weights (N, L, S) averaged over heads, (N, H, L, S) with
    ``average_attn_weights=False``, None with ``need_weights=False``.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: str | backend.Device | None = None,
                 dtype: object = None) -> None:  # fmt: skip
        super().__init__()
        if add_bias_kv or add_zero_attn:
            raise NotImplementedError("MultiheadAttention: tinyllm does not implement add_bias_kv or add_zero_attn")
        if num_heads < 1:
            raise ValueError(f"MultiheadAttention: num_heads must be at least 1, not {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], not {dropout}")
        self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self.dropout, self.batch_first = dropout, batch_first
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        if self._qkv_same_embed_dim:
            self.in_proj_weight = _empty(3 * embed_dim, embed_dim, **kw)
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.register_parameter("in_proj_weight", None)
            self.q_proj_weight = _empty(embed_dim, embed_dim, **kw)
            self.k_proj_weight = _empty(embed_dim, self.kdim, **kw)
            self.v_proj_weight = _empty(embed_dim, self.vdim, **kw)
        if bias:
            self.in_proj_bias = _empty(3 * embed_dim, **kw)
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, **kw)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        """Xavier-uniform in-projections and zero biases; ``out_proj.weight`` keeps Linear's init."""
        for w in (self.in_proj_weight, self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
            if w is not None:
                init.xavier_uniform_(w)
        for b in (self.in_proj_bias, self.out_proj.bias):
            if b is not None:
                init.zeros_(b)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Any = None,
                need_weights: bool = True, attn_mask: Any = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """(output, weights or None); see the class docstring for shapes and masks."""
        batched = self._check_inputs(query, key, value)
        if is_causal and attn_mask is None:
            raise ValueError(
                "MultiheadAttention: is_causal is a hint that attn_mask is causal and needs that attn_mask "
                "(tl.nn.functional.causal_mask makes one: pass ~causal_mask(L, L, x))"
            )
        if not batched:  # one sequence: a batch of one, with the batch first
            query, key, value = query.unsqueeze(0), key.unsqueeze(0), value.unsqueeze(0)
            if key_padding_mask is not None:
                key_padding_mask = _mask_array(key_padding_mask, "key_padding_mask", query)
                if key_padding_mask.shape != key.shape[1:2]:
                    raise ValueError(
                        f"MultiheadAttention: unbatched key_padding_mask has shape {key_padding_mask.shape}; "
                        f"expected (S,) = {key.shape[1:2]}"
                    )
                key_padding_mask = key_padding_mask[None]
        elif not self.batch_first:
            query, key, value = query.transpose(0, 1), key.transpose(0, 1), value.transpose(0, 1)
        N, L, S = query.shape[0], query.shape[1], key.shape[1]
        q, k, v = self._project(query, key, value)
        mask = self._merge_masks(attn_mask, key_padding_mask, N, L, S, query)
        result = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0, need_weights=need_weights
        )
        out, weights = result if need_weights else (result, None)
        out = self.out_proj(out.transpose(1, 2).reshape(N, L, self.embed_dim))
        if weights is not None and average_attn_weights:
            weights = weights.mean(dim=1)
        if not batched:
            return out.squeeze(0), None if weights is None else weights.squeeze(0)
        return (out if self.batch_first else out.transpose(0, 1)), weights

    def _check_inputs(self, query: Tensor, key: Tensor, value: Tensor) -> bool:
        """Check the three inputs' shapes against each other and the sizes; True when batched."""
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(
                f"MultiheadAttention: query, key and value must all be 3-D (batched) or all 2-D (unbatched), "
                f"not of shapes {query.shape}, {key.shape}, {value.shape}"
            )
        for name, t, size in (("query", query, self.embed_dim), ("key", key, self.kdim), ("value", value, self.vdim)):
            if t.shape[-1] != size:
                raise ValueError(f"MultiheadAttention: {name} of shape {t.shape} should end in size {size}")
        if key.shape[:-1] != value.shape[:-1]:
            raise ValueError(f"MultiheadAttention: key {key.shape} and value {value.shape} differ in batch or length")
        batch_dim = 0 if self.batch_first else 1
        if query.ndim == 3 and query.shape[batch_dim] != key.shape[batch_dim]:
            raise ValueError(f"MultiheadAttention: query {query.shape} and key {key.shape} differ in batch size")
        return query.ndim == 3

    def _project(self, query: Tensor, key: Tensor, value: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """(N, L, E), (N, S, kdim), (N, S, vdim) -> q, k, v split into heads: (N, H, length, D)."""
        E = self.embed_dim
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            weights = (w[:E], w[E : 2 * E], w[2 * E :])  # type: ignore[index]
        else:
            weights = (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight)
        b = self.in_proj_bias
        biases = (None, None, None) if b is None else (b[:E], b[E : 2 * E], b[2 * E :])
        heads = []
        for x, w_i, b_i in zip((query, key, value), weights, biases, strict=True):
            y = F.linear(x, w_i, b_i)
            heads.append(y.reshape(x.shape[0], x.shape[1], self.num_heads, self.head_dim).transpose(1, 2))
        return heads[0], heads[1], heads[2]

    def _merge_masks(self, attn_mask: Any, key_padding_mask: Any, N: int, L: int, S: int,
                     like: Tensor) -> Tensor | None:  # fmt: skip
        """The two masks as one for :func:`F.scaled_dot_product_attention`, broadcastable to (N, H, L, S).

        Two bool masks stay bool (flipped to the functional's "may attend" convention);
        otherwise each becomes additive (True -> -inf) and they are summed, as in PyTorch.
        """
        H, masks = self.num_heads, []
        if attn_mask is not None:
            a = _mask_array(attn_mask, "attn_mask", like)
            if a.shape == (N * H, L, S):
                a = a.reshape(N, H, L, S)
            elif a.shape != (L, S):
                raise ValueError(
                    f"MultiheadAttention: attn_mask has shape {a.shape}; expected (L, S) = {(L, S)} "
                    f"or (N * num_heads, L, S) = {(N * H, L, S)}"
                )
            masks.append(a)
        if key_padding_mask is not None:
            kpm = _mask_array(key_padding_mask, "key_padding_mask", like)
            if kpm.shape != (N, S):
                raise ValueError(
                    f"MultiheadAttention: key_padding_mask has shape {kpm.shape}; expected (N, S) = {(N, S)}"
                )
            masks.append(kpm.reshape(N, 1, 1, S))
        if not masks:
            return None
        if all(m.dtype == bool for m in masks):
            xp = backend.get_array_module(like.data)
            return from_array(~functools.reduce(xp.logical_or, masks))
        return from_array(functools.reduce(lambda x, y: x + y, [_additive(m, like.dtype) for m in masks]))

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        s += f", dropout={self.dropout}" if self.dropout else ""
        s += f", kdim={self.kdim}, vdim={self.vdim}" if not self._qkv_same_embed_dim else ""
        return s + (", batch_first=True" if self.batch_first else "")


def _activation(activation: str | Callable[[Tensor], Tensor]) -> Callable[[Tensor], Tensor]:
    """'relu' or 'gelu' by name, or any callable (a function or a module) as it is."""
    if callable(activation):
        return activation
    if activation == "relu":
        return F.relu
    if activation == "gelu":
        return F.gelu
    raise ValueError(f"TransformerEncoderLayer: activation must be 'relu', 'gelu' or a callable, not {activation!r}")


class TransformerEncoderLayer(Module):
    """Self-attention then a feed-forward network, each with a residual connection and a LayerNorm.

    src: (S, N, E) (or (N, S, E) with ``batch_first``, or (S, E) unbatched) -> the same shape.
    ``norm_first=False`` (post-norm, the original transformer):
    x = norm1(x + sa(x)); x = norm2(x + ff(x)). ``norm_first=True`` (pre-norm):
    x = x + sa(norm1(x)); x = x + ff(norm2(x)). ff(x) = linear2(dropout(activation(linear1(x)))),
    and each sub-layer's output passes dropout1 / dropout2 before the residual sum.
    ``src_mask`` and ``src_key_padding_mask`` are :class:`MultiheadAttention`'s attn_mask
    and key_padding_mask.
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048, dropout: float = 0.1,
                 activation: str | Callable[[Tensor], Tensor] = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 device: str | backend.Device | None = None, dtype: object = None) -> None:  # fmt: skip
        super().__init__()
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.self_attn = MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **kw)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw)
        self.dropout1 = Dropout(dropout)
        self.dropout2 = Dropout(dropout)
        self.activation = _activation(activation)

    def forward(self, src: Tensor, src_mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool = False) -> Tensor:  # fmt: skip
        x = src
        if self.norm_first:
            x = x + self._sa_block(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self._ff_block(self.norm2(x))
        x = self.norm1(x + self._sa_block(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self._ff_block(x))

    def _sa_block(self, x: Tensor, attn_mask: Any, key_padding_mask: Any, is_causal: bool) -> Tensor:
        out, _ = self.self_attn(x, x, x, key_padding_mask=key_padding_mask, need_weights=False,
                                attn_mask=attn_mask, is_causal=is_causal)  # fmt: skip
        return self.dropout1(out)

    def _ff_block(self, x: Tensor) -> Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))


class TransformerEncoder(Module):
    """``num_layers`` deep copies of ``encoder_layer`` applied in turn, then ``norm`` if given.

    src: as the layer's -> the same shape. Each layer gets the same ``mask`` and
    ``src_key_padding_mask``. ``is_causal=None`` means "no hint" (False here; tinyllm
    always applies the mask itself, so it has nothing to detect).
    ``enable_nested_tensor`` and ``mask_check`` are accepted for PyTorch's signature
    and ignored: tinyllm has no nested tensors and no fast path.
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int, norm: Module | None = None,
                 enable_nested_tensor: bool = True, mask_check: bool = True) -> None:  # fmt: skip
        super().__init__()
        self.layers = ModuleList(copy.deepcopy(encoder_layer) for _ in range(num_layers))
        self.num_layers = num_layers
        self.norm = norm

    def forward(self, src: Tensor, mask: Any = None, src_key_padding_mask: Any = None,
                is_causal: bool | None = None) -> Tensor:  # fmt: skip
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)
