"""``codeclab bench``: rate-distortion benchmark of any set of codecs over a folder.

For every (codec, quality, picture) *point* the bench encodes through the codec registry,
writes the real ``.clb`` file, measures its size on disk, decodes that file, checks the
decoder reproduced the encoder's reconstruction, and measures quality::

    out/
      points/<codec>/q<Q>/<picture>.json   one measured point (the bench resumes from these)
      bitstreams/<codec>/q<Q>/<picture>.clb
      per_image.csv                        every point
      <codec>.json                         CompressAI-style means over pictures per quality
      rd.png                               PSNR and MS-SSIM (or PSNR-Y / YUV) against rate
      report.md                            tables and BD-rates against the reference
      report.html                          the same with the curves, and crops side by side (one file)

Images are judged by PSNR over 8-bit RGB and MS-SSIM (CompressAI's conventions: each
quality point is the mean of the per-image values); sequences by PSNR-Y and the 6:1:1
YUV PSNR averaged over frames, with the bitrate in kbit/s from the file size.
"""

from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from codeclab.errors import InputError
from codeclab.eval.layout import bitstream_path, format_quality

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp"}
VIDEO_SUFFIXES = {".y4m", ".mp4", ".mkv", ".mov", ".avi", ".webm"}
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
DEFAULT_CODECS = "classic,jpeg,webp,heif,x265"

IMAGE_METRICS = ("bpp", "psnr-rgb", "ms-ssim-rgb", "encoding_time", "decoding_time")
VIDEO_METRICS = ("kbps", "bpp", "psnr-y", "psnr-cb", "psnr-cr", "psnr-yuv", "encoding_time", "decoding_time")


# -- what to run ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Point:
    """One measurement: a codec at one quality on one picture or sequence."""

    codec: str
    quality: float
    path: str
    media: str  # "image" | "video"
    intra_period: int = 32
    max_frames: int | None = None

    @property
    def item(self) -> str:
        return Path(self.path).stem

    def key(self) -> str:
        return f"{self.codec}/q{format_quality(self.quality)}/{self.item}"


def discover(data: Path, media: str) -> tuple[list[Path], str]:
    """The pictures (or sequences) in ``data``, sorted by name, and which kind they are."""
    if not data.is_dir():
        raise InputError(f"data folder {data} does not exist")
    files = sorted(p for p in data.iterdir() if p.is_file())
    images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
    videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
    if media == "auto":
        media = "image" if images else "video"
    chosen = images if media == "image" else videos
    if not chosen:
        raise InputError(f"no {media} files in {data}")
    return chosen, media


def parse_qualities(specs: list[str]) -> dict[str, list[float]]:
    """``["jpeg=5,10,20", "x265=22,27"]`` -> ``{"jpeg": [5, 10, 20], "x265": [22, 27]}``."""
    out: dict[str, list[float]] = {}
    for spec in specs or []:
        for part in spec.split(";"):
            if not part.strip():
                continue
            name, sep, values = part.partition("=")
            if not sep:
                raise InputError(f"--qualities expects CODEC=Q1,Q2,..., got {part!r}")
            try:
                out[name.strip()] = [float(v) for v in values.split(",") if v.strip()]
            except ValueError:
                raise InputError(f"--qualities: {values!r} is not a list of numbers") from None
    return out


# -- measuring one point -------------------------------------------------------------------

def measure_point(point: Point, out: Path) -> dict:
    """Encode, write, decode and score one point; return its row."""
    from codeclab import api
    from codeclab.eval import metrics

    codec = api.get_codec(point.codec)
    clb = bitstream_path(out, point.codec, point.quality, point.item)
    clb.parent.mkdir(parents=True, exist_ok=True)
    row: dict = {"codec": point.codec, "quality": point.quality, "item": point.item}

    if point.media == "image":
        from codeclab.io.image import read_image

        original = read_image(point.path, note=lambda msg: None)
        if original.shape[0] == 1:
            original = original.expand(3, -1, -1).contiguous()
        t0 = time.perf_counter()
        result = api.encode_image(original, codec, point.quality)
        t1 = time.perf_counter()
    else:
        from codeclab.io.video_reader import read_video

        original = read_video(point.path, max_frames=point.max_frames)
        t0 = time.perf_counter()
        result = api.encode_video(original, codec, point.quality, intra_period=point.intra_period)
        t1 = time.perf_counter()

    from codeclab.io.files import atomic_write

    atomic_write(clb, result.data)
    size = clb.stat().st_size  # the rate is what is on disk
    data = clb.read_bytes()
    t2 = time.perf_counter()
    decoded = api.decode(data)
    t3 = time.perf_counter()
    row.update(encoding_time=t1 - t0, decoding_time=t3 - t2, bytes=size,
               recon_match=api.same_media(decoded, result.recon))

    if point.media == "image":
        h, w = original.shape[-2:]
        row.update(width=w, height=h, bpp=metrics.bpp(size, w, h),
                   **{"psnr-rgb": metrics.psnr_rgb(original, decoded),
                      "ms-ssim-rgb": _ms_ssim_or_nan(original, decoded)})
    else:
        planes = metrics.psnr_planes(original, decoded)
        fps = float(original.fps)
        row.update(width=original.width, height=original.height, frames=original.num_frames, fps=fps,
                   kbps=metrics.bitrate_kbps(size, original.num_frames, fps),
                   bpp=metrics.bpp(size, original.width, original.height) / original.num_frames,
                   **{"psnr-y": planes["y"], "psnr-cb": planes["cb"], "psnr-cr": planes["cr"],
                      "psnr-yuv": metrics.psnr_yuv_611(planes["y"], planes["cb"], planes["cr"])})
    return row


