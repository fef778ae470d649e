"""Looking inside a classic bitstream: partition, modes, motion and bits per CTU, drawn.

``codeclab info OUT.clb --show partition,modes,bits -o picture.png`` decodes the picture
(for a sequence, ``--frame N`` picks the picture: the pictures up to N are decoded) and
draws, over it,

- ``bits``: a heat map of the bits each 64x64 CTU cost (red = the most expensive CTU,
  transparent = the cheapest), measured from the arithmetic decoder's position;
- ``partition``: the coding units (white lines; 4x4 prediction units of NxN CUs in yellow);
- ``modes``: each intra prediction unit's mode as a short line along the direction it
  predicts from (angular modes 2..34, H.265 Table 8-4), a dot for DC and a small circle
  for planar, a small square for a network mode (neural intra prediction); in a P picture
  every CU is also tinted by how it was coded (:data:`MODE_COLOURS`: skip green, merge
  blue, AMVP yellow, intra red);
- ``motion``: the vector of each inter CU as an arrow from its centre, at the picture's
  scale (quarter samples / 4), white for reference 0 and orange for older references.

The figure is drawn by matplotlib on a bare Agg ``Figure`` at one figure pixel per picture
pixel (scaled up for small pictures), so it works headless.
"""

from __future__ import annotations

import io

import numpy as np
import torch

from codeclab.bitstream.container import Matrix, Range, StreamHeader
from codeclab.classic.common.nnintra import NN_MODE_BASE
from codeclab.classic.common.parameters import PictureParams, SequenceParams
from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.picture import AMVP, INTRA, MERGE, SKIP
from codeclab.classic.common.tables import INTRA_PRED_ANGLE
from codeclab.classic.common.rgb import planes_to_rgb
from codeclab.classic.common.tools import split_side_info
from codeclab.classic.decoder.picture import decode_payload
from codeclab.classic.decoder.sequence import decode_sequence
from codeclab.errors import InputError
from codeclab.io.chroma import upsample_chroma
from codeclab.io.color import ycbcr_to_rgb_int

LAYERS = ("partition", "modes", "bits", "motion")
#: Tint of each CU kind in the ``modes`` layer of a P picture (RGBA).
MODE_COLOURS = {SKIP: (0.1, 0.9, 0.2, 0.30), MERGE: (0.2, 0.4, 1.0, 0.35),
                AMVP: (1.0, 0.85, 0.1, 0.35), INTRA: (1.0, 0.15, 0.1, 0.40)}


def mode_direction(mode: int) -> tuple[float, float]:
    """Unit-free (dx, dy) pointing from a sample towards the reference it is predicted from.

    Vertical modes 18..34 read the row above, shifted by ``angle / 32`` per row: (angle/32,
    -1); horizontal modes 2..17 read the left column: (-1, angle/32). Mode 26 is (0, -1),
    mode 10 is (-1, 0).
    """
    angle = INTRA_PRED_ANGLE[mode - 2] / 32
    return (angle, -1.0) if mode >= 18 else (-1.0, angle)


def prediction_units(cu_log2: np.ndarray, tu_id: np.ndarray, height: int,
                     width: int) -> list[tuple[int, int, int, bool]]:
    """``(x, y, size, in_nxn_cu)`` of every prediction unit inside the picture.

    A CU starts where a 4x4 block is its own CU's top-left corner; an 8x8 CU is NxN (four
    4x4 PUs) exactly when its first two 4x4 blocks belong to different transform blocks.
    """
    units = []
    for r, c in zip(*np.nonzero(cu_log2)):
        size = 1 << int(cu_log2[r, c])
        x0, y0 = 4 * int(c), 4 * int(r)
        if x0 % size or y0 % size or x0 >= width or y0 >= height:
            continue
        if size == 8 and tu_id[r, c] != tu_id[r, c + 1]:
            units += [(x0 + 4 * (i & 1), y0 + 4 * (i >> 1), 4, True) for i in range(4)]
        else:
            units.append((x0, y0, size, False))
    return units


