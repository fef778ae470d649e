"""Coding a sequence with the classic codec: low-delay P pictures with a periodic intra picture.

Group of pictures: an intra picture every ``intra_period`` pictures, P pictures in between,
predicting only from earlier pictures (no reordering: "low delay P"), in groups of
``gop_size`` pictures whose first, the *key* picture, is coded at a finer QP and serves as
a long-lived reference, as in HM's ``encoder_lowdelay_P`` configuration::

    POC          0   1   2   3   4   5   6   7   8  ...  32  33 ...
    type         I   P   P   P   P   P   P   P   P  ...  I   P  ...
    key          *               *               *       *
    QP offset    0  +5  +4  +5  +1  +5  +4  +5  +1  ...   0  +5       (the encoder's choice,
                                                                      sent in each picture)

    reference list of POC t (at most num_refs): t - 1, then the key pictures before t - 1,
    most recent first, back to the last intra picture (which empties the buffer, like an
    IDR). With gop_size 1 every picture is a key: t - 1, t - 2, ...

The QP cascade spends bits where they are reused most: each key picture is a reference for
the next four or more pictures. The offsets are those of HM 16's low-delay configuration
(5, 4, 5, 1), with lambda = 0.578 * 2^((QP - 12) / 3) for every P picture. Measured against
x264 on the first 65 pictures of *carphone* (BD-rate, PSNR-Y): a constant offset of +3 gives
-6.9%, the cascade (3, 2, 3, 1) -8.0%, plus the key-picture reference -10.6%, with
offsets (5, 4, 5, 1) and lambda factor 0.578 -13.3% (HM's 0.4624 for P pictures, and its
extra lambda scaling of non-key pictures, measured worse here).

The payload is the pictures one after the other, each framed by its length::

    sequence_payload = picture_record * frame_count
    picture_record   = size uleb128 | picture_header u8 | picture_data (size - 1 bytes)
    picture_header   = bit 7: P picture | bits 0..5: QP       (:func:`~codeclab.classic.common.syntax.pack_picture_header`)
    picture_data     = one arithmetic codeword (:mod:`~codeclab.classic.decoder.picture`), or, with a picture filter,
                       ``uleb128 len | codeword | filter side information`` (:mod:`~codeclab.classic.common.tools`)

(ULEB128: 7 bits per byte, least significant first, bit 7 set on all but the last byte: a
typical P picture costs 2 bytes of framing.) The sequence parameters
(:class:`~codeclab.classic.common.syntax.SequenceParams`) are the container's ``params``.

Every picture is coded over the padded size the CTUs hold, of which the *coded* part is the
picture rounded up to multiples of 8 (the smallest CU): blocks beyond it are never coded
(:mod:`~codeclab.classic.common.partition`), and motion compensation clips its reference to it. After deblocking,
the picture filter (when one is configured) runs on each picture *before* it enters the
reference buffer, so encoder and decoder keep the very same references.

Each P picture's encoder first runs the picture-wide integer block search of
:mod:`~codeclab.classic.encoder.motion_search` against each reference, computes the quarter-sample phases of each
reference once (:func:`~codeclab.classic.common.motion.fractional_planes`), and then decides its CTUs
(:mod:`~codeclab.classic.encoder.inter`).
"""

from __future__ import annotations

import math
from contextlib import contextmanager

import numpy as np
import torch

from codeclab.bitstream.bits import uleb128
from codeclab.bitstream.container import ColorFormat
from codeclab.classic.common.motion import fractional_planes
from codeclab.classic.common.parameters import PictureParams, SequenceParams, pack_picture_header
from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.sequence import (ReferencePicture, build_references, coded_size, crop_frame,
                                              frames_to_video, reference_picture, reference_pocs)
from codeclab.classic.common.tools import PictureFilter, join_side_info
from codeclab.classic.encoder.motion_search import BLOCK, integer_motion_search
from codeclab.classic.encoder.picture import encode_inter_planes, encode_planes
from codeclab.classic.encoder.rate_control import GOP_SIZE, picture_lambda, picture_qp
from codeclab.errors import InputError, UnsupportedError
from codeclab.io.video import Video

