"""HEVC intra prediction: hand-checked blocks, the standard's text transcribed, MPM rules."""

from __future__ import annotations

import itertools

import pytest
import torch

from codeclab.classic.common.reference.intra import (DC, HORIZONTAL, NUM_MODES, PLANAR, VERTICAL,
                                                     neighbouring_samples, predict, predict_all_modes,
                                                     reference_samples, smooth_references, smoothing_flag,
                                                     substitute_references)
from codeclab.classic.common.reference.intra_modes import (chroma_mode, chroma_mode_candidates,
                                                           luma_mode_from_syntax, luma_mode_to_syntax,
                                                           most_probable_modes)


def make_refs(n: int, left: list[int], corner: int, top: list[int]) -> torch.Tensor:
    """One block's references from p[-1][0..2n-1], p[-1][-1] and p[0..2n-1][-1]."""
    assert len(left) == len(top) == 2 * n
    return torch.tensor([list(reversed(left)) + [corner] + list(top)], dtype=torch.int32)


# -- the standard's text, one sample at a time ------------------------------------------------

# Tables 8-4 and 8-5 of H.265, typed again here rather than imported.
ANGLE = {
    2: 32, 3: 26, 4: 21, 5: 17, 6: 13, 7: 9, 8: 5, 9: 2, 10: 0, 11: -2, 12: -5, 13: -9,
    14: -13, 15: -17, 16: -21, 17: -26, 18: -32, 19: -26, 20: -21, 21: -17, 22: -13, 23: -9,
    24: -5, 25: -2, 26: 0, 27: 2, 28: 5, 29: 9, 30: 13, 31: 17, 32: 21, 33: 26, 34: 32,
}  # fmt: skip
INV_ANGLE = {
    11: -4096, 12: -1638, 13: -910, 14: -630, 15: -482, 16: -390, 17: -315, 18: -256,
    19: -315, 20: -390, 21: -482, 22: -630, 23: -910, 24: -1638, 25: -4096,
}  # fmt: skip


