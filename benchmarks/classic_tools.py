#!/usr/bin/env python3
"""Each coding tool of the classic codec measured on and off: BD-rate, bits and time.

For every picture and QP the picture is coded twice through ``api.encode_image``, once with
the tool off (``configure(TOOL=False)``) and once with the codec's defaults (tool on); the
rate is the real ``.clb`` size, the quality PSNR-RGB, and every stream is decoded and
checked equal to the encoder's reconstruction. Per picture, BD-rate (pchip) of "on" against
"off" over the QPs; the table shows the mean over pictures and the BD-rate of the mean
curves, and the median encode time of each setting.

    python benchmarks/classic_tools.py                              # sign hiding, 8 Kodak pictures
    python benchmarks/classic_tools.py --images all --jobs 2 --json results/tools.json

With all 24 Kodak pictures each setting's mean curve is also compared with the anchors'
(VVenC, x265, JPEG in ``../shared/anchors/kodak``): the BD-rate against VVenC of issue 24.

Tools: ``sign_hiding`` (sign data hiding, H.265 §7.3.8.11), ``rdoq`` (RD-optimised
quantisation, encoder-only), ``ten_bit`` (10-bit internal samples for 8-bit pictures, the
Main 10 way: QpBdOffset 12, H.265 §7.4.3.2.1), ``cclm`` (chroma from luma, H.266 §8.4.5.2.14).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

KODAK = REPO.parent / "shared" / "data" / "kodak"
EIGHT = ("kodim01", "kodim03", "kodim05", "kodim07", "kodim13", "kodim15", "kodim20", "kodim23")
#: tool -> the ``configure`` options with it on, and with it off
SWITCHES = {"sign_hiding": ({"sign_hiding": True}, {"sign_hiding": False}),
            "rdoq": ({"rdoq": True}, {"rdoq": False}),
            "ten_bit": ({"bit_depth": 10}, {"bit_depth": 8}),
            "cclm": ({"cclm": True}, {"cclm": False}),
            # the tools of the VVC step together (issue 24), against the codec without them
            "vvc_step": ({"bit_depth": 10, "cclm": True}, {"bit_depth": 8, "cclm": False})}
#: Anchors whose Kodak mean curves (``../shared/anchors/kodak/NAME.json``) each arm is compared with.
ANCHORS = ("vvc-vvenc", "hevc-x265", "jpeg")
ANCHOR_DIR = REPO.parent / "shared" / "anchors" / "kodak"
TOOLS = tuple(SWITCHES)


def code_point(job: tuple[str, str, int, bool]) -> dict:
    """One picture at one QP with the tool on or off: bytes, PSNR-RGB, seconds, exactness."""
    import torch

    torch.set_num_threads(1)
    from codeclab import api
    from codeclab.codec import get_codec
    from codeclab.eval.metrics import psnr_rgb
    from codeclab.io import read_image

    path, tool, qp, on = job
    image = read_image(path)
    # tools the codec does not use by default are measured as "on" against its defaults
    codec = get_codec("classic").configure(**SWITCHES[tool][0 if on else 1])
    start = time.perf_counter()
    result = api.encode_image(image, codec, qp)
    seconds = time.perf_counter() - start
    exact = api.same_media(api.decode(result.data), result.recon)
    pixels = image.shape[-1] * image.shape[-2]
    return {"picture": Path(path).stem, "qp": qp, "on": on, "bpp": 8 * len(result.data) / pixels,
            "psnr": psnr_rgb(image, result.recon), "encode_s": seconds, "exact": exact}


def versus_anchors(mean: dict, anchor_dir: Path = ANCHOR_DIR) -> dict:
    """BD-rate (pchip, PSNR-RGB) of each arm's mean curve against each anchor's Kodak curve
    (positive: the arm needs more bits); empty where the anchors are absent. Meaningful for
    the mean over all 24 pictures only, which is what the anchors are."""
    from codeclab.eval.bdrate import bd_rate

    out = {}
    for name in ANCHORS:
        path = anchor_dir / f"{name}.json"
        if not path.is_file():
            continue
        results = json.loads(path.read_text())["results"]
        out[name] = {str(on): bd_rate(results["bpp"], results["psnr-rgb"], *mean[on]) for on in (False, True)}
    return out


def summarise(rows: list[dict], qps: list[int]) -> dict:
    from codeclab.eval.bdrate import bd_rate

    pictures = sorted({r["picture"] for r in rows})
    keys = {(r["picture"], r["on"]) for r in rows}
    curve = {key: sorted((r["qp"], r["bpp"], r["psnr"]) for r in rows if (r["picture"], r["on"]) == key)
             for key in keys}
    per_picture = {p: bd_rate([c[1] for c in curve[p, False]], [c[2] for c in curve[p, False]],
                              [c[1] for c in curve[p, True]], [c[2] for c in curve[p, True]]) for p in pictures}
    mean = {on: ([statistics.mean(r["bpp"] for r in rows if r["on"] == on and r["qp"] == q) for q in qps],
                 [statistics.mean(r["psnr"] for r in rows if r["on"] == on and r["qp"] == q) for q in qps])
            for on in (False, True)}
    return {"pictures": len(pictures),
            "bd_rate_mean_of_pictures": statistics.mean(per_picture.values()),
            "bd_rate_of_mean_curves": bd_rate(*mean[False], *mean[True]),
            "per_picture": per_picture,
            "median_encode_s": {str(on): statistics.median(r["encode_s"] for r in rows if r["on"] == on)
                                for on in (False, True)},
            "mean_curves": {str(on): {"bpp": mean[on][0], "psnr": mean[on][1]} for on in (False, True)},
            "versus_anchors": versus_anchors(mean) if len(pictures) == 24 else {},
            "all_exact": all(r["exact"] for r in rows)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=KODAK, help="folder of pictures (default: Kodak)")
    parser.add_argument("--images", default="eight", help="'eight' (kodim01,03,05,07,13,15,20,23), 'all', or N")
    parser.add_argument("--qps", default="22,27,32,37")
    parser.add_argument("--tools", default=",".join(TOOLS), help=f"comma-separated, of {', '.join(TOOLS)}")
    parser.add_argument("--jobs", type=int, default=2, help="pictures coded in parallel (1 thread each)")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if not args.data.is_dir():
        print(f"no picture folder {args.data}", file=sys.stderr)
        return 2
    files = sorted(p for p in args.data.iterdir() if p.suffix.lower() in (".png", ".ppm", ".bmp"))
    if args.images == "eight":
        files = [p for p in files if p.stem in EIGHT]
    elif args.images != "all":
        files = files[:int(args.images)]
    qps = [int(q) for q in args.qps.split(",")]
    report = {"machine": {"cpus": os.cpu_count(), "platform": platform.platform()}, "qps": qps, "tools": {}}
    for tool in args.tools.split(","):
        jobs = [(str(p), tool, qp, on) for p in files for qp in qps for on in (False, True)]
        with ProcessPoolExecutor(args.jobs) as pool:
            rows = list(pool.map(code_point, jobs))
        summary = summarise(rows, qps)
        report["tools"][tool] = {"summary": summary, "rows": rows}
        print(f"{tool}: {summary['pictures']} pictures, QP {args.qps}: BD-rate on vs off "
              f"{summary['bd_rate_mean_of_pictures']:+.2f}% (mean of pictures), "
              f"{summary['bd_rate_of_mean_curves']:+.2f}% (mean curves); median encode "
              f"{summary['median_encode_s']['False']:.2f} s off, {summary['median_encode_s']['True']:.2f} s on; "
              f"all decodes exact: {summary['all_exact']}")
        for anchor, arms in summary["versus_anchors"].items():
            print(f"    vs {anchor}: off {arms['False']:+.2f}%, on {arms['True']:+.2f}%")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(report, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
