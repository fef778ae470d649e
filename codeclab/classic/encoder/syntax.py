"""Writing the classic codec's syntax elements, and their exact rate for RDO.

Each element has an ``encode_*`` (bins into the CABAC encoder) and an ``*_bits`` (the
adaptive cost in bits of the same bins, contexts untouched), so a decision is costed by
the very binarisation it will be written with. Contexts and binarisations are in
:mod:`codeclab.classic.common.syntax`; parsing is :mod:`codeclab.classic.decoder.syntax`.
"""

from __future__ import annotations

from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES
from codeclab.classic.common.syntax import (CCLM_FLAG, CCLM_SYNTAX, CHROMA_MODE, MERGE_IDX, MVD_GREATER0, MVD_GREATER1, NN_INTRA_FLAG,
                                            PREV_INTRA_LUMA, REF_IDX)
from codeclab.entropy.binarization import encode_exp_golomb
from codeclab.entropy.cabac import encode_bin, encode_bypass
from codeclab.entropy.rate import ONE_BIT, bin_cost
from codeclab.kernels import kernel


# -------------------------------------------------------------------- flags
@kernel
def encode_flag(reg, out, ctx, c, flag):
    """A context-coded flag (split_cu_flag, part_mode, cbf_*)."""
    return encode_bin(reg, out, ctx, c, flag)


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
def luma_mode_bits(ctx, is_mpm, index):
    if is_mpm:
        return bin_cost(ctx, PREV_INTRA_LUMA, 1) + (1 if index == 0 else 2) * ONE_BIT
    return bin_cost(ctx, PREV_INTRA_LUMA, 0) + 5 * ONE_BIT


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
def nn_intra_bits(ctx, inc, head, head_bits):
    return bin_cost(ctx, NN_INTRA_FLAG + inc, 1 if head >= 0 else 0) + (head_bits * ONE_BIT if head >= 0 else 0)


# -------------------------------------------------------------------- chroma mode (§8.4.3)
@kernel
def encode_chroma_mode(reg, out, ctx, value, cclm):
    """cclm_flag (when the picture allows CCLM), then intra_chroma_pred_mode: 4 (DM) is the
    single bin 0; 0..3 are 1 and two bypass bits."""
    if cclm:
        reg = encode_bin(reg, out, ctx, CCLM_FLAG, 1 if value == CCLM_SYNTAX else 0)
        if value == CCLM_SYNTAX:
            return reg
    if value == 4:
        return encode_bin(reg, out, ctx, CHROMA_MODE, 0)
    reg = encode_bin(reg, out, ctx, CHROMA_MODE, 1)
    reg = encode_bypass(reg, out, value >> 1)
    return encode_bypass(reg, out, value & 1)


@kernel
def chroma_mode_bits(ctx, value, cclm):
    flag = 0
    if cclm:
        if value == CCLM_SYNTAX:
            return bin_cost(ctx, CCLM_FLAG, 1)
        flag = bin_cost(ctx, CCLM_FLAG, 0)
    if value == 4:
        return flag + bin_cost(ctx, CHROMA_MODE, 0)
    return flag + bin_cost(ctx, CHROMA_MODE, 1) + 2 * ONE_BIT


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
