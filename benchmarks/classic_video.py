#!/usr/bin/env python3
"""Speed and bit-exactness of the classic codec on sequences (low-delay P), beside x264/x265.

For each sequence and QP: encode and decode frames per second (median of ``--repeats``
runs, after one warm-up run that also loads the numba kernels), wall-clock and the
process's CPU time, kbit/s from the real ``.clb`` size, PSNR-Y, and whether every decoded
frame's MD5 equals the encoder's reconstruction. The anchors run through the same API in
the same process (their encoders use their own threads: ``-threads 2`` for x264/x265).

    python benchmarks/classic_video.py                                  # carphone, QP 32
    python benchmarks/classic_video.py --sequences carphone,bikes --qps 22,32 --repeats 3
    python benchmarks/classic_video.py --anchors none --frames 100 --json results/video.json

Targets of issue 6: carphone (176x144) encode >= 5 frames/s and decode >= 50 frames/s on a
2-core machine, one process.
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
from codeclab.eval import metrics  # noqa: E402
from codeclab.io.y4m import read_y4m  # noqa: E402

VIDEO = REPO.parent / "shared" / "data" / "video"
SEQUENCES = {"carphone": "carphone_176x144.y4m", "bikes": "bikes_640x272.y4m"}
SAMPLE = REPO / "codeclab" / "data" / "samples" / "carphone_qcif_10f.y4m"


def frame_md5s(video) -> list[str]:
    return [hashlib.md5(b"".join(p.contiguous().numpy().tobytes() for p in video.planes(t))).hexdigest()
            for t in range(video.num_frames)]


def timed(fn, repeats: int):
    """(result of the last run, median wall seconds, median CPU seconds) of ``repeats`` runs."""
    walls, cpus, result = [], [], None
    for _ in range(repeats):
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return result, statistics.median(walls), statistics.median(cpus)


def load(name: str, frames: int | None):
    path = VIDEO / SEQUENCES.get(name, name)
    if not path.is_file():
        print(f"note: {path} not found, using the package's 10-frame sample", file=sys.stderr)
        path = SAMPLE
    video = read_y4m(path)
    return path.stem, video.frames(0, frames) if frames else video


def measure(codec: str, video, qp: int, intra_period: int, repeats: int) -> dict:
    result, enc_wall, enc_cpu = timed(
        lambda: api.encode_video(video, codec, qp, intra_period=intra_period), repeats)
    decoded, dec_wall, dec_cpu = timed(lambda: api.decode(result.data), max(repeats, 3))
    n = video.num_frames
    planes = metrics.psnr_planes(video, decoded)
    in_process = codec == "classic"  # the anchors work in ffmpeg subprocesses: no CPU figure
    return {"codec": codec, "qp": qp, "frames": n,
            "kbps": metrics.bitrate_kbps(len(result.data), n, float(video.fps)),
            "psnr_y": planes["y"], "encode_fps": n / enc_wall,
            "encode_cpu_fps": n / enc_cpu if in_process else None,
            "decode_fps": n / dec_wall, "decode_cpu_fps": n / dec_cpu if in_process else None,
            "md5_equal": frame_md5s(decoded) == frame_md5s(result.recon)}


def _fps(value) -> str:
    return f"{value:>7.1f}" if value is not None else f"{'-':>7}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", default="carphone", help="carphone, bikes, or .y4m paths")
    parser.add_argument("--frames", type=int, default=None, help="code only the first N frames")
    parser.add_argument("--qps", default="32", help="comma-separated QPs")
    parser.add_argument("--intra-period", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per point (median)")
    parser.add_argument("--anchors", default="x264,x265", help="peer codecs, or 'none'")
    parser.add_argument("--json", help="also write the rows and the machine here")
    args = parser.parse_args()
    qps = [int(q) for q in args.qps.split(",")]
    codecs = ["classic"] + ([] if args.anchors == "none" else args.anchors.split(","))

    warm = read_y4m(SAMPLE).frames(0, 3)
    api.decode(api.encode_video(warm, "classic", 32).data)  # compile / load the kernels

    rows = []
    print(f"{'sequence':<22} {'codec':<8} {'QP':>3} {'kbps':>8} {'PSNR-Y':>7} {'enc fps':>8} "
          f"{'(cpu)':>7} {'dec fps':>8} {'(cpu)':>7}  md5")
    for name in args.sequences.split(","):
        stem, video = load(name, args.frames)
        for qp in qps:
            for codec in codecs:
                row = {"sequence": stem, **measure(codec, video, qp, args.intra_period, args.repeats)}
                rows.append(row)
                print(f"{stem:<22} {codec:<8} {qp:>3} {row['kbps']:>8.1f} {row['psnr_y']:>7.2f} "
                      f"{row['encode_fps']:>8.1f} {_fps(row['encode_cpu_fps'])} "
                      f"{row['decode_fps']:>8.1f} {_fps(row['decode_cpu_fps'])}  "
                      f"{'equal' if row['md5_equal'] else 'DIFFERENT'}", flush=True)
    machine = {"machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
               "load_average": os.getloadavg(), "torch_threads": torch.get_num_threads()}
    print(f"load average {machine['load_average'][0]:.1f} on {os.cpu_count()} cores "
          "(frames/s: wall clock; (cpu): this process's CPU time)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps({"rows": rows, **machine}, indent=1))
    classic_ok = all(r["md5_equal"] for r in rows if r["codec"] == "classic")
    return 0 if classic_ok else 1


if __name__ == "__main__":
    sys.exit(main())
