#!/usr/bin/env python3
"""Speed and bit-exactness of the classic all-intra codec on Kodak pictures.

For each picture and QP: encode (median of ``--repeats`` runs, after one warm-up run that
also compiles the numba kernels), decode (median likewise), bits per pixel from the real
``.clb`` size, PSNR-RGB, and whether the decoded picture's MD5 equals the encoder's
reconstruction. Times are wall-clock seconds of ``api.encode_image`` / ``api.decode``
(colour conversion, chroma resampling and deblocking included).

    python benchmarks/classic_intra.py                       # kodim01..03 at QP 32
    python benchmarks/classic_intra.py --images all --qps 22,27,32,37 --repeats 1
    python benchmarks/classic_intra.py --json results/classic_intra.json
    python benchmarks/classic_intra.py --images all --beside bit_depth=8,cclm=false   # and a peer setting

Targets of issue 4: encode <= 10 s and decode <= 1 s per Kodak picture at QP 32 on a
2-core machine; MD5 equal for all 24 pictures at QP 22, 27, 32, 37.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from codeclab import api  # noqa: E402
from codeclab.codec import get_codec  # noqa: E402
from codeclab.eval.metrics import psnr_rgb  # noqa: E402
from codeclab.io import read_image  # noqa: E402

KODAK = REPO.parent / "shared" / "data" / "kodak"
SAMPLES = REPO / "codeclab" / "data" / "samples"


def md5(image: torch.Tensor) -> str:
    return hashlib.md5(image.contiguous().numpy().tobytes()).hexdigest()


def timed(fn, repeats: int):
    """(result of the last run, median seconds of ``repeats`` runs)."""
    times, result = [], None
    for _ in range(repeats):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return result, statistics.median(times)


def pictures(which: str) -> list[Path]:
    if not KODAK.is_dir():
        print(f"note: {KODAK} not found, using the package's sample crops", file=sys.stderr)
        return sorted(SAMPLES.glob("*.png"))
    if which == "all":
        return sorted(KODAK.glob("kodim*.png"))
    return [KODAK / f"kodim{int(i):02d}.png" for i in which.split(",")]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", default="1,2,3", help="Kodak numbers (1,2,3) or 'all'")
    parser.add_argument("--qps", default="32", help="comma-separated QPs")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (median)")
    parser.add_argument("--beside", default="", metavar="KEY=VALUE,...",
                        help="also time classic configured so (e.g. the codec before a tool: bit_depth=8,cclm=false)")
    parser.add_argument("--json", help="also write the rows and medians here")
    args = parser.parse_args()
    qps = [int(q) for q in args.qps.split(",")]
    codecs = {"classic": get_codec("classic")}
    if args.beside:
        options = dict(item.split("=", 1) for item in args.beside.split(","))
        options = {k: {"true": True, "false": False}.get(v.lower(), int(v) if v.isdigit() else v)
                   for k, v in options.items()}
        codecs[f"classic({args.beside})"] = get_codec("classic").configure(**options)

    warm = read_image(SAMPLES / "kodim23_crop256.png")
    for codec in codecs.values():
        api.decode(api.encode_image(warm, codec, 32).data)  # compile / load the kernels

    rows = []
    print(f"{'picture':<12} {'QP':>3} {'bpp':>7} {'PSNR-RGB':>9} {'enc s':>7} {'dec s':>7}  md5  codec")
    for path in pictures(args.images):
        image = read_image(path)
        for qp in qps:
            for name, codec in codecs.items():
                result, encode_s = timed(lambda: api.encode_image(image, codec, qp), args.repeats)
                decoded, decode_s = timed(lambda: api.decode(result.data), max(args.repeats, 3))
                row = {"picture": path.name, "qp": qp, "codec": name,
                       "bpp": 8 * len(result.data) / (image.shape[1] * image.shape[2]),
                       "psnr_rgb": psnr_rgb(image, decoded), "encode_s": encode_s,
                       "decode_s": decode_s, "md5_equal": md5(decoded) == md5(result.recon)}
                rows.append(row)
                print(f"{path.name:<12} {qp:>3} {row['bpp']:>7.4f} {row['psnr_rgb']:>9.3f} "
                      f"{encode_s:>7.2f} {decode_s:>7.3f}  {'equal' if row['md5_equal'] else 'DIFFERENT'}  {name}")
    for name in codecs:
        mine = [r for r in rows if r["codec"] == name]
        print(f"{name}: median encode {statistics.median(r['encode_s'] for r in mine):.2f} s, "
              f"median decode {statistics.median(r['decode_s'] for r in mine):.3f} s")
    first = [r for r in rows if r["codec"] == "classic"]
    summary = {
        "median_encode_s": statistics.median(r["encode_s"] for r in first),
        "median_decode_s": statistics.median(r["decode_s"] for r in first),
        "per_codec": {name: {"median_encode_s": statistics.median(r["encode_s"] for r in rows if r["codec"] == name),
                             "median_decode_s": statistics.median(r["decode_s"] for r in rows if r["codec"] == name)}
                      for name in codecs},
        "all_md5_equal": all(r["md5_equal"] for r in rows),
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch_threads": torch.get_num_threads(),
    }
    print(f"classic: median encode {summary['median_encode_s']:.2f} s, median decode "
          f"{summary['median_decode_s']:.3f} s, all MD5 equal: {summary['all_md5_equal']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"rows": rows, "summary": summary}, indent=1))
    return 0 if summary["all_md5_equal"] else 1


if __name__ == "__main__":
    sys.exit(main())
