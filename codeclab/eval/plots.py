"""Rate-distortion plots: quality against rate for several codecs, one panel per metric.

``curves`` maps a codec name to its points in CompressAI's results layout, a dict of
equal-length lists (``{"bpp": [...], "psnr-rgb": [...], "ms-ssim-rgb": [...]}``), or to a
whole CompressAI/anchor JSON object, whose ``"results"`` is then used::

    plot_rd({"jpeg": json.load(open("anchors/kodak/jpeg.json")), "mine": results}, "rd.png")
    plot_rd(video_results, "rd.png", x_key="kbps", y_keys=("psnr-y", "psnr-yuv"))

MS-SSIM panels show ``-10 log10(1 - MS-SSIM)`` dB, as CompressAI's plots do: on the raw
scale every good codec crowds just below 1. The figure is drawn with matplotlib's Agg
canvas on a bare ``Figure`` (no pyplot, no global backend state), so it works headless and
from threads, and is written atomically.
"""

from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Mapping, Sequence

import numpy as np

from codeclab.eval.metrics import ms_ssim_db
from codeclab.io.files import atomic_write

#: Keys tried, in order, when a requested key is missing: the shared anchors and published
#: CompressAI results spell MS-SSIM on RGB either way.
KEY_ALIASES = {"ms-ssim-rgb": ("ms-ssim-rgb", "ms-ssim"), "ms-ssim": ("ms-ssim", "ms-ssim-rgb")}

RATE_LABELS = {"bpp": "rate [bit/pixel]", "kbps": "bit rate [kbit/s]"}

MARKERS = "os^vDPX*"


def _results(curve: Mapping) -> Mapping:
    return curve["results"] if "results" in curve else curve


def _values(results: Mapping, key: str) -> np.ndarray | None:
    """The list under ``key`` (or an alias) as float64, or None when the curve lacks it."""
    for k in KEY_ALIASES.get(key, (key,)):
        if k in results:
            return np.asarray(results[k], dtype=np.float64)
    return None


def _is_ms_ssim(key: str) -> bool:
    return key.startswith("ms-ssim")


def _quality_label(key: str) -> str:
    if _is_ms_ssim(key):
        return f"{key.upper()} [dB]  (-10 log10(1 - MS-SSIM))"
    return f"{key.upper()} [dB]"


def plot_rd(curves: Mapping[str, Mapping], path: str | os.PathLike, *, title: str | None = None,
            x_key: str = "bpp", y_keys: Sequence[str] = ("psnr-rgb", "ms-ssim-rgb"),
            dpi: int = 120) -> Path:
    """Draw the RD curves, one panel per quality key, and write them as one PNG.

    Args:
        curves: codec name -> results dict (or JSON object with ``"results"``).
        path: the PNG to write (replaced atomically if it exists).
        title: the figure's title.
        x_key: the rate key, e.g. ``"bpp"`` (images) or ``"kbps"`` (video).
        y_keys: one panel per key; keys starting with ``"ms-ssim"`` are drawn in dB. A
            panel that no curve has data for is left out; a curve missing a key is absent
            from that panel only. Non-finite points (a NaN MS-SSIM) are dropped.
        dpi: resolution; the figure is 5.5 x 4.5 inches per panel.

    Returns:
        ``path`` as a Path.
    """
    png = io.BytesIO()
    draw_rd(curves, title=title, x_key=x_key, y_keys=y_keys).savefig(png, format="png", dpi=dpi)
    atomic_write(path, png.getvalue())
    return Path(path)


def rd_svg(curves: Mapping[str, Mapping], *, title: str | None = None, x_key: str = "bpp",
           y_keys: Sequence[str] = ("psnr-rgb", "ms-ssim-rgb")) -> str:
    """The figure of :func:`plot_rd` as an SVG document (text), for pages that embed it."""
    svg = io.StringIO()
    draw_rd(curves, title=title, x_key=x_key, y_keys=y_keys).savefig(svg, format="svg")
    return svg.getvalue()


def draw_rd(curves: Mapping[str, Mapping], *, title: str | None = None, x_key: str = "bpp",
            y_keys: Sequence[str] = ("psnr-rgb", "ms-ssim-rgb")):
    """The matplotlib ``Figure`` of :func:`plot_rd` (same arguments, nothing written)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    if not curves:
        raise ValueError("no curves to plot")
    for name, curve in curves.items():
        if _values(_results(curve), x_key) is None:
            raise ValueError(f"curve {name!r} has no {x_key!r} values")
    panels = [key for key in y_keys if any(_values(_results(c), key) is not None
                                           for c in curves.values())]
    if not panels:
        raise ValueError(f"no curve has any of {tuple(y_keys)}")

    fig = Figure(figsize=(5.5 * len(panels), 4.5), layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    for ax, key in zip(axes, panels):
        for i, (name, curve) in enumerate(curves.items()):
            results = _results(curve)
            y = _values(results, key)
            if y is None:
                continue
            x = _values(results, x_key)
            if _is_ms_ssim(key):
                y = ms_ssim_db(y)
            keep = np.isfinite(x) & np.isfinite(y)
            order = np.argsort(x[keep])
            # Colour and marker are fixed per curve, so a codec looks the same in every panel.
            ax.plot(x[keep][order], y[keep][order], marker=MARKERS[i % len(MARKERS)],
                    color=f"C{i % 10}", markersize=4, linewidth=1.2, label=name)
        ax.set_xlabel(RATE_LABELS.get(x_key, x_key))
        ax.set_ylabel(_quality_label(key))
        ax.grid(True, which="major", alpha=0.4)
        ax.legend(loc="lower right", fontsize="small")
    if title:
        fig.suptitle(title)
    return fig
