"""Encode in one process, decode in another with another thread count; compare the pictures.

    python tests/learned/cross_thread.py encode OUT --threads 1 --models checkerboard IMAGE...
    python tests/learned/cross_thread.py decode OUT --threads 2

``encode`` builds each model with random weights (seed 0, the builder's default size) and
writes them with :func:`~codeclab.learned.weights.save_pretrained` (tables included) to
``OUT/<model>.safetensors`` -- or, with ``--shipped``, copies the package's trained weights
there -- and for every picture ``OUT/<model>/<picture>.clb`` and the
encoder's reconstruction ``OUT/<model>/<picture>.png``. ``decode`` loads the weights from
those files, decodes every ``.clb`` and compares with the ``.png``: it prints one line per
picture and exits with status 1 if any decoded picture differs in any sample.
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

import torch


def encode(out: Path, models: list[str], images: list[Path], quality: float, shipped: bool = False) -> None:
    from codeclab import api
    from codeclab.codec import get_codec
    from codeclab.io import read_image, write_png
    from codeclab.learned.registry import build_model
    from codeclab.learned.weights import load_pretrained, save_pretrained, weights_path

    out.mkdir(parents=True, exist_ok=True)
    for name in models:
        if shipped:
            shutil.copyfile(weights_path(name), out / f"{name}.safetensors")
            model = load_pretrained(out / f"{name}.safetensors")
        else:
            torch.manual_seed(0)
            model = build_model(name).eval()
            save_pretrained(model, out / f"{name}.safetensors", {"model": name, "note": "random weights, seed 0"})
        codec = type(get_codec(name))(model=model)
        (out / name).mkdir(parents=True, exist_ok=True)
        for path in images:
            result = api.encode_image(read_image(path), codec, quality)
            (out / name / f"{path.stem}.clb").write_bytes(result.data)
            write_png(out / name / f"{path.stem}.png", result.recon)


def decode(out: Path) -> int:
    from codeclab.bitstream import container
    from codeclab.codec import get_codec
    from codeclab.io import read_image

    mismatches = 0
    for weights in sorted(out.glob("*.safetensors")):
        codec = type(get_codec(weights.stem))(weights=weights)
        for stream in sorted((out / weights.stem).glob("*.clb")):
            parsed = container.parse(stream.read_bytes())
            decoded = codec.decode_image(parsed.header, parsed.params, parsed.payload)
            same = torch.equal(decoded, read_image(stream.with_suffix(".png")))
            mismatches += not same
            print(f"{weights.stem} {stream.stem} {'identical' if same else 'DIFFERENT'}", flush=True)
    return 1 if mismatches else 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("step", choices=("encode", "decode"))
    ap.add_argument("out", type=Path)
    ap.add_argument("images", nargs="*", type=Path)
    ap.add_argument("--threads", type=int, required=True)
    ap.add_argument("--models", default="checkerboard")
    ap.add_argument("--quality", type=float, default=4.5)
    ap.add_argument("--shipped", action="store_true", help="the package's trained weights, not random ones")
    args = ap.parse_intermixed_args()
    torch.set_num_threads(args.threads)
    if args.step == "encode":
        encode(args.out, args.models.split(","), args.images, args.quality, args.shipped)
        return 0
    return decode(args.out)


if __name__ == "__main__":
    sys.exit(main())