def _ms_ssim_or_nan(a, b) -> float:
    from codeclab.eval import metrics

    try:
        return metrics.ms_ssim_rgb(a, b)
    except ValueError:  # too small for the 5-scale pyramid
        return math.nan


def _point_file(out: Path, point: Point) -> Path:
    return out / "points" / f"{point.key()}.json"


def _run_in_worker(point: Point, out: str, threads: int) -> dict:
    import torch

    torch.set_num_threads(threads)
    row = measure_point(point, Path(out))
    _save_row(Path(out), point, row)
    return row


def _save_row(out: Path, point: Point, row: dict) -> None:
    from codeclab.io.files import atomic_write

    path = _point_file(out, point)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(row, indent=1).encode())


def run_points(points: list[Point], out: Path, jobs: int, progress: bool = True) -> tuple[list[dict], int]:
    """Measure every point not already in ``out`` (resumable), ``jobs`` at a time.

    Returns the rows of all points and how many of them were measured in this run.
    """
    rows: dict[str, dict] = {}
    todo = []
    for p in points:
        f = _point_file(out, p)
        if f.is_file():
            try:
                rows[p.key()] = json.loads(f.read_text())
                continue
            except (OSError, ValueError):
                pass  # an unreadable point is measured again
        todo.append(p)
    from tqdm import tqdm

    # In a log file (not a terminal) a line every 30 s instead of a redraw per point.
    bar = tqdm(total=len(todo), desc="bench", unit="pt", disable=not progress or not todo,
               file=sys.stderr, dynamic_ncols=True, mininterval=0.1 if sys.stderr.isatty() else 30)
    if jobs <= 1:
        for p in todo:
            bar.set_postfix_str(p.key(), refresh=False)
            rows[p.key()] = measure_point(p, out)
            _save_row(out, p, rows[p.key()])
            bar.update()
    else:
        threads = max(1, (os.cpu_count() or 1) // jobs)
        ctx = multiprocessing.get_context("spawn")  # no fork after torch has started threads
        with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx) as pool:
            futures = {pool.submit(_run_in_worker, p, str(out), threads): p for p in todo}
            for fut in as_completed(futures):
                p = futures[fut]
                rows[p.key()] = fut.result()
                bar.set_postfix_str(p.key(), refresh=False)
                bar.update()
    bar.close()
    return [rows[p.key()] for p in points], len(todo)


# -- summarising -----------------------------------------------------------------------------

def aggregate(rows: list[dict], media: str) -> dict[str, dict]:
    """CompressAI-style results per codec: one mean over pictures per quality."""
    keys = IMAGE_METRICS if media == "image" else VIDEO_METRICS
    by_codec: dict[str, dict[float, list[dict]]] = {}
    for r in rows:
        by_codec.setdefault(r["codec"], {}).setdefault(r["quality"], []).append(r)
    results = {}
    for codec, per_q in by_codec.items():
        res: dict[str, list] = {"q": []} | {k: [] for k in keys}
        for q in sorted(per_q):
            res["q"].append(q)
            for k in keys:
                vals = [r[k] for r in per_q[q]]
                res[k].append(sum(vals) / len(vals))
        results[codec] = res
    return results


