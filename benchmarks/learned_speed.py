#!/usr/bin/env python3
"""CPU speed of the learned image codecs, side by side with CompressAI's implementations.

For each architecture -- factorized prior (Ballé 2018), scale hyperprior (Ballé 2018),
mean-scale hyperprior (Minnen 2018), checkerboard context on the mean-scale hyperprior
(He 2021) -- at CompressAI's low-rate size (N = 128, M = 192), this times on Kodak
pictures (768 x 512, in either orientation):

* CodecLab: ``model.compress(x, lmbda)`` (bytes out) and ``model.decompress(...)``
  (picture out) -- the models of ``codeclab.learned.models``, integer table choices included;
* CompressAI 1.2.8, the same architecture: ``bmshj2018-factorized``, ``bmshj2018-hyperprior``,
  ``mbt2018-mean`` at quality 3 (N = 128, M = 192), and for the checkerboard its
  ``CheckerboardLatentCodec`` inside a ``HyperpriorLatentCodec`` on ``mbt2018-mean``'s
  transforms (the composition its ``Cheng2020AnchorCheckerboard`` uses, with Minnen's
  transforms instead of Cheng's).

Both run with random weights (speed does not depend on training), in this process,
interleaved picture by picture so they share the machine's state; the table gives the
medians over pictures of the seconds per picture, and the bytes written (random weights
make the sizes meaningless as rates, but show the workload each entropy coder had).
Every CodecLab decode is repeated and must give the same picture. ``--threads`` sets
``torch.set_num_threads`` (default 2). The machine's load average is printed and stored:
on a shared machine other processes slow both columns (CompressAI's more: its many
multi-threaded small operations wait at barriers for descheduled threads).

    python benchmarks/learned_speed.py [--images 24] [--threads 2] [--models all] [--json out.json]
"""

from __future__ import annotations

import argparse
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

from peers import KODAK, SAMPLES, import_compressai  # noqa: E402

from codeclab.io import pad_to_multiple, read_image  # noqa: E402
from codeclab.learned.registry import build_model  # noqa: E402

ARCHITECTURES = ("factorized", "hyperprior", "mean-scale", "checkerboard")
LAMBDA = 0.013  # CompressAI's quality 4 for MSE: the middle of the ladder


