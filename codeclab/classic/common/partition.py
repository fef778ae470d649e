"""The coding quadtree: CTUs, z-order, and the per-4x4 maps that neighbours read.

A picture is cut into 64x64 coding tree units (CTUs), coded in raster order. Each CTU is a
quadtree of coding units (CUs) of 64, 32, 16 or 8 samples, visited in z-order (H.265
§6.5.2)::

     0  1 |  4  5          the z-order index k of the 8x8 unit at (x, y) interleaves the
     2  3 |  6  7          bits of x and y: k = ... y1 x1 y0 x0
    ------+------
     8  9 | 12 13
    10 11 | 14 15

A CU of side 2^log2 covers ``4^(log2 - 3)`` consecutive 8x8 units in this order, so the
quadtree can be walked without recursion: at unit k, the blocks that *start* at k are those
whose unit count divides k (:func:`largest_block_at`); the split flags of those blocks are
read from the largest down until one says "not split", that block is the CU, and the walk
continues after its last unit. The encoder's writer and the decoder walk the same way.

A coded picture whose sides are not multiples of 64 (sequences code multiples of 8) ends
inside its last CTUs: as in HEVC, a block crossing the picture's edge is split without a
flag and blocks outside it are not coded (:func:`block_coverage`).

Syntax decisions of already coded CUs are kept in maps with one entry per 4x4 luma block,
which is all the context modelling and prediction need from the neighbours:

- ``cu_log2``: log2 of the CU covering the block, 0 where nothing is coded yet; the split
  flag's context counts the left and above neighbours that are deeper (smaller, §9.3.4.2.2);
- ``luma_mode``: its intra mode, -1 where not coded; the MPMs read the left and above
  neighbours, the above one only inside the same CTU row (§8.4.2);
- ``tu_id``: an id per transform block, whose boundaries the deblocking filter smooths.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.nnintra import NN_MODE_BASE
from codeclab.kernels import kernel

PLANAR_MODE = 0

CTU_LOG2 = 6
CTU_SIZE = 1 << CTU_LOG2
MIN_CU_LOG2 = 3
#: 8x8 units in a CTU.
UNITS_PER_CTU = 1 << 2 * (CTU_LOG2 - MIN_CU_LOG2)


@kernel
def z_order_position(k):
    """(x, y) in 8x8 units of the k-th unit of a CTU in z-order (de-interleaved bits)."""
    x = 0
    y = 0
    for bit in range(CTU_LOG2 - MIN_CU_LOG2):
        x |= ((k >> (2 * bit)) & 1) << bit
        y |= ((k >> (2 * bit + 1)) & 1) << bit
    return x, y


@kernel
def largest_block_at(k):
    """log2 of the largest quadtree block that starts at z-order unit k."""
    log2 = CTU_LOG2
    while k % (1 << 2 * (log2 - MIN_CU_LOG2)) != 0:
        log2 -= 1
    return log2


@kernel
def units_of(log2):
    """How many 8x8 units (z-order steps) a block of side 2^log2 covers."""
    return 1 << 2 * (log2 - MIN_CU_LOG2)


@kernel
def block_coverage(x, y, size, coded_height, coded_width):
    """Where a quadtree block lies: 0 outside the coded picture (not coded at all), 1 across
    its right or bottom edge (split without a flag, §7.3.8.4), 2 inside (the split is coded)."""
    if x >= coded_width or y >= coded_height:
        return 0
    if x + size > coded_width or y + size > coded_height:
        return 1
    return 2


@kernel
def split_context(cu_log2, x, y, log2):
    """ctxInc of split_cu_flag (§9.3.4.2.2): left and above CUs smaller than this block."""
    ux, uy = x >> 2, y >> 2
    inc = 0
    if ux > 0 and cu_log2[uy, ux - 1] != 0 and cu_log2[uy, ux - 1] < log2:
        inc += 1
    if uy > 0 and cu_log2[uy - 1, ux] != 0 and cu_log2[uy - 1, ux] < log2:
        inc += 1
    return inc


@kernel
def neighbour_modes(luma_mode, x, y):
    """(left, above) luma modes for the MPMs of the block at luma (x, y); -1: no candidate."""
    ux, uy = x >> 2, y >> 2
    left = luma_mode[uy, ux - 1] if ux > 0 else -1
    above = -1
    # The above neighbour must lie in the same CTU row (no line buffer of modes).
    if uy > 0 and (y - 1) >= ((y >> CTU_LOG2) << CTU_LOG2):
        above = luma_mode[uy - 1, ux]
    # A network mode (:mod:`~codeclab.classic.common.nnintra`) offers planar to the MPMs, as VVC's MIP blocks do.
    return (PLANAR_MODE if left >= NN_MODE_BASE else left), (PLANAR_MODE if above >= NN_MODE_BASE else above)


@kernel
def fill_map(unit_map, x, y, size, value):
    """Set the 4x4 entries covering the luma block (x, y, size) to ``value``."""
    for uy in range(y >> 2, (y + size) >> 2):
        for ux in range(x >> 2, (x + size) >> 2):
            unit_map[uy, ux] = value


@kernel
def take_quarter(node_x, node_y, node_log2, next_quarter, depth):
    """The next quarter, in z-order, of node ``depth`` of a quadtree walk's stack (arrays of
    the nodes' x, y, log2 size and next quarter index): its (x, y, log2), marked taken."""
    i = next_quarter[depth]
    next_quarter[depth] += 1
    log2 = node_log2[depth] - 1
    return node_x[depth] + (i & 1) * (1 << log2), node_y[depth] + (i >> 1) * (1 << log2), log2


def new_maps(height: int, width: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty ``(cu_log2, luma_mode, tu_id)`` maps of an (H, W) padded luma picture."""
    shape = (height // 4, width // 4)
    return (np.zeros(shape, np.int32), np.full(shape, -1, np.int32), np.zeros(shape, np.int32))
