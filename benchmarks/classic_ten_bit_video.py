#!/usr/bin/env python3
"""10-bit video through the classic codec: a 10-bit clip coded at 10 bits against the same
clip rounded to 8 bits and coded at 8 bits, both measured against the 10-bit source.

There is no 10-bit source in the shared data, so one is made with the ffmpeg of
``imageio-ffmpeg``: a shared 8-bit sequence downscaled by two with the area filter straight
into ``yuv420p10le`` (the averages keep two more bits), and the same into ``yuv420p``. PSNR
is HM's, at the 10-bit peak (1020); the 8-bit reconstruction is scaled by 4 first. Rates are
the real ``.clb`` sizes. Every 10-bit stream is decoded and checked equal to the encoder's
reconstruction.

    python benchmarks/classic_ten_bit_video.py                    # bikes, 30 frames, QP 22..37
    python benchmarks/classic_ten_bit_video.py --json results/ten_bit_video.json
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

VIDEO = REPO.parent / "shared" / "data" / "video" / "bikes_640x272.y4m"


def make_clip(source: Path, out: Path, pix_fmt: str, frames: int) -> None:
    import imageio_ffmpeg

    subprocess.run([imageio_ffmpeg.get_ffmpeg_exe(), "-v", "error", "-y", "-i", str(source), "-frames:v", str(frames),
                    "-vf", f"scale=iw/2:ih/2:flags=area,format={pix_fmt}", "-strict", "-1", str(out)], check=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--video", type=Path, default=VIDEO)
    parser.add_argument("--frames", type=int, default=30)
    parser.add_argument("--qps", default="22,27,32,37")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    if not args.video.is_file():
        print(f"no video {args.video}", file=sys.stderr)
        return 2
    import torch

    from codeclab import api
    from codeclab.eval.bdrate import bd_rate
    from codeclab.eval.metrics import hm_peak, psnr
    from codeclab.io.y4m import read_y4m

    torch.set_num_threads(2)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        make_clip(args.video, Path(tmp) / "ten.y4m", "yuv420p10le", args.frames)
        make_clip(args.video, Path(tmp) / "eight.y4m", "yuv420p", args.frames)
        ten, eight = read_y4m(Path(tmp) / "ten.y4m"), read_y4m(Path(tmp) / "eight.y4m")
        for qp in [int(q) for q in args.qps.split(",")]:
            for name, video in (("10-bit", ten), ("8-bit", eight)):
                start = time.perf_counter()
                result = api.encode_video(video, "classic", qp, intra_period=32)
                seconds = time.perf_counter() - start
                scale = 1 if video.bit_depth == 10 else 4
                recon_y = result.recon.y.to(torch.int32) * scale
                value = psnr(ten.y.to(torch.int32), recon_y, peak=hm_peak(10))
                exact = api.same_media(api.decode(result.data), result.recon)
                kbps = 8 * len(result.data) * float(video.fps) / video.num_frames / 1000
                rows.append({"coding": name, "qp": qp, "kbps": kbps, "psnr_y_10bit": value,
                             "encode_s": seconds, "exact": exact})
                print(f"{name:6} QP {qp}: {kbps:8.1f} kbps  PSNR-Y {value:6.3f} dB (10-bit peak)  "
                      f"encode {seconds:5.1f} s  decode exact {exact}", flush=True)
    curve = {n: ([r["kbps"] for r in rows if r["coding"] == n], [r["psnr_y_10bit"] for r in rows if r["coding"] == n])
             for n in ("8-bit", "10-bit")}
    saving = bd_rate(*curve["8-bit"], *curve["10-bit"])
    print(f"BD-rate of 10-bit coding against 8-bit coding of the same source: {saving:+.2f}% (PSNR-Y, pchip)")
    if args.json:
        meta = {"machine": f"{platform.machine()} {os.cpu_count()} CPUs", "video": args.video.name,
                "frames": args.frames}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"meta": meta, "rows": rows, "bd_rate_10_vs_8": saving}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
