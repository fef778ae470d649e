"""Chroma resampling: hand-computed small cases, sample phases, and exact integer rounding."""

from __future__ import annotations

import pytest
import torch

from codeclab.bitstream.container import ColorFormat
from codeclab.errors import InputError
from codeclab.io.chroma import SITINGS, downsample_chroma, merge_ycbcr, split_ycbcr, upsample_chroma


def u8(rows) -> torch.Tensor:
    return torch.tensor(rows, dtype=torch.uint8)


def test_centre_downsampling_is_a_2x2_mean_rounded_half_up():
    x = u8([[0, 1, 2, 3], [4, 5, 6, 7]])
    assert downsample_chroma(x).tolist() == [[3, 5]]  # 2.5 -> 3, 4.5 -> 5
    assert downsample_chroma(x.float()).tolist() == [[2.5, 4.5]]


def test_left_siting_uses_121_horizontally_and_pairs_vertically():
    x = u8([[10, 20, 30, 40], [10, 20, 30, 40]])
    # c0 = (10 + 2*10 + 20) / 4 = 12.5 (left edge repeated), c1 = (20 + 2*30 + 40) / 4 = 30
    assert downsample_chroma(x.float(), 2, 2, "left").tolist() == [[12.5, 30.0]]
    assert downsample_chroma(x, 2, 2, "left").tolist() == [[13, 30]]
    # Top-left co-siting applies [1 2 1] / 4 vertically too: rows (0, 2*0, 4) / 4 = 1
    y = u8([[0], [4], [8]]).expand(3, 2)
    assert downsample_chroma(y, 1, 2, "topleft").tolist() == [[1, 1], [7, 7]]  # (4+16+8)/4 = 7


def test_422_subsamples_only_horizontally():
    x = u8([[0, 2], [4, 6], [8, 10]])
    assert downsample_chroma(x, 2, 1).tolist() == [[1], [5], [9]]


def test_odd_sizes_give_ceil_and_repeat_the_edge():
    x = torch.tensor([[1.0, 2, 3, 4, 5]])
    assert downsample_chroma(x, 2, 1).tolist() == [[1.5, 3.5, 5.0]]
    assert downsample_chroma(torch.ones(5, 7), 2, 2).shape == (3, 4)


def test_centre_upsampling_interpolates_at_quarter_phases():
    c = u8([[0, 8]])
    assert upsample_chroma(c, 1, 4).tolist() == [[0, 2, 6, 8]]  # 3/4 near + 1/4 far
    assert upsample_chroma(c, 1, 3).tolist() == [[0, 2, 6]]
    two_d = u8([[0, 16], [16, 32]])
    # Centre output (1, 1): (9*0 + 3*16 + 3*16 + 32) / 16 = 8
    assert upsample_chroma(two_d, 4, 4)[1, 1].item() == 8
    assert upsample_chroma(two_d, 4, 4)[0, 0].item() == 0


def test_cosited_upsampling_keeps_samples_and_averages_between():
    c = u8([[0, 8]])
    assert upsample_chroma(c, 1, 4, "left").tolist() == [[0, 4, 8, 8]]
    assert upsample_chroma(c, 1, 4, "left", method="nearest").tolist() == [[0, 0, 8, 8]]


@pytest.mark.parametrize("siting", SITINGS)
def test_phases_match_the_siting_on_a_ramp(siting):
    """Subsampling a linear ramp must give the ramp's value at the chroma position."""
    cosited_x, cosited_y = SITINGS[siting]
    ramp = torch.arange(16, dtype=torch.float64)
    plane = ramp[None, :] + 100 * ramp[:, None]
    c = downsample_chroma(plane, 2, 2, siting)
    k = torch.arange(8, dtype=torch.float64)
    x_pos = 2 * k if cosited_x else 2 * k + 0.5
    y_pos = 2 * k if cosited_y else 2 * k + 0.5
    expected = x_pos[None, :] + 100 * y_pos[:, None]
    assert torch.allclose(c[1:-1, 1:-1], expected[1:-1, 1:-1])  # edges repeat, not extrapolate
    # And upsampling interpolates the ramp back exactly away from the edges.
    assert torch.allclose(upsample_chroma(c, 16, 16, siting)[2:-2, 2:-2], plane[2:-2, 2:-2])


@pytest.mark.parametrize("siting", SITINGS)
@pytest.mark.parametrize("dtype, peak", [(torch.uint8, 255), (torch.uint16, 1023), (torch.uint16, 65535)])
def test_integer_results_are_the_float_results_rounded_half_up(siting, dtype, peak):
    generator = torch.Generator().manual_seed(7)
    plane = torch.randint(0, peak + 1, (2, 13, 18), generator=generator, dtype=torch.int32)
    for sx, sy in ((2, 2), (2, 1)):
        down = downsample_chroma(plane.to(dtype), sx, sy, siting)
        assert down.dtype == dtype
        exact = downsample_chroma(plane.double(), sx, sy, siting)
        assert torch.equal(down.long(), torch.floor(exact + 0.5).long())
        up = upsample_chroma(down, 13, 18, siting)
        assert up.shape == (2, 13, 18) and up.dtype == dtype
        assert torch.equal(up.long(), torch.floor(upsample_chroma(down.double(), 13, 18, siting) + 0.5).long())


@pytest.mark.parametrize("siting", SITINGS)
def test_flat_planes_stay_flat(siting):
    flat = torch.full((5, 9), 77, dtype=torch.uint8)
    down = downsample_chroma(flat, 2, 2, siting)
    assert (down == 77).all() and down.shape == (3, 5)
    assert (upsample_chroma(down, 5, 9, siting) == 77).all()


def test_nearest_upsampling_is_undone_by_centre_downsampling():
    c = torch.randint(0, 256, (4, 6), dtype=torch.int32).to(torch.uint8)
    assert torch.equal(downsample_chroma(upsample_chroma(c, 8, 12, method="nearest")), c)


@pytest.mark.parametrize("fmt, chroma_shape", [(ColorFormat.YUV420, (4, 5)), (ColorFormat.YUV422, (7, 5)),
                                               (ColorFormat.YUV444, (7, 9))])
def test_split_and_merge_planes(fmt, chroma_shape):
    ycbcr = torch.randint(0, 1024, (2, 3, 7, 9), dtype=torch.int32).to(torch.uint16)
    y, cb, cr = split_ycbcr(ycbcr, fmt, "left")
    assert torch.equal(y, ycbcr[:, 0]) and cb.shape == cr.shape == (2,) + chroma_shape
    merged = merge_ycbcr(y, cb, cr, "left")
    assert merged.shape == ycbcr.shape and merged.dtype == torch.uint16
    if fmt == ColorFormat.YUV444:
        assert torch.equal(merged, ycbcr)


def test_bad_arguments_raise_input_error():
    plane = torch.zeros(4, 4, dtype=torch.uint8)
    with pytest.raises(InputError, match="siting"):
        downsample_chroma(plane, siting="bottom")
    with pytest.raises(InputError, match="factors"):
        downsample_chroma(plane, 4, 4)
    with pytest.raises(InputError, match="cannot upsample"):
        upsample_chroma(plane, 4, 10)
    with pytest.raises(InputError, match="method"):
        upsample_chroma(plane, 8, 8, method="bicubic")
    with pytest.raises(InputError):
        split_ycbcr(torch.zeros(3, 4, 4), ColorFormat.GRAY)
