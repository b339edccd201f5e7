"""Multi-head self-attention, the feed-forward MLP and the pre-LayerNorm transformer block."""

from __future__ import annotations

from typing import Any

from tinyllm import backend
from tinyllm.autograd import is_grad_enabled
from tinyllm.nn import functional as F
from tinyllm.nn import init
from tinyllm.nn.layers import GELU, Dropout, LayerNorm, Linear, _empty
from tinyllm.nn.module import Module
from tinyllm.tensor import Tensor, from_array


class KVCache:
    """The keys and values one attention layer has computed so far: what generation keeps.

    A language model that writes one token at a time would recompute, at every step, the
    keys and values of all earlier positions, though they do not change: position j's key
    depends on tokens <= j only (causal attention). The cache keeps them, so each step
    computes the new position's query, key and value and attends over the cache: O(T C)
    work per step for the attention, O(C^2) for the rest, instead of a forward pass over
    all T positions.

    ``update(k, v)`` with k, v: (B, H, T_new, D) writes the new positions after the
    ``length`` cached ones and returns the keys and values of all ``length`` positions,
    (B, H, length, D) each (views of buffers of ``max_len`` positions, allocated at the
    first update; ``reset()`` empties the cache and keeps them). Arrays, not tensors: no
    gradient flows through a cache (name from torchtune's ``KVCache``).
    """

    def __init__(self, max_len: int) -> None:
        self.max_len, self.length = max_len, 0
        self.k: Any = None
        self.v: Any = None

    def update(self, k: Any, v: Any) -> tuple[Any, Any]:
        B, H, T, D = k.shape
        end = self.length + T
        if end > self.max_len:
            raise ValueError(f"KVCache: {self.length} cached + {T} new positions exceed max_len {self.max_len}")
        if self.k is None or self.k.shape != (B, H, self.max_len, D) or self.k.dtype != k.dtype:
            if self.length:
                raise ValueError(f"KVCache: keys of shape {k.shape} do not fit the cached {self.k.shape}")
            xp = backend.get_array_module(k)
            self.k, self.v = (xp.empty((B, H, self.max_len, D), dtype=k.dtype) for _ in range(2))
        self.k[:, :, self.length : end] = k
        self.v[:, :, self.length : end] = v
        self.length = end
        return self.k[:, :, :end], self.v[:, :, :end]

    def reset(self) -> None:
        self.length = 0


