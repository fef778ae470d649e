"""Writing quantized transform blocks (H.265 §7.3.8.11): the encoder half of residual coding.

The syntax and its contexts are :mod:`codeclab.classic.common.residual`'s; these functions
emit the bins with the CABAC encoder and, for RDO, can add up their exact adaptive cost
(``stats``) or record them (``trace``).
"""

from __future__ import annotations

import math

import numpy as np

from codeclab.classic.common.residual import (CSBF, GROUP_IDX, GT1, GT2, LAST_X, LAST_Y, MIN_IN_GROUP, SIGN_HIDING_DISTANCE,
                                              base_level, csbf_pattern, last_ctx, new_residual_contexts,
                                              scan_tables, sig_ctx)
from codeclab.entropy.cabac import (CNU, context_probability, encode_bin, encode_bypass, encoder_finish,
                                    encoder_start, init_contexts)
from codeclab.kernels import kernel


# ----------------------------------------------------------------------------- helpers
# Like _dbin/_dbypass below: one compiled copy of each engine call (plus the optional
# accounting), called from every site, keeps numba's compile time low.
@kernel
def _bin(reg, out, ctx, c, b, stats, trace):
    if stats.shape[0]:
        p_one = context_probability(ctx, c) / 32768.0
        stats[0] -= math.log2(p_one if b else 1.0 - p_one)
        stats[1] += 1
        if trace.shape[0]:
            k = int(stats[1] + stats[2]) - 1
            trace[2 * k] = c
            trace[2 * k + 1] = b
    return encode_bin(reg, out, ctx, c, b)


@kernel
def _bypass(reg, out, b, stats, trace):
    if stats.shape[0]:
        stats[0] += 1.0
        stats[2] += 1
        if trace.shape[0]:
            k = int(stats[1] + stats[2]) - 1
            trace[2 * k] = -1
            trace[2 * k + 1] = b
    return encode_bypass(reg, out, b)


# ----------------------------------------------------------------------------- encoder
@kernel
def _encode_last(reg, out, ctx, pos, base, offset, shift, log2_size, stats, trace):
    prefix = GROUP_IDX[pos]
    c_max = (log2_size << 1) - 1
    for i in range(prefix):
        reg = _bin(reg, out, ctx, base + offset + (i >> shift), 1, stats, trace)
    if prefix < c_max:
        reg = _bin(reg, out, ctx, base + offset + (prefix >> shift), 0, stats, trace)
    return reg


@kernel
def _encode_remaining(reg, out, value, rice, stats, trace):
    """coeff_abs_level_remaining, H.265 §9.3.3.11 (prefix cMax 4, then FL or EG(k+1))."""
    prefix = value >> rice
    if prefix < 4:
        for _ in range(prefix):
            reg = _bypass(reg, out, 1, stats, trace)
        reg = _bypass(reg, out, 0, stats, trace)
        for i in range(rice - 1, -1, -1):
            reg = _bypass(reg, out, (value >> i) & 1, stats, trace)
        return reg
    for _ in range(4):
        reg = _bypass(reg, out, 1, stats, trace)
    v = value - (4 << rice)
    k = rice + 1
    while v >= (1 << k):
        reg = _bypass(reg, out, 1, stats, trace)
        v -= 1 << k
        k += 1
    reg = _bypass(reg, out, 0, stats, trace)
    for i in range(k - 1, -1, -1):
        reg = _bypass(reg, out, (v >> i) & 1, stats, trace)
    return reg


