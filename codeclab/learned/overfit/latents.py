"""The latent stream: every grid's integers, coded with the tables the integer ARM selects.

Order: level 0 (full resolution) to level L-1, each grid in raster order. For a latent
``y`` with ARM outputs ``(m, k)`` (:func:`.arm.predict`)::

    c = floor((m + 4) / 8),  d = m - 8 c  (in -4 .. 3)      mean = c + d / 8
    symbol = sign(d) (y - c)  in table  k * 5 + |d|          (sign(0) = +1; mirror for d < 0)
    escape (symbol outside the table): then symbol + 2^15 as 16 raw bits

coded with the rANS coder of :mod:`codeclab.entropy.rans`. The decoder
(:func:`decode_latents`) runs the ARM and the coder interleaved in one compiled loop; a
context of zeros, the most common one at low rates, is predicted once and reused (same
integers, so the same tables). Decoding stops at the first latent outside
``[-LATENT_LIMIT, LATENT_LIMIT]`` and reports it; the work is bounded by the latent count.
"""

from __future__ import annotations

import numpy as np

from codeclab.entropy import rans
from codeclab.kernels import kernel
from codeclab.learned.overfit.architecture import LATENT_LIMIT
from codeclab.learned.overfit.arm import context_offsets, gather, predict, tables

_ESCAPE_BIAS = 1 << (rans.ESCAPE_BITS - 1)


@kernel
def _table(m, k, per_scale):
    c = (m + 4) >> 3
    d = m - 8 * c
    sign = 1
    if d < 0:
        sign = -1
        d = -d
    return c, sign, k * per_scale + d


@kernel
def _symbols(flat, shapes, offsets, w0, b0, w1, b1, w2, b2, shifts, cdf, first, count, offset, per_scale):
    n = flat.shape[0]
    starts = np.empty(2 * n, dtype=np.int64)
    freqs = np.empty(2 * n, dtype=np.int64)
    ctx = np.empty(offsets.shape[0], dtype=np.int64)
    h0 = np.empty(w0.shape[0], dtype=np.int64)
    h1 = np.empty(w1.shape[0], dtype=np.int64)
    out = np.empty(2, dtype=np.int64)
    at, pos = 0, 0
    for level in range(shapes.shape[0]):
        h, w = shapes[level, 0], shapes[level, 1]
        y = flat[at: at + h * w].reshape(h, w)
        for i in range(h):
            for j in range(w):
                gather(y, i, j, offsets, ctx)
                m, k = predict(ctx, w0, b0, w1, b1, w2, b2, shifts, h0, h1, out)
                c, sign, t = _table(m, k, per_scale)
                v = sign * (y[i, j] - c)
                u = v - offset[t]
                escape = u < 0 or u >= count[t] - 1
                if escape:
                    u = count[t] - 1
                starts[pos] = cdf[first[t] + u]
                freqs[pos] = cdf[first[t] + u + 1] - starts[pos]
                pos += 1
                if escape:  # the value itself, as 16 raw bits
                    starts[pos] = v + _ESCAPE_BIAS
                    freqs[pos] = 1
                    pos += 1
        at += h * w
    return starts[:pos], freqs[:pos]


def encode_latents(grids: list[np.ndarray], arm: tuple) -> bytes:
    """Integer grids (full resolution first) -> the latent stream; ``arm`` as
    :func:`.syntax.integer_arm` returns it."""
    t = tables()
    flat = np.concatenate([g.reshape(-1) for g in grids]).astype(np.int64)
    if np.abs(flat).max(initial=0) > LATENT_LIMIT:
        raise ValueError("latent outside the coded range")
    shapes = np.array([g.shape for g in grids], dtype=np.int64)
    starts, freqs = _symbols(flat, shapes, context_offsets(), *arm, t.cdf, t.first, t.count, t.offset, t.per_scale)
    return rans.encode_bytes(starts, freqs)


@kernel
def _decode(data, shapes, offsets, w0, b0, w1, b1, w2, b2, shifts, cdf, first, count, offset, per_scale, limit):
    total = 0
    for level in range(shapes.shape[0]):
        total += shapes[level, 0] * shapes[level, 1]
    flat = np.zeros(total, dtype=np.int64)
    ctx = np.zeros(offsets.shape[0], dtype=np.int64)
    h0 = np.empty(w0.shape[0], dtype=np.int64)
    h1 = np.empty(w1.shape[0], dtype=np.int64)
    out = np.empty(2, dtype=np.int64)
    m0, k0 = predict(ctx, w0, b0, w1, b1, w2, b2, shifts, h0, h1, out)
    x, pos, overrun = rans.init(data)
    at = 0
    for level in range(shapes.shape[0]):
        h, w = shapes[level, 0], shapes[level, 1]
        y = flat[at: at + h * w].reshape(h, w)
        for i in range(h):
            for j in range(w):
                gather(y, i, j, offsets, ctx)
                zero = True
                for n in range(ctx.shape[0]):
                    if ctx[n] != 0:
                        zero = False
                        break
                if zero:
                    m, k = m0, k0
                else:
                    m, k = predict(ctx, w0, b0, w1, b1, w2, b2, shifts, h0, h1, out)
                c, sign, t = _table(m, k, per_scale)
                slot = rans.peek(x)
                u = rans.find(cdf, first[t], count[t], slot)
                start = cdf[first[t] + u]
                x, pos, overrun = rans.advance(x, pos, overrun, data, start, cdf[first[t] + u + 1] - start)
                if u == count[t] - 1:  # escape: 16 raw bits follow
                    raw = rans.peek(x)
                    x, pos, overrun = rans.advance(x, pos, overrun, data, raw, 1)
                    v = raw - _ESCAPE_BIAS
                else:
                    v = offset[t] + u
                value = c + sign * v
                if value > limit or value < -limit or overrun > 4:
                    return flat, False
                y[i, j] = value
        at += h * w
    return flat, rans.finished(x, pos, overrun, data)


def decode_latents(data: bytes, shapes: list[tuple[int, int]], arm: tuple) -> tuple[list[np.ndarray], bool]:
    """(grids, ok): ``ok`` is False when the stream is inconsistent (the caller raises)."""
    t = tables()
    shape_array = np.array(shapes, dtype=np.int64).reshape(-1, 2)
    flat, ok = _decode(np.frombuffer(data, dtype=np.uint8), shape_array, context_offsets(), *arm,
                       t.cdf, t.first, t.count, t.offset, t.per_scale, LATENT_LIMIT)
    grids, at = [], 0
    for h, w in shapes:
        grids.append(flat[at: at + h * w].reshape(h, w))
        at += h * w
    return grids, bool(ok)
