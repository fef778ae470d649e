"""Inter decisions of the classic encoder: the P-picture quadtree, skip/merge, motion search.

A P picture is searched CTU by CTU like an intra one (:mod:`~codeclab.classic.encoder.intra`), but top-down, so
that a CU coded as *skip* (merge without residual) can stop the search below it, the
"early CU" rule that makes skip both the cheapest mode in bits and in encoder time::

    for each CU, largest first (64 -> 8):
        merge: the 5 candidates of :mod:`~codeclab.classic.common.mvpred` ranked by SATD + sqrt(lambda) R(merge_idx);
               the best gets a full RD check, without residual (skip) and with it
        if the best is skip: stop (no AMVP, no intra, no split)      [early skip, HM ESD]
        AMVP:  per reference, :func:`integer_search`; the best reference is refined to
               quarter samples (:func:`fractional_search`) and gets a full RD check
        intra: the intra search of :mod:`~codeclab.classic.encoder.intra` (2Nx2N up to 32x32, NxN for 8x8), when
               a quick SATD estimate (:func:`intra_worth_trying`) beats inter's
        split: the four quarters, recursively; the cheaper of "one CU" and "split" stays

Motion search for one CU (HM ``TEncSearch::xMotionEstimation``, simplified):

1. integer start points: the vectors of the picture-wide block search
   (:mod:`~codeclab.classic.encoder.motion_search`) under the CU, the two AMVP predictors, zero; each costs
   ``SAD + sqrt(lambda) R(mvd)`` with ``R`` the CABAC estimate of :func:`~codeclab.classic.common.syntax.mvd_bits`
   against the better predictor (``mvp_l0_flag``);
2. a small integer diamond around the best, repeated while it moves;
3. for the reference with the lowest cost only: the eight half-sample neighbours, then the
   eight quarter-sample neighbours of the best, now with ``SATD + sqrt(lambda) R(mvd)``,
   reading the predicted samples from the reference's precomputed quarter-sample phases
   (:func:`~codeclab.classic.common.motion.fractional_planes`).

A full RD check predicts the CU with :func:`~codeclab.classic.common.motion.predict_block` (the decoder's
function), codes each transform block of the residual, and keeps a block only if
``D + lambda R`` beats leaving it empty (cbf = 0). Its J = SSE_Y + w SSE_C + lambda R, R
from the context states at the start of the CTU, as for intra. States of the options being
compared are kept in :data:`~codeclab.classic.encoder.intra.Stash` slots (one pair per depth) and restored, so
the picture state ends up holding exactly what the decoder will rebuild.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.motion import predict_block
from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES, amvp_candidates, merge_candidates
from codeclab.classic.common.partition import CTU_LOG2, MIN_CU_LOG2, fill_map, split_context, take_quarter
from codeclab.classic.common.picture import AMVP, INTRA, MERGE, SKIP
from codeclab.classic.common.reconstruct import add_residual, predict, reference_samples
from codeclab.classic.common.syntax import (CBF_CHROMA_INTER, CBF_LUMA_INTER, CU_SKIP, MERGE_FLAG, MVP_IDX,
                                            PRED_MODE, ROOT_CBF, SPLIT_CU)
from codeclab.classic.decoder.picture import skip_context
from codeclab.classic.encoder.analysis import forward_transform, hide_signs, quantize, satd, sse
from codeclab.classic.encoder.rdoq import rdoq
from codeclab.classic.encoder.intra import (clear_decoded, coverage, residual_bits, search_chroma,
                                            search_luma, split_option)
from codeclab.classic.encoder.motion_search import fractional_search, integer_search, phase_block
from codeclab.classic.encoder.syntax import flag_bits, merge_idx_bits, mvd_bits, ref_idx_bits
from codeclab.entropy.rate import ONE_BIT
from codeclab.kernels import kernel

#: Merge candidates (best by SATD) that get a full RD check. Two instead of one: -0.9%
#: BD-rate on carphone, 40% more time at QP 22.
MERGE_RD_CANDIDATES = 1
#: Largest CU that also tries intra in a P picture (log2).
MAX_INTRA_LOG2_IN_P = 5
#: Intra is searched in a P picture when its quick SATD estimate is below this fraction of
#: the best inter prediction's (:func:`intra_worth_trying`).
INTRA_TRY_RATIO = 1.0


@kernel
def predict_cu(S, x, y, size, ref, mvx, mvy, bit_depth):
    """Motion-compensated Y, Cb, Cr of the CU into ``S.inter.pred`` (the decoder's function)."""
    refs = S.inter.refs
    coded_height, coded_width = S.pic.coded
    work, pred14 = S.inter.mc
    predict_block(refs.y[ref], coded_height, coded_width, x, y, size, size, mvx, mvy, True, bit_depth,
                  work, pred14, S.inter.pred[0], 0, 0)
    half = size >> 1
    predict_block(refs.cb[ref], coded_height >> 1, coded_width >> 1, x >> 1, y >> 1, half, half,
                  mvx, mvy, False, bit_depth, work, pred14, S.inter.pred[1], 0, 0)
    predict_block(refs.cr[ref], coded_height >> 1, coded_width >> 1, x >> 1, y >> 1, half, half,
                  mvx, mvy, False, bit_depth, work, pred14, S.inter.pred[2], 0, 0)


# -------------------------------------------------------------------- CU state
@kernel
def stash(S, slot, x, y, size, save):
    """Save the CU region's samples, levels and maps into stash ``slot`` or restore them."""
    st = S.inter.stash
    for comp in range(3):
        shift = 1 if comp else 0
        x0, y0, n = x >> shift, y >> shift, size >> shift
        if save:
            st.samples[slot, comp, :n, :n] = S.pic.planes[comp][y0:y0 + n, x0:x0 + n]
            st.levels[slot, comp, :n, :n] = S.pic.levels[comp][y0:y0 + n, x0:x0 + n]
        else:
            S.pic.planes[comp][y0:y0 + n, x0:x0 + n] = st.samples[slot, comp, :n, :n]
            S.pic.levels[comp][y0:y0 + n, x0:x0 + n] = st.levels[slot, comp, :n, :n]
    u0, v0, m = x >> 2, y >> 2, size >> 2
    maps = (S.pic.cu_log2, S.pic.luma_mode, S.nxn, S.chroma_syntax, S.pic.ref_idx, S.pic.cu_kind)
    for k in range(6):
        if save:
            st.maps[slot, k, :m, :m] = maps[k][v0:v0 + m, u0:u0 + m]
        else:
            maps[k][v0:v0 + m, u0:u0 + m] = st.maps[slot, k, :m, :m]
    if save:
        st.mv[slot, :m, :m] = S.pic.mv[v0:v0 + m, u0:u0 + m]
        st.syntax[slot, :m, :m] = S.syntax[v0:v0 + m, u0:u0 + m]
    else:
        S.pic.mv[v0:v0 + m, u0:u0 + m] = st.mv[slot, :m, :m]
        S.syntax[v0:v0 + m, u0:u0 + m] = st.syntax[slot, :m, :m]


@kernel
def set_motion(S, x, y, size, mvx, mvy, ref, kind, merge_idx, mvp_idx, mvd_x, mvd_y):
    """Record an inter CU's motion and syntax in the maps (what the writer and the
    neighbours' predictions read)."""
    for v in range(y >> 2, (y + size) >> 2):
        for u in range(x >> 2, (x + size) >> 2):
            S.pic.mv[v, u, 0] = mvx
            S.pic.mv[v, u, 1] = mvy
            S.pic.ref_idx[v, u] = ref
            S.pic.cu_kind[v, u] = kind
            S.pic.luma_mode[v, u] = -1
    v0, u0 = y >> 2, x >> 2
    S.syntax[v0, u0, 0] = merge_idx
    S.syntax[v0, u0, 1] = mvp_idx
    S.syntax[v0, u0, 2] = mvd_x
    S.syntax[v0, u0, 3] = mvd_y


@kernel
def apply_prediction(S, cfg, x, y, size):
    """Reconstruct the CU as its prediction alone (levels zero); return its weighted SSE."""
    distortion = 0.0
    for comp in range(3):
        shift = 1 if comp else 0
        x0, y0, n = x >> shift, y >> shift, size >> shift
        plane, orig, pred = S.pic.planes[comp], S.orig[comp], S.inter.pred[comp]
        total = 0
        for i in range(n):
            for j in range(n):
                value = pred[i, j]
                plane[y0 + i, x0 + j] = value
                d = orig[y0 + i, x0 + j] - value
                total += d * d
        S.pic.levels[comp][y0:y0 + n, x0:x0 + n] = 0
        S.pic.decoded[comp][y0:y0 + n, x0:x0 + n] = 1
        distortion += total * (1.0 if comp == 0 else cfg.chroma_weight)
    return distortion


# -------------------------------------------------------------------- residual
@kernel
def code_inter_block(S, cfg, comp, x, y, n, px, py, cbf_ctx, ctx_copy):
    """Code one inter transform block at (x, y) of component ``comp`` whose prediction is
    ``S.inter.pred[comp][py:, px:]``: quantize the residual and keep it only if it lowers
    J. Returns (SSE, bits, coded); the block is left reconstructed as the decoder will."""
    pred = S.inter.pred[comp]
    plane, orig, levels = S.pic.planes[comp], S.orig[comp], S.pic.levels[comp]
    residual, tmp, coeffs = S.scratch[3], S.scratch[4], S.scratch[5]
    qp = cfg.qp if comp == 0 else cfg.qpc
    weight = 1.0 if comp == 0 else cfg.chroma_weight
    zero_distortion = 0
    for i in range(n):
        for j in range(n):
            p = pred[py + i, px + j]
            r = orig[y + i, x + j] - p
            residual[i, j] = r
            zero_distortion += r * r
            plane[y + i, x + j] = p
    forward_transform(residual, n, False, cfg.bit_depth, tmp, coeffs)
    block = levels[y:y + n, x:x + n]
    nonzero = quantize(coeffs, n, qp, cfg.bit_depth, S.inter.rounding, block)
    if nonzero and cfg.rdoq:
        nonzero = rdoq(coeffs, block, n, qp, cfg.bit_depth, cfg.lam / weight, S.ctx, comp > 0, S.scans[2],
                       S.scans[0 if n == 4 else (1 if n == 8 else (2 if n == 16 else 3))], S.sign_hiding)
    if nonzero and S.sign_hiding:  # after RDOQ: only a sub-block it could not fix
        hide_signs(coeffs, block, n, qp, cfg.bit_depth, S.scans[2],
                   S.scans[0 if n == 4 else (1 if n == 8 else (2 if n == 16 else 3))])
    zero_bits = flag_bits(S.ctx, cbf_ctx, 0) / ONE_BIT
    if nonzero:
        log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
        bits = flag_bits(S.ctx, cbf_ctx, 1) / ONE_BIT + residual_bits(S, block, log2n, comp > 0,
                                                                       ctx_copy)
        add_residual(plane, S.pic.decoded[comp], levels, x, y, n, qp, cfg.bit_depth, 1, S.work)
        distortion = sse(orig, plane, x, y, n)
        if weight * distortion + cfg.lam * bits < weight * zero_distortion + cfg.lam * zero_bits:
            return distortion, bits, 1
        block[:, :] = 0
        for i in range(n):
            for j in range(n):
                plane[y + i, x + j] = pred[py + i, px + j]
    S.pic.decoded[comp][y:y + n, x:x + n] = 1
    return zero_distortion, zero_bits, 0


@kernel
def code_inter_residual(S, cfg, x, y, log2, ctx_copy):
    """Every transform block of an inter CU (the decoder's order); returns (D, bits, coded)."""
    size = 1 << log2
    quarters = 4 if log2 == 6 else 1
    tu = size >> 1 if quarters == 4 else size
    split_tu = 1 if quarters == 4 else 0
    distortion, bits, coded = 0.0, 0.0, 0
    for q in range(quarters):
        ox, oy = (q & 1) * tu, (q >> 1) * tu
        d, r, c = code_inter_block(S, cfg, 0, x + ox, y + oy, tu, ox, oy,
                                   CBF_LUMA_INTER + split_tu, ctx_copy)
        distortion += d
        bits += r
        coded |= c
        for comp in (1, 2):
            d, r, c = code_inter_block(S, cfg, comp, (x + ox) >> 1, (y + oy) >> 1, tu >> 1,
                                       ox >> 1, oy >> 1, CBF_CHROMA_INTER + split_tu, ctx_copy)
            distortion += cfg.chroma_weight * d
            bits += r
            coded |= c
    return distortion, bits, coded


@kernel
def intra_worth_trying(S, cfg, x, y, size, inter_cost):
    """Quick test before the intra search of a CU in a P picture: does the best of planar,
    DC, horizontal and vertical prediction (SATD + sqrt(lambda) times ~3 bits of mode)
    come near the best inter prediction's SATD + sqrt(lambda) R?"""
    refs, smoothed, pred = S.scratch[0], S.scratch[1], S.scratch[2]
    reference_samples(S.pic.planes[0], S.pic.decoded[0], x, y, size, cfg.bit_depth, refs)
    best = np.inf
    for mode in (0, 1, 10, 26):
        predict(refs, mode, size, True, cfg.bit_depth, cfg.strong, smoothed, pred)
        best = min(best, satd(S.orig[0], x, y, pred, size))
    return best + 3.0 * cfg.sqrt_lam < INTRA_TRY_RATIO * inter_cost


# -------------------------------------------------------------------- one CU
@kernel
def try_merge(S, cfg, x, y, log2, slot, skip_bits, inter_bits, ctx_copy):
    """Skip and merge: the merge candidates by SATD, then a full RD check of the best
    :data:`MERGE_RD_CANDIDATES`, without residual (skip) and with it (merge).

    Stashes the best in ``slot``; returns ``(J, is_skip, the picture holds it)``.
    """
    size = 1 << log2
    cands = S.inter.cands
    merge_candidates(S.pic, S.inter.refs, x, y, size, S.inter.num_refs, cands)
    costs = np.full(MAX_MERGE_CANDIDATES, np.inf)
    for i in range(MAX_MERGE_CANDIDATES):
        duplicate = False
        for k in range(i):
            if cands[k, 0] == cands[i, 0] and cands[k, 1] == cands[i, 1] and cands[k, 2] == cands[i, 2]:
                duplicate = True
        if not duplicate:
            phase_block(S, cands[i, 2], cands[i, 0], cands[i, 1], x, y, size, S.inter.block)
            costs[i] = (satd(S.orig[0], x, y, S.inter.block, size)
                        + cfg.sqrt_lam * merge_idx_bits(S.ctx, i) / ONE_BIT)
    order = np.argsort(costs)
    best_cost, best_skip, holds_best = np.inf, False, False
    for r in range(MERGE_RD_CANDIDATES):
        i = order[r]
        if costs[i] == np.inf:
            break
        mvx, mvy, ref = cands[i, 0], cands[i, 1], cands[i, 2]
        idx_bits = merge_idx_bits(S.ctx, i) / ONE_BIT
        predict_cu(S, x, y, size, ref, mvx, mvy, cfg.bit_depth)
        set_motion(S, x, y, size, mvx, mvy, ref, SKIP, i, 0, 0, 0)
        cost = apply_prediction(S, cfg, x, y, size) + cfg.lam * (skip_bits + idx_bits)
        if cost < best_cost:
            best_cost, best_skip, holds_best = cost, True, True
            stash(S, slot, x, y, size, True)
        d, bits, coded = code_inter_residual(S, cfg, x, y, log2, ctx_copy)
        cost = d + cfg.lam * (bits + inter_bits + idx_bits + flag_bits(S.ctx, MERGE_FLAG, 1) / ONE_BIT)
        holds_best = False
        if coded and cost < best_cost:  # without any residual it would be a skip
            fill_map(S.pic.cu_kind, x, y, size, MERGE)
            best_cost, best_skip, holds_best = cost, False, True
            stash(S, slot, x, y, size, True)
    return best_cost, best_skip, holds_best


@kernel
def try_amvp(S, cfg, x, y, log2, inter_bits, ctx_copy):
    """A coded vector: the best integer vector into each reference, the best reference
    refined to quarter samples, then a full RD check (with rqt_root_cbf 0 when no block
    keeps a residual). Leaves it in the picture; returns ``(J, its SATD cost)``."""
    size = 1 << log2
    refs, amvp, num_refs = S.inter.refs, S.inter.amvp, S.inter.num_refs
    best_ref, best_int, mvx, mvy = 0, np.inf, 0, 0
    for ref in range(num_refs):
        amvp_candidates(S.pic, refs, x, y, size, ref, amvp)
        cost, cx, cy = integer_search(S, cfg, x, y, size, ref, amvp)
        cost += cfg.sqrt_lam * ref_idx_bits(S.ctx, ref, num_refs) / ONE_BIT
        if cost < best_int:
            best_ref, best_int, mvx, mvy = ref, cost, cx, cy
    amvp_candidates(S.pic, refs, x, y, size, best_ref, amvp)
    satd_cost, mvx, mvy, mvp_idx = fractional_search(S, cfg, x, y, size, best_ref, amvp, mvx, mvy)
    mvd_x, mvd_y = mvx - amvp[mvp_idx, 0], mvy - amvp[mvp_idx, 1]
    motion_bits = (flag_bits(S.ctx, MERGE_FLAG, 0) + ref_idx_bits(S.ctx, best_ref, num_refs)
                   + mvd_bits(S.ctx, mvd_x, mvd_y) + flag_bits(S.ctx, MVP_IDX, mvp_idx)) / ONE_BIT
    predict_cu(S, x, y, size, best_ref, mvx, mvy, cfg.bit_depth)
    set_motion(S, x, y, size, mvx, mvy, best_ref, AMVP, 0, mvp_idx, mvd_x, mvd_y)
    d, bits, coded = code_inter_residual(S, cfg, x, y, log2, ctx_copy)
    if coded:
        bits += flag_bits(S.ctx, ROOT_CBF, 1) / ONE_BIT
    else:
        bits = flag_bits(S.ctx, ROOT_CBF, 0) / ONE_BIT
    return d + cfg.lam * (bits + inter_bits + motion_bits), satd_cost


@kernel
def try_intra(S, cfg, x, y, log2, mode_bits, ctx_copy):
    """The intra search of :mod:`~codeclab.classic.encoder.intra` on the CU (``mode_bits``: skip, pred_mode and
    split flags). Leaves it in the picture; returns J."""
    size = 1 << log2
    for comp in range(3):
        clear_decoded(S, comp, x >> (comp > 0), y >> (comp > 0), size >> (comp > 0))
    for v in range(y >> 2, (y + size) >> 2):
        for u in range(x >> 2, (x + size) >> 2):
            S.pic.ref_idx[v, u] = -1
            S.pic.cu_kind[v, u] = INTRA
            S.pic.mv[v, u, 0] = 0
            S.pic.mv[v, u, 1] = 0
    hints = np.zeros(4, np.int64)  # only 64x64 CUs use them, and those are not tried
    cost = cfg.lam * mode_bits
    cost += search_luma(S, cfg, x, y, log2, hints, ctx_copy)
    return cost + search_chroma(S, cfg, x, y, log2, ctx_copy)


@kernel
def inter_cu(S, cfg, x, y, log2, slot, ctx_copy):
    """Decide the CU (x, y, 2^log2) of a P picture as one CU (skip, merge, AMVP or intra).

    Leaves the winner in the picture state; returns ``(J, is_skip)``. ``slot``: the stash
    slot this depth may use.
    """
    size = 1 << log2
    split_bits = 0.0
    if log2 > MIN_CU_LOG2 and coverage(S, x, y, log2) == 2:
        split_ctx = SPLIT_CU + split_context(S.pic.cu_log2, x, y, log2)
        split_bits = flag_bits(S.ctx, split_ctx, 0) / ONE_BIT
    fill_map(S.pic.cu_log2, x, y, size, log2)
    fill_map(S.nxn, x, y, size, 0)
    skip_ctx = CU_SKIP + skip_context(S.pic, x, y)
    skip_bits = split_bits + flag_bits(S.ctx, skip_ctx, 1) / ONE_BIT
    not_skip_bits = split_bits + flag_bits(S.ctx, skip_ctx, 0) / ONE_BIT
    inter_bits = not_skip_bits + flag_bits(S.ctx, PRED_MODE, 0) / ONE_BIT
    intra_bits = not_skip_bits + flag_bits(S.ctx, PRED_MODE, 1) / ONE_BIT

    best_cost, best_skip, holds_best = try_merge(S, cfg, x, y, log2, slot, skip_bits,
                                                 inter_bits, ctx_copy)
    if best_skip:  # early skip detection: nothing else is tried
        if not holds_best:
            stash(S, slot, x, y, size, False)
        return best_cost, True
    cost, inter_satd = try_amvp(S, cfg, x, y, log2, inter_bits, ctx_copy)
    if cost < best_cost:
        best_cost = cost
        stash(S, slot, x, y, size, True)
    if log2 <= MAX_INTRA_LOG2_IN_P and intra_worth_trying(S, cfg, x, y, size, inter_satd):
        cost = try_intra(S, cfg, x, y, log2, intra_bits, ctx_copy)
        if cost < best_cost:
            return cost, False
    stash(S, slot, x, y, size, False)
    return best_cost, False


# -------------------------------------------------------------------- the quadtree, top-down
@kernel
def _try_split(S, cfg, x, y, log2, whole_cost, slot):
    """After the whole CU was decided (J ``whole_cost``), save it before the split is tried."""
    stash(S, slot, x, y, 1 << log2, True)
    return split_option(S, cfg, x, y, log2)


@kernel
def _keep_cheaper(S, x, y, log2, whole_cost, split_cost, slot):
    if whole_cost <= split_cost:
        stash(S, slot, x, y, 1 << log2, False)
        return whole_cost
    return split_cost


@kernel
def _open_node(S, cfg, x, y, log2, ctx_copy):
    """A node's work before its quarters: (cover, J of one CU, J so far of the split, done).

    ``done`` when nothing is left to search below: outside the picture (J 0), an 8x8 CU
    (no quarters), or a skipped CU (taken as it is). Stash slots: 2 (6 - log2) + 1 holds the
    node's own CU, 2 (6 - log2) the best split so far.
    """
    cover = coverage(S, x, y, log2)
    if cover == 0:
        return cover, 0.0, 0.0, True
    if log2 == MIN_CU_LOG2:
        cost, _ = inter_cu(S, cfg, x, y, log2, 2 * (CTU_LOG2 - log2) + 1, ctx_copy)
        return cover, cost, 0.0, True
    whole, skip = np.inf, False
    if cover == 2:
        whole, skip = inter_cu(S, cfg, x, y, log2, 2 * (CTU_LOG2 - log2) + 1, ctx_copy)
        if skip:
            return cover, whole, 0.0, True
        split = _try_split(S, cfg, x, y, log2, whole, 2 * (CTU_LOG2 - log2))
    else:
        split = split_option(S, cfg, x, y, log2)
    return cover, whole, split, False


@kernel
def inter_ctu(S, cfg, x, y, ctx_copy):
    """Decide the coding quadtree of a CTU of a P picture, largest CUs first.

    Depth first over an explicit stack of nodes (as :func:`..encoder.search_ctu`, for the
    same reason): a node tries one CU first, then its four quarters in z-order, and keeps
    the cheaper (``_keep_cheaper``) when it lies wholly inside the picture.
    """
    frames = CTU_LOG2 - MIN_CU_LOG2 + 1
    node_x, node_y = np.empty(frames, np.int64), np.empty(frames, np.int64)
    node_log2, node_cover = np.empty(frames, np.int64), np.empty(frames, np.int64)
    next_quarter = np.zeros(frames, np.int64)
    whole_cost, split_cost = np.empty(frames, np.float64), np.empty(frames, np.float64)
    cover, whole, split, done = _open_node(S, cfg, x, y, CTU_LOG2, ctx_copy)
    if done:
        return whole
    node_x[0], node_y[0], node_log2[0], node_cover[0] = x, y, CTU_LOG2, cover
    whole_cost[0], split_cost[0] = whole, split
    depth = 0
    while True:
        if next_quarter[depth] < 4:
            qx, qy, log2 = take_quarter(node_x, node_y, node_log2, next_quarter, depth)
            cover, whole, split, done = _open_node(S, cfg, qx, qy, log2, ctx_copy)
            if done:
                split_cost[depth] += whole
            else:
                depth += 1
                node_x[depth], node_y[depth], node_log2[depth], node_cover[depth] = qx, qy, log2, cover
                next_quarter[depth] = 0
                whole_cost[depth], split_cost[depth] = whole, split
        else:
            log2 = node_log2[depth]
            cost = split_cost[depth]
            if node_cover[depth] == 2:
                cost = _keep_cheaper(S, node_x[depth], node_y[depth], log2, whole_cost[depth], cost,
                                     2 * (CTU_LOG2 - log2))
            if depth == 0:
                return cost
            depth -= 1
            split_cost[depth] += cost


