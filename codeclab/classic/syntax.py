"""Bitstream syntax of the classic codec: picture parameters, contexts, syntax elements.

A ``classic`` bitstream is one picture: a small parameter block (the container's
``params``) and one arithmetic codeword (the ``payload``) holding the coding tree units in
raster order. Modelled on H.265 §7.3.8 with the simplifications of an all-intra,
single-slice, 4:2:0 codec::

    picture_parameters (5 or 6 bytes):  qp u8 | matrix u8 | flags u8 | ctu_log2 u8 | min_cu_log2 u8
                                        [| picture_filter u8]
        flags: bit 0 deblocking, bit 1 strong intra smoothing, bit 2 picture filter present
        picture_filter: id of the in-loop filter after deblocking (:mod:`.filters`); when
        present the payload is ``u32 len | picture data | filter side information``

    coding_quadtree(x, y, log2)                                           §7.3.8.4
        split_cu_flag                   ae(v) if log2 > min_cu_log2; ctx 0..2 from the depth
                                              of the left and above CUs (§9.3.4.2.2)
        split: four coding_quadtree(log2 - 1) in z-order, else coding_unit
    coding_unit(x, y, log2)                                               §7.3.8.5
        part_mode (NxN)                 ae(v) only if log2 == min_cu_log2 (four 4x4 luma PUs)
        per PU: prev_intra_luma_pred_flag ae(v); mpm_idx TR cMax 2 bypass, or
                rem_intra_luma_pred_mode 5 bits bypass                    §8.4.2
        intra_chroma_pred_mode          ae(v): 0 -> DM (4), else 1 + 2 bypass bits (0..3)
        transform_unit per luma TU (the CU, its four 32x32 quarters for a 64x64 CU, or its
        four 4x4 PUs for NxN): cbf_luma ae(v), residual_coding
        chroma TUs (the CU halved, 32x32 quarters for 64x64): cbf_cb, residual; cbf_cr, residual
    end of picture: terminate bin 1 and the stop pattern (:func:`~codeclab.entropy.cabac.encoder_finish`)

Residual coding is :mod:`codeclab.entropy.residual` (HEVC's last position, coded sub-block
flags, significance, greater-1/2, Rice remainders, signs). Its 112 contexts come first in
the context array; this module's follow. Every context starts at VVC's neutral state (CNU).

The functions below come in triples: ``encode_*`` (writes bins), ``decode_*`` (reads them,
never loops without bound) and ``*_bits`` (the Q15 cost estimate of :func:`bin_cost` that
rate-distortion decisions use, from the current context states).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
from numba import njit

from ..bitstream.container import Matrix
from ..entropy.cabac import (CNU, decode_bin, decode_bypass, encode_bin, encode_bypass,
                             init_contexts)
from ..entropy.rate import ONE_BIT, bin_cost
from ..entropy.residual import N_CONTEXTS as RESIDUAL_CONTEXTS
from ..errors import BitstreamError

# Context layout after the residual contexts.
SPLIT_CU = RESIDUAL_CONTEXTS          # 3: number of neighbours (left, above) that are deeper
PART_NXN = SPLIT_CU + 3               # 1
PREV_INTRA_LUMA = PART_NXN + 1        # 1
CHROMA_MODE = PREV_INTRA_LUMA + 1     # 1
CBF_LUMA = CHROMA_MODE + 1            # 2: TU = CU, TU inside a split CU
CBF_CHROMA = CBF_LUMA + 2             # 2: likewise, shared by Cb and Cr
N_CONTEXTS = CBF_CHROMA + 2

FLAG_DEBLOCKING = 1
FLAG_STRONG_SMOOTHING = 2
FLAG_PICTURE_FILTER = 4
_PARAMS = struct.Struct(">BBBBB")


@dataclass(frozen=True)
class PictureParams:
    """The picture-level parameters (the container's ``params`` block)."""

    qp: int
    matrix: Matrix = Matrix.BT709
    deblocking: bool = True
    strong_smoothing: bool = True
    ctu_log2: int = 6
    min_cu_log2: int = 3
    picture_filter: int = 0  # 0: none, else the tool id of :mod:`.filters`

    def pack(self) -> bytes:
        flags = (FLAG_DEBLOCKING * self.deblocking + FLAG_STRONG_SMOOTHING * self.strong_smoothing
                 + FLAG_PICTURE_FILTER * bool(self.picture_filter))
        packed = _PARAMS.pack(self.qp, int(self.matrix), flags, self.ctu_log2, self.min_cu_log2)
        return packed + bytes([self.picture_filter]) if self.picture_filter else packed

    @classmethod
    def unpack(cls, data: bytes) -> PictureParams:
        """Parse and validate; ``BitstreamError`` for anything this decoder cannot handle."""
        if len(data) not in (_PARAMS.size, _PARAMS.size + 1):
            raise BitstreamError(f"classic: parameter block of {len(data)} bytes, expected {_PARAMS.size}"
                                 f" or {_PARAMS.size + 1}")
        qp, matrix, flags, ctu_log2, min_cu_log2 = _PARAMS.unpack(data[:_PARAMS.size])
        picture_filter = data[_PARAMS.size] if len(data) > _PARAMS.size else 0
        if bool(flags & FLAG_PICTURE_FILTER) != (len(data) > _PARAMS.size) or (
                len(data) > _PARAMS.size and picture_filter == 0):
            raise BitstreamError("classic: picture-filter flag and filter id disagree")
        if qp > 51:
            raise BitstreamError(f"classic: QP {qp} outside 0..51")
        if matrix not in (Matrix.BT601, Matrix.BT709):
            raise BitstreamError(f"classic: unknown colour matrix {matrix}")
        if flags >> 3:
            raise BitstreamError(f"classic: unknown tool flags {flags:#x}")
        if ctu_log2 != 6 or min_cu_log2 != 3:
            raise BitstreamError(f"classic: unsupported CTU/CU sizes 2^{ctu_log2}/2^{min_cu_log2}")
        return cls(qp, Matrix(matrix), bool(flags & FLAG_DEBLOCKING),
                   bool(flags & FLAG_STRONG_SMOOTHING), ctu_log2, min_cu_log2, picture_filter)


def new_contexts(qp: int) -> np.ndarray:
    """All contexts of a picture at their initial states (CNU at ``qp``)."""
    return init_contexts(np.full(N_CONTEXTS, CNU), qp=qp)


# -------------------------------------------------------------------- flags
@njit(cache=True)
def encode_flag(reg, out, ctx, c, flag):
    """A context-coded flag (split_cu_flag, part_mode, cbf_*)."""
    return encode_bin(reg, out, ctx, c, flag)


@njit(cache=True)
def decode_flag(reg, data, ctx, c):
    return decode_bin(reg, data, ctx, c)


@njit(cache=True)
def flag_bits(ctx, c, flag):
    return bin_cost(ctx, c, flag)


# -------------------------------------------------------------------- luma mode (§8.4.2)
@njit(cache=True)
def encode_luma_mode(reg, out, ctx, is_mpm, index):
    """prev_intra_luma_pred_flag, then mpm_idx (0, 10, 11) or rem_intra_luma_pred_mode (5 bits)."""
    reg = encode_bin(reg, out, ctx, PREV_INTRA_LUMA, 1 if is_mpm else 0)
    if is_mpm:
        reg = encode_bypass(reg, out, 1 if index > 0 else 0)
        if index > 0:
            reg = encode_bypass(reg, out, index - 1)
        return reg
    for i in range(4, -1, -1):
        reg = encode_bypass(reg, out, (index >> i) & 1)
    return reg


@njit(cache=True)
def decode_luma_mode(reg, data, ctx):
    """Returns ``(registers, is_mpm, index)``."""
    reg, is_mpm = decode_bin(reg, data, ctx, PREV_INTRA_LUMA)
    index = 0
    if is_mpm:
        reg, b = decode_bypass(reg, data)
        if b:
            reg, b = decode_bypass(reg, data)
            index = 1 + b
        return reg, 1, index
    for _ in range(5):
        reg, b = decode_bypass(reg, data)
        index = (index << 1) | b
    return reg, 0, index


@njit(cache=True)
def luma_mode_bits(ctx, is_mpm, index):
    if is_mpm:
        return bin_cost(ctx, PREV_INTRA_LUMA, 1) + (1 if index == 0 else 2) * ONE_BIT
    return bin_cost(ctx, PREV_INTRA_LUMA, 0) + 5 * ONE_BIT


# -------------------------------------------------------------------- chroma mode (§8.4.3)
@njit(cache=True)
def encode_chroma_mode(reg, out, ctx, value):
    """intra_chroma_pred_mode: 4 (DM) is the single bin 0; 0..3 are 1 and two bypass bits."""
    if value == 4:
        return encode_bin(reg, out, ctx, CHROMA_MODE, 0)
    reg = encode_bin(reg, out, ctx, CHROMA_MODE, 1)
    reg = encode_bypass(reg, out, value >> 1)
    return encode_bypass(reg, out, value & 1)


@njit(cache=True)
def decode_chroma_mode(reg, data, ctx):
    reg, b = decode_bin(reg, data, ctx, CHROMA_MODE)
    if b == 0:
        return reg, 4
    reg, hi = decode_bypass(reg, data)
    reg, lo = decode_bypass(reg, data)
    return reg, 2 * hi + lo


@njit(cache=True)
def chroma_mode_bits(ctx, value):
    if value == 4:
        return bin_cost(ctx, CHROMA_MODE, 0)
    return bin_cost(ctx, CHROMA_MODE, 1) + 2 * ONE_BIT


# -------------------------------------------------------------------- mode derivations
@njit(cache=True)
def most_probable_modes(left, above):
    """candModeList of §8.4.2 (numba twin of :func:`codeclab.classic.intra.most_probable_modes`).

    ``left``/``above`` are neighbour modes, or -1 where the neighbour gives no candidate.
    """
    a = 1 if left < 0 else left
    b = 1 if above < 0 else above
    if a == b:
        if a < 2:
            return 0, 1, 26
        return a, 2 + ((a + 29) % 32), 2 + ((a - 2 + 1) % 32)
    if a != 0 and b != 0:
        return a, b, 0
    if a != 1 and b != 1:
        return a, b, 1
    return a, b, 26


@njit(cache=True)
def mode_to_syntax(mode, m0, m1, m2):
    """``(is_mpm, index)`` of a luma mode given its MPMs (§8.4.2, inverted)."""
    if mode == m0:
        return 1, 0
    if mode == m1:
        return 1, 1
    if mode == m2:
        return 1, 2
    return 0, mode - (m0 < mode) - (m1 < mode) - (m2 < mode)


@njit(cache=True)
def mode_from_syntax(is_mpm, index, m0, m1, m2):
    """IntraPredModeY from the coded syntax (§8.4.2)."""
    if is_mpm:
        return m0 if index == 0 else (m1 if index == 1 else m2)
    lo = min(m0, m1, m2)
    hi = max(m0, m1, m2)
    mid = m0 + m1 + m2 - lo - hi
    mode = index
    if mode >= lo:
        mode += 1
    if mode >= mid:
        mode += 1
    if mode >= hi:
        mode += 1
    return mode


@njit(cache=True)
def chroma_mode_from_syntax(value, luma_mode):
    """IntraPredModeC (Table 8-2): planar, vertical, horizontal, DC, or DM; 34 replaces a duplicate."""
    if value == 4:
        return luma_mode
    mode = (0, 26, 10, 1)[value]
    return 34 if mode == luma_mode else mode
