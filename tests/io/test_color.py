"""RGB <-> Y'CbCr against the standards' own numbers, and float vs fixed-point agreement."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.bitstream.container import Matrix
from codeclab.errors import InputError
from codeclab.io.color import (fixed_point_transform, rgb_to_ycbcr, rgb_to_ycbcr_int, ycbcr_to_rgb, ycbcr_to_rgb_int,
                               ycbcr_to_rgb_int_array)

CONFIGS = [(m, full) for m in ("bt601", "bt709") for full in (True, False)]


@pytest.fixture(scope="module")
def crop(sample_image_path) -> torch.Tensor:
    return torch.from_numpy(np.array(Image.open(sample_image_path).convert("RGB"))).permute(2, 0, 1)


def pixel(r: int, g: int, b: int, dtype=torch.uint8) -> torch.Tensor:
    return torch.tensor([r, g, b], dtype=torch.int32).to(dtype).view(3, 1, 1)


def values(x: torch.Tensor) -> list[int]:
    return x.flatten().tolist()


# 100 % colour bars in 8-bit limited range: Rec. ITU-R BT.601 (and SMPTE EG 1) and
# Rec. ITU-R BT.709 / SMPTE RP 219 tables of Y', Cb, Cr.
BARS = {
    "bt601": {(255, 255, 255): [235, 128, 128], (0, 0, 0): [16, 128, 128], (255, 0, 0): [81, 90, 240],
              (0, 255, 0): [145, 54, 34], (0, 0, 255): [41, 240, 110], (255, 255, 0): [210, 16, 146]},
    "bt709": {(255, 255, 255): [235, 128, 128], (0, 0, 0): [16, 128, 128], (255, 0, 0): [63, 102, 240],
              (0, 255, 0): [173, 42, 26], (0, 0, 255): [32, 240, 118], (255, 255, 0): [219, 16, 138]},
}


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
def test_limited_range_colour_bars(matrix):
    for rgb, expected in BARS[matrix].items():
        assert values(rgb_to_ycbcr_int(pixel(*rgb), matrix, full_range=False)) == expected, rgb
        float_codes = rgb_to_ycbcr(pixel(*rgb).double() / 255, matrix, full_range=False) * 255
        assert values(float_codes.round().int()) == expected, rgb


def test_full_range_jfif_values():
    # Rec. ITU-T T.871 (JFIF) §7: Y = 0.299 R + 0.587 G + 0.114 B, Cb = -0.1687 R - 0.3313 G + 0.5 B + 128.
    assert values(rgb_to_ycbcr_int(pixel(255, 255, 255), "bt601")) == [255, 128, 128]
    assert values(rgb_to_ycbcr_int(pixel(0, 0, 0), "bt601")) == [0, 128, 128]
    assert values(rgb_to_ycbcr_int(pixel(255, 0, 0), "bt601")) == [76, 85, 255]  # Cr 255.5 clipped
    assert values(rgb_to_ycbcr_int(pixel(0, 0, 255), "bt601")) == [29, 255, 107]


def test_ten_bit_limited_range_scales_by_four():
    white, black = pixel(1023, 1023, 1023, torch.uint16), pixel(0, 0, 0, torch.uint16)
    assert values(rgb_to_ycbcr_int(white, "bt709", False, bit_depth=10)) == [940, 512, 512]
    assert values(rgb_to_ycbcr_int(black, "bt709", False, bit_depth=10)) == [64, 512, 512]
    assert rgb_to_ycbcr_int(white, "bt709", False, bit_depth=10).dtype == torch.uint16


@pytest.mark.parametrize("matrix, full_range", CONFIGS)
def test_every_grey_stays_exactly_grey(matrix, full_range):
    levels = torch.arange(256, dtype=torch.uint8)
    grey = levels.view(1, 1, 256).expand(3, 1, 256)
    ycc = rgb_to_ycbcr_int(grey, matrix, full_range)
    assert (ycc[1:] == 128).all()
    back = ycbcr_to_rgb_int(ycc, matrix, full_range)
    assert torch.equal(back[0], back[1]) and torch.equal(back[0], back[2])
    if full_range:
        assert torch.equal(ycc[0, 0], levels)
        assert torch.equal(back, grey)
    else:  # 219 luma levels carry 256 grey levels: each comes back within one
        assert (back.int() - grey.int()).abs().max() == 1


def test_forward_rows_sum_exactly():
    for matrix in (Matrix.BT601, Matrix.BT709):
        rows, _ = fixed_point_transform(matrix, True, 8, False)
        assert [sum(r) for r in rows] == [1 << 20, 0, 0]


@pytest.mark.parametrize("matrix, full_range", CONFIGS)
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_integer_path_matches_float_within_one_code(crop, matrix, full_range, bit_depth):
    peak = (1 << bit_depth) - 1
    rgb = crop if bit_depth == 8 else (crop.int() * peak + 127) // 255
    exact = rgb_to_ycbcr(rgb.double() / peak, matrix, full_range, bit_depth) * peak
    fixed = rgb_to_ycbcr_int(rgb, matrix, full_range, bit_depth).long()
    rounded = torch.floor(exact + 0.5).clamp(0, peak).long()
    differ = fixed != rounded
    assert (fixed - rounded).abs().max() <= 1
    # Disagreements only where the exact value sits on a rounding tie (fixed-point noise).
    fraction = exact[differ] - exact[differ].floor()
    assert ((fraction - 0.5).abs() < 1e-3).all()
    assert differ.float().mean() < 0.01


@pytest.fixture(scope="module")
def all_crops(samples_dir) -> torch.Tensor:
    """The three sample crops as one (3, 3, 256, 256) batch."""
    paths = sorted(samples_dir.glob("*.png"))
    return torch.stack([torch.from_numpy(np.array(Image.open(p).convert("RGB"))).permute(2, 0, 1) for p in paths])


@pytest.mark.parametrize("matrix, full_range, bound", [(m, f, 1 if f else 2) for m, f in CONFIGS])
def test_integer_round_trip_error_is_bounded(all_crops, matrix, full_range, bound):
    # Measured on the three sample crops: max |error| 1 (full range) and 2 (limited range);
    # mean 0.30-0.34 (full) and 0.37-0.42 (limited) per crop.
    back = ycbcr_to_rgb_int(rgb_to_ycbcr_int(all_crops, matrix, full_range), matrix, full_range)
    error = (back.int() - all_crops.int()).abs()
    assert error.max() <= bound
    assert error.float().mean(dim=(1, 2, 3)).max() < 0.45


@pytest.mark.parametrize("matrix, full_range", CONFIGS)
def test_float_round_trip_is_exact(crop, matrix, full_range):
    rgb = crop.double() / 255
    back = ycbcr_to_rgb(rgb_to_ycbcr(rgb, matrix, full_range), matrix, full_range)
    assert torch.allclose(back, rgb, atol=1e-12)


def test_inverse_clips_out_of_gamut_codes():
    # Y = 255 with Cr = 255 is redder than any RGB: R clips at 255, G and B stay in range.
    ycc = torch.tensor([255, 128, 255], dtype=torch.uint8).view(3, 1, 1)
    rgb = ycbcr_to_rgb_int(ycc, "bt709", True)
    exact = ycbcr_to_rgb(ycc.double() / 255, "bt709", True) * 255
    assert exact[0].item() > 255
    assert torch.equal(rgb.long(), exact.round().clamp(0, 255).long())


def test_bt601_and_bt709_differ(crop):
    a = rgb_to_ycbcr_int(crop, "bt601", False)
    b = rgb_to_ycbcr_int(crop, "bt709", False)
    assert (a.int() - b.int()).abs().max() > 10
    assert rgb_to_ycbcr_int(crop, Matrix.BT709, False).equal(b)


def test_batched_and_float32_inputs(crop):
    batch = torch.stack([crop, crop.flip(-1)])
    assert torch.equal(rgb_to_ycbcr_int(batch)[1], rgb_to_ycbcr_int(crop.flip(-1)))
    single = rgb_to_ycbcr(crop.float() / 255)
    assert single.dtype == torch.float32
    assert torch.allclose(single, rgb_to_ycbcr(crop.double() / 255).float(), atol=1e-6)


def test_bad_arguments_raise_input_error(crop):
    with pytest.raises(InputError, match="bt601 or bt709"):
        rgb_to_ycbcr_int(crop, "bt2020")
    with pytest.raises(InputError, match="bt601 or bt709"):
        rgb_to_ycbcr(crop.float(), Matrix.UNSPECIFIED)
    with pytest.raises(InputError, match="integer"):
        rgb_to_ycbcr_int(crop.float())
    with pytest.raises(InputError, match="3, H, W"):
        rgb_to_ycbcr_int(crop[:2])


@pytest.mark.parametrize("matrix", ["bt601", "bt709"])
@pytest.mark.parametrize("full_range", [True, False])
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_numpy_inverse_equals_the_tensor_path(matrix, full_range, bit_depth):
    rng = np.random.default_rng(bit_depth)
    codes = rng.integers(0, 2 ** bit_depth, size=(3, 67, 45)).astype(np.uint16)
    codes[:, 0, :3] = [[0, 2 ** bit_depth - 1, 2 ** (bit_depth - 1)]] * 3  # extremes and grey
    expected = ycbcr_to_rgb_int(torch.from_numpy(codes.astype(np.int32)), matrix, full_range, bit_depth).numpy()
    got = ycbcr_to_rgb_int_array(codes, matrix, full_range, bit_depth)
    assert got.dtype == expected.dtype and np.array_equal(got, expected)


def test_numpy_inverse_rejects_float_arrays():
    with pytest.raises(InputError):
        ycbcr_to_rgb_int_array(np.zeros((3, 2, 2)))