class MultiheadSelfAttention(Module):
    """Each position attends to the positions of the same sequence, in ``num_heads`` heads.

    x: (B, T, C) with C = embed_dim (always batch first). One fused projection gives
    queries, keys and values, q, k, v = x W_in^T + b_in split three ways; each head
    h of size D = C / num_heads computes softmax(q_h k_h^T / sqrt(D)) v_h; the heads
    are concatenated and projected by ``out_proj``.

    ``causal=True``: position t sees positions <= t only (a language model must not
    read the future). ``key_padding_mask`` (B, T) bool: True marks padding keys,
    which no query attends to (PyTorch's convention for this argument).

    Parameter names match ``torch.nn.MultiheadAttention`` (``in_proj_weight`` (3C, C),
    ``in_proj_bias``, ``out_proj``), so its weights load by name; so does its
    initialization (Xavier-uniform in-projection, zero biases).

    ``kv_cache`` (a :class:`KVCache`, for generation, outside autograd): x holds the
    positions that follow the cached ones; their keys and values join the cache, and
    each new position attends over the cached positions and the new ones up to itself.
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 causal: bool = False, device: str | backend.Device | None = None, dtype: object = None,
                 fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        if num_heads < 1:
            raise ValueError(f"MultiheadSelfAttention: num_heads must be at least 1, not {num_heads}")
        if not 0.0 <= dropout <= 1.0:  # checked here, not at the first training forward
            raise ValueError(f"MultiheadSelfAttention: dropout must be in [0, 1], not {dropout}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadSelfAttention: embed_dim {embed_dim} is not divisible by num_heads {num_heads}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.causal, self.fused = causal, fused
        self.in_proj_weight = _empty(3 * embed_dim, embed_dim, device=device, dtype=dtype)
        self.in_proj_bias = _empty(3 * embed_dim, device=device, dtype=dtype) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias=bias, device=device, dtype=dtype)
        init.xavier_uniform_(self.in_proj_weight)
        if bias:
            init.zeros_(self.out_proj.bias)  # type: ignore[arg-type]

    def forward(self, x: Tensor, key_padding_mask: Any = None, need_weights: bool = False,
                kv_cache: KVCache | None = None) -> Any:  # fmt: skip
        """x (B, T, C) -> (B, T, C); with ``need_weights`` also the weights (B, heads, T, S),
        S = T, or the cached positions and T with ``kv_cache``."""
        if x.ndim != 3 or x.shape[2] != self.embed_dim:
            raise ValueError(f"MultiheadSelfAttention: input of shape {x.shape} should be (B, T, {self.embed_dim})")
        B, T, C = x.shape
        H, D = self.num_heads, C // self.num_heads
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (B, T, 3C)
        qkv = qkv.reshape(B, T, 3, H, D).permute(2, 0, 3, 1, 4)  # (3, B, H, T, D)
        q, k, v = qkv.unbind(0)  # one node: its backward writes the three gradients into one array
        if kv_cache is None:
            mask = self._mask(key_padding_mask, B, T, x)
        else:
            k, v, mask = self._cached(k, v, kv_cache, key_padding_mask)
        out, weights = F.scaled_dot_product_attention(
            q, k, v, attn_mask=mask, dropout_p=self.dropout if self.training else 0.0,
            is_causal=self.causal and mask is None and k.shape[2] == T,  # with a cache: the first positions only
            need_weights=True, fused=self.fused,
        )  # fmt: skip
        out = self.out_proj(out.transpose(1, 2).reshape(B, T, C))
        return (out, weights) if need_weights else out

    def _cached(self, k: Tensor, v: Tensor, cache: KVCache, key_padding_mask: Any) -> tuple[Tensor, Tensor, Any]:
        """Add the new keys and values (B, H, T, D) to the cache -> all keys, all values (B, H, S, D)
        and the mask: None when the T new positions come first (causal as usual) or T = 1 (the
        newest position sees every key); else new position i sees keys j <= S - T + i."""
        if key_padding_mask is not None or is_grad_enabled():
            raise ValueError("MultiheadSelfAttention: kv_cache is for generation: under no_grad, without padding")
        start = cache.length
        keys, values = cache.update(k.data, v.data)
        T, S = k.shape[2], keys.shape[2]
        mask = None
        if self.causal and start and T > 1:
            xp = backend.get_array_module(keys)
            mask = from_array(xp.arange(S)[None, :] <= xp.arange(start, S)[:, None])
        return from_array(keys), from_array(values), mask

    def _mask(self, key_padding_mask: Any, B: int, T: int, like: Tensor) -> Tensor | None:
        """The bool "may attend" mask (B, 1, T, T) combining causality and padding, or None."""
        if key_padding_mask is None:
            return None
        kpm = key_padding_mask.data if isinstance(key_padding_mask, Tensor) else key_padding_mask
        if kpm.shape != (B, T) or kpm.dtype != bool:
            raise ValueError(
                f"MultiheadSelfAttention: key_padding_mask must be bool of shape {(B, T)}, not {kpm.dtype} {kpm.shape}"
            )
        xp = backend.get_array_module(like.data)
        allowed = xp.asarray(~kpm)[:, None, None, :]  # (B, 1, 1, T)
        if self.causal:
            allowed = allowed & F.causal_mask(T, T, like)
        return from_array(xp.broadcast_to(allowed, (B, 1, T, T)))

    def extra_repr(self) -> str:
        s = f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"
        s += f", dropout={self.dropout}" if self.dropout else ""
        return s + (", causal=True" if self.causal else "")


class MLP(Module):
    """The transformer's position-wise feed-forward layer: x (..., C) -> (..., C).

    dropout(proj(gelu(fc(x)))), with ``fc`` C -> 4C and ``proj`` 4C -> C. Named
    sub-layers, so the projection that writes into the residual stream can be found
    by name (GPT scales its initialization).
    """

    def __init__(self, n_embd: int, dropout: float = 0.0, bias: bool = True, device: str | backend.Device | None = None,
                 dtype: object = None) -> None:  # fmt: skip
        super().__init__()
        self.fc = Linear(n_embd, 4 * n_embd, bias=bias, device=device, dtype=dtype)
        self.gelu = GELU()
        self.proj = Linear(4 * n_embd, n_embd, bias=bias, device=device, dtype=dtype)
        self.dropout = Dropout(dropout)

    def forward(self, x: Tensor) -> Tensor:
        return self.dropout(self.proj(self.gelu(self.fc(x))))


class TransformerBlock(Module):
    """x + attn(ln_1(x)), then x + mlp(ln_2(x)): the pre-LayerNorm block of GPT-2.

    x: (B, T, C) -> (B, T, C); ``mlp`` is :class:`MLP`. Normalizing before each
    sub-layer keeps the residual path an identity, which lets deep stacks train
    without warmup tricks. ``fused=False`` runs the composed twins of the layer norms
    and the attention (same values and gradients; the same dropout draws).
    """

    def __init__(self, n_embd: int, n_head: int, dropout: float = 0.0, bias: bool = True,
                 causal: bool = True, device: str | backend.Device | None = None, dtype: object = None,
                 fused: bool = True) -> None:  # fmt: skip
        super().__init__()
        kw: dict[str, Any] = {"device": device, "dtype": dtype}
        self.ln_1 = LayerNorm(n_embd, bias=bias, fused=fused, **kw)
        self.attn = MultiheadSelfAttention(n_embd, n_head, dropout=dropout, bias=bias, causal=causal,
                                           fused=fused, **kw)  # fmt: skip
        self.resid_dropout = Dropout(dropout)
        self.ln_2 = LayerNorm(n_embd, bias=bias, fused=fused, **kw)
        self.mlp = MLP(n_embd, dropout, bias, **kw)

    def forward(self, x: Tensor, key_padding_mask: Any = None, kv_cache: KVCache | None = None) -> Tensor:
        x = x + self.resid_dropout(self.attn(self.ln_1(x), key_padding_mask, kv_cache=kv_cache))
        return x + self.mlp(self.ln_2(x))
