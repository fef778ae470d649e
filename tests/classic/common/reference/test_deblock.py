"""HEVC deblocking: tables, decisions and filters by hand, and whole pictures against the
standard's per-edge process written out sample by sample."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.classic.common.reference.deblock import (BETA_TABLE, TC_TABLE, block_edges, boundary_strength,
                                                       chroma_edge_filter, deblock_chroma, deblock_luma,
                                                       edge_sides, luma_edge_filter)
from codeclab.classic.common.reference.quant import chroma_qp


def test_tables():
    assert len(BETA_TABLE) == 52 and len(TC_TABLE) == 54
    assert [BETA_TABLE[q] for q in (15, 16, 29, 37, 51)] == [0, 6, 20, 36, 64]
    assert [TC_TABLE[q] for q in (17, 18, 36, 39, 53)] == [0, 1, 4, 5, 24]
    assert list(BETA_TABLE) == sorted(BETA_TABLE) and list(TC_TABLE) == sorted(TC_TABLE)


def segment(p: list[int], q: list[int]) -> torch.Tensor:
    """One luma segment of 4 identical lines ``p3 p2 p1 p0 | q0 q1 q2 q3``."""
    return torch.tensor([p + q] * 4, dtype=torch.int32)[None]


def filter_one(p, q, qp=37, bs=2, **kwargs) -> list[int]:
    out = luma_edge_filter(segment(p, q), torch.tensor([bs]), torch.tensor([qp]), **kwargs)
    assert (out[0] == out[0, 0]).all()  # identical lines stay identical
    return out[0, 0].tolist()


def test_strong_filter_by_hand():
    # QP 37, Bs 2: beta = 36, tC = tC'[39] = 5. Flat sides, step 10 < (5 tC + 1) >> 1 = 13.
    # p0' = (100 + 200 + 200 + 220 + 110 + 4) >> 3 = 104,  p1' = (300 + 110 + 2) >> 2 = 103,
    # p2' = (200 + 300 + 100 + 100 + 110 + 4) >> 3 = 101,  q0' = (100 + 200 + 220 + 220 + 110 + 4)
    # >> 3 = 106,  q1' = (100 + 330 + 2) >> 2 = 108,  q2' = (100 + 220 + 330 + 220 + 4) >> 3 = 109.
    assert filter_one([100] * 4, [110] * 4) == [100, 101, 103, 104, 106, 108, 109, 110]


def test_normal_filter_by_hand():
    # Step 30 >= 13: no strong filter. delta = (9 * 30 - 3 * 30 + 8) >> 4 = 11 < 10 tC, clipped
    # to tC = 5: p0 105, q0 125. Sides flat (dp = 0 < (36 + 18) >> 3): p1 moves by
    # Clip3(-2, 2, (100 - 100 + 5) >> 1) = 2, q1 by Clip3(-2, 2, (130 - 130 - 5) >> 1) = -2.
    assert filter_one([100] * 4, [130] * 4) == [100, 100, 102, 105, 125, 128, 130, 130]


def test_edges_that_are_not_artefacts_are_left_alone():
    # A step of 200 gives |delta| = 75 >= 10 tC = 50: a real edge.
    assert filter_one([20] * 4, [220] * 4) == [20] * 4 + [220] * 4
    # Texture on a side: d = 2 * |p2 - 2 p1 + p0| = 2 * 40 = 80 >= beta = 36.
    textured = [100, 120, 100, 120]
    assert filter_one(textured, [130] * 4) == textured + [130] * 4
    # ... while a step below beta-sized texture is smoothed.
    assert filter_one([100, 104, 100, 104], [110] * 4) != [100, 104, 100, 104] + [110] * 4
    # Bs 0, or QP so low that beta' = 0: untouched.
    assert filter_one([100] * 4, [110] * 4, bs=0) == [100] * 4 + [110] * 4
    assert filter_one([100] * 4, [110] * 4, qp=15) == [100] * 4 + [110] * 4


def test_offsets_and_bit_depth_scale_the_thresholds():
    # tc_offset_div2 = -3 moves tC to tC'[33] = 3: the step of 30 now moves p0 by 3 only.
    assert filter_one([100] * 4, [130] * 4, tc_offset_div2=-3)[3] == 103
    # At 10 bits beta and tC scale by 4: the same step scaled by 4 takes the same decisions,
    # delta = (9 * 120 - 3 * 120 + 8) >> 4 = 45 -> tC = 20, p1/q1 move by tC >> 1 = 10.
    expected = [400, 400, 410, 420, 500, 510, 520, 520]
    assert filter_one([400] * 4, [520] * 4, bit_depth=10) == expected


def test_decisions_use_lines_0_and_3():
    seg = segment([100] * 4, [110] * 4)
    seg[0, 1, :4] = torch.tensor([100, 140, 100, 100])  # texture on line 1 only: not looked at
    out = luma_edge_filter(seg, torch.tensor([2]), torch.tensor([37]))
    assert out[0, 0].tolist() == [100, 101, 103, 104, 106, 108, 109, 110]


def test_chroma_filter_by_hand():
    # QpC(37) = 34, tC = tC'[36] = 4; delta = Clip3(-4, 4, (120 + 100 - 130 + 4) >> 3 = 11) = 4.
    seg = torch.tensor([[[100, 100, 130, 130]] * 4], dtype=torch.int32)
    qp_c = torch.tensor([chroma_qp(37)])
    assert chroma_edge_filter(seg, torch.tensor([2]), qp_c)[0, 0].tolist() == [100, 104, 126, 130]
    assert torch.equal(chroma_edge_filter(seg, torch.tensor([1]), qp_c), seg)  # Bs 1: untouched


def test_edges_from_block_ids():
    # 16x16 picture: a 16x16 block on the left half of the top ... as 4x4 units (4 x 4 map).
    ids = torch.tensor([[0, 0, 1, 2], [0, 0, 3, 3], [4, 4, 5, 5], [4, 4, 5, 5]])
    edges_ver, edges_hor = block_edges(ids)
    assert edges_ver.tolist() == [[False, True], [False, True], [False, True], [False, True]]
    # The boundary between ids 1 and 2 (x = 12) is not on the 8x8 grid.
    assert edges_hor.tolist() == [[False] * 4, [True] * 4]
    p, q = edge_sides(ids, vertical=True)
    assert p[:, 1].tolist() == [0, 0, 4, 4] and q[:, 1].tolist() == [1, 3, 5, 5]


def test_boundary_strength_rules():
    edge = torch.tensor([True, True, True, True, False])
    intra = torch.tensor([True, False, False, False, True])
    coded = torch.tensor([False, True, False, False, False])
    assert boundary_strength(
        edge, intra, False, coded_p=coded, coded_q=torch.zeros(5, dtype=torch.bool)
    ).tolist() == [2, 1, 0, 0, 0]
    assert boundary_strength(edge, True, True).tolist() == [2, 2, 2, 2, 0]
    # Coefficients only count on transform edges.
    assert (
        boundary_strength(
            edge,
            False,
            False,
            transform_edge=torch.zeros(5, dtype=torch.bool),
            coded_p=coded,
            coded_q=coded,
        ).tolist()
        == [0] * 5
    )


def motion_bs(ref_p, ref_q, mv_p, mv_q) -> int:
    return boundary_strength(
        torch.tensor([True]), False, False,
        ref_p=torch.tensor([ref_p]), ref_q=torch.tensor([ref_q]),
        mv_p=torch.tensor([mv_p]), mv_q=torch.tensor([mv_q]),
    ).item()  # fmt: skip


def test_boundary_strength_motion_rules():
    zero = [[0, 0], [0, 0]]
    # One vector each, same picture: 1 iff a component differs by >= 4 quarter samples.
    assert motion_bs([5, -1], [5, -1], [[3, 0], [0, 0]], zero) == 0
    assert motion_bs([5, -1], [5, -1], [[4, 0], [0, 0]], zero) == 1
    assert motion_bs([5, -1], [6, -1], zero, zero) == 1  # different pictures
    assert motion_bs([5, -1], [5, 6], zero, zero) == 1  # different numbers of vectors
    # Same picture through different lists: compare the vectors of that picture.
    assert motion_bs([5, -1], [-1, 5], [[8, 0], [0, 0]], [[0, 0], [8, 0]]) == 0
    # Two pictures, swapped lists: vectors pair by picture.
    assert motion_bs([5, 6], [6, 5], [[8, 0], [0, 8]], [[0, 8], [8, 0]]) == 0
    assert motion_bs([5, 6], [6, 5], [[8, 0], [0, 8]], [[8, 0], [0, 8]]) == 1
    # Both vectors from one picture: 1 only if both pairings differ.
    assert motion_bs([5, 5], [5, 5], [[8, 0], [0, 0]], [[0, 0], [8, 0]]) == 0
    assert motion_bs([5, 5], [5, 5], [[8, 0], [0, 0]], [[0, 0], [0, 8]]) == 1


# -- whole pictures against the standard, one edge segment at a time -------------------------


def reference_luma_segment(img: np.ndarray, rows: list[int], x: int, bs: int, qpl: int,
                           bit_depth: int) -> None:  # fmt: skip
    """One segment of a vertical luma edge at column x, filtered in place (§8.7.2.5.3/6/7)."""
    beta = BETA_TABLE[min(max(qpl, 0), 51)] << (bit_depth - 8)
    tc = TC_TABLE[min(max(qpl + 2 * (bs - 1), 0), 53)] << (bit_depth - 8)
    top = (1 << bit_depth) - 1
    p = {r: [int(img[r, x - 1 - k]) for k in range(4)] for r in rows}  # p[r][k] = p_k
    q = {r: [int(img[r, x + k]) for k in range(4)] for r in rows}
    dp = {r: abs(p[r][2] - 2 * p[r][1] + p[r][0]) for r in (rows[0], rows[3])}
    dq = {r: abs(q[r][2] - 2 * q[r][1] + q[r][0]) for r in (rows[0], rows[3])}
    if sum(dp.values()) + sum(dq.values()) >= beta:
        return

    def d_sam(r: int) -> bool:
        return (
            2 * (dp[r] + dq[r]) < (beta >> 2)
            and abs(p[r][3] - p[r][0]) + abs(q[r][0] - q[r][3]) < (beta >> 3)
            and abs(p[r][0] - q[r][0]) < ((5 * tc + 1) >> 1)
        )

    strong = d_sam(rows[0]) and d_sam(rows[3])
    d_ep = sum(dp.values()) < ((beta + (beta >> 1)) >> 3)
    d_eq = sum(dq.values()) < ((beta + (beta >> 1)) >> 3)
    for r in rows:
        p0, p1, p2, p3 = p[r]
        q0, q1, q2, q3 = q[r]
        if strong:
            new_p = [(p2 + 2 * p1 + 2 * p0 + 2 * q0 + q1 + 4) >> 3, (p2 + p1 + p0 + q0 + 2) >> 2,
                     (2 * p3 + 3 * p2 + p1 + p0 + q0 + 4) >> 3]  # fmt: skip
            new_q = [(p1 + 2 * p0 + 2 * q0 + 2 * q1 + q2 + 4) >> 3, (p0 + q0 + q1 + q2 + 2) >> 2,
                     (p0 + q0 + q1 + 3 * q2 + 2 * q3 + 4) >> 3]  # fmt: skip
            new_p = [min(max(v, a - 2 * tc), a + 2 * tc) for v, a in zip(new_p, p[r], strict=False)]
            new_q = [min(max(v, a - 2 * tc), a + 2 * tc) for v, a in zip(new_q, q[r], strict=False)]
        else:
            delta = (9 * (q0 - p0) - 3 * (q1 - p1) + 8) >> 4
            if abs(delta) >= tc * 10:
                continue
            delta = min(max(delta, -tc), tc)
            new_p = [min(max(p0 + delta, 0), top), p1, p2]
            new_q = [min(max(q0 - delta, 0), top), q1, q2]
            if d_ep:
                delta_p = min(max((((p2 + p0 + 1) >> 1) - p1 + delta) >> 1, -(tc >> 1)), tc >> 1)
                new_p[1] = min(max(p1 + delta_p, 0), top)
            if d_eq:
                delta_q = min(max((((q2 + q0 + 1) >> 1) - q1 - delta) >> 1, -(tc >> 1)), tc >> 1)
                new_q[1] = min(max(q1 + delta_q, 0), top)
        for k in range(3):
            img[r, x - 1 - k] = new_p[k]
            img[r, x + k] = new_q[k]


def reference_deblock_luma(plane: np.ndarray, bs_ver, bs_hor, qp_map, bit_depth=8) -> np.ndarray:
    """The standard's order: every vertical edge segment, then every horizontal one."""
    out = plane.astype(np.int64).copy()

    def vertical_edges(img: np.ndarray, bs: np.ndarray, qp: np.ndarray) -> None:
        for i, j in np.argwhere(bs[:, 1:] > 0) + [0, 1]:
            qpl = (int(qp[i, 2 * j - 1]) + int(qp[i, 2 * j]) + 1) >> 1
            reference_luma_segment(img, [4 * i + k for k in range(4)], 8 * j, int(bs[i, j]), qpl,
                                   bit_depth)  # fmt: skip

    vertical_edges(out, bs_ver, qp_map)
    transposed = np.ascontiguousarray(out.T)
    vertical_edges(transposed, bs_hor.T, qp_map.T)
    return transposed.T


