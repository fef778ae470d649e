"""Encode with one thread, decode with two, in separate processes: identical pictures.

Random weights (seed 0, each architecture's default size N = 128, M = 192) are written to
safetensors by the encoding process and read back by the decoding one, as shipped weights
are; the Kodak test uses the shipped flagship weights when the package has them.
:mod:`tests.learned.cross_thread` does the work and exits 1 on any difference.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from codeclab.learned.weights import has_pretrained

WORKER = Path(__file__).with_name("cross_thread.py")
ALL = "factorized,hyperprior,mean-scale,checkerboard"


def encode_then_decode(tmp_path: Path, models: str, images: list[Path], threads: tuple[int, int] = (1, 2),
                       shipped: bool = False) -> str:
    env = {**os.environ, "PYTHONPATH": str(WORKER.parents[2])}
    subprocess.run([sys.executable, str(WORKER), "encode", str(tmp_path), "--threads", str(threads[0]),
                    "--models", models, *(["--shipped"] if shipped else []), *map(str, images)], check=True, env=env)
    decoded = subprocess.run([sys.executable, str(WORKER), "decode", str(tmp_path), "--threads", str(threads[1])],
                             capture_output=True, text=True, env=env)
    assert decoded.returncode == 0, decoded.stdout + decoded.stderr
    return decoded.stdout


def test_shipped_samples_all_architectures(tmp_path, samples_dir):
    images = sorted(samples_dir.glob("*.png"))
    report = encode_then_decode(tmp_path, ALL, images)
    assert report.count("identical") == 4 * len(images) == 12


def test_all_kodak_pictures_flagship(tmp_path, kodak_dir):
    """The Must-show check on the 24 Kodak pictures (768 x 512), about a minute on 2 cores:
    the shipped flagship weights when present (random ones otherwise)."""
    images = sorted(kodak_dir.glob("*.png"))
    report = encode_then_decode(tmp_path, "checkerboard", images, shipped=has_pretrained("checkerboard"))
    assert report.count("identical") == len(images) == 24
