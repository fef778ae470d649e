"""Encoding one picture of the classic codec: search every CTU, write it, deblock.

The encoder's mirror of :mod:`codeclab.classic.decoder.picture`. An intra picture runs the
intra search of :mod:`.intra`, a P picture the inter search of :mod:`.inter`; both then
write with :mod:`.writer` into one arithmetic codeword::

    for each CTU (raster order):
        search_ctu / inter_ctu     decide quadtree, modes, motion and levels, min J = D + lambda R
        write_ctu                  code those decisions with the arithmetic coder
    deblocking (:mod:`codeclab.classic.common.deblocking`), exactly as the decoder does
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from codeclab.classic.common.deblocking import deblock_picture
from codeclab.classic.common.nnintra import empty_program, intra_program
from codeclab.classic.common.parameters import PictureParams
from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.picture import Picture, References, new_picture
from codeclab.classic.common.reconstruct import chroma_qp, new_workspace, scaling_qps
from codeclab.classic.common.reference.quant import INTER_ROUNDING, INTRA_ROUNDING
from codeclab.classic.common.syntax import new_contexts
from codeclab.classic.decoder.picture import SCANS
from codeclab.classic.encoder.inter import inter_ctu
from codeclab.classic.encoder.intra import (MAX_CTU_BINS, Settings, make_search, new_inter_search, new_scratch,
                                            no_inter_search, search_ctu)
from codeclab.classic.encoder.rate_control import chroma_distortion_weight, rd_lambda
from codeclab.classic.encoder.writer import write_ctu
from codeclab.entropy.cabac import bits_written, encoder_finish, encoder_start, reserve
from codeclab.kernels import kernel


@kernel
def encode_ctus(S, cfg, ctx, ctu_bits):
    """Search and write every CTU of an intra picture; returns the payload bytes (uint8)."""
    out = np.empty(1 << 16, np.uint8)
    reg = encoder_start()
    ctx_copy = np.empty_like(ctx)
    rows, cols = ctu_bits.shape
    tu_count = 0
    for row in range(rows):
        for col in range(cols):
            S.ctx[:, :] = ctx  # rates of this CTU's decisions: the states at its start
            search_ctu(S, cfg, col * CTU_SIZE, row * CTU_SIZE, ctx_copy)
            out = reserve(reg, out, MAX_CTU_BINS)
            start = bits_written(reg)
            reg, tu_count = write_ctu(reg, out, ctx, S, row, col, None, tu_count)
            ctu_bits[row, col] = bits_written(reg) - start
    out = reserve(reg, out, 16)
    size = encoder_finish(reg, out)
    return out[:size]


# -------------------------------------------------------------------- picture level
@dataclass
class EncodedPicture:
    """The encoder's output: payload, deblocked reconstruction of the padded picture, syntax."""

    payload: bytes
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    picture: Picture
    ctu_bits: np.ndarray


def picture_settings(qp: int, lam: float, strong_smoothing: bool, rounding: int, rdoq: bool = False,
                     bit_depth: int = 8) -> Settings:
    """:data:`Settings` of a picture coded at ``qp`` (QpY) with Lagrange multiplier ``lam``;
    ``rdoq``: levels by RD cost (:mod:`~codeclab.classic.encoder.rdoq`) after the dead zone.

    The settings hold the scaling QPs (Qp' = Qp + 6 (bit_depth - 8),
    :func:`~codeclab.classic.common.reconstruct.scaling_qps`); ``lam`` is for 8-bit
    distortion and is scaled by 4 ** (bit_depth - 8), the ratio of squared errors.
    """
    qpc = int(chroma_qp(qp))
    qp_scaling, qpc_scaling = scaling_qps(qp, bit_depth)
    lam = lam * 4.0 ** (bit_depth - 8)
    return Settings(qp_scaling, qpc_scaling, lam, math.sqrt(lam), chroma_distortion_weight(qp, qpc), bit_depth,
                    strong_smoothing, rounding, bool(rdoq))


