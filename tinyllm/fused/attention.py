"""Scaled dot-product attention in one node."""

from __future__ import annotations

import math
from typing import Any

import numpy

from tinyllm.autograd import Function
from tinyllm.backend import get_array_module, is_cuda_array
from tinyllm.ops.elementwise import unbroadcast
from tinyllm.ops.softmax import max_shift
from tinyllm.ops.threads import parallel_for

_GRAIN = 1 << 15  # attention weights per thread at least: below, one thread is faster


def causal_block_rows(L: int) -> int:
    """Rows per query block of causal attention: 64 at least, and at most 8 blocks.

    Block b of rows [r0, r1) reads keys [0, r1) only, so the work is about (1 + 1/n) / 2
    of the full L x S for n blocks; but each block costs a few array calls more, and
    below 64 rows those cost more than the skipped work saves (measured).
    """
    return max(64, -(-L // 8))


def unshifted_limit(dtype: Any, S: int) -> float:
    """The largest |score| for which softmax needs no max shift, for S keys in ``dtype``.

    Softmax is the same for scores shifted by any constant per row; the shift by the row
    maximum only keeps exp in range. If every score s has |s| <= this limit, then no
    exp(s) and no row sum of S of them overflows, and no exp(s) falls below the smallest
    normal number, so exp of the scores as they are gives the same weights (within
    rounding) without the row maximum, a slow reduction over a short axis. float32 with
    64 keys: 83.6; float16: 5.9.
    """
    info = numpy.finfo(dtype)
    return min(math.log(float(info.max)) - math.log(max(S, 1)), -math.log(float(info.tiny))) - 1


class Attention(Function):
    """O = dropout(P) V with P = softmax(S), S = scale * Q K^T (+ mask), over the last two axes.

    Q: (..., L, E), K: (..., S, E), V: (..., S, Ev). ``mask`` is optional: a bool
    array (True where a query may attend to a key; False becomes -inf in S) or a
    float array added to S; a query whose keys are all masked gets all-zero weights
    and a zero output (as PyTorch's function gives). ``causal=True`` masks key j > query i
    as well. ``keep`` is optional: the dropout mask already scaled by 1 / (1 - p), so that
    dropout(P) = P * keep.

    Outputs O and P (the attention weights, before dropout). Backward, with
    D = dropout(P) and dP the gradient reaching P:

        dV = D^T dO,   dP += (dO V^T) * keep,
        dS = P * (dP - sum_j dP * P)        (the softmax's backward, row by row)
        dQ = scale * dS K,   dK = dS^T (scale * Q).

    Softmax shifts each row by its maximum only when it must: when every score lies within
    :func:`unshifted_limit` and the masks are 0 or -inf, exp cannot overflow or lose a row,
    and the row maximum (a slow reduction over a short axis) is skipped.

    Causal attention runs over blocks of query rows (:func:`causal_block_rows`): rows
    [r0, r1) see keys [0, r1) at most, so the blocks above the diagonal, where P is 0,
    are never computed, forward or backward. When Q, K and V share their batch axes, the
    batch items split over threads if :func:`~tinyllm.ops.threads.set_num_threads` allows.
    """

    def forward(self, q: Any, k: Any, v: Any, scale: float, mask: Any = None, keep: Any = None,
                causal: bool = False) -> tuple[Any, Any]:  # fmt: skip
        xp = get_array_module(q)
        L, S = q.shape[-2], k.shape[-2]
        q = q * scale  # scaling q (L x E) is cheaper than scaling the scores (L x S)
        batch = numpy.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])  # shapes only: any backend
        self.blocks = self._blocks(L, S, causal)
        self.whole = whole = self.blocks == [(0, L, S)]  # one block of every row and key: computed in P itself
        p = (xp.zeros if not whole else xp.empty)((*batch, L, S), dtype=q.dtype)  # 0 where never computed
        o = xp.empty((*batch, L, v.shape[-1]), dtype=q.dtype)
        # Masks of 0 and -inf only leave the scores' range check below valid; the host only
        # (on a GPU the check would wait for the device, where the row maximum does not).
        limit = None if is_cuda_array(q) or (mask is not None and mask.dtype != bool) else unshifted_limit(q.dtype, S)
        if mask is not None:  # as an additive mask (0 or -inf) of shape (..., L, S)
            mask = xp.where(mask, 0, -xp.inf).astype(q.dtype) if mask.dtype == bool else mask
            mask = xp.broadcast_to(mask, numpy.broadcast_shapes(mask.shape, (L, S)))
        future = xp.where(xp.tri(L, S, dtype=bool), 0, -xp.inf).astype(q.dtype) if causal else None
        ones = xp.ones((S, 1), dtype=q.dtype)  # row sums as products with ones: BLAS, 5x faster than sum()

        def part(lo: int, hi: int) -> None:
            qb, kb, vb, pb, ob, m, kp = self._slices(lo, hi, q, k, v, p, o, mask, keep)
            for r0, r1, e in self.blocks:
                if whole:
                    s = xp.matmul(qb, kb.swapaxes(-1, -2), out=pb)
                else:  # a fresh, contiguous block: fast in place, then copied into P
                    s = qb[..., r0:r1, :] @ kb[..., :e, :].swapaxes(-1, -2)
                in_range = limit is not None and s.size > 0 and -limit <= s.min() and s.max() <= limit
                if m is not None:
                    s += m[..., r0:r1, :e]
                if future is not None and r0 < e:  # only keys j >= r0 can lie after a query of the block
                    s[..., r0:] += future[r0:r1, r0:e]
                if not in_range:
                    s -= max_shift(s, -1)
                xp.exp(s, out=s)
                z = s @ ones[:e]
                s /= xp.where(z == 0, 1, z)  # a query that may attend to nothing gets weights 0, output 0
                if not whole:
                    pb[..., r0:r1, :e] = s
                d = s if kp is None else s * kp[..., r0:r1, :e]
                xp.matmul(d, vb[..., :e, :], out=ob[..., r0:r1, :])

        self.split = bool(batch) and q.shape[:-2] == k.shape[:-2] == v.shape[:-2]
        self._run(part, p)
        self.q, self.k, self.v, self.p, self.keep, self.scale = q, k, v, p, keep, scale
        return o, p

    @staticmethod
    def _blocks(L: int, S: int, causal: bool) -> list[tuple[int, int, int]]:
        """(r0, r1, e) per block: query rows [r0, r1) read keys [0, e)."""
        if not causal:
            return [(0, L, S)]
        n = causal_block_rows(L)
        return [(r0, min(r0 + n, L), min(r0 + n, L, S)) for r0 in range(0, L, n)]

    def _run(self, part: Any, p: Any) -> None:
        """part(lo, hi) over the first batch axis, on several threads, when q, k and v share
        their batch axes (no broadcasting between them); else once over everything."""
        if self.split:
            parallel_for(part, p.shape[0], -(-_GRAIN // (p[:1].size or 1)), like=p)
        else:
            part(0, 0)

    def _slices(self, lo: int, hi: int, *arrays: Any) -> list[Any]:
        """Each array's batch items [lo, hi) when the work splits; an array without its own
        first batch axis (a mask shared by the batch) or None stays whole."""
        if not self.split:
            return list(arrays)
        ndim = len(arrays[0].shape)
        return [a[lo:hi] if a is not None and a.ndim == ndim else a for a in arrays]

    def backward(self, g_o: Any, g_p: Any) -> tuple[Any, Any, Any]:
        # BEGIN SOLUTION task=attention
        xp = get_array_module(self.p)
        q, k, v, p, keep = self.q, self.k, self.v, self.p, self.keep
        want_q, want_k, want_v = self.needs_grad(0), self.needs_grad(1), self.needs_grad(2)
        g_q = xp.empty(p.shape[:-1] + q.shape[-1:], dtype=q.dtype) if want_q else None  # every row is written
        whole = self.whole  # then dK and dV are written once, not summed over blocks
        new = xp.empty if whole else xp.zeros
        g_k = new(p.shape[:-2] + k.shape[-2:], dtype=k.dtype) if want_k else None
        g_v = new(p.shape[:-2] + v.shape[-2:], dtype=v.dtype) if want_v and g_o is not None else None

        def part(lo: int, hi: int) -> None:
            qb, kb, vb, pp, kp, go_, gp_, gq, gk, gv = self._slices(lo, hi, q, k, v, p, keep, g_o, g_p, g_q, g_k, g_v)
            for r0, r1, e in self.blocks:
                pb = pp[..., r0:r1, :e]
                if go_ is not None:
                    go = go_[..., r0:r1, :]
                    dp = go @ vb[..., :e, :].swapaxes(-1, -2)  # a fresh array, so the steps below may work in place
                    if kp is not None:
                        dp *= kp[..., r0:r1, :e]
                    if gp_ is not None:
                        dp += gp_[..., r0:r1, :e]
                    if gv is not None:
                        d = pb if kp is None else pb * kp[..., r0:r1, :e]
                        if whole:
                            xp.matmul(d.swapaxes(-1, -2), go, out=gv)
                        else:
                            gv[..., :e, :] += d.swapaxes(-1, -2) @ go
                else:
                    dp = gp_[..., r0:r1, :e].copy()
                dp -= xp.einsum("...ij,...ij->...i", dp, pb)[..., None]  # row-wise dot: no product array
                dp *= pb  # now dS
                if gq is not None:
                    xp.matmul(dp, kb[..., :e, :], out=gq[..., r0:r1, :])
                if gk is not None and whole:
                    xp.matmul(dp.swapaxes(-1, -2), qb, out=gk)  # q is scaled
                elif gk is not None:
                    gk[..., :e, :] += dp.swapaxes(-1, -2) @ qb[..., r0:r1, :]

        self._run(part, p)
        if g_q is not None:
            g_q *= self.scale
            g_q = unbroadcast(g_q, q.shape)
        g_k = unbroadcast(g_k, k.shape) if g_k is not None else None
        g_v = unbroadcast(g_v, v.shape) if g_v is not None else None
        return g_q, g_k, g_v
        # END SOLUTION
