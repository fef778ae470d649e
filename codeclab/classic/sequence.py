"""Coding a sequence with the classic codec: low-delay P pictures with a periodic intra picture.

Group of pictures: an intra picture every ``intra_period`` pictures, P pictures in between,
each predicting from up to ``num_refs`` earlier pictures (no reordering, nothing from the
future: "low delay P", HM's ``encoder_lowdelay_P`` configuration without its QP cascade)::

    POC    0   1   2   3   4  ...  31  32  33 ...
    type   I   P   P   P   P  ...  P   I   P  ...     reference list of POC t: t-1, t-2, ...
                                                      back to the last intra picture (which
                                                      empties the buffer, like an IDR)

The payload is the pictures one after the other, each framed by its length::

    sequence_payload = picture_record * frame_count
    picture_record   = size uleb128 | picture_header u8 | picture_data (size - 1 bytes)
    picture_header   = bit 7: P picture | bits 0..5: QP       (:func:`~.syntax.pack_picture_header`)
    picture_data     = one arithmetic codeword (:mod:`.decoder`), or, with a picture filter,
                       ``u32 len | codeword | filter side information`` (:mod:`.filters`)

(ULEB128: 7 bits per byte, least significant first, bit 7 set on all but the last byte: a
typical P picture costs 2 bytes of framing.) The sequence parameters
(:class:`~.syntax.SequenceParams`) are the container's ``params``.

Every picture is coded over the padded size the CTUs hold, of which the *coded* part is the
picture rounded up to multiples of 8 (the smallest CU): blocks beyond it are never coded
(:mod:`.partition`), and motion compensation clips its reference to it. After deblocking,
the picture filter (when one is configured) runs on each picture *before* it enters the
reference buffer, so encoder and decoder keep the very same references.

Each P picture's encoder first runs the picture-wide integer block search of
:mod:`.motion_search` against each reference, computes the quarter-sample phases of each
reference once (:func:`~.motion.fractional_planes`), and then decides its CTUs
(:mod:`.inter`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import torch

from ..bitstream.container import ColorFormat, StreamHeader
from ..errors import BitstreamError, InputError, UnsupportedError
from ..io.padding import pad_to_multiple
from ..io.video import Video
from .decoder import decode_payload
from .encoder import encode_planes
from .filters import PictureFilter, filter_for_id, join_side_info, split_side_info
from .inter import encode_inter_planes, inter_lambda
from .motion import fractional_planes
from .motion_search import BLOCK, integer_motion_search
from .partition import CTU_SIZE, MIN_CU_LOG2
from .picture import Picture, References
from .syntax import SequenceParams, pack_picture_header, unpack_picture_header

#: QP of P pictures relative to the sequence QP (intra pictures use the sequence QP).
P_QP_OFFSET = 1
#: Margin of the quarter-sample phase planes (samples beyond the coded picture; blocks
#: reaching further read clipped positions, which give the same samples).
PHASE_MARGIN = 16


# -------------------------------------------------------------------- structure
def reference_pocs(poc: int, intra_period: int, num_refs: int) -> list[int]:
    """The reference list of picture ``poc``: the most recent pictures since the last intra
    picture, most recent first (empty for an intra picture)."""
    last_intra = poc - poc % intra_period
    return [p for p in range(poc - 1, last_intra - 1, -1)][:num_refs]


def coded_size(height: int, width: int) -> tuple[int, int]:
    """The coded luma size of a picture: its sides rounded up to multiples of the smallest CU."""
    unit = 1 << MIN_CU_LOG2
    return -(-height // unit) * unit, -(-width // unit) * unit


def picture_qp(poc: int, qp: int, intra_period: int) -> int:
    """QP of picture ``poc``: the sequence QP for intra pictures, plus :data:`P_QP_OFFSET` for P."""
    return qp if poc % intra_period == 0 else min(qp + P_QP_OFFSET, 51)


def _uleb128(value: int) -> bytes:
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def split_records(payload: bytes, count: int) -> list[tuple[int, bytes]]:
    """The ``count`` picture records of a payload as ``(header byte, picture data)``."""
    records, pos = [], 0
    for t in range(count):
        size, shift = 0, 0
        while True:
            if pos >= len(payload) or shift > 28:
                raise BitstreamError(f"classic: picture {t}: damaged or missing record length")
            byte = payload[pos]
            pos += 1
            size |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                break
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
    pocs_array = np.asarray(pocs + [0], np.int32)
    ref_poc = np.where(picture.ref_idx >= 0, pocs_array[np.maximum(picture.ref_idx, 0)], -1)
    return ReferencePicture(poc, planes, picture.mv, ref_poc.astype(np.int32))


def build_references(buffer: dict[int, ReferencePicture], poc: int, pocs: list[int],
                     tmvp: bool) -> References:
    """:data:`~.picture.References` of picture ``poc`` from the buffered pictures ``pocs``."""
    pictures = [buffer[p] for p in pocs]
    col = pictures[0]
    return References(*(np.stack([p.planes[c] for p in pictures]) for c in range(3)),
                      np.asarray(pocs, np.int64), poc, col.mv, col.ref_poc, col.poc, int(tmvp))


# -------------------------------------------------------------------- encoding
@contextmanager
def single_thread():
    """Run torch on one thread inside the block: the block search is many small tensor
    operations, which on a busy machine spend more time synchronising threads than working
    (10x slower with 2 threads on a loaded 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def video_planes(video: Video, t: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Frame ``t`` as int32 (Y, Cb, Cr) planes padded (replicating the edges) to whole CTUs."""
    y, cb, cr = video.planes(t)
    luma = pad_to_multiple(y[None].to(torch.int32), CTU_SIZE)[0]
    chroma = [pad_to_multiple(c[None].to(torch.int32), CTU_SIZE // 2)[0] for c in (cb, cr)]
    height, width = luma.shape
    chroma = [c[:height // 2, :width // 2] for c in chroma]
    return tuple(np.ascontiguousarray(p.numpy()) for p in [luma] + chroma)


def check_video(video: Video) -> None:
    """``UnsupportedError`` unless ``video`` is what the classic codec codes: 8-bit 4:2:0."""
    if video.color_format != ColorFormat.YUV420 or video.cb is None:
        raise UnsupportedError(f"classic codes 4:2:0 video, not {video.color_format.name}")
    if video.bit_depth != 8:
        raise UnsupportedError(f"classic codes 8-bit video, not {video.bit_depth}-bit")
    if video.num_frames < 1:
        raise InputError("the video has no frames")


def search_predictors(col: ReferencePicture, poc: int, ref_poc: int, rows: int, cols: int,
                      fields: list[tuple[int, np.ndarray]]) -> torch.Tensor:
    """Start vectors (integer samples) of the block search from ``poc`` into ``ref_poc``:
    the collocated picture's motion at each block's centre and the fields already found for
    other references, each scaled to this reference's distance. (rows, cols, P, 2)."""
    v = np.minimum(np.arange(rows) * 4 + 2, col.mv.shape[0] - 1)[:, None]
    u = np.minimum(np.arange(cols) * 4 + 2, col.mv.shape[1] - 1)[None, :]
    col_dist = np.maximum(col.poc - col.ref_poc[v, u], 1)
    scale = np.where(col.ref_poc[v, u] >= 0, (poc - ref_poc) / col_dist / 4, 0.0)
    options = [col.mv[v, u] * scale[..., None]]
    options += [found * (poc - ref_poc) / (poc - found_poc) for found_poc, found in fields]
    return torch.from_numpy(np.rint(np.stack(options, 2))).to(torch.int64)


def encode_sequence(video: Video, qp: int, intra_period: int, num_refs: int = 2,
                    picture_filter: PictureFilter | None = None, tmvp: bool = True):
    """Encode a video; returns ``(SequenceParams, payload, reconstruction Video, stats)``."""
    check_video(video)
    height, width = video.height, video.width
    coded = coded_size(height, width)
    tool = picture_filter.tool_id if picture_filter is not None else 0
    params = SequenceParams(qp=qp, intra_period=intra_period, num_refs=num_refs, tmvp=tmvp,
                            picture_filter=tool)
    buffer: dict[int, ReferencePicture] = {}
    records, recon_frames = [], []
    stats = {"picture_bits": [], "picture_qp": [], "picture_type": []}
    for t in range(video.num_frames):
        original = video_planes(video, t)
        pqp = picture_qp(t, qp, intra_period)
        picture_params = params.picture(pqp)
        pocs = reference_pocs(t, intra_period, num_refs)
        if not pocs:
            buffer.clear()
            encoded = encode_planes(original, picture_params, coded)
        else:
            refs = build_references(buffer, t, pocs, tmvp)
            lam = inter_lambda(pqp)
            current = torch.from_numpy(original[0])
            rows, cols = -(-coded[0] // BLOCK), -(-coded[1] // BLOCK)
            fields = []
            with single_thread():
                for ref_poc in pocs:
                    predictors = search_predictors(buffer[pocs[0]], t, ref_poc, rows, cols, fields)
                    found = integer_motion_search(current, torch.from_numpy(buffer[ref_poc].planes[0]),
                                                  coded[0], coded[1], math.sqrt(lam), predictors,
                                                  wide=not fields)
                    fields.append((ref_poc, found.numpy()))
            me_mv = np.stack([f for _, f in fields]).astype(np.int32)
            phases = np.stack([_phases(buffer[p], coded) for p in pocs])
            encoded = encode_inter_planes(original, picture_params, refs, len(pocs), coded,
                                          phases, PHASE_MARGIN, me_mv, lam)
        planes, data = encoded.planes, encoded.payload
        if picture_filter is not None:
            planes, side_info = picture_filter.encode(planes, original, pqp)
            data = join_side_info(data, side_info)
        buffer[t] = reference_picture(t, planes, encoded.picture, pocs)
        for old in [p for p in buffer if p <= t - num_refs]:
            del buffer[old]
        records.append(_uleb128(len(data) + 1) + bytes([pack_picture_header(bool(pocs), pqp)]) + data)
        recon_frames.append(planes)
        stats["picture_bits"].append(8 * len(data))
        stats["picture_qp"].append(pqp)
        stats["picture_type"].append("P" if pocs else "I")
    recon = _frames_to_video(recon_frames, video, height, width)
    return params, b"".join(records), recon, stats


def _phases(reference: ReferencePicture, coded: tuple[int, int]) -> np.ndarray:
    if reference.phases is None:
        reference.phases = fractional_planes(reference.planes[0], coded[0], coded[1], PHASE_MARGIN)
    return reference.phases


def _frames_to_video(frames: list[tuple], like: Video | StreamHeader, height: int, width: int) -> Video:
    chroma_h, chroma_w = (height + 1) // 2, (width + 1) // 2
    y = np.stack([f[0][:height, :width] for f in frames]).astype(np.uint8)
    cb = np.stack([f[1][:chroma_h, :chroma_w] for f in frames]).astype(np.uint8)
    cr = np.stack([f[2][:chroma_h, :chroma_w] for f in frames]).astype(np.uint8)
    # No Y4M tags: the container does not carry them, so the encoder's reconstruction and
    # the decoder's output are written as the same file.
    return Video(torch.from_numpy(y), torch.from_numpy(cb), torch.from_numpy(cr), like.fps,
                 ColorFormat.YUV420, 8, like.matrix, like.range)


# -------------------------------------------------------------------- decoding
@dataclass
class DecodedSequence:
    """Every decoded picture (padded planes) and the syntax of each (for ``codeclab info``)."""

    frames: list[tuple[np.ndarray, np.ndarray, np.ndarray]]
    pictures: list[Picture]
    ctu_bits: list[np.ndarray]


def decode_sequence(header: StreamHeader, params: SequenceParams, payload: bytes,
                    last: int | None = None) -> DecodedSequence:
    """Decode the pictures 0..``last`` (default: all); ``BitstreamError`` if damaged."""
    if header.bit_depth != 8 or header.color_format != ColorFormat.YUV420:
        raise BitstreamError("classic sequences are 8-bit 4:2:0, the header says otherwise")
    height, width = header.height, header.width
    coded = coded_size(height, width)
    picture_filter = filter_for_id(params.picture_filter) if params.picture_filter else None
    records = split_records(payload, header.frame_count)
    count = header.frame_count if last is None else last + 1
    buffer: dict[int, ReferencePicture] = {}
    out = DecodedSequence([], [], [])
    for t, (byte, data) in enumerate(records[:count]):
        inter, qp = unpack_picture_header(byte)
        pocs = reference_pocs(t, params.intra_period, params.num_refs)
        if inter != bool(pocs):
            raise BitstreamError(f"classic: picture {t} should be {'P' if pocs else 'I'}")
        side_info = b""
        if picture_filter is not None:
            data, side_info = split_side_info(data)
        picture_params = params.picture(qp)
        if not pocs:
            buffer.clear()
            decoded = decode_payload(picture_params, data, height, width, coded=coded)
        else:
            refs = build_references(buffer, t, pocs, params.tmvp)
            decoded = decode_payload(picture_params, data, height, width, refs, len(pocs), coded)
        planes = decoded.planes
        if picture_filter is not None:
            planes = picture_filter.decode(planes, qp, side_info)
        buffer[t] = reference_picture(t, planes, decoded.picture, pocs)
        for old in [p for p in buffer if p <= t - params.num_refs]:
            del buffer[old]
        out.frames.append(planes)
        out.pictures.append(decoded.picture)
        out.ctu_bits.append(decoded.ctu_bits)
    return out


def decode_video(header: StreamHeader, params: SequenceParams, payload: bytes) -> Video:
    """The decoded sequence as a :class:`~codeclab.io.video.Video` of the header's size."""
    decoded = decode_sequence(header, params, payload)
    return _frames_to_video(decoded.frames, header, header.height, header.width)
