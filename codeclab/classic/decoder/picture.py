"""The classic decoder: parse the CTUs and reconstruct them (the normative part).

Parsing and reconstruction are interleaved block by block, as intra prediction requires::

    for each CTU (raster order):
        walk the coding quadtree (split_cu_flag, :mod:`~codeclab.classic.common.partition`)
        for each CU:
            P pictures: cu_skip_flag, pred_mode_flag; an inter CU takes its motion from a
                merge candidate or from a predictor plus a difference (:mod:`~codeclab.classic.common.mvpred`) and
                is predicted by motion compensation (:mod:`~codeclab.classic.common.motion`)
            intra CUs: luma modes (MPM coding), chroma mode
            for each transform block: cbf, residual_coding  ──►  reconstruct
    deblocking of the whole picture (:mod:`~codeclab.classic.common.deblocking`)

Everything up to the loop filter is one numba function over the picture, so decoding
costs milliseconds, not the seconds a per-block torch loop would take. Reconstruction calls
:func:`~codeclab.classic.common.reconstruct.reconstruct_block` (intra),
:func:`~codeclab.classic.common.motion.predict_block` and
:func:`~codeclab.classic.common.reconstruct.add_residual` (inter): the functions the encoder uses
for every candidate (:mod:`~codeclab.classic.encoder.intra`, :mod:`~codeclab.classic.encoder.inter`).

A damaged payload cannot crash or hang it: every loop is bounded by the picture size, the
residual and vector parsers reject impossible syntax, and after every CU the arithmetic
decoder is checked for having run past its data; any of these becomes a
:class:`~codeclab.errors.BitstreamError`. What remains undetected decodes to some picture.
"""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass

import numpy as np

from codeclab.classic.common.deblocking import deblock_picture
from codeclab.classic.common.motion import new_mc_workspace, predict_block
from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES, amvp_candidates, merge_candidates
from codeclab.classic.common.nnintra import NN_MODE_BASE, intra_program, nn_heads_for
from codeclab.classic.common.parameters import PictureParams
from codeclab.classic.common.partition import (CTU_LOG2, CTU_SIZE, MIN_CU_LOG2, UNITS_PER_CTU, block_coverage,
                                               fill_map, largest_block_at, neighbour_modes, split_context,
                                               units_of, z_order_position)
from codeclab.classic.common.picture import (AMVP, MERGE, SKIP, Picture, References, new_picture,
                                             padded_shape)
from codeclab.classic.common.reconstruct import add_residual, new_workspace, reconstruct_block, scaling_qps
from codeclab.classic.common.residual import diagonal_scan
from codeclab.classic.common.syntax import (CBF_CHROMA, CBF_CHROMA_INTER, CBF_LUMA, CBF_LUMA_INTER, CU_SKIP,
                                            MERGE_FLAG, MVP_IDX, PART_NXN, PRED_MODE, ROOT_CBF, SPLIT_CU,
                                            chroma_mode_from_syntax, head_bits_of, mode_from_syntax,
                                            most_probable_modes, new_contexts, nn_intra_context)
from codeclab.classic.common.tools import filter_for_id, split_side_info
from codeclab.classic.decoder.residual import decode_block
from codeclab.classic.decoder.syntax import (decode_chroma_mode, decode_flag, decode_luma_mode,
                                             decode_merge_idx, decode_mvd, decode_nn_intra, decode_ref_idx)
from codeclab.entropy.bin_coder import as_byte_array
from codeclab.entropy.cabac import bits_read, FINISH_ERRORS, decoder_failed, decoder_finish, decoder_start
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel

#: Error codes of :func:`decode_ctus` beyond those of ``decoder_finish``.
DAMAGED_RESIDUAL, OVERRUN = 10, 11
#: Up-right diagonal scans of 1x1 .. 8x8: sub-blocks of a 4x4 .. 32x32 block; [2] is the 4x4 scan.
SCANS = tuple(diagonal_scan(1 << k) for k in range(4))

#: What every CU of a picture is decoded with: its scaling QPs (luma, chroma), sample bit
#: depth, strong intra smoothing, its number of references, sign hiding, CCLM. (Whether it
#: is a P picture is said by the references given to :func:`decode_ctus`: None in an I picture.)
Settings = namedtuple("Settings", "qp qpc bit_depth strong num_refs sign_hiding cclm")
#: Scratch space of the kernels: the residual scans, the reconstruction workspace (with the
#: neural intra program) and the motion-compensation buffers.
Scratch = namedtuple("Scratch", "scans work mc")


