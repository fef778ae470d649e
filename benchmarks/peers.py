"""The peer implementations benchmarks compare against, and the paths they share.

CompressAI 1.2.8 is a benchmark-only dependency (never imported by ``codeclab``). It imports
torchvision, whose only wheel here is a CUDA build whose C++ extension cannot load beside
the CPU torch wheel ("operator torchvision::nms does not exist"). :func:`import_compressai`
declares the two op schemas torchvision registers fake kernels for, in this process only,
then imports it; no torchvision op is ever called (the workaround of
``../shared/anchors/bench_entropy.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

REPO = Path(__file__).resolve().parents[1]
KODAK = REPO.parent / "shared" / "data" / "kodak"
SAMPLES = REPO / "codeclab" / "data" / "samples"


def import_compressai():
    """Import and return ``compressai``, working around torchvision's CUDA-only extension."""
    try:
        import torchvision  # noqa: F401
    except RuntimeError as e:
        if "torchvision::nms" not in str(e):
            raise
        for m in [m for m in sys.modules if m == "torchvision" or m.startswith("torchvision.")]:
            del sys.modules[m]
        lib = torch.library.Library("torchvision", "DEF")
        lib.define("nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        lib.define("qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
        import_compressai.keep_alive = lib  # the schemas live as long as the Library object
        import torchvision  # noqa: F401
    import compressai

    return compressai
