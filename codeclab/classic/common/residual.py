"""Coding of quantized transform blocks with context-adaptive bins, as in HEVC.

ITU-T H.265 §7.3.8.11 (``residual_coding``) and §9.3.4.2.4-7 (context selection). A
block of N x N levels (N = 4 .. 32) is cut into 4 x 4 sub-blocks; positions are visited
in up-right diagonal scan order, within and across sub-blocks, *backwards* from the last
non-zero level:

1. ``last_sig_coeff_x/y``: position of the last non-zero level; a context-coded truncated
   unary prefix (interval index, ``GROUP_IDX``) and a bypass suffix.
2. Per sub-block, from the last towards DC:
   * ``coded_sub_block_flag`` (context: flags of the right and lower sub-blocks);
   * ``sig_coeff_flag`` per position (context: position in the block and in the sub-block
     and the neighbouring sub-block flags -- the HEVC ``sigCtx`` rules);
   * ``coeff_abs_level_greater1_flag`` for the first 8 non-zero levels (context: ``ctxSet``
     and how many 1s have been seen), ``coeff_abs_level_greater2_flag`` for the first
     level above 1;
   * signs (bypass), then ``coeff_abs_level_remaining`` (bypass): a prefix of at most four
     1s in units of 2^k and then either k bits or an Exp-Golomb(k + 1) code, with the Rice
     parameter k growing (up to 4) after each level above 3 * 2^k.

Simplifications against HEVC, all of which change no probability model: no sign data
hiding, transform skip or RDPCM, and every context starts at VVC's neutral ``CNU``
instead of HEVC's per-slice-type table. :data:`N_CONTEXTS` contexts are laid out as
``[sig 42 | gt1 24 | gt2 6 | csbf 4 | last x 18 | last y 18]`` (luma first, then chroma).

The block functions take and return the engine registers of :mod:`.cabac`, so the classic
codec calls them between its other syntax elements. For measurements the encoder can add
up the exact adaptive cost and record the bins: ``stats`` (float64, ``len >= 3``, or
empty to skip) gets ``[sum -log2 p, regular bins, bypass bins]`` and ``trace`` (int32,
``2 * bins`` or empty) the pairs ``(context or -1, bin)``.
"""

from __future__ import annotations

import math

import numpy as np

from codeclab.entropy.cabac import (
    CNU,
    check_finish,
    context_probability,
    decode_bin,
    decode_bypass,
    decoder_failed,
    decoder_start,
    encode_bin,
    encode_bypass,
    encoder_finish,
    encoder_start,
    init_contexts,
)
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel

# Context layout.
SIG, GT1, GT2, CSBF, LAST_X, LAST_Y = 0, 42, 66, 72, 76, 94
N_CONTEXTS = 112
#: Context of sig_coeff_flag in a 4x4 block, by raster position (H.265 Table 9-50 ctxIdxMap).
CTX_IDX_MAP = np.array([0, 1, 4, 5, 2, 3, 4, 5, 6, 6, 8, 8, 7, 7, 8, 8], dtype=np.int64)
#: Prefix (interval index) of a last position, and the first position of each interval.
GROUP_IDX = np.array([0, 1, 2, 3, 4, 4, 5, 5, 6, 6, 6, 6, 7, 7, 7, 7]
                     + [8] * 8 + [9] * 8, dtype=np.int64)
MIN_IN_GROUP = np.array([0, 1, 2, 3, 4, 6, 8, 12, 16, 24], dtype=np.int64)


def diagonal_scan(size: int) -> np.ndarray:
    """Up-right diagonal scan of a size x size array: (size^2, 2) rows of (x, y), H.265 §6.5.3."""
    order = []
    for d in range(2 * size - 1):
        for y in range(min(d, size - 1), max(0, d - size + 1) - 1, -1):
            order.append((d - y, y))
    return np.array(order, dtype=np.int64)


def new_residual_contexts(qp: int = 32) -> np.ndarray:
    """Fresh contexts for :func:`encode_block` / :func:`decode_block`."""
    return init_contexts(np.full(N_CONTEXTS, CNU), qp=qp)


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


@kernel
def _last_ctx(log2_size, chroma):
    """(ctxOffset, ctxShift) of last_sig_coeff prefixes, H.265 §9.3.4.2.3."""
    if chroma:
        return 15, log2_size - 2
    return 3 * (log2_size - 2) + ((log2_size - 1) >> 2), (log2_size + 1) >> 2


