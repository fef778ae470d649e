"""In-loop deblocking of a decoded classic picture (H.265 §8.7.2 applied to its syntax).

One QP covers a picture. The edges come from the ``tu_id`` map (one id per transform
block, per 4x4 luma block; a CU without residual is one block): a vertical edge segment at
``x = 8j``, rows ``4i..4i+3``, is a block edge where ``tu_id[i, 2j-1] != tu_id[i, 2j]``
(:func:`~codeclab.classic.common.reference.deblock.block_edges`). Its boundary strength (§8.7.2.4,
:func:`edge_strengths`) is 2 next to an intra block, so every edge of an intra picture has
Bs 2; between inter blocks it is 1 when a side has luma coefficients or the motion differs
(other reference picture, or a vector one luma sample or more apart), else 0 (not
filtered). Chroma is filtered on its own 8x8 grid (every other luma edge and segment) where
Bs is 2. Only the coded picture (``Picture.coded``) is filtered.

The filters are those of :mod:`~codeclab.classic.common.reference.deblock` (the readable, vectorised torch reference),
restated here as scalar numba loops: run per picture, the torch version spends most of its
time in thread start-up and small-tensor overhead (0.1 s to 2.5 s for a Kodak picture on a
busy 2-core machine), this one takes milliseconds. ``tests/classic/test_loopfilter.py``
checks that both give the same samples. Vertical edges are filtered first, then horizontal
edges on the result. The encoder calls this same function on its reconstruction.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.picture import Picture
from codeclab.classic.common.reconstruct import chroma_qp
from codeclab.classic.common.tables import BETA_TABLE, TC_TABLE
from codeclab.kernels import kernel

BETA = np.array(BETA_TABLE, dtype=np.int64)
TC = np.array(TC_TABLE, dtype=np.int64)


@kernel
def _at(plane, x, y, vertical, line, i):
    """Sample i (0..7 = p3 p2 p1 p0 q0 q1 q2 q3) of a line across the edge at (x, y)."""
    if vertical:
        return np.int64(plane[y + line, x - 4 + i])
    return np.int64(plane[y - 4 + i, x + line])


@kernel
def _put(plane, x, y, vertical, line, i, value):
    if vertical:
        plane[y + line, x - 4 + i] = value
    else:
        plane[y - 4 + i, x + line] = value


@kernel
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


@kernel
def filter_chroma_segment(plane, x, y, vertical, tc, max_value):
    """Chroma filter (§8.7.2.5.5): p0 += delta, q0 -= delta, delta = clip(+-tC, ((q0-p0) 4 + p1 - q1 + 4) >> 3)."""
    for line in range(4):
        p1, p0 = _at(plane, x, y, vertical, line, 2), _at(plane, x, y, vertical, line, 3)
        q0, q1 = _at(plane, x, y, vertical, line, 4), _at(plane, x, y, vertical, line, 5)
        delta = min(max((((q0 - p0) << 2) + p1 - q1 + 4) >> 3, -tc), tc)
        _put(plane, x, y, vertical, line, 3, min(max(p0 + delta, 0), max_value))
        _put(plane, x, y, vertical, line, 4, min(max(q0 - delta, 0), max_value))


@kernel
def _strength(tu_id, coded_tu, ref_idx, mv, pocs, vp, up, vq, uq):
    """Bs of the edge between 4x4 blocks p = (vp, up) and q = (vq, uq) (§8.7.2.4).

    2 if either side is intra; 1 if either side's luma transform block has coefficients,
    or the sides predict from different pictures, or their vectors differ by one luma sample
    (4 quarter samples) or more in x or y; else 0. Not a block edge: 0.
    """
    if tu_id[vp, up] == tu_id[vq, uq]:
        return 0
    rp, rq = ref_idx[vp, up], ref_idx[vq, uq]
    if rp < 0 or rq < 0:
        return 2
    if coded_tu[tu_id[vp, up]] or coded_tu[tu_id[vq, uq]]:
        return 1
    if pocs[rp] != pocs[rq]:
        return 1
    if abs(mv[vp, up, 0] - mv[vq, uq, 0]) >= 4 or abs(mv[vp, up, 1] - mv[vq, uq, 1]) >= 4:
        return 1
    return 0


@kernel
def edge_strengths(tu_id, luma_levels, ref_idx, mv, pocs, coded_height, coded_width):
    """Bs maps of a picture: ``bs_ver`` (H/4, W/8) for the vertical edge at x = 8j, rows
    4i..4i+3, and ``bs_hor`` (H/8, W/4) for the horizontal edge at y = 8i, columns 4j..4j+3.

    Edges are where the transform block id changes (every CU boundary is one: a CU without
    residual keeps one id); a transform block "has coefficients" when any of its luma
    levels is non-zero. ``ref_idx`` is -1 for intra blocks; ``pocs`` maps reference indices
    to pictures.
    """
    units_h, units_w = coded_height // 4, coded_width // 4
    coded_tu = np.zeros(tu_id.max() + 1, np.uint8)
    for v in range(units_h):
        for u in range(units_w):
            if coded_tu[tu_id[v, u]]:
                continue
            for y in range(4 * v, 4 * v + 4):
                for x in range(4 * u, 4 * u + 4):
                    if luma_levels[y, x] != 0:
                        coded_tu[tu_id[v, u]] = 1
    rows, cols = tu_id.shape
    bs_ver = np.zeros((rows, cols // 2), np.uint8)
    bs_hor = np.zeros((rows // 2, cols), np.uint8)
    for v in range(units_h):
        for j in range(1, units_w // 2):
            bs_ver[v, j] = _strength(tu_id, coded_tu, ref_idx, mv, pocs, v, 2 * j - 1, v, 2 * j)
    for i in range(1, units_h // 2):
        for u in range(units_w):
            bs_hor[i, u] = _strength(tu_id, coded_tu, ref_idx, mv, pocs, 2 * i - 1, u, 2 * i, u)
    return bs_ver, bs_hor


@kernel
def deblock_planes(y, cb, cr, bs_ver, bs_hor, qp, bit_depth, coded_height, coded_width):
    """Deblock the (Y, Cb, Cr) int32 planes of a 4:2:0 picture in place.

    Luma segments with Bs > 0 use tC at ``qP + 2 (Bs - 1)``; chroma edges (every 8 chroma
    samples) are filtered where the luma segment at the same place has Bs = 2.
    """
    max_value = (1 << bit_depth) - 1
    scale = 1 << (bit_depth - 8)
    beta = BETA[min(max(qp, 0), 51)] * scale
    tc_chroma = TC[min(max(chroma_qp(qp) + 2, 0), 53)] * scale
    for vertical in (True, False):
        edges = (coded_width if vertical else coded_height) // 8
        segments = (coded_height if vertical else coded_width) // 4
        for j in range(1, edges):
            for i in range(segments):
                bs = bs_ver[i, j] if vertical else bs_hor[j, i]
                if bs:
                    tc = TC[min(max(qp + 2 * (bs - 1), 0), 53)] * scale
                    ex, ey = (8 * j, 4 * i) if vertical else (4 * i, 8 * j)
                    filter_luma_segment(y, ex, ey, vertical, beta, tc, max_value)
        # Chroma: edges every 8 chroma samples = every other luma edge and segment.
        for j in range(1, (edges + 1) // 2):
            for i in range((segments + 1) // 2):
                bs = bs_ver[2 * i, 2 * j] if vertical else bs_hor[2 * j, 2 * i]
                if bs == 2:
                    ex, ey = (8 * j, 4 * i) if vertical else (4 * i, 8 * j)
                    filter_chroma_segment(cb, ex, ey, vertical, tc_chroma, max_value)
                    filter_chroma_segment(cr, ex, ey, vertical, tc_chroma, max_value)


def deblock_picture(pic: Picture, qp: int, enabled: bool = True,
                    pocs: np.ndarray | None = None, bit_depth: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Deblocked copies of the planes of a decoded picture coded at ``qp`` (QpY).

    ``pocs``: the pictures of its reference list (none for an intra picture). ``bit_depth``
    of the samples: beta and tC scale with it (H.265 (8-291), (8-292)).
    """
    out = tuple(np.array(p, dtype=np.int32, copy=True) for p in pic.planes)
    if enabled:
        pocs = np.zeros(1, np.int64) if pocs is None or len(pocs) == 0 else np.asarray(pocs, np.int64)
        coded_height, coded_width = pic.coded
        bs_ver, bs_hor = edge_strengths(pic.tu_id, pic.levels[0], pic.ref_idx, pic.mv, pocs,
                                        coded_height, coded_width)
        deblock_planes(out[0], out[1], out[2], bs_ver, bs_hor, qp, bit_depth, coded_height, coded_width)
    return out
