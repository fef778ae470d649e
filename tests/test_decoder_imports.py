"""Decoding loads only what decoding needs: no encoder, no training, no evaluation code.

Every registered codec encodes a small crop (and, where it codes video, three frames of
the sample sequence) in this process; a fresh interpreter then decodes each stream in turn
and reports which CodecLab modules each decode brought in. The rules of DESIGN.md say a
decoder imports no encoder module and no codec imports ``train``, ``eval`` or ``cli``;
``tests/test_architecture.py`` checks the source, this checks what really runs.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

from codeclab import api
from codeclab.codec import codec_class, codec_names
from codeclab.errors import UnsupportedError
from codeclab.io import read_image
from codeclab.io.y4m import read_y4m

FORBIDDEN = ("codeclab.train", "codeclab.eval", "codeclab.cli")

DECODE_EACH = textwrap.dedent("""
    import json, sys
    from pathlib import Path
    from codeclab import api

    report = {}
    for path in sys.argv[1:]:
        before = set(sys.modules)
        api.decode(Path(path).read_bytes())
        report[Path(path).name] = sorted(m for m in set(sys.modules) - before if m.startswith("codeclab"))
    print(json.dumps(report))
""")


def is_encoder_module(name: str) -> bool:
    return "encoder" in name.split(".")[1:]


def quality_of(cls) -> float:
    lo, hi = cls.quality_range
    quality = 37 if not cls.higher_is_better else (lo + hi) / 2
    return int(quality) if cls.integer_quality else quality


@pytest.fixture(scope="module")
def streams(tmp_path_factory, samples_dir):
    """One ``.clb`` per codec and medium it codes; codecs that cannot encode here are named."""
    folder = tmp_path_factory.mktemp("streams")
    image = read_image(samples_dir / "kodim23_crop256.png")[:, :64, :64].contiguous()
    video = read_y4m(samples_dir / "carphone_qcif_10f.y4m", max_frames=3)
    written, skipped = [], {}
    for name in codec_names():
        cls = codec_class(name)
        if name.startswith("overfit-"):  # the same decoder as ``overfit``, slower encoders
            continue
        jobs = [("image", lambda: api.encode_image(image, name, quality_of(cls)))]
        if cls.supports_video:
            jobs.append(("video", lambda: api.encode_video(video, name, quality_of(cls), intra_period=8)))
        for medium, job in jobs:
            try:
                data = job().data
            except UnsupportedError as error:  # e.g. a learned model without weights
                skipped[name] = str(error)
                break
            path = folder / f"{name}.{medium}.clb"
            path.write_bytes(data)
            written.append(path)
    return written, skipped


def test_decoding_imports_no_encoder_training_or_evaluation_module(streams):
    written, skipped = streams
    assert {"classic.video.clb", "classic-nn.image.clb", "overfit.image.clb", "learned.image.clb",
            "jpeg.image.clb", "x265.video.clb"} <= {p.name for p in written}
    assert set(skipped) <= {"factorized", "hyperprior", "mean-scale"}, skipped
    result = subprocess.run([sys.executable, "-c", DECODE_EACH, *map(str, written)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout)
    bad = {stream: [m for m in modules if m.startswith(FORBIDDEN) or is_encoder_module(m)]
           for stream, modules in loaded.items()}
    assert {stream: modules for stream, modules in bad.items() if modules} == {}
    # the check sees real decoders: the classic stream loaded the classic decoder
    assert "codeclab.classic.decoder.picture" in loaded["classic.image.clb"] + loaded.get("classic.video.clb", [])


CLI_DECODE = textwrap.dedent("""
    import sys
    from codeclab.cli import main
    code = main(["decode", sys.argv[1], "-o", sys.argv[2]])
    print(code, "torch" in sys.modules)
""")


def test_cli_decodes_a_classic_picture_without_torch(streams, tmp_path):
    """Start-up is most of a classic decode: ``codeclab decode`` of a picture never loads torch."""
    classic = next(p for p in streams[0] if p.name == "classic.image.clb")
    out = tmp_path / "decoded.png"
    result = subprocess.run([sys.executable, "-c", CLI_DECODE, str(classic), str(out)],
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["0", "False"]
    decoded = read_image(out)
    assert torch.equal(decoded, api.decode(classic.read_bytes()))