@kernel
def encode_block(reg, out, ctx, levels, log2_size, chroma, scan4, scan_sb, sign_hiding, stats, trace):
    """Code one N x N block of levels (``levels[y, x]``); all-zero blocks code nothing
    (their ``cbf`` belongs to the caller). With ``sign_hiding`` a sub-block that qualifies
    (:data:`~codeclab.classic.common.residual.SIGN_HIDING_DISTANCE`) codes no sign for its
    first level: its levels must already carry it in their parity (:func:`hide_signs`).
    Returns the registers."""
    size = 1 << log2_size
    n_sb = size >> 2
    # Last significant position in scan order.
    last_sb, last_n = -1, -1
    for s in range(n_sb * n_sb - 1, -1, -1):
        xs, ys = scan_sb[s, 0], scan_sb[s, 1]
        for n in range(15, -1, -1):
            if levels[(ys << 2) + scan4[n, 1], (xs << 2) + scan4[n, 0]] != 0:
                last_sb, last_n = s, n
                break
        if last_sb >= 0:
            break
    if last_sb < 0:
        return reg
    last_x = (scan_sb[last_sb, 0] << 2) + scan4[last_n, 0]
    last_y = (scan_sb[last_sb, 1] << 2) + scan4[last_n, 1]
    offset, shift = last_ctx(log2_size, chroma)
    reg = _encode_last(reg, out, ctx, last_x, LAST_X, offset, shift, log2_size, stats, trace)
    reg = _encode_last(reg, out, ctx, last_y, LAST_Y, offset, shift, log2_size, stats, trace)
    for v in (last_x, last_y):
        g = GROUP_IDX[v]
        if g > 3:
            nbits = (g >> 1) - 1
            suffix = v - MIN_IN_GROUP[g]
            for i in range(nbits - 1, -1, -1):
                reg = _bypass(reg, out, (suffix >> i) & 1, stats, trace)

    csbf = np.zeros((n_sb, n_sb), dtype=np.int64)
    abs_vals = np.empty(16, dtype=np.int64)
    signs = np.empty(16, dtype=np.int64)
    positions = np.empty(16, dtype=np.int64)  # scan index of each non-zero level
    greater1_prev = 1  # greater1Ctx at the end of the previous sub-block
    for s in range(last_sb, -1, -1):
        xs, ys = scan_sb[s, 0], scan_sb[s, 1]
        x0, y0 = xs << 2, ys << 2
        nonzero = 0
        for n in range(16):
            nonzero += levels[y0 + scan4[n, 1], x0 + scan4[n, 0]] != 0
        prev = csbf_pattern(csbf, xs, ys, n_sb)
        infer_dc = False
        if 0 < s < last_sb:
            flag = 1 if nonzero else 0
            c = CSBF + (2 if chroma else 0) + min(prev, 1)
            reg = _bin(reg, out, ctx, c, flag, stats, trace)
            csbf[ys, xs] = flag
            infer_dc = True
        else:
            csbf[ys, xs] = 1
        if csbf[ys, xs] == 0:
            continue
        # Significance, from the position below the last (or 15) down to 0.
        count = 0
        start = last_n - 1 if s == last_sb else 15
        if s == last_sb:
            v = levels[y0 + scan4[last_n, 1], x0 + scan4[last_n, 0]]
            abs_vals[0] = abs(v)
            signs[0] = 1 if v < 0 else 0
            positions[0] = last_n
            count = 1
        for n in range(start, -1, -1):
            x, y = x0 + scan4[n, 0], y0 + scan4[n, 1]
            v = levels[y, x]
            if n == 0 and infer_dc and count == 0:
                sig = 1  # a coded sub-block with no other level: DC is inferred non-zero
            else:
                sig = 1 if v != 0 else 0
                reg = _bin(reg, out, ctx, sig_ctx(x, y, log2_size, chroma, prev), sig, stats, trace)
            if sig:
                abs_vals[count] = abs(v)
                signs[count] = 1 if v < 0 else 0
                positions[count] = n
                count += 1
        # Greater-than-1 and greater-than-2 flags.
        ctx_set = 0 if (s == 0 or chroma) else 2
        if s != last_sb and greater1_prev == 0:
            ctx_set += 1
        greater1 = 1
        first_gt1 = -1
        for k in range(min(count, 8)):
            flag = 1 if abs_vals[k] > 1 else 0
            c = GT1 + (16 if chroma else 0) + ctx_set * 4 + greater1
            reg = _bin(reg, out, ctx, c, flag, stats, trace)
            if flag:
                greater1 = 0
                if first_gt1 < 0:
                    first_gt1 = k
            elif greater1 > 0 and greater1 < 3:
                greater1 += 1
        greater1_prev = greater1
        if first_gt1 >= 0:
            flag = 1 if abs_vals[first_gt1] > 2 else 0
            reg = _bin(reg, out, ctx, GT2 + (4 if chroma else 0) + ctx_set, flag, stats, trace)
        hidden = sign_hiding and positions[0] - positions[count - 1] >= SIGN_HIDING_DISTANCE
        for k in range(count - 1 if hidden else count):
            reg = _bypass(reg, out, signs[k], stats, trace)
        # Remaining absolute levels with the adaptive Rice parameter.
        rice = 0
        for k in range(count):
            a = abs_vals[k]
            base = base_level(k, first_gt1, a)
            if base > a:
                continue  # fully described by its flags
            reg = _encode_remaining(reg, out, a - base, rice, stats, trace)
            if a > 3 * (1 << rice):
                rice = min(rice + 1, 4)
    return reg


