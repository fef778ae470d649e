"""Parsing quantized transform blocks (H.265 §7.3.8.11): the decoder half of residual coding.

The mirror of :mod:`codeclab.classic.encoder.residual`, bin for bin, over the contexts of
:mod:`codeclab.classic.common.residual`; a damaged codeword raises ``BitstreamError``.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.residual import (CSBF, GT1, GT2, LAST_X, LAST_Y, MIN_IN_GROUP, SIGN_HIDING_DISTANCE,
                                              csbf_pattern,
                                              last_ctx, new_residual_contexts, scan_tables, sig_ctx)
from codeclab.entropy.cabac import (CNU, check_finish, decode_bin, decode_bypass, decoder_failed,
                                    decoder_start, init_contexts)
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel


# ----------------------------------------------------------------------------- decoder
# One compiled copy of each engine call, shared by the parser's many call sites: this keeps
# numba's compile time low (the engine functions are otherwise inlined at every site).
@kernel
def _dbin(reg, data, ctx, c):
    return decode_bin(reg, data, ctx, c)


@kernel
def _dbypass(reg, data):
    return decode_bypass(reg, data)


@kernel
def _decode_last(reg, data, ctx, base, offset, shift, log2_size):
    c_max = (log2_size << 1) - 1
    prefix = 0
    while prefix < c_max:
        reg, b = _dbin(reg, data, ctx, base + offset + (prefix >> shift))
        if b == 0:
            break
        prefix += 1
    return reg, prefix


@kernel
def _decode_remaining(reg, data, rice):
    """Inverse of :func:`_encode_remaining`; -1 for an over-long Exp-Golomb prefix."""
    prefix = 0
    while prefix < 4:
        reg, b = _dbypass(reg, data)
        if b == 0:
            break
        prefix += 1
    if prefix < 4:
        value = prefix
        for _ in range(rice):
            reg, b = _dbypass(reg, data)
            value = (value << 1) | b
        return reg, value
    v = 0
    k = rice + 1
    while True:
        reg, b = _dbypass(reg, data)
        if b == 0:
            break
        v += 1 << k
        k += 1
        if k > 32:
            return reg, -1
    suffix = 0
    for _ in range(k):
        reg, b = _dbypass(reg, data)
        suffix = (suffix << 1) | b
    return reg, (4 << rice) + v + suffix


@kernel
def _decode_last_suffix(reg, data, group):
    value = MIN_IN_GROUP[group]
    if group > 3:
        suffix = 0
        for _ in range((group >> 1) - 1):
            reg, b = _dbypass(reg, data)
            suffix = (suffix << 1) | b
        value += suffix
    return reg, value


@kernel
def decode_block(reg, data, ctx, levels, log2_size, chroma, scan4, scan_sb, sign_hiding):
    """Parse one block coded by :func:`encode_block` into ``levels[y, x]``; with
    ``sign_hiding``, a qualifying sub-block's first sign is its magnitudes' parity.

    Returns ``(registers, ok)``; ``ok`` is False for syntax no encoder can produce
    (a last position outside the block, an over-long Exp-Golomb code).
    """
    size = 1 << log2_size
    n_sb = size >> 2
    for y in range(size):
        for x in range(size):
            levels[y, x] = 0
    offset, shift = last_ctx(log2_size, chroma)
    reg, gx = _decode_last(reg, data, ctx, LAST_X, offset, shift, log2_size)
    reg, gy = _decode_last(reg, data, ctx, LAST_Y, offset, shift, log2_size)
    reg, last_x = _decode_last_suffix(reg, data, gx)
    reg, last_y = _decode_last_suffix(reg, data, gy)
    if last_x >= size or last_y >= size:
        return reg, False
    # Where the last position lies in the scan.
    last_sb, last_n = -1, -1
    for s in range(n_sb * n_sb):
        if scan_sb[s, 0] == last_x >> 2 and scan_sb[s, 1] == last_y >> 2:
            last_sb = s
    for n in range(16):
        if scan4[n, 0] == (last_x & 3) and scan4[n, 1] == (last_y & 3):
            last_n = n

    csbf = np.zeros((n_sb, n_sb), dtype=np.int64)
    positions = np.empty(16, dtype=np.int64)  # scan index of each non-zero level
    abs_vals = np.empty(16, dtype=np.int64)
    greater1_prev = 1
    for s in range(last_sb, -1, -1):
        if decoder_failed(reg, data):
            return reg, False
        xs, ys = scan_sb[s, 0], scan_sb[s, 1]
        x0, y0 = xs << 2, ys << 2
        prev = csbf_pattern(csbf, xs, ys, n_sb)
        infer_dc = False
        if 0 < s < last_sb:
            reg, flag = _dbin(reg, data, ctx, CSBF + (2 if chroma else 0) + min(prev, 1))
            csbf[ys, xs] = flag
            infer_dc = True
        else:
            csbf[ys, xs] = 1
        if csbf[ys, xs] == 0:
            continue
        count = 0
        start = last_n - 1 if s == last_sb else 15
        if s == last_sb:
            positions[0] = last_n
            count = 1
        for n in range(start, -1, -1):
            x, y = x0 + scan4[n, 0], y0 + scan4[n, 1]
            if n == 0 and infer_dc and count == 0:
                sig = 1
            else:
                reg, sig = _dbin(reg, data, ctx, sig_ctx(x, y, log2_size, chroma, prev))
            if sig:
                positions[count] = n
                count += 1
        ctx_set = 0 if (s == 0 or chroma) else 2
        if s != last_sb and greater1_prev == 0:
            ctx_set += 1
        greater1 = 1
        first_gt1 = -1
        for k in range(count):
            abs_vals[k] = 1
        for k in range(min(count, 8)):
            c = GT1 + (16 if chroma else 0) + ctx_set * 4 + greater1
            reg, flag = _dbin(reg, data, ctx, c)
            if flag:
                abs_vals[k] = 2
                greater1 = 0
                if first_gt1 < 0:
                    first_gt1 = k
            elif greater1 > 0 and greater1 < 3:
                greater1 += 1
        greater1_prev = greater1
        if first_gt1 >= 0:
            reg, flag = _dbin(reg, data, ctx, GT2 + (4 if chroma else 0) + ctx_set)
            abs_vals[first_gt1] += flag
        hidden = sign_hiding and positions[0] - positions[count - 1] >= SIGN_HIDING_DISTANCE
        signs = 0
        for k in range(count - 1 if hidden else count):
            reg, b = _dbypass(reg, data)
            signs |= b << k
        rice = 0
        for k in range(count):
            if k < 8 and (abs_vals[k] == 1 or (k == first_gt1 and abs_vals[k] == 2)):
                continue  # fully described by its flags
            base = 1 if k >= 8 else (3 if k == first_gt1 else 2)
            reg, remaining = _decode_remaining(reg, data, rice)
            if remaining < 0:
                return reg, False
            abs_vals[k] = base + remaining
            if abs_vals[k] > 3 * (1 << rice):
                rice = min(rice + 1, 4)
        if hidden:
            total = 0
            for k in range(count):
                total += abs_vals[k]
            signs |= (total & 1) << (count - 1)  # odd: the first level is negative
        for k in range(count):
            n = positions[k]
            level = abs_vals[k]
            levels[y0 + scan4[n, 1], x0 + scan4[n, 0]] = -level if (signs >> k) & 1 else level
    return reg, True


@kernel
def _decode_blocks(data, n_blocks, log2_size, chroma, ctx, scan4, scan_sb, sign_hiding, blocks):
    reg = decoder_start(data)
    cbf_ctx = ctx.shape[0] - 2 + (1 if chroma else 0)
    for b in range(n_blocks):
        reg, coded = _dbin(reg, data, ctx, cbf_ctx)
        if coded:
            reg, ok = decode_block(reg, data, ctx, blocks[b], log2_size, chroma, scan4, scan_sb, sign_hiding)
            if not ok:
                return reg, False
        else:
            blocks[b, :, :] = 0
        if decoder_failed(reg, data):
            return reg, False
    return reg, True


def decode_residuals(data, n_blocks: int, size: int, chroma: bool = False, qp: int = 32,
                     sign_hiding: bool = False) -> np.ndarray:
    """Inverse of :func:`encode_residuals`; raises ``BitstreamError`` on damaged data."""
    from codeclab.entropy.bin_coder import as_byte_array

    data = as_byte_array(data)
    log2_size = int(size).bit_length() - 1
    if 1 << log2_size != size:
        raise ValueError("block size must be a power of two")
    scan4, scan_sb = scan_tables(log2_size)
    ctx = np.concatenate([new_residual_contexts(qp), init_contexts([CNU, CNU], qp=qp)])
    blocks = np.empty((int(n_blocks), size, size), dtype=np.int32)
    reg, ok = _decode_blocks(data, int(n_blocks), log2_size, bool(chroma), ctx, scan4, scan_sb, bool(sign_hiding),
                             blocks)
    if not ok:
        raise BitstreamError("residual data is damaged")
    check_finish(reg, data)
    return blocks
