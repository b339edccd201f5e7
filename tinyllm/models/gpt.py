"""A small GPT: a decoder-only transformer language model (GPT-2's recipe)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from tinyllm import backend, nn
from tinyllm.autograd import no_grad
from tinyllm.models.losses import next_token_loss
from tinyllm.nn import init
from tinyllm.nn.attention import KVCache
from tinyllm.tensor import Tensor, from_array


@dataclass
class GPTConfig:
    vocab_size: int
    block_size: int  # the longest context the model reads
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    dropout: float = 0.0
    bias: bool = True  # biases in Linear and LayerNorm layers
    tie_weights: bool = True  # the output layer reuses the token embedding table
    fused: bool = True  # False: attention, layer norms and the loss composed from primitive ops


class GPT(nn.Module):
    """Token ids (B, T) -> next-token logits (B, T, vocab_size).

    x = wte(idx) + wpe(positions); x passes n_layer pre-LayerNorm transformer
    blocks with causal self-attention, a final LayerNorm, and a linear map to
    the vocabulary (tied to ``wte`` by default: one table both reads and writes
    tokens). Initialization as GPT-2: weights N(0, 0.02), biases 0, and the
    projections that write into the residual stream scaled by 1/sqrt(2 n_layer),
    so the stream's variance does not grow with depth.

    ``GPTConfig(fused=False)`` builds the composed twin: the same parameters, and on
    the same weights the same logits, loss and gradients (tests hold them equal).
    """

    # The projections that write into the residual stream, by the end of their names.
    RESIDUAL_PROJECTIONS = ("attn.out_proj.weight", "mlp.proj.weight")

    def __init__(self, config: GPTConfig) -> None:
        super().__init__()
        c = config
        if c.n_embd % c.n_head:
            raise ValueError(f"GPT: n_embd {c.n_embd} is not divisible by n_head {c.n_head}")
        self.config = c
        self.wte = nn.Embedding(c.vocab_size, c.n_embd)
        self.wpe = nn.Embedding(c.block_size, c.n_embd)
        self.drop = nn.Dropout(c.dropout)
        self.blocks = nn.ModuleList(
            nn.TransformerBlock(c.n_embd, c.n_head, c.dropout, c.bias, causal=True, fused=c.fused)
            for _ in range(c.n_layer)
        )
        self.ln_f = nn.LayerNorm(c.n_embd, bias=c.bias, fused=c.fused)
        self.lm_head = nn.Linear(c.n_embd, c.vocab_size, bias=False)
        if c.tie_weights:
            self.lm_head.weight = self.wte.weight
        self._init_weights()

    def _init_weights(self) -> None:
        for m in self.modules():
            if isinstance(m, (nn.Linear, nn.Embedding)):
                init.normal_(m.weight, 0.0, 0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                init.zeros_(m.bias)
            if isinstance(m, nn.MultiheadSelfAttention):
                init.normal_(m.in_proj_weight, 0.0, 0.02)
                if m.in_proj_bias is not None:
                    init.zeros_(m.in_proj_bias)
        residual_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith(self.RESIDUAL_PROJECTIONS):
                init.normal_(p, 0.0, residual_std)

    def forward(self, idx: Tensor, targets: Any = None,
                kv_cache: list[KVCache] | None = None) -> tuple[Tensor, Tensor | None]:  # fmt: skip
        """idx (B, T) ids -> (logits (B, T, V), loss or None); with ``targets`` (B, T), the loss is
        the mean cross-entropy of every position's next-token prediction.

        ``kv_cache`` (one :class:`KVCache` per block, from :meth:`new_kv_cache`; under
        ``no_grad``): idx holds the tokens that follow the cached ones, at positions
        ``length`` to ``length + T - 1``; their keys and values join the cache.
        """
        if idx.ndim != 2:
            raise ValueError(f"GPT: idx must be (B, T) token ids, not shape {idx.shape}")
        T = idx.shape[1]
        start = kv_cache[0].length if kv_cache else 0
        if start + T > self.config.block_size:
            what = f"a sequence of length {T}" + (f" after {start} cached positions" if start else "")
            raise ValueError(f"GPT: {what} is longer than block_size {self.config.block_size}")
        xp = backend.get_array_module(idx.data)
        pos = from_array(xp.arange(start, start + T))
        x = self.drop(self.wte(idx) + self.wpe(pos))
        for i, block in enumerate(self.blocks):
            x = block(x, kv_cache=kv_cache[i] if kv_cache else None)
        logits = self.lm_head(self.ln_f(x))
        if targets is None:
            return logits, None
        return logits, next_token_loss(logits, targets, fused=self.config.fused)

    def new_kv_cache(self) -> list[KVCache]:
        """An empty key/value cache for :meth:`forward`: one :class:`KVCache` of ``block_size`` positions per block."""
        return [KVCache(self.config.block_size) for _ in self.blocks]

    @no_grad()
    def generate(self, idx: Tensor, max_new_tokens: int, temperature: float = 1.0, top_k: int | None = None,
                 generator: backend.Generator | None = None, use_cache: bool = True) -> Tensor:  # fmt: skip
        """Continue each row of idx (B, T) by ``max_new_tokens`` sampled tokens -> (B, T + new).

        Each step reads the last ``block_size`` tokens, divides the last position's
        logits by ``temperature`` (0 means greedy: always the most likely token),
        keeps the ``top_k`` largest if given, and samples from their softmax. Runs
        in eval mode (no dropout) and restores the previous mode.

        ``use_cache`` (default): a first pass over the prompt fills a key/value cache
        (:class:`KVCache`), then each step feeds the newest token alone, at the next
        position. Once the text outgrows ``block_size``, the window slides: every token
        in it moves to a new position, so its position embedding, and with it every
        key and value, changes; each such step refills the cache from the last
        ``block_size`` tokens, which is the uncached step's work. Both paths sample the
        same tokens (up to float rounding in the logits; tests hold them equal).
        """
        if temperature < 0:
            raise ValueError(f"generate: temperature must be >= 0, not {temperature}")
        was_training = self.training
        self.eval()
        gen = generator or backend.default_generator(idx.device)
        xp = backend.get_array_module(idx.data)
        block_size = self.config.block_size
        out = idx.data
        cache = self.new_kv_cache() if use_cache else None
        for _ in range(max_new_tokens):
            if cache is not None and cache[0].length == out.shape[1] - 1 and out.shape[1] <= block_size:
                logits, _ = self(from_array(out[:, -1:]), kv_cache=cache)  # the newest token, at its position
            else:
                if cache is not None:
                    for layer in cache:
                        layer.reset()
                logits, _ = self(from_array(out[:, -block_size:]), kv_cache=cache)
            nxt = _sample(logits.data[:, -1, :].astype(xp.float64), temperature, top_k, gen)
            out = xp.concatenate([out, nxt[:, None].astype(out.dtype)], axis=1)
        self.train(was_training)
        return from_array(out)


def _sample(logits: Any, temperature: float, top_k: int | None, gen: backend.Generator) -> Any:
    """Next-token ids (B,) from the last position's logits (B, V), as :meth:`GPT.generate` describes."""
    xp = backend.get_array_module(logits)
    if temperature == 0:
        return logits.argmax(axis=1)
    logits = logits / temperature
    if top_k is not None and top_k < logits.shape[1]:
        kth = xp.sort(logits, axis=1)[:, -top_k][:, None]
        logits = xp.where(logits < kth, -xp.inf, logits)
    p = xp.exp(logits - logits.max(axis=1, keepdims=True))
    cdf = xp.cumsum(p / p.sum(axis=1, keepdims=True), axis=1)
    u = gen.uniform((logits.shape[0], 1), xp.float64)
    return xp.minimum((cdf < u).sum(axis=1), logits.shape[1] - 1)
