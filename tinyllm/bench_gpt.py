"""W2's GPT at any size, in tinyllm and in PyTorch, and ``tinyllm bench --generate``.

The PyTorch twin has tinyllm's GPT layout and parameter names (a tinyllm
``state_dict`` loads into it) and generates with the same key/value cache scheme
as :meth:`tinyllm.models.GPT.generate`: a pass over the prompt fills the cache,
each step then feeds the newest token alone, and once the text outgrows
``block_size`` every step refills the cache from the last ``block_size`` tokens.

``tinyllm bench --generate`` times sampling ``new`` tokens (500 by default) after
a prompt of 12, batch 1, temperature 1, with W2's widths and a context of 512 so
that all of them fit in one window: with and without the cache, tinyllm and
PyTorch alternating, medians over rounds, both on one CPU thread (the products
of one token are too small to split; idle threads spin). It also checks that the
cache changes no token (each framework against itself, with the same seed).
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

import numpy

import tinyllm as tl
from tinyllm import backend, runtime
from tinyllm.bench import GPT_BATCH, GPT_SHAPE, Step, header, import_torch, sync, torch_sync

#: W2's model with room for a 12-token prompt and 500 new tokens
GENERATE_SHAPE = {**GPT_SHAPE, "block_size": 512}
GENERATE_PROMPT = 12
QUICK_GENERATE_SHAPE = {"vocab_size": 65, "block_size": 32, "n_layer": 2, "n_head": 2, "n_embd": 32}


def _data(shape: dict[str, int], batch: int, seed: int = 0) -> tuple[numpy.ndarray, numpy.ndarray]:
    rng = numpy.random.default_rng(seed)
    data = rng.integers(0, shape["vocab_size"], (batch, shape["block_size"] + 1))
    return data[:, :-1], data[:, 1:]


def tinyllm_gpt(shape: dict[str, int], device: str = "cpu") -> Any:
    from tinyllm.models import GPT, GPTConfig

    tl.manual_seed(0)
    return GPT(GPTConfig(**shape, dropout=0.0, bias=True, tie_weights=True)).to(device)


def tinyllm_train_step(shape: dict[str, int], device: str, batch: int = GPT_BATCH) -> Step:
    """W2's training step (AdamW(lr=1e-3, weight_decay=0.1)) for a GPT of ``shape`` on a full context."""
    model = tinyllm_gpt(shape, device)
    opt = tl.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    idx, targets = (tl.tensor(a, device=device) for a in _data(shape, batch))

    def step() -> None:
        opt.zero_grad()
        model(idx, targets)[1].backward()
        opt.step()
        sync(device)

    return step