def reference_prediction(
    refs: list[int], n: int, mode: int, c_idx: int, chroma_444: bool = False, bit_depth: int = 8
) -> list[list[int]]:
    """§8.4.4.2.3 to §8.4.4.2.6 transcribed with p[x][y] keyed by (x, y); returns pred[y][x]."""
    p = {(-1, y): refs[2 * n - 1 - y] for y in range(2 * n)}
    p[(-1, -1)] = refs[2 * n]
    p.update({(x, -1): refs[2 * n + 1 + x] for x in range(2 * n)})
    clip = lambda v: min(max(v, 0), (1 << bit_depth) - 1)  # noqa: E731

    # 8.4.4.2.3 filtering of neighbouring samples
    if c_idx == 0 or chroma_444:
        thres = {8: 7, 16: 1, 32: 0}.get(n)
        filter_flag = mode != DC and n != 4 and min(abs(mode - 26), abs(mode - 10)) > thres
        if filter_flag:
            threshold = 1 << (bit_depth - 5)
            bi_int = (
                c_idx == 0 and n == 32
                and abs(p[(-1, -1)] + p[(2 * n - 1, -1)] - 2 * p[(n - 1, -1)]) < threshold
                and abs(p[(-1, -1)] + p[(-1, 2 * n - 1)] - 2 * p[(-1, n - 1)]) < threshold
            )  # fmt: skip
            f = {}
            if bi_int:
                f[(-1, -1)] = p[(-1, -1)]
                for y in range(63):
                    f[(-1, y)] = ((63 - y) * p[(-1, -1)] + (y + 1) * p[(-1, 63)] + 32) >> 6
                f[(-1, 63)] = p[(-1, 63)]
                for x in range(63):
                    f[(x, -1)] = ((63 - x) * p[(-1, -1)] + (x + 1) * p[(63, -1)] + 32) >> 6
                f[(63, -1)] = p[(63, -1)]
            else:
                f[(-1, 2 * n - 1)] = p[(-1, 2 * n - 1)]
                for y in range(2 * n - 2, -1, -1):
                    f[(-1, y)] = (p[(-1, y + 1)] + 2 * p[(-1, y)] + p[(-1, y - 1)] + 2) >> 2
                f[(-1, -1)] = (p[(-1, 0)] + 2 * p[(-1, -1)] + p[(0, -1)] + 2) >> 2
                for x in range(2 * n - 1):
                    f[(x, -1)] = (p[(x - 1, -1)] + 2 * p[(x, -1)] + p[(x + 1, -1)] + 2) >> 2
                f[(2 * n - 1, -1)] = p[(2 * n - 1, -1)]
            p = f

    pred = [[0] * n for _ in range(n)]
    log2n = n.bit_length() - 1
    if mode == PLANAR:
        for x, y in itertools.product(range(n), range(n)):
            pred[y][x] = ((n - 1 - x) * p[(-1, y)] + (x + 1) * p[(n, -1)] + (n - 1 - y) * p[(x, -1)]
                          + (y + 1) * p[(-1, n)] + n) >> (log2n + 1)  # fmt: skip
        return pred
    if mode == DC:
        dc = (sum(p[(x, -1)] for x in range(n)) + sum(p[(-1, y)] for y in range(n)) + n) >> (
            log2n + 1
        )
        for x, y in itertools.product(range(n), range(n)):
            pred[y][x] = dc
        if c_idx == 0 and n < 32:
            pred[0][0] = (p[(-1, 0)] + 2 * dc + p[(0, -1)] + 2) >> 2
            for x in range(1, n):
                pred[0][x] = (p[(x, -1)] + 3 * dc + 2) >> 2
            for y in range(1, n):
                pred[y][0] = (p[(-1, y)] + 3 * dc + 2) >> 2
        return pred

    angle = ANGLE[mode]
    ref = {}
    if mode >= 18:
        for x in range(n + 1):
            ref[x] = p[(-1 + x, -1)]
        if angle < 0:
            if (n * angle) >> 5 < -1:
                for x in range((n * angle) >> 5, 0):
                    ref[x] = p[(-1, -1 + ((x * INV_ANGLE[mode] + 128) >> 8))]
        else:
            for x in range(n + 1, 2 * n + 1):
                ref[x] = p[(-1 + x, -1)]
        for x, y in itertools.product(range(n), range(n)):
            i_idx, i_fact = ((y + 1) * angle) >> 5, ((y + 1) * angle) & 31
            if i_fact:
                pred[y][x] = (
                    (32 - i_fact) * ref[x + i_idx + 1] + i_fact * ref[x + i_idx + 2] + 16
                ) >> 5
            else:
                pred[y][x] = ref[x + i_idx + 1]
            if mode == 26 and c_idx == 0 and n < 32 and x == 0:
                pred[y][x] = clip(p[(x, -1)] + ((p[(-1, y)] - p[(-1, -1)]) >> 1))
    else:
        for x in range(n + 1):
            ref[x] = p[(-1, -1 + x)]
        if angle < 0:
            if (n * angle) >> 5 < -1:
                for x in range((n * angle) >> 5, 0):
                    ref[x] = p[(-1 + ((x * INV_ANGLE[mode] + 128) >> 8), -1)]
        else:
            for x in range(n + 1, 2 * n + 1):
                ref[x] = p[(-1, -1 + x)]
        for x, y in itertools.product(range(n), range(n)):
            i_idx, i_fact = ((x + 1) * angle) >> 5, ((x + 1) * angle) & 31
            if i_fact:
                pred[y][x] = (
                    (32 - i_fact) * ref[y + i_idx + 1] + i_fact * ref[y + i_idx + 2] + 16
                ) >> 5
            else:
                pred[y][x] = ref[y + i_idx + 1]
            if mode == 10 and c_idx == 0 and n < 32 and y == 0:
                pred[y][x] = clip(p[(-1, y)] + ((p[(x, -1)] - p[(-1, -1)]) >> 1))
    return pred


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_all_modes_match_the_standard_text(n):
    generator = torch.Generator().manual_seed(n)
    noisy = torch.randint(0, 256, (1, 4 * n + 1), generator=generator, dtype=torch.int32)
    # A gentle gradient with small noise, so that 32x32 strong smoothing triggers too.
    ramp = (
        100 + torch.arange(4 * n + 1) // 8 + torch.randint(0, 2, (4 * n + 1,), generator=generator)
    ).to(torch.int32)[None]
    refs = torch.cat([noisy, ramp])
    for c_idx, chroma_444 in ((0, False), (1, False), (1, True)):
        ours = predict_all_modes(refs, n, is_luma=c_idx == 0, chroma_444=chroma_444)
        assert ours.shape == (2, NUM_MODES, n, n) and ours.dtype == torch.int32
        for b, mode in itertools.product(range(2), range(NUM_MODES)):
            expected = reference_prediction(refs[b].tolist(), n, mode, c_idx, chroma_444)
            assert ours[b, mode].tolist() == expected, (n, c_idx, chroma_444, b, mode)
        for mode in range(NUM_MODES):  # the one-mode path of predict() agrees
            one = predict(refs, mode, n, is_luma=c_idx == 0, chroma_444=chroma_444)
            assert torch.equal(one, ours[:, mode])


