"""PSNR, MS-SSIM and rate metrics: known values, and agreement with the yardstick's formulas."""

from __future__ import annotations

import math
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.eval import metrics
from codeclab.io.video import Video

SAMPLES = Path(__file__).resolve().parents[2] / "codeclab" / "data" / "samples"


@pytest.fixture(scope="module")
def crop_hwc() -> np.ndarray:
    """The kodim23 256x256 crop as (H,W,3) uint8, as the yardstick reads Kodak."""
    return np.array(Image.open(SAMPLES / "kodim23_crop256.png").convert("RGB"))


@pytest.fixture(scope="module")
def noisy_hwc(crop_hwc) -> np.ndarray:
    rng = np.random.default_rng(23)
    noisy = crop_hwc.astype(np.float64) + rng.normal(0.0, 6.0, crop_hwc.shape)
    return np.clip(np.rint(noisy), 0, 255).astype(np.uint8)


def chw(hwc: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(hwc)).permute(2, 0, 1)


def read_y4m_420(path: Path) -> Video:
    """Minimal reader for the shipped 8-bit 4:2:0 sample (frames without parameters)."""
    data = path.read_bytes()
    header, _, body = data.partition(b"\n")
    fields = {f[:1]: f[1:] for f in header.split()[1:]}
    w, h = int(fields[b"W"]), int(fields[b"H"])
    frame_size = w * h * 3 // 2
    chunks = body.split(b"FRAME\n")[1:]
    frames = np.frombuffer(b"".join(chunks), np.uint8).reshape(len(chunks), frame_size)
    y = frames[:, : w * h].reshape(-1, h, w)
    cb = frames[:, w * h: w * h * 5 // 4].reshape(-1, h // 2, w // 2)
    cr = frames[:, w * h * 5 // 4:].reshape(-1, h // 2, w // 2)
    return Video(torch.from_numpy(y.copy()), torch.from_numpy(cb.copy()), torch.from_numpy(cr.copy()),
                 fps=Fraction(30000, 1001))


# --------------------------------------------------------------------------- PSNR
def test_constant_error_of_one_is_48_13_db():
    a = torch.full((3, 16, 16), 100, dtype=torch.uint8)
    assert metrics.mse(a, a + 1) == 1.0
    assert metrics.psnr_rgb(a, a + 1) == pytest.approx(20 * math.log10(255), abs=1e-12)
    assert metrics.psnr_rgb(a, a + 1) == pytest.approx(48.1308, abs=1e-4)


def test_identical_images_have_infinite_psnr():
    a = torch.randint(0, 256, (3, 8, 8), dtype=torch.uint8)
    assert metrics.psnr_rgb(a, a.clone()) == math.inf


def test_psnr_rgb_matches_the_yardstick_formula(crop_hwc, noisy_hwc):
    # measure_classic.psnr_rgb: numpy float64 MSE over all channels, peak 255.
    mse = np.mean((crop_hwc.astype(np.float64) - noisy_hwc.astype(np.float64)) ** 2)
    expected = 10 * np.log10(255.0 ** 2 / mse)
    assert metrics.psnr_rgb(chw(crop_hwc), chw(noisy_hwc)) == pytest.approx(expected, abs=1e-9)
    assert metrics.psnr_rgb(crop_hwc, noisy_hwc) == pytest.approx(expected, abs=1e-9)
    assert 30 < expected < 40  # sigma 6 noise: about 32.6 dB


def test_psnr_rgb_refuses_float_images_and_shape_mismatch(crop_hwc):
    x = chw(crop_hwc)
    with pytest.raises(ValueError, match="uint8"):
        metrics.psnr_rgb(x.float() / 255, x.float() / 255)
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.psnr_rgb(x, x[:, :-1])


def test_mse_is_exact_for_16_bit_extremes():
    a = torch.zeros(4, 4, dtype=torch.uint16)
    b = torch.full((4, 4), 65535, dtype=torch.uint16)
    assert metrics.mse(a, b) == 65535.0 ** 2


def test_hm_peak():
    assert metrics.hm_peak(8) == 255
    assert metrics.hm_peak(10) == 1020
    assert metrics.hm_peak(12) == 4080


def test_ten_bit_psnr_of_scaled_content_equals_eight_bit(sample_y4m_path):
    ref = read_y4m_420(sample_y4m_path)
    rng = np.random.default_rng(5)
    noisy = [torch.from_numpy(np.clip(p.numpy() + rng.integers(-3, 4, p.shape), 0, 255).astype(np.uint8))
             for p in (ref.y, ref.cb, ref.cr)]
    test = Video(*noisy, fps=ref.fps)
    eight = metrics.psnr_planes(ref, test)
    # The same pictures at 10 bit (x4) with HM's peak 1020 = 4 * 255: identical PSNR.
    up = (lambda v: Video(*(p.to(torch.uint16) * 4 for p in (v.y, v.cb, v.cr)), bit_depth=10))
    ten = metrics.psnr_planes(up(ref), up(test))
    assert ten.keys() == eight.keys() == {"y", "cb", "cr"}
    for k in eight:
        assert ten[k] == pytest.approx(eight[k], abs=1e-9)
    # Tuples of planes need the bit depth spelt out above 8 bit.
    tup = metrics.psnr_planes(tuple(p for p in (up(ref).y, up(ref).cb, up(ref).cr)),
                              tuple(p for p in (up(test).y, up(test).cb, up(test).cr)), bit_depth=10)
    assert tup == ten
    with pytest.raises(ValueError, match="bit_depth"):
        metrics.psnr_planes((up(ref).y,), (up(test).y,))


def test_sequence_psnr_is_the_mean_of_frame_psnrs(sample_y4m_path):
    ref = read_y4m_420(sample_y4m_path)
    # Frame t gets an error of t+1 on every sample: per-frame PSNR is 20 log10(255 / (t+1)).
    err = torch.arange(1, ref.num_frames + 1, dtype=torch.int16)[:, None, None]
    shift = (lambda p: (p.to(torch.int16) - err).clamp(0, 255).to(torch.uint8))
    ref = Video(*(p.clamp(min=16) for p in (ref.y, ref.cb, ref.cr)), fps=ref.fps)
    test = Video(shift(ref.y), shift(ref.cb), shift(ref.cr), fps=ref.fps)
    per_frame = metrics.psnr_planes_per_frame(ref, test)
    expected = 20 * np.log10(255.0 / np.arange(1, ref.num_frames + 1))
    for k in ("y", "cb", "cr"):
        np.testing.assert_allclose(per_frame[k], expected, atol=1e-12)
    seq = metrics.psnr_planes(ref, test)
    assert seq["y"] == pytest.approx(expected.mean(), abs=1e-12)
    pooled = 10 * np.log10(255.0 ** 2 / np.mean(np.arange(1, ref.num_frames + 1) ** 2))
    assert abs(seq["y"] - pooled) > 1.0  # not the PSNR of the pooled MSE


def test_single_frame_planes_and_grey():
    y = torch.full((8, 8), 50, dtype=torch.uint8)
    c = torch.full((4, 4), 128, dtype=torch.uint8)
    out = metrics.psnr_planes((y, c, c), (y + 1, c, c + 2))
    assert out["y"] == pytest.approx(20 * math.log10(255))
    assert out["cb"] == math.inf
    assert out["cr"] == pytest.approx(20 * math.log10(255 / 2))
    grey = Video(y[None], None, None)
    assert metrics.psnr_planes(grey, Video(y[None] + 1, None, None)).keys() == {"y"}


def test_psnr_yuv_611():
    assert metrics.psnr_yuv_611(40.0, 38.0, 36.0) == pytest.approx((6 * 40 + 38 + 36) / 8)
    assert metrics.psnr_yuv_611(40.0, 38.0, 36.0) == pytest.approx(39.25)
    np.testing.assert_allclose(metrics.psnr_yuv_611(np.array([30.0, 40.0]), np.array([32.0, 42.0]),
                                                    np.array([34.0, 44.0])), [30.75, 40.75])


# --------------------------------------------------------------------------- MS-SSIM
def test_ms_ssim_of_an_image_with_itself_is_one(crop_hwc):
    x = chw(crop_hwc)
    assert metrics.ms_ssim_rgb(x, x.clone()) == pytest.approx(1.0, abs=1e-6)


def test_ms_ssim_matches_the_yardstick_call(crop_hwc, noisy_hwc):
    from pytorch_msssim import ms_ssim

    # measure_classic.make_msssim: (1,3,H,W) float32 in [0,255], data_range=255.
    x = torch.from_numpy(crop_hwc).permute(2, 0, 1)[None].float()
    y = torch.from_numpy(noisy_hwc).permute(2, 0, 1)[None].float()
    expected = float(ms_ssim(x, y, data_range=255, size_average=True))
    got = metrics.ms_ssim_rgb(chw(crop_hwc), chw(noisy_hwc))
    assert got == expected
    assert 0.8 < got < 1.0


def test_ms_ssim_refuses_images_too_small_for_five_scales(crop_hwc):
    x = chw(crop_hwc)
    assert metrics.ms_ssim_rgb(x[:, :161, :161], x[:, :161, :161]) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="161"):
        metrics.ms_ssim_rgb(x[:, :160], x[:, :160])


def test_ms_ssim_db():
    assert metrics.ms_ssim_db(0.99) == pytest.approx(20.0)
    assert metrics.ms_ssim_db(0.9) == pytest.approx(10.0)
    assert metrics.ms_ssim_db(1.0) == math.inf
    np.testing.assert_allclose(metrics.ms_ssim_db([0.9, 0.999]), [10.0, 30.0])


# --------------------------------------------------------------------------- rates
def test_bpp_from_bytes_and_from_a_file(tmp_path):
    assert metrics.bpp(49152, 768, 512) == 1.0
    f = tmp_path / "x.bin"
    f.write_bytes(bytes(8192))
    assert metrics.bpp(f, 256, 256) == 1.0
    assert metrics.bpp(str(f), 512, 256) == 0.5
    with pytest.raises(ValueError):
        metrics.bpp(-1, 8, 8)
    with pytest.raises(ValueError):
        metrics.bpp(10, 0, 8)


def test_bitrate_kbps(tmp_path):
    # 12500 bytes for 10 frames at 30 fps: 100 kbit over 1/3 s = 300 kbit/s.
    assert metrics.bitrate_kbps(12500, 10, 30) == pytest.approx(300.0)
    f = tmp_path / "s.bin"
    f.write_bytes(bytes(12500))
    assert metrics.bitrate_kbps(f, 10, Fraction(30000, 1001)) == pytest.approx(300.0 * 1000 / 1001)
    with pytest.raises(ValueError):
        metrics.bitrate_kbps(100, 0, 30)