@kernel
def decode_transform_block(reg, data, ctx, pic, comp, x, y, n, mode, cbf_ctx, qp, cfg, scratch):
    """cbf and residual_coding of one intra transform block, then its reconstruction."""
    scans = scratch.scans
    reg, coded = decode_flag(reg, data, ctx, cbf_ctx)
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    levels = pic.levels[comp]
    ok = True
    if coded:
        reg, ok = decode_block(reg, data, ctx, levels[y:y + n, x:x + n], log2n, comp > 0,
                               scans[2], scans[log2n - 2], cfg.sign_hiding)
    reconstruct_block(pic.planes[comp], pic.decoded[comp], levels, x, y, n, mode, comp == 0,
                      qp, cfg.bit_depth, cfg.strong, coded, scratch.work, pic.planes[0])
    return reg, ok


@kernel
def decode_inter_block(reg, data, ctx, pic, comp, x, y, n, cbf_ctx, qp, cfg, scratch):
    """cbf and residual_coding of one inter transform block, added to its prediction."""
    scans = scratch.scans
    reg, coded = decode_flag(reg, data, ctx, cbf_ctx)
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    levels = pic.levels[comp]
    ok = True
    if coded:
        reg, ok = decode_block(reg, data, ctx, levels[y:y + n, x:x + n], log2n, comp > 0,
                               scans[2], scans[log2n - 2], cfg.sign_hiding)
    add_residual(pic.planes[comp], pic.decoded[comp], levels, x, y, n, qp, cfg.bit_depth, coded, scratch.work)
    return reg, ok


@kernel
def skip_context(pic, x, y):
    """ctxInc of cu_skip_flag (§9.3.4.2.2): skipped CUs among the left and above neighbours
    (both are always decoded when inside the picture)."""
    inc = 0
    if x > 0 and pic.cu_kind[y >> 2, (x - 1) >> 2] == SKIP:
        inc += 1
    if y > 0 and pic.cu_kind[(y - 1) >> 2, x >> 2] == SKIP:
        inc += 1
    return inc


@kernel
def wrap_mv(value):
    """mvLX = mvpLX + mvdLX kept in 16 bits (eq. 8-192..8-195)."""
    u = (value + (1 << 16)) & 0xFFFF
    return u - (1 << 16) if u >= (1 << 15) else u


@kernel
def motion_compensate(pic, refs, x, y, size, mvx, mvy, ref_idx, bit_depth, mc):
    """Predict the CU (luma 2^log2, chroma half) from reference ``ref_idx`` into the planes
    and record its motion in the maps."""
    coded_height, coded_width = pic.coded
    work, pred14 = mc
    predict_block(refs.y[ref_idx], coded_height, coded_width, x, y, size, size, mvx, mvy,
                  True, bit_depth, work, pred14, pic.planes[0], x, y)
    half = size >> 1
    for comp in (1, 2):
        ref = refs.cb[ref_idx] if comp == 1 else refs.cr[ref_idx]
        predict_block(ref, coded_height >> 1, coded_width >> 1, x >> 1, y >> 1, half, half,
                      mvx, mvy, False, bit_depth, work, pred14, pic.planes[comp], x >> 1, y >> 1)
    for uy in range(y >> 2, (y + size) >> 2):
        for ux in range(x >> 2, (x + size) >> 2):
            pic.mv[uy, ux, 0] = mvx
            pic.mv[uy, ux, 1] = mvy
            pic.ref_idx[uy, ux] = ref_idx
            pic.luma_mode[uy, ux] = -1  # not intra: DC for the MPMs of later intra CUs