def bd_table(results: dict[str, dict], reference: str, media: str) -> list[dict]:
    """BD-rate (pchip and cubic) of every codec against ``reference``."""
    from codeclab.eval.bdrate import bd_rate, ms_ssim_db

    quality_keys = (("psnr-rgb", "PSNR"), ("ms-ssim-rgb", "MS-SSIM")) if media == "image" else (
        ("psnr-y", "PSNR-Y"), ("psnr-yuv", "PSNR-YUV"))
    rate_key = "bpp" if media == "image" else "kbps"
    ref = results[reference]
    table = []
    for codec, res in results.items():
        if codec == reference:
            continue
        entry = {"codec": codec}
        for key, label in quality_keys:
            for method in ("pchip", "cubic"):
                conv = ms_ssim_db if key.startswith("ms-ssim") else (lambda v: v)
                try:
                    entry[f"{label} {method}"] = bd_rate(
                        ref[rate_key], [conv(v) for v in ref[key]],
                        res[rate_key], [conv(v) for v in res[key]], method=method)
                except (ValueError, KeyError, ZeroDivisionError) as exc:
                    entry[f"{label} {method}"] = None
                    entry.setdefault("notes", []).append(f"{label} {method}: {exc}")
        table.append(entry)
    return table


def _fmt(v, digits=2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return f"{v:.{digits}f}"
    return str(v)


def write_reports(out: Path, rows: list[dict], results: dict, bd: list[dict], reference: str,
                  media: str, meta: dict, json_path: Path | None, sources: dict[str, str] | None = None) -> str:
    """Write per-image CSV, one JSON per codec, the RD plot, report.md and report.html (:mod:`.report_html`;
    ``sources`` maps each picture's name to its file, for the crops); return the Markdown report."""
    from codeclab.eval.plots import plot_rd
    from codeclab.io.files import atomic_write

    cols = list(dict.fromkeys(k for r in rows for k in r))
    lines = [",".join(cols)]
    for r in rows:
        lines.append(",".join(_csv(r.get(c, "")) for c in cols))
    atomic_write(out / "per_image.csv", ("\n".join(lines) + "\n").encode())

    for codec, res in results.items():
        doc = {"name": codec, "description": meta["descriptions"].get(codec, codec), "results": res}
        atomic_write(out / f"{codec}.json", json.dumps(doc, indent=1).encode())

    if media == "image":
        plot_rd(results, out / "rd.png", title=f"{meta['data']} ({meta['items']} images)")
    else:
        plot_rd(results, out / "rd.png", title=f"{meta['data']} ({meta['items']} sequences)",
                x_key="kbps", y_keys=("psnr-y", "psnr-yuv"))

    report = render_report(results, bd, reference, media, meta)
    atomic_write(out / "report.md", report.encode())
    from codeclab.eval.report_html import render_html

    atomic_write(out / "report.html", render_html(out, rows, results, bd, reference, media, meta,
                                                  sources or {}).encode())
    if json_path:
        summary = {"meta": meta, "reference": reference, "results": results, "bd_rate": bd}
        atomic_write(json_path, json.dumps(summary, indent=1).encode())
    return report


def _csv(v) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def render_report(results: dict, bd: list[dict], reference: str, media: str, meta: dict) -> str:
    rate = "bpp" if media == "image" else "kbps"
    qkeys = ("psnr-rgb", "ms-ssim-rgb") if media == "image" else ("psnr-y", "psnr-yuv")
    out = [f"# CodecLab bench: {meta['data']}", "",
           f"{meta['items']} {media}s, {meta['date']}, {meta['machine']}. "
           f"Rates are `.clb` file sizes on disk; each point is the mean over {media}s.", ""]
    for codec, res in results.items():
        out += [f"## {codec}", "", meta["descriptions"].get(codec, ""), "",
                f"| q | {rate} | {qkeys[0]} | {qkeys[1]} | enc s | dec s |", "|---|---|---|---|---|---|"]
        for i, q in enumerate(res["q"]):
            cells = [res.get(k, [None] * len(res["q"]))[i] for k in (rate, *qkeys, "encoding_time", "decoding_time")]
            out.append(f"| {format_quality(q)} | " + " | ".join(_fmt(c, d) for c, d in zip(cells, (4, 3, 4, 3, 3))) + " |")
        if codec in meta["recon_match"]:
            ok, total = meta["recon_match"][codec]
            out += ["", f"Decoder output equals the encoder's reconstruction on {ok} of {total} points.", ""]
        else:
            out += ["", "(read from the reference file, not measured in this run)", ""]
    if bd:
        labels = [k for k in bd[0] if k not in ("codec", "notes")]
        out += [f"## BD-rate against {reference} (%, negative saves bits; overlapping range only)", "",
                "| codec | " + " | ".join(labels) + " |", "|---" * (len(labels) + 1) + "|"]
        for e in bd:
            out.append(f"| {e['codec']} | " + " | ".join(_fmt(e[k]) for k in labels) + " |")
        notes = [f"- {e['codec']}: {n}" for e in bd for n in e.get("notes", [])]
        if notes:
            out += ["", "Not computable:"] + notes
    return "\n".join(out) + "\n"


# -- command line -------------------------------------------------------------------------------

def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--codecs", default=DEFAULT_CODECS, help=f"comma-separated codec names (default {DEFAULT_CODECS})")
    p.add_argument("--data", default=str(SAMPLES), help="folder of images or sequences (default: the package samples)")
    p.add_argument("--media", choices=("auto", "image", "video"), default="auto")
    p.add_argument("--out", default="results/bench", help="output folder (resumes from points already there)")
    p.add_argument("--reference", default="jpeg", help="codec name, or a CompressAI-style JSON file, for BD-rates")
    p.add_argument("--qualities", action="append", default=[], metavar="CODEC=Q1,Q2,...",
                   help="quality points of one codec (repeatable)")
    p.add_argument("--jobs", type=int, default=1, help="points measured in parallel")
    p.add_argument("--limit", type=int, default=None, help="use only the first N pictures")
    p.add_argument("--intra-period", type=int, default=32, help="video: distance between intra pictures")
    p.add_argument("--frames", type=int, default=None, help="video: code only the first N frames")
    p.add_argument("--json", default=None, help="also write the summary (results and BD-rates) here")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")


def main(args: argparse.Namespace) -> int:
    from codeclab.codec import get_codec

    data = Path(args.data)
    items, media = discover(data, args.media)
    if args.limit:
        items = items[: args.limit]
    names = [c.strip() for c in args.codecs.split(",") if c.strip()]
    overrides = parse_qualities(args.qualities)
    unknown = set(overrides) - set(names)
    if unknown:
        raise InputError(f"--qualities names codecs not in --codecs: {', '.join(sorted(unknown))}")
    codecs = {n: get_codec(n) for n in names}
    ref_json = Path(args.reference) if args.reference.endswith(".json") else None
    if ref_json is None and args.reference not in codecs:
        raise InputError(f"reference {args.reference!r} is not among --codecs ({', '.join(names)})")
    if args.jobs < 1:
        raise InputError("--jobs must be >= 1")

    points = []
    for name, codec in codecs.items():
        if media == "video" and not codec.supports_video:
            raise InputError(f"codec {name} does not code video")
        default = (codec.default_video_qualities or codec.default_qualities) if media == "video" else codec.default_qualities
        for q in overrides.get(name, default):
            q = codec.check_quality(q)
            points += [Point(name, q, str(p), media, args.intra_period, args.frames) for p in items]
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)

    t0 = time.perf_counter()
    rows, measured = run_points(points, out, args.jobs, progress=not args.no_progress)
    wall = time.perf_counter() - t0
    results = aggregate(rows, media)

    descriptions = {n: c.description for n, c in codecs.items()}
    reference = args.reference
    if ref_json is not None:
        from codeclab.io.files import read_bytes

        try:
            doc = json.loads(read_bytes(ref_json, what="reference JSON"))
            reference = doc["name"] + " (reference file)"
            res = dict(doc["results"])
            if "ms-ssim-rgb" not in res and "ms-ssim" in res:  # older CompressAI files
                res["ms-ssim-rgb"] = res["ms-ssim"]
            results[reference] = res
            descriptions[reference] = doc.get("description", str(ref_json))
        except (ValueError, KeyError, TypeError):
            raise InputError(f"{ref_json} is not a CompressAI-style results JSON") from None

    match = {}
    for r in rows:
        ok, total = match.get(r["codec"], (0, 0))
        match[r["codec"]] = (ok + bool(r["recon_match"]), total + 1)
    import torch

    meta = {"data": str(data), "items": len(items), "media": media,
            "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
            "machine": f"{platform.machine()} {os.cpu_count()} CPUs, torch {torch.__version__}",
            "wall_seconds": wall, "jobs": args.jobs, "descriptions": descriptions, "recon_match": match}
    bd = bd_table(results, reference, media)
    report = write_reports(out, rows, results, bd, reference, media, meta,
                           Path(args.json) if args.json else None, {Path(p).stem: str(p) for p in items})
    print(report)
    print(f"{len(points)} points ({measured} measured, {len(points) - measured} resumed), wall time {wall:.1f} s "
          f"with --jobs {args.jobs}; outputs in {out}/")
    print(f"report: {(out / 'report.html').resolve()}")
    bad = [c for c, (ok, total) in match.items() if ok != total]
    if bad:
        print(f"codeclab: error: decoder output differs from the encoder's reconstruction for {', '.join(bad)}",
              file=sys.stderr)
        return 1
    return 0
