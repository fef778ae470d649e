"""Parsing the classic codec's syntax elements: the mirror of :mod:`codeclab.classic.encoder.syntax`.

Each ``decode_*`` reads the bins its ``encode_*`` wrote, with the contexts and
binarisations of :mod:`codeclab.classic.common.syntax`; values outside their range raise
nothing here but come back flagged, and the picture decoder turns them into
``BitstreamError``.
"""

from __future__ import annotations

from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES
from codeclab.classic.common.syntax import (CCLM_FLAG, CCLM_SYNTAX, CHROMA_MODE, MAX_MVD, MERGE_IDX, MVD_GREATER0, MVD_GREATER1,
                                            NN_INTRA_FLAG, PREV_INTRA_LUMA, REF_IDX)
from codeclab.entropy.binarization import decode_exp_golomb
from codeclab.entropy.cabac import decode_bin, decode_bypass
from codeclab.kernels import kernel


@kernel
def decode_flag(reg, data, ctx, c):
    return decode_bin(reg, data, ctx, c)


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
def decode_chroma_mode(reg, data, ctx, cclm):
    """[cclm_flag when the picture allows CCLM,] then intra_chroma_pred_mode."""
    if cclm:
        reg, flag = decode_bin(reg, data, ctx, CCLM_FLAG)
        if flag:
            return reg, CCLM_SYNTAX
    reg, b = decode_bin(reg, data, ctx, CHROMA_MODE)
    if b == 0:
        return reg, 4
    reg, hi = decode_bypass(reg, data)
    reg, lo = decode_bypass(reg, data)
    return reg, 2 * hi + lo


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