@kernel
def decode_inter_cu(reg, data, ctx, pic, refs, x, y, log2, skip, cfg, scratch, tu_count):
    """The inter part of coding_unit(): motion (merge or AMVP), prediction, residual."""
    size = 1 << log2
    num_refs = cfg.num_refs
    candidates = np.empty((MAX_MERGE_CANDIDATES, 3), np.int64)
    merge = skip
    if not skip:
        reg, merge = decode_flag(reg, data, ctx, MERGE_FLAG)
    ok = True
    if merge:
        reg, index = decode_merge_idx(reg, data, ctx)
        merge_candidates(pic, refs, x, y, size, num_refs, candidates)
        mvx, mvy, ref_idx = candidates[index, 0], candidates[index, 1], candidates[index, 2]
        kind = SKIP if skip else MERGE
    else:
        ref_idx = 0
        if num_refs > 1:
            reg, ref_idx = decode_ref_idx(reg, data, ctx, num_refs)
        reg, dx, dy, ok = decode_mvd(reg, data, ctx)
        reg, mvp = decode_flag(reg, data, ctx, MVP_IDX)
        amvp_candidates(pic, refs, x, y, size, ref_idx, candidates)
        mvx = wrap_mv(candidates[mvp, 0] + dx)
        mvy = wrap_mv(candidates[mvp, 1] + dy)
        kind = AMVP
    motion_compensate(pic, refs, x, y, size, mvx, mvy, ref_idx, cfg.bit_depth, scratch.mc)
    fill_map(pic.cu_kind, x, y, size, kind)
    root_cbf = 0 if skip else 1
    if kind == AMVP:
        reg, root_cbf = decode_flag(reg, data, ctx, ROOT_CBF)
    if not root_cbf:  # prediction only: one block for the deblocking filter
        tu_count += 1
        fill_map(pic.tu_id, x, y, size, tu_count)
        for comp in range(3):
            shift = 1 if comp else 0
            pic.decoded[comp][y >> shift:(y + size) >> shift, x >> shift:(x + size) >> shift] = 1
        return reg, ok, tu_count
    quarters = 4 if log2 == CTU_LOG2 else 1
    tu = size >> 1 if log2 == CTU_LOG2 else size
    split_tu = 1 if quarters > 1 else 0
    for q in range(quarters):
        tx, ty = x + (q & 1) * tu, y + (q >> 1) * tu
        reg, ok_l = decode_inter_block(reg, data, ctx, pic, 0, tx, ty, tu,
                                       CBF_LUMA_INTER + split_tu, cfg.qp, cfg, scratch)
        tu_count += 1
        fill_map(pic.tu_id, tx, ty, tu, tu_count)
        ok = ok and ok_l
        for comp in (1, 2):
            reg, ok_c = decode_inter_block(reg, data, ctx, pic, comp, tx >> 1, ty >> 1, tu >> 1,
                                           CBF_CHROMA_INTER + split_tu, cfg.qpc, cfg, scratch)
            ok = ok and ok_c
    return reg, ok, tu_count


@kernel
def decode_intra_cu(reg, data, ctx, pic, x, y, log2, cfg, scratch, tu_count):
    """The intra part of coding_unit(): modes, then every transform block."""
    size = 1 << log2
    nxn = 0
    if log2 == MIN_CU_LOG2:
        reg, nxn = decode_flag(reg, data, ctx, PART_NXN)
    parts = 4 if nxn else 1
    part_size = size >> 1 if nxn else size
    first_mode = 0
    heads = nn_heads_for(scratch.work[6], part_size)
    head = -1
    for i in range(parts):
        px, py = x + (i & 1) * part_size, y + (i >> 1) * part_size
        if heads:
            inc = nn_intra_context(pic.luma_mode, px, py)
            reg, head = decode_nn_intra(reg, data, ctx, inc, head_bits_of(heads))
        if head >= 0:
            mode = NN_MODE_BASE + head
        else:
            left, above = neighbour_modes(pic.luma_mode, px, py)
            m0, m1, m2 = most_probable_modes(left, above)
            reg, is_mpm, index = decode_luma_mode(reg, data, ctx)
            mode = mode_from_syntax(is_mpm, index, m0, m1, m2)
        fill_map(pic.luma_mode, px, py, part_size, mode)
        if i == 0:
            first_mode = mode
    reg, chroma_syntax = decode_chroma_mode(reg, data, ctx, cfg.cclm)
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
                                               CBF_LUMA + split_tu, cfg.qp, cfg, scratch)
            tu_count += 1
            fill_map(pic.tu_id, bx, by, n, tu_count)
            ok = ok and ok_l
        for comp in (1, 2):
            reg, ok_c = decode_transform_block(reg, data, ctx, pic, comp, tx >> 1, ty >> 1,
                                               tu >> 1, chroma_mode, CBF_CHROMA + split_tu,
                                               cfg.qpc, cfg, scratch)
            ok = ok and ok_c
    return reg, ok, tu_count


@kernel
def decode_cu(reg, data, ctx, pic, refs, x, y, log2, cfg, scratch, tu_count):
    """coding_unit() at luma (x, y) of side 2^log2 (§7.3.8.5)."""
    fill_map(pic.cu_log2, x, y, 1 << log2, log2)
    if refs is not None:  # None in an intra picture: numba drops this branch, no inter kernel is compiled
        reg, skip = decode_flag(reg, data, ctx, CU_SKIP + skip_context(pic, x, y))
        intra = 0
        if not skip:
            reg, intra = decode_flag(reg, data, ctx, PRED_MODE)
        if not intra:
            return decode_inter_cu(reg, data, ctx, pic, refs, x, y, log2, skip, cfg, scratch, tu_count)
    return decode_intra_cu(reg, data, ctx, pic, x, y, log2, cfg, scratch, tu_count)


