"""The classic decoder: parse the CTUs and reconstruct them (the normative part).

Parsing and reconstruction are interleaved block by block, as intra prediction requires::

    for each CTU (raster order):
        walk the coding quadtree (split_cu_flag, :mod:`.partition`)
        for each CU: luma modes (MPM coding), chroma mode
            for each transform block: cbf, residual_coding  ──►  reconstruct_block
    deblocking of the whole picture (:mod:`.loopfilter`)

Everything up to the loop filter is one numba function over the picture, so decoding
costs tens of milliseconds, not the seconds a per-block torch loop would take.
Reconstruction calls :func:`~codeclab.classic.reconstruct.reconstruct_block`, the same
function the encoder uses for every candidate (:mod:`.encoder`).

A damaged payload cannot crash or hang it: every loop is bounded by the picture size, the
residual parser rejects impossible syntax, and after every CU the arithmetic decoder is
checked for having run past its data; any of these becomes a
:class:`~codeclab.errors.BitstreamError`. What remains undetected decodes to some picture.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from ..entropy.cabac import (FINISH_ERRORS, as_byte_array, decoder_failed, decoder_finish,
                             decoder_start)
from ..entropy.residual import decode_block, diagonal_scan
from ..errors import BitstreamError
from .loopfilter import deblock_picture
from .partition import (CTU_LOG2, CTU_SIZE, MIN_CU_LOG2, UNITS_PER_CTU, fill_map,
                        largest_block_at, neighbour_modes, split_context, units_of,
                        z_order_position)
from .picture import Picture, new_picture, padded_shape
from .reconstruct import chroma_qp, new_workspace, reconstruct_block
from .syntax import (CBF_CHROMA, CBF_LUMA, PART_NXN, SPLIT_CU, PictureParams,
                     chroma_mode_from_syntax, decode_chroma_mode, decode_flag,
                     decode_luma_mode, mode_from_syntax, most_probable_modes, new_contexts)

#: Error codes of :func:`decode_ctus` beyond those of ``decoder_finish``.
DAMAGED_RESIDUAL, OVERRUN = 10, 11
#: Up-right diagonal scans of 1x1 .. 8x8: sub-blocks of a 4x4 .. 32x32 block; [2] is the 4x4 scan.
SCANS = tuple(diagonal_scan(1 << k) for k in range(4))


@njit(cache=True)
def decode_transform_block(reg, data, ctx, pic, comp, x, y, n, mode, cbf_ctx, qp, bit_depth,
                           strong, scans, work):
    """cbf and residual_coding of one transform block, then its reconstruction."""
    reg, coded = decode_flag(reg, data, ctx, cbf_ctx)
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    levels = pic.levels[comp]
    ok = True
    if coded:
        reg, ok = decode_block(reg, data, ctx, levels[y:y + n, x:x + n], log2n, comp > 0,
                               scans[2], scans[log2n - 2])
    reconstruct_block(pic.planes[comp], pic.decoded[comp], levels, x, y, n, mode, comp == 0,
                      qp, bit_depth, strong, coded, work)
    return reg, ok


@njit(cache=True)
def decode_cu(reg, data, ctx, pic, x, y, log2, qp, qpc, bit_depth, strong, scans, work, tu_count):
    """coding_unit() at luma (x, y) of side 2^log2: modes, then every transform block."""
    size = 1 << log2
    nxn = 0
    if log2 == MIN_CU_LOG2:
        reg, nxn = decode_flag(reg, data, ctx, PART_NXN)
    fill_map(pic.cu_log2, x, y, size, log2)
    parts = 4 if nxn else 1
    part_size = size >> 1 if nxn else size
    first_mode = 0
    for i in range(parts):
        px, py = x + (i & 1) * part_size, y + (i >> 1) * part_size
        left, above = neighbour_modes(pic.luma_mode, px, py)
        m0, m1, m2 = most_probable_modes(left, above)
        reg, is_mpm, index = decode_luma_mode(reg, data, ctx)
        mode = mode_from_syntax(is_mpm, index, m0, m1, m2)
        fill_map(pic.luma_mode, px, py, part_size, mode)
        if i == 0:
            first_mode = mode
    reg, chroma_syntax = decode_chroma_mode(reg, data, ctx)
    chroma_mode = chroma_mode_from_syntax(chroma_syntax, first_mode)

    # Transform blocks: a 64x64 CU is four 32x32 quarters; NxN has four 4x4 luma blocks
    # and one chroma block per component; otherwise one block per component.
    quarters = 4 if log2 == CTU_LOG2 else 1
    tu = size >> 1 if log2 == CTU_LOG2 else size
    split_tu = quarters > 1 or nxn
    ok = True
    for q in range(quarters):
        tx, ty = x + (q & 1) * tu, y + (q >> 1) * tu
        for i in range(parts):
            bx, by = tx + (i & 1) * part_size, ty + (i >> 1) * part_size
            n = part_size if nxn else tu
            mode = pic.luma_mode[by >> 2, bx >> 2]
            reg, ok_l = decode_transform_block(reg, data, ctx, pic, 0, bx, by, n, mode,
                                               CBF_LUMA + split_tu, qp, bit_depth, strong,
                                               scans, work)
            tu_count += 1
            fill_map(pic.tu_id, bx, by, n, tu_count)
            ok = ok and ok_l
        for comp in (1, 2):
            reg, ok_c = decode_transform_block(reg, data, ctx, pic, comp, tx >> 1, ty >> 1,
                                               tu >> 1, chroma_mode, CBF_CHROMA + split_tu,
                                               qpc, bit_depth, strong, scans, work)
            ok = ok and ok_c
    return reg, ok, tu_count


@njit(cache=True)
def decode_ctus(data, ctx, pic, qp, qpc, bit_depth, strong, scans, ctu_bits):
    """Parse and reconstruct every CTU; returns 0 or an error code.

    ``ctu_bits[row, col]`` receives the position of the arithmetic decoder (in bits, to
    within a byte) after each CTU, for the bits-per-CTU picture of ``codeclab info``.
    """
    reg = decoder_start(data)
    work = new_workspace()
    rows, cols = ctu_bits.shape
    tu_count = 0
    for row in range(rows):
        for col in range(cols):
            k = 0
            while k < UNITS_PER_CTU:
                ux, uy = z_order_position(k)
                x = col * CTU_SIZE + (ux << MIN_CU_LOG2)
                y = row * CTU_SIZE + (uy << MIN_CU_LOG2)
                log2 = largest_block_at(k)
                while log2 > MIN_CU_LOG2:
                    inc = split_context(pic.cu_log2, x, y, log2)
                    reg, split = decode_flag(reg, data, ctx, SPLIT_CU + inc)
                    if not split:
                        break
                    log2 -= 1
                reg, ok, tu_count = decode_cu(reg, data, ctx, pic, x, y, log2, qp, qpc,
                                              bit_depth, strong, scans, work, tu_count)
                if not ok:
                    return DAMAGED_RESIDUAL
                if decoder_failed(reg, data):
                    return OVERRUN
                k += units_of(log2)
            ctu_bits[row, col] = 8 * reg[3] + reg[2]
    return decoder_finish(reg, data)


@dataclass
class DecodedPicture:
    """The decoder's output: deblocked (Y, Cb, Cr) of the padded picture, and its syntax."""

    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    picture: Picture
    ctu_bits: np.ndarray  # bits spent on each CTU


def decode_payload(params: PictureParams, payload: bytes, height: int, width: int) -> DecodedPicture:
    """Decode one picture of luma size (height, width); ``BitstreamError`` if damaged."""
    data = as_byte_array(payload)
    coded_height, coded_width = padded_shape(height, width)
    pic = new_picture(coded_height, coded_width)
    ctx = new_contexts(params.qp)
    positions = np.zeros((coded_height // CTU_SIZE, coded_width // CTU_SIZE), np.int64)
    code = int(decode_ctus(data, ctx, pic, params.qp, chroma_qp(params.qp), 8,
                           params.strong_smoothing, SCANS, positions))
    if code == DAMAGED_RESIDUAL:
        raise BitstreamError("classic: damaged residual data")
    if code == OVERRUN:
        raise BitstreamError("classic: payload truncated (the decoder read past its end)")
    if code:
        raise BitstreamError(f"classic: {FINISH_ERRORS[code]}")
    ctu_bits = np.diff(np.concatenate([[8], positions.ravel()])).reshape(positions.shape)
    planes = deblock_picture(pic.planes, pic.tu_id, params.qp, params.deblocking)
    return DecodedPicture(planes, pic, ctu_bits)
