"""Coding of quantized transform blocks with context-adaptive bins, as in HEVC.

ITU-T H.265 §7.3.8.11 (``residual_coding``) and §9.3.4.2.4-7 (context selection). A
block of N x N levels (N = 4 .. 32) is cut into 4 x 4 sub-blocks; positions are visited
in up-right diagonal scan order, within and across sub-blocks, *backwards* from the last
non-zero level:

1. ``last_sig_coeff_x/y``: position of the last non-zero level; a context-coded truncated
   unary prefix (interval index, ``GROUP_IDX``) and a bypass suffix.
2. Per sub-block, from the last towards DC:
   * ``coded_sub_block_flag`` (context: flags of the right and lower sub-blocks);
   * ``sig_coeff_flag`` per position (context: position in the block and in the sub-block
     and the neighbouring sub-block flags -- the HEVC ``sigCtx`` rules);
   * ``coeff_abs_level_greater1_flag`` for the first 8 non-zero levels (context: ``ctxSet``
     and how many 1s have been seen), ``coeff_abs_level_greater2_flag`` for the first
     level above 1;
   * signs (bypass), then ``coeff_abs_level_remaining`` (bypass): a prefix of at most four
     1s in units of 2^k and then either k bits or an Exp-Golomb(k + 1) code, with the Rice
     parameter k growing (up to 4) after each level above 3 * 2^k.

Simplifications against HEVC, all of which change no probability model: no sign data
hiding, transform skip or RDPCM, and every context starts at VVC's neutral ``CNU``
instead of HEVC's per-slice-type table. :data:`N_CONTEXTS` contexts are laid out as
``[sig 42 | gt1 24 | gt2 6 | csbf 4 | last x 18 | last y 18]`` (luma first, then chroma).

The scan orders and context selection live here; writing is
:mod:`codeclab.classic.encoder.residual`, parsing :mod:`codeclab.classic.decoder.residual`.
Their block functions take and return the engine registers of :mod:`codeclab.entropy.cabac`,
so the classic codec calls them between its other syntax elements. For measurements the encoder can add
up the exact adaptive cost and record the bins: ``stats`` (float64, ``len >= 3``, or
empty to skip) gets ``[sum -log2 p, regular bins, bypass bins]`` and ``trace`` (int32,
``2 * bins`` or empty) the pairs ``(context or -1, bin)``.
"""

from __future__ import annotations

import numpy as np

from codeclab.entropy.cabac import CNU, init_contexts
from codeclab.kernels import kernel

# Context layout.
SIG, GT1, GT2, CSBF, LAST_X, LAST_Y = 0, 42, 66, 72, 76, 94
N_CONTEXTS = 112
#: Sign data hiding (H.265 §7.3.8.11, ``signHidden``): in a sub-block whose first and last
#: non-zero levels lie at least this far apart in scan order, the sign of the first (the
#: lowest frequency) is not coded; the parity of the sub-block's sum of magnitudes gives it,
#: odd meaning negative, and the encoder adjusts one level so that the parity tells the truth.
SIGN_HIDING_DISTANCE = 4
#: Context of sig_coeff_flag in a 4x4 block, by raster position (H.265 Table 9-50 ctxIdxMap).
CTX_IDX_MAP = np.array([0, 1, 4, 5, 2, 3, 4, 5, 6, 6, 8, 8, 7, 7, 8, 8], dtype=np.int64)
#: Prefix (interval index) of a last position, and the first position of each interval.
GROUP_IDX = np.array([0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7]
                     + [8] * 8 + [9] * 8, dtype=np.int64)
MIN_IN_GROUP = np.array([0, 1, 2, 3, 4, 6, 8, 12, 16, 24], dtype=np.int64)


def diagonal_scan(size: int) -> np.ndarray:
    """Up-right diagonal scan of a size x size array: (size^2, 2) rows of (x, y), H.265 §6.5.3."""
    order = []
    for d in range(2 * size - 1):
        for y in range(min(d, size - 1), max(0, d - size + 1) - 1, -1):
            order.append((d - y, y))
    return np.array(order, dtype=np.int64)


def new_residual_contexts(qp: int = 32) -> np.ndarray:
    """Fresh contexts for :func:`encode_block` / :func:`decode_block`."""
    return init_contexts(np.full(N_CONTEXTS, CNU), qp=qp)


@kernel
def last_ctx(log2_size, chroma):
    """(ctxOffset, ctxShift) of last_sig_coeff prefixes, H.265 §9.3.4.2.3."""
    if chroma:
        return 15, log2_size - 2
    return 3 * (log2_size - 2) + ((log2_size - 1) >> 2), (log2_size + 1) >> 2


@kernel
def sig_ctx(x, y, log2_size, chroma, prev_csbf):
    """sig_coeff_flag context increment, H.265 §9.3.4.2.5."""
    if log2_size == 2:
        sig = CTX_IDX_MAP[(y << 2) + x]
    elif x + y == 0:
        sig = 0
    else:
        xp = x & 3
        yp = y & 3
        if prev_csbf == 0:
            sig = 2 if xp + yp == 0 else (1 if xp + yp < 3 else 0)
        elif prev_csbf == 1:
            sig = 2 if yp == 0 else (1 if yp == 1 else 0)
        elif prev_csbf == 2:
            sig = 2 if xp == 0 else (1 if xp == 1 else 0)
        else:
            sig = 2
        if not chroma:
            if (x >> 2) + (y >> 2) > 0:
                sig += 3
            sig += 9 if log2_size == 3 else 21
        else:
            sig += 9 if log2_size == 3 else 12
    return SIG + (27 + sig if chroma else sig)


@kernel
def csbf_pattern(csbf, xs, ys, n_sb):
    right = csbf[ys, xs + 1] if xs + 1 < n_sb else 0
    below = csbf[ys + 1, xs] if ys + 1 < n_sb else 0
    return right + 2 * below


@kernel
def base_level(k, first_gt1, level):
    """Smallest level that coeff_abs_level_remaining starts from, or ``level + 1`` when the
    flags already say everything (a 1, or the greater-than-2 level being 2)."""
    if k >= 8:
        return 1
    if level == 1:
        return 2
    if k == first_gt1:
        return 3
    return 2


def scan_tables(log2_size: int) -> tuple[np.ndarray, np.ndarray]:
    if not 2 <= log2_size <= 5:
        raise ValueError("block sizes are 4, 8, 16 or 32")
    return diagonal_scan(4), diagonal_scan(1 << (log2_size - 2))