@kernel
def _sig_ctx(x, y, log2_size, chroma, prev_csbf):
    """sig_coeff_flag context increment, H.265 §9.3.4.2.5."""
    if log2_size == 2:
        sig = CTX_IDX_MAP[(y << 2) + x]
    elif x + y == 0:
        sig = 0
    else:
        xp = x & 3
        yp = y & 3
        if prev_csbf == 0:
            sig = 2 if xp + yp == 0 else (1 if xp + yp < 3 else 0)
        elif prev_csbf == 1:
            sig = 2 if yp == 0 else (1 if yp == 1 else 0)
        elif prev_csbf == 2:
            sig = 2 if xp == 0 else (1 if xp == 1 else 0)
        else:
            sig = 2
        if not chroma:
            if (x >> 2) + (y >> 2) > 0:
                sig += 3
            sig += 9 if log2_size == 3 else 21
        else:
            sig += 9 if log2_size == 3 else 12
    return SIG + (27 + sig if chroma else sig)


@kernel
def _prev_csbf(csbf, xs, ys, n_sb):
    right = csbf[ys, xs + 1] if xs + 1 < n_sb else 0
    below = csbf[ys + 1, xs] if ys + 1 < n_sb else 0
    return right + 2 * below


@kernel
def _base_level(k, first_gt1, level):
    """Smallest level that coeff_abs_level_remaining starts from, or ``level + 1`` when the
    flags already say everything (a 1, or the greater-than-2 level being 2)."""
    if k >= 8:
        return 1
    if level == 1:
        return 2
    if k == first_gt1:
        return 3
    return 2


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
def encode_block(reg, out, ctx, levels, log2_size, chroma, scan4, scan_sb, stats, trace):
    """Code one N x N block of levels (``levels[y, x]``); all-zero blocks code nothing
    (their ``cbf`` belongs to the caller). Returns the registers."""
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
    offset, shift = _last_ctx(log2_size, chroma)
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
    greater1_prev = 1  # greater1Ctx at the end of the previous sub-block
    for s in range(last_sb, -1, -1):
        xs, ys = scan_sb[s, 0], scan_sb[s, 1]
        x0, y0 = xs << 2, ys << 2
        nonzero = 0
        for n in range(16):
            nonzero += levels[y0 + scan4[n, 1], x0 + scan4[n, 0]] != 0
        prev = _prev_csbf(csbf, xs, ys, n_sb)
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
            count = 1
        for n in range(start, -1, -1):
            x, y = x0 + scan4[n, 0], y0 + scan4[n, 1]
            v = levels[y, x]
            if n == 0 and infer_dc and count == 0:
                sig = 1  # a coded sub-block with no other level: DC is inferred non-zero
            else:
                sig = 1 if v != 0 else 0
                reg = _bin(reg, out, ctx, _sig_ctx(x, y, log2_size, chroma, prev), sig, stats, trace)
            if sig:
                abs_vals[count] = abs(v)
                signs[count] = 1 if v < 0 else 0
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
        for k in range(count):
            reg = _bypass(reg, out, signs[k], stats, trace)
        # Remaining absolute levels with the adaptive Rice parameter.
        rice = 0
        for k in range(count):
            a = abs_vals[k]
            base = _base_level(k, first_gt1, a)
            if base > a:
                continue  # fully described by its flags
            reg = _encode_remaining(reg, out, a - base, rice, stats, trace)
            if a > 3 * (1 << rice):
                rice = min(rice + 1, 4)
    return reg


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
def decode_block(reg, data, ctx, levels, log2_size, chroma, scan4, scan_sb):
    """Parse one block coded by :func:`encode_block` into ``levels[y, x]``.

    Returns ``(registers, ok)``; ``ok`` is False for syntax no encoder can produce
    (a last position outside the block, an over-long Exp-Golomb code).
    """
    size = 1 << log2_size
    n_sb = size >> 2
    for y in range(size):
        for x in range(size):
            levels[y, x] = 0
    offset, shift = _last_ctx(log2_size, chroma)
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
        prev = _prev_csbf(csbf, xs, ys, n_sb)
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
                reg, sig = _dbin(reg, data, ctx, _sig_ctx(x, y, log2_size, chroma, prev))
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
        signs = 0
        for k in range(count):
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
        for k in range(count):
            n = positions[k]
            level = abs_vals[k]
            levels[y0 + scan4[n, 1], x0 + scan4[n, 0]] = -level if (signs >> k) & 1 else level
    return reg, True


