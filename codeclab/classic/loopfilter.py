"""In-loop deblocking of a decoded classic picture (H.265 §8.7.2 applied to its syntax).

The codec is all-intra, so every transform-block edge on the 8x8 grid has boundary strength
2 (§8.7.2.4: an intra block on either side) and one QP covers the picture. The edges come
from the ``tu_id`` map (one id per transform block, per 4x4 luma block): a vertical edge
segment at ``x = 8j``, rows ``4i..4i+3``, is filtered where ``tu_id[i, 2j-1] != tu_id[i, 2j]``
(:func:`~codeclab.classic.deblock.block_edges`); chroma uses the luma segment at the same
place on its own 8x8 grid (every other luma edge and segment).

The filters are those of :mod:`.deblock` (the readable, vectorised torch reference),
restated here as scalar numba loops: run per picture, the torch version spends most of its
time in thread start-up and small-tensor overhead (0.1 s to 2.5 s for a Kodak picture on a
busy 2-core machine), this one takes milliseconds. ``tests/classic/test_loopfilter.py``
checks that both give the same samples. Vertical edges are filtered first, then horizontal
edges on the result. The encoder calls this same function on its reconstruction.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .deblock import BETA_TABLE, TC_TABLE
from .reconstruct import chroma_qp

BETA = np.array(BETA_TABLE, dtype=np.int64)
TC = np.array(TC_TABLE, dtype=np.int64)


@njit(cache=True)
def _at(plane, x, y, vertical, line, i):
    """Sample i (0..7 = p3 p2 p1 p0 q0 q1 q2 q3) of a line across the edge at (x, y)."""
    if vertical:
        return np.int64(plane[y + line, x - 4 + i])
    return np.int64(plane[y - 4 + i, x + line])


@njit(cache=True)
def _put(plane, x, y, vertical, line, i, value):
    if vertical:
        plane[y + line, x - 4 + i] = value
    else:
        plane[y - 4 + i, x + line] = value


@njit(cache=True)
def filter_luma_segment(plane, x, y, vertical, beta, tc, max_value):
    """Decisions (§8.7.2.5.3, §8.7.2.5.6) and filters (§8.7.2.5.7) of one 4-line segment."""
    dp0 = abs(_at(plane, x, y, vertical, 0, 1) - 2 * _at(plane, x, y, vertical, 0, 2) + _at(plane, x, y, vertical, 0, 3))
    dq0 = abs(_at(plane, x, y, vertical, 0, 6) - 2 * _at(plane, x, y, vertical, 0, 5) + _at(plane, x, y, vertical, 0, 4))
    dp3 = abs(_at(plane, x, y, vertical, 3, 1) - 2 * _at(plane, x, y, vertical, 3, 2) + _at(plane, x, y, vertical, 3, 3))
    dq3 = abs(_at(plane, x, y, vertical, 3, 6) - 2 * _at(plane, x, y, vertical, 3, 5) + _at(plane, x, y, vertical, 3, 4))
    if dp0 + dq0 + dp3 + dq3 >= beta:
        return
    strong = True
    for line, dp, dq in ((0, dp0, dq0), (3, dp3, dq3)):
        p3, p0 = _at(plane, x, y, vertical, line, 0), _at(plane, x, y, vertical, line, 3)
        q0, q3 = _at(plane, x, y, vertical, line, 4), _at(plane, x, y, vertical, line, 7)
        if not (2 * (dp + dq) < (beta >> 2) and abs(p3 - p0) + abs(q0 - q3) < (beta >> 3)
                and abs(p0 - q0) < ((5 * tc + 1) >> 1)):
            strong = False
    side = (beta + (beta >> 1)) >> 3
    filter_p1 = dp0 + dp3 < side
    filter_q1 = dq0 + dq3 < side
    for line in range(4):
        p3, p2, p1, p0 = (_at(plane, x, y, vertical, line, 0), _at(plane, x, y, vertical, line, 1),
                          _at(plane, x, y, vertical, line, 2), _at(plane, x, y, vertical, line, 3))
        q0, q1, q2, q3 = (_at(plane, x, y, vertical, line, 4), _at(plane, x, y, vertical, line, 5),
                          _at(plane, x, y, vertical, line, 6), _at(plane, x, y, vertical, line, 7))
        if strong:
            t2 = 2 * tc
            new = ((2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3, (p2 + p1 + p0 + q0 + 2) >> 2,
                   (p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3,
                   (p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3, (p0 + q0 + q1 + q2 + 2) >> 2,
                   (p0 + q0 + q1 + 3 * q2 + 2 * q3 + 4) >> 3)
            old = (p2, p1, p0, q0, q1, q2)
            for i in range(6):
                _put(plane, x, y, vertical, line, i + 1, min(max(new[i], old[i] - t2), old[i] + t2))
            continue
        delta = (9 * (q0 - p0) - 3 * (q1 - p1) + 8) >> 4
        if abs(delta) >= 10 * tc:
            continue  # a real edge, not an artefact
        delta = min(max(delta, -tc), tc)
        _put(plane, x, y, vertical, line, 3, min(max(p0 + delta, 0), max_value))
        _put(plane, x, y, vertical, line, 4, min(max(q0 - delta, 0), max_value))
        half = tc >> 1
        if filter_p1:
            dp = min(max((((p2 + p0 + 1) >> 1) - p1 + delta) >> 1, -half), half)
            _put(plane, x, y, vertical, line, 2, min(max(p1 + dp, 0), max_value))
        if filter_q1:
            dq = min(max((((q2 + q0 + 1) >> 1) - q1 - delta) >> 1, -half), half)
            _put(plane, x, y, vertical, line, 5, min(max(q1 + dq, 0), max_value))


@njit(cache=True)
def filter_chroma_segment(plane, x, y, vertical, tc, max_value):
    """Chroma filter (§8.7.2.5.5): p0 += delta, q0 -= delta, delta = clip(+-tC, ((q0-p0) 4 + p1 - q1 + 4) >> 3)."""
    for line in range(4):
        p1, p0 = _at(plane, x, y, vertical, line, 2), _at(plane, x, y, vertical, line, 3)
        q0, q1 = _at(plane, x, y, vertical, line, 4), _at(plane, x, y, vertical, line, 5)
        delta = min(max((((q0 - p0) << 2) + p1 - q1 + 4) >> 3, -tc), tc)
        _put(plane, x, y, vertical, line, 3, min(max(p0 + delta, 0), max_value))
        _put(plane, x, y, vertical, line, 4, min(max(q0 - delta, 0), max_value))


@njit(cache=True)
def _is_edge(tu_id, i, j, vertical):
    """Segment i of edge j (x = 8j for vertical edges, y = 8j for horizontal) is a TU boundary."""
    if vertical:
        return tu_id[i, 2 * j - 1] != tu_id[i, 2 * j]
    return tu_id[2 * j - 1, i] != tu_id[2 * j, i]


@njit(cache=True)
def deblock_planes(y, cb, cr, tu_id, qp, bit_depth):
    """Deblock the (Y, Cb, Cr) int32 planes of a 4:2:0 picture in place (Bs = 2 everywhere)."""
    max_value = (1 << bit_depth) - 1
    scale = 1 << (bit_depth - 8)
    beta = BETA[min(max(qp, 0), 51)] * scale
    tc = TC[min(max(qp + 2, 0), 53)] * scale  # Bs = 2: qP + 2 (Bs - 1)
    tc_chroma = TC[min(max(chroma_qp(qp) + 2, 0), 53)] * scale
    height, width = y.shape
    for vertical in (True, False):
        edges = (width if vertical else height) // 8
        segments = (height if vertical else width) // 4
        for j in range(1, edges):
            for i in range(segments):
                if _is_edge(tu_id, i, j, vertical):
                    ex, ey = (8 * j, 4 * i) if vertical else (4 * i, 8 * j)
                    filter_luma_segment(y, ex, ey, vertical, beta, tc, max_value)
        # Chroma: edges every 8 chroma samples = every other luma edge and segment.
        for j in range(1, (edges + 1) // 2):
            for i in range((segments + 1) // 2):
                if _is_edge(tu_id, 2 * i, 2 * j, vertical):
                    ex, ey = (8 * j, 4 * i) if vertical else (4 * i, 8 * j)
                    filter_chroma_segment(cb, ex, ey, vertical, tc_chroma, max_value)
                    filter_chroma_segment(cr, ex, ey, vertical, tc_chroma, max_value)


def deblock_picture(planes: tuple[np.ndarray, ...], tu_id: np.ndarray, qp: int,
                    enabled: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deblocked copies of the (Y, Cb, Cr) int32 planes of a 4:2:0 picture coded at ``qp``."""
    out = tuple(np.array(p, dtype=np.int32, copy=True) for p in planes)
    if enabled:
        deblock_planes(out[0], out[1], out[2], tu_id, qp, 8)
    return out
