"""The ``codeclab`` command line.

::

    codeclab codecs                                   list codecs and their quality ranges
    codeclab encode IN -o OUT.clb --codec C --quality Q [--recon R] [--force]
    codeclab decode IN.clb -o OUT.png|OUT.y4m [--force]
    codeclab info IN.clb [--json] [--show partition,modes,bits -o PICTURE.png] [--frame N]
    codeclab bench [--codecs a,b] [--data DIR] [--out DIR] [--reference C] [--jobs N] ...
    codeclab train --model NAME --data DIR --out DIR --steps N [--resume] ...
    codeclab export weights|nnlf|nip ...              a training run as shipped weights / programs
    codeclab make-pairs --data PHOTOS --out DIR ...   training pairs of the neural loop filter
    codeclab warmup [JOB ...] [-j N]                  compile the kernels now, on every core
    codeclab relay start|run|score|status [--until HH:MM] ...   the flagship's training relay

User mistakes (missing files, unreadable images, damaged bitstreams, an existing output
without ``--force``) print one line ``codeclab: error: ...`` and exit with status 2; no
partial output file is left behind.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from codeclab import __version__
from codeclab.errors import CodecLabError, InputError

EXIT_USAGE = 2
#: Commands that may compile kernels on first use (they say so when they do).
COMPILING_COMMANDS = {"encode", "decode", "info", "bench"}
VIDEO_SUFFIXES = {".y4m", ".mp4", ".mkv", ".mov", ".avi", ".webm"}


class _Parser(argparse.ArgumentParser):
    """argparse, but usage errors are one line like every other error."""

    def error(self, message: str):  # noqa: D401 - argparse API
        self.exit(EXIT_USAGE, f"codeclab: error: {message} (see '{self.prog} --help')\n")


def _is_video_path(path: str | Path) -> bool:
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


# -- commands -------------------------------------------------------------------------------

def cmd_codecs(args) -> int:
    from codeclab.codec import codec_class, codec_names

    rows = []
    for name in codec_names():
        c = codec_class(name)
        lo, hi = c.quality_range
        media = "+".join(m for m, ok in (("image", c.supports_image), ("video", c.supports_video)) if ok)
        direction = "higher=better" if c.higher_is_better else "lower=better"
        rows.append((name, f"{lo:g}..{hi:g}", direction, media, c.description))
    width = max(len(r[0]) for r in rows)
    print(f"{'codec':<{width}}  quality    direction      media        description")
    for name, rng, direction, media, desc in rows:
        print(f"{name:<{width}}  {rng:<9}  {direction:<13}  {media:<11}  {desc}")
    return 0


def cmd_encode(args) -> int:
    from codeclab import api
    from codeclab.io import files

    out = files.check_output_path(args.output, force=args.force)
    recon_path = files.check_output_path(args.recon, force=args.force) if args.recon else None
    t0 = time.perf_counter()
    if _is_video_path(args.input):
        from codeclab.io.video_reader import read_video

        if args.effort is not None or args.device is not None:
            raise InputError("--effort and --device apply to image codecs that optimise (overfit)")
        video = read_video(args.input, max_frames=args.frames)
        if recon_path and recon_path.suffix.lower() != ".y4m":
            raise InputError(f"--recon for a video must be a .y4m file, got {recon_path.name}")
        result = api.encode_video(video, args.codec, args.quality, intra_period=args.intra_period)
        pixels = video.width * video.height * video.num_frames
    else:
        from codeclab.io.image import read_image

        image = read_image(args.input)
        if image.shape[0] == 1:
            print("codeclab: note: grey input coded as RGB (R = G = B)", file=sys.stderr)
            image = image.expand(3, -1, -1).contiguous()
        if recon_path and recon_path.suffix.lower() != ".png":
            raise InputError(f"--recon for an image must be a .png file, got {recon_path.name}")
        from codeclab.codec import get_codec

        codec = get_codec(args.codec)
        if hasattr(codec, "progress"):  # optimising encoders show iterations, rate and PSNR
            codec.progress = sys.stderr.isatty()
        result = api.encode_image(image, codec, args.quality, effort=args.effort, device=args.device)
        pixels = image.shape[1] * image.shape[2]
    elapsed = time.perf_counter() - t0
    files.atomic_write(out, result.data)
    if recon_path:
        _write_media(recon_path, result.recon)
    print(f"{out}: {len(result.data)} bytes, {8 * len(result.data) / pixels:.4f} bpp, "
          f"codec {args.codec}, quality {args.quality:g}, {elapsed:.2f} s")
    return 0


def _write_media(path: Path, media) -> None:
    from codeclab.io.video import Video

    if isinstance(media, Video):
        from codeclab.io.y4m import write_y4m

        write_y4m(path, media)
    else:
        from codeclab.io.image import write_png

        write_png(path, media)


def cmd_decode(args) -> int:
    from codeclab import api
    from codeclab.io import files

    out = files.check_output_path(args.output, force=args.force)
    data = files.read_bytes(args.input, what="bitstream")
    image = api.is_image(api.read_header(data)[0].header)
    want = ".png" if image else ".y4m"
    if out.suffix.lower() != want:
        kind = "an image" if image else "a video"
        raise InputError(f"{args.input} holds {kind}: the output must be a {want} file, got {out.name}")
    t0 = time.perf_counter()
    if image:  # numpy all the way: no torch for codecs that decode without it
        from codeclab.io.png import png_array_bytes, write_png_bytes

        picture = api.decode_image_array(data)
        elapsed = time.perf_counter() - t0
        write_png_bytes(out, png_array_bytes(picture.transpose(1, 2, 0).copy()))
    else:
        media = api.decode(data)
        elapsed = time.perf_counter() - t0
        _write_media(out, media)
    print(f"{out}: decoded in {elapsed:.2f} s")
    return 0


def cmd_info(args) -> int:
    from codeclab import api
    from codeclab.io import files

    data = files.read_bytes(args.input, what="bitstream")
    parsed, codec = api.read_header(data)
    h = parsed.header
    pixels = h.width * h.height * h.frame_count
    info = {
        "file": str(args.input), "bytes": len(data), "codec": codec.name,
        "codec_id": f"{h.codec_id:#06x}", "codec_version": h.codec_version,
        "width": h.width, "height": h.height, "frames": h.frame_count,
        "color_format": h.color_format.name, "bit_depth": h.bit_depth,
        "matrix": h.matrix.name, "range": h.range.name,
        "fps": str(h.fps) if h.fps else None,
        "payload_bytes": len(parsed.payload), "bpp": 8 * len(data) / pixels,
        "params": codec.describe_params(parsed.params),
    }
    if h.fps:
        info["kbps"] = 8 * len(data) / 1000 / (h.frame_count / float(h.fps))
    if args.show:
        _draw_syntax(args, codec, parsed)
        info["picture"] = str(args.output)
    if args.json:
        print(json.dumps(info, indent=1))
    else:
        for key, value in info.items():
            print(f"{key:>14}: {value:.4f}" if isinstance(value, float) else f"{key:>14}: {value}")
    return 0


def _draw_syntax(args, codec, parsed) -> None:
    """``info --show LAYERS -o PNG``: the codec draws its syntax over the decoded picture."""
    from codeclab.errors import UnsupportedError
    from codeclab.io import files

    draw = getattr(codec, "draw_syntax", None)
    if draw is None:
        raise UnsupportedError(f"codec {codec.name} cannot draw its syntax (--show)")
    if not args.output:
        raise InputError("--show needs -o PICTURE.png")
    out = files.check_output_path(args.output, force=args.force)
    if out.suffix.lower() != ".png":
        raise InputError(f"--show writes a .png picture, got {out.name}")
    layers = tuple(layer.strip() for layer in args.show.split(",") if layer.strip())
    frame = {} if args.frame is None else {"frame": args.frame}  # a picture of a sequence
    files.atomic_write(out, draw(parsed.header, parsed.params, parsed.payload, layers, **frame))


def cmd_bench(args) -> int:
    from codeclab.eval import bench

    return bench.main(args)


def cmd_warmup(args) -> int:
    from codeclab.warmup import main as warmup_main

    return warmup_main(args)


def cmd_train(args) -> int:
    from codeclab.train.cli import train_main

    return train_main(args)


def cmd_fit_prior(args) -> int:
    import shlex

    import torch

    from codeclab.train.overfit_prior import fit

    torch.set_num_threads(args.threads)
    try:
        qualities = [float(q) for q in args.qualities.split(",")]
    except ValueError:
        raise InputError(f"--qualities {args.qualities!r}: expected numbers separated by commas") from None
    if args.steps < 1:
        raise InputError(f"--steps must be at least 1, not {args.steps}")
    command = "codeclab " + " ".join(shlex.quote(a) for a in sys.argv[1:])
    merged = fit(args.data, qualities, Path(args.out), args.steps, args.seed, command)
    print(f"prior written: {merged} (copy it and its .json into codeclab/data/weights/ to ship it)" if merged
          else "this process's qualities are fitted; the others are still running")
    return 0


# -- parser ---------------------------------------------------------------------------------

def build_parser() -> argparse.ArgumentParser:
    p = _Parser(prog="codeclab", description="CodecLab: classic and learned image/video codecs in PyTorch.")
    p.add_argument("--version", action="version", version=f"codeclab {__version__}")
    sub = p.add_subparsers(dest="command", required=True, parser_class=_Parser)

    s = sub.add_parser("codecs", help="list the registered codecs")
    s.set_defaults(func=cmd_codecs)

    s = sub.add_parser("encode", help="encode an image or a sequence to a .clb file")
    s.add_argument("input", help="image (PNG, JPEG, BMP, TIFF, PPM) or video (.y4m, .mp4, .mkv)")
    s.add_argument("-o", "--output", required=True, help="output .clb file")
    s.add_argument("--codec", required=True, help="codec name (see 'codeclab codecs')")
    s.add_argument("-q", "--quality", required=True, type=float, help="quality parameter of the codec")
    s.add_argument("--recon", help="also write the encoder's own reconstruction (.png or .y4m)")
    s.add_argument("--intra-period", type=int, default=32, help="video: pictures between intra pictures")
    s.add_argument("--frames", type=int, default=None, help="video: code only the first N frames")
    s.add_argument("--effort", help="encoder effort of codecs that optimise (overfit): fast, medium, slow "
                                    "or an iteration count")
    s.add_argument("--device", help="where an optimising encoder runs (overfit): cpu, cuda, ...")
    s.add_argument("-f", "--force", action="store_true", help="overwrite existing outputs")
    s.set_defaults(func=cmd_encode)

    s = sub.add_parser("decode", help="decode a .clb file")
    s.add_argument("input", help=".clb file")
    s.add_argument("-o", "--output", required=True, help="output .png (image) or .y4m (video)")
    s.add_argument("-f", "--force", action="store_true", help="overwrite an existing output")
    s.set_defaults(func=cmd_decode)

    s = sub.add_parser("info", help="describe a .clb file")
    s.add_argument("input", help=".clb file")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument("--show", help="draw layers over the decoded picture, e.g. partition,modes,bits "
                                  "(classic: partition,modes,bits,motion; overfit: latents)")
    s.add_argument("-o", "--output", help="the .png picture --show writes")
    s.add_argument("--frame", type=int, default=None, help="video: the picture --show draws (from 0)")
    s.add_argument("-f", "--force", action="store_true", help="overwrite an existing picture")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("bench", help="rate-distortion benchmark of codecs over a folder")
    from codeclab.eval.bench import add_arguments

    add_arguments(s)
    s.set_defaults(func=cmd_bench)

    s = sub.add_parser("train", help="train a learned model (single process or under torchrun)")
    from codeclab.train.cli import add_train_arguments

    add_train_arguments(s)
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("export", help="turn a training run into shipped weights or an integer program")
    what = s.add_subparsers(dest="what", required=True, parser_class=_Parser)
    from codeclab.hybrid.training import add_export_nip_arguments, add_export_nnlf_arguments, add_make_pairs_arguments
    from codeclab.train.cli import add_export_arguments

    add_export_arguments(what.add_parser("weights", help="a learned model's checkpoint as float16 safetensors + card"))
    add_export_nnlf_arguments(what.add_parser("nnlf", help="the neural loop filter's QAT weights as its integer program"))
    add_export_nip_arguments(what.add_parser("nip", help="the network intra modes' weights as their integer program"))

    s = sub.add_parser("make-pairs", help="code training photos with the classic codec: pairs for the loop filter")
    add_make_pairs_arguments(s)

    s = sub.add_parser("fit-prior", help="fit the overfitted codec's starting networks on training pictures")
    s.add_argument("--data", action="append", required=True, help="folder of training pictures (repeatable)")
    s.add_argument("--out", required=True, help="output folder (resumes: qualities already fitted are kept)")
    s.add_argument("--qualities", default="2,4,6,8", help="qualities to fit, comma-separated")
    s.add_argument("--steps", type=int, default=1200, help="optimisation steps per quality")
    s.add_argument("--seed", type=int, default=0)
    s.add_argument("--threads", type=int, default=1, help="torch threads per process")
    s.set_defaults(func=cmd_fit_prior)

    s = sub.add_parser("warmup", help="compile the codecs' kernels now, on every core (first use only)")
    from codeclab.warmup import add_arguments as add_warmup_arguments

    add_warmup_arguments(s)
    s.set_defaults(func=cmd_warmup)

    s = sub.add_parser("relay", help="carry the flagship's training run across stops (start, score, status)")
    from codeclab.train.relay import add_arguments as add_relay_arguments

    add_relay_arguments(s)
    s.set_defaults(func=lambda args: args.relay_func(args))
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command in COMPILING_COMMANDS:
        from codeclab.kernels import announce_compilation

        announce_compilation()
    try:
        return args.func(args)
    except CodecLabError as exc:
        print(f"codeclab: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("codeclab: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
