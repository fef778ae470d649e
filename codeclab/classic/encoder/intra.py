"""Intra decisions of the classic encoder: modes, transform splits and the CU quadtree by RDO.

Every choice minimises ``J = D + lambda R`` (lambda from :mod:`.rate_control`). The search
reconstructs every candidate with
:func:`~codeclab.classic.common.reconstruct.reconstruct_block`, the decoder's own function,
so when it is done the picture state holds exactly what the decoder will rebuild (rule 1 of
DESIGN.md; HM's TEncSearch calls TComPrediction and TComTrQuant the same way). Writing the
decisions is :mod:`.writer`, the picture loop :mod:`.picture`; P pictures reuse these
searches for their intra CUs (:mod:`.inter`).

Search (HM ``TEncCu::xCompressCU`` / ``TEncSearch::estIntraPredQT``, simplified):

- ``search_ctu`` tries "split in four" (recursively, down to 8x8) and "one CU", keeping the
  cheaper; the split option's samples, levels and maps are saved and restored if it wins.
  Before an option is tried its region is marked not yet decoded, so its blocks see exactly
  the neighbours the decoder will see.
- Luma mode of a CU or 4x4 PU: all 35 predictions are scored by SATD +
  sqrt(lambda) * mode bits; the best :data:`RD_CANDIDATES` plus the three MPMs get a full RD
  check (transform, quantization, exact adaptive residual bits, reconstruction, SSE). A
  64x64 CU (four 32x32 transform blocks) tries the MPMs and the modes its quarters chose.
- 8x8 CUs also try NxN (four 4x4 PUs, each with its own mode and DST-VII residual).
- Chroma: DM and the two other intra_chroma_pred_mode values of lowest SATD get a full RD
  check on Cb + Cr, with chroma SSE weighted by 2^((QP - QpC) / 3) as in HM.

Rates come from the contexts as they stand at the start of the CTU (a copy, so estimates
never disturb the real coder): flags cost :func:`~codeclab.entropy.rate.bin_cost`, and a
residual costs the exact adaptive ``-log2 p`` of coding it with a scratch copy of the
contexts (:func:`~codeclab.classic.encoder.residual.encode_block` with statistics).
"""

from __future__ import annotations

from collections import namedtuple

from numba.core import types
from numba.experimental import structref

import numpy as np

from codeclab.classic.common.cclm import CCLM_MODE, predict_cclm
from codeclab.classic.common.motion import new_mc_workspace
from codeclab.classic.common.mvpred import MAX_MERGE_CANDIDATES
from codeclab.classic.common.nnintra import NN_MODE_BASE, nn_heads_for
from codeclab.classic.common.partition import (CTU_LOG2, CTU_SIZE, MIN_CU_LOG2, block_coverage, fill_map,
                                               neighbour_modes, split_context, take_quarter)
from codeclab.classic.common.picture import References, no_references
from codeclab.classic.common.reconstruct import predict, predict_mode, reconstruct_block, reference_samples
from codeclab.classic.common.syntax import (CBF_CHROMA, CBF_LUMA, CCLM_SYNTAX, PART_NXN, SPLIT_CU, chroma_mode_from_syntax,
                                            head_bits_of, mode_to_syntax, most_probable_modes,
                                            nn_intra_context)
from codeclab.classic.encoder.analysis import forward_transform, hide_signs, quantize, satd, sse
from codeclab.classic.encoder.rdoq import rdoq
from codeclab.classic.encoder.residual import encode_block
from codeclab.classic.encoder.syntax import chroma_mode_bits, flag_bits, luma_mode_bits, nn_intra_bits
from codeclab.entropy.cabac import encoder_start
from codeclab.entropy.rate import ONE_BIT
from codeclab.kernels import kernel

#: Modes (besides the MPMs) that pass SATD pre-selection into the full RD check, by log2 size.
RD_CANDIDATES = np.array([0, 0, 3, 3, 2, 2, 0], dtype=np.int64)
#: Chroma modes besides DM that pass SATD pre-selection into the full RD check.
CHROMA_RD_CANDIDATES = 2
#: Bins a CTU can need at most (6144 levels of at most ~40 bins, plus its other syntax).
MAX_CTU_BINS = 6144 * 48 + 4096

