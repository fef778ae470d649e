"""Reading a sequence from a file: Y4M directly, MP4/MKV/... through FFmpeg (PyAV).

Decoded frames keep their format when :class:`~codeclab.io.video.Video` can hold it, so a
10-bit 4:2:2 file stays 10-bit 4:2:2; anything else is converted to 4:2:0.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from codeclab.bitstream.container import MAX_FRAMES, ColorFormat, Matrix, Range
from codeclab.errors import InputError
from codeclab.io.image import check_picture_size
from codeclab.io.video import Video
from codeclab.io.y4m import read_y4m

#: PyAV pixel formats kept as they are: name -> (format, bit depth). "yuvj" formats are
#: FFmpeg's old names for full-range Y'CbCr; high bit depths are little-endian 16-bit words.
_NATIVE_FORMATS = {"gray": (ColorFormat.GRAY, 8)}
for _fmt, _name in ((ColorFormat.YUV420, "420"), (ColorFormat.YUV422, "422"), (ColorFormat.YUV444, "444")):
    _NATIVE_FORMATS[f"yuv{_name}p"] = _NATIVE_FORMATS[f"yuvj{_name}p"] = (_fmt, 8)
    for _depth in (9, 10, 12, 14, 16):
        _NATIVE_FORMATS[f"yuv{_name}p{_depth}le"] = (_fmt, _depth)
for _depth in (9, 10, 12, 14, 16):
    _NATIVE_FORMATS[f"gray{_depth}le"] = (ColorFormat.GRAY, _depth)

#: FFmpeg's AVColorSpace and AVColorRange codes (ITU-T H.273 MatrixCoefficients 1, 5, 6).
_AV_MATRICES = {1: Matrix.BT709, 5: Matrix.BT601, 6: Matrix.BT601}
_AV_RANGES = {1: Range.LIMITED, 2: Range.FULL}


def _target_format(frame) -> str:
    """The pixel format to decode to: the stream's own when Video can hold it, else 4:2:0."""
    name = frame.format.name
    if name in _NATIVE_FORMATS:
        return name
    deep = max(c.bits for c in frame.format.components) > 8
    return "yuv420p10le" if deep else "yuv420p"


def _plane_samples(plane, dtype: np.dtype) -> np.ndarray:
    """One plane of a decoded frame without its row padding (FFmpeg aligns rows)."""
    row = plane.line_size // dtype.itemsize
    rows = np.frombuffer(plane, dtype, count=plane.height * row).reshape(plane.height, row)
    return rows[:, :plane.width].copy()


def _decode_av(path: Path, max_frames: int | None) -> Video:
    import av

    limit = MAX_FRAMES if max_frames is None else min(max_frames, MAX_FRAMES)
    with av.open(str(path)) as container:
        if not container.streams.video:
            raise InputError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        planes: list[list[np.ndarray]] = []
        target = size = None
        matrix, rng = Matrix.UNSPECIFIED, Range.UNSPECIFIED
        for frame in container.decode(stream):
            if len(planes) == limit:
                if max_frames is None:
                    raise InputError(f"{path}: more than {MAX_FRAMES} frames")
                break
            if target is None:  # the first frame fixes size, format and colour description
                check_picture_size(frame.width, frame.height, str(path))
                target, size = _target_format(frame), (frame.width, frame.height)
                color_format, bit_depth = _NATIVE_FORMATS[target]
                dtype = np.dtype(np.uint8) if bit_depth == 8 else np.dtype("<u2")
                count = 1 if color_format == ColorFormat.GRAY else 3
                rgb_source = frame.format.name.startswith(("rgb", "bgr", "gbr", "argb", "abgr"))
                if rgb_source:  # FFmpeg converts RGB with BT.601, limited range, by default
                    matrix, rng = Matrix.BT601, Range.LIMITED
                else:
                    matrix = _AV_MATRICES.get(int(frame.colorspace), Matrix.UNSPECIFIED)
                    rng = Range.FULL if target.startswith("yuvj") else \
                        _AV_RANGES.get(int(frame.color_range), Range.UNSPECIFIED)
            if (frame.width, frame.height) != size:
                raise InputError(f"{path}: frame {len(planes)} changes size to {frame.width}x{frame.height}")
            if frame.format.name != target:
                frame = frame.reformat(format=target)
            planes.append([_plane_samples(frame.planes[i], dtype) for i in range(count)])
        if not planes:
            raise InputError(f"{path}: no decodable video frames")
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        aspect = stream.sample_aspect_ratio
    native = np.uint8 if bit_depth == 8 else np.uint16
    stacked = [torch.from_numpy(np.stack(p).astype(native, copy=False)) for p in zip(*planes)] + [None, None]
    tags = {"A": f"{aspect.numerator}:{aspect.denominator}"} if aspect else {}
    return Video(stacked[0], stacked[1], stacked[2], Fraction(fps), color_format, bit_depth,
                 matrix, rng, tags)


def read_video(path: str | os.PathLike, *, max_frames: int | None = None) -> Video:
    """Read a sequence: ``.y4m`` with :func:`~codeclab.io.y4m.read_y4m`, anything else
    (MP4, MKV, ...) by decoding its first video stream with FFmpeg through PyAV.

    Decoded frames keep their format when :class:`Video` can hold it (4:2:0/4:2:2/4:4:4 or
    grey at 8..16 bits); any other format (NV12, P010, RGB, ...) is converted to 4:2:0 at
    8 or 10 bits. The frame rate is the stream's average rate; matrix and range come from
    the stream where it states them. ``max_frames`` caps the frames read.
    """
    path = Path(path)
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be positive, got {max_frames}")
    if path.suffix.lower() == ".y4m":
        return read_y4m(path, max_frames=max_frames)
    if path.is_dir():
        raise InputError(f"{path}: is a directory")
    if not path.is_file():
        raise InputError(f"{path}: the file does not exist")
    if path.stat().st_size == 0:
        raise InputError(f"{path}: the file is empty")
    import av

    try:
        return _decode_av(path, max_frames)
    except (av.FFmpegError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputError(f"{path}: cannot decode video: {reason}") from None
