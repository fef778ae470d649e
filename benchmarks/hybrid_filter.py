#!/usr/bin/env python3
"""Decoding cost of the neural in-loop filter: ``classic-nn`` against ``classic`` on Kodak.

For each picture: encode once with each codec at ``--qp``, then decode both files
``--repeats`` times, alternating so that both see the same machine load, and keep the median
decode seconds of each (``api.decode``: parsing, reconstruction, deblocking, the filter,
colour conversion). Also printed: the filter program's parameters and multiply-accumulates
per luma sample, bytes, PSNR-RGB, the filter's side-information bytes, and whether each
decode equals its encoder's reconstruction (MD5).

    python benchmarks/hybrid_filter.py                        # kodim01..24 at QP 32
    python benchmarks/hybrid_filter.py --images 1,2,3 --qp 37 --repeats 5
    python benchmarks/hybrid_filter.py --json results/hybrid_filter.json

Target of issue 7: decoding with the filter takes at most twice the time without it
(median over the pictures of the per-picture ratio of median times).
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
from codeclab.eval.metrics import psnr_rgb  # noqa: E402
from codeclab.hybrid.nnlf.weights import DEFAULT_WEIGHTS, load_program, program_facts  # noqa: E402
from codeclab.io import read_image  # noqa: E402

KODAK = REPO.parent / "shared" / "data" / "kodak"
SAMPLES = REPO / "codeclab" / "data" / "samples"
CODECS = ("classic", "classic-nn")


def md5(image: torch.Tensor) -> str:
    return hashlib.md5(image.contiguous().numpy().tobytes()).hexdigest()


def pictures(data: Path, which: str) -> list[Path]:
    if not data.is_dir():
        print(f"note: {data} not found, using the package's sample crops", file=sys.stderr)
        return sorted(SAMPLES.glob("*.png"))
    if which == "all":
        return sorted(data.glob("*.png"))
    return [data / f"kodim{int(i):02d}.png" for i in which.split(",")]


def decode_times(files: dict[str, bytes], repeats: int) -> tuple[dict[str, float], dict[str, torch.Tensor]]:
    """Median decode seconds of each codec's file, decoding them in turn ``repeats`` times."""
    times = {name: [] for name in files}
    decoded = {}
    for _ in range(repeats):
        for name, data in files.items():
            start = time.perf_counter()
            decoded[name] = api.decode(data)
            times[name].append(time.perf_counter() - start)
    return {name: statistics.median(t) for name, t in times.items()}, decoded


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=KODAK, help="folder of pictures (default Kodak)")
    parser.add_argument("--images", default="all", help="Kodak numbers (1,2,3) or 'all'")
    parser.add_argument("--qp", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3, help="timed decodes per file (median)")
    parser.add_argument("--threads", type=int, help="torch threads (default: torch's own choice)")
    parser.add_argument("--json", help="also write the rows and medians here")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    facts = program_facts(load_program(DEFAULT_WEIGHTS))
    print(f"filter {DEFAULT_WEIGHTS.name}: {facts['parameters']} parameters, "
          f"{facts['kmac_per_luma_sample']:.2f} kMAC per luma sample; torch threads {torch.get_num_threads()}")
    warm = read_image(SAMPLES / "kodim23_crop256.png")
    for name in CODECS:  # compile / load the kernels and the weights
        api.decode(api.encode_image(warm, name, args.qp).data)

    rows = []
    print(f"{'picture':<12} {'dec classic':>11} {'dec nn':>8} {'ratio':>6} {'bytes':>7} {'bytes nn':>8} "
          f"{'filter B':>8} {'PSNR':>6} {'PSNR nn':>7}  exact")
    for path in pictures(args.data, args.images):
        image = read_image(path)
        encoded = {name: api.encode_image(image, name, args.qp) for name in CODECS}
        medians, decoded = decode_times({name: e.data for name, e in encoded.items()}, args.repeats)
        row = {"picture": path.name, "qp": args.qp,
               **{f"decode_s_{name}": medians[name] for name in CODECS},
               "ratio": medians["classic-nn"] / medians["classic"],
               **{f"bytes_{name}": len(encoded[name].data) for name in CODECS},
               "filter_bytes": encoded["classic-nn"].stats.get("filter_bytes") if encoded["classic-nn"].stats else None,
               **{f"psnr_rgb_{name}": psnr_rgb(image, decoded[name]) for name in CODECS},
               "exact": all(md5(decoded[name]) == md5(encoded[name].recon) for name in CODECS)}
        rows.append(row)
        print(f"{path.name:<12} {row['decode_s_classic']:>11.3f} {row['decode_s_classic-nn']:>8.3f} "
              f"{row['ratio']:>6.2f} {row['bytes_classic']:>7} {row['bytes_classic-nn']:>8} {row['filter_bytes']:>8} "
              f"{row['psnr_rgb_classic']:>6.2f} {row['psnr_rgb_classic-nn']:>7.2f}  {row['exact']}", flush=True)

    summary = {"median_decode_s_classic": statistics.median(r["decode_s_classic"] for r in rows),
               "median_decode_s_classic_nn": statistics.median(r["decode_s_classic-nn"] for r in rows),
               "median_ratio": statistics.median(r["ratio"] for r in rows),
               "max_ratio": max(r["ratio"] for r in rows),
               "mean_psnr_gain_db": statistics.mean(r["psnr_rgb_classic-nn"] - r["psnr_rgb_classic"] for r in rows),
               "all_exact": all(r["exact"] for r in rows),
               "parameters": facts["parameters"], "kmac_per_luma_sample": facts["kmac_per_luma_sample"]}
    print(f"median decode: classic {summary['median_decode_s_classic']:.3f} s, classic-nn "
          f"{summary['median_decode_s_classic_nn']:.3f} s; median ratio {summary['median_ratio']:.2f} "
          f"(max {summary['max_ratio']:.2f}); mean PSNR-RGB gain {summary['mean_psnr_gain_db']:+.3f} dB "
          f"at QP {args.qp}; all exact: {summary['all_exact']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        machine = {"platform": platform.platform(), "cpus": os.cpu_count(), "torch": torch.__version__,
                   "threads": torch.get_num_threads()}
        Path(args.json).write_text(json.dumps({"machine": machine, "summary": summary, "rows": rows}, indent=2) + "\n")
    return 0 if summary["all_exact"] else 1


if __name__ == "__main__":
    sys.exit(main())