def test_predict_equals_predict_all_modes_per_block():
    n = 8
    refs = torch.randint(0, 256, (6, 4 * n + 1), dtype=torch.int32)
    modes = torch.tensor([0, 1, 2, 10, 18, 34])
    everything = predict_all_modes(refs, n)
    one_each = predict(refs, modes, n)
    assert torch.equal(one_each, everything[torch.arange(6), modes])
    assert torch.equal(predict(refs, 26, n), everything[:, 26])


# -- hand-checked blocks ----------------------------------------------------------------------


def test_dc_of_constant_references_is_constant():
    for n in (4, 8, 16, 32):
        refs = torch.full((1, 4 * n + 1), 77, dtype=torch.int32)
        for mode in range(NUM_MODES):
            assert (predict(refs, mode, n) == 77).all()


def test_dc_with_edge_filter_by_hand():
    refs = make_refs(4, [50] * 8, 60, [100] * 8)
    # dc = (4*100 + 4*50 + 4) >> 3 = 75; corner (50 + 150 + 100 + 2) >> 2 = 75;
    # first row (100 + 225 + 2) >> 2 = 81; first column (50 + 225 + 2) >> 2 = 69.
    assert predict(refs, DC, 4, is_luma=True)[0].tolist() == [
        [75, 81, 81, 81],
        [69, 75, 75, 75],
        [69, 75, 75, 75],
        [69, 75, 75, 75],
    ]
    assert (predict(refs, DC, 4, is_luma=False) == 75).all()


def test_vertical_copies_the_top_row_and_horizontal_the_left_column():
    n = 4
    top = [10, 20, 30, 40, 50, 60, 70, 80]
    left = [15, 25, 35, 45, 55, 65, 75, 85]
    refs = make_refs(n, left, 12, top)
    vertical = predict(refs, VERTICAL, n, is_luma=False)[0]
    assert all(row == top[:4] for row in vertical.tolist())
    horizontal = predict(refs, HORIZONTAL, n, is_luma=False)[0]
    assert horizontal.tolist() == [[v] * 4 for v in left[:4]]
    # Luma adds half the left gradient to the first column: 10 + ((left[y] - 12) >> 1).
    luma = predict(refs, VERTICAL, n, is_luma=True)[0]
    assert (
        luma[:, 0].tolist() == [11, 16, 21, 26] and luma[:, 1:].tolist() == vertical[:, 1:].tolist()
    )
    luma = predict(refs, HORIZONTAL, n, is_luma=True)[0]
    assert luma[0].tolist() == [14, 19, 24, 29]
    # ... but not at 32x32.
    big = make_refs(32, list(range(64)), 5, list(range(100, 164)))
    assert (predict(big, VERTICAL, 32)[0] == torch.arange(100, 132)).all()


def test_diagonal_modes_copy_along_45_degrees():
    n = 4
    left = [1, 2, 3, 4, 5, 6, 7, 8]
    top = [11, 12, 13, 14, 15, 16, 17, 18]
    refs = make_refs(n, left, 99, top)
    mode2 = predict(refs, 2, n, is_luma=False)[0].tolist()
    mode18 = predict(refs, 18, n, is_luma=False)[0].tolist()
    mode34 = predict(refs, 34, n, is_luma=False)[0].tolist()
    for y, x in itertools.product(range(n), range(n)):
        assert mode2[y][x] == left[x + y + 1]  # from the bottom-left
        assert mode34[y][x] == top[x + y + 1]  # from the top-right
        assert mode18[y][x] == (99 if x == y else top[x - y - 1] if x > y else left[y - x - 1])
    # 4x4 luma never smooths, so the luma results agree.
    assert predict(refs, 34, n, is_luma=True)[0].tolist() == mode34


