"""YUV4MPEG2 (``.y4m``) files: raw Y'CbCr frames behind a one-line text header.

Layout (mjpegtools ``yuv4mpeg(5)``; FFmpeg ``libavformat/yuv4mpegdec.c`` for high bit depth)::

    YUV4MPEG2 W176 H144 F30000:1001 Ip A128:117 C420mpeg2 XYSCSS=420MPEG2\\n
    FRAME\\n  <Y plane> <Cb plane> <Cr plane>
    FRAME\\n  ...

Header tags, separated by single spaces:

    W, H   luma width and height
    F      frame rate as num:den (absent: 25, as FFmpeg assumes)
    I      interlacing (p, t, b, m, ?)             A   pixel aspect ratio num:den
    C      sampling and bit depth:  420jpeg 420mpeg2 420paldv 420 422 444 mono    (8 bits)
                                    420p10 422p12 444p16 mono10 mono16 ...         (9..16 bits)
           absent: 420jpeg
    X...   free-form extensions; FFmpeg writes XYSCSS=<C in capitals> and
           XCOLORRANGE=FULL|LIMITED

Each plane is stored row by row; chroma planes are ceil(W / sx) x ceil(H / sy); samples
above 8 bits take two bytes, little-endian. The suffix of a 4:2:0 ``C`` tag is the chroma
siting (see :mod:`codeclab.io.chroma`): jpeg "center", mpeg2 "left", paldv "topleft".

Mapping to :class:`~codeclab.io.video.Video`: W, H, the planes and C's format and depth
become the tensors, ``color_format`` and ``bit_depth``; F becomes ``fps``;
XCOLORRANGE becomes ``range`` (Y4M has no matrix tag, so ``matrix`` stays unspecified);
I, A, C and every X tag are kept verbatim in ``tags`` (keys "I", "A", "C", and the X
tag's name such as "XYSCSS") so that :func:`write_y4m` writes the header back as it was.
The writer puts the tags in FFmpeg's order (W H F I A C, then X tags in their original
order) and ignores per-frame parameters, so a file FFmpeg wrote round-trips byte for byte.
"""

from __future__ import annotations

import mmap
import os
import re
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch

from codeclab.bitstream.container import MAX_FRAMES, ColorFormat, Range
from codeclab.errors import InputError
from codeclab.io.files import atomic_write
from codeclab.io.image import check_picture_size
from codeclab.io.video import SUBSAMPLING, Video

MAGIC = b"YUV4MPEG2"
FRAME = b"FRAME"
#: Longest header or FRAME line accepted; real ones are under 100 bytes.
MAX_LINE = 4096

_C_TAG = re.compile(r"(?P<format>420|422|444)(?:(?P<siting>jpeg|mpeg2|paldv)|p(?P<depth>\d+))?"
                    r"|mono(?P<mono_depth>\d+)?")
_FORMATS = {"420": ColorFormat.YUV420, "422": ColorFormat.YUV422, "444": ColorFormat.YUV444}
_SITINGS = {"jpeg": "center", "mpeg2": "left", "paldv": "topleft"}
_RANGES = {"FULL": Range.FULL, "LIMITED": Range.LIMITED}


def parse_c_tag(value: str) -> tuple[ColorFormat, int]:
    """``"420mpeg2"`` -> (YUV420, 8); ``"444p10"`` -> (YUV444, 10); ``"mono"`` -> (GRAY, 8)."""
    match = _C_TAG.fullmatch(value)
    if match is None:
        raise InputError(f"unsupported Y4M colour space C{value}")
    depth = match["depth"] or match["mono_depth"]
    bit_depth = int(depth) if depth else 8
    if not 8 <= bit_depth <= 16:
        raise InputError(f"unsupported Y4M bit depth in C{value}")
    fmt = _FORMATS[match["format"]] if match["format"] else ColorFormat.GRAY
    return fmt, bit_depth


def c_tag(color_format: ColorFormat, bit_depth: int) -> str:
    """The C tag FFmpeg writes for a format and depth (8-bit 4:2:0 as 420jpeg)."""
    if color_format == ColorFormat.GRAY:
        return "mono" if bit_depth == 8 else f"mono{bit_depth}"
    names = {ColorFormat.YUV420: "420", ColorFormat.YUV422: "422", ColorFormat.YUV444: "444"}
    if color_format not in names:
        raise InputError(f"Y4M cannot hold {ColorFormat(color_format).name} pictures")
    if bit_depth == 8:
        return "420jpeg" if color_format == ColorFormat.YUV420 else names[color_format]
    return f"{names[color_format]}p{bit_depth}"


def chroma_siting(tags: dict[str, str]) -> str:
    """The chroma siting a Y4M C tag states: "center" (default), "left" or "topleft"."""
    match = _C_TAG.fullmatch(tags.get("C", ""))
    return _SITINGS.get(match["siting"], "center") if match and match["siting"] else "center"


def _parse_ratio(value: str, what: str) -> Fraction:
    num, sep, den = value.partition(":")
    if not (sep and num.isdigit() and den.isdigit() and int(num) > 0 and int(den) > 0):
        raise InputError(f"bad Y4M {what} {value!r} (expected num:den, both positive)")
    return Fraction(int(num), int(den))