def reference_deblock_chroma(plane: np.ndarray, bs_ver, bs_hor, qp_map, qp_offset=0) -> np.ndarray:
    """§8.7.2.5.5 and §8.7.2.5.8 for 4:2:0, transcribed."""
    out = plane.astype(np.int64).copy()

    def edge_pass(img, bs, qp):
        rows, cols = img.shape
        for yc in range(0, rows, 4):  # segments of 4 chroma lines
            for xc in range(8, cols, 8):  # edges on the 8x8 chroma grid
                i, j = 2 * yc // 4, 2 * xc // 8  # the co-located luma segment
                if bs[i, j] != 2:
                    continue
                qpi = ((qp[i, 2 * j - 1] + qp[i, 2 * j] + 1) >> 1) + qp_offset
                tc = TC_TABLE[min(max(chroma_qp(int(qpi)) + 2, 0), 53)]
                for r in range(yc, yc + 4):
                    p1, p0, q0, q1 = img[r, xc - 2], img[r, xc - 1], img[r, xc], img[r, xc + 1]
                    delta = min(max((((q0 - p0) << 2) + p1 - q1 + 4) >> 3, -tc), tc)
                    img[r, xc - 1] = min(max(p0 + delta, 0), 255)
                    img[r, xc] = min(max(q0 - delta, 0), 255)

    edge_pass(out, bs_ver, qp_map)
    transposed = np.ascontiguousarray(out.T)
    edge_pass(transposed, bs_hor.T, qp_map.T)
    return transposed.T