#: Longest intra period the sequence parameters hold (16 bits).
MAX_INTRA_PERIOD = 65535
#: Margin of the quarter-sample phase planes (samples beyond the coded picture; blocks
#: reaching further read clipped positions, which give the same samples).
PHASE_MARGIN = 16


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
    luma = video.y[t].numpy()
    height, width = -(-luma.shape[0] // CTU_SIZE) * CTU_SIZE, -(-luma.shape[1] // CTU_SIZE) * CTU_SIZE
    planes = []
    for plane, (h, w) in ((luma, (height, width)), (video.cb[t].numpy(), (height // 2, width // 2)),
                          (video.cr[t].numpy(), (height // 2, width // 2))):
        pad = ((0, h - plane.shape[0]), (0, w - plane.shape[1]))
        planes.append(np.pad(plane.astype(np.int32), pad, mode="edge"))
    return tuple(planes)


def check_video(video: Video) -> None:
    """``UnsupportedError`` unless ``video`` is what the classic codec codes: 8- or 10-bit 4:2:0."""
    if video.color_format != ColorFormat.YUV420 or video.cb is None:
        raise UnsupportedError(f"classic codes 4:2:0 video, not {video.color_format.name}")
    if video.bit_depth not in (8, 10):
        raise UnsupportedError(f"classic codes 8- and 10-bit video, not {video.bit_depth}-bit")
    if video.num_frames < 1:
        raise InputError("the video has no frames")


def check_intra_period(intra_period: int) -> None:
    """``InputError`` unless the intra period fits the sequence parameters."""
    if not 1 <= intra_period <= MAX_INTRA_PERIOD:
        raise InputError(f"classic: intra period must be 1..{MAX_INTRA_PERIOD}, got {intra_period}")


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


def motion_fields(current: np.ndarray, buffer: dict[int, ReferencePicture], poc: int,
                  pocs: list[int], coded: tuple[int, int], lam: float) -> np.ndarray:
    """The block search of picture ``poc`` (luma ``current``) into each reference ``pocs``:
    (R, rows, cols, 2) int32 integer vectors. The first reference gets the full search, the
    others start from its field scaled by distance."""
    rows, cols = -(-coded[0] // BLOCK), -(-coded[1] // BLOCK)
    fields = []
    with single_thread():
        for ref_poc in pocs:
            predictors = search_predictors(buffer[pocs[0]], poc, ref_poc, rows, cols, fields)
            found = integer_motion_search(torch.from_numpy(current),
                                          torch.from_numpy(buffer[ref_poc].planes[0]), coded[0],
                                          coded[1], math.sqrt(lam), predictors, wide=not fields)
            fields.append((ref_poc, found.numpy()))
    return np.stack([f for _, f in fields]).astype(np.int32)


def reference_phases(reference: ReferencePicture, coded: tuple[int, int], bit_depth: int = 8) -> np.ndarray:
    """The quarter-sample phases of a reference's luma, computed once per picture."""
    if reference.phases is None:
        reference.phases = fractional_planes(reference.planes[0], coded[0], coded[1], PHASE_MARGIN, bit_depth)
    return reference.phases


def encode_p_picture(original: tuple, params: PictureParams, buffer: dict[int, ReferencePicture],
                     poc: int, pocs: list[int], coded: tuple[int, int], tmvp: bool, rdoq: bool = False):
    """Encode picture ``poc`` as a P picture predicting from the buffered pictures ``pocs``."""
    refs = build_references(buffer, poc, pocs, tmvp)
    lam = picture_lambda(params.qp)  # for 8-bit distortion; picture_settings scales it
    me_mv = motion_fields(original[0], buffer, poc, pocs, coded, lam * 4.0 ** (params.bit_depth - 8))
    phases = np.stack([reference_phases(buffer[p], coded, params.bit_depth) for p in pocs])
    return encode_inter_planes(original, params, refs, len(pocs), coded, phases, PHASE_MARGIN,
                               me_mv, lam, rdoq)


def encode_sequence(video: Video, qp: int, intra_period: int, num_refs: int = 2,
                    picture_filter: PictureFilter | None = None, tmvp: bool = True,
                    neural_intra: bool = False, sign_hiding: bool = False, rdoq: bool = False):
    """Encode a video; returns ``(SequenceParams, payload, reconstruction Video, stats)``."""
    check_video(video)
    check_intra_period(intra_period)
    if video.bit_depth != 8 and (neural_intra or picture_filter is not None):
        raise UnsupportedError("the neural tools work on 8-bit samples; code this video with 'classic'")
    height, width = video.height, video.width
    coded = coded_size(height, width)
    tool = picture_filter.tool_id if picture_filter is not None else 0
    params = SequenceParams(qp=qp, intra_period=intra_period, num_refs=num_refs,
                            gop_size=GOP_SIZE, tmvp=tmvp, picture_filter=tool,
                            neural_intra=neural_intra, sign_hiding=sign_hiding, bit_depth=video.bit_depth)
    buffer: dict[int, ReferencePicture] = {}
    records, recon_frames = [], []
    stats = {"picture_bits": [], "picture_qp": [], "picture_type": []}
    for t in range(video.num_frames):
        original = video_planes(video, t)
        pqp = picture_qp(t, qp, intra_period)
        picture_params = params.picture(pqp)
        pocs = reference_pocs(t, intra_period, num_refs, GOP_SIZE)
        if pocs:
            encoded = encode_p_picture(original, picture_params, buffer, t, pocs, coded, tmvp, rdoq)
        else:
            encoded = encode_planes(original, picture_params, coded, rdoq)
        planes, data = encoded.planes, encoded.payload
        if picture_filter is not None:
            planes, side_info = picture_filter.encode(planes, original, pqp, (height, width))
            data = join_side_info(data, side_info)
        buffer[t] = reference_picture(t, planes, encoded.picture, pocs)
        keep = reference_pocs(t + 1, intra_period, num_refs, GOP_SIZE)
        buffer = {p: buffer[p] for p in keep}
        records.append(uleb128(len(data) + 1) + bytes([pack_picture_header(bool(pocs), pqp)]) + data)
        recon_frames.append(crop_frame(planes, height, width, video.bit_depth))
        stats["picture_bits"].append(8 * len(data))
        stats["picture_qp"].append(pqp)
        stats["picture_type"].append("P" if pocs else "I")
    recon = frames_to_video(recon_frames, video, video.bit_depth)
    return params, b"".join(records), recon, stats


