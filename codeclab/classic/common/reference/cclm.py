"""CCLM in torch, whole blocks at a time (H.266 §8.4.5.2.14, INTRA_LT_CCLM, 4:2:0).

The reference of :mod:`codeclab.classic.common.cclm` (its docstring has the formulas and
the one simplification: top neighbours from a single luma row). Here the luma of the
block and of its neighbours is downsampled with tensor slices, the line is fitted exactly
as the standard writes it, and the prediction is one tensor expression.
"""

from __future__ import annotations

import torch

#: H.266 Table 8-23.
DIV_SIG_TABLE = (0, 7, 6, 5, 5, 4, 4, 3, 3, 2, 2, 1, 1, 1, 1, 0)


def _columns_left(luma: torch.Tensor, x0: int, x1: int, first_available: bool) -> torch.Tensor:
    """Columns 2u - 1 for chroma columns u in [x0, x1): repeat 2u where 2u - 1 is not there."""
    cols = torch.arange(2 * x0, 2 * x1, 2) - 1
    cols[0] = cols[0] if (cols[0] >= 0 and first_available) else cols[0] + 1
    return luma[..., cols]


def downsample_block(luma: torch.Tensor, cx: int, cy: int, width: int, height: int,
                     available_left: bool) -> torch.Tensor:
    """pDsY of chroma columns cx..cx+width-1 and rows cy..cy+height-1 (6-tap filter)."""
    rows = luma[2 * cy:2 * (cy + height)].to(torch.int64)
    centre = rows[:, 2 * cx:2 * (cx + width):2]
    right = rows[:, 2 * cx + 1:2 * (cx + width):2]
    left = _columns_left(rows, cx, cx + width, available_left)
    per_row = left + 2 * centre + right
    return (per_row[0::2] + per_row[1::2] + 4) >> 3


def downsample_above(luma: torch.Tensor, cx: int, cy: int, width: int, available_left: bool) -> torch.Tensor:
    """pDsY of the top neighbours: [1 2 1] >> 2 on the luma row just above the block."""
    row = luma[2 * cy - 1].to(torch.int64)
    centre = row[2 * cx:2 * (cx + width):2]
    right = row[2 * cx + 1:2 * (cx + width):2]
    left = _columns_left(row, cx, cx + width, available_left)
    return (left + 2 * centre + right + 2) >> 2


def parameters(luma: torch.Tensor, chroma: torch.Tensor, available_left: bool, available_top: bool,
               cx: int, cy: int, n: int, bit_depth: int) -> tuple[int, int, int]:
    """``(a, k, b)`` as in H.266 (8-197) to (8-213), from the four picked neighbour pairs."""
    if not (available_left or available_top):
        return 0, 0, 1 << (bit_depth - 1)
    both = available_left and available_top
    count = 2 if both else 4
    start, step = n >> (2 if both else 3), max(1, n >> (1 if both else 2))
    picks = [start + p * step for p in range(count)]
    pairs = []
    if available_top:
        above = downsample_above(luma, cx, cy, n, available_left)
        pairs += [(int(above[p]), int(chroma[cy - 1, cx + p])) for p in picks]
    if available_left:
        left = downsample_block(luma, cx - 1, cy, 1, n, cx - 1 > 0)[:, 0]
        pairs += [(int(left[p]), int(chroma[cy + p, cx - 1])) for p in picks]
    y = [p[0] for p in pairs]
    c = [p[1] for p in pairs]
    min_idx, max_idx = [0, 2], [1, 3]
    if y[min_idx[0]] > y[min_idx[1]]:
        min_idx = [min_idx[1], min_idx[0]]
    if y[max_idx[0]] > y[max_idx[1]]:
        max_idx = [max_idx[1], max_idx[0]]
    if y[min_idx[0]] > y[max_idx[1]]:
        min_idx, max_idx = max_idx, min_idx
    if y[min_idx[1]] > y[max_idx[0]]:
        min_idx[1], max_idx[0] = max_idx[0], min_idx[1]
    max_y, max_c = (y[max_idx[0]] + y[max_idx[1]] + 1) >> 1, (c[max_idx[0]] + c[max_idx[1]] + 1) >> 1
    min_y, min_c = (y[min_idx[0]] + y[min_idx[1]] + 1) >> 1, (c[min_idx[0]] + c[min_idx[1]] + 1) >> 1
    diff = max_y - min_y
    if diff == 0:
        return 0, 0, min_c
    diff_c = max_c - min_c
    x = diff.bit_length() - 1
    norm_diff = ((diff << 4) >> x) & 15
    x += 1 if norm_diff else 0
    yy = abs(diff_c).bit_length() if diff_c else 0  # floor(log2 |diffC|) + 1
    a = (diff_c * (DIV_SIG_TABLE[norm_diff] | 8) + ((1 << yy) >> 1)) >> yy
    k = 3 + x - yy
    if k < 1:
        k, a = 1, (a > 0) * 15 - (a < 0) * 15
    return a, k, min_c - ((a * min_y) >> k)


def predict(luma: torch.Tensor, chroma: torch.Tensor, available_left: bool, available_top: bool,
            cx: int, cy: int, n: int, bit_depth: int = 8) -> torch.Tensor:
    """The (n, n) CCLM prediction of the chroma block at (cx, cy), int64."""
    a, k, b = parameters(luma, chroma, available_left, available_top, cx, cy, n, bit_depth)
    ds = downsample_block(luma, cx, cy, n, n, available_left)
    return (((ds * a) >> k) + b).clamp(0, (1 << bit_depth) - 1)