def compressai_checkerboard(N: int = 128, M: int = 192):
    """mbt2018-mean's transforms with CompressAI's checkerboard latent codec (He 2021)."""
    from compressai.entropy_models import EntropyBottleneck
    from compressai.latent_codecs import (CheckerboardLatentCodec, GaussianConditionalLatentCodec,
                                          HyperLatentCodec, HyperpriorLatentCodec)
    from compressai.layers import CheckerboardMaskedConv2d
    from compressai.models import MeanScaleHyperprior
    from compressai.models.base import SimpleVAECompressionModel

    base = MeanScaleHyperprior(N, M)
    model = SimpleVAECompressionModel()
    model.g_a, model.g_s = base.g_a, base.g_s
    entropy_parameters = torch.nn.Sequential(
        torch.nn.Conv2d(M * 12 // 3, M * 10 // 3, 1), torch.nn.LeakyReLU(inplace=True),
        torch.nn.Conv2d(M * 10 // 3, M * 8 // 3, 1), torch.nn.LeakyReLU(inplace=True),
        torch.nn.Conv2d(M * 8 // 3, M * 6 // 3, 1))
    model.latent_codec = HyperpriorLatentCodec(latent_codec={
        "y": CheckerboardLatentCodec(
            latent_codec={"y": GaussianConditionalLatentCodec(quantizer="ste")},
            entropy_parameters=entropy_parameters,
            context_prediction=CheckerboardMaskedConv2d(M, 2 * M, kernel_size=5, stride=1, padding=2)),
        "hyper": HyperLatentCodec(entropy_bottleneck=EntropyBottleneck(N), h_a=base.h_a, h_s=base.h_s,
                                  quantizer="ste"),
    })
    return model


def compressai_model(architecture: str):
    from compressai.zoo import bmshj2018_factorized, bmshj2018_hyperprior, mbt2018_mean

    builders = {"factorized": lambda: bmshj2018_factorized(quality=3),
                "hyperprior": lambda: bmshj2018_hyperprior(quality=3),
                "mean-scale": lambda: mbt2018_mean(quality=3),
                "checkerboard": compressai_checkerboard}
    model = builders[architecture]().eval()
    model.update(force=True)
    return model


def count_bytes(strings) -> int:
    if isinstance(strings, (bytes, bytearray)):
        return len(strings)
    return sum(count_bytes(s) for s in strings)


def pictures(count: int) -> list[tuple[str, torch.Tensor]]:
    paths = sorted(KODAK.glob("*.png"))[:count] if KODAK.is_dir() else sorted(SAMPLES.glob("*.png"))
    return [(p.stem, pad_to_multiple(read_image(p)[None].float() / 255.0, 64)) for p in paths]


def bench_architecture(architecture: str, images: list, peer: bool) -> dict:
    torch.manual_seed(0)
    ours = build_model(architecture).eval()
    ours.update()
    theirs = compressai_model(architecture) if peer else None
    lmbda = torch.tensor([LAMBDA])
    times = {"codeclab_encode": [], "codeclab_decode": [], "compressai_encode": [], "compressai_decode": []}
    sizes = {"codeclab": [], "compressai": []}
    with torch.inference_mode():
        warm = images[0][1]  # first calls compile numba kernels and build tables: not timed
        ours.decompress(**_ours_args(ours.compress(warm, lmbda)), lmbda=lmbda)
        if peer:
            encoded = theirs.compress(warm)
            theirs.decompress(encoded["strings"], encoded["shape"])
        for name, x in images:
            t0 = time.perf_counter()
            encoded = ours.compress(x, lmbda)
            t1 = time.perf_counter()
            decoded = ours.decompress(**_ours_args(encoded), lmbda=lmbda)
            t2 = time.perf_counter()
            times["codeclab_encode"].append(t1 - t0)
            times["codeclab_decode"].append(t2 - t1)
            sizes["codeclab"].append(count_bytes(encoded["strings"]))
            again = ours.decompress(**_ours_args(encoded), lmbda=lmbda)
            if not torch.equal(again["x_hat"], decoded["x_hat"]):
                raise SystemExit(f"{architecture}: decoding {name} twice gave different pictures")
            if peer:
                t0 = time.perf_counter()
                encoded = theirs.compress(x)
                t1 = time.perf_counter()
                theirs.decompress(encoded["strings"], encoded["shape"])
                t2 = time.perf_counter()
                times["compressai_encode"].append(t1 - t0)
                times["compressai_decode"].append(t2 - t1)
                sizes["compressai"].append(count_bytes(encoded["strings"]))
    result = {"parameters_M": sum(p.numel() for p in ours.parameters()) / 1e6}
    for key, values in times.items():
        if values:
            result[key + "_s"] = statistics.median(values)
    for key, values in sizes.items():
        if values:
            result[key + "_bytes"] = statistics.median(values)
    return result


def _ours_args(encoded: dict) -> dict:
    return {"strings": encoded["strings"], "shape": encoded["shape"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--images", type=int, default=24, help="first N Kodak pictures (default 24)")
    ap.add_argument("--threads", type=int, default=2, help="torch.set_num_threads (default 2)")
    ap.add_argument("--models", default="all", help=f"comma-separated subset of {', '.join(ARCHITECTURES)}")
    ap.add_argument("--no-compressai", action="store_true", help="time CodecLab only")
    ap.add_argument("--json", help="also write the results here")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    architectures = ARCHITECTURES if args.models == "all" else tuple(args.models.split(","))
    peer = not args.no_compressai
    if peer:
        try:
            import_compressai()
        except ImportError as e:
            print(f"compressai not installed ({e}): CodecLab only", file=sys.stderr)
            peer = False
    images = pictures(args.images)
    results = {}
    for architecture in architectures:
        results[architecture] = bench_architecture(architecture, images, peer)
        print(f"  {architecture}: done", file=sys.stderr, flush=True)

    load = ", ".join(f"{v:.1f}" for v in os.getloadavg())
    print(f"CPU encode/decode seconds per picture (median of {len(images)} Kodak pictures, "
          f"{args.threads} threads, random weights, N=128 M=192; load average {load})")
    print(f"{'model':<14}{'params':>8}  {'CodecLab enc':>12} {'dec':>7}  {'CompressAI enc':>14} {'dec':>7}"
          f"  {'bytes: ours':>11} {'theirs':>8}")
    for architecture, r in results.items():
        theirs = (f"{r['compressai_encode_s']:>14.3f} {r['compressai_decode_s']:>7.3f}"
                  if "compressai_decode_s" in r else f"{'-':>14} {'-':>7}")
        print(f"{architecture:<14}{r['parameters_M']:>7.2f}M  {r['codeclab_encode_s']:>12.3f} "
              f"{r['codeclab_decode_s']:>7.3f}  {theirs}  {r['codeclab_bytes']:>11.0f} "
              f"{r.get('compressai_bytes', float('nan')):>8.0f}")
    if args.json:
        meta = {"threads": args.threads, "images": [n for n, _ in images], "lambda": LAMBDA,
                "torch": torch.__version__, "cpu": platform.processor() or platform.machine(),
                "load_average": os.getloadavg()}
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, indent=2) + "\n")


if __name__ == "__main__":
    main()