# ----------------------------------------------------------------------------- whole pictures
@kernel
def _encode_blocks(blocks, log2_size, chroma, ctx, out, scan4, scan_sb, sign_hiding, stats, trace):
    """Every block: a coded-block flag (context 0 of a private pair) then its levels."""
    reg = encoder_start()
    cbf_ctx = ctx.shape[0] - 2 + (1 if chroma else 0)
    for b in range(blocks.shape[0]):
        block = blocks[b]
        coded = 0
        for v in block.ravel():
            if v != 0:
                coded = 1
                break
        reg = _bin(reg, out, ctx, cbf_ctx, coded, stats, trace)
        if coded:
            reg = encode_block(reg, out, ctx, block, log2_size, chroma, scan4, scan_sb, sign_hiding, stats,
                               trace)
    return encoder_finish(reg, out)


def encode_residuals(blocks: np.ndarray, chroma: bool = False, stats: np.ndarray | None = None,
                     trace: np.ndarray | None = None, qp: int = 32, sign_hiding: bool = False) -> bytes:
    """Code a stack of quantized blocks ``(n, N, N)`` (int) into one arithmetic codeword.

    Each block is preceded by a coded-block flag. With ``sign_hiding`` the blocks must carry
    their hidden signs in their parities (:func:`codeclab.classic.encoder.analysis.hide_signs`). ``stats``/``trace`` as in the module
    docstring (``trace`` needs ``2 * bins`` entries; 2 * (3 N^2 + 40) per block suffice).
    """
    blocks = np.asarray(blocks)
    if blocks.ndim != 3 or blocks.shape[1] != blocks.shape[2]:
        raise ValueError("blocks must have shape (n, N, N)")
    if blocks.size and np.abs(blocks.astype(np.int64)).max() >= 1 << 30:
        raise ValueError("levels must lie within +-2^30")
    blocks = np.ascontiguousarray(blocks, dtype=np.int32)
    log2_size = int(blocks.shape[1]).bit_length() - 1
    scan4, scan_sb = scan_tables(log2_size)
    stats = np.zeros(0) if stats is None else stats
    trace = np.zeros(0, dtype=np.int32) if trace is None else trace
    if trace.size and stats.size < 3:
        raise ValueError("a trace needs stats")
    capacity = blocks.size + 64  # typical pictures need far less than a byte per level
    while True:
        ctx = np.concatenate([new_residual_contexts(qp), init_contexts([CNU, CNU], qp=qp)])
        out = np.empty(capacity, dtype=np.uint8)
        stats[:] = 0
        size = int(_encode_blocks(blocks, log2_size, bool(chroma), ctx, out, scan4, scan_sb, bool(sign_hiding), stats,
                                  trace))
        if size <= capacity:
            return out[:size].tobytes()
        capacity = 2 * size  # the buffer was too small (nothing was written past it): redo