# ----------------------------------------------------------------------------- whole pictures
@kernel
def _encode_blocks(blocks, log2_size, chroma, ctx, out, scan4, scan_sb, stats, trace):
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
            reg = encode_block(reg, out, ctx, block, log2_size, chroma, scan4, scan_sb, stats, trace)
    return encoder_finish(reg, out)


@kernel
def _decode_blocks(data, n_blocks, log2_size, chroma, ctx, scan4, scan_sb, blocks):
    reg = decoder_start(data)
    cbf_ctx = ctx.shape[0] - 2 + (1 if chroma else 0)
    for b in range(n_blocks):
        reg, coded = _dbin(reg, data, ctx, cbf_ctx)
        if coded:
            reg, ok = decode_block(reg, data, ctx, blocks[b], log2_size, chroma, scan4, scan_sb)
            if not ok:
                return reg, False
        else:
            blocks[b, :, :] = 0
        if decoder_failed(reg, data):
            return reg, False
    return reg, True


def _scans(log2_size: int) -> tuple[np.ndarray, np.ndarray]:
    if not 2 <= log2_size <= 5:
        raise ValueError("block sizes are 4, 8, 16 or 32")
    return diagonal_scan(4), diagonal_scan(1 << (log2_size - 2))


def encode_residuals(blocks: np.ndarray, chroma: bool = False, stats: np.ndarray | None = None,
                     trace: np.ndarray | None = None, qp: int = 32) -> bytes:
    """Code a stack of quantized blocks ``(n, N, N)`` (int) into one arithmetic codeword.

    Each block is preceded by a coded-block flag. ``stats``/``trace`` as in the module
    docstring (``trace`` needs ``2 * bins`` entries; 2 * (3 N^2 + 40) per block suffice).
    """
    blocks = np.asarray(blocks)
    if blocks.ndim != 3 or blocks.shape[1] != blocks.shape[2]:
        raise ValueError("blocks must have shape (n, N, N)")
    if blocks.size and np.abs(blocks.astype(np.int64)).max() >= 1 << 30:
        raise ValueError("levels must lie within +-2^30")
    blocks = np.ascontiguousarray(blocks, dtype=np.int32)
    log2_size = int(blocks.shape[1]).bit_length() - 1
    scan4, scan_sb = _scans(log2_size)
    stats = np.zeros(0) if stats is None else stats
    trace = np.zeros(0, dtype=np.int32) if trace is None else trace
    if trace.size and stats.size < 3:
        raise ValueError("a trace needs stats")
    capacity = blocks.size + 64  # typical pictures need far less than a byte per level
    while True:
        ctx = np.concatenate([new_residual_contexts(qp), init_contexts([CNU, CNU], qp=qp)])
        out = np.empty(capacity, dtype=np.uint8)
        stats[:] = 0
        size = int(_encode_blocks(blocks, log2_size, bool(chroma), ctx, out, scan4, scan_sb, stats, trace))
        if size <= capacity:
            return out[:size].tobytes()
        capacity = 2 * size  # the buffer was too small (nothing was written past it): redo


def decode_residuals(data, n_blocks: int, size: int, chroma: bool = False, qp: int = 32) -> np.ndarray:
    """Inverse of :func:`encode_residuals`; raises ``BitstreamError`` on damaged data."""
    from codeclab.entropy.cabac import as_byte_array

    data = as_byte_array(data)
    log2_size = int(size).bit_length() - 1
    if 1 << log2_size != size:
        raise ValueError("block size must be a power of two")
    scan4, scan_sb = _scans(log2_size)
    ctx = np.concatenate([new_residual_contexts(qp), init_contexts([CNU, CNU], qp=qp)])
    blocks = np.empty((int(n_blocks), size, size), dtype=np.int32)
    reg, ok = _decode_blocks(data, int(n_blocks), log2_size, bool(chroma), ctx, scan4, scan_sb, blocks)
    if not ok:
        raise BitstreamError("residual data is damaged")
    check_finish(reg, data)
    return blocks
