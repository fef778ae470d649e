"""Block reconstruction in numba: the normative inner loop of the classic decoder.

The tools of :mod:`~codeclab.classic.common.reference.intra`, :mod:`~codeclab.classic.common.reference.quant` and :mod:`~codeclab.classic.common.reference.transform` are written for batches of
blocks in torch; a decoder, however, must reconstruct one transform block after the other,
because each block is predicted from the samples its predecessors just reconstructed. At
about 100 µs of torch overhead per call, the ~20 000 blocks of a Kodak picture would take
seconds, so this module restates the same integer formulas as scalar numba functions (a few
µs per block). ``tests/classic/test_reconstruct.py`` checks them bit for bit against the
torch versions, which remain the readable reference::

    reference_samples ─► predict ───────────────────────────────┐
    (§8.4.4.2.2 availability + substitution, §8.4.4.2.3 smoothing) ▼
    levels ─► dequantize (§8.6.3) ─► inverse_transform (§8.6.4) ─► + ─► clip ─► plane

:func:`reconstruct_block` is the whole chain for one transform block; the decoder calls it
after parsing each block and the encoder calls the very same function for every candidate
it tries, which is why the encoder's reconstruction equals the decoder's output (HM's
TLibCommon holds these for both sides in the same way).

Arrays: planes are ``int32 (H, W)``; ``decoded`` is a ``uint8 (H, W)`` map set to 1 where
a sample has been reconstructed (the z-scan availability of §6.4.1 within one slice); the
reference array of an n x n block has ``4n + 1`` samples in the order of :mod:`~codeclab.classic.common.reference.intra`
(left column bottom-up, corner, top row left to right).
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.cclm import CCLM_MODE, predict_cclm
from codeclab.classic.common.nnintra import NN_MODE_BASE, nn_predict
from codeclab.classic.common.tables import (DST4_MATRIX, INTRA_HOR_VER_DIST_THRES, INTRA_PRED_ANGLE, LEVEL_SCALES,
                                            QUANT_SCALES, dct_rows)
from codeclab.kernels import kernel

PLANAR, DC, HORIZONTAL, DIAGONAL, VERTICAL = 0, 1, 10, 18, 26

#: intraPredAngle by mode (0 for planar and DC), H.265 Table 8-4.
ANGLE = np.array((0, 0) + INTRA_PRED_ANGLE, dtype=np.int64)
#: invAngle by vertical mode 11..25 (0 elsewhere), H.265 Table 8-5: round(8192 / angle).
INV_ANGLE = np.zeros(35, dtype=np.int64)
for _m in range(11, 26):
    INV_ANGLE[_m] = int(round(256 * 32 / INTRA_PRED_ANGLE[_m - 2]))
#: intraHorVerDistThres indexed by log2 of the block size (no smoothing for 4x4).
DIST_THRES = np.array([99, 99, 99, INTRA_HOR_VER_DIST_THRES[8], INTRA_HOR_VER_DIST_THRES[16],
                       INTRA_HOR_VER_DIST_THRES[32]], dtype=np.int64)
LEVEL_SCALE = np.array(LEVEL_SCALES, dtype=np.int64)
QUANT_SCALE = np.array(QUANT_SCALES, dtype=np.int64)
#: The DCT matrices by log2 size (index 2..5; 0 holds the 4x4 DST-VII), as int64 (32, 32).
MATRICES = np.zeros((6, 32, 32), dtype=np.int64)
MATRICES[0, :4, :4] = np.array(DST4_MATRIX)
for _log2 in range(2, 6):
    _n = 1 << _log2
    MATRICES[_log2, :_n, :_n] = np.array(dct_rows(_n))
COEFF_MIN, COEFF_MAX = -32768, 32767


# -------------------------------------------------------------------- reference samples
@kernel
def reference_samples(plane, decoded, x0, y0, n, bit_depth, refs):
    """Fill ``refs[:4n+1]`` with the substituted neighbours of the block at (x0, y0).

    Availability: inside the plane and already reconstructed. Substitution (§8.4.4.2.2):
    walking from the bottom-left end, a missing sample copies the previous one; missing
    ones before the first available sample copy it; with none, all are ``1 << (B - 1)``.
    """
    height, width = plane.shape
    count = 4 * n + 1
    first = -1
    for k in range(count):
        if k < 2 * n:
            x, y = x0 - 1, y0 + 2 * n - 1 - k
        else:
            x, y = x0 + k - 2 * n - 1, y0 - 1
        if 0 <= x < width and 0 <= y < height and decoded[y, x]:
            refs[k] = plane[y, x]
            if first < 0:
                first = k
        else:
            refs[k] = -1
    if first < 0:
        for k in range(count):
            refs[k] = 1 << (bit_depth - 1)
        return
    for k in range(first):
        refs[k] = refs[first]
    for k in range(first + 1, count):
        if refs[k] < 0:
            refs[k] = refs[k - 1]


@kernel
def smoothing_flag(mode, log2n):
    """filterFlag of §8.4.4.2.3 (luma and 4:4:4 chroma)."""
    if mode == DC or log2n == 2:
        return False
    return min(abs(mode - VERTICAL), abs(mode - HORIZONTAL)) > DIST_THRES[log2n]


@kernel
def smooth_references(refs, n, bit_depth, strong, out):
    """``[1 2 1] / 4`` filtering, or strong bi-linear smoothing of flat 32x32 neighbourhoods."""
    count = 4 * n + 1
    if strong and n == 32:
        corner, bottom_left, top_right = refs[64], refs[0], refs[128]
        threshold = 1 << (bit_depth - 5)
        if (abs(corner + top_right - 2 * refs[96]) < threshold
                and abs(corner + bottom_left - 2 * refs[32]) < threshold):
            for i in range(129):
                if i <= 64:
                    out[i] = (i * corner + (64 - i) * bottom_left + 32) >> 6
                else:
                    out[i] = ((128 - i) * corner + (i - 64) * top_right + 32) >> 6
            return
    out[0] = refs[0]
    out[count - 1] = refs[count - 1]
    for k in range(1, count - 1):
        out[k] = (refs[k - 1] + 2 * refs[k] + refs[k + 1] + 2) >> 2


# -------------------------------------------------------------------- prediction
@kernel
def _predict_angular(src, mode, n, pred):
    """Angular modes 2..34 (§8.4.4.2.6) from references ``src`` (already smoothed or not).

    A horizontal mode m < 18 is vertical mode 36 - m on the reversed reference array,
    transposed, as in :mod:`~codeclab.classic.common.reference.intra`.
    """
    last = 4 * n
    horizontal = mode < DIAGONAL
    vertical = 36 - mode if horizontal else mode
    angle = ANGLE[vertical]
    inv_angle = INV_ANGLE[vertical]
    for y in range(n):
        shift = (y + 1) * angle
        whole = shift >> 5
        f = shift & 31
        for x in range(n):
            k = x + whole + 1
            # ref[k] of the vertical mode: the top row for k >= 0, the projected left column below.
            i0 = 2 * n + k if k >= 0 else 2 * n - ((k * inv_angle + 128) >> 8)
            i1 = 2 * n + k + 1 if k + 1 >= 0 else 2 * n - (((k + 1) * inv_angle + 128) >> 8)
            i0 = min(max(i0, 0), last)
            i1 = min(max(i1, 0), last)
            if horizontal:
                value = ((32 - f) * src[last - i0] + f * src[last - i1] + 16) >> 5
                pred[x, y] = value
            else:
                pred[y, x] = ((32 - f) * src[i0] + f * src[i1] + 16) >> 5


@kernel
def predict(refs, mode, n, is_luma, bit_depth, strong_smoothing, scratch, pred):
    """Intra prediction of one n x n block into ``pred[:n, :n]`` (§8.4.4.2.3-6).

    Same semantics as :func:`codeclab.classic.common.reference.intra.predict` for 4:2:0 (chroma: no
    smoothing, no boundary filters). ``scratch`` holds ``4n + 1`` smoothed references.
    """
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    src = refs
    if is_luma and smoothing_flag(mode, log2n):
        smooth_references(refs, n, bit_depth, strong_smoothing, scratch)
        src = scratch
    max_value = (1 << bit_depth) - 1
    if mode == PLANAR:
        top_right = src[3 * n + 1]
        bottom_left = src[n - 1]
        for y in range(n):
            left = src[2 * n - 1 - y]
            for x in range(n):
                top = src[2 * n + 1 + x]
                pred[y, x] = ((n - 1 - x) * left + (x + 1) * top_right + (n - 1 - y) * top
                              + (y + 1) * bottom_left + n) >> (log2n + 1)
    elif mode == DC:
        total = 0
        for i in range(n):
            total += refs[2 * n - 1 - i] + refs[2 * n + 1 + i]
        dc = (total + n) >> (log2n + 1)
        for y in range(n):
            for x in range(n):
                pred[y, x] = dc
        if is_luma and n < 32:
            for x in range(1, n):
                pred[0, x] = (refs[2 * n + 1 + x] + 3 * dc + 2) >> 2
            for y in range(1, n):
                pred[y, 0] = (refs[2 * n - 1 - y] + 3 * dc + 2) >> 2
            pred[0, 0] = (refs[2 * n - 1] + 2 * dc + refs[2 * n + 1] + 2) >> 2
    else:
        _predict_angular(src, mode, n, pred)
        if is_luma and n < 32:
            corner = refs[2 * n]
            if mode == VERTICAL:
                for y in range(n):
                    v = refs[2 * n + 1] + ((refs[2 * n - 1 - y] - corner) >> 1)
                    pred[y, 0] = min(max(v, 0), max_value)
            elif mode == HORIZONTAL:
                for x in range(n):
                    v = refs[2 * n - 1] + ((refs[2 * n + 1 + x] - corner) >> 1)
                    pred[0, x] = min(max(v, 0), max_value)


@kernel
def predict_mode(refs, mode, n, is_luma, bit_depth, strong_smoothing, scratch, pred, program):
    """:func:`predict` for the 35 HEVC modes, the network of ``program`` for modes from
    :data:`~codeclab.classic.common.nnintra.NN_MODE_BASE` on (luma only; :mod:`~codeclab.classic.common.nnintra`)."""
    if mode >= NN_MODE_BASE:
        nn_predict(refs, n, mode - NN_MODE_BASE, program, bit_depth, pred)
    else:
        predict(refs, mode, n, is_luma, bit_depth, strong_smoothing, scratch, pred)


# -------------------------------------------------------------------- residual
@kernel
def dequantize(levels, n, qp, bit_depth, coeffs):
    """Scaling process (§8.6.3, flat list): ``levels[:n, :n]`` -> ``coeffs[:n, :n]``.

    ``d = Clip3(-32768, 32767, (level * 16 * levelScale[qP % 6] << (qP // 6) + round) >> bdShift)``
    with ``bdShift = B + log2n - 5``; levels are first clipped to 16 bits.
    """
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    per, rem = qp // 6, qp % 6
    scale = 16 * LEVEL_SCALE[rem]
    shift = bit_depth + log2n - 5
    rounding = 1 << (shift - 1)
    for y in range(n):
        for x in range(n):
            level = min(max(np.int64(levels[y, x]), COEFF_MIN), COEFF_MAX)
            d = ((level * scale << per) + rounding) >> shift
            coeffs[y, x] = min(max(d, COEFF_MIN), COEFF_MAX)


@kernel
def inverse_transform(coeffs, n, use_dst, bit_depth, tmp, residual):
    """Two-stage inverse transform (§8.6.4.2): ``coeffs[:n, :n]`` -> ``residual[:n, :n]``.

    Columns first, ``g = clip16((T^t d + 64) >> 7)``, then rows, ``r = (g T + 2^(bdShift-1))
    >> bdShift`` with ``bdShift = 20 - B``. Rows of ``d`` that are all zero are skipped (most
    are), which changes no sum.
    """
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    t = MATRICES[0] if use_dst else MATRICES[log2n]
    last_row = -1
    for k in range(n):
        for j in range(n):
            if coeffs[k, j] != 0:
                last_row = k
                break
    for i in range(n):
        for j in range(n):
            s = np.int64(0)
            for k in range(last_row + 1):
                s += t[k, i] * coeffs[k, j]
            tmp[i, j] = min(max((s + 64) >> 7, COEFF_MIN), COEFF_MAX)
    shift = 20 - bit_depth
    rounding = 1 << (shift - 1)
    for i in range(n):
        for j in range(n):
            s = np.int64(0)
            for k in range(n):
                s += tmp[i, k] * t[k, j]
            residual[i, j] = (s + rounding) >> shift


@kernel
def chroma_qp(qpi):
    """QpC of 4:2:0 from qPi (H.265 Table 8-10)."""
    if qpi < 30:
        return qpi
    if qpi > 43:
        return qpi - 6
    return (29, 30, 31, 32, 33, 33, 34, 34, 35, 35, 36, 36, 37, 37)[qpi - 30]


def scaling_qps(qp: int, bit_depth: int) -> tuple[int, int]:
    """(Qp'Y, Qp'C): the QPs that scale the levels of luma and chroma, for the picture QpY.

    H.265 (8-4), (8-257): Qp' = Qp + QpBdOffset, QpBdOffset = 6 * (BitDepth - 8). Levels of
    10-bit samples are scaled 2 ** (12 / 6) = 4 times finer at the same QpY, so the step is
    the same fraction of the sample range at either depth; deblocking and the context
    initialisation keep reading QpY.
    """
    offset = 6 * (bit_depth - 8)
    return qp + offset, int(chroma_qp(qp)) + offset


@kernel
def new_workspace(program):
    """``(refs, smoothed, pred, coeffs, tmp, residual, program)``: scratch arrays for 32x32
    blocks, and the neural intra :data:`~codeclab.classic.common.nnintra.Program` (:func:`~codeclab.classic.common.nnintra.empty_program`
    when the tool is off)."""
    return (np.empty(129, np.int64), np.empty(129, np.int64), np.empty((32, 32), np.int64),
            np.empty((32, 32), np.int64), np.empty((32, 32), np.int64),
            np.empty((32, 32), np.int64), program)


@kernel
def reconstruct_block(plane, decoded, levels, x0, y0, n, mode, is_luma, qp, bit_depth,
                      strong_smoothing, coded, work, luma):
    """Reconstruct one n x n transform block in place: prediction + residual, clipped.

    Args:
        plane: int32 (H, W) samples of the component; the block is written into it.
        decoded: uint8 (H, W) availability map; the block is marked decoded.
        levels: int32 (H, W) plane of quantized levels, read at the block's position.
        x0, y0, n: the block. mode: its intra mode (0..34, a network mode, or
            :data:`~codeclab.classic.common.cclm.CCLM_MODE`). is_luma: luma tools and DST.
        qp: scaling QP of the component (Qp'Y or Qp'C). coded: the block's cbf (levels all zero if 0).
        work: :func:`new_workspace`. luma: the picture's luma plane (read by CCLM only).
    """
    refs, smoothed, pred, coeffs, tmp, residual, program = work
    if mode == CCLM_MODE:
        predict_cclm(luma, plane, decoded, x0, y0, n, bit_depth, pred)
    else:
        reference_samples(plane, decoded, x0, y0, n, bit_depth, refs)
        predict_mode(refs, mode, n, is_luma, bit_depth, strong_smoothing, smoothed, pred, program)
    max_value = (1 << bit_depth) - 1
    if coded:
        dequantize(levels[y0:y0 + n, x0:x0 + n], n, qp, bit_depth, coeffs)
        inverse_transform(coeffs, n, is_luma and n == 4, bit_depth, tmp, residual)
        for y in range(n):
            for x in range(n):
                plane[y0 + y, x0 + x] = min(max(pred[y, x] + residual[y, x], 0), max_value)
    else:
        for y in range(n):
            for x in range(n):
                plane[y0 + y, x0 + x] = pred[y, x]
    for y in range(n):
        for x in range(n):
            decoded[y0 + y, x0 + x] = 1


@kernel
def add_residual(plane, decoded, levels, x0, y0, n, qp, bit_depth, coded, work):
    """Reconstruct one inter transform block in place: the motion-compensated prediction
    already in ``plane`` plus the dequantized, inverse-DCT residual, clipped (§8.6.7).

    Inter blocks always use the DCT (DST-VII is for 4x4 intra luma only, §8.6.4.2).
    """
    coeffs, tmp, residual = work[3], work[4], work[5]
    max_value = (1 << bit_depth) - 1
    if coded:
        dequantize(levels[y0:y0 + n, x0:x0 + n], n, qp, bit_depth, coeffs)
        inverse_transform(coeffs, n, False, bit_depth, tmp, residual)
        for y in range(n):
            for x in range(n):
                plane[y0 + y, x0 + x] = min(max(plane[y0 + y, x0 + x] + residual[y, x], 0),
                                            max_value)
    for y in range(n):
        for x in range(n):
            decoded[y0 + y, x0 + x] = 1
