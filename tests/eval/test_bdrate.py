"""BD-rate: exact synthetic cases, input checks, and the yardstick's published numbers."""

from __future__ import annotations

import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from codeclab.eval.bdrate import bd_quality, bd_rate, ms_ssim_db, overlap

REPO = Path(__file__).resolve().parents[2]
ANCHORS = Path(os.environ.get("CODECLAB_SHARED_DATA", REPO.parent / "shared" / "data")).parent / "anchors"

# A JPEG-like reference curve: bpp rising with PSNR, not a straight line in log rate.
RATE = np.array([0.15, 0.25, 0.4, 0.6, 0.9, 1.4, 2.0])
PSNR = np.array([26.0, 28.1, 30.0, 31.8, 33.6, 35.9, 37.5])


@pytest.fixture(scope="module")
def anchors() -> Path:
    if not (ANCHORS / "kodak" / "jpeg.json").is_file():
        pytest.skip(f"needs the shared anchor results at {ANCHORS} (not part of a fresh clone)")
    return ANCHORS


def load_curve(anchors: Path, codec: str) -> dict:
    return json.loads((anchors / "kodak" / f"{codec}.json").read_text())["results"]


# --------------------------------------------------------------------------- exact cases
@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_half_the_rate_everywhere_is_minus_fifty_percent(method):
    assert bd_rate(RATE, PSNR, RATE / 2, PSNR, method) == pytest.approx(-50.0, abs=1e-9)
    assert bd_rate(RATE, PSNR, RATE, PSNR, method) == pytest.approx(0.0, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_one_db_better_everywhere_is_plus_one_db(method):
    assert bd_quality(RATE, PSNR, RATE, PSNR + 1.0, method) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_swapping_the_curves_inverts_the_rate_ratio(method):
    test_rate = RATE * np.linspace(0.6, 0.8, len(RATE))
    forward = bd_rate(RATE, PSNR, test_rate, PSNR + 0.3, method) / 100
    backward = bd_rate(test_rate, PSNR + 0.3, RATE, PSNR, method) / 100
    assert (1 + forward) * (1 + backward) == pytest.approx(1.0, abs=1e-12)
    assert forward < 0


@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_point_order_does_not_matter(method):
    order = np.random.default_rng(0).permutation(len(RATE))
    test_rate, test_psnr = RATE * 0.7, PSNR + 0.2
    assert bd_rate(RATE[order], PSNR[order], test_rate, test_psnr, method) == pytest.approx(
        bd_rate(RATE, PSNR, test_rate[::-1], test_psnr[::-1], method), abs=1e-12)


def test_only_the_overlapping_range_counts():
    # The test curve covers the upper part only; the reference's low points must not matter.
    high = slice(3, None)
    full = bd_rate(RATE, PSNR, RATE[high] / 2, PSNR[high], "pchip")
    bent = RATE.copy()
    bent[:2] *= 5  # change the reference below the overlap
    assert bd_rate(bent, PSNR, RATE[high] / 2, PSNR[high], "pchip") == pytest.approx(full, abs=1e-12)
    assert overlap(PSNR, PSNR[high]) == (PSNR[3], PSNR[-1])


# --------------------------------------------------------------------------- input checks
def test_input_checks():
    with pytest.raises(ValueError, match="at least 4"):
        bd_rate(RATE[:3], PSNR[:3], RATE[:3], PSNR[:3], "cubic")
    with pytest.raises(ValueError, match="at least 2"):
        bd_rate(RATE[:1], PSNR[:1], RATE, PSNR, "pchip")
    assert bd_rate(RATE[:2], PSNR[:2], RATE[:2] / 2, PSNR[:2], "pchip") == pytest.approx(-50.0)
    dup = PSNR.copy()
    dup[2] = dup[1]
    with pytest.raises(ValueError, match="strictly monotone"):
        bd_rate(RATE, dup, RATE, PSNR)
    with pytest.raises(ValueError, match="do not overlap"):
        bd_rate(RATE, PSNR, RATE, PSNR + 20)
    with pytest.raises(ValueError, match="positive"):
        bd_rate(np.r_[0.0, RATE[1:]], PSNR, RATE, PSNR)
    with pytest.raises(ValueError, match="finite"):
        bd_rate(RATE, np.r_[PSNR[:-1], np.inf], RATE, PSNR)
    with pytest.raises(ValueError, match="equal length"):
        bd_rate(RATE, PSNR[:-1], RATE, PSNR)
    with pytest.raises(ValueError, match="unknown"):
        bd_rate(RATE, PSNR, RATE, PSNR, "linear")


# --------------------------------------------------------------------------- the yardstick
@pytest.mark.parametrize("method", ["pchip", "cubic"])
def test_webp_vs_jpeg_on_kodak_is_minus_39_9_percent(anchors, method):
    jpeg, webp = load_curve(anchors, "jpeg"), load_curve(anchors, "webp")
    got = bd_rate(jpeg["bpp"], jpeg["psnr-rgb"], webp["bpp"], webp["psnr-rgb"], method)
    assert got == pytest.approx(-39.9, abs=0.05)


def parse_bdrate_txt(path: Path) -> list[tuple[str, str, float, float, float, float]]:
    """Rows (anchor, codec, pchip %, cubic %, lo dB, hi dB) of the yardstick's table."""
    rows, anchor = [], None
    row = re.compile(r"^(\S+)\s+(-?[\d.]+)\s+(-?[\d.]+)\s+\[([\d.]+), ([\d.]+)\]$")
    for line in path.read_text().splitlines():
        if m := re.match(r"^== vs (\S+) ==$", line):
            anchor = m.group(1)
        elif anchor and (m := row.match(line)):
            rows.append((anchor, m.group(1), *map(float, m.group(2, 3, 4, 5))))
    return rows


def test_every_row_of_the_yardstick_table(anchors):
    rows = parse_bdrate_txt(anchors / "bdrate.txt")
    assert len(rows) == 21
    for anchor, codec, pchip, cubic, lo, hi in rows:
        ref, test = load_curve(anchors, anchor), load_curve(anchors, codec)
        args = (ref["bpp"], ref["psnr-rgb"], test["bpp"], test["psnr-rgb"])
        # The table prints one decimal: the exact value is within half a unit of it.
        assert bd_rate(*args, method="pchip") == pytest.approx(pchip, abs=0.05 + 1e-9), (anchor, codec)
        assert bd_rate(*args, method="cubic") == pytest.approx(cubic, abs=0.05 + 1e-9), (anchor, codec)
        assert overlap(ref["psnr-rgb"], test["psnr-rgb"]) == pytest.approx((lo, hi), abs=0.005)


def test_bit_for_bit_the_yardstick_function(anchors):
    spec = importlib.util.spec_from_file_location("measure_classic", anchors / "measure_classic.py")
    yardstick = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(yardstick)
    names = sorted(p.stem for p in (anchors / "kodak").glob("*.json"))
    jpeg = load_curve(anchors, "jpeg")
    for codec in names:
        test = load_curve(anchors, codec)
        for method in ("pchip", "cubic"):
            expected, _, _ = yardstick.bd_rate(jpeg["bpp"], jpeg["psnr-rgb"], test["bpp"],
                                               test["psnr-rgb"], method)
            got = bd_rate(jpeg["bpp"], jpeg["psnr-rgb"], test["bpp"], test["psnr-rgb"], method)
            assert got == pytest.approx(expected, abs=1e-9), (codec, method)


def test_ms_ssim_bd_rate_on_the_db_scale(anchors):
    jpeg, webp = load_curve(anchors, "jpeg"), load_curve(anchors, "webp")
    got = bd_rate(jpeg["bpp"], ms_ssim_db(jpeg["ms-ssim"]), webp["bpp"], ms_ssim_db(webp["ms-ssim"]))
    # The dB scale is a monotone map, so the overlap and the sign follow the raw MS-SSIM.
    assert -100 < got < 0
