"""MD5 of the bitstream every CodecLab codec writes for the package's samples.

A refactor that claims to change no bitstream proves it with this list: run it before and
after and compare (``diff``). Anchor codecs are left out: their bytes come from ffmpeg,
Pillow and libheif, not from this package.

    python scripts/bitstream_md5.py --json before.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from pathlib import Path

import torch

from codeclab import api
from codeclab.codec import codec_class, codec_names
from codeclab.errors import UnsupportedError
from codeclab.io import read_image
from codeclab.io.y4m import read_y4m

SAMPLES = Path(__file__).resolve().parents[1] / "codeclab" / "data" / "samples"
ANCHOR_PACKAGES = ("codeclab.anchors", "codeclab.anchors")


def in_house(name: str) -> bool:
    return not codec_class(name).__module__.startswith(ANCHOR_PACKAGES)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write {stream: md5} here")
    parser.add_argument("--codecs", nargs="*", help="only these codecs")
    args = parser.parse_args()
    torch.manual_seed(0)
    image = read_image(SAMPLES / "kodim23_crop256.png")
    video = read_y4m(SAMPLES / "carphone_qcif_10f.y4m")
    digests = {}
    for name in args.codecs or [n for n in codec_names() if in_house(n)]:
        cls = codec_class(name)
        lo, hi = cls.quality_range
        quality = 32 if not cls.higher_is_better else (lo + hi) / 2
        if cls.integer_quality:
            quality = int(quality)
        jobs = [("image", lambda: api.encode_image(image, name, quality))]
        if cls.supports_video:
            jobs.append(("video", lambda: api.encode_video(video, name, quality, intra_period=8)))
        for kind, job in jobs:
            start = time.perf_counter()
            try:
                result = job()
            except UnsupportedError as error:  # a learned model with no weights yet
                print(f"{name}/{kind}: skipped ({error})", flush=True)
                break
            same = api.same_media(api.decode(result.data), result.recon)
            key = f"{name}/{kind}/q{quality:g}"
            digests[key] = hashlib.md5(result.data).hexdigest()
            print(f"{key:32s} {digests[key]}  {len(result.data):7d} B  decode==recon {same}  "
                  f"{time.perf_counter() - start:6.1f} s", flush=True)
    if args.json:
        args.json.write_text(json.dumps(digests, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
