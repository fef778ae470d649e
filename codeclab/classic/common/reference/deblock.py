"""HEVC deblocking filter (H.265 §8.7.2), vectorised over all edges of a picture.

Block-based coding leaves steps at block boundaries. The deblocking filter smooths them where
they look like coding artefacts and leaves them where they look like real edges:

1. **Edges** lie on the 8x8 luma grid, where a transform or prediction block ends (the caller
   marks them; :func:`block_edges` derives them from a map of block ids). An edge is handled
   in *segments* of 4 samples: a vertical edge at ``x = 8j`` has one segment per 4 rows.
2. **Boundary strength** Bs per segment (§8.7.2.4, :func:`boundary_strength`): 2 if a side is
   intra, 1 if a transform block with coefficients touches it or the motion differs, else 0.
3. **Thresholds** from the average QP of the two sides, ``qPL = (QpQ + QpP + 1) >> 1``
   (Table 8-12, scaled by ``1 << (B - 8)``): ``beta = beta'[Clip3(0, 51, qPL + 2 *
   slice_beta_offset_div2)]`` bounds the texture, ``tC = tC'[Clip3(0, 53, qPL + 2 * (Bs - 1)
   + 2 * slice_tc_offset_div2)]`` bounds how far a sample may move.
4. **Luma decisions** (§8.7.2.5.3) on lines 0 and 3 of a segment, with the second
   differences ``dp = |p2 - 2 p1 + p0|``, ``dq = |q2 - 2 q1 + q0|``::

       filter the segment    if d = dp0 + dq0 + dp3 + dq3 < beta     (both sides smooth)
       strong filter         if on both lines 2 (dp + dq) < beta >> 2,
                             |p3 - p0| + |q0 - q3| < beta >> 3 and |p0 - q0| < (5 tC + 1) >> 1
       also modify p1 (q1)   if dp0 + dp3 < (beta + (beta >> 1)) >> 3   (resp. dq)

5. **Luma filters** (§8.7.2.5.7): the strong one replaces p2..q2 by low-pass averages, each
   within ``±2 tC``; the normal one moves p0 and q0 by ``delta = (9 (q0 - p0) - 3 (q1 - p1) + 8)
   >> 4`` clipped to ``±tC``, skipped on a line where ``|delta| >= 10 tC`` (a real edge), and p1,
   q1 by half as much.
6. **Chroma** (§8.7.2.5.5, §8.7.2.5.8) only where Bs == 2, on the 8x8 *chroma* grid, moving
   p0 and q0 by ``Clip3(-tC, tC, ((q0 - p0) * 4 + p1 - q1 + 4) >> 3)`` with tC from QpC.

All vertical edges of a picture are filtered first, then all horizontal edges on the result.
A vertical edge reads at most 4 samples on each side and edges are 8 apart, so the segments
of all vertical edges are disjoint 8-sample tiles: they are cut out as one tensor
``(rows/4, edges, 4 lines, 8 samples)`` and filtered at once; horizontal edges are the same
on the transposed picture. Integer arithmetic throughout (int32), so bit-exact everywhere.

Maps of the caller, on the luma grid of an ``H x W`` picture (H, W multiples of 8):

- ``bs_ver``: ``(H/4, W/8)``, Bs of the vertical edge at ``x = 8j``, rows ``4i..4i+3``;
- ``bs_hor``: ``(H/8, W/4)``, Bs of the horizontal edge at ``y = 8i``, columns ``4j..4j+3``;
- ``qp``: an int, or ``(H/4, W/4)`` QpY of each 4x4 block.

Column 0 of ``bs_ver`` and row 0 of ``bs_hor`` (the picture boundary) are ignored.
PCM / transquant-bypass exemptions (pcm_loop_filter_disabled_flag, cu_transquant_bypass_flag)
are not modelled: CodecLab codes neither.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from codeclab.classic.common.tables import BETA_TABLE, TC_TABLE  # noqa: F401 (part of this module's interface)

from codeclab.classic.common.reference.quant import chroma_qp

#: BETA_TABLE, TC_TABLE (H.265 Table 8-12): :mod:`codeclab.classic.common.tables`.

_CHROMA_ARRAY_TYPE = {(2, 2): 1, (2, 1): 2, (1, 1): 3}


# -- edges and boundary strength -------------------------------------------------------------


def edge_sides(unit_map: torch.Tensor, vertical: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """Values of a per-4x4 map on the P and Q sides of every edge segment.

    Args:
        unit_map: ``(H/4, W/4, ...)``, one entry (of any trailing shape) per 4x4 luma block.
        vertical: True for vertical edges (P left of Q), False for horizontal (P above Q).

    Returns:
        ``(p, q)`` shaped like ``bs_ver`` (``(H/4, W/8, ...)``) or ``bs_hor`` (``(H/8, W/4,
        ...)``). At the picture boundary (first column/row) P repeats Q.
    """
    dim = 1 if vertical else 0
    pairs = unit_map.unflatten(dim, (-1, 2))  # 4x4 columns (2j, 2j + 1) of each 8-wide strip
    q = pairs.select(dim + 1, 0)  # right of (below) the edge at 8j: column 2j
    p_inside = pairs.select(dim + 1, 1)  # left of the edge at 8(j + 1): column 2j + 1
    p = torch.cat([q.narrow(dim, 0, 1), p_inside.narrow(dim, 0, q.shape[dim] - 1)], dim=dim)
    return p, q


def block_edges(block_ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Edges on the 8x8 grid between different blocks (§8.7.2.2, §8.7.2.3).

    Args:
        block_ids: ``(H/4, W/4)`` integer map giving each 4x4 luma block the id of the
            transform block (or prediction block) that covers it.

    Returns:
        ``(edges_ver, edges_hor)`` bool maps shaped like ``bs_ver`` and ``bs_hor``. Boundaries
        at 4 mod 8 (inside a 4x4 transform split) are not deblocked in HEVC and do not appear.
    """
    p, q = edge_sides(block_ids, vertical=True)
    edges_ver = p != q
    p, q = edge_sides(block_ids, vertical=False)
    return edges_ver, p != q


