"""The picture being coded: sample planes, levels, availability and syntax maps in one tuple.

Encoder and decoder hold exactly the same state while they walk the CTUs (that is what
makes the encoder's reconstruction equal the decoder's output), so both use this one
structure, a named tuple of NumPy arrays that numba functions take as a single argument:

- ``planes``: (Y, Cb, Cr) int32 reconstructed samples, 4:2:0, padded to whole CTUs;
- ``decoded``: (Y, Cb, Cr) uint8, 1 where a sample is reconstructed (intra availability);
- ``levels``: (Y, Cb, Cr) int32 quantized levels, each transform block at its own position;
- ``cu_log2``, ``luma_mode``, ``tu_id``: the per-4x4 maps of :mod:`.partition`.

Components are indexed 0 (Y), 1 (Cb), 2 (Cr) everywhere.
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np

from .partition import CTU_SIZE, new_maps

Picture = namedtuple("Picture", "planes decoded levels cu_log2 luma_mode tu_id")


def padded_shape(height: int, width: int) -> tuple[int, int]:
    """Luma size of the coded picture: whole CTUs (the decoder crops the real size out)."""
    return -(-height // CTU_SIZE) * CTU_SIZE, -(-width // CTU_SIZE) * CTU_SIZE


def new_picture(height: int, width: int) -> Picture:
    """Empty state for a padded luma size (H, W), both multiples of the CTU size."""
    shapes = [(height, width), (height // 2, width // 2), (height // 2, width // 2)]
    planes = tuple(np.zeros(s, np.int32) for s in shapes)
    decoded = tuple(np.zeros(s, np.uint8) for s in shapes)
    levels = tuple(np.zeros(s, np.int32) for s in shapes)
    return Picture(planes, decoded, levels, *new_maps(height, width))
