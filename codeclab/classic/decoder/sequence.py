"""Decoding a classic sequence: picture records in order, through the reference buffer.

Each record is decoded as an I or P picture (:mod:`codeclab.classic.decoder.picture`),
filtered by the picture tool the parameters name, and kept as a reference while the
reference lists of :mod:`codeclab.classic.common.sequence` still need it; memory stays
bounded by ``num_refs`` pictures plus the cropped output frames.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.classic.common.parameters import SequenceParams, unpack_picture_header
from codeclab.classic.common.picture import Picture
from codeclab.classic.common.sequence import (ReferencePicture, build_references, coded_size, crop_frame,
                                              frames_to_video, reference_picture, reference_pocs,
                                              split_records)
from codeclab.classic.common.tools import filter_for_id, split_side_info
from codeclab.classic.decoder.picture import decode_payload
from codeclab.errors import BitstreamError
from codeclab.io.video import Video


# -------------------------------------------------------------------- decoding
@dataclass
class DecodedSequence:
    """The decoded frames (cropped, uint8), and the last one's padded planes and syntax (for
    ``codeclab info``)."""

    frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    planes: tuple[np.ndarray, np.ndarray, np.ndarray]
    picture: Picture
    ctu_bits: np.ndarray


def decode_sequence(header: StreamHeader, params: SequenceParams, payload: bytes,
                    last: int | None = None) -> DecodedSequence:
    """Decode the pictures 0..``last`` (default: all); ``BitstreamError`` if damaged.

    Memory stays bounded by the output: the reference buffer holds ``num_refs`` pictures and
    every frame is kept only as its cropped 8-bit planes.
    """
    if header.bit_depth != params.bit_depth or header.color_format != ColorFormat.YUV420:
        raise BitstreamError(f"classic: a {params.bit_depth}-bit 4:2:0 sequence, the header says otherwise")
    if params.bit_depth != 8 and (params.neural_intra or params.picture_filter):
        raise BitstreamError("classic: the neural tools work on 8-bit samples, the stream says 10")
    height, width = header.height, header.width
    coded = coded_size(height, width)
    picture_filter = filter_for_id(params.picture_filter) if params.picture_filter else None
    records = split_records(payload, header.frame_count)
    count = header.frame_count if last is None else last + 1
    buffer: dict[int, ReferencePicture] = {}
    frames = []
    for t, (byte, data) in enumerate(records[:count]):
        inter, qp = unpack_picture_header(byte)
        pocs = reference_pocs(t, params.intra_period, params.num_refs, params.gop_size)
        if inter != bool(pocs):
            raise BitstreamError(f"classic: picture {t} should be {'P' if pocs else 'I'}")
        side_info = b""
        if picture_filter is not None:
            data, side_info = split_side_info(data)
        picture_params = params.picture(qp)
        if not pocs:
            decoded = decode_payload(picture_params, data, height, width, coded=coded)
        else:
            refs = build_references(buffer, t, pocs, params.tmvp)
            decoded = decode_payload(picture_params, data, height, width, refs, len(pocs), coded)
        planes = decoded.planes
        if picture_filter is not None:
            planes = picture_filter.decode(planes, qp, side_info, (height, width))
        buffer[t] = reference_picture(t, planes, decoded.picture, pocs)
        keep = reference_pocs(t + 1, params.intra_period, params.num_refs, params.gop_size)
        buffer = {p: buffer[p] for p in keep}
        frames.append(crop_frame(planes, height, width, params.bit_depth))
    return DecodedSequence(frames, planes, decoded.picture, decoded.ctu_bits)


def decode_video(header: StreamHeader, params: SequenceParams, payload: bytes) -> Video:
    """The decoded sequence as a :class:`~codeclab.io.video.Video` of the header's size."""
    return frames_to_video(decode_sequence(header, params, payload).frames, header, params.bit_depth)
