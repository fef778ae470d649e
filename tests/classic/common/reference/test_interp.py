"""HEVC fractional interpolation: hand-computed values, the standard's four cases, padding."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.classic.common.reference.interp import (CHROMA_FILTERS, LUMA_FILTERS, bi_pred,
                                                      chroma_prediction, luma_prediction, padded_window,
                                                      uni_pred)


@pytest.fixture(scope="module")
def crop(sample_image_path) -> torch.Tensor:
    """A 24x32 luma-like plane (the green channel) of a shipped Kodak crop."""
    rgb = np.asarray(Image.open(sample_image_path).convert("RGB"))
    return torch.from_numpy(rgb[100:124, 60:92, 1].astype(np.int32))


def standard_sample(ref, x_int, y_int, x_frac, y_frac, filters, bit_depth):
    """One predSample, transcribed case by case from H.265 §8.5.3.3.3.1 with Python ints."""
    height, width = ref.shape
    centre = filters.shape[1] // 2 - 1
    shift1, shift2, shift3 = min(4, bit_depth - 8), 6, max(2, 14 - bit_depth)

    def at(xx, yy):
        return int(ref[min(max(yy, 0), height - 1), min(max(xx, 0), width - 1)])

    def taps(frac):
        return [int(c) for c in filters[frac]]

    if x_frac == 0 and y_frac == 0:
        return at(x_int, y_int) << shift3
    if y_frac == 0:
        return (
            sum(c * at(x_int + i - centre, y_int) for i, c in enumerate(taps(x_frac)))
            >> shift1
        )
    if x_frac == 0:
        return (
            sum(c * at(x_int, y_int + i - centre) for i, c in enumerate(taps(y_frac)))
            >> shift1
        )
    temp = [
        sum(
            c * at(x_int + i - centre, y_int + n - centre)
            for i, c in enumerate(taps(x_frac))
        )
        >> shift1
        for n in range(filters.shape[1])
    ]
    return sum(c * t for c, t in zip(taps(y_frac), temp)) >> shift2


def standard_block(ref, x, y, w, h, mv_x, mv_y, filters, frac_bits, bit_depth):
    mask = (1 << frac_bits) - 1
    return torch.tensor(
        [
            [
                standard_sample(
                    ref,
                    x + (mv_x >> frac_bits) + j,
                    y + (mv_y >> frac_bits) + i,
                    mv_x & mask,
                    mv_y & mask,
                    filters,
                    bit_depth,
                )
                for j in range(w)
            ]
            for i in range(h)
        ],
        dtype=torch.int32,
    )


def test_filter_taps_sum_to_64():
    assert LUMA_FILTERS.sum(dim=1).tolist() == [64] * 4
    assert CHROMA_FILTERS.sum(dim=1).tolist() == [64] * 8
    # The 3/4 luma filter is the 1/4 filter mirrored (Table 8-12).
    assert LUMA_FILTERS[3].tolist() == LUMA_FILTERS[1].flip(0).tolist()
    assert CHROMA_FILTERS[4].tolist() == [-4, 36, 36, -4]


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_integer_vectors_copy_the_reference(crop, bit_depth):
    ref = crop << (bit_depth - 8)
    for mv_x, mv_y in [(0, 0), (8, -4), (-12, 20)]:
        pred = luma_prediction(ref, 8, 6, 8, 4, mv_x, mv_y, bit_depth)
        expected = ref[6 + mv_y // 4 : 10 + mv_y // 4, 8 + mv_x // 4 : 16 + mv_x // 4]
        assert torch.equal(uni_pred(pred, bit_depth), expected.to(torch.int32))


def test_fractional_positions_on_a_constant_picture_give_the_constant():
    ref = torch.full((16, 16), 137, dtype=torch.int32)
    for mv_x, mv_y in [(2, 0), (0, 2), (2, 2), (1, 3), (-3, 5)]:
        assert torch.all(uni_pred(luma_prediction(ref, 4, 4, 4, 4, mv_x, mv_y)) == 137)
    for mv_x in range(8):
        for mv_y in range(8):
            assert torch.all(
                uni_pred(chroma_prediction(ref, 2, 2, 4, 2, mv_x, mv_y)) == 137
            )


def test_half_sample_on_a_ramp_by_hand():
    # ref[r, c] = 10 c. Half-sample taps (-1 4 -11 40 40 -11 4 -1) at offsets -3..4:
    # sum_i f[i] (c + i - 3) = 64 c + 32, so predSample = 10 (64 c + 32) = 640 c + 320 (8-bit:
    # shift1 = 0), and uni-prediction gives (640 c + 320 + 32) >> 6 = 10 c + 5.
    ref = (10 * torch.arange(16)).repeat(8, 1)
    pred = luma_prediction(ref, 4, 2, 4, 1, 2, 0)
    assert pred.tolist() == [[2880, 3520, 4160, 4800]]
    assert uni_pred(pred).tolist() == [[45, 55, 65, 75]]
    # The same along columns, on the transposed ramp.
    assert luma_prediction(ref.T.contiguous(), 2, 4, 1, 4, 0, 2).flatten().tolist() == [
        2880,
        3520,
        4160,
        4800,
    ]


def test_chroma_eighth_positions_on_a_ramp_by_hand():
    # ref[r, c] = 10 c; chroma taps at offsets -1..2. 1/8: -2 58 10 -2 gives 64 c + 8;
    # 4/8: -4 36 36 -4 gives 64 c + 32; 3/8: -6 46 28 -4 gives 64 c + 26 (not linear phase).
    ref = (10 * torch.arange(12)).repeat(6, 1)
    for frac, phase in [(1, 8), (3, 26), (4, 32)]:
        pred = chroma_prediction(ref, 3, 1, 2, 1, frac, 0)
        assert pred.tolist() == [[10 * (64 * 3 + phase), 10 * (64 * 4 + phase)]]
    # Eight eighths are one whole sample.
    assert torch.equal(
        chroma_prediction(ref, 3, 1, 2, 2, 8 + 5, -8),
        chroma_prediction(ref, 4, 0, 2, 2, 5, 0),
    )


@pytest.mark.parametrize("bit_depth", [8, 10])
def test_matches_the_standards_four_cases_luma(crop, bit_depth):
    ref = crop << (bit_depth - 8)
    for mv_x in range(-5, 4):
        for mv_y in (-7, -4, 0, 1, 2, 3):
            got = luma_prediction(ref, 10, 8, 4, 4, mv_x, mv_y, bit_depth)
            want = standard_block(
                ref, 10, 8, 4, 4, mv_x, mv_y, LUMA_FILTERS, 2, bit_depth
            )
            assert torch.equal(got, want), (mv_x, mv_y)


def test_matches_the_standards_four_cases_chroma(crop):
    ref = crop[:12, :16]
    for mv_x in range(-9, 8):
        for mv_y in range(-2, 8):
            got = chroma_prediction(ref, 5, 4, 4, 2, mv_x, mv_y)
            want = standard_block(ref, 5, 4, 4, 2, mv_x, mv_y, CHROMA_FILTERS, 3, 8)
            assert torch.equal(got, want), (mv_x, mv_y)


def test_outside_the_picture_is_replicate_padding(crop):
    pad = 16
    padded = torch.from_numpy(np.pad(crop.numpy(), pad, mode="edge"))
    # Blocks partly and wholly outside, with fractional vectors, near every border.
    for x, y, mv_x, mv_y in [
        (-6, -5, 3, 1),
        (28, 20, 6, 7),
        (-12, 10, -2, 2),
        (10, 22, 1, 9),
    ]:
        outside = luma_prediction(crop, x, y, 4, 4, mv_x, mv_y)
        inside = luma_prediction(padded, x + pad, y + pad, 4, 4, mv_x, mv_y)
        assert torch.equal(outside, inside), (x, y, mv_x, mv_y)
    window = padded_window(crop, -3, -2, 5, 4)
    assert torch.equal(window, padded[pad - 2 : pad + 2, pad - 3 : pad + 2])


def test_bi_prediction_of_equal_predictions_is_uni_prediction(crop):
    for bit_depth in (8, 10):
        pred = luma_prediction(crop << (bit_depth - 8), 6, 6, 8, 8, 5, -3, bit_depth)
        assert torch.equal(bi_pred(pred, pred, bit_depth), uni_pred(pred, bit_depth))


def test_bi_prediction_rounds_the_average():
    p0 = torch.tensor([[64 * 10, 64 * 10, -500, 64 * 300]])
    p1 = torch.tensor([[64 * 11, 64 * 12, -500, 64 * 300]])
    # (640 + 704 + 64) >> 7 = 11 (10.5 rounds up); negatives and overflow clip to 0..255.
    assert bi_pred(p0, p1).tolist() == [[11, 11, 0, 255]]


def test_batched_blocks_equal_one_at_a_time(crop):
    xs = torch.tensor([0, 5, 20, -3])
    ys = torch.tensor([0, 9, 14, 18])
    mvx = torch.tensor([1, -6, 2, 0])
    mvy = torch.tensor([3, 2, 0, -5])
    batch = luma_prediction(crop, xs, ys, 8, 4, mvx, mvy)
    assert batch.shape == (4, 4, 8) and batch.dtype == torch.int32
    for n in range(4):
        one = luma_prediction(
            crop, int(xs[n]), int(ys[n]), 8, 4, int(mvx[n]), int(mvy[n])
        )
        assert torch.equal(batch[n], one)
    chroma = chroma_prediction(crop, xs, ys, 4, 4, mvx, mvy)
    assert torch.equal(chroma[2], chroma_prediction(crop, 20, 14, 4, 4, 2, 0))


def test_rejects_bad_arguments(crop):
    with pytest.raises(ValueError):
        luma_prediction(crop, 0, 0, 4, 4, 0, 0, bit_depth=7)
    with pytest.raises(ValueError):
        luma_prediction(crop[None], 0, 0, 4, 4, 0, 0)
    with pytest.raises(ValueError):
        luma_prediction(crop, 0, 0, 0, 4, 0, 0)
