"""The key/value cache: cached generation samples exactly the uncached tokens, and a cached forward
pass gives the full pass's logits at the right positions."""

from __future__ import annotations

import numpy as np
import pytest

import tinyllm as tl
from tinyllm.models import GPT, GPTConfig
from tinyllm.nn.attention import KVCache


def _model(fused: bool = True, block_size: int = 8, seed: int = 0) -> GPT:
    tl.manual_seed(seed)
    return GPT(GPTConfig(vocab_size=11, block_size=block_size, n_layer=2, n_head=2, n_embd=16, fused=fused))


def _generate(model: GPT, start: np.ndarray, new: int, seed: int, use_cache: bool, **kw: object) -> np.ndarray:
    gen = tl.Generator().manual_seed(seed)
    return model.generate(tl.tensor(start), new, generator=gen, use_cache=use_cache, **kw).numpy()  # type: ignore[arg-type]


# (batch, prompt length, new tokens) with block_size 8: inside the block, up to it, past it, a prompt of 1,
# a prompt longer than the block
SHAPES = [(1, 1, 7), (3, 1, 20), (2, 3, 5), (1, 8, 4), (2, 12, 10)]


@pytest.mark.parametrize("batch,prompt,new", SHAPES)
@pytest.mark.parametrize("temperature,top_k", [(0.0, None), (1.0, None), (0.7, 3), (1.5, None), (1.0, 1)])
def test_cached_generation_samples_the_uncached_tokens(batch: int, prompt: int, new: int, temperature: float,
                                                       top_k: int | None) -> None:  # fmt: skip
    model = _model()
    for seed in (0, 1, 2):
        start = np.random.default_rng(seed).integers(0, 11, (batch, prompt))
        cached = _generate(model, start, new, seed, True, temperature=temperature, top_k=top_k)
        uncached = _generate(model, start, new, seed, False, temperature=temperature, top_k=top_k)
        assert cached.shape == (batch, prompt + new)
        np.testing.assert_array_equal(cached, uncached)


@pytest.mark.parametrize("fused", [True, False])
def test_cached_generation_samples_the_uncached_tokens_on_each_device(device: str, fused: bool) -> None:
    model = _model(fused=fused, seed=3).to(device)
    start = tl.tensor(np.random.default_rng(3).integers(0, 11, (2, 2)), device=device)
    out = {}
    for use_cache in (True, False):
        gen = tl.Generator(device).manual_seed(4)
        out[use_cache] = model.generate(start, 15, generator=gen, use_cache=use_cache)
    assert out[True].device == start.device
    np.testing.assert_array_equal(out[True].numpy(), out[False].numpy())


def test_the_cached_path_feeds_one_token_per_step_and_refills_once_the_window_slides(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    model = _model()
    lengths: list[tuple[int, int]] = []  # (tokens fed, positions cached before)
    forward = GPT.forward

    def spy(self: GPT, idx: tl.Tensor, targets: object = None, kv_cache: list[KVCache] | None = None) -> object:
        lengths.append((idx.shape[1], kv_cache[0].length if kv_cache else -1))
        return forward(self, idx, targets, kv_cache)

    monkeypatch.setattr(GPT, "forward", spy)
    model.generate(tl.tensor([[1, 2, 3]]), 10)
    # prompt 3, then one token at positions 3..7, then the window of 8 slides: refilled every step
    assert lengths == [(3, 0)] + [(1, p) for p in range(3, 8)] + [(8, 0)] * 4
    lengths.clear()
    model.generate(tl.tensor([[1, 2, 3]]), 3, use_cache=False)
    assert lengths == [(3, -1), (4, -1), (5, -1)]


@pytest.mark.parametrize("fused", [True, False])
def test_a_cached_forward_gives_the_full_forward_logits_at_the_right_positions(fused: bool) -> None:
    model = _model(fused=fused).eval()
    idx = tl.tensor(np.random.default_rng(1).integers(0, 11, (2, 8)))
    with tl.no_grad():
        full = model(idx)[0].numpy()
        cache = model.new_kv_cache()
        parts = [model(idx[:, a:b], kv_cache=cache)[0].numpy() for a, b in [(0, 3), (3, 4), (4, 7), (7, 8)]]
    assert cache[0].length == 8
    # a prefix, one token, a chunk of three after cached positions (a causal mask offset by 4), one token
    np.testing.assert_allclose(np.concatenate(parts, axis=1), full, rtol=1e-5, atol=1e-6)


def test_position_embeddings_follow_the_cache() -> None:
    model = _model().eval()
    with tl.no_grad():
        cache = model.new_kv_cache()
        model(tl.tensor([[4, 5]]), kv_cache=cache)
        at_2 = model(tl.tensor([[6]]), kv_cache=cache)[0].numpy()
        alone = model(tl.tensor([[6]]))[0].numpy()  # the same token at position 0, with no context
    assert not np.allclose(at_2, alone)


@pytest.mark.parametrize("fused", [True, False])
def test_attention_over_a_cache_equals_causal_attention(fused: bool) -> None:
    attn = tl.nn.MultiheadSelfAttention(12, 3, causal=True, dtype=tl.float64, fused=fused)
    x = tl.randn(2, 5, 12, dtype=tl.float64)
    with tl.no_grad():
        full = attn(x).numpy()
        cache = KVCache(5)
        steps = [attn(x[:, t : t + 1], kv_cache=cache).numpy() for t in range(5)]
    np.testing.assert_allclose(np.concatenate(steps, axis=1), full, rtol=1e-12, atol=1e-14)


def test_the_cache_refuses_overflow_gradients_and_padding() -> None:
    model = _model().eval()
    with tl.no_grad():
        cache = model.new_kv_cache()
        model(tl.tensor([[1] * 6]), kv_cache=cache)
        with pytest.raises(ValueError, match="length 3 after 6 cached positions is longer than block_size 8"):
            model(tl.tensor([[1, 2, 3]]), kv_cache=cache)
        with pytest.raises(ValueError, match="6 cached \\+ 3 new positions exceed max_len 8"):
            cache[0].update(np.zeros((1, 2, 3, 8), np.float32), np.zeros((1, 2, 3, 8), np.float32))
        attn = model.blocks[0].attn
        with pytest.raises(ValueError, match="without padding"):
            attn(tl.randn(1, 1, 16), key_padding_mask=np.zeros((1, 1), bool), kv_cache=KVCache(4))
    with pytest.raises(ValueError, match="under no_grad"):
        model(tl.tensor([[1]]), kv_cache=model.new_kv_cache())


def test_reset_empties_the_cache_and_keeps_its_buffers() -> None:
    cache = KVCache(4)
    k = np.ones((1, 1, 3, 2))
    cache.update(k, k)
    buffer = cache.k
    cache.reset()
    keys, _ = cache.update(2 * k[:, :, :1], k[:, :, :1])
    assert cache.length == 1 and cache.k is buffer
    np.testing.assert_array_equal(keys, 2 * k[:, :, :1])
