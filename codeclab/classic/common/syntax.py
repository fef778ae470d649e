"""Bitstream syntax of the classic codec: parameters, contexts, syntax elements.

A still picture is a small parameter block (the container's ``params``) and one arithmetic
codeword (the ``payload``) holding the coding tree units in raster order. A sequence is a
sequence parameter block and, in the payload, one framed codeword per picture
(:mod:`.sequence`). Modelled on H.265 §7.3 with the simplifications of a single-slice,
4:2:0, 8-bit codec with one reference list::

    picture_parameters (5 or 6 bytes):  qp u8 | matrix u8 | flags u8 | ctu_log2 u8 | min_cu_log2 u8
                                        [| picture_filter u8]
        flags: bit 0 deblocking, bit 1 strong intra smoothing, bit 2 picture filter present,
               bit 4 neural intra prediction (the network modes of :mod:`.nnintra`)
        picture_filter: id of the in-loop filter after deblocking (:mod:`.filters`); when
        present the payload is ``uleb128 len | picture data | filter side information``

    sequence_parameters (8 or 9 bytes): qp u8 | flags u8 | ctu_log2 u8 | min_cu_log2 u8 |
                                        intra_period u16 | num_refs u8 | gop_size u8
                                        [| picture_filter u8]
        flags: as above, and bit 3 temporal motion vector prediction (TMVP)
        each picture: picture_header u8 = P flag (bit 7) | QP (bits 0..5), then its codeword
        (the reference lists follow from intra_period, num_refs and gop_size, :mod:`.sequence`)

    coding_quadtree(x, y, log2)                                           §7.3.8.4
        split_cu_flag                   ae(v) if log2 > min_cu_log2 and the block lies inside
                                              the coded picture (across its edge: split,
                                              outside it: nothing); ctx 0..2 from the depth of
                                              the left and above CUs (§9.3.4.2.2)
        split: four coding_quadtree(log2 - 1) in z-order, else coding_unit
    coding_unit(x, y, log2)                                               §7.3.8.5
        P pictures only:
        cu_skip_flag                    ae(v) ctx 0..2: skipped CUs left and above
        skip: merge_idx                 TR cMax 4, bin 0 ae(v), others bypass  §7.3.8.6
              (no residual)             the CU is predicted from merge candidate merge_idx
        else pred_mode_flag             ae(v) 1 = intra
        intra CUs (every CU of an I picture):
        part_mode (NxN)                 ae(v) only if log2 == min_cu_log2 (four 4x4 luma PUs)
        per PU: nn_intra_flag ae(v) if neural intra prediction is on (ctx 0..2: left and
                above PUs with network modes); 1: nn_intra_mode,
                log2(heads) bits bypass (the network head, luma mode 35 + head); else
                prev_intra_luma_pred_flag ae(v); mpm_idx TR cMax 2 bypass, or
                rem_intra_luma_pred_mode 5 bits bypass                    §8.4.2
        intra_chroma_pred_mode          ae(v): 0 -> DM (4), else 1 + 2 bypass bits (0..3)
        transform_unit per luma TU (the CU, its four 32x32 quarters for a 64x64 CU, or its
        four 4x4 PUs for NxN): cbf_luma ae(v), residual_coding
        chroma TUs (the CU halved, 32x32 quarters for 64x64): cbf_cb, residual; cbf_cr, residual
        inter CUs (one 2Nx2N prediction unit; no 2NxN, Nx2N or AMP):      §7.3.8.6
        merge_flag                      ae(v)
        merge: merge_idx                as for skip
        else:  ref_idx_l0               TR cMax num_refs - 1, bins 0..1 ae(v), others bypass
               mvd_coding               §7.3.8.9: abs_mvd_greater0_flag[x, y] ae(v),
                                        abs_mvd_greater1_flag[x, y] ae(v), then per component
                                        abs_mvd_minus2 EG1 bypass, mvd_sign_flag bypass
               mvp_l0_flag              ae(v)
               rqt_root_cbf             ae(v) (merge CUs: inferred 1)      §7.3.8.8
        transform units as for intra CUs (the CU, or four 32x32 quarters), with their own
        cbf contexts and the DCT for every size
    end of picture: terminate bin 1 and the stop pattern (:func:`~codeclab.entropy.cabac.encoder_finish`)

Residual coding is :mod:`codeclab.classic.common.residual` (HEVC's last position, coded sub-block
flags, significance, greater-1/2, Rice remainders, signs). Its 112 contexts come first in
the context array; this module's follow, the inter ones last (so still pictures are coded
exactly as before inter coding existed). Every context starts at VVC's neutral state (CNU).

The functions below come in triples: ``encode_*`` (writes bins), ``decode_*`` (reads them,
never loops without bound) and ``*_bits`` (the Q15 cost estimate of :func:`bin_cost` that
rate-distortion decisions use, from the current context states).
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np

from codeclab.bitstream.container import Matrix
from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES
from codeclab.classic.common.nnintra import NN_MODE_BASE
from codeclab.classic.common.residual import N_CONTEXTS as RESIDUAL_CONTEXTS
from codeclab.entropy.binarization import decode_exp_golomb, encode_exp_golomb
from codeclab.entropy.cabac import (
    CNU,
    decode_bin,
    decode_bypass,
    encode_bin,
    encode_bypass,
    init_contexts,
)
from codeclab.entropy.rate import ONE_BIT, bin_cost
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel

# Context layout after the residual contexts.
SPLIT_CU = RESIDUAL_CONTEXTS          # 3: number of neighbours (left, above) that are deeper
PART_NXN = SPLIT_CU + 3               # 1
PREV_INTRA_LUMA = PART_NXN + 1        # 1
CHROMA_MODE = PREV_INTRA_LUMA + 1     # 1
CBF_LUMA = CHROMA_MODE + 1            # 2: TU = CU, TU inside a split CU
CBF_CHROMA = CBF_LUMA + 2             # 2: likewise, shared by Cb and Cr
# Inter pictures only (after all the intra contexts, so still pictures are unchanged).
CU_SKIP = CBF_CHROMA + 2              # 3: number of neighbours (left, above) that are skipped
PRED_MODE = CU_SKIP + 3               # 1: pred_mode_flag (1 = intra)
MERGE_FLAG = PRED_MODE + 1            # 1
MERGE_IDX = MERGE_FLAG + 1            # 1: first bin of merge_idx
REF_IDX = MERGE_IDX + 1               # 2: first two bins of ref_idx_l0
MVD_GREATER0 = REF_IDX + 2            # 1: abs_mvd_greater0_flag (x and y)
MVD_GREATER1 = MVD_GREATER0 + 1       # 1: abs_mvd_greater1_flag (x and y)
MVP_IDX = MVD_GREATER1 + 1            # 1: mvp_l0_flag
ROOT_CBF = MVP_IDX + 1                # 1: rqt_root_cbf
CBF_LUMA_INTER = ROOT_CBF + 1         # 2: cbf_luma of inter CUs (TU = CU, TU inside the CU)
CBF_CHROMA_INTER = CBF_LUMA_INTER + 2  # 2: likewise, Cb and Cr
# Neural intra prediction only (so streams without it are unchanged).
NN_INTRA_FLAG = CBF_CHROMA_INTER + 2  # 3: nn_intra_flag, by network-mode neighbours (left, above)
N_CONTEXTS = NN_INTRA_FLAG + 3

#: Largest |mvd| component (the vector range of H.265 §7.4.9.9, 16 bits).
MAX_MVD = 1 << 15

FLAG_DEBLOCKING = 1
FLAG_STRONG_SMOOTHING = 2
FLAG_PICTURE_FILTER = 4
FLAG_NEURAL_INTRA = 16
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
    neural_intra: bool = False  # the network intra modes of :mod:`.nnintra`

    def pack(self) -> bytes:
        flags = (FLAG_DEBLOCKING * self.deblocking + FLAG_STRONG_SMOOTHING * self.strong_smoothing
                 + FLAG_PICTURE_FILTER * bool(self.picture_filter) + FLAG_NEURAL_INTRA * self.neural_intra)
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
        if flags & ~(FLAG_DEBLOCKING | FLAG_STRONG_SMOOTHING | FLAG_PICTURE_FILTER | FLAG_NEURAL_INTRA):
            raise BitstreamError(f"classic: unknown tool flags {flags:#x}")
        if ctu_log2 != 6 or min_cu_log2 != 3:
            raise BitstreamError(f"classic: unsupported CTU/CU sizes 2^{ctu_log2}/2^{min_cu_log2}")
        return cls(qp, Matrix(matrix), bool(flags & FLAG_DEBLOCKING),
                   bool(flags & FLAG_STRONG_SMOOTHING), ctu_log2, min_cu_log2, picture_filter,
                   bool(flags & FLAG_NEURAL_INTRA))


def new_contexts(qp: int) -> np.ndarray:
    """All contexts of a picture at their initial states (CNU at ``qp``)."""
    return init_contexts(np.full(N_CONTEXTS, CNU), qp=qp)


# -------------------------------------------------------------------- flags
@kernel
def encode_flag(reg, out, ctx, c, flag):
    """A context-coded flag (split_cu_flag, part_mode, cbf_*)."""
    return encode_bin(reg, out, ctx, c, flag)


@kernel
def decode_flag(reg, data, ctx, c):
    return decode_bin(reg, data, ctx, c)


@kernel
def flag_bits(ctx, c, flag):
    return bin_cost(ctx, c, flag)


# -------------------------------------------------------------------- luma mode (§8.4.2)
@kernel
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


@kernel
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


@kernel
def luma_mode_bits(ctx, is_mpm, index):
    if is_mpm:
        return bin_cost(ctx, PREV_INTRA_LUMA, 1) + (1 if index == 0 else 2) * ONE_BIT
    return bin_cost(ctx, PREV_INTRA_LUMA, 0) + 5 * ONE_BIT


# -------------------------------------------------------------------- nn_intra_flag, nn_intra_mode
@kernel
def head_bits_of(heads):
    """Bypass bits of nn_intra_mode for ``heads`` network modes (a power of two, 1..8)."""
    return 0 if heads <= 1 else (1 if heads == 2 else (2 if heads == 4 else 3))


@kernel
def nn_intra_context(luma_mode, x, y):
    """ctxInc of nn_intra_flag for the PU at luma (x, y): how many of its left and above
    neighbours use a network mode (as VVC's intra_mip_flag counts MIP neighbours)."""
    ux, uy = x >> 2, y >> 2
    inc = 0
    if ux > 0 and luma_mode[uy, ux - 1] >= NN_MODE_BASE:
        inc += 1
    if uy > 0 and luma_mode[uy - 1, ux] >= NN_MODE_BASE:
        inc += 1
    return inc


@kernel
def encode_nn_intra(reg, out, ctx, inc, head, head_bits):
    """nn_intra_flag (``head >= 0``, context ``inc``), then the head in ``head_bits`` bypass
    bits, MSB first."""
    reg = encode_bin(reg, out, ctx, NN_INTRA_FLAG + inc, 1 if head >= 0 else 0)
    if head >= 0:
        for i in range(head_bits - 1, -1, -1):
            reg = encode_bypass(reg, out, (head >> i) & 1)
    return reg


@kernel
def decode_nn_intra(reg, data, ctx, inc, head_bits):
    """``(reg, head)``; head -1 when nn_intra_flag is 0."""
    reg, flag = decode_bin(reg, data, ctx, NN_INTRA_FLAG + inc)
    if not flag:
        return reg, -1
    head = 0
    for _ in range(head_bits):
        reg, b = decode_bypass(reg, data)
        head = (head << 1) | b
    return reg, head


@kernel
def nn_intra_bits(ctx, inc, head, head_bits):
    return bin_cost(ctx, NN_INTRA_FLAG + inc, 1 if head >= 0 else 0) + (head_bits * ONE_BIT if head >= 0 else 0)


# -------------------------------------------------------------------- chroma mode (§8.4.3)
@kernel
def encode_chroma_mode(reg, out, ctx, value):
    """intra_chroma_pred_mode: 4 (DM) is the single bin 0; 0..3 are 1 and two bypass bits."""
    if value == 4:
        return encode_bin(reg, out, ctx, CHROMA_MODE, 0)
    reg = encode_bin(reg, out, ctx, CHROMA_MODE, 1)
    reg = encode_bypass(reg, out, value >> 1)
    return encode_bypass(reg, out, value & 1)


@kernel
def decode_chroma_mode(reg, data, ctx):
    reg, b = decode_bin(reg, data, ctx, CHROMA_MODE)
    if b == 0:
        return reg, 4
    reg, hi = decode_bypass(reg, data)
    reg, lo = decode_bypass(reg, data)
    return reg, 2 * hi + lo


@kernel
def chroma_mode_bits(ctx, value):
    if value == 4:
        return bin_cost(ctx, CHROMA_MODE, 0)
    return bin_cost(ctx, CHROMA_MODE, 1) + 2 * ONE_BIT


# -------------------------------------------------------------------- mode derivations
@kernel
def most_probable_modes(left, above):
    """candModeList of §8.4.2 (numba twin of :func:`codeclab.classic.common.reference.intra.most_probable_modes`).

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


@kernel
def mode_to_syntax(mode, m0, m1, m2):
    """``(is_mpm, index)`` of a luma mode given its MPMs (§8.4.2, inverted)."""
    if mode == m0:
        return 1, 0
    if mode == m1:
        return 1, 1
    if mode == m2:
        return 1, 2
    return 0, mode - (m0 < mode) - (m1 < mode) - (m2 < mode)


@kernel
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


@kernel
def chroma_mode_from_syntax(value, luma_mode):
    """IntraPredModeC (Table 8-2): planar, vertical, horizontal, DC, or DM; 34 replaces a duplicate.

    A network luma mode (:mod:`.nnintra`) counts as planar, as VVC's DM treats MIP blocks.
    """
    if luma_mode >= NN_MODE_BASE:
        luma_mode = 0
    if value == 4:
        return luma_mode
    mode = (0, 26, 10, 1)[value]
    return 34 if mode == luma_mode else mode


# ==================================================================== sequences
FLAG_TMVP = 8
MAX_REFS = 4
MAX_GOP_SIZE = 16
_SEQUENCE = struct.Struct(">BBBBHBB")


@dataclass(frozen=True)
class SequenceParams:
    """The sequence-level parameters of a coded video (the container's ``params``)."""

    qp: int
    intra_period: int = 32
    num_refs: int = 2
    gop_size: int = 4  # key pictures every gop_size pictures (:mod:`.sequence`)
    deblocking: bool = True
    strong_smoothing: bool = True
    tmvp: bool = True
    ctu_log2: int = 6
    min_cu_log2: int = 3
    picture_filter: int = 0  # 0: none, else the tool id of :mod:`.filters`
    neural_intra: bool = False  # the network intra modes of :mod:`.nnintra`

    def pack(self) -> bytes:
        flags = (FLAG_DEBLOCKING * self.deblocking + FLAG_STRONG_SMOOTHING * self.strong_smoothing
                 + FLAG_PICTURE_FILTER * bool(self.picture_filter) + FLAG_TMVP * self.tmvp
                 + FLAG_NEURAL_INTRA * self.neural_intra)
        packed = _SEQUENCE.pack(self.qp, flags, self.ctu_log2, self.min_cu_log2,
                                self.intra_period, self.num_refs, self.gop_size)
        return packed + bytes([self.picture_filter]) if self.picture_filter else packed

    @classmethod
    def unpack(cls, data: bytes) -> SequenceParams:
        """Parse and validate; ``BitstreamError`` for anything this decoder cannot handle."""
        if len(data) not in (_SEQUENCE.size, _SEQUENCE.size + 1):
            raise BitstreamError(f"classic: sequence parameters of {len(data)} bytes, expected "
                                 f"{_SEQUENCE.size} or {_SEQUENCE.size + 1}")
        qp, flags, ctu_log2, min_cu_log2, intra_period, num_refs, gop_size = _SEQUENCE.unpack(
            data[:_SEQUENCE.size])
        picture_filter = data[_SEQUENCE.size] if len(data) > _SEQUENCE.size else 0
        if bool(flags & FLAG_PICTURE_FILTER) != (len(data) > _SEQUENCE.size) or (
                len(data) > _SEQUENCE.size and picture_filter == 0):
            raise BitstreamError("classic: picture-filter flag and filter id disagree")
        if qp > 51:
            raise BitstreamError(f"classic: QP {qp} outside 0..51")
        if flags >> 5:
            raise BitstreamError(f"classic: unknown tool flags {flags:#x}")
        if ctu_log2 != 6 or min_cu_log2 != 3:
            raise BitstreamError(f"classic: unsupported CTU/CU sizes 2^{ctu_log2}/2^{min_cu_log2}")
        if intra_period < 1:
            raise BitstreamError("classic: intra period 0")
        if not 1 <= num_refs <= MAX_REFS:
            raise BitstreamError(f"classic: {num_refs} reference pictures, expected 1..{MAX_REFS}")
        if not 1 <= gop_size <= MAX_GOP_SIZE:
            raise BitstreamError(f"classic: GOP size {gop_size}, expected 1..{MAX_GOP_SIZE}")
        return cls(qp, intra_period, num_refs, gop_size, bool(flags & FLAG_DEBLOCKING),
                   bool(flags & FLAG_STRONG_SMOOTHING), bool(flags & FLAG_TMVP), ctu_log2,
                   min_cu_log2, picture_filter, bool(flags & FLAG_NEURAL_INTRA))

    def picture(self, qp: int) -> PictureParams:
        """The parameters one picture of the sequence is coded with, at ``qp``."""
        return PictureParams(qp=qp, deblocking=self.deblocking,
                             strong_smoothing=self.strong_smoothing, ctu_log2=self.ctu_log2,
                             min_cu_log2=self.min_cu_log2, picture_filter=self.picture_filter,
                             neural_intra=self.neural_intra)


def pack_picture_header(inter: bool, qp: int) -> int:
    """picture_header byte: bit 7 picture type (1 = P), bits 0..5 the picture's QP."""
    return (0x80 if inter else 0) | qp


def unpack_picture_header(byte: int) -> tuple[bool, int]:
    """``(inter, qp)``; ``BitstreamError`` for a reserved bit or a QP above 51."""
    qp = byte & 0x3F
    if byte & 0x40 or qp > 51:
        raise BitstreamError(f"classic: damaged picture header {byte:#04x}")
    return bool(byte & 0x80), qp


# -------------------------------------------------------------------- merge_idx (§9.3.3.x TR)
@kernel
def encode_merge_idx(reg, out, ctx, index):
    """merge_idx: truncated unary, cMax = MaxNumMergeCand - 1; bin 0 context-coded, others bypass."""
    for i in range(MAX_MERGE_CANDIDATES - 1):
        b = 1 if index > i else 0
        reg = encode_bin(reg, out, ctx, MERGE_IDX, b) if i == 0 else encode_bypass(reg, out, b)
        if b == 0:
            break
    return reg


@kernel
def decode_merge_idx(reg, data, ctx):
    index = 0
    for i in range(MAX_MERGE_CANDIDATES - 1):
        if i == 0:
            reg, b = decode_bin(reg, data, ctx, MERGE_IDX)
        else:
            reg, b = decode_bypass(reg, data)
        if b == 0:
            break
        index += 1
    return reg, index


@kernel
def merge_idx_bits(ctx, index):
    bypass = min(index, MAX_MERGE_CANDIDATES - 2)
    return bin_cost(ctx, MERGE_IDX, 1 if index > 0 else 0) + bypass * ONE_BIT


# -------------------------------------------------------------------- ref_idx_l0
@kernel
def encode_ref_idx(reg, out, ctx, index, num_refs):
    """ref_idx_l0: truncated unary, cMax = num_refs - 1 (nothing for one reference);
    bins 0 and 1 context-coded, the others bypass."""
    for i in range(num_refs - 1):
        b = 1 if index > i else 0
        reg = encode_bin(reg, out, ctx, REF_IDX + i, b) if i < 2 else encode_bypass(reg, out, b)
        if b == 0:
            break
    return reg


@kernel
def decode_ref_idx(reg, data, ctx, num_refs):
    index = 0
    for i in range(num_refs - 1):
        if i < 2:
            reg, b = decode_bin(reg, data, ctx, REF_IDX + i)
        else:
            reg, b = decode_bypass(reg, data)
        if b == 0:
            break
        index += 1
    return reg, index


@kernel
def ref_idx_bits(ctx, index, num_refs):
    bits = 0
    for i in range(num_refs - 1):
        b = 1 if index > i else 0
        bits += bin_cost(ctx, REF_IDX + i, b) if i < 2 else ONE_BIT
        if b == 0:
            break
    return bits


# -------------------------------------------------------------------- mvd_coding (§7.3.8.9)
@kernel
def encode_mvd(reg, out, ctx, dx, dy):
    """mvd_coding: abs_mvd_greater0_flag[x, y], abs_mvd_greater1_flag[x, y] (when > 0), then
    per component abs_mvd_minus2 (EG1, bypass, when > 1) and mvd_sign_flag (bypass)."""
    ax, ay = abs(dx), abs(dy)
    reg = encode_bin(reg, out, ctx, MVD_GREATER0, 1 if ax > 0 else 0)
    reg = encode_bin(reg, out, ctx, MVD_GREATER0, 1 if ay > 0 else 0)
    if ax > 0:
        reg = encode_bin(reg, out, ctx, MVD_GREATER1, 1 if ax > 1 else 0)
    if ay > 0:
        reg = encode_bin(reg, out, ctx, MVD_GREATER1, 1 if ay > 1 else 0)
    for a, d in ((ax, dx), (ay, dy)):
        if a > 0:
            if a > 1:
                reg = encode_exp_golomb(reg, out, a - 2, 1)
            reg = encode_bypass(reg, out, 1 if d < 0 else 0)
    return reg


@kernel
def decode_mvd(reg, data, ctx):
    """Returns ``(registers, dx, dy, ok)``; ``ok`` is False for a component beyond 2^15."""
    reg, gx = decode_bin(reg, data, ctx, MVD_GREATER0)
    reg, gy = decode_bin(reg, data, ctx, MVD_GREATER0)
    hx, hy = 0, 0
    if gx:
        reg, hx = decode_bin(reg, data, ctx, MVD_GREATER1)
    if gy:
        reg, hy = decode_bin(reg, data, ctx, MVD_GREATER1)
    values = [0, 0]
    ok = True
    for c, (g, h) in enumerate(((gx, hx), (gy, hy))):
        if g:
            a = 1
            if h:
                reg, rest = decode_exp_golomb(reg, data, 1)
                if rest < 0 or rest + 2 > MAX_MVD:
                    ok = False
                    rest = 0
                a = rest + 2
            reg, sign = decode_bypass(reg, data)
            values[c] = -a if sign else a
    return reg, values[0], values[1], ok


@kernel
def exp_golomb_length(value, k):
    """Number of bins of ``value`` in the k-th order Exp-Golomb code."""
    length = 1 + k
    while value >= (1 << k):
        value -= 1 << k
        k += 1
        length += 2
    return length


@kernel
def mvd_bits(ctx, dx, dy):
    """Q15 cost of :func:`encode_mvd` from the current context states."""
    bits = 0
    for d in (dx, dy):
        a = abs(d)
        bits += bin_cost(ctx, MVD_GREATER0, 1 if a > 0 else 0)
        if a > 0:
            bits += bin_cost(ctx, MVD_GREATER1, 1 if a > 1 else 0) + ONE_BIT
            if a > 1:
                bits += exp_golomb_length(a - 2, 1) * ONE_BIT
    return bits
