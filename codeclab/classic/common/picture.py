"""The picture being coded: sample planes, levels, availability and syntax maps in one tuple.

Encoder and decoder hold exactly the same state while they walk the CTUs (that is what
makes the encoder's reconstruction equal the decoder's output), so both use this one
structure, a named tuple of NumPy arrays that numba functions take as a single argument:

- ``planes``: (Y, Cb, Cr) int32 reconstructed samples, 4:2:0, stored padded to whole CTUs;
- ``decoded``: (Y, Cb, Cr) uint8, 1 where a sample is reconstructed (intra availability);
- ``levels``: (Y, Cb, Cr) int32 quantized levels, each transform block at its own position;
- ``cu_log2``, ``luma_mode``, ``tu_id``: the per-4x4 maps of :mod:`~codeclab.classic.common.partition`;
- ``mv`` (per 4x4, 2), ``ref_idx``, ``cu_kind``: the motion of inter CUs in quarter luma
  samples, their reference index (-1 for intra and uncoded blocks) and how they were coded
  (:data:`INTRA`, :data:`SKIP`, :data:`MERGE`, :data:`AMVP`), for motion vector prediction,
  the skip flag's context and deblocking;
- ``coded``: ``(height, width)`` of the coded picture, the part the CTUs cover; CUs beyond
  it are not coded (H.265 §7.3.8.4: a block crossing it is split without a flag). Still
  pictures code whole CTUs (``coded`` = the storage size); sequences code multiples of 8.

Components are indexed 0 (Y), 1 (Cb), 2 (Cr) everywhere.

Inter pictures also read :data:`References`: the reference planes (stacked, most recent
first, as reference list 0), their picture order counts, and the motion of the collocated
picture for temporal motion vector prediction (H.265 §8.5.3.2.8).
"""

from __future__ import annotations

from collections import namedtuple

import numpy as np
from numba.core import types
from numba.experimental import structref

from codeclab.classic.common.partition import CTU_SIZE, new_maps
from codeclab.kernels import kernel

#: The fields of :class:`Picture`: reconstructed ``planes`` (Y, Cb, Cr int32), the 8-bit
#: ``decoded`` planes, the coded ``levels``, the CU and mode maps per 4x4 unit, the motion
#: field, and the ``coded`` size (height, width).
PICTURE_FIELDS = ("planes", "decoded", "levels", "cu_log2", "luma_mode", "tu_id", "mv", "ref_idx", "cu_kind",
                  "coded")


@structref.register
class PictureType(types.StructRef):
    """numba type of :class:`Picture`."""

    def preprocess_fields(self, fields):
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class Picture(structref.StructRefProxy):
    """The state of one picture being coded or decoded (:data:`PICTURE_FIELDS`).

    A numba structref, not a tuple: kernels receive it as one reference, where a tuple of
    fifteen arrays would be passed (and its glue code generated) field by field at every
    call. Python reads the same fields as attributes.
    """


structref.define_proxy(Picture, PictureType, PICTURE_FIELDS)


@kernel
def _make_picture(planes, decoded, levels, cu_log2, luma_mode, tu_id, mv, ref_idx, cu_kind, coded):
    return Picture(planes, decoded, levels, cu_log2, luma_mode, tu_id, mv, ref_idx, cu_kind, coded)


@kernel
def _picture_fields(picture):
    return (picture.planes, picture.decoded, picture.levels, picture.cu_log2, picture.luma_mode, picture.tu_id,
            picture.mv, picture.ref_idx, picture.cu_kind, picture.coded)


for _index, _name in enumerate(PICTURE_FIELDS):
    setattr(Picture, _name, property(lambda self, i=_index: _picture_fields(self)[i]))
#: Reference pictures of an inter picture: ``y``/``cb``/``cr`` (R, H, W) int32 planes of
#: reference list 0, ``pocs`` (R,) their picture order counts, ``poc`` this picture's; the
#: collocated picture (list entry 0): ``col_mv`` (per 4x4, 2), ``col_ref_poc`` (per 4x4, -1
#: where intra), ``col_poc``; ``tmvp``: temporal motion vector prediction on (1) or off (0).
References = namedtuple("References", "y cb cr pocs poc col_mv col_ref_poc col_poc tmvp")

INTRA, SKIP, MERGE, AMVP = 0, 1, 2, 3


def padded_shape(height: int, width: int) -> tuple[int, int]:
    """Luma size of the stored picture: whole CTUs (the decoder crops the real size out)."""
    return -(-height // CTU_SIZE) * CTU_SIZE, -(-width // CTU_SIZE) * CTU_SIZE


def new_picture(height: int, width: int, coded: tuple[int, int] | None = None) -> Picture:
    """Empty state for a stored luma size (H, W), both multiples of the CTU size.

    ``coded`` is the coded size (multiples of 8, at most (H, W)); default: all of it.
    """
    shapes = [(height, width), (height // 2, width // 2), (height // 2, width // 2)]
    planes = tuple(np.zeros(s, np.int32) for s in shapes)
    decoded = tuple(np.zeros(s, np.uint8) for s in shapes)
    levels = tuple(np.zeros(s, np.int32) for s in shapes)
    units = (height // 4, width // 4)
    motion = (np.zeros(units + (2,), np.int32), np.full(units, -1, np.int32),
              np.zeros(units, np.int32))
    coded_height, coded_width = coded if coded is not None else (height, width)
    return _make_picture(planes, decoded, levels, *new_maps(height, width), *motion,
                         (int(coded_height), int(coded_width)))


def no_references(height: int, width: int) -> References:
    """The :data:`References` of an intra picture: none (same types, so one compiled decoder)."""
    units = (height // 4, width // 4)
    return References(np.zeros((0, height, width), np.int32),
                      np.zeros((0, height // 2, width // 2), np.int32),
                      np.zeros((0, height // 2, width // 2), np.int32),
                      np.zeros(0, np.int64), 0, np.zeros(units + (2,), np.int32),
                      np.full(units, -1, np.int32), 0, 0)
