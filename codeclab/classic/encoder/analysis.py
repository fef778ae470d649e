"""Encoder-side block kernels in numba: forward transform, quantization, sign hiding, SATD, SSE.

None of this is normative (a decoder never runs it), but the encoder runs it for every
candidate mode of every block, so it is scalar numba like :mod:`~codeclab.classic.common.reconstruct`, checked bit
for bit against the torch tools of :mod:`~codeclab.classic.common.reference.transform` and :mod:`~codeclab.classic.common.reference.quant`:

- :func:`forward_transform`: HM's two-stage integer DCT/DST,
  ``C = (T ((X T^t + r1) >> s1) + r2) >> s2`` with ``s1 = log2n + B - 9``, ``s2 = log2n + 6``;
- :func:`quantize`: dead-zone scalar quantization,
  ``level = sign(c) ((|c| quantScale[qP % 6] + f 2^(qBits - 9)) >> qBits)``,
  ``qBits = 14 + qP // 6 + 15 - B - log2n``;
- :func:`hide_signs`: sign data hiding's parity fix, one level moved by one where a
  sub-block's parity would tell the wrong hidden sign;
- :func:`satd`: the sum of absolute Hadamard-transformed differences, HM's cheap estimate of
  a residual's coded size, used to pre-select intra modes before the full RD check.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.reconstruct import MATRICES, QUANT_SCALE
from codeclab.classic.common.residual import SIGN_HIDING_DISTANCE
from codeclab.kernels import kernel

COEFF_MIN, COEFF_MAX = -32768, 32767
#: 8x8 Hadamard matrix (Sylvester order); 4x4 is its top-left corner.
HADAMARD8 = np.array([[1 if bin(i & j).count("1") % 2 == 0 else -1 for j in range(8)]
                      for i in range(8)], dtype=np.int64)


@kernel
def forward_transform(residual, n, use_dst, bit_depth, tmp, coeffs):
    """Forward 2-D transform of ``residual[:n, :n]`` into ``coeffs[:n, :n]`` (HM ``xTrMxN``)."""
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    t = MATRICES[0] if use_dst else MATRICES[log2n]
    s1 = log2n + bit_depth - 9
    s2 = log2n + 6
    for i in range(n):
        for k in range(n):
            s = np.int64(0)
            for j in range(n):
                s += residual[i, j] * t[k, j]
            tmp[i, k] = (s + (1 << (s1 - 1))) >> s1
    for k in range(n):
        for j in range(n):
            s = np.int64(0)
            for i in range(n):
                s += t[k, i] * tmp[i, j]
            coeffs[k, j] = (s + (1 << (s2 - 1))) >> s2


@kernel
def quantize(coeffs, n, qp, bit_depth, rounding, levels):
    """Dead-zone quantization of ``coeffs[:n, :n]`` into ``levels[:n, :n]``; returns the
    number of non-zero levels. ``rounding`` is the offset f in 1/512 (171 = HM intra)."""
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    q_bits = 14 + qp // 6 + 15 - bit_depth - log2n
    scale = QUANT_SCALE[qp % 6]
    offset = np.int64(rounding) << (q_bits - 9)
    nonzero = 0
    for y in range(n):
        for x in range(n):
            c = np.int64(coeffs[y, x])
            magnitude = min((abs(c) * scale + offset) >> q_bits, COEFF_MAX)
            levels[y, x] = -magnitude if c < 0 else magnitude
            nonzero += magnitude != 0
    return nonzero


@kernel
def parity_to_fix(levels, x0, y0, scan4):
    """``(first, negative)`` of the 4x4 sub-block at (x0, y0) when its parity tells the wrong
    hidden sign: the scan position of its first non-zero level and that level's sign;
    ``(-1, False)`` when the sub-block hides no sign or already tells it right."""
    first, last, total = -1, -1, 0
    for k in range(16):
        v = levels[y0 + scan4[k, 1], x0 + scan4[k, 0]]
        if v != 0:
            if first < 0:
                first = k
            last = k
            total += abs(v)
    if first < 0 or last - first < SIGN_HIDING_DISTANCE:
        return -1, False
    negative = levels[y0 + scan4[first, 1], x0 + scan4[first, 0]] < 0
    if (total & 1) == (1 if negative else 0):
        return -1, False
    return first, negative


@kernel
def hide_signs(coeffs, levels, n, qp, bit_depth, scan4, scan_sb):
    """Make every qualifying 4x4 sub-block's parity tell its hidden sign (sign data hiding).

    A sub-block whose first and last non-zero levels (in scan order) lie
    :data:`~codeclab.classic.common.residual.SIGN_HIDING_DISTANCE` or more apart sends no
    sign for the first: an even sum of magnitudes means positive, odd negative. Where the
    levels say otherwise, one level moves by one step, the one whose move costs the least
    squared error in ``coeffs`` (HM's ``SignBitHidingHDQ`` without rate terms): with ``u``
    the unrounded magnitude ``|c| scale / 2^q_bits`` and ``l`` the level, moving up costs
    ``1 + 2 (l - u)`` and down ``1 - 2 (l - u)`` squared steps. The first level may not fall
    to zero, and a zero before it may only rise with the hidden sign (it becomes the first).
    Returns the number of levels changed.
    """
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    q_bits = 14 + qp // 6 + 15 - bit_depth - log2n
    scale = np.int64(QUANT_SCALE[qp % 6])
    unit = np.int64(1) << q_bits
    n_sb = n >> 2
    changed = 0
    for s in range(n_sb * n_sb):
        x0, y0 = scan_sb[s, 0] << 2, scan_sb[s, 1] << 2
        first, negative = parity_to_fix(levels, x0, y0, scan4)
        if first < 0:
            continue
        best_cost, best_k, best_step = np.int64(1) << 62, -1, 0
        for k in range(16):
            y, x = y0 + scan4[k, 1], x0 + scan4[k, 0]
            c = np.int64(coeffs[y, x])
            level = np.int64(abs(levels[y, x]))
            excess = level * unit - abs(c) * scale  # (l - u) in units of 2^-q_bits
            if level != 0:
                cost, step = unit - 2 * excess, -1
                if k == first and level == 1:
                    cost = np.int64(1) << 62  # the hidden sign would move to another level
                up = unit + 2 * excess
                if up < cost and level < COEFF_MAX:
                    cost, step = up, 1
            else:
                if k < first and (c < 0) != negative:
                    continue  # it would become the first level, with the other sign
                cost, step = unit + 2 * excess, 1
            if cost < best_cost:
                best_cost, best_k, best_step = cost, k, step
        y, x = y0 + scan4[best_k, 1], x0 + scan4[best_k, 0]
        v = levels[y, x]
        if v == 0:
            levels[y, x] = -1 if coeffs[y, x] < 0 else 1
        else:
            levels[y, x] = v + best_step if v > 0 else v - best_step
        changed += 1
    return changed


@kernel
def satd(orig, x0, y0, pred, n):
    """SATD of ``orig[y0:, x0:] - pred`` over n x n: Hadamard 4x4 for n = 4, else 8x8 tiles.

    Normalised as HM (``(sum + 1) >> 1`` per 4x4, ``(sum + 2) >> 2`` per 8x8), so it is
    comparable with a sum of absolute differences.
    """
    t = 4 if n == 4 else 8
    diff = np.empty((8, 8), np.int64)
    rows = np.empty((8, 8), np.int64)
    total = 0
    for by in range(0, n, t):
        for bx in range(0, n, t):
            for i in range(t):
                for j in range(t):
                    diff[i, j] = orig[y0 + by + i, x0 + bx + j] - pred[by + i, bx + j]
            for i in range(t):  # rows, then columns: H D H^t
                for v in range(t):
                    acc = 0
                    for j in range(t):
                        acc += HADAMARD8[v, j] * diff[i, j]
                    rows[i, v] = acc
            s = 0
            for u in range(t):
                for v in range(t):
                    acc = 0
                    for i in range(t):
                        acc += HADAMARD8[u, i] * rows[i, v]
                    s += abs(acc)
            total += (s + 1) >> 1 if t == 4 else (s + 2) >> 2
    return total


@kernel
def sse(orig, plane, x0, y0, n):
    """Sum of squared differences of the n x n blocks of two planes at (x0, y0)."""
    total = 0
    for y in range(y0, y0 + n):
        for x in range(x0, x0 + n):
            d = np.int64(orig[y, x]) - plane[y, x]
            total += d * d
    return total
