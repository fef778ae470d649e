"""Decoded classic planes to RGB in numpy: the decoder's output stage, with no torch.

The same integers as the tensor path of :mod:`codeclab.classic.common.rgb` (a test holds
them equal): chroma 4:2:0 with JPEG ("center") siting is brought to full resolution by
libjpeg's triangle filter, one axis at a time (:mod:`codeclab.io.chroma`)::

    y[2k]   = 3 c[k] + c[k-1]          edge samples repeat; weights 4 per axis,
    y[2k+1] = 3 c[k] + c[k+1]          (sum + 8) >> 4 after both axes

then the fixed-point BT.601/709 inverse matrix turns Y'CbCr into RGB
(:func:`codeclab.io.color.ycbcr_to_rgb_int_array`). Kept in numpy because a classic still
picture decodes in numba kernels: importing torch only for this last step would cost more
than the decoding itself (about 0.7 s on a 2-core machine).
"""

from __future__ import annotations

import numpy as np

from codeclab.bitstream.container import Matrix
from codeclab.io.color import ycbcr_to_rgb_int_array


def _up_axis(c: np.ndarray, axis: int, length: int) -> np.ndarray:
    """Weighted sums (total weight 4) doubling ``axis`` of ``c`` to ``length`` (2n - 1 or 2n)."""
    n = c.shape[axis]
    out = np.arange(length)
    nearest, odd = out // 2, out % 2 == 1
    farther = np.where(odd, np.minimum(nearest + 1, n - 1), np.maximum(nearest - 1, 0))
    return 3 * np.take(c, nearest, axis=axis) + np.take(c, farther, axis=axis)


def upsample_center(plane: np.ndarray, height: int, width: int) -> np.ndarray:
    """A (h, w) chroma plane at ``height x width`` (h = ceil(height / 2), likewise w), int32."""
    acc = _up_axis(_up_axis(plane.astype(np.int32), 1, width), 0, height)
    return (acc + 8) >> 4


def narrow_rgb(rgb: np.ndarray, bit_depth: int) -> np.ndarray:
    """``bit_depth``-bit full-range code values to 8 bits: ``round(v 255 / (2^n - 1))``."""
    peak = (1 << bit_depth) - 1
    return ((rgb.astype(np.int64) * 510 + peak) // (2 * peak)).astype(np.uint8)


def planes_to_rgb_array(planes: tuple[np.ndarray, ...], height: int, width: int, matrix: Matrix,
                        bit_depth: int = 8) -> np.ndarray:
    """Padded (Y, Cb, Cr) 4:2:0 planes of ``bit_depth`` bits -> (3, height, width) uint8 RGB
    (full range): at 10 bits the colour conversion runs at 10 bits and rounds to 8 at the end."""
    chroma_h, chroma_w = (height + 1) // 2, (width + 1) // 2
    y = planes[0][:height, :width].astype(np.int32)
    cb, cr = (upsample_center(p[:chroma_h, :chroma_w], height, width) for p in planes[1:])
    rgb = ycbcr_to_rgb_int_array(np.stack([y, cb, cr]), matrix, full_range=True, bit_depth=bit_depth)
    return rgb if bit_depth == 8 else narrow_rgb(rgb, bit_depth)
