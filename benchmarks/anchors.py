"""Time the full Kodak run of the anchor codecs and check it against the yardstick.

Runs ``codeclab bench`` from scratch (a fresh output folder, nothing resumed) on the 24
Kodak images: 4 anchors x 6 quality points = 576 encodes and decodes, ``--jobs 2``. Then
compares every point with the measurements in ``../shared/anchors/kodak/*.json`` (same
settings, measured independently by the anchors' own scripts).

    python benchmarks/anchors.py [--data ../shared/data/kodak] [--jobs 2] [--json out.json]

Prints the wall time and, per codec and point, the bpp and PSNR differences from the
yardstick. Rates here are ``.clb`` file sizes, which add the container's 52-byte header
(+0.001 bpp on a Kodak image) to the encoder's own bitstream.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
# codec -> (its six quality points, the yardstick file measured with the same settings)
RUN = {
    "jpeg": ([5, 10, 20, 50, 75, 90], "jpeg.json"),
    "webp": ([0, 10, 25, 50, 75, 90], "webp.json"),
    "x265": ([22, 27, 32, 37, 42, 47], "hevc-x265.json"),
    "vvenc": ([22, 27, 32, 37, 42, 47], "vvc-vvenc.json"),
}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", default=str(SHARED / "data" / "kodak"))
    ap.add_argument("--yardstick", default=str(SHARED / "anchors" / "kodak"))
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--codecs", default=",".join(RUN))
    ap.add_argument("--out", default=None, help="bench output folder (default: a temporary one)")
    ap.add_argument("--json", default=None, help="write the figures printed here as JSON")
    args = ap.parse_args()
    if not Path(args.data).is_dir():
        sys.exit(f"anchors.py: error: {args.data} does not exist (needs the Kodak set)")

    from codeclab.cli import main as cli

    codecs = [c for c in args.codecs.split(",") if c]
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        bench_args = ["bench", "--data", args.data, "--out", str(out), "--codecs", ",".join(codecs),
                      "--reference", codecs[0], "--jobs", str(args.jobs), "--json", str(out / "summary.json")]
        for c in codecs:
            bench_args += ["--qualities", f"{c}={','.join(map(str, RUN[c][0]))}"]
        t0 = time.perf_counter()
        status = cli(bench_args)
        wall = time.perf_counter() - t0
        summary = json.loads((out / "summary.json").read_text())

    n_points = sum(len(RUN[c][0]) for c in codecs) * summary["meta"]["items"]
    print(f"\nfull run: {len(codecs)} codecs x 6 points x {summary['meta']['items']} images = {n_points} points, "
          f"--jobs {args.jobs}: {wall:.1f} s wall ({wall / 60:.1f} min)\n")
    print("difference from the yardstick (ours - yardstick), per point:")
    print(f"{'codec':<6} {'q':>4} {'bpp':>8} {'d bpp':>8} {'PSNR':>7} {'d dB':>7}")
    worst = {}
    for c in codecs:
        ref_file = Path(args.yardstick) / RUN[c][1]
        if not ref_file.is_file():
            continue
        ref = json.loads(ref_file.read_text())["results"]
        ours = summary["results"][c]
        for q, b, p in zip(ours["q"], ours["bpp"], ours["psnr-rgb"]):
            if q not in ref["q"]:
                continue
            i = ref["q"].index(q)
            db, dp = b - ref["bpp"][i], p - ref["psnr-rgb"][i]
            worst[c] = (max(worst.get(c, (0, 0))[0], abs(db)), max(worst.get(c, (0, 0))[1], abs(dp)))
            print(f"{c:<6} {q:>4g} {b:>8.4f} {db:>+8.4f} {p:>7.3f} {dp:>+7.3f}")
    for c, (db, dp) in worst.items():
        print(f"{c}: worst |d bpp| {db:.4f}, worst |d PSNR| {dp:.3f} dB")
    if args.json:
        Path(args.json).write_text(json.dumps({"wall_seconds": wall, "jobs": args.jobs, "points": n_points,
                                               "worst_deviation": worst, "summary": summary}, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
