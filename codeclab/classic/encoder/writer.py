"""Writing decided CUs and CTUs: the encoder's mirror of the decoder's parsing.

After the search has left its decisions in the search state ``S`` (quadtree, modes,
motion, levels), :func:`write_ctu` walks the same quadtree as
:func:`codeclab.classic.decoder.picture.decode_ctus` and writes every syntax element in
the order the decoder reads it (H.265 §7.3.8: coding quadtree, coding unit, transform tree).
"""

from __future__ import annotations

from codeclab.classic.common.nnintra import NN_MODE_BASE, nn_heads_for
from codeclab.classic.common.partition import (CTU_LOG2, CTU_SIZE, MIN_CU_LOG2, UNITS_PER_CTU, block_coverage,
                                               fill_map, largest_block_at, neighbour_modes, split_context,
                                               units_of, z_order_position)
from codeclab.classic.common.picture import INTRA, MERGE, SKIP
from codeclab.classic.common.syntax import (CBF_CHROMA, CBF_CHROMA_INTER, CBF_LUMA, CBF_LUMA_INTER, CU_SKIP,
                                            MERGE_FLAG, MVP_IDX, PART_NXN, PRED_MODE, ROOT_CBF, SPLIT_CU,
                                            head_bits_of, mode_to_syntax, most_probable_modes,
                                            nn_intra_context)
from codeclab.classic.decoder.picture import skip_context
from codeclab.classic.encoder.residual import encode_block
from codeclab.classic.encoder.syntax import (encode_chroma_mode, encode_flag, encode_luma_mode,
                                             encode_merge_idx, encode_mvd, encode_nn_intra, encode_ref_idx)
from codeclab.kernels import kernel


# -------------------------------------------------------------------- writing
@kernel
def _write_block(reg, out, ctx, S, comp, x, y, n, cbf_ctx):
    """cbf and residual_coding of one transform block, from the decided levels."""
    block = S.pic.levels[comp][y:y + n, x:x + n]
    coded = 0
    for i in range(n):
        for j in range(n):
            if block[i, j] != 0:
                coded = 1
    reg = encode_flag(reg, out, ctx, cbf_ctx, coded)
    if coded:
        log2n = 2 if n == 4 else (3 if n == 8 else (4 if n == 16 else 5))
        reg = encode_block(reg, out, ctx, block, log2n, comp > 0, S.scans[2],
                           S.scans[log2n - 2], S.sign_hiding, S.scratch[7][:0], S.scratch[8])
    return reg


@kernel
def write_intra_cu(reg, out, ctx, S, x, y, log2, tu_count):
    """The intra part of coding_unit(): mirror of :func:`codeclab.classic.decoder.picture.decode_intra_cu`."""
    size = 1 << log2
    nxn = S.nxn[y >> 2, x >> 2] if log2 == MIN_CU_LOG2 else 0
    if log2 == MIN_CU_LOG2:
        reg = encode_flag(reg, out, ctx, PART_NXN, nxn)
    parts = 4 if nxn else 1
    part_size = size >> 1 if nxn else size
    for i in range(parts):
        px, py = x + (i & 1) * part_size, y + (i >> 1) * part_size
        mode = S.pic.luma_mode[py >> 2, px >> 2]
        heads = nn_heads_for(S.work[6], part_size)
        if heads:
            head = mode - NN_MODE_BASE if mode >= NN_MODE_BASE else -1
            inc = nn_intra_context(S.pic.luma_mode, px, py)
            reg = encode_nn_intra(reg, out, ctx, inc, head, head_bits_of(heads))
            if head >= 0:
                continue
        left, above = neighbour_modes(S.pic.luma_mode, px, py)
        m0, m1, m2 = most_probable_modes(left, above)
        is_mpm, index = mode_to_syntax(mode, m0, m1, m2)
        reg = encode_luma_mode(reg, out, ctx, is_mpm, index)
    reg = encode_chroma_mode(reg, out, ctx, S.chroma_syntax[y >> 2, x >> 2], S.cclm)
    quarters = 4 if log2 == CTU_LOG2 else 1
    tu = size >> 1 if log2 == CTU_LOG2 else size
    split_tu = 1 if (quarters > 1 or nxn) else 0
    for q in range(quarters):
        tx, ty = x + (q & 1) * tu, y + (q >> 1) * tu
        for i in range(parts):
            bx, by = tx + (i & 1) * part_size, ty + (i >> 1) * part_size
            n = part_size if nxn else tu
            reg = _write_block(reg, out, ctx, S, 0, bx, by, n, CBF_LUMA + split_tu)
            tu_count += 1
            fill_map(S.pic.tu_id, bx, by, n, tu_count)
        for comp in (1, 2):
            reg = _write_block(reg, out, ctx, S, comp, tx >> 1, ty >> 1, tu >> 1,
                               CBF_CHROMA + split_tu)
    return reg, tu_count


