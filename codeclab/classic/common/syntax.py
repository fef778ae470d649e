"""Bitstream syntax of the classic codec: parameters, contexts, syntax elements.

A still picture is a small parameter block (the container's ``params``) and one arithmetic
codeword (the ``payload``) holding the coding tree units in raster order. A sequence is a
sequence parameter block and, in the payload, one framed codeword per picture
(:mod:`~codeclab.classic.encoder.sequence`). Modelled on H.265 §7.3 with the simplifications of a single-slice,
4:2:0, 8-bit codec with one reference list::

    picture_parameters (5 or 6 bytes):  qp u8 | matrix u8 | flags u8 | ctu_log2 u8 | min_cu_log2 u8
                                        [| picture_filter u8]
        flags: bit 0 deblocking, bit 1 strong intra smoothing, bit 2 picture filter present,
               bit 4 neural intra prediction (the network modes of :mod:`~codeclab.classic.common.nnintra`)
        picture_filter: id of the in-loop filter after deblocking (:mod:`~codeclab.classic.common.tools`); when
        present the payload is ``uleb128 len | picture data | filter side information``

    sequence_parameters (8 or 9 bytes): qp u8 | flags u8 | ctu_log2 u8 | min_cu_log2 u8 |
                                        intra_period u16 | num_refs u8 | gop_size u8
                                        [| picture_filter u8]
        flags: as above, and bit 3 temporal motion vector prediction (TMVP)
        each picture: picture_header u8 = P flag (bit 7) | QP (bits 0..5), then its codeword
        (the reference lists follow from intra_period, num_refs and gop_size, :mod:`~codeclab.classic.encoder.sequence`)

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

import numpy as np

from codeclab.classic.common.cclm import CCLM_MODE
from codeclab.classic.common.nnintra import NN_MODE_BASE
from codeclab.classic.common.residual import N_CONTEXTS as RESIDUAL_CONTEXTS
from codeclab.entropy.cabac import CNU, init_contexts
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
# CCLM only (likewise).
CCLM_FLAG = NN_INTRA_FLAG + 3         # 1: cclm_flag, before intra_chroma_pred_mode
N_CONTEXTS = CCLM_FLAG + 1

#: intra_chroma_pred_mode values 0..4 (planar, vertical, horizontal, DC, DM), and the
#: value the search and the maps use for a CCLM block (cclm_flag = 1).
CCLM_SYNTAX = 5

#: Largest |mvd| component (the vector range of H.265 §7.4.9.9, 16 bits).
MAX_MVD = 1 << 15


def new_contexts(qp: int) -> np.ndarray:
    """All contexts of a picture at their initial states (CNU at ``qp``)."""
    return init_contexts(np.full(N_CONTEXTS, CNU), qp=qp)


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
    """IntraPredModeC (Table 8-2): planar, vertical, horizontal, DC, or DM; 34 replaces a duplicate;
    :data:`~codeclab.classic.common.cclm.CCLM_MODE` for a CCLM block.

    A network luma mode (:mod:`~codeclab.classic.common.nnintra`) counts as planar, as VVC's DM treats MIP blocks.
    """
    if value == CCLM_SYNTAX:
        return CCLM_MODE
    if luma_mode >= NN_MODE_BASE:
        luma_mode = 0
    if value == 4:
        return luma_mode
    mode = (0, 26, 10, 1)[value]
    return 34 if mode == luma_mode else mode


