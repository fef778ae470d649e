#!/usr/bin/env python3
"""Entropy-coding benchmark: learned Gaussian conditional path, and the binary coder.

Part A -- learned. One latent of shape (1, 192, 64, 64) = 786,432 symbols,
y ~ N(0, s) with per-element scales s log-uniform in [0.11, S] (S = 16 and 256), coded
end to end (float tensor in -> bytes -> float tensor out) by CodecLab's
``GaussianConditional.compress/decompress`` and, in the same run and on the same data, by
CompressAI 1.2.8's ``GaussianConditional.compress/decompress`` (with ``build_indexes``).
Reported: bytes, overhead over the exact-scale ideal sum(-log2 P(k)) with P the Gaussian
bin mass at the *exact* scale, and encode / decode throughput (medians of ``--repeats``).
CompressAI is a benchmark-only dependency: without it the peer rows are skipped with a note.
(With CPU torch 2.13 its import needs the torchvision workaround of
``../shared/anchors/bench_entropy.py``, in ``benchmarks/peers.py``.)

Part B -- binary coder. A Kodak picture (``--image``; the package's sample crop when the
shared data set is absent) is converted to Y'CbCr 4:2:0, cut into 8 x 8 blocks (level
shifted by 128), DCT-II transformed and quantized at a QP-32 step (2^((32 - 4) / 6) =
25.4, rounding offset 1/3 as in HM's intra quantizer). The levels are coded with
``codeclab.classic`` (HEVC-style residual coding). Reported: time of the whole
residual encode and decode, bits against the ideal adaptive cost (sum of -log2 p with
each context's probability at that moment), and the engine alone: bins/s encoding and
decoding the recorded bin stream of that picture.

    python benchmarks/entropy.py [--repeats 7] [--json out.json]
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

import numpy as np
import torch

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from peers import KODAK, SAMPLES, import_compressai  # noqa: E402

from codeclab.classic.common import residual
from codeclab.classic.decoder.residual import decode_residuals
from codeclab.classic.encoder.residual import encode_residuals
from codeclab.entropy import (
    GaussianConditional,  # noqa: E402
    bin_coder,
    cabac,
    rate,
)


def timed(fn, repeats: int):
    """(median seconds, last result)."""
    times, out = [], None
    for _ in range(repeats):
        t = time.perf_counter()
        out = fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times), out


def exact_ideal_bits(sym: np.ndarray, scales: np.ndarray) -> float:
    """sum -log2 P(k), P(k) = Phi((|k| + 1/2) / s) - Phi((|k| - 1/2) / s), lower tail."""
    from scipy.special import log_ndtr

    a = (0.5 - np.abs(sym).astype(np.float64)) / scales
    b = (-0.5 - np.abs(sym).astype(np.float64)) / scales
    la, lb = log_ndtr(a), log_ndtr(b)
    return float(-(la + np.log1p(-np.exp(lb - la))).sum() / math.log(2))


# ----------------------------------------------------------------------------- part A
def bench_learned(scale_max: float, repeats: int, seed: int = 0) -> dict:
    rng = np.random.default_rng(seed)
    shape = (1, 192, 64, 64)
    n = int(np.prod(shape))
    scales = np.exp(rng.uniform(math.log(0.11), math.log(scale_max), size=shape))
    y = torch.from_numpy(rng.standard_normal(shape) * scales).float()
    scales_t = torch.from_numpy(scales).float()
    sym = torch.round(y).numpy().astype(np.int64)
    ideal = exact_ideal_bits(sym.reshape(-1), scales_t.double().numpy().reshape(-1))
    rows = {}

    def row(name, nbytes, t_enc, t_dec):
        rows[name] = dict(bytes=int(nbytes), overhead_pct=100.0 * (8 * nbytes - ideal) / ideal,
                          enc_Msym_s=n / t_enc / 1e6, dec_Msym_s=n / t_dec / 1e6,
                          enc_ms=1e3 * t_enc, dec_ms=1e3 * t_dec)

    ours = GaussianConditional()
    ours.update()
    ours.decompress(ours.compress(y, scales_t), scales_t)  # warm-up: numba compile, model cache
    t_enc, data = timed(lambda: ours.compress(y, scales_t), repeats)
    t_dec, y_hat = timed(lambda: ours.decompress(data, scales_t), repeats)
    assert torch.equal(y_hat, torch.round(y)), "codeclab round trip failed"
    row("codeclab", len(data), t_enc, t_dec)

    try:
        import_compressai()
        from compressai.entropy_models import GaussianConditional as PeerGC
        from compressai.models.base import get_scale_table
    except ImportError as e:
        rows["compressai_note"] = f"compressai not installed ({e}); peer column skipped"
    else:
        peer = PeerGC(None)
        peer.update_scale_table(get_scale_table(), force=True)
        with torch.no_grad():
            t_enc, strings = timed(lambda: peer.compress(y, peer.build_indexes(scales_t)), repeats)
            t_dec, y_peer = timed(lambda: peer.decompress(strings, peer.build_indexes(scales_t)), repeats)
        assert torch.equal(y_peer, torch.round(y)), "compressai round trip failed"
        row("compressai", len(strings[0]), t_enc, t_dec)
    return dict(scale_max=scale_max, n_symbols=n, ideal_bytes=ideal / 8, rows=rows)


# ----------------------------------------------------------------------------- part B
def ycbcr420_planes(path: Path) -> list[np.ndarray]:
    """Y', Cb, Cr (BT.601 full range) with 2x2-averaged chroma, as float arrays."""
    from PIL import Image

    rgb = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64)
    h, w = (rgb.shape[0] // 16) * 16, (rgb.shape[1] // 16) * 16
    r, g, b = (rgb[:h, :w, i] for i in range(3))
    y = 0.299 * r + 0.587 * g + 0.114 * b
    cb = 128 + (b - y) / 1.772
    cr = 128 + (r - y) / 1.402
    half = lambda p: p.reshape(h // 2, 2, w // 2, 2).mean(axis=(1, 3))  # noqa: E731
    return [y, half(cb), half(cr)]


def quantized_dct_blocks(plane: np.ndarray, qp: int = 32, size: int = 8) -> np.ndarray:
    """Orthonormal 8x8 DCT-II of the level-shifted plane, quantized with step 2^((qp-4)/6)."""
    from scipy.fft import dctn

    h, w = plane.shape
    blocks = (plane - 128.0).reshape(h // size, size, w // size, size).transpose(0, 2, 1, 3)
    coeffs = dctn(blocks.reshape(-1, size, size), axes=(1, 2), norm="ortho")
    step = 2.0 ** ((qp - 4) / 6)
    return (np.sign(coeffs) * np.floor(np.abs(coeffs) / step + 1.0 / 3.0)).astype(np.int32)


def bench_binary(image: Path, repeats: int) -> dict:
    planes = [quantized_dct_blocks(p) for p in ycbcr420_planes(image)]
    chroma_flags = [False, True, True]
    # Warm-up on a small input (numba compilation is not part of the measurement).
    decode_residuals(encode_residuals(planes[0][:4]), 4, 8)

    def encode_all():
        return [encode_residuals(b, chroma=c) for b, c in zip(planes, chroma_flags)]

    def decode_all(streams):
        return [decode_residuals(s, len(b), 8, chroma=c)
                for s, b, c in zip(streams, planes, chroma_flags)]

    t_enc, streams = timed(encode_all, repeats)
    t_dec, decoded = timed(lambda: decode_all(streams), repeats)
    assert all(np.array_equal(a, b) for a, b in zip(decoded, planes)), "residual round trip failed"
    # Ideal adaptive cost and the recorded bin stream (luma and chroma concatenated).
    ideal, ids, bins = 0.0, [], []
    for b, c in zip(planes, chroma_flags):
        stats = np.zeros(3)
        trace = np.zeros(2 * (b.size * 3 + 64 * len(b)), dtype=np.int32)
        encode_residuals(b, chroma=c, stats=stats, trace=trace)
        count = int(stats[1] + stats[2])
        ideal += stats[0]
        ids.append(trace[0: 2 * count: 2].astype(np.int64))
        bins.append(trace[1: 2 * count: 2].astype(np.int64))
    coded_bits = 8 * sum(len(s) for s in streams)
    ids, bins = np.concatenate(ids), np.concatenate(bins)
    n_ctx = residual.N_CONTEXTS + 2
    fresh = lambda: cabac.init_contexts(np.full(n_ctx, cabac.CNU))  # noqa: E731
    out = np.empty(bins.size + 64, dtype=np.uint8)
    bin_coder.encode_bin_stream(fresh(), ids[:100], bins[:100], out)  # compile
    size = bin_coder.encode_bin_stream(fresh(), ids, bins, out)
    data = out[:size].copy()
    back = np.empty_like(bins)
    bin_coder.decode_bin_stream(fresh(), ids[:100], data[:0], back[:100])  # compile
    t_bin_enc, _ = timed(lambda: bin_coder.encode_bin_stream(fresh(), ids, bins, out), repeats)
    t_bin_dec, code = timed(lambda: bin_coder.decode_bin_stream(fresh(), ids, data, back), repeats)
    assert code == 0 and np.array_equal(back, bins), "bin stream round trip failed"
    stream_ideal = rate.ideal_adaptive_bits(fresh(), ids, bins)
    return dict(
        image=image.name, planes=[list(p.shape) for p in planes],
        nonzero_levels=int(sum((p != 0).sum() for p in planes)),
        residual_enc_s=t_enc, residual_dec_s=t_dec, residual_bytes=coded_bits // 8,
        residual_ideal_bytes=ideal / 8, residual_overhead_pct=100.0 * (coded_bits - ideal) / ideal,
        bins=int(bins.size), regular_bins=int((ids >= 0).sum()),
        engine_enc_Mbins_s=bins.size / t_bin_enc / 1e6, engine_dec_Mbins_s=bins.size / t_bin_dec / 1e6,
        engine_bytes=int(size), engine_overhead_pct=100.0 * (8 * size - stream_ideal) / stream_ideal)


# ----------------------------------------------------------------------------- main
def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--scale-max", type=float, nargs="+", default=[16.0, 256.0])
    ap.add_argument("--image", type=Path, default=None, help="default: Kodak kodim01, else a sample crop")
    ap.add_argument("--threads", type=int, default=2, help="torch threads (both coders)")
    ap.add_argument("--skip-learned", action="store_true")
    ap.add_argument("--skip-binary", action="store_true")
    ap.add_argument("--json", type=Path, default=None, help="also write the figures as JSON")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    result = dict(machine=dict(platform=platform.platform(), cpus=os.cpu_count(), torch_threads=args.threads),
                  repeats=args.repeats)
    print(f"# {platform.platform()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{args.threads} torch threads, medians of {args.repeats} runs")

    if not args.skip_learned:
        print("\nA. Learned Gaussian conditional, end to end (tensor -> bytes -> tensor), "
              "(1,192,64,64) = 786432 symbols, scales log-uniform in [0.11, S]")
        print(f"  {'S':>5}  {'coder':<12} {'bytes':>9}  {'vs exact ideal':>14}  "
              f"{'enc Msym/s':>10}  {'dec Msym/s':>10}")
        result["learned"] = []
        for s in args.scale_max:
            r = bench_learned(s, args.repeats)
            result["learned"].append(r)
            for name, d in r["rows"].items():
                if isinstance(d, str):
                    print(f"  {s:>5g}  note: {d}")
                    continue
                print(f"  {s:>5g}  {name:<12} {d['bytes']:>9d}  {d['overhead_pct']:>+13.3f}%  "
                      f"{d['enc_Msym_s']:>10.2f}  {d['dec_Msym_s']:>10.2f}")
            print(f"  {s:>5g}  {'(ideal)':<12} {r['ideal_bytes']:>9.0f}")

    if not args.skip_binary:
        image = args.image or (KODAK / "kodim01.png" if (KODAK / "kodim01.png").exists()
                               else SAMPLES / "kodim23_crop256.png")
        r = bench_binary(image, args.repeats)
        result["binary"] = r
        print(f"\nB. Binary arithmetic coder on HEVC-style residual coding of {r['image']} "
              f"(Y'CbCr 4:2:0, 8x8 DCT, QP 32; {r['nonzero_levels']} non-zero levels)")
        print(f"  whole residual: encode {1e3 * r['residual_enc_s']:.1f} ms, "
              f"decode {1e3 * r['residual_dec_s']:.1f} ms, "
              f"{r['residual_bytes']} bytes, {r['residual_overhead_pct']:+.3f}% vs ideal adaptive cost "
              f"({r['residual_ideal_bytes']:.0f} bytes)")
        print(f"  engine on its bin stream ({r['bins']} bins, {r['regular_bins']} context-coded): "
              f"encode {r['engine_enc_Mbins_s']:.1f} M bins/s, decode {r['engine_dec_Mbins_s']:.1f} M bins/s, "
              f"{r['engine_overhead_pct']:+.3f}% vs ideal adaptive cost")

    if args.json:
        args.json.write_text(json.dumps(result, indent=2))
        print(f"\nwrote {args.json}")


if __name__ == "__main__":
    main()
