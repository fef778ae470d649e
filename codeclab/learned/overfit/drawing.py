"""``codeclab info --show latents``: the latent grids of an overfitted picture and what each costs.

The decoded picture comes first, then one panel per grid (full resolution first), each
drawn at the picture's size (nearest neighbour) in a diverging colour map centred on 0,
titled with its size and its bits: the ideal cost ``-log2 P`` of its symbols under the
tables the ARM chose (escapes at 16 raw bits more), which sums to the latent stream's size
within the coder's few bytes of overhead.
"""

from __future__ import annotations

import io

import numpy as np

from codeclab.entropy import rans
from codeclab.kernels import kernel
from codeclab.learned.overfit.arm import context_offsets, tables
from codeclab.learned.overfit.latents import _symbols

LAYERS = ("latents",)


@kernel
def _bits_per_symbol(freqs):
    out = np.empty(freqs.shape[0], dtype=np.float64)
    for i in range(freqs.shape[0]):
        out[i] = rans.PRECISION - np.log2(freqs[i])
    return out


def grid_bits(grids: list[np.ndarray], arm: tuple) -> list[float]:
    """Ideal bits of each grid's symbols (escape payloads included)."""
    t = tables()
    bits = []
    for g in grids:
        shapes = np.array([g.shape], dtype=np.int64)
        _, freqs = _symbols(g.reshape(-1).astype(np.int64), shapes, context_offsets(), *arm,
                            t.cdf, t.first, t.count, t.offset, t.per_scale)
        bits.append(float(_bits_per_symbol(freqs).sum()))
    return bits


def draw_latents(picture, grids: list[np.ndarray], bits: list[float]) -> bytes:
    """PNG bytes: the picture and every grid with its bits (module docstring)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    panels = 1 + len(grids)
    cols = min(4, panels)
    rows = -(-panels // cols)
    h, w = picture.shape[-2:]
    fig = Figure(figsize=(3.2 * cols, 3.2 * rows * h / w + 0.4 * rows))
    total = sum(bits)
    ax = fig.add_subplot(rows, cols, 1)
    ax.imshow(picture.permute(1, 2, 0).numpy())
    ax.set_title(f"decoded {w}x{h}, latents {total / (h * w):.3f} bpp", fontsize=8)
    ax.axis("off")
    for level, (g, b) in enumerate(zip(grids, bits)):
        ax = fig.add_subplot(rows, cols, level + 2)
        reach = max(1, int(np.abs(g).max()))
        ax.imshow(g, cmap="RdBu_r", vmin=-reach, vmax=reach, interpolation="nearest", extent=(0, w, h, 0))
        share = 100 * b / total if total else 0.0
        ax.set_title(f"level {level}: {g.shape[1]}x{g.shape[0]}, |y|<={reach}\n{b:.0f} bits ({share:.1f}%)",
                     fontsize=8)
        ax.axis("off")
    fig.tight_layout()
    buf = io.BytesIO()
    FigureCanvasAgg(fig).print_png(buf)
    return buf.getvalue()