def video_rgb(planes: tuple, height: int, width: int, header: StreamHeader) -> torch.Tensor:
    """(3, H, W) RGB of one decoded 4:2:0 picture for display (BT.601 limited range where
    the header leaves matrix or range unspecified)."""
    y = torch.from_numpy(planes[0][:height, :width].astype(np.uint8))
    chroma = [torch.from_numpy(p[:(height + 1) // 2, :(width + 1) // 2].astype(np.uint8))
              for p in planes[1:]]
    chroma = [upsample_chroma(c, height, width) for c in chroma]
    matrix = header.matrix if header.matrix != Matrix.UNSPECIFIED else Matrix.BT601
    return ycbcr_to_rgb_int(torch.stack([y] + chroma), matrix, header.range == Range.FULL)


def decode_for_drawing(header: StreamHeader, params: bytes, payload: bytes, frame: int):
    """``(rgb, picture syntax, bits per CTU)`` of picture ``frame`` (0 for a still picture)."""
    height, width = header.height, header.width
    if len(params) > 6:  # a sequence (:class:`~codeclab.classic.common.syntax.SequenceParams`)
        if not 0 <= frame < header.frame_count:
            raise InputError(f"--frame {frame} outside 0..{header.frame_count - 1}")
        decoded = decode_sequence(header, SequenceParams.unpack(params), payload, last=frame)
        return video_rgb(decoded.planes, height, width, header), decoded.picture, decoded.ctu_bits
    if frame:
        raise InputError("--frame: this file holds one picture")
    picture_params = PictureParams.unpack(params)
    if picture_params.picture_filter:  # partition and modes live in the picture data
        payload = split_side_info(payload)[0]
    decoded = decode_payload(picture_params, payload, height, width)
    rgb = planes_to_rgb(decoded.planes, height, width, picture_params.matrix, picture_params.bit_depth)
    return rgb, decoded.picture, decoded.ctu_bits


def draw_syntax(header: StreamHeader, params: bytes, payload: bytes,
                show: tuple[str, ...] = LAYERS, frame: int = 0) -> bytes:
    """PNG bytes of the decoded picture with the chosen ``show`` layers drawn over it."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.collections import LineCollection
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    unknown = set(show) - set(LAYERS)
    if unknown:
        raise InputError(f"--show takes {', '.join(LAYERS)}; unknown: {', '.join(sorted(unknown))}")
    rgb, pic, ctu_bits = decode_for_drawing(header, params, payload, frame)
    height, width = header.height, header.width

    scale = max(1, 512 // max(height, width))  # small pictures are drawn larger
    fig = Figure(figsize=(width * scale / 100, height * scale / 100), dpi=100)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.imshow(rgb.permute(1, 2, 0).numpy(), interpolation="nearest",
              extent=(0, width, height, 0))
    ax.set_xlim(0, width)
    ax.set_ylim(height, 0)
    ax.axis("off")

    units = prediction_units(pic.cu_log2, pic.tu_id, height, width)
    inter_picture = bool((pic.ref_idx >= 0).any())
    if "modes" in show and inter_picture:
        for x0, y0, size, nxn in units:
            if nxn and (x0 % 8, y0 % 8) != (0, 0):
                continue
            block = 8 if nxn else size
            kind = int(pic.cu_kind[y0 // 4, x0 // 4])
            ax.add_patch(Rectangle((x0, y0), block, block, facecolor=MODE_COLOURS[kind],
                                   edgecolor="none"))

    if "bits" in show:
        bits = ctu_bits.astype(np.float64)
        heat = np.zeros(bits.shape + (4,))
        heat[..., 0] = 1.0
        heat[..., 3] = 0.6 * (bits - bits.min()) / max(bits.max() - bits.min(), 1.0)
        rows, cols = bits.shape
        ax.imshow(heat, interpolation="nearest", extent=(0, cols * CTU_SIZE, rows * CTU_SIZE, 0))
        for (r, c), value in np.ndenumerate(ctu_bits):
            if c * CTU_SIZE < width and r * CTU_SIZE < height:
                ax.text(c * CTU_SIZE + 3, r * CTU_SIZE + 3, f"{value}", color="white",
                        fontsize=5 * scale, va="top", ha="left")

    if "partition" in show:
        cus, pus = [], []
        for x0, y0, size, nxn in units:
            if nxn and (x0 % 8, y0 % 8) != (0, 0):
                continue
            block = 8 if nxn else size
            cus.append([(x0, y0), (x0 + block, y0), (x0 + block, y0 + block)])
            if nxn:
                pus += [[(x0 + 4, y0), (x0 + 4, y0 + 8)], [(x0, y0 + 4), (x0 + 8, y0 + 4)]]
        ax.add_collection(LineCollection(cus, colors="white", linewidths=0.6 * scale))
        ax.add_collection(LineCollection(pus, colors="yellow", linewidths=0.4 * scale))

    if "modes" in show:
        lines, dots, circles, squares = [], [], [], []
        for x0, y0, size, _ in units:
            mode = int(pic.luma_mode[y0 // 4, x0 // 4])
            if mode < 0:
                continue  # an inter CU
            cx, cy = x0 + size / 2, y0 + size / 2
            if mode >= NN_MODE_BASE:  # a network mode (neural intra prediction)
                squares.append((cx, cy))
            elif mode >= 2:
                dx, dy = mode_direction(mode)
                length = 0.4 * size / np.hypot(dx, dy)
                lines.append([(cx - dx * length, cy - dy * length), (cx + dx * length, cy + dy * length)])
            elif mode == 1:
                dots.append((cx, cy))
            else:
                circles.append((cx, cy))
        ax.add_collection(LineCollection(lines, colors="cyan", linewidths=0.6 * scale))
        if dots:
            ax.scatter(*zip(*dots), s=2 * scale, c="magenta", marker="o", linewidths=0)
        if circles:
            ax.scatter(*zip(*circles), s=4 * scale, facecolors="none", edgecolors="lime",
                       linewidths=0.4 * scale)
        if squares:
            ax.scatter(*zip(*squares), s=4 * scale, facecolors="none", edgecolors="orange",
                       marker="s", linewidths=0.4 * scale)

    if "motion" in show:
        arrows = {0: [], 1: []}
        for x0, y0, size, _ in units:
            ref = int(pic.ref_idx[y0 // 4, x0 // 4])
            if ref < 0:
                continue
            mvx, mvy = (int(v) / 4 for v in pic.mv[y0 // 4, x0 // 4])
            arrows[min(ref, 1)].append((x0 + size / 2, y0 + size / 2, mvx, mvy))
        for ref, colour in ((0, "white"), (1, "orange")):
            if arrows[ref]:
                xs, ys, us, vs = zip(*arrows[ref])
                ax.quiver(xs, ys, us, vs, color=colour, angles="xy", scale_units="xy", scale=1,
                          width=0.002 * scale, headwidth=3, headlength=3, headaxislength=2.5)

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