def _plane_shapes(color_format: ColorFormat, height: int, width: int) -> list[tuple[int, int]]:
    if color_format == ColorFormat.GRAY:
        return [(height, width)]
    sx, sy = SUBSAMPLING[color_format]
    chroma = (-(-height // sy), -(-width // sx))
    return [(height, width), chroma, chroma]


def parse_header(line: bytes) -> dict:
    """The fields of a header line (without its newline): a dict of Video keyword arguments
    plus "height", "width"; raises InputError on anything malformed."""
    try:
        text = line.decode("ascii")
    except UnicodeDecodeError:
        raise InputError("Y4M header is not ASCII text") from None
    tokens = text.split(" ")
    if tokens[0] != MAGIC.decode():
        raise InputError("not a Y4M file (no YUV4MPEG2 signature)")
    width = height = None
    fps, rng, tags = Fraction(25), Range.UNSPECIFIED, {}
    for token in tokens[1:]:
        if not token:
            continue  # tolerate doubled spaces
        key, value = token[0], token[1:]
        if key in ("W", "H"):
            if not value.isdigit():
                raise InputError(f"bad Y4M size tag {token!r}")
            if key == "W":
                width = int(value)
            else:
                height = int(value)
        elif key == "F":
            fps = _parse_ratio(value, "frame rate")
        elif key == "X":
            name, _, tag_value = token.partition("=")
            tags[name] = tag_value
            if name == "XCOLORRANGE":
                rng = _RANGES.get(tag_value.upper(), Range.UNSPECIFIED)
        else:
            tags[key] = value  # I, A, C and any tag unknown to us, kept as written
    if width is None or height is None:
        raise InputError("Y4M header lacks its W or H tag")
    check_picture_size(width, height, "Y4M header")
    color_format, bit_depth = parse_c_tag(tags.get("C", "420jpeg"))
    return dict(width=width, height=height, fps=fps, color_format=color_format,
                bit_depth=bit_depth, range=rng, tags=tags)


def _frame_offsets(data, start: int, frame_size: int, max_frames: int | None, name: str) -> list[int]:
    """Byte offset of each frame's samples, after checking its FRAME line and its length."""
    offsets, pos, end = [], start, len(data)
    limit = MAX_FRAMES if max_frames is None else min(max_frames, MAX_FRAMES)
    while pos < end and len(offsets) < limit:
        if data[pos:pos + len(FRAME)] != FRAME:
            raise InputError(f"{name}: frame {len(offsets)}: no FRAME marker at byte {pos}")
        newline = data.find(b"\n", pos, pos + MAX_LINE)
        if newline < 0:
            raise InputError(f"{name}: frame {len(offsets)}: FRAME line without an end at byte {pos}")
        pos = newline + 1
        if end - pos < frame_size:
            raise InputError(f"{name}: frame {len(offsets)} is truncated "
                             f"({end - pos} of {frame_size} bytes)")
        offsets.append(pos)
        pos += frame_size
    if max_frames is None and pos < end:
        raise InputError(f"{name}: more than {MAX_FRAMES} frames")
    return offsets


def _decode(data, name: str, max_frames: int | None) -> Video:
    newline = data.find(b"\n", 0, MAX_LINE)
    if data[:len(MAGIC)] != MAGIC:
        raise InputError(f"{name}: not a Y4M file (no YUV4MPEG2 signature)")
    if newline < 0:
        raise InputError(f"{name}: Y4M header line has no end")
    try:
        fields = parse_header(bytes(data[:newline]))
    except InputError as exc:
        raise InputError(f"{name}: {exc}") from None
    height, width = fields.pop("height"), fields.pop("width")
    shapes = _plane_shapes(fields["color_format"], height, width)
    dtype = np.dtype(np.uint8) if fields["bit_depth"] == 8 else np.dtype("<u2")
    sizes = [h * w * dtype.itemsize for h, w in shapes]
    offsets = _frame_offsets(data, newline + 1, sum(sizes), max_frames, name)
    if not offsets:
        raise InputError(f"{name}: Y4M file holds no frames")
    native = np.uint8 if fields["bit_depth"] == 8 else np.uint16  # stored little-endian
    planes = [np.empty((len(offsets), h, w), dtype=native) for h, w in shapes]
    for t, offset in enumerate(offsets):
        for plane, (h, w), size in zip(planes, shapes, sizes):
            plane[t] = np.frombuffer(data, dtype, h * w, offset).reshape(h, w)
            offset += size
    if fields["bit_depth"] > 8:
        peak = max(int(p.max()) for p in planes)
        if peak >= 1 << fields["bit_depth"]:
            raise InputError(f"{name}: sample value {peak} exceeds {fields['bit_depth']} bits")
    tensors = [torch.from_numpy(p) for p in planes] + [None, None]
    return Video(tensors[0], tensors[1], tensors[2], **fields)


def read_y4m(path_or_bytes: str | os.PathLike | bytes, *, max_frames: int | None = None) -> Video:
    """Read a Y4M file (a path, or its bytes) into a :class:`Video`; ``max_frames`` caps the frames read.

    Files are memory-mapped, so only the frames read are touched.
    """
    if max_frames is not None and max_frames < 1:
        raise InputError(f"max_frames must be positive, got {max_frames}")
    if isinstance(path_or_bytes, (bytes, bytearray, memoryview)):
        return _decode(bytes(path_or_bytes), "Y4M data", max_frames)
    path = Path(path_or_bytes)
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size == 0:
                raise InputError(f"{path}: the file is empty")
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as data:
                return _decode(data, str(path), max_frames)
    except FileNotFoundError:
        raise InputError(f"{path}: the file does not exist") from None
    except IsADirectoryError:
        raise InputError(f"{path}: is a directory") from None
    except PermissionError:
        raise InputError(f"{path}: permission denied") from None
    except OSError as exc:
        raise InputError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _describes(value: str, color_format: ColorFormat, bit_depth: int) -> bool:
    try:
        return parse_c_tag(value) == (color_format, bit_depth)
    except InputError:
        return False


def header_line(video: Video) -> bytes:
    """The header line (with newline) :func:`write_y4m` writes for ``video``."""
    tags = dict(video.tags)
    fmt = ColorFormat(video.color_format)
    # Keep the stored C tag (and its chroma siting) while it still describes the planes.
    c_value = tags.pop("C", None)
    if c_value is None or not _describes(c_value, fmt, video.bit_depth):
        c_value = c_tag(fmt, video.bit_depth)
        if fmt == ColorFormat.GRAY:
            tags.pop("XYSCSS", None)  # FFmpeg's restatement of C, which it omits for mono
        elif "XYSCSS" in tags:
            tags["XYSCSS"] = c_value.upper()
    if video.range in _RANGES.values():
        tags["XCOLORRANGE"] = "FULL" if video.range == Range.FULL else "LIMITED"
    else:
        tags.pop("XCOLORRANGE", None)
    fps = Fraction(video.fps)
    words = [MAGIC.decode(), f"W{video.width}", f"H{video.height}", f"F{fps.numerator}:{fps.denominator}",
             f"I{tags.pop('I', 'p')}"]
    if "A" in tags:
        words.append(f"A{tags.pop('A')}")
    words.append(f"C{c_value}")
    for key, value in tags.items():
        words.append(key if key.startswith("X") and not value else
                     f"{key}={value}" if key.startswith("X") else f"{key}{value}")
    return (" ".join(words) + "\n").encode("ascii")


def _check_video(video: Video) -> list[torch.Tensor]:
    """The planes to write, after checking their shapes, dtype and sample range."""
    fmt = ColorFormat(video.color_format)
    if fmt != ColorFormat.GRAY and fmt not in SUBSAMPLING:
        raise InputError(f"Y4M cannot hold {fmt.name} pictures")
    if video.y.dim() != 3 or video.num_frames == 0:
        raise InputError(f"Video.y must be (T, H, W) with T >= 1, got {tuple(video.y.shape)}")
    planes = [video.y] if fmt == ColorFormat.GRAY else [video.y, video.cb, video.cr]
    if any(p is None for p in planes):
        raise InputError(f"a {fmt.name} video needs Cb and Cr planes")
    if not 8 <= video.bit_depth <= 16:
        raise InputError(f"Y4M holds 8..16-bit samples, not {video.bit_depth}")
    if not Fraction(video.fps) > 0:
        raise InputError(f"frame rate must be positive, got {video.fps}")
    expected = [(video.num_frames, h, w) for h, w in _plane_shapes(fmt, video.height, video.width)]
    for plane, shape in zip(planes, expected):
        if tuple(plane.shape) != shape:
            raise InputError(f"{fmt.name} plane of shape {tuple(plane.shape)}, expected {shape}")
        want = torch.uint8 if video.bit_depth == 8 else torch.uint16
        if plane.dtype != want:
            raise InputError(f"{video.bit_depth}-bit planes must be {want}, got {plane.dtype}")
    if video.bit_depth not in (8, 16):
        peak = max(int(p.to(torch.int32).max()) for p in planes)
        if peak >= 1 << video.bit_depth:
            raise InputError(f"sample value {peak} exceeds {video.bit_depth} bits")
    return planes


def y4m_bytes(video: Video) -> bytes:
    """The whole Y4M file of ``video``, built in one array (no per-frame Python joins)."""
    planes = _check_video(video)
    header = header_line(video)
    t = video.num_frames
    dtype = np.dtype("<u2") if video.bit_depth > 8 else np.dtype(np.uint8)
    frame_bytes = [p.detach().cpu().numpy().astype(dtype, copy=False).view(np.uint8).reshape(t, -1)
                   for p in planes]
    marker = np.frombuffer(FRAME + b"\n", np.uint8)
    body = np.concatenate([np.broadcast_to(marker, (t, marker.size))] + frame_bytes, axis=1)
    return header + body.tobytes()


def write_y4m(path: str | os.PathLike, video: Video) -> None:
    """Write ``video`` as a Y4M file, atomically (no partial file on failure)."""
    data = y4m_bytes(video)
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
