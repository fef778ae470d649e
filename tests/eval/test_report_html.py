"""``report.html``: one self-contained page, checked in a real headless browser.

The browser check needs Chromium (Debian's ``chromium`` package, ``/usr/bin/chromium``;
``.ci/run`` installs it) and the ``playwright`` package (test extra); without them it is
skipped with that reason. ``CODECLAB_SCREENSHOT=PATH`` keeps the screenshot it takes.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from codeclab.cli import main
from codeclab.eval.report_html import choose_points, detailed_window

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def bench_out(tmp_path_factory, samples_dir):
    data = tmp_path_factory.mktemp("data")
    for name in ("kodim05_crop256.png", "kodim23_crop256.png"):
        shutil.copy(samples_dir / name, data / name)
    out = tmp_path_factory.mktemp("bench")
    assert main(["bench", "--data", str(data), "--out", str(out), "--no-progress", "--codecs", "jpeg,webp",
                 "--reference", "jpeg", "--qualities", "jpeg=10,30,60,90", "--qualities", "webp=10,30,60,90"]) == 0
    return out


def test_the_page_fetches_nothing(bench_out):
    page = (bench_out / "report.html").read_text()
    assert page.startswith("<!doctype html>") and "<svg" in page
    # Every picture is inline; no script, style sheet or picture comes from elsewhere.
    assert not re.search(r'(src|href)\s*=\s*"(?!data:|#)', page)
    assert page.count('src="data:image/png;base64,') == 3  # the original, jpeg, webp
    assert "BD-rate against jpeg" in page


def test_crops_come_at_about_the_same_rate():
    rows = [{"codec": c, "item": "a", "quality": q, "bpp": b, "psnr-rgb": 30.0}
            for c, points in {"ref": [(1, 0.25), (2, 1.0), (3, 4.0)], "x": [(1, 0.3), (2, 0.9), (3, 3.0)]}.items()
            for q, b in points]
    chosen = choose_points(rows, "ref", "a")
    assert chosen["ref"]["bpp"] == 1.0 and chosen["x"]["bpp"] == 0.9  # the middle of 0.25..4 is 1


def test_the_window_is_where_the_detail_is():
    import torch

    picture = torch.zeros(3, 320, 320, dtype=torch.uint8)
    picture[:, 200:300, 40:140] = torch.randint(0, 255, (3, 100, 100), generator=torch.Generator().manual_seed(0),
                                                dtype=torch.uint8)
    top, left = detailed_window(picture, 160)
    assert top <= 200 and top + 160 >= 300 and left <= 40 and left + 160 >= 140


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (apt-get install chromium)")
def test_the_page_renders_in_a_headless_browser(bench_out, tmp_path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the browser check needs playwright (test extra)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            problems = []
            page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
            page.on("pageerror", lambda error: problems.append(str(error)))
            page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
            page.goto((bench_out / "report.html").as_uri())
            page.wait_for_load_state("load")
            images = page.evaluate("[...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight])")
            assert len(images) == 3 and all(done and w == 160 and h == 160 for done, w, h in images)
            assert page.evaluate("document.querySelectorAll('svg path').length") > 20  # axes and curves drawn
            assert page.evaluate("document.querySelector('svg').getBoundingClientRect().width") > 400
            # Zoom: 2x on load, 4x on a click, on every crop together.
            assert page.evaluate("[...document.images].map(i => i.clientWidth)") == [320] * 3
            page.click('.zoom button[data-zoom="4"]')
            assert page.evaluate("[...document.images].map(i => i.clientWidth)") == [640] * 3
            shot = Path(os.environ.get("CODECLAB_SCREENSHOT", tmp_path / "report.png"))
            page.click('.zoom button[data-zoom="2"]')
            page.screenshot(path=str(shot), full_page=True)
            assert shot.stat().st_size > 50_000
            assert not problems, problems
        finally:
            browser.close()