@kernel
def decode_ctus(data, ctx, pic, refs, cfg, scans, ctu_bits, program):
    """Parse and reconstruct every CTU with the picture's :data:`Settings`; returns 0 or an error code.

    ``program``: the neural intra :data:`~codeclab.classic.common.nnintra.Program` (empty when the tool is off).

    ``ctu_bits[row, col]`` receives the position of the arithmetic decoder (in bits, to
    within a byte) after each CTU, for the bits-per-CTU picture of ``codeclab info``.
    """
    reg = decoder_start(data)
    scratch = Scratch(scans, new_workspace(program),
                      (new_mc_workspace(CTU_SIZE), np.empty((CTU_SIZE, CTU_SIZE), np.int64)))
    coded_height, coded_width = pic.coded
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
                if block_coverage(x, y, 1 << log2, coded_height, coded_width) == 0:
                    k += units_of(log2)
                    continue
                while log2 > MIN_CU_LOG2:
                    coverage = block_coverage(x, y, 1 << log2, coded_height, coded_width)
                    split = 1
                    if coverage == 2:
                        inc = split_context(pic.cu_log2, x, y, log2)
                        reg, split = decode_flag(reg, data, ctx, SPLIT_CU + inc)
                    if not split:
                        break
                    log2 -= 1
                reg, ok, tu_count = decode_cu(reg, data, ctx, pic, refs, x, y, log2, cfg, scratch, tu_count)
                if not ok:
                    return DAMAGED_RESIDUAL
                if decoder_failed(reg, data):
                    return OVERRUN
                k += units_of(log2)
            ctu_bits[row, col] = bits_read(reg)
    return decoder_finish(reg, data)


@dataclass
class DecodedPicture:
    """The decoder's output: deblocked (Y, Cb, Cr) of the padded picture, and its syntax."""

    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    picture: Picture
    ctu_bits: np.ndarray  # bits spent on each CTU


def decode_payload(params: PictureParams, payload: bytes, height: int, width: int,
                   refs: References | None = None, num_refs: int = 0,
                   coded: tuple[int, int] | None = None) -> DecodedPicture:
    """Decode one picture of luma size (height, width); ``BitstreamError`` if damaged.

    An intra picture needs nothing else; an inter picture (``refs`` given) reads its
    ``num_refs`` reference pictures from ``refs``. ``coded``: the coded size (default: whole
    CTUs, as still pictures are coded).
    """
    data = as_byte_array(payload)
    stored_height, stored_width = padded_shape(height, width)
    pic = new_picture(stored_height, stored_width, coded)
    inter = refs is not None
    ctx = new_contexts(params.qp)
    positions = np.zeros((stored_height // CTU_SIZE, stored_width // CTU_SIZE), np.int64)
    cfg = Settings(*scaling_qps(params.qp, params.bit_depth), params.bit_depth, params.strong_smoothing, num_refs,
                   params.sign_hiding, params.cclm)
    code = int(decode_ctus(data, ctx, pic, refs, cfg, SCANS, positions, intra_program(params.neural_intra)))
    if code == DAMAGED_RESIDUAL:
        raise BitstreamError("classic: damaged residual or motion data")
    if code == OVERRUN:
        raise BitstreamError("classic: payload truncated (the decoder read past its end)")
    if code:
        raise BitstreamError(f"classic: {FINISH_ERRORS[code]}")
    ctu_bits = np.diff(np.concatenate([[8], positions.ravel()])).reshape(positions.shape)
    planes = deblock_picture(pic, params.qp, params.deblocking, refs.pocs if inter else None, params.bit_depth)
    return DecodedPicture(planes, pic, ctu_bits)


def decode_planes(params: PictureParams, payload: bytes, height: int, width: int) -> tuple:
    """Padded (Y, Cb, Cr) of one picture: decode, deblock, then the picture filter it names."""
    if not params.picture_filter:
        return decode_payload(params, payload, height, width).planes
    picture_filter = filter_for_id(params.picture_filter)
    picture_data, side_info = split_side_info(payload)
    planes = decode_payload(params, picture_data, height, width).planes
    return picture_filter.decode(planes, params.qp, side_info, (height, width))