def blocky_picture(sample_image_path, height: int, width: int, step: int) -> np.ndarray:
    """A real crop coded crudely: 8x8 block means plus a quantized remainder, so its edges
    range from invisible to strong and every filter decision gets exercised."""
    y = np.asarray(Image.open(sample_image_path).convert("L"), dtype=np.int64)[:height, :width]
    means = y.reshape(height // 8, 8, width // 8, 8).mean(axis=(1, 3)).round().astype(np.int64)
    coarse = np.kron(means, np.ones((8, 8), dtype=np.int64))
    return np.clip(coarse + (y - coarse) // step * step, 0, 255)


def test_luma_picture_matches_the_standard(sample_image_path):
    height, width = 64, 96
    generator = torch.Generator().manual_seed(3)
    for step in (4, 16):
        picture = blocky_picture(sample_image_path, height, width, step)
        bs_ver = torch.randint(0, 3, (height // 4, width // 8), generator=generator)
        bs_hor = torch.randint(0, 3, (height // 8, width // 4), generator=generator)
        qp = torch.randint(25, 48, (height // 4, width // 4), generator=generator)
        ours = deblock_luma(torch.from_numpy(picture).to(torch.uint8), bs_ver, bs_hor, qp)
        assert ours.dtype == torch.uint8
        expected = reference_deblock_luma(picture, bs_ver.numpy(), bs_hor.numpy(), qp.numpy())
        assert np.array_equal(ours.numpy(), expected)
        assert (ours.numpy() != picture).mean() > 0.05  # it did filter something


def test_chroma_picture_matches_the_standard(sample_image_path):
    height, width = 64, 72  # chroma 32 x 36: only 4 samples after the last chroma edge (x = 32)
    generator = torch.Generator().manual_seed(4)
    chroma = blocky_picture(sample_image_path, height // 2, 40, 8)[:, : width // 2]
    bs_ver = torch.randint(0, 3, (height // 4, width // 8), generator=generator)
    bs_hor = torch.randint(0, 3, (height // 8, width // 4), generator=generator)
    qp = torch.randint(25, 48, (height // 4, width // 4), generator=generator)
    ours = deblock_chroma(torch.from_numpy(chroma).to(torch.int16), bs_ver, bs_hor, qp, qp_offset=1)
    expected = reference_deblock_chroma(chroma, bs_ver.numpy(), bs_hor.numpy(), qp.numpy(), 1)
    assert np.array_equal(ours.numpy(), expected)
    assert (ours.numpy() != chroma).any()


def test_bs_zero_and_off_grid_leave_the_picture_alone(sample_image_path):
    picture = torch.from_numpy(blocky_picture(sample_image_path, 32, 32, 8)).to(torch.int32)
    no_edges = (torch.zeros(8, 4, dtype=torch.uint8), torch.zeros(4, 8, dtype=torch.uint8))
    assert torch.equal(deblock_luma(picture, *no_edges, 37), picture)
    assert torch.equal(deblock_chroma(picture[:16, :16], *no_edges, 37), picture[:16, :16])
    # Luma edges at x = 8 and 24 are at chroma x = 4 and 12: not on the chroma grid.
    bs_ver = torch.zeros(8, 4, dtype=torch.uint8)
    bs_ver[:, 1] = bs_ver[:, 3] = 2
    chroma = picture[:16, :16]
    assert torch.equal(deblock_chroma(chroma, bs_ver, no_edges[1], 37), chroma)
    assert not torch.equal(deblock_luma(picture, bs_ver, no_edges[1], 37), picture)


def test_bad_maps():
    with pytest.raises(ValueError):
        deblock_luma(
            torch.zeros(16, 16, dtype=torch.uint8), torch.zeros(4, 3), torch.zeros(2, 6), 30
        )
    with pytest.raises(ValueError):
        deblock_luma(
            torch.zeros(12, 16, dtype=torch.uint8), torch.zeros(3, 2), torch.zeros(1, 4), 30
        )
    with pytest.raises(ValueError):
        deblock_chroma(torch.zeros(8, 4), torch.zeros(4, 2), torch.zeros(2, 4), 30)
