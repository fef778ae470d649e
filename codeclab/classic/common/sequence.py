"""The structure of a classic sequence, shared by its encoder and decoder.

Reference lists of low-delay P pictures (the previous picture, then key pictures back to
the last intra picture), the coded size, the framing of picture records in the payload and
the reference picture buffer::

    POC          0   1   2   3   4   5   6   7   8  ...
    type         I   P   P   P   P   P   P   P   P  ...
    key          *               *               *
    references of t: t - 1, then the key pictures before it, most recent first
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from codeclab.bitstream.bits import read_uleb128
from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.classic.common.partition import MIN_CU_LOG2
from codeclab.classic.common.picture import Picture, References
from codeclab.errors import BitstreamError
from codeclab.io.video import Video


# -------------------------------------------------------------------- structure
def reference_pocs(poc: int, intra_period: int, num_refs: int, gop_size: int) -> list[int]:
    """The reference list of picture ``poc``: the previous picture, then the key pictures
    before it back to the last intra picture, most recent first, at most ``num_refs``
    (empty for an intra picture). Key pictures are every ``gop_size``-th from the intra one."""
    last_intra = poc - poc % intra_period
    if poc == last_intra:
        return []
    keys = range(poc - 2 - (poc - 2 - last_intra) % gop_size, last_intra - 1, -gop_size)
    return ([poc - 1] + list(keys))[:num_refs]


def coded_size(height: int, width: int) -> tuple[int, int]:
    """The coded luma size of a picture: its sides rounded up to multiples of the smallest CU."""
    unit = 1 << MIN_CU_LOG2
    return -(-height // unit) * unit, -(-width // unit) * unit


def split_records(payload: bytes, count: int) -> list[tuple[int, bytes]]:
    """The ``count`` picture records of a payload as ``(header byte, picture data)``."""
    records, pos = [], 0
    for t in range(count):
        size, pos = read_uleb128(payload, pos, f"classic: picture {t}: record length")
        if size < 1 or pos + size > len(payload):
            raise BitstreamError(f"classic: picture {t}: record of {size} bytes runs past the payload")
        records.append((payload[pos], payload[pos + 1:pos + size]))
        pos += size
    if pos != len(payload):
        raise BitstreamError(f"classic: {len(payload) - pos} bytes after the last picture")
    return records


# -------------------------------------------------------------------- the reference buffer
@dataclass
class ReferencePicture:
    """A decoded picture kept for prediction: its planes and the motion the next picture's
    temporal predictors read."""

    poc: int
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    mv: np.ndarray
    ref_poc: np.ndarray  # per 4x4: the picture its vector points to, -1 for intra
    phases: np.ndarray | None = field(default=None, repr=False)  # encoder only


def reference_picture(poc: int, planes: tuple, picture: Picture, pocs: list[int]) -> ReferencePicture:
    """Keep a decoded picture (``pocs``: its own reference list) in the buffer."""
    pocs_array = np.asarray(pocs + [0], np.int32)
    ref_poc = np.where(picture.ref_idx >= 0, pocs_array[np.maximum(picture.ref_idx, 0)], -1)
    return ReferencePicture(poc, planes, picture.mv, ref_poc.astype(np.int32))


def build_references(buffer: dict[int, ReferencePicture], poc: int, pocs: list[int],
                     tmvp: bool) -> References:
    """:data:`~codeclab.classic.common.picture.References` of picture ``poc`` from the buffered pictures ``pocs``."""
    pictures = [buffer[p] for p in pocs]
    col = pictures[0]
    return References(*(np.stack([p.planes[c] for p in pictures]) for c in range(3)),
                      np.asarray(pocs, np.int64), poc, col.mv, col.ref_poc, col.poc, int(tmvp))


def crop_frame(planes: tuple, height: int, width: int, bit_depth: int = 8) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The shown part of decoded padded planes, as uint8 (8-bit) or uint16 (10-bit): what a
    frame of the output holds."""
    chroma_h, chroma_w = (height + 1) // 2, (width + 1) // 2
    dtype = np.uint8 if bit_depth == 8 else np.uint16
    return (planes[0][:height, :width].astype(dtype),
            planes[1][:chroma_h, :chroma_w].astype(dtype),
            planes[2][:chroma_h, :chroma_w].astype(dtype))


def frames_to_video(frames: list[tuple], like: Video | StreamHeader, bit_depth: int = 8) -> Video:
    """Stack cropped frames into a :class:`~codeclab.io.video.Video` with ``like``'s timing and
    colour description. No Y4M tags: the container does not carry them, so the encoder's
    reconstruction and the decoder's output are written as the same file."""
    y, cb, cr = (torch.from_numpy(np.stack([f[c] for f in frames])) for c in range(3))
    return Video(y, cb, cr, like.fps, ColorFormat.YUV420, bit_depth, like.matrix, like.range)
