"""RD plots: a real PNG of the expected size, panels chosen from the data, atomic output."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from codeclab.eval.plots import plot_rd

BPP = [0.12, 0.25, 0.45, 0.8, 1.4]


def image_curves() -> dict:
    """Two codecs in CompressAI's layout; one wrapped as a whole JSON object with the
    anchors' ``ms-ssim`` spelling, one with a NaN MS-SSIM point (an image too small)."""
    anchor = {"name": "anchor", "results": {
        "bpp": BPP, "psnr-rgb": [26.0, 28.5, 30.8, 33.0, 35.6],
        "ms-ssim": [0.86, 0.92, 0.955, 0.975, 0.988]}}
    mine = {"bpp": [b * 0.7 for b in BPP], "psnr-rgb": [26.4, 28.9, 31.1, 33.5, 36.0],
            "ms-ssim-rgb": [0.87, float("nan"), 0.96, 0.978, 0.99]}
    return {"anchor": anchor, "mine": mine}


def read_png(path) -> np.ndarray:
    with Image.open(path) as im:
        assert im.format == "PNG"
        return np.asarray(im.convert("RGB"))


def test_image_plot_has_two_panels_and_ink(tmp_path):
    out = plot_rd(image_curves(), tmp_path / "rd.png", title="Kodak (synthetic)", dpi=100)
    assert out == tmp_path / "rd.png"
    pixels = read_png(out)
    assert pixels.shape == (450, 1100, 3)  # 2 panels x 5.5 in x 100 dpi, 4.5 in high
    # Not blank: white background plus a real share of drawn (non-white) pixels.
    ink = np.mean(np.any(pixels < 200, axis=-1))
    assert 0.01 < ink < 0.5
    assert [p.name for p in tmp_path.iterdir()] == ["rd.png"]  # no temporary left behind


def test_video_plot_and_missing_panels(tmp_path):
    kbps = [150.0, 300.0, 600.0, 1200.0]
    curves = {"x265": {"kbps": kbps, "psnr-y": [32.0, 34.5, 37.0, 39.4], "psnr-yuv": [33.0, 35.4, 37.8, 40.1]},
              "mine": {"kbps": kbps, "psnr-y": [32.5, 35.0, 37.3, 39.6]}}
    out = plot_rd(curves, tmp_path / "v.png", x_key="kbps", y_keys=("psnr-y", "psnr-yuv"), dpi=80)
    assert read_png(out).shape == (360, 880, 3)
    # No curve has MS-SSIM: a single PSNR panel is drawn, replacing the earlier file.
    out = plot_rd(curves, tmp_path / "v.png", x_key="kbps", y_keys=("psnr-y", "ms-ssim-rgb"), dpi=80)
    assert read_png(out).shape == (360, 440, 3)


def test_bad_input(tmp_path):
    with pytest.raises(ValueError, match="no curves"):
        plot_rd({}, tmp_path / "a.png")
    with pytest.raises(ValueError, match="'kbps'"):
        plot_rd(image_curves(), tmp_path / "a.png", x_key="kbps")
    with pytest.raises(ValueError, match="no curve has"):
        plot_rd(image_curves(), tmp_path / "a.png", y_keys=("psnr-y",))
    assert not list(tmp_path.iterdir())