@kernel
def has_residual(S, x, y, size):
    """Does the CU have any non-zero level (its rqt_root_cbf)?"""
    for comp in range(3):
        shift = 1 if comp else 0
        levels = S.pic.levels[comp]
        for i in range(y >> shift, (y + size) >> shift):
            for j in range(x >> shift, (x + size) >> shift):
                if levels[i, j] != 0:
                    return 1
    return 0


@kernel
def write_inter_cu(reg, out, ctx, S, x, y, log2, num_refs, tu_count):
    """The inter part of coding_unit(): mirror of :func:`codeclab.classic.decoder.picture.decode_inter_cu`."""
    size = 1 << log2
    u, v = x >> 2, y >> 2
    kind = S.pic.cu_kind[v, u]
    merge_idx, mvp_idx, mvd_x, mvd_y = S.syntax[v, u, 0], S.syntax[v, u, 1], S.syntax[v, u, 2], S.syntax[v, u, 3]
    if kind == SKIP:
        reg = encode_merge_idx(reg, out, ctx, merge_idx)
    else:
        reg = encode_flag(reg, out, ctx, PRED_MODE, 0)
        reg = encode_flag(reg, out, ctx, MERGE_FLAG, 1 if kind == MERGE else 0)
        if kind == MERGE:
            reg = encode_merge_idx(reg, out, ctx, merge_idx)
        else:
            reg = encode_ref_idx(reg, out, ctx, S.pic.ref_idx[v, u], num_refs)
            reg = encode_mvd(reg, out, ctx, mvd_x, mvd_y)
            reg = encode_flag(reg, out, ctx, MVP_IDX, mvp_idx)
    root_cbf = 0 if kind == SKIP else 1
    if kind != SKIP and kind != MERGE:
        root_cbf = has_residual(S, x, y, size)
        reg = encode_flag(reg, out, ctx, ROOT_CBF, root_cbf)
    if not root_cbf:
        tu_count += 1
        fill_map(S.pic.tu_id, x, y, size, tu_count)
        return reg, tu_count
    quarters = 4 if log2 == CTU_LOG2 else 1
    tu = size >> 1 if log2 == CTU_LOG2 else size
    split_tu = 1 if quarters > 1 else 0
    for q in range(quarters):
        tx, ty = x + (q & 1) * tu, y + (q >> 1) * tu
        reg = _write_block(reg, out, ctx, S, 0, tx, ty, tu, CBF_LUMA_INTER + split_tu)
        tu_count += 1
        fill_map(S.pic.tu_id, tx, ty, tu, tu_count)
        for comp in (1, 2):
            reg = _write_block(reg, out, ctx, S, comp, tx >> 1, ty >> 1, tu >> 1,
                               CBF_CHROMA_INTER + split_tu)
    return reg, tu_count


@kernel
def write_cu(reg, out, ctx, S, x, y, log2, num_refs, tu_count):
    """coding_unit(): the mirror image of :func:`codeclab.classic.decoder.picture.decode_cu`.

    ``num_refs`` is None in an intra picture: numba then drops the inter branch, and writing
    a still picture compiles no inter syntax."""
    if num_refs is not None:
        kind = S.pic.cu_kind[y >> 2, x >> 2]
        reg = encode_flag(reg, out, ctx, CU_SKIP + skip_context(S.pic, x, y), 1 if kind == SKIP else 0)
        if kind != INTRA:
            return write_inter_cu(reg, out, ctx, S, x, y, log2, num_refs, tu_count)
        reg = encode_flag(reg, out, ctx, PRED_MODE, 1)
    return write_intra_cu(reg, out, ctx, S, x, y, log2, tu_count)


@kernel
def write_ctu(reg, out, ctx, S, row, col, num_refs, tu_count):
    """coding_quadtree() of one CTU, walked in z-order as the decoder walks it; ``num_refs``:
    None in an intra picture (:func:`write_cu`)."""
    coded_height, coded_width = S.pic.coded
    k = 0
    while k < UNITS_PER_CTU:
        ux, uy = z_order_position(k)
        x = col * CTU_SIZE + (ux << MIN_CU_LOG2)
        y = row * CTU_SIZE + (uy << MIN_CU_LOG2)
        log2 = largest_block_at(k)
        if block_coverage(x, y, 1 << log2, coded_height, coded_width) == 0:
            k += units_of(log2)
            continue
        cu_log2 = S.pic.cu_log2[y >> 2, x >> 2]
        while log2 > MIN_CU_LOG2:
            split = 1 if cu_log2 < log2 else 0
            if block_coverage(x, y, 1 << log2, coded_height, coded_width) == 2:
                inc = split_context(S.pic.cu_log2, x, y, log2)
                reg = encode_flag(reg, out, ctx, SPLIT_CU + inc, split)
            if not split:
                break
            log2 -= 1
        reg, tu_count = write_cu(reg, out, ctx, S, x, y, log2, num_refs, tu_count)
        k += units_of(log2)
    return reg, tu_count
