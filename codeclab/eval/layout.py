"""Where a benchmark run keeps its files, written once for the runner and the reports.

::

    OUT/bitstreams/CODEC/qQUALITY/ITEM.clb     every coded point, kept for inspection
"""

from __future__ import annotations

from pathlib import Path


def format_quality(q: float) -> str:
    """``27`` for integer qualities, ``4.5`` otherwise (folder names and table cells)."""
    return str(int(q)) if float(q) == int(q) else f"{q:g}"


def bitstream_path(out: Path, codec: str, quality: float, item: str) -> Path:
    """The ``.clb`` of one point of a run written to ``out``."""
    return out / "bitstreams" / codec / f"q{format_quality(quality)}" / f"{item}.clb"
