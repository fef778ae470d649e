#!/usr/bin/env python3
"""Speed of the overfitted codec (``overfit``): optimisation steps per second, decode time.

For each Kodak picture (768 x 512, either orientation) this measures

* one optimisation step of the encoder (forward, rate, backward, Adam) on the whole picture,
  with the fast preset's networks: the median of ``--steps`` timed steps after 3 untimed ones
  (iterations per second and seconds per iteration);
* with ``--encode``: a whole encode at ``--effort`` and ``--quality`` (seconds, bpp, PSNR-RGB),
  then its decode (seconds, median of ``--repeats``) and whether the decoded picture equals
  the encoder's reconstruction;

* with ``--streams DIR``: the decode time of every ``overfit`` ``.clb`` file under DIR (e.g. a
  ``codeclab bench`` output's ``bitstreams/overfit``), median of ``--repeats``, at ``--threads``,
  and whether it equals a one-thread decode of the same file;

with ``--compare-precision`` the step also in float32 throughout (the encoder trains its wide
hidden layers in bfloat16 where the CPU has it), and with ``--parallel N`` the step timed in N
processes at once, as ``codeclab bench --jobs N`` runs encodes (cores that share caches and
memory bandwidth slow each other down);

and states the decoder's multiply-accumulates per pixel (ARM over every latent, upsampling,
synthesis: :meth:`~codeclab.learned.overfit.architecture.Architecture.macs_per_pixel`).
``--threads`` sets ``torch.set_num_threads`` (default 1: ``codeclab bench --jobs 2`` runs one
thread per encode on two cores).

    python benchmarks/overfit_speed.py [--images 3] [--threads 1] [--steps 10] [--compare-precision] [--parallel 2]
                                       [--encode --effort fast --quality 4] [--streams DIR] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peers import KODAK, SAMPLES  # noqa: E402

from codeclab import api  # noqa: E402
from codeclab.codec import get_codec  # noqa: E402
from codeclab.io import read_image  # noqa: E402
from codeclab.learned.overfit import encoder  # noqa: E402
from codeclab.learned.overfit.encoder import _State, _train, effort_of, initial_parameters  # noqa: E402


def step_seconds(image: torch.Tensor, steps: int, effort) -> float:
    """Median seconds of one optimisation step on the whole picture."""
    target = image.float() / 255.0
    latents, nets = initial_parameters(effort.architecture, *target.shape[-2:], torch.Generator().manual_seed(0))
    state = _State(latents, nets)
    _train(state, target, 1e-3, 3, effort.learning_rate, "soft", (0.3, 0.3))
    times = []
    for _ in range(steps):
        t0 = time.perf_counter()
        _train(state, target, 1e-3, 1, effort.learning_rate, "soft", (0.3, 0.3))
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def step_seconds_in(path: str, steps: int, effort_name: str, bf16: bool, threads: int, start_at: float) -> float:
    """:func:`step_seconds` in a worker process (for ``--parallel``), from the common
    wall-clock ``start_at`` on, so that the workers really run at the same time."""
    torch.set_num_threads(threads)
    encoder.TRAINING_BF16 = bf16
    image = read_image(path)
    time.sleep(max(start_at - time.time(), 0.0))
    return step_seconds(image, steps, effort_of(effort_name))


def parallel_step_seconds(path: Path, steps: int, effort_name: str, bf16: bool, threads: int, workers: int) -> float:
    """Median over ``workers`` processes timing the step at the same time."""
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(workers) as pool:
        start_at = time.time() + 20.0  # after every worker has imported torch and CodecLab
        times = pool.starmap(step_seconds_in, [(str(path), steps, effort_name, bf16, threads, start_at)] * workers)
    return statistics.median(times)


def decode_streams(folder: Path, threads: int, repeats: int) -> list[dict]:
    """Decode seconds of every .clb under ``folder`` at ``threads``, and equality with 1 thread."""
    rows = []
    for path in sorted(folder.rglob("*.clb")):
        data = path.read_bytes()
        torch.set_num_threads(1)
        single = api.decode(data)
        torch.set_num_threads(threads)
        times = []
        for _ in range(repeats):
            t0 = time.perf_counter()
            decoded = api.decode(data)
            times.append(time.perf_counter() - t0)
        rows.append({"stream": str(path.relative_to(folder)), "bytes": len(data), "decode_s": statistics.median(times),
                     "same_as_1_thread": bool(torch.equal(decoded, single))})
        print(f"{rows[-1]['stream']}: {rows[-1]['decode_s']:.3f} s, same as 1 thread: {rows[-1]['same_as_1_thread']}",
              flush=True)
    return rows


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--images", type=int, default=3, help="first N Kodak pictures (samples without Kodak)")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=10, help="timed optimisation steps per picture")
    p.add_argument("--encode", action="store_true", help="also time a whole encode and its decode")
    p.add_argument("--effort", default="fast")
    p.add_argument("--quality", type=float, default=4.0)
    p.add_argument("--repeats", type=int, default=3, help="decodes per picture")
    p.add_argument("--streams", help="time the decoding of the .clb files under this folder instead")
    p.add_argument("--compare-precision", action="store_true", help="also time the step in float32 throughout")
    p.add_argument("--parallel", type=int, default=0, metavar="N", help="also time the step in N processes at once")
    p.add_argument("--json", help="write the figures here")
    args = p.parse_args()
    if args.streams:
        rows = decode_streams(Path(args.streams), args.threads, args.repeats)
        summary = {"threads": args.threads, "streams": len(rows),
                   "decode_s_median": statistics.median(r["decode_s"] for r in rows),
                   "decode_s_max": max(r["decode_s"] for r in rows),
                   "all_same_as_1_thread": all(r["same_as_1_thread"] for r in rows)}
        print(f"\n{len(rows)} streams, {args.threads} threads: decode median {summary['decode_s_median']:.3f} s, "
              f"max {summary['decode_s_max']:.3f} s, all equal to 1-thread decodes: {summary['all_same_as_1_thread']}")
        if args.json:
            Path(args.json).write_text(json.dumps({"summary": summary, "streams": rows}, indent=1))
        return 0
    torch.set_num_threads(args.threads)
    effort = effort_of(args.effort)
    paths = sorted(KODAK.glob("*.png"))[:args.images] if KODAK.is_dir() else sorted(SAMPLES.glob("*.png"))
    rows = []
    for path in paths:
        image = read_image(path)
        row = {"image": path.name, "pixels": image.shape[1] * image.shape[2],
               "step_s": step_seconds(image, args.steps, effort)}
        if args.compare_precision:
            encoder.TRAINING_BF16 = False
            row["step_s_float32"] = step_seconds(image, args.steps, effort)
            encoder.TRAINING_BF16 = True
        if args.parallel:
            row[f"step_s_{args.parallel}_at_once"] = parallel_step_seconds(path, args.steps, effort.name, True,
                                                                           args.threads, args.parallel)
            if args.compare_precision:
                row[f"step_s_float32_{args.parallel}_at_once"] = parallel_step_seconds(
                    path, args.steps, effort.name, False, args.threads, args.parallel)
        if args.encode:
            codec = get_codec("overfit").configure(effort=args.effort)
            t0 = time.perf_counter()
            result = api.encode_image(image, codec, args.quality)
            row["encode_s"] = time.perf_counter() - t0
            decodes = []
            for _ in range(args.repeats):
                t0 = time.perf_counter()
                decoded = api.decode(result.data)
                decodes.append(time.perf_counter() - t0)
            mse = ((result.recon.double() - image.double()) ** 2).mean().item()
            row.update(decode_s=statistics.median(decodes), bpp=8 * len(result.data) / row["pixels"],
                       psnr_rgb=10 * math.log10(255 ** 2 / max(mse, 1e-12)),
                       exact=bool(torch.equal(decoded, result.recon)))
        rows.append(row)
        print(f"{path.name}: " + ", ".join(f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}"
                                           for k, v in row.items() if k != "image"), flush=True)
    step = statistics.median(r["step_s"] for r in rows)
    summary = {"threads": args.threads, "effort": effort.name, "step_s": step, "iterations_per_s": 1.0 / step,
               "mac_per_pixel": effort.architecture.macs_per_pixel(),
               "iterations": effort.total_iterations}
    for key in rows[0]:
        if key.startswith("step_s_"):
            summary[key] = statistics.median(r[key] for r in rows)
    if args.encode:
        summary.update(encode_s=statistics.median(r["encode_s"] for r in rows),
                       decode_s=statistics.median(r["decode_s"] for r in rows),
                       exact=all(r["exact"] for r in rows))
    print(f"\n{'threads':>8} {'s/iter':>8} {'iter/s':>8} {'MAC/px':>8}" + (f" {'encode s':>9} {'decode s':>9} {'exact':>6}" if args.encode else ""))
    line = f"{args.threads:>8} {step:>8.4f} {1 / step:>8.2f} {summary['mac_per_pixel']:>8.0f}"
    if args.encode:
        line += f" {summary['encode_s']:>9.1f} {summary['decode_s']:>9.3f} {str(summary['exact']):>6}"
    print(line + f"   (medians over {len(rows)} pictures; load {os.getloadavg()[0]:.2f})")
    for key, value in summary.items():
        if key.startswith("step_s_"):
            print(f"{key}: {value:.4f} s/iter")
    if args.json:
        Path(args.json).write_text(json.dumps({"machine": platform.processor() or platform.machine(),
                                               "summary": summary, "images": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