def test_planar_reproduces_a_plane():
    """Zero edges and corners TR = 2n s, BL = 2n t give exactly s (x + 1) + t (y + 1)."""
    for n, s, t in ((4, 3, 5), (8, 2, 1), (16, 1, 2), (32, 3, 0)):
        refs = make_refs(n, [0] * n + [2 * n * t] * n, 0, [0] * n + [2 * n * s] * n)
        pred = predict(refs, PLANAR, n, is_luma=False)[0]
        x = torch.arange(n)
        assert torch.equal(pred, (s * (x[None, :] + 1) + t * (x[:, None] + 1)).to(torch.int32))


def test_angular_interpolation_by_hand():
    # Mode 27 (angle 2): row y sits (y+1)*2/32 sample to the right of the top row.
    n = 4
    top = [0, 32, 64, 96, 128, 160, 192, 224]
    refs = make_refs(n, [0] * 8, 0, top)
    pred = predict(refs, 27, n, is_luma=False)[0]
    # pred[y][x] = ((32 - f) * ref[x + 1] + f * ref[x + 2] + 16) >> 5 with ref[x+1] = top[x],
    # f = 2 (y + 1): the ramp moves by f: top[x] + 32 f / 32 = 32 x + 2 (y + 1).
    assert pred.tolist() == [[32 * x + 2 * (y + 1) for x in range(4)] for y in range(4)]


# -- reference samples ------------------------------------------------------------------------


def test_substitution_rules():
    n = 4
    samples = torch.arange(100, 117, dtype=torch.int32)[None]
    nothing = torch.zeros(1, 17, dtype=torch.bool)
    assert (substitute_references(samples, nothing) == 128).all()
    assert (substitute_references(samples, nothing, bit_depth=10) == 512).all()
    # Only the top row: everything before it takes the first top sample (index 2n+1).
    top_only = torch.zeros(1, 17, dtype=torch.bool)
    top_only[0, 2 * n + 1 :] = True
    out = substitute_references(samples, top_only)[0].tolist()
    assert out[: 2 * n + 1] == [109] * 9 and out[2 * n + 1 :] == list(range(109, 117))
    # Left column without its lower half, no top-right: nearest available in scan order.
    partial = torch.ones(1, 17, dtype=torch.bool)
    partial[0, :n] = False  # below-left not decoded
    partial[0, 3 * n + 1 :] = False  # above-right not decoded
    out = substitute_references(samples, partial)[0].tolist()
    assert out[:n] == [104] * 4  # p[-1][n-1]
    assert out[n : 3 * n + 1] == list(range(104, 113))
    assert out[3 * n + 1 :] == [112] * 4  # p[n-1][-1]


def test_reference_samples_from_a_picture():
    plane = torch.arange(16 * 16, dtype=torch.int32).reshape(16, 16)
    decoded = torch.zeros(16, 16, dtype=torch.bool)
    decoded[:8, :] = True  # the first CTU row of 8 lines
    decoded[8:12, :4] = True  # and one 4x4 block on the left of the second row
    # Block 4x4 at (4, 8): left column x=3 rows 8..11 decoded, rows 12..15 not;
    # corner (3, 7) and top row y=7, x=4..11 decoded.
    samples, available = neighbouring_samples(plane, decoded, 4, 8, 4)
    assert available[0].tolist() == [False] * 4 + [True] * 13
    refs = reference_samples(plane, decoded, 4, 8, 4)[0].tolist()
    left = [plane[y, 3].item() for y in range(8, 12)]
    assert refs[:4] == [left[-1]] * 4 and refs[4:8] == left[::-1]
    assert refs[8] == plane[7, 3].item() and refs[9:] == plane[7, 4:12].tolist()
    # At the picture's top-left corner nothing is available.
    assert (reference_samples(plane, decoded, 0, 0, 4) == 128).all()
    # Batched positions give the same as one at a time.
    batch = reference_samples(plane, decoded, torch.tensor([4, 0, 8]), torch.tensor([8, 0, 8]), 4)
    assert torch.equal(batch[0], torch.tensor(refs, dtype=torch.int32))
    assert torch.equal(batch[2], reference_samples(plane, decoded, 8, 8, 4)[0])


def test_smoothing_thresholds():
    assert not any(smoothing_flag(m, 4) for m in range(NUM_MODES))
    for n in (8, 16, 32):
        assert smoothing_flag(PLANAR, n) and not smoothing_flag(DC, n)
        assert not smoothing_flag(VERTICAL, n) and not smoothing_flag(HORIZONTAL, n)
    assert [m for m in range(2, 35) if smoothing_flag(m, 8)] == [2, 18, 34]
    assert [m for m in range(2, 35) if not smoothing_flag(m, 16)] == [9, 10, 11, 25, 26, 27]
    assert [m for m in range(2, 35) if not smoothing_flag(m, 32)] == [10, 26]