#: Settings of one picture: QPs, lambda, chroma weight, tools.
Settings = namedtuple("Settings", "qp qpc lam sqrt_lam chroma_weight bit_depth strong rounding rdoq")
#: Everything the search reads and writes: source planes, the picture state, encoder-only maps
#: (NxN flag and intra_chroma_pred_mode per 4x4 block; the inter syntax ``merge_idx,
#: mvp_l0_flag, mvd_x, mvd_y`` at each inter CU's top-left 4x4 block), estimation contexts,
#: scratch, and the state of the inter search (:data:`InterSearch`, empty in intra pictures).
SEARCH_FIELDS = ("orig", "pic", "nxn", "chroma_syntax", "ctx", "scans", "work", "scratch", "syntax", "inter",
                 "sign_hiding", "cclm")


@structref.register
class SearchType(types.StructRef):
    """numba type of :class:`Search`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Search(structref.StructRefProxy):
    """The search state, passed to kernels as one reference (not ~70 arrays by value)."""


structref.define_proxy(Search, SearchType, SEARCH_FIELDS)


@kernel
def make_search(orig, pic, nxn, chroma_syntax, ctx, scans, work, scratch, syntax, inter, sign_hiding, cclm):
    """A :class:`Search` built in compiled code (cached, unlike the proxy's own constructor)."""
    return Search(orig, pic, nxn, chroma_syntax, ctx, scans, work, scratch, syntax, inter, sign_hiding, cclm)
#: The inter search of a P picture (:mod:`~codeclab.classic.encoder.inter`): its references, their quarter-sample
#: phases (R, 16, H + 2 margin, W + 2 margin), the integer motion field of the block search
#: (R, H/16, W/16, 2), settings, stashed CU states by depth (:data:`Stash`), the predicted
#: Y, Cb, Cr of the CU being tried, and scratch.
InterSearch = namedtuple("InterSearch", "refs phases margin me_mv num_refs rounding stash pred "
                                        "block cands amvp mc")
#: Saved states of one CU region per quadtree depth and slot: samples and levels
#: (slots, 3, 64, 64), maps (slots, 6, 16, 16) = cu_log2, luma_mode, nxn, chroma_syntax,
#: ref_idx, cu_kind, motion (slots, 16, 16, 2), inter syntax (slots, 16, 16, 4).
Stash = namedtuple("Stash", "samples levels maps mv syntax")
STASH_SLOTS = 8


def new_inter_search(refs: References, phases: np.ndarray, margin: int, me_mv: np.ndarray,
                     num_refs: int, rounding: int) -> tuple:
    """:data:`InterSearch` with its buffers allocated."""
    n = STASH_SLOTS
    stash = Stash(np.zeros((n, 3, CTU_SIZE, CTU_SIZE), np.int32),
                  np.zeros((n, 3, CTU_SIZE, CTU_SIZE), np.int32),
                  np.zeros((n, 6, CTU_SIZE // 4, CTU_SIZE // 4), np.int32),
                  np.zeros((n, CTU_SIZE // 4, CTU_SIZE // 4, 2), np.int32),
                  np.zeros((n, CTU_SIZE // 4, CTU_SIZE // 4, 4), np.int32))
    return InterSearch(refs, phases, int(margin), me_mv, int(num_refs), int(rounding), stash,
                       np.zeros((3, CTU_SIZE, CTU_SIZE), np.int64),
                       np.zeros((CTU_SIZE, CTU_SIZE), np.int64),
                       np.zeros((MAX_MERGE_CANDIDATES, 3), np.int64), np.zeros((2, 2), np.int64),
                       (new_mc_workspace(CTU_SIZE), np.empty((CTU_SIZE, CTU_SIZE), np.int64)))


def no_inter_search(height: int, width: int) -> tuple:
    """The :data:`InterSearch` of an intra picture (nothing to search, same types)."""
    return new_inter_search(no_references(height, width), np.zeros((0, 16, 1, 1), np.int16), 0,
                            np.zeros((0, 1, 1, 2), np.int32), 0, 0)


def new_scratch():
    """Scratch arrays of the search: references, predictions, residual, rate estimation."""
    return (np.empty(129, np.int64), np.empty(129, np.int64), np.empty((32, 32), np.int64),
            np.empty((32, 32), np.int64), np.empty((32, 32), np.int64),
            np.empty((32, 32), np.int64), np.empty(1 << 16, np.uint8), np.zeros(3),
            np.zeros(0, np.int32), np.zeros(NN_MODE_BASE + 8, np.float64))


# -------------------------------------------------------------------- rates and blocks
@kernel
def residual_bits(S, levels, log2n, chroma, ctx_copy):
    """Exact adaptive bits of coding a block of levels with the CTU's context states."""
    out, stats, trace = S.scratch[6], S.scratch[7], S.scratch[8]
    ctx_copy[:, :] = S.ctx
    stats[:] = 0.0
    encode_block(encoder_start(), out, ctx_copy, levels, log2n, chroma, S.scans[2],
                 S.scans[log2n - 2], S.sign_hiding, stats, trace)
    return stats[0]


@kernel
def code_block(S, cfg, comp, x, y, n, mode, cbf_ctx, ctx_copy):
    """Predict, transform, quantize and reconstruct one block; return (SSE, bits).

    Levels go to ``S.pic.levels[comp]`` and samples to ``S.pic.planes[comp]``, exactly as
    the decoder will produce them.
    """
    refs, smoothed, pred, residual, tmp, coeffs = S.scratch[:6]
    plane, orig = S.pic.planes[comp], S.orig[comp]
    levels = S.pic.levels[comp]
    is_luma = comp == 0
    qp = cfg.qp if is_luma else cfg.qpc
    if mode == CCLM_MODE:
        predict_cclm(S.pic.planes[0], plane, S.pic.decoded[comp], x, y, n, cfg.bit_depth, pred)
    else:
        reference_samples(plane, S.pic.decoded[comp], x, y, n, cfg.bit_depth, refs)
        predict_mode(refs, mode, n, is_luma, cfg.bit_depth, cfg.strong, smoothed, pred, S.work[6])
    for i in range(n):
        for j in range(n):
            residual[i, j] = orig[y + i, x + j] - pred[i, j]
    forward_transform(residual, n, is_luma and n == 4, cfg.bit_depth, tmp, coeffs)
    block = levels[y:y + n, x:x + n]
    nonzero = quantize(coeffs, n, qp, cfg.bit_depth, cfg.rounding, block)
    if nonzero and cfg.rdoq:
        nonzero = rdoq(coeffs, block, n, qp, cfg.bit_depth, cfg.lam if is_luma else cfg.lam / cfg.chroma_weight,
                       S.ctx, not is_luma, S.scans[2], S.scans[0 if n == 4 else (1 if n == 8 else (2 if n == 16 else 3))],
                       S.sign_hiding)
    if nonzero and S.sign_hiding:  # after RDOQ: only a sub-block it could not fix
        hide_signs(coeffs, block, n, qp, cfg.bit_depth, S.scans[2],
                   S.scans[0 if n == 4 else (1 if n == 8 else (2 if n == 16 else 3))])
    coded = 1 if nonzero else 0
    bits = flag_bits(S.ctx, cbf_ctx, coded) / ONE_BIT
    if coded:
        log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
        bits += residual_bits(S, block, log2n, not is_luma, ctx_copy)
    reconstruct_block(plane, S.pic.decoded[comp], levels, x, y, n, mode, is_luma, qp,
                      cfg.bit_depth, cfg.strong, coded, S.work, S.pic.planes[0])
    return sse(orig, plane, x, y, n), bits


@kernel
def clear_decoded(S, comp, x, y, size):
    """Mark a block of component ``comp`` as not yet decoded (before trying an option)."""
    S.pic.decoded[comp][y:y + size, x:x + size] = 0


@kernel
def mode_bits(S, x, y, size, mode):
    """Bits of coding luma ``mode`` for the size x size PU at (x, y), given its neighbours'
    MPMs (and nn_intra_flag with its head bits where network modes are allowed)."""
    heads = nn_heads_for(S.work[6], size)
    bits = 0.0
    if heads:
        head = mode - NN_MODE_BASE if mode >= NN_MODE_BASE else -1
        inc = nn_intra_context(S.pic.luma_mode, x, y)
        bits = nn_intra_bits(S.ctx, inc, head, head_bits_of(heads)) / ONE_BIT
        if head >= 0:
            return bits
    left, above = neighbour_modes(S.pic.luma_mode, x, y)
    m0, m1, m2 = most_probable_modes(left, above)
    is_mpm, index = mode_to_syntax(mode, m0, m1, m2)
    return bits + luma_mode_bits(S.ctx, is_mpm, index) / ONE_BIT


@kernel
def candidate_modes(S, cfg, x, y, n):
    """SATD pre-selection: the best RD_CANDIDATES[log2 n] of the 35 modes and the network
    modes, plus the MPMs, plus the best network mode if it is not among them yet (network
    modes get their own RD check, as VVC's encoder gives MIP modes theirs)."""
    refs, smoothed, pred = S.scratch[0], S.scratch[1], S.scratch[2]
    costs = S.scratch[9]
    log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
    count = NN_MODE_BASE + nn_heads_for(S.work[6], n)
    reference_samples(S.pic.planes[0], S.pic.decoded[0], x, y, n, cfg.bit_depth, refs)
    for mode in range(count):
        predict_mode(refs, mode, n, True, cfg.bit_depth, cfg.strong, smoothed, pred, S.work[6])
        costs[mode] = satd(S.orig[0], x, y, pred, n) + cfg.sqrt_lam * mode_bits(S, x, y, n, mode)
    order = np.argsort(costs[:count])
    left, above = neighbour_modes(S.pic.luma_mode, x, y)
    m0, m1, m2 = most_probable_modes(left, above)
    chosen = [m0, m1, m2]
    for i in range(RD_CANDIDATES[log2n]):
        mode = order[i]
        if mode != m0 and mode != m1 and mode != m2:
            chosen.append(mode)
    if count > NN_MODE_BASE:
        best_nn = NN_MODE_BASE + np.argmin(costs[NN_MODE_BASE:count])
        if best_nn not in chosen:
            chosen.append(best_nn)
    return chosen


# -------------------------------------------------------------------- luma decisions
@kernel
def luma_option(S, cfg, x, y, size, n, mode, cbf_ctx, ctx_copy):
    """J of coding the luma of a CU with one mode in n x n transform blocks (z-order)."""
    if n < size:
        clear_decoded(S, 0, x, y, size)
    cost = cfg.lam * mode_bits(S, x, y, size, mode)
    for i in range(1 if n == size else 4):  # one block, or four quarters in z-order
        bx, by = x + (i & 1) * n, y + (i >> 1) * n
        d, r = code_block(S, cfg, 0, bx, by, n, mode, cbf_ctx, ctx_copy)
        cost += d + cfg.lam * r
    return cost


@kernel
def best_luma_mode(S, cfg, x, y, size, n, candidates, cbf_ctx, ctx_copy):
    """Full RD check of the candidates; codes the winner last (so its samples stay) and
    returns (J, mode)."""
    best_cost, best_mode = np.inf, candidates[0]
    for mode in candidates:
        cost = luma_option(S, cfg, x, y, size, n, mode, cbf_ctx, ctx_copy)
        if cost < best_cost:
            best_cost, best_mode = cost, mode
    luma_option(S, cfg, x, y, size, n, best_mode, cbf_ctx, ctx_copy)
    fill_map(S.pic.luma_mode, x, y, size, best_mode)
    return best_cost, best_mode


@kernel
def search_luma(S, cfg, x, y, log2, hints, ctx_copy):
    """Luma of one CU: its best mode (2Nx2N), and for 8x8 CUs also NxN; returns J."""
    size = 1 << log2
    if log2 == CTU_LOG2:
        # Four 32x32 transform blocks share one mode: try the MPMs and the quarters' modes.
        left, above = neighbour_modes(S.pic.luma_mode, x, y)
        m0, m1, m2 = most_probable_modes(left, above)
        candidates = [m0, m1, m2]
        for h in hints:
            if h not in candidates:
                candidates.append(h)
        cost, _ = best_luma_mode(S, cfg, x, y, size, size >> 1, candidates, CBF_LUMA + 1,
                                 ctx_copy)
        S.nxn[y >> 2:(y + size) >> 2, x >> 2:(x + size) >> 2] = 0
        return cost
    candidates = candidate_modes(S, cfg, x, y, size)
    cost, mode = best_luma_mode(S, cfg, x, y, size, size, candidates, CBF_LUMA, ctx_copy)
    fill_map(S.nxn, x, y, size, 0)
    if log2 > MIN_CU_LOG2:
        return cost
    # NxN: four 4x4 PUs decided one after the other (each predicts from the previous ones).
    cost += cfg.lam * flag_bits(S.ctx, PART_NXN, 0) / ONE_BIT
    nxn_cost = cfg.lam * flag_bits(S.ctx, PART_NXN, 1) / ONE_BIT
    clear_decoded(S, 0, x, y, size)
    for i in range(4):
        px, py = x + (i & 1) * 4, y + (i >> 1) * 4
        pu_candidates = candidate_modes(S, cfg, px, py, 4)
        pu_cost, _ = best_luma_mode(S, cfg, px, py, 4, 4, pu_candidates, CBF_LUMA + 1, ctx_copy)
        nxn_cost += pu_cost
    if nxn_cost < cost:
        fill_map(S.nxn, x, y, size, 1)
        return nxn_cost
    luma_option(S, cfg, x, y, size, size, mode, CBF_LUMA, ctx_copy)  # back to 2Nx2N
    fill_map(S.pic.luma_mode, x, y, size, mode)
    return cost


# -------------------------------------------------------------------- chroma decisions
@kernel
def chroma_option(S, cfg, x, y, log2, value, ctx_copy):
    """J of coding Cb and Cr of a CU with intra_chroma_pred_mode ``value``."""
    size = (1 << log2) >> 1  # chroma samples
    quarters = 4 if log2 == CTU_LOG2 else 1
    n = size >> 1 if quarters == 4 else size
    cbf_ctx = CBF_CHROMA + (1 if (quarters == 4 or S.nxn[y >> 2, x >> 2]) else 0)
    mode = chroma_mode_from_syntax(value, S.pic.luma_mode[y >> 2, x >> 2])
    cx, cy = x >> 1, y >> 1
    distortion, bits = 0.0, chroma_mode_bits(S.ctx, value, S.cclm) / ONE_BIT
    for comp in (1, 2):
        if quarters > 1:
            clear_decoded(S, comp, cx, cy, size)
        for q in range(quarters):
            d, r = code_block(S, cfg, comp, cx + (q & 1) * n, cy + (q >> 1) * n, n, mode,
                              cbf_ctx, ctx_copy)
            distortion += d
            bits += r
    return cfg.chroma_weight * distortion + cfg.lam * bits


@kernel
def chroma_candidates(S, cfg, x, y, log2):
    """DM plus the CHROMA_RD_CANDIDATES other chroma modes of lowest SATD on Cb + Cr
    (of the first 32x32 quarter for a 64x64 CU)."""
    refs, smoothed, pred, costs = S.scratch[0], S.scratch[1], S.scratch[2], S.scratch[9]
    n = min((1 << log2) >> 1, 16)
    cx, cy = x >> 1, y >> 1
    luma_mode = S.pic.luma_mode[y >> 2, x >> 2]
    for value in range(4):
        mode = chroma_mode_from_syntax(value, luma_mode)
        costs[value] = cfg.sqrt_lam * chroma_mode_bits(S.ctx, value, S.cclm) / ONE_BIT
        for comp in (1, 2):
            reference_samples(S.pic.planes[comp], S.pic.decoded[comp], cx, cy, n,
                              cfg.bit_depth, refs)
            predict(refs, mode, n, False, cfg.bit_depth, cfg.strong, smoothed, pred)
            costs[value] += satd(S.orig[comp], cx, cy, pred, n)
    order = np.argsort(costs[:4])
    chosen = [4]
    if S.cclm:  # always tried: SATD underrates it
        chosen.append(CCLM_SYNTAX)
    for i in range(CHROMA_RD_CANDIDATES):
        chosen.append(order[i])
    return chosen


@kernel
def search_chroma(S, cfg, x, y, log2, ctx_copy):
    """Best chroma mode by full RD among :func:`chroma_candidates` (coded last, so its
    samples stay); returns J."""
    best_cost, best_value = np.inf, 4
    for value in chroma_candidates(S, cfg, x, y, log2):
        cost = chroma_option(S, cfg, x, y, log2, value, ctx_copy)
        if cost < best_cost:
            best_cost, best_value = cost, value
    chroma_option(S, cfg, x, y, log2, best_value, ctx_copy)
    fill_map(S.chroma_syntax, x, y, 1 << log2, best_value)
    return best_cost


# -------------------------------------------------------------------- the quadtree
@kernel
def _copy_region(S, x, y, size, saved, to_saved):
    """Copy samples, levels and maps of a CU region into ``saved`` or back from it."""
    k = 0
    for comp in range(3):
        shift = 0 if comp == 0 else 1
        x0, y0, n = x >> shift, y >> shift, size >> shift
        for array in (S.pic.planes[comp], S.pic.levels[comp]):
            if to_saved:
                saved[k][:n, :n] = array[y0:y0 + n, x0:x0 + n]
            else:
                array[y0:y0 + n, x0:x0 + n] = saved[k][:n, :n]
            k += 1
    u0, v0, m = x >> 2, y >> 2, size >> 2
    for unit_map in (S.pic.cu_log2, S.pic.luma_mode, S.nxn, S.chroma_syntax):
        if to_saved:
            saved[k][:m, :m] = unit_map[v0:v0 + m, u0:u0 + m]
        else:
            unit_map[v0:v0 + m, u0:u0 + m] = saved[k][:m, :m]
        k += 1


@kernel
def coverage(S, x, y, log2):
    """:func:`~codeclab.classic.common.partition.block_coverage` of a block in the coded picture."""
    return block_coverage(x, y, 1 << log2, S.pic.coded[0], S.pic.coded[1])


@kernel
def split_option(S, cfg, x, y, log2):
    """Start the "split in four" option: mark the region undecoded; J of split_cu_flag = 1
    (nothing when the split is implied by the picture's edge)."""
    size = 1 << log2
    for comp in range(3):
        clear_decoded(S, comp, x >> (comp > 0), y >> (comp > 0), size >> (comp > 0))
    if coverage(S, x, y, log2) < 2:
        return 0.0
    inc = split_context(S.pic.cu_log2, x, y, log2)
    return cfg.lam * flag_bits(S.ctx, SPLIT_CU + inc, 1) / ONE_BIT


@kernel
def whole_option(S, cfg, x, y, log2, split_cost, ctx_copy):
    """Try one CU at (x, y, 2^log2) against the split already searched (J ``split_cost``).

    Keeps the cheaper option in the picture state and returns its J.
    """
    size = 1 << log2
    if coverage(S, x, y, log2) < 2:  # outside the picture (cost 0), or split implied
        return split_cost
    hints = np.zeros(4, np.int64)
    saved = [np.empty((1, 1), np.int32)]
    if log2 > MIN_CU_LOG2:
        half = size >> 1
        for i in range(4):  # the quarters' modes: candidates of a 64x64 CU
            hints[i] = S.pic.luma_mode[(y + (i >> 1) * half) >> 2, (x + (i & 1) * half) >> 2]
        saved = [np.empty((size, size), np.int32) for _ in range(10)]
        _copy_region(S, x, y, size, saved, True)
    whole_cost = 0.0
    if log2 > MIN_CU_LOG2:
        inc = split_context(S.pic.cu_log2, x, y, log2)
        whole_cost += cfg.lam * flag_bits(S.ctx, SPLIT_CU + inc, 0) / ONE_BIT
    fill_map(S.pic.cu_log2, x, y, size, log2)
    whole_cost += search_luma(S, cfg, x, y, log2, hints, ctx_copy)
    whole_cost += search_chroma(S, cfg, x, y, log2, ctx_copy)
    if split_cost < whole_cost:
        _copy_region(S, x, y, size, saved, False)
        return split_cost
    return whole_cost


# The quadtree search as a loop over an explicit stack of quadtree nodes (depth-first, the
# quarters in z-order, each node's own CU tried after its quarters): numba cannot cache
# recursive functions (numba issue #6061), and one loop compiles once where a function per
# depth made numba re-optimise the whole search below each level again.
@kernel
def search_ctu(S, cfg, x, y, ctx_copy):
    """Decide the coding quadtree of the CTU at (x, y); leaves it reconstructed and returns J.

    Each node at (x, y, 2^log2) costs ``min(J of one CU, J of the split flag + its four
    quarters)``; 8x8 nodes have no quarters (their 4x4 split is the NxN partition), and a
    node wholly outside the picture costs 0.
    """
    top = CTU_LOG2 - MIN_CU_LOG2  # deepest frame index
    node_x, node_y = np.empty(top + 1, np.int64), np.empty(top + 1, np.int64)
    node_log2, next_quarter = np.empty(top + 1, np.int64), np.zeros(top + 1, np.int64)
    split_cost = np.empty(top + 1, np.float64)
    node_x[0], node_y[0], node_log2[0] = x, y, CTU_LOG2
    split_cost[0] = split_option(S, cfg, x, y, CTU_LOG2)
    depth = 0
    while True:
        if next_quarter[depth] < 4:
            qx, qy, log2 = take_quarter(node_x, node_y, node_log2, next_quarter, depth)
            if log2 == MIN_CU_LOG2:
                split_cost[depth] += whole_option(S, cfg, qx, qy, log2,
                                                  0.0 if coverage(S, qx, qy, log2) == 0 else np.inf, ctx_copy)
            elif coverage(S, qx, qy, log2) != 0:
                depth += 1
                node_x[depth], node_y[depth], node_log2[depth], next_quarter[depth] = qx, qy, log2, 0
                split_cost[depth] = split_option(S, cfg, qx, qy, log2)
        else:
            cost = whole_option(S, cfg, node_x[depth], node_y[depth], node_log2[depth], split_cost[depth], ctx_copy)
            if depth == 0:
                return cost
            depth -= 1
            split_cost[depth] += cost