def torch_gpt(shape: dict[str, int], device: str = "cpu") -> Any:
    """The PyTorch twin of :class:`tinyllm.models.GPT` (see the module's docstring), initialized as GPT-2."""
    torch = import_torch()
    nn, F = torch.nn, torch.nn.functional
    V, T, L, H, C = (shape[k] for k in ("vocab_size", "block_size", "n_layer", "n_head", "n_embd"))

    class KVCache:
        def __init__(self) -> None:
            self.length, self.k, self.v = 0, None, None

        def update(self, k: Any, v: Any) -> tuple[Any, Any]:
            if self.k is None:
                self.k, self.v = (k.new_empty(k.shape[0], k.shape[1], T, k.shape[3]) for _ in range(2))
            end = self.length + k.shape[2]
            self.k[:, :, self.length : end], self.v[:, :, self.length : end] = k, v
            self.length = end
            return self.k[:, :, :end], self.v[:, :, :end]

    class Attention(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.in_proj_weight = nn.Parameter(torch.randn(3 * C, C) * 0.02)
            self.in_proj_bias = nn.Parameter(torch.zeros(3 * C))
            self.out_proj = nn.Linear(C, C)

        def forward(self, x: Any, cache: KVCache | None) -> Any:
            B, t, _ = x.shape
            qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)
            q, k, v = qkv.view(B, t, 3, H, C // H).permute(2, 0, 3, 1, 4)
            first = cache is None or cache.length == 0
            if cache is not None:
                k, v = cache.update(k, v)
            y = F.scaled_dot_product_attention(q, k, v, is_causal=first)  # one new token sees every key
            return self.out_proj(y.transpose(1, 2).reshape(B, t, C))

    class MLP(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc, self.gelu, self.proj = nn.Linear(C, 4 * C), nn.GELU(), nn.Linear(4 * C, C)

        def forward(self, x: Any) -> Any:
            return self.proj(self.gelu(self.fc(x)))

    class Block(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.ln_1, self.attn, self.ln_2, self.mlp = nn.LayerNorm(C), Attention(), nn.LayerNorm(C), MLP()

        def forward(self, x: Any, cache: KVCache | None) -> Any:
            x = x + self.attn(self.ln_1(x), cache)
            return x + self.mlp(self.ln_2(x))

    class GPT(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
            self.blocks = nn.ModuleList(Block() for _ in range(L))
            self.ln_f = nn.LayerNorm(C)
            self.lm_head = nn.Linear(C, V, bias=False)
            self.lm_head.weight = self.wte.weight
            for name, p in self.named_parameters():
                if name.endswith(("out_proj.weight", "mlp.proj.weight")):
                    nn.init.normal_(p, 0.0, 0.02 / (2 * L) ** 0.5)
                elif name.endswith(("fc.weight", "wte.weight", "wpe.weight")):
                    nn.init.normal_(p, 0.0, 0.02)
                elif name.endswith(("fc.bias", "proj.bias")):
                    nn.init.zeros_(p)

        def forward(self, idx: Any, targets: Any = None, caches: list[KVCache] | None = None) -> Any:
            start = caches[0].length if caches else 0
            x = self.wte(idx) + self.wpe(torch.arange(start, start + idx.shape[1], device=idx.device))
            for i, block in enumerate(self.blocks):
                x = block(x, caches[i] if caches else None)
            logits = self.lm_head(self.ln_f(x))
            if targets is None:
                return logits
            return F.cross_entropy(logits.view(-1, V), targets.reshape(-1))

        @torch.no_grad()
        def generate(self, idx: Any, new: int, temperature: float = 1.0, generator: Any = None,
                     use_cache: bool = True) -> Any:  # fmt: skip
            out, caches = idx, None
            for _ in range(new):
                if caches is not None and caches[0].length == out.shape[1] - 1 and out.shape[1] <= T:
                    logits = self(out[:, -1:], caches=caches)
                else:
                    caches = [KVCache() for _ in range(L)] if use_cache else None
                    logits = self(out[:, -T:], caches=caches)
                last = logits[:, -1].double()
                if temperature == 0:
                    nxt = last.argmax(dim=1, keepdim=True)
                else:
                    nxt = torch.multinomial(F.softmax(last / temperature, dim=1), 1, generator=generator)
                out = torch.cat([out, nxt], dim=1)
            return out

    torch.manual_seed(0)
    return GPT().to(device)


def torch_train_step(shape: dict[str, int], device: str, batch: int = GPT_BATCH) -> Step:
    """The same step as :func:`tinyllm_train_step`, in PyTorch."""
    torch = import_torch()
    model = torch_gpt(shape, device)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=0.1)
    idx, targets = (torch.tensor(a, device=device) for a in _data(shape, batch))

    def step() -> None:
        opt.zero_grad()
        model(idx, targets).backward()
        opt.step()
        torch_sync(device)

    return step


# ----------------------------------------------------------------------------- generation


@dataclass
class GenerateResult:
    framework: str
    new_tokens: int
    tokens_per_s: float  # with the cache
    uncached_tokens_per_s: float
    same_tokens: bool  # the cache changed no sampled token

    @property
    def speedup(self) -> float:
        return self.tokens_per_s / self.uncached_tokens_per_s


def _samplers(shape: dict[str, int], device: str) -> dict[str, Any]:
    """Per framework: (new, use_cache) -> the prompt and ``new`` tokens sampled after it (seeded)."""
    prompt = numpy.random.default_rng(0).integers(0, shape["vocab_size"], (1, GENERATE_PROMPT))
    model = tinyllm_gpt(shape, device)
    idx = tl.tensor(prompt, device=device)

    def ours(new: int, use_cache: bool) -> numpy.ndarray:
        gen = tl.Generator(device).manual_seed(1)
        return model.generate(idx, new, generator=gen, use_cache=use_cache).numpy()  # .numpy() waits for the GPU

    samplers = {"tinyllm": ours}
    try:
        torch = import_torch()
    except ImportError:
        return samplers
    twin, t_idx = torch_gpt(shape, device).eval(), torch.tensor(prompt, device=device)

    def theirs(new: int, use_cache: bool) -> numpy.ndarray:
        gen = torch.Generator(device).manual_seed(1)
        out = twin.generate(t_idx, new, generator=gen, use_cache=use_cache)
        torch_sync(device)
        return out.cpu().numpy()

    samplers["torch"] = theirs
    return samplers


@contextmanager
def cpu_threads(n: int | None) -> Iterator[None]:
    """NumPy's BLAS and PyTorch on ``n`` CPU threads each for a ``with`` block, then as before (None: unchanged)."""
    try:
        torch = import_torch() if n else None
    except ImportError:
        torch = None
    before = (runtime.get_num_threads(), torch.get_num_threads() if torch is not None else 0)
    if n:
        runtime.set_num_threads(n)
        if torch is not None:
            torch.set_num_threads(n)
    try:
        yield
    finally:
        if n:
            runtime.set_num_threads(before[0])
            if torch is not None:
                torch.set_num_threads(before[1])


def time_generate(new: int = 500, device: str = "cpu", rounds: int = 3, quick: bool = False) -> list[GenerateResult]:
    """Tokens/s of sampling ``new`` tokens with and without the cache, per framework, after a warm-up of
    8 tokens each; the frameworks and the two paths alternate within each round; medians over ``rounds``.
    ``quick``: a model of 2 layers, 32 wide, context 32 (``new`` past it exercises the sliding window).
    Both frameworks run on one CPU thread: the products of one token are too small to split."""
    with cpu_threads(1):
        return _time_generate(new, device, rounds, quick)


def _time_generate(new: int, device: str, rounds: int, quick: bool) -> list[GenerateResult]:
    samplers = _samplers(QUICK_GENERATE_SHAPE if quick else GENERATE_SHAPE, device)
    times: dict[tuple[str, bool], list[float]] = {(f, c): [] for f in samplers for c in (True, False)}
    tokens: dict[tuple[str, bool], numpy.ndarray] = {}
    for framework, use_cache in times:
        samplers[framework](8, use_cache)
    for _ in range(rounds):
        for (framework, use_cache), spent in times.items():
            start = time.perf_counter()
            tokens[framework, use_cache] = samplers[framework](new, use_cache)
            spent.append(time.perf_counter() - start)
    rates = {key: new / statistics.median(spent) for key, spent in times.items()}
    same = {f: bool(numpy.array_equal(tokens[f, True], tokens[f, False])) for f in samplers}
    return [GenerateResult(f, new, rates[f, True], rates[f, False], same[f]) for f in samplers]


def generate_table(results: list[GenerateResult]) -> str:
    lines = [f"{'framework':<10}{'new tokens':>11}{'no cache tok/s':>16}{'cache tok/s':>13}{'speed-up':>10}"
             f"{'same tokens':>13}"]  # fmt: skip
    for r in results:
        lines.append(f"{r.framework:<10}{r.new_tokens:>11}{r.uncached_tokens_per_s:>16,.1f}{r.tokens_per_s:>13,.1f}"
                     f"{r.speedup:>9.1f}x{'yes' if r.same_tokens else 'NO':>13}")  # fmt: skip
    by = {r.framework: r for r in results}
    if "torch" in by:
        ours, theirs = by["tinyllm"], by["torch"]
        lines.append(f"time per token, tinyllm / PyTorch: {theirs.tokens_per_s / ours.tokens_per_s:.2f} with the "
                     f"cache, {theirs.uncached_tokens_per_s / ours.uncached_tokens_per_s:.2f} without")  # fmt: skip
    return "\n".join(lines)


def main(new: int = 500, device: str = "cpu", quick: bool = False, as_json: bool = False) -> list[GenerateResult]:
    """Time generation (:func:`time_generate`; ``quick``: one round) and print the table or JSON."""
    backend.as_device(device)
    runtime.keep_freed_memory()
    results = time_generate(new, device, rounds=1 if quick else 3, quick=quick)
    if as_json:
        print(json.dumps([{**asdict(r), "speedup": r.speedup} for r in results], indent=2))
    else:
        print(header(device))
        print(generate_table(results))
    return results
