"""``codeclab bench``: real files, CompressAI-style JSON, report, resumption."""

from __future__ import annotations

import csv
import json
import shutil

import pytest

from codeclab.cli import main


@pytest.fixture
def two_images(tmp_path, samples_dir):
    data = tmp_path / "data"
    data.mkdir()
    for name in ("kodim05_crop256.png", "kodim23_crop256.png"):
        shutil.copy(samples_dir / name, data / name)
    return data


def bench(data, out, *extra):
    return main(["bench", "--data", str(data), "--out", str(out), "--no-progress",
                 "--codecs", "jpeg,webp", "--reference", "jpeg",
                 "--qualities", "jpeg=10,30,60,90", "--qualities", "webp=10,30,60,90",
                 "--json", str(out / "summary.json"), *extra])


def test_bench_writes_every_output_and_resumes(two_images, tmp_path, capsys):
    out = tmp_path / "out"
    assert bench(two_images, out) == 0
    first = capsys.readouterr().out
    assert "16 measured" in first

    # CompressAI-style JSON, means over the two images
    doc = json.loads((out / "jpeg.json").read_text())
    assert doc["name"] == "jpeg" and doc["results"]["q"] == [10, 30, 60, 90]
    for key in ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time"):
        assert len(doc["results"][key]) == 4
    assert doc["results"]["bpp"] == sorted(doc["results"]["bpp"])  # more quality, more bits

    # every bpp is the size of the .clb file on disk
    rows = list(csv.DictReader((out / "per_image.csv").open()))
    assert len(rows) == 16
    for r in rows:
        q = int(float(r["quality"]))
        clb = out / "bitstreams" / r["codec"] / f"q{q}" / f"{r['item']}.clb"
        assert float(r["bpp"]) == pytest.approx(8 * clb.stat().st_size / (256 * 256), rel=1e-5)
        assert r["recon_match"] == "True"

    summary = json.loads((out / "summary.json").read_text())
    (entry,) = summary["bd_rate"]
    assert entry["codec"] == "webp" and entry["PSNR pchip"] < -10  # WebP beats JPEG
    assert (out / "rd.png").stat().st_size > 10_000
    assert "BD-rate against jpeg" in (out / "report.md").read_text()

    # a second run measures nothing again
    assert bench(two_images, out) == 0
    assert "0 measured, 16 resumed" in capsys.readouterr().out


def test_bench_parallel_workers_give_the_same_rates(two_images, tmp_path, capsys):
    a, b = tmp_path / "a", tmp_path / "b"
    assert main(["bench", "--data", str(two_images), "--out", str(a), "--no-progress", "--codecs", "jpeg",
                 "--qualities", "jpeg=20,80"]) == 0
    assert main(["bench", "--data", str(two_images), "--out", str(b), "--no-progress", "--codecs", "jpeg",
                 "--qualities", "jpeg=20,80", "--jobs", "2"]) == 0
    ra = json.loads((a / "jpeg.json").read_text())["results"]
    rb = json.loads((b / "jpeg.json").read_text())["results"]
    assert ra["bpp"] == rb["bpp"] and ra["psnr-rgb"] == rb["psnr-rgb"]


def test_bench_video_on_the_sample_clip(tmp_path, sample_y4m_path, capsys):
    data = tmp_path / "clips"
    data.mkdir()
    shutil.copy(sample_y4m_path, data)
    out = tmp_path / "out"
    assert main(["bench", "--data", str(data), "--out", str(out), "--no-progress", "--codecs", "x264,x265",
                 "--reference", "x264", "--qualities", "x264=24,30,36,42", "--qualities", "x265=24,30,36,42",
                 "--intra-period", "8"]) == 0
    res = json.loads((out / "x265.json").read_text())["results"]
    assert res["kbps"] == sorted(res["kbps"], reverse=True)  # higher QP, fewer bits
    assert res["psnr-y"] == sorted(res["psnr-y"], reverse=True)
    assert all(25 < p < 50 for p in res["psnr-y"])


def test_bench_bad_arguments(tmp_path, two_images, capsys):
    assert main(["bench", "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "o")]) == 2
    assert main(["bench", "--data", str(two_images), "--out", str(tmp_path / "o"), "--codecs", "jpeg",
                 "--reference", "webp"]) == 2
    assert main(["bench", "--data", str(two_images), "--out", str(tmp_path / "o"), "--codecs", "jpeg",
                 "--qualities", "webp=1,2"]) == 2
    err = capsys.readouterr().err
    assert err.count("codeclab: error:") == 3 and "Traceback" not in err


def test_reference_from_a_results_file(two_images, tmp_path, capsys):
    """BD-rate against a CompressAI-style JSON measured elsewhere (e.g. a published curve)."""
    out = tmp_path / "out"
    assert bench(two_images, out) == 0
    ref = tmp_path / "jpeg_ref.json"
    ref.write_text((out / "jpeg.json").read_text())
    other = tmp_path / "other"
    assert main(["bench", "--data", str(two_images), "--out", str(other), "--no-progress", "--codecs", "webp",
                 "--qualities", "webp=10,30,60,90", "--reference", str(ref), "--json", str(other / "s.json")]) == 0
    summary = json.loads((other / "s.json").read_text())
    first = json.loads((out / "summary.json").read_text())
    assert summary["bd_rate"][0]["PSNR pchip"] == pytest.approx(first["bd_rate"][0]["PSNR pchip"])
    assert "reference file" in (other / "report.md").read_text()
