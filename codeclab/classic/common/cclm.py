"""Cross-component linear model (CCLM): chroma predicted from the reconstructed luma.

H.266 §8.4.5.2.14, the ``INTRA_LT_CCLM`` mode for 4:2:0. Within a block, chroma is close to
a linear function of luma; the line is fitted on the neighbours, which the decoder has too,
so nothing but the mode is sent::

    predC[x][y] = Clip1(((pDsY[x][y] * a) >> k) + b)

``pDsY`` is the reconstructed luma brought to the chroma grid by the 6-tap filter over rows
2y, 2y+1 and columns 2x-1 .. 2x+1::

    pDsY[x][y] = (pY[2x-1][2y] + 2 pY[2x][2y] + pY[2x+1][2y]
                + pY[2x-1][2y+1] + 2 pY[2x][2y+1] + pY[2x+1][2y+1] + 4) >> 3

(column 2x-1 left of the picture or of an unavailable left neighbour repeats column 2x).
The line ``(a, k, b)`` goes through (minY, minC) and (maxY, maxC), the means of the two
smallest and the two largest of four (luma, chroma) neighbour pairs::

           top row: 2 pairs at n/4, 3n/4          both sides available
      +--x-----x--       (4 at n/8, 3n/8, 5n/8, 7n/8 when only one side is)
      x  .  .  .  .
      |  .  block .      left column: 2 pairs at n/4, 3n/4
      x  .  .  .  .
                          neither side: predC = 2^(B-1)

    a = (maxC - minC) / (maxY - minY)     in fixed point: the divisor is normalised to
                                          4 bits and divided by a table (DivSigTable),
    b = minC - ((a * minY) >> k)          so the decoder never divides.

One simplification against VVC: the top neighbours always come from the single luma row
above the block (``[1 2 1] >> 2``), which VVC does only at a CTU's top edge; it needs one
line of luma above a block, not two. The torch twin is :mod:`.reference.cclm`.
"""

from __future__ import annotations

import numpy as np

from codeclab.kernels import kernel

#: The chroma "mode" of a CCLM block (VVC's number for INTRA_LT_CCLM); never a luma mode.
CCLM_MODE = 81
#: 1 / (1 + d / 16) in 3 bits, d = 0..15 (H.266 Table 8-23, ``divSigTable``).
DIV_SIG_TABLE = np.array([0, 7, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0], np.int64)


@kernel
def floor_log2(value):
    """floor(log2(value)) of a positive integer."""
    result = 0
    while value > 1:
        value >>= 1
        result += 1
    return result


@kernel
def _left_column(x, block_x, available_left):
    """Luma column 2u - 1 of the filters, or 2u itself where that column is not available."""
    if x == 0 or (x == block_x and not available_left):
        return x
    return x - 1


@kernel
def downsampled_luma(luma, u, v, block_x, available_left):
    """pDsY at chroma (u, v): the 6-tap filter over luma rows 2v and 2v + 1."""
    x, y = 2 * u, 2 * v
    xl = _left_column(x, block_x, available_left)
    return (luma[y, xl] + 2 * luma[y, x] + luma[y, x + 1]
            + luma[y + 1, xl] + 2 * luma[y + 1, x] + luma[y + 1, x + 1] + 4) >> 3


@kernel
def downsampled_luma_above(luma, u, row, block_x, available_left):
    """pDsY of a top neighbour at chroma column u: [1 2 1] >> 2 on the luma ``row`` above."""
    x = 2 * u
    xl = _left_column(x, block_x, available_left)
    return (luma[row, xl] + 2 * luma[row, x] + luma[row, x + 1] + 2) >> 2


@kernel
def cclm_parameters(luma, chroma, decoded, cx, cy, n, bit_depth):
    """``(a, k, b)`` of the n x n chroma block at (cx, cy) from its available neighbours.

    ``decoded``: the chroma availability map (the luma one agrees with it in 4:2:0).
    """
    available_left = cx > 0 and decoded[cy, cx - 1] != 0
    available_top = cy > 0 and decoded[cy - 1, cx] != 0
    if not available_left and not available_top:
        return 0, 0, 1 << (bit_depth - 1)
    both = available_left and available_top
    count = 2 if both else 4
    start = n >> (2 if both else 3)
    step = max(1, n >> (1 if both else 2))
    ys = np.empty(4, np.int64)
    cs = np.empty(4, np.int64)
    i = 0
    if available_top:
        for p in range(count):
            u = cx + start + p * step
            ys[i] = downsampled_luma_above(luma, u, 2 * cy - 1, 2 * cx, available_left)
            cs[i] = chroma[cy - 1, u]
            i += 1
    if available_left:
        for p in range(count):
            v = cy + start + p * step
            ys[i] = downsampled_luma(luma, cx - 1, v, 2 * cx, available_left)
            cs[i] = chroma[v, cx - 1]
            i += 1
    # The two smallest and the two largest luma values (H.266 (8-197) to (8-200)).
    min0, min1, max0, max1 = 0, 2, 1, 3
    if ys[min0] > ys[min1]:
        min0, min1 = min1, min0
    if ys[max0] > ys[max1]:
        max0, max1 = max1, max0
    if ys[min0] > ys[max1]:
        min0, min1, max0, max1 = max0, max1, min0, min1
    if ys[min1] > ys[max0]:
        min1, max0 = max0, min1
    max_y, max_c = (ys[max0] + ys[max1] + 1) >> 1, (cs[max0] + cs[max1] + 1) >> 1
    min_y, min_c = (ys[min0] + ys[min1] + 1) >> 1, (cs[min0] + cs[min1] + 1) >> 1
    diff = max_y - min_y
    if diff == 0:
        return 0, 0, min_c
    diff_c = max_c - min_c
    x = floor_log2(diff)
    norm_diff = ((diff << 4) >> x) & 15
    if norm_diff != 0:
        x += 1
    y = floor_log2(abs(diff_c)) + 1 if diff_c != 0 else 0
    a = (diff_c * (DIV_SIG_TABLE[norm_diff] | 8) + ((1 << y) >> 1)) >> y
    if 3 + x - y < 1:
        k = 1
        a = 15 if a > 0 else (-15 if a < 0 else 0)
    else:
        k = 3 + x - y
    return a, k, min_c - ((a * min_y) >> k)


@kernel
def predict_cclm(luma, chroma, decoded, cx, cy, n, bit_depth, pred):
    """``pred[:n, :n]`` of the chroma block at (cx, cy) by CCLM from the reconstructed ``luma``."""
    a, k, b = cclm_parameters(luma, chroma, decoded, cx, cy, n, bit_depth)
    available_left = cx > 0 and decoded[cy, cx - 1] != 0
    max_value = (1 << bit_depth) - 1
    for v in range(n):
        for u in range(n):
            value = ((downsampled_luma(luma, cx + u, cy + v, 2 * cx, available_left) * a) >> k) + b
            pred[v, u] = min(max(value, 0), max_value)
