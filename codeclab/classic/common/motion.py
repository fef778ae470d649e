"""Motion compensation in numba: the normative inter prediction of the classic decoder.

:mod:`~codeclab.classic.common.reference.interp` states HEVC's fractional sample interpolation (H.265 §8.5.3.3.3) and the
default weighted prediction (§8.5.3.3.4.2) as readable, batched torch. A decoder predicts
one block after the other, so this module restates the same integer formulas as scalar
numba loops, like :mod:`~codeclab.classic.common.reconstruct` does for intra prediction;
``tests/classic/test_motion.py`` checks them bit for bit against the torch reference::

    reference plane ─► rows:    temp = (sum_k f[xFrac][k] ref[yy, Clip3(0, W-1, xInt + j + k - c)]) >> shift1
                       columns: pred14 = (sum_k f[yFrac][k] temp[i + k]) >> 6
                       samples: Clip3(0, 2^B - 1, (pred14 + 2^(13-B)) >> (14 - B))

with ``c`` = 3 (luma, 8 taps, quarter samples) or 1 (chroma, 4 taps, eighth samples; for
4:2:0 the chroma vector is the luma vector read in eighth chroma samples, eq. 8-228).
The reference is the *coded* picture (``height`` x ``width``, a multiple of 8 luma
samples); beyond it coordinates are clipped, i.e. its border samples are repeated
(eq. 8-228/8-229), however far a vector points.

The integer-position filter row is ``64 delta``, so when a fractional part is 0 the pass in
that direction is a copy (``64 t >> 6 = t``): the kernel skips it, which changes no sample.

:func:`predict_block` is the whole chain for one block of one component. The decoder calls
it for each inter coding unit and the encoder for every candidate it codes; the encoder's
search reads the same samples from :func:`fractional_planes`, the sixteen quarter-sample
phases of a whole luma picture, computed once per reference picture by the same kernel.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.tables import CHROMA_FILTER_TAPS, LUMA_FILTER_TAPS
from codeclab.kernels import kernel

LUMA_TAPS = np.array(LUMA_FILTER_TAPS, dtype=np.int64)      # (4, 8): quarter-sample phases
CHROMA_TAPS = np.array(CHROMA_FILTER_TAPS, dtype=np.int64)  # (8, 4): eighth-sample phases
#: Largest block one call predicts (a 64x64 CU), plus the filter's extra rows and columns.
MAX_BLOCK = 64


@kernel
def new_mc_workspace(max_side):
    """``(temp, cols)`` scratch of :func:`interpolate` for blocks up to ``max_side`` samples."""
    return np.empty((max_side + 7, max_side), np.int64), np.empty(max_side + 7, np.int64)


@kernel
def interpolate(ref, height, width, x0, y0, w, h, mvx, mvy, is_luma, bit_depth, work, out):
    """``predSamples`` (14-bit intermediate) of the w x h block at (x0, y0) moved by (mvx, mvy).

    Args:
        ref: (H', W') reference plane (H' >= height, W' >= width; only the coded
            ``height`` x ``width`` part is read).
        x0, y0: top-left of the block in samples of this component.
        mvx, mvy: the vector in quarter (luma) or eighth (chroma) samples.
        work: :func:`new_mc_workspace`; out: int (h, w) or larger, receives the samples.
    """
    taps = LUMA_TAPS if is_luma else CHROMA_TAPS
    frac_bits = 2 if is_luma else 3
    n_taps = taps.shape[1]
    centre = n_taps // 2 - 1
    mask = (1 << frac_bits) - 1
    fx, fy = mvx & mask, mvy & mask
    x_int = x0 + (mvx >> frac_bits)
    y_int = y0 + (mvy >> frac_bits)
    shift1 = min(4, bit_depth - 8)
    temp, cols = work
    # Clipped reference columns of the window, once per block.
    first_col = x_int - centre if fx else x_int
    n_cols = w + n_taps - 1 if fx else w
    for j in range(n_cols):
        cols[j] = min(max(first_col + j, 0), width - 1)
    first_row = y_int - centre if fy else y_int
    n_rows = h + n_taps - 1 if fy else h
    # Rows (or a copy scaled by 64 >> shift1 when xFrac = 0).
    for r in range(n_rows):
        yy = min(max(first_row + r, 0), height - 1)
        if fx:
            for j in range(w):
                s = np.int64(0)
                for k in range(n_taps):
                    s += taps[fx, k] * ref[yy, cols[j + k]]
                temp[r, j] = s >> shift1
        else:
            for j in range(w):
                temp[r, j] = np.int64(ref[yy, cols[j]]) << (6 - shift1)
    # Columns (or a copy when yFrac = 0).
    if fy:
        for i in range(h):
            for j in range(w):
                s = np.int64(0)
                for k in range(n_taps):
                    s += taps[fy, k] * temp[i + k, j]
                out[i, j] = s >> 6
    else:
        for i in range(h):
            for j in range(w):
                out[i, j] = temp[i, j]


@kernel
def uni_samples(pred14, w, h, bit_depth, out, x0, y0):
    """Default weighted uni-prediction (§8.5.3.3.4.2) of ``pred14[:h, :w]`` into
    ``out[y0:y0+h, x0:x0+w]``: ``Clip3(0, 2^B - 1, (p + offset1) >> shift1)``."""
    shift = 14 - bit_depth
    offset = (1 << shift) >> 1
    max_value = (1 << bit_depth) - 1
    for i in range(h):
        for j in range(w):
            out[y0 + i, x0 + j] = min(max((pred14[i, j] + offset) >> shift, 0), max_value)


@kernel
def predict_block(ref, height, width, x0, y0, w, h, mvx, mvy, is_luma, bit_depth, work,
                  pred14, out, ox, oy):
    """Uni-predicted samples of one block into ``out[oy:oy+h, ox:ox+w]`` (interpolate, then round)."""
    interpolate(ref, height, width, x0, y0, w, h, mvx, mvy, is_luma, bit_depth, work, pred14)
    uni_samples(pred14, w, h, bit_depth, out, ox, oy)


def fractional_planes(ref: np.ndarray, height: int, width: int, margin: int,
                      bit_depth: int = 8) -> np.ndarray:
    """The 16 quarter-sample phases of a coded luma picture, as predicted samples.

    ``planes[4 * yFrac + xFrac, margin + i, margin + j]`` is the uni-predicted sample at
    (j, i) of a block whose vector has fractional parts (xFrac, yFrac), for
    ``-margin <= i < height + margin`` (likewise j). Because a predicted sample depends only
    on its position and phase (the window is clipped per sample), these are exactly the
    samples :func:`predict_block` gives any block; and beyond 4 samples outside the picture
    every window is clipped to the border, so clipping a position to the margin (>= 4)
    gives the sample of any vector. The encoder's motion search reads candidates here.
    """
    if margin < 4:
        raise ValueError("fractional planes need a margin of at least 4 samples")
    side_h, side_w = height + 2 * margin, width + 2 * margin
    planes = np.empty((16, side_h, side_w), np.int16)
    _fill_fractional_planes(ref, height, width, margin, bit_depth, planes)
    return planes


@kernel
def _fill_fractional_planes(ref, height, width, margin, bit_depth, planes):
    side_h, side_w = planes.shape[1], planes.shape[2]
    work = (np.empty((side_h + 7, side_w), np.int64), np.empty(side_w + 7, np.int64))
    pred14 = np.empty((side_h, side_w), np.int64)
    samples = np.empty((side_h, side_w), np.int64)  # int64 as in the decoder: one compiled predict_block
    for phase in range(16):
        if phase == 0:  # the integer position: the reference itself, clipped
            for i in range(side_h):
                yy = min(max(i - margin, 0), height - 1)
                for j in range(side_w):
                    planes[0, i, j] = ref[yy, min(max(j - margin, 0), width - 1)]
            continue
        predict_block(ref, height, width, -margin, -margin, side_w, side_h, phase & 3,
                      phase >> 2, True, bit_depth, work, pred14, samples, 0, 0)
        planes[phase] = samples