def _motion_differs(
    ref_p: torch.Tensor, ref_q: torch.Tensor, mv_p: torch.Tensor, mv_q: torch.Tensor
) -> torch.Tensor:
    """The motion conditions of §8.7.2.4 (Bs = 1), in HM's formulation."""
    mv_p = torch.where((ref_p >= 0).unsqueeze(-1), mv_p, 0)  # an unused list has no vector
    mv_q = torch.where((ref_q >= 0).unsqueeze(-1), mv_q, 0)
    # Same reference pictures (whichever list) and the same number of vectors?
    same_pictures = (ref_p.sort(-1).values == ref_q.sort(-1).values).all(-1)

    def far(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:  # >= 1 luma sample apart
        return ((a - b).abs() >= 4).any(-1)

    straight = far(mv_q[..., 0, :], mv_p[..., 0, :]) | far(mv_q[..., 1, :], mv_p[..., 1, :])
    crossed = far(mv_q[..., 1, :], mv_p[..., 0, :]) | far(mv_q[..., 0, :], mv_p[..., 1, :])
    both_lists_same_picture = ref_p[..., 0] == ref_p[..., 1]
    lists_aligned = ref_p[..., 0] == ref_q[..., 0]
    differs = torch.where(
        both_lists_same_picture,
        straight & crossed,  # either pairing of the vectors must differ
        torch.where(lists_aligned, straight, crossed),  # pair vectors of the same picture
    )
    return ~same_pictures | differs


def boundary_strength(
    edge: torch.Tensor,
    intra_p: torch.Tensor | bool,
    intra_q: torch.Tensor | bool,
    *,
    transform_edge: torch.Tensor | None = None,
    coded_p: torch.Tensor | None = None,
    coded_q: torch.Tensor | None = None,
    ref_p: torch.Tensor | None = None,
    ref_q: torch.Tensor | None = None,
    mv_p: torch.Tensor | None = None,
    mv_q: torch.Tensor | None = None,
) -> torch.Tensor:
    """Boundary strength of edge segments (H.265 §8.7.2.4), element-wise over any shape S.

    Bs = 2 where the edge has an intra block on either side; else 1 where it is a transform
    block edge and either side's luma transform block has non-zero coefficients; else 1 where
    the two sides predict from different reference pictures, from a different number of motion
    vectors, or with vectors of the same picture at least one luma sample (4 quarter samples)
    apart; else 0. Not an edge: 0.

    Args:
        edge: bool ``S``, the segment lies on a transform or prediction block edge.
        intra_p, intra_q: bool ``S`` (or a Python bool), the side is intra-coded.
        transform_edge: bool ``S``, the segment is a transform block edge (default: ``edge``).
        coded_p, coded_q: bool ``S``, the side's luma transform block has coefficients.
        ref_p, ref_q: int ``S + (2,)``, per reference list the *picture* each side predicts
            from (e.g. its POC; -1 where the list is unused). Pictures, not indices: the
            standard compares pictures whichever list they come from.
        mv_p, mv_q: int ``S + (2, 2)``, motion vectors (list, x/y) in quarter luma samples.

    Returns:
        uint8 ``S``. For an all-intra picture ``boundary_strength(edges, True, True)`` is 2 on
        every edge.
    """
    edge = torch.as_tensor(edge, dtype=torch.bool)
    intra = torch.as_tensor(intra_p, dtype=torch.bool) | torch.as_tensor(intra_q, dtype=torch.bool)
    weak = torch.zeros_like(edge)
    if coded_p is not None and coded_q is not None:
        on_transform_edge = edge if transform_edge is None else transform_edge.to(torch.bool)
        weak = weak | (on_transform_edge & (coded_p.to(torch.bool) | coded_q.to(torch.bool)))
    if ref_p is not None and ref_q is not None and mv_p is not None and mv_q is not None:
        weak = weak | _motion_differs(ref_p, ref_q, mv_p, mv_q)
    bs = torch.where(intra, 2, torch.where(weak, 1, 0))
    return torch.where(edge, bs, 0).to(torch.uint8)


# -- the filters on edge segments ------------------------------------------------------------


def luma_thresholds(
    bs: torch.Tensor,
    qp: torch.Tensor,
    bit_depth: int = 8,
    beta_offset_div2: int = 0,
    tc_offset_div2: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(beta, tC)`` of luma segments from Bs and ``qPL`` (§8.7.2.5.3, Table 8-12)."""
    beta_table = torch.tensor(BETA_TABLE, dtype=torch.int32, device=qp.device)
    tc_table = torch.tensor(TC_TABLE, dtype=torch.int32, device=qp.device)
    scale = 1 << (bit_depth - 8)
    q_beta = (qp + 2 * beta_offset_div2).clamp(0, 51).long()
    q_tc = (qp + 2 * (bs.to(torch.int32) - 1) + 2 * tc_offset_div2).clamp(0, 53).long()
    return beta_table[q_beta] * scale, tc_table[q_tc] * scale


def luma_edge_filter(
    segments: torch.Tensor,
    bs: torch.Tensor,
    qp: torch.Tensor,
    bit_depth: int = 8,
    beta_offset_div2: int = 0,
    tc_offset_div2: int = 0,
) -> torch.Tensor:
    """Filter luma edge segments (decisions §8.7.2.5.3/§8.7.2.5.6, filters §8.7.2.5.7).

    Args:
        segments: int ``S + (4, 8)``: 4 lines across the edge, samples ``p3 p2 p1 p0 | q0 q1
            q2 q3`` (P side first, the edge between index 3 and 4).
        bs: int ``S``, boundary strengths (0 leaves the segment alone).
        qp: int ``S``, ``qPL = (QpQ + QpP + 1) >> 1``.
        bit_depth: sample bit depth B.
        beta_offset_div2, tc_offset_div2: slice_beta_offset_div2, slice_tc_offset_div2.

    Returns:
        The filtered segments, int32 ``S + (4, 8)``.
    """
    s = segments.to(torch.int32)
    p3, p2, p1, p0, q0, q1, q2, q3 = s.unbind(-1)  # each S + (4,)
    beta, tc = luma_thresholds(bs, qp.to(torch.int32), bit_depth, beta_offset_div2, tc_offset_div2)

    dp = (p2 - 2 * p1 + p0).abs()
    dq = (q2 - 2 * q1 + q0).abs()
    dp_sum = dp[..., 0] + dp[..., 3]
    dq_sum = dq[..., 0] + dq[..., 3]
    filtered = (bs > 0) & (dp_sum + dq_sum < beta)

    # dSam of §8.7.2.5.6 on every line; the strong filter needs it on lines 0 and 3.
    b, t = beta.unsqueeze(-1), tc.unsqueeze(-1)
    strong_line = (
        (2 * (dp + dq) < (b >> 2))
        & ((p3 - p0).abs() + (q0 - q3).abs() < (b >> 3))
        & ((p0 - q0).abs() < ((5 * t + 1) >> 1))
    )
    strong = (filtered & strong_line[..., 0] & strong_line[..., 3]).unsqueeze(-1)
    normal = (filtered.unsqueeze(-1)) & ~strong
    side_threshold = (beta + (beta >> 1)) >> 3
    filter_p1 = (dp_sum < side_threshold).unsqueeze(-1)
    filter_q1 = (dq_sum < side_threshold).unsqueeze(-1)

    # Strong filter: low-pass averages, each kept within 2 tC of the input.
    t2 = 2 * t

    def near(value: torch.Tensor, anchor: torch.Tensor) -> torch.Tensor:
        return torch.minimum(torch.maximum(value, anchor - t2), anchor + t2)

    strong_p0 = near((p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3, p0)
    strong_p1 = near((p2 + p1 + p0 + q0 + 2) >> 2, p1)
    strong_p2 = near((2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3, p2)
    strong_q0 = near((p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3, q0)
    strong_q1 = near((p0 + q0 + q1 + q2 + 2) >> 2, q1)
    strong_q2 = near((p0 + q0 + q1 + 3 * q2 + 2 * q3 + 4) >> 3, q2)

    # Normal filter, line by line: skipped where the step is too large to be an artefact.
    max_value = (1 << bit_depth) - 1
    delta = (9 * (q0 - p0) - 3 * (q1 - p1) + 8) >> 4
    normal = normal & (delta.abs() < 10 * t)
    delta = torch.minimum(torch.maximum(delta, -t), t)
    half = t >> 1
    delta_p = torch.minimum(torch.maximum((((p2 + p0 + 1) >> 1) - p1 + delta) >> 1, -half), half)
    delta_q = torch.minimum(torch.maximum((((q2 + q0 + 1) >> 1) - q1 - delta) >> 1, -half), half)
    normal_p0 = (p0 + delta).clamp(0, max_value)
    normal_q0 = (q0 - delta).clamp(0, max_value)
    normal_p1 = (p1 + delta_p).clamp(0, max_value)
    normal_q1 = (q1 + delta_q).clamp(0, max_value)

    new_p2 = torch.where(strong, strong_p2, p2)
    new_p1 = torch.where(strong, strong_p1, torch.where(normal & filter_p1, normal_p1, p1))
    new_p0 = torch.where(strong, strong_p0, torch.where(normal, normal_p0, p0))
    new_q0 = torch.where(strong, strong_q0, torch.where(normal, normal_q0, q0))
    new_q1 = torch.where(strong, strong_q1, torch.where(normal & filter_q1, normal_q1, q1))
    new_q2 = torch.where(strong, strong_q2, q2)
    return torch.stack([p3, new_p2, new_p1, new_p0, new_q0, new_q1, new_q2, q3], dim=-1)


def chroma_edge_filter(
    segments: torch.Tensor,
    bs: torch.Tensor,
    qp_c: torch.Tensor,
    bit_depth: int = 8,
    tc_offset_div2: int = 0,
) -> torch.Tensor:
    """Filter chroma edge segments (§8.7.2.5.5, §8.7.2.5.8); only Bs == 2 is filtered.

    Args:
        segments: int ``S + (4, 4)``: 4 lines of ``p1 p0 | q0 q1``.
        bs: int ``S``, boundary strengths of the co-located luma segments.
        qp_c: int ``S``, QpC (Table 8-10 of ``qPL + cQpPicOffset``).
        bit_depth: chroma bit depth.
        tc_offset_div2: slice_tc_offset_div2.

    Returns:
        int32 ``S + (4, 4)``: ``p0 + delta, q0 - delta`` with ``delta = Clip3(-tC, tC,
        (((q0 - p0) << 2) + p1 - q1 + 4) >> 3)``, ``tC = tC'[Clip3(0, 53, QpC + 2 +
        2 * slice_tc_offset_div2)] << (B - 8)``.
    """
    s = segments.to(torch.int32)
    p1, p0, q0, q1 = s.unbind(-1)
    tc_table = torch.tensor(TC_TABLE, dtype=torch.int32, device=s.device)
    q_tc = (qp_c.to(torch.int32) + 2 + 2 * tc_offset_div2).clamp(0, 53).long()
    t = (tc_table[q_tc] << (bit_depth - 8)).unsqueeze(-1)
    delta = (((q0 - p0) << 2) + p1 - q1 + 4) >> 3
    delta = torch.minimum(torch.maximum(delta, -t), t)
    on = (bs == 2).unsqueeze(-1)
    max_value = (1 << bit_depth) - 1
    new_p0 = torch.where(on, (p0 + delta).clamp(0, max_value), p0)
    new_q0 = torch.where(on, (q0 - delta).clamp(0, max_value), q0)
    return torch.stack([p1, new_p0, new_q0, q1], dim=-1)


# -- whole planes ----------------------------------------------------------------------------


def _filter_vertical_edges(
    plane: torch.Tensor, filter_tiles: Callable[..., torch.Tensor], *maps: torch.Tensor
) -> torch.Tensor:
    """Apply ``filter_tiles(tiles, *maps)`` to the 8-sample tiles around every vertical edge.

    Edges sit at ``x = 8, 16, ..., 8E``; the tile of edge j and rows ``4i..4i+3`` is
    ``plane[4i:4i+4, 8j-4:8j+4]``. Tiles do not overlap, so all are filtered at once.
    """
    height, width = plane.shape
    edges = (width - 1) // 8
    if edges == 0:
        return plane
    span = plane[:, 4 : 4 + 8 * edges]
    tiles = span.reshape(height // 4, 4, edges, 8).transpose(1, 2)  # (rows, edges, lines, 8)
    maps = tuple(m[:, 1 : edges + 1] for m in maps)
    filtered = filter_tiles(tiles, *maps)
    out = plane.clone()
    out[:, 4 : 4 + 8 * edges] = filtered.transpose(1, 2).reshape(height, 8 * edges)
    return out


def _qp_maps(
    qp: int | torch.Tensor, height: int, width: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    """``qPL = (QpQ + QpP + 1) >> 1`` per segment of vertical and of horizontal edges."""
    qp_map = torch.as_tensor(qp, dtype=torch.int32, device=device)
    if qp_map.dim() == 0:
        qp_map = qp_map.expand(height // 4, width // 4)
    if tuple(qp_map.shape) != (height // 4, width // 4):
        raise ValueError(f"qp map must be (H/4, W/4) = {(height // 4, width // 4)}")
    p, q = edge_sides(qp_map, vertical=True)
    qp_ver = (p + q + 1) >> 1
    p, q = edge_sides(qp_map, vertical=False)
    return qp_ver, (p + q + 1) >> 1


def _picture_size(bs_ver: torch.Tensor, bs_hor: torch.Tensor) -> tuple[int, int]:
    """Luma ``(H, W)`` implied by the Bs maps ``(H/4, W/8)`` and ``(H/8, W/4)``."""
    height, width = 4 * bs_ver.shape[0], 8 * bs_ver.shape[1]
    if bs_ver.dim() != 2 or tuple(bs_hor.shape) != (height // 8, width // 4) or height % 8:
        raise ValueError(
            f"Bs maps must be (H/4, W/8) and (H/8, W/4) of one picture whose sides are "
            f"multiples of 8, got {tuple(bs_ver.shape)} and {tuple(bs_hor.shape)}"
        )
    return height, width


def deblock_luma(
    plane: torch.Tensor,
    bs_ver: torch.Tensor,
    bs_hor: torch.Tensor,
    qp: int | torch.Tensor,
    *,
    bit_depth: int = 8,
    beta_offset_div2: int = 0,
    tc_offset_div2: int = 0,
) -> torch.Tensor:
    """Deblock a luma plane: all vertical edges, then all horizontal edges (§8.7.2).

    Args:
        plane: ``(H, W)`` integer samples, H and W multiples of 8.
        bs_ver, bs_hor: Bs maps ``(H/4, W/8)`` and ``(H/8, W/4)`` (module docstring).
        qp: QpY, an int or a ``(H/4, W/4)`` map.
        bit_depth: sample bit depth B.
        beta_offset_div2, tc_offset_div2: slice_beta_offset_div2 and slice_tc_offset_div2.

    Returns:
        The deblocked plane, same shape and dtype.
    """
    height, width = _picture_size(bs_ver, bs_hor)
    if tuple(plane.shape) != (height, width):
        raise ValueError(
            f"luma plane must be {(height, width)} to match the Bs maps, got {tuple(plane.shape)}"
        )
    qp_ver, qp_hor = _qp_maps(qp, height, width, plane.device)

    def filter_tiles(tiles: torch.Tensor, bs: torch.Tensor, qpl: torch.Tensor) -> torch.Tensor:
        return luma_edge_filter(tiles, bs, qpl, bit_depth, beta_offset_div2, tc_offset_div2)

    out = _filter_vertical_edges(plane.to(torch.int32), filter_tiles, bs_ver, qp_ver)
    out = _filter_vertical_edges(out.T.contiguous(), filter_tiles, bs_hor.T, qp_hor.T).T
    return out.to(plane.dtype).contiguous()


def deblock_chroma(
    plane: torch.Tensor,
    bs_ver: torch.Tensor,
    bs_hor: torch.Tensor,
    qp: int | torch.Tensor,
    *,
    subsampling: tuple[int, int] = (2, 2),
    bit_depth: int = 8,
    qp_offset: int = 0,
    tc_offset_div2: int = 0,
) -> torch.Tensor:
    """Deblock one chroma plane with the *luma* Bs and QP maps (§8.7.2.5.5).

    Args:
        plane: ``(H / sy, W / sx)`` chroma samples of an ``H x W`` picture.
        bs_ver, bs_hor, qp: the luma maps given to :func:`deblock_luma`.
        subsampling: ``(sx, sy)``: (2, 2) for 4:2:0, (2, 1) for 4:2:2, (1, 1) for 4:4:4.
        bit_depth: chroma bit depth.
        qp_offset: cQpPicOffset (``pps_cb_qp_offset`` or ``pps_cr_qp_offset``).
        tc_offset_div2: slice_tc_offset_div2.

    Chroma edges lie on the 8x8 chroma grid; the segment of chroma lines ``4k..4k+3`` takes the
    Bs and qPL of the luma segment at luma line ``4k * sy``, and ``QpC`` comes from Table 8-10
    of ``qPi = qPL + cQpPicOffset``.
    """
    height, width = _picture_size(bs_ver, bs_hor)
    sx, sy = subsampling
    if (sx, sy) not in _CHROMA_ARRAY_TYPE:
        raise ValueError(f"unsupported chroma subsampling {subsampling}")
    chroma_array_type = _CHROMA_ARRAY_TYPE[(sx, sy)]
    if tuple(plane.shape) != (height // sy, width // sx):
        raise ValueError(
            f"chroma plane must be {(height // sy, width // sx)}, got {tuple(plane.shape)}"
        )
    qp_ver, qp_hor = _qp_maps(qp, height, width, plane.device)

    def chroma_maps(bs: torch.Tensor, qpl: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        qp_c = chroma_qp(qpl[::sy, ::sx] + qp_offset, chroma_array_type)
        return bs[::sy, ::sx], qp_c

    def filter_tiles(tiles: torch.Tensor, bs: torch.Tensor, qp_c: torch.Tensor) -> torch.Tensor:
        inner = chroma_edge_filter(tiles[..., 2:6], bs, qp_c, bit_depth, tc_offset_div2)
        return torch.cat([tiles[..., :2], inner, tiles[..., 6:]], dim=-1)

    out = _filter_vertical_edges(plane.to(torch.int32), filter_tiles, *chroma_maps(bs_ver, qp_ver))
    bs_c, qp_c = chroma_maps(bs_hor, qp_hor)
    out = _filter_vertical_edges(out.T.contiguous(), filter_tiles, bs_c.T, qp_c.T).T
    return out.to(plane.dtype).contiguous()
