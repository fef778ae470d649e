"""Rate-distortion optimised quantisation (RDOQ): each level chosen for ``D + lambda R``.

The dead-zone quantiser (:func:`~codeclab.classic.encoder.analysis.quantize`) rounds every
coefficient by the same rule, blind to what the level costs to code. RDOQ (Karczewicz et
al., "Rate distortion optimized quantization", VCEG-AH21, 2008; HM's
``TComTrQuant::xRateDistOptQuant``) picks, per coefficient, among the nearest level, the one
below it and zero, the level of least

    J(l) = (u - l)^2 step^2 + lambda R(l)

with ``u = |c| quantScale / 2^qBits`` the unrounded level and ``step = 2^qBits / (quantScale
2^tShift)`` the quantiser's step in the samples' domain (the core transform is orthonormal
up to ``2^tShift``, ``tShift = 15 - B - log2 n``, so squared errors carry over: Parseval).
``R(l)`` is estimated from the contexts as they stand at the start of the CTU, bin by bin
as :mod:`codeclab.classic.encoder.residual` will code them: ``sig_coeff_flag`` with its
position's context, ``greater1`` and ``greater2`` flags with the sub-block's context set, a
sign, and the Rice/Exp-Golomb remainder at the Rice parameter of the sub-block so far. The
decisions are made in reverse scan order, as the coder walks the block, so the greater1
state and the Rice parameter follow the levels already chosen. Then the block's end: the
last position of least total cost (the levels after it zeroed, ``last_sig_coeff_x/y``
costed), or no level at all.

With sign data hiding on, the parity of each qualifying sub-block is fixed here too, by the
move of least estimated ``Delta J`` (:func:`fix_parity`), as HM does inside its RDOQ: the
distortion-only fix of :func:`~codeclab.classic.encoder.analysis.hide_signs` would undo
much of what the rate terms chose.

Encoder-only: the decoder reads whatever levels it gets, so RDOQ needs no flag in the
stream, and the reconstruction stays the decoder's own.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.reconstruct import QUANT_SCALE
from codeclab.classic.common.residual import GROUP_IDX, GT1, GT2, LAST_X, LAST_Y, last_ctx, sig_ctx
from codeclab.classic.encoder.analysis import parity_to_fix
from codeclab.entropy.rate import ONE_BIT, bin_cost
from codeclab.kernels import kernel

#: Coefficients whose level may reach this are left to the dead-zone quantiser's choice.
MAX_RDOQ_LEVEL = 1 << 14


@kernel
def remainder_bits(value, rice):
    """Bits of ``coeff_abs_level_remaining = value`` at Rice parameter ``rice``, as
    :func:`codeclab.classic.encoder.residual._encode_remaining` writes it (H.265 §9.3.3.11):
    a unary prefix of ``value >> rice`` (cMax 4) and ``rice`` suffix bits, or four 1s and
    Exp-Golomb of order ``rice + 1`` on ``value - 4 2^rice``."""
    if value >> rice < 4:
        return (value >> rice) + 1 + rice
    rest = value - (4 << rice)
    k = rice + 1
    ones = 0
    while rest >= (1 << k):
        rest -= 1 << k
        k += 1
        ones += 1
    return 4 + ones + 1 + k


@kernel
def level_bits(ctx, level, sig_c, gt1_c, gt2_c, k, gt2_free, rice, coded_sig):
    """Estimated bits of one level (0 included), the ``k``-th non-zero of its sub-block;
    ``gt2_free``: no earlier level of the sub-block used its greater2 flag."""
    if level == 0:
        return bin_cost(ctx, sig_c, 0) / ONE_BIT if coded_sig else 0.0
    bits = (bin_cost(ctx, sig_c, 1) / ONE_BIT if coded_sig else 0.0) + 1.0  # sig, sign
    if k >= 8:
        return bits + remainder_bits(level - 1, rice)
    bits += bin_cost(ctx, gt1_c, 1 if level > 1 else 0) / ONE_BIT
    if level > 1 and gt2_free:
        bits += bin_cost(ctx, gt2_c, 1 if level > 2 else 0) / ONE_BIT
        if level > 2:
            bits += remainder_bits(level - 3, rice)
    elif level > 1:
        bits += remainder_bits(level - 2, rice)
    return bits


@kernel
def last_bits(ctx, x, y, log2n, chroma):
    """Bits of ``last_sig_coeff_x/y`` at (x, y): context-coded unary prefixes, bypass suffixes."""
    offset, shift = last_ctx(log2n, chroma)
    c_max = (log2n << 1) - 1
    bits = 0.0
    for base, pos in ((LAST_X, x), (LAST_Y, y)):
        prefix = GROUP_IDX[pos]
        for i in range(prefix):
            bits += bin_cost(ctx, base + offset + (i >> shift), 1) / ONE_BIT
        if prefix < c_max:
            bits += bin_cost(ctx, base + offset + (prefix >> shift), 0) / ONE_BIT
        if prefix > 3:
            bits += (prefix >> 1) - 1
    return bits


@kernel
def rdoq(coeffs, levels, n, qp, bit_depth, lam, ctx, chroma, scan4, scan_sb, sign_hiding):
    """Re-decide the levels of ``coeffs[:n, :n]`` (already dead-zone quantised in ``levels``)
    by estimated RD cost; returns the number of non-zero levels. With ``sign_hiding`` the
    parity of each qualifying sub-block is then fixed at the least *RD* cost (the rate
    deltas of the decisions, as HM does inside its RDOQ), instead of
    :func:`~codeclab.classic.encoder.analysis.hide_signs`'s distortion-only choice."""
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    q_bits = 14 + qp // 6 + 15 - bit_depth - log2n
    scale = QUANT_SCALE[qp % 6]
    t_shift = 15 - bit_depth - log2n
    step = 2.0 ** q_bits / (scale * 2.0 ** t_shift)
    weight = step * step
    n_sb = n >> 2
    # The last non-zero position of the dead-zone levels bounds the coded region.
    last_sb, last_k = -1, -1
    for s in range(n_sb * n_sb - 1, -1, -1):
        x0, y0 = scan_sb[s, 0] << 2, scan_sb[s, 1] << 2
        for k in range(15, -1, -1):
            if levels[y0 + scan4[k, 1], x0 + scan4[k, 0]] != 0:
                last_sb, last_k = s, k
                break
        if last_sb >= 0:
            break
    if last_sb < 0:
        return 0
    csbf = np.zeros((n_sb, n_sb), np.int64)
    for s in range(n_sb * n_sb):
        x0, y0 = scan_sb[s, 0] << 2, scan_sb[s, 1] << 2
        for k in range(16):
            if levels[y0 + scan4[k, 1], x0 + scan4[k, 0]] != 0:
                csbf[scan_sb[s, 1], scan_sb[s, 0]] = 1
    total = n * n
    keep_cost = np.zeros(total)   # D + lambda R of the level decided at each scan position
    zero_dist = np.zeros(total)   # D if the position ends up after the last
    sig_one = np.zeros(total)     # lambda R(sig = 1) there (not coded at the last position)
    up_cost = np.full(total, 1e300)    # J(level + 1) - J(level)
    down_cost = np.full(total, 1e300)  # J(level - 1) - J(level)
    nonzero = 0
    greater1_prev = 1
    for s in range(last_sb, -1, -1):
        xs, ys = scan_sb[s, 0], scan_sb[s, 1]
        x0, y0 = xs << 2, ys << 2
        right = csbf[ys, xs + 1] if xs + 1 < n_sb else 0
        below = csbf[ys + 1, xs] if ys + 1 < n_sb else 0
        prev = right + 2 * below
        ctx_set = 0 if (s == 0 or chroma) else 2
        if s != last_sb and greater1_prev == 0:
            ctx_set += 1
        greater1 = 1
        count = 0
        rice = 0
        first_gt1 = True
        start = last_k if s == last_sb else 15
        for k in range(start, -1, -1):
            x, y = x0 + scan4[k, 0], y0 + scan4[k, 1]
            c = np.int64(coeffs[y, x])
            u = abs(c) * scale / 2.0 ** q_bits
            nearest = np.int64(u + 0.5)
            g = s * 16 + k
            zero_dist[g] = u * u * weight
            sig_c = sig_ctx(x, y, log2n, chroma, prev)
            coded_sig = not (s == last_sb and k == last_k)  # the last position is implied
            sig_one[g] = lam * bin_cost(ctx, sig_c, 1) / ONE_BIT
            keep_cost[g] = zero_dist[g] + lam * bin_cost(ctx, sig_c, 0) / ONE_BIT
            gt1_c = GT1 + (16 if chroma else 0) + ctx_set * 4 + greater1
            gt2_c = GT2 + (4 if chroma else 0) + ctx_set
            if nearest == 0 or nearest >= MAX_RDOQ_LEVEL:
                level = abs(np.int64(levels[y, x])) if nearest >= MAX_RDOQ_LEVEL else 0
                if level:
                    keep_cost[g] = 0.0  # out of the model's range: kept as quantised
                else:
                    err = u - 1.0
                    up_cost[g] = err * err * weight + lam * level_bits(ctx, 1, sig_c, gt1_c, gt2_c, count,
                                                                       first_gt1, rice, True) - keep_cost[g]
            else:
                level, best = 0, 1e300
                low = nearest - 1 if nearest > 1 else (0 if coded_sig else 1)
                for candidate in range(low, nearest + 1):
                    err = u - candidate
                    cost = err * err * weight + lam * level_bits(ctx, candidate, sig_c, gt1_c, gt2_c, count,
                                                                 first_gt1, rice, coded_sig)
                    if cost < best:
                        best, level = cost, candidate
                keep_cost[g] = best + (0.0 if coded_sig or level == 0 else sig_one[g])
                for step in (-1, 1):
                    other = level + step
                    if other < 0 or other >= MAX_RDOQ_LEVEL or (other == 0 and not coded_sig):
                        continue
                    err = u - other
                    delta = err * err * weight + lam * level_bits(ctx, other, sig_c, gt1_c, gt2_c, count, first_gt1,
                                                                  rice, True) - (best + (0.0 if coded_sig or level == 0
                                                                                         else sig_one[g]))
                    if step > 0:
                        up_cost[g] = delta
                    else:
                        down_cost[g] = delta
            levels[y, x] = -level if c < 0 else level
            if level:
                nonzero += 1
                remainder = count >= 8 or (level > 2 if first_gt1 else level > 1)
                if count < 8:
                    if level > 1:
                        greater1 = 0
                        first_gt1 = False
                    elif 0 < greater1 < 3:
                        greater1 += 1
                if remainder and level > 3 * (1 << rice):  # as the writer adapts it
                    rice = min(rice + 1, 4)
                count += 1
        greater1_prev = greater1
    if nonzero == 0:
        return 0
    # Where to end the block: the non-zero position p of least
    #   sum_{g < p} keep + (keep_p - lambda R(sig_p)) + lambda R(last = p) + sum_{g > p} zero-D,
    # or nowhere (every level zero: the cost of the zero-D of all).
    end = last_sb * 16 + last_k
    before = 0.0
    for g in range(end):
        before += keep_cost[g]
    after = 0.0
    best_cost = 0.0
    for g in range(end + 1):
        best_cost += zero_dist[g]
    best_end = -1
    for p in range(end, -1, -1):
        x = (scan_sb[p >> 4, 0] << 2) + scan4[p & 15, 0]
        y = (scan_sb[p >> 4, 1] << 2) + scan4[p & 15, 1]
        if levels[y, x] != 0:
            cost = before + keep_cost[p] - sig_one[p] + lam * last_bits(ctx, x, y, log2n, chroma) + after
            if cost < best_cost:
                best_cost, best_end = cost, p
        if p > 0:
            before -= keep_cost[p - 1]
        after += zero_dist[p]
    for p in range(best_end + 1, end + 1):
        x = (scan_sb[p >> 4, 0] << 2) + scan4[p & 15, 0]
        y = (scan_sb[p >> 4, 1] << 2) + scan4[p & 15, 1]
        if levels[y, x] != 0:
            levels[y, x] = 0
            nonzero -= 1
    if sign_hiding:
        for s in range(best_end // 16 + 1 if best_end >= 0 else 0):
            nonzero += fix_parity(coeffs, levels, s, scan4, scan_sb, up_cost, down_cost, best_end)
    return nonzero


@kernel
def fix_parity(coeffs, levels, s, scan4, scan_sb, up_cost, down_cost, end):
    """Sign hiding's parity rule for sub-block ``s`` at the least RD cost; positions after the
    block's ``end`` may not change. Returns the change in the count of non-zero levels."""
    x0, y0 = scan_sb[s, 0] << 2, scan_sb[s, 1] << 2
    first, negative = parity_to_fix(levels, x0, y0, scan4)
    if first < 0:
        return 0
    best, best_k, best_step = 1e300, -1, 0
    for k in range(16):
        g = s * 16 + k
        if g > end:
            break
        y, x = y0 + scan4[k, 1], x0 + scan4[k, 0]
        level = abs(levels[y, x])
        if level == 0 and k < first and (coeffs[y, x] < 0) != negative:
            continue  # it would become the first level, with the other sign
        if up_cost[g] < best:
            best, best_k, best_step = up_cost[g], k, 1
        if level > 0 and not (k == first and level == 1) and down_cost[g] < best:
            best, best_k, best_step = down_cost[g], k, -1
    if best_k < 0:
        return 0
    y, x = y0 + scan4[best_k, 1], x0 + scan4[best_k, 0]
    v = levels[y, x]
    if v == 0:
        levels[y, x] = -1 if coeffs[y, x] < 0 else 1
        return 1
    new = v + best_step if v > 0 else v - best_step
    levels[y, x] = new
    return -1 if new == 0 else 0