def new_search(planes: tuple[np.ndarray, ...], pic: Picture, qp: int, inter=None,
               program: tuple | None = None, sign_hiding: bool = False, cclm: bool = False) -> tuple:
    """:data:`Search` over the source ``planes`` for the picture state ``pic``; ``program``:
    the neural intra :data:`~codeclab.classic.common.nnintra.Program` (default: the tool off);
    ``cclm``: chroma may be predicted from luma (:mod:`~codeclab.classic.common.cclm`)."""
    height, width = pic.planes[0].shape
    orig = tuple(np.ascontiguousarray(p, dtype=np.int32) for p in planes)
    maps = (np.zeros_like(pic.cu_log2), np.zeros_like(pic.cu_log2))
    syntax = np.zeros(pic.cu_log2.shape + (4,), np.int32)
    inter = no_inter_search(height, width) if inter is None else inter
    program = empty_program() if program is None else program
    return make_search(orig, pic, maps[0], maps[1], new_contexts(qp), SCANS, new_workspace(program),
                       new_scratch(), syntax, inter, bool(sign_hiding), bool(cclm))


def encode_planes(planes: tuple[np.ndarray, np.ndarray, np.ndarray], params: PictureParams,
                  coded: tuple[int, int] | None = None, rdoq: bool = False) -> EncodedPicture:
    """Encode padded 4:2:0 planes (luma sides multiples of 64) as an intra picture.

    ``coded``: the coded size (default: all of the planes, as still pictures are coded).
    """
    height, width = planes[0].shape
    qp = params.qp
    cfg = picture_settings(qp, rd_lambda(qp), params.strong_smoothing, INTRA_ROUNDING, rdoq, params.bit_depth)
    pic = new_picture(height, width, coded)
    S = new_search(planes, pic, qp, program=intra_program(params.neural_intra), sign_hiding=params.sign_hiding,
                   cclm=params.cclm)
    ctx = new_contexts(qp)
    ctu_bits = np.zeros((height // CTU_SIZE, width // CTU_SIZE), np.int64)
    payload = encode_ctus(S, cfg, ctx, ctu_bits)
    recon = deblock_picture(pic, qp, params.deblocking, bit_depth=params.bit_depth)
    return EncodedPicture(payload.tobytes(), recon, pic, ctu_bits)


@kernel
def encode_inter_ctus(S, cfg, ctx, ctu_bits):
    """Search and write every CTU of a P picture; returns the payload bytes (uint8)."""
    out = np.empty(1 << 16, np.uint8)
    reg = encoder_start()
    ctx_copy = np.empty_like(ctx)
    rows, cols = ctu_bits.shape
    tu_count = 0
    for row in range(rows):
        for col in range(cols):
            S.ctx[:, :] = ctx
            inter_ctu(S, cfg, col * CTU_SIZE, row * CTU_SIZE, ctx_copy)
            out = reserve(reg, out, MAX_CTU_BINS)
            start = bits_written(reg)
            reg, tu_count = write_ctu(reg, out, ctx, S, row, col, S.inter.num_refs, tu_count)
            ctu_bits[row, col] = bits_written(reg) - start
    out = reserve(reg, out, 16)
    size = encoder_finish(reg, out)
    return out[:size]


# -------------------------------------------------------------------- picture level
def encode_inter_planes(planes: tuple[np.ndarray, np.ndarray, np.ndarray], params: PictureParams,
                        refs: References, num_refs: int, coded: tuple[int, int],
                        phases: np.ndarray, margin: int, me_mv: np.ndarray,
                        lam: float, rdoq: bool = False) -> EncodedPicture:
    """Encode padded 4:2:0 planes as a P picture predicting from ``refs``.

    ``phases``: (R, 16, ...) quarter-sample planes of the reference lumas
    (:func:`~codeclab.classic.common.motion.fractional_planes` with ``margin``); ``me_mv``: (R, H/16, W/16, 2)
    integer vectors of the block search (:mod:`~codeclab.classic.encoder.motion_search`); ``lam``: the Lagrange
    multiplier.
    """
    height, width = planes[0].shape
    qp = params.qp
    cfg = picture_settings(qp, lam, params.strong_smoothing, INTRA_ROUNDING, rdoq, params.bit_depth)
    pic = new_picture(height, width, coded)
    inter = new_inter_search(refs, phases, margin, me_mv, num_refs, INTER_ROUNDING)
    S = new_search(planes, pic, qp, inter, intra_program(params.neural_intra), params.sign_hiding)
    ctx = new_contexts(qp)
    ctu_bits = np.zeros((height // CTU_SIZE, width // CTU_SIZE), np.int64)
    payload = encode_inter_ctus(S, cfg, ctx, ctu_bits)
    recon = deblock_picture(pic, qp, params.deblocking, refs.pocs, params.bit_depth)
    return EncodedPicture(payload.tobytes(), recon, pic, ctu_bits)
