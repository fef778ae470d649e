"""Pictures of the ``classic`` codec: RGB <-> padded Y'CbCr 4:2:0 planes (BT.709, full range).

The colour path of :mod:`codeclab.classic.codec` (its docstring says why BT.709, full range, JPEG siting),
kept apart so that the codec's registration imports none of it.
"""

from __future__ import annotations

import numpy as np
import torch

from codeclab.bitstream.container import Matrix
from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.rgb_output import planes_to_rgb_array
from codeclab.io.chroma import downsample_chroma
from codeclab.io.color import rgb_to_ycbcr_int
from codeclab.io.padding import pad_to_multiple

SITING = "center"


def rgb_to_planes(image: torch.Tensor, matrix: Matrix, bit_depth: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(3, H, W) uint8 RGB -> padded int32 (Y, Cb, Cr) 4:2:0 planes (sides multiples of 64) of
    ``bit_depth`` bits: at 10 bits the 8-bit RGB is first brought to the 10-bit range
    (:func:`widen_rgb`), so the colour conversion and the chroma filter round 4 times finer."""
    rgb = widen_rgb(image, bit_depth) if bit_depth > 8 else image
    ycbcr = rgb_to_ycbcr_int(rgb, matrix, full_range=True, bit_depth=bit_depth).to(torch.int32)
    padded = pad_to_multiple(ycbcr, CTU_SIZE)
    y = padded[0]
    cb = downsample_chroma(padded[1], 2, 2, SITING)
    cr = downsample_chroma(padded[2], 2, 2, SITING)
    return tuple(np.ascontiguousarray(p.numpy().astype(np.int32)) for p in (y, cb, cr))


def widen_rgb(image: torch.Tensor, bit_depth: int) -> torch.Tensor:
    """8-bit full-range code values to ``bit_depth`` bits: ``round(v (2^n - 1) / 255)``
    (0 -> 0, 255 -> 2^n - 1; the inverse of :func:`~.rgb_output.narrow_rgb`), as int32."""
    peak = (1 << bit_depth) - 1
    return (image.to(torch.int32) * (2 * peak) + 255) // 510


def planes_to_rgb(planes: tuple[np.ndarray, ...], height: int, width: int,
                  matrix: Matrix, bit_depth: int = 8) -> torch.Tensor:
    """Padded (Y, Cb, Cr) 4:2:0 planes -> (3, height, width) uint8 RGB tensor: the numpy
    output stage the decoder runs (:mod:`.rgb_output`), so encoder and decoder share it."""
    return torch.from_numpy(planes_to_rgb_array(planes, height, width, matrix, bit_depth))