def test_smoothing_filters():
    n = 8
    refs = torch.zeros(1, 33, dtype=torch.int32)
    refs[0, 16] = 64
    smoothed = smooth_references(refs, n)[0]
    assert smoothed[15:18].tolist() == [16, 32, 16] and smoothed.sum() == 64
    # Strong smoothing: a 32x32 block whose edges are straight lines (up to the threshold 8).
    left_line = [10 + y for y in range(64)]  # p[-1][y]
    top_line = [10 + 2 * x for x in range(64)]
    refs = make_refs(32, left_line, 10, top_line)
    refs[0, 30] += 3  # a small bump that [1 2 1] would spread and the bi-linear line removes
    strong = smooth_references(refs, 32, strong=True)[0]
    corner, bottom_left, top_right = 10, left_line[63], top_line[63]
    assert strong[:65].tolist() == [
        (i * corner + (64 - i) * bottom_left + 32) >> 6 for i in range(65)
    ]
    assert strong[64:].tolist() == [
        ((128 - i) * corner + (i - 64) * top_right + 32) >> 6 for i in range(64, 129)
    ]
    # Too curved: back to [1 2 1].
    refs[0, 96] += 20
    assert torch.equal(smooth_references(refs, 32, strong=True), smooth_references(refs, 32))


def test_bad_inputs():
    with pytest.raises(ValueError):
        predict(torch.zeros(1, 33, dtype=torch.int32), 0, 4)
    with pytest.raises(ValueError):
        predict(torch.zeros(1, 17, dtype=torch.int32), 35, 4)
    with pytest.raises(ValueError):
        predict(torch.zeros(1, 257, dtype=torch.int32), 0, 64)


# -- mode coding ------------------------------------------------------------------------------


def test_most_probable_modes_examples():
    assert most_probable_modes(None, None) == (PLANAR, DC, VERTICAL)
    assert most_probable_modes(DC, PLANAR) == (DC, PLANAR, VERTICAL)
    assert most_probable_modes(PLANAR, PLANAR) == (PLANAR, DC, VERTICAL)
    assert most_probable_modes(10, 10) == (10, 9, 11)
    assert most_probable_modes(2, 2) == (2, 33, 3)  # neighbours wrap around 2..33
    assert most_probable_modes(34, 34) == (34, 33, 3)
    assert most_probable_modes(PLANAR, VERTICAL) == (PLANAR, VERTICAL, DC)
    assert most_probable_modes(10, 26) == (10, 26, PLANAR)
    assert most_probable_modes(None, 26) == (DC, 26, PLANAR)


def test_luma_mode_syntax_round_trip():
    for left, above in itertools.product([None, 0, 1, 2, 10, 18, 26, 33, 34], repeat=2):
        mpm = most_probable_modes(left, above)
        assert len(set(mpm)) == 3
        remainders = []
        for mode in range(NUM_MODES):
            flag, index = luma_mode_to_syntax(mode, mpm)
            assert luma_mode_from_syntax(mpm, flag, index) == mode
            if not flag:
                remainders.append(index)
        assert remainders == list(range(32))  # 5-bit rem_intra_luma_pred_mode
    # The standard's example: MPMs {0, 1, 26}, rem 24 -> 24 + 2 = 26 >= 26 -> 27.
    assert luma_mode_from_syntax((0, 1, 26), False, 24) == 27
    assert luma_mode_from_syntax((0, 1, 26), False, 23) == 25


def test_chroma_mode_derivation():
    assert chroma_mode(4, 10) == 10  # DM
    assert chroma_mode(0, 0) == 34 and chroma_mode(1, 26) == 34
    assert chroma_mode(2, 10) == 34 and chroma_mode(3, 1) == 34
    assert chroma_mode(0, 5) == 0 and chroma_mode(1, 5) == 26
    assert chroma_mode(2, 5) == 10 and chroma_mode(3, 5) == 1
    for luma_mode in range(NUM_MODES):
        candidates = chroma_mode_candidates(luma_mode)
        assert len(set(candidates)) == 5 and candidates[4] == luma_mode
