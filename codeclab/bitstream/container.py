"""The ``.clb`` container that every CodecLab codec writes.

Layout (all integers big-endian; sizes in bytes)::

    offset size field
    0      4    magic            b"CLAB"
    4      1    format_version   FORMAT_VERSION
    5      1    reserved         0
    6      2    codec_id         which codec made the payload (see codeclab.codec registry)
    8      2    codec_version    the codec's own bitstream version
    10     4    width            luma / RGB width in pixels
    14     4    height
    18     4    frame_count      1 for a still image
    22     1    color_format     ColorFormat: GRAY, YUV420, YUV422, YUV444 or RGB
    23     1    bit_depth        8..16
    24     1    matrix           Matrix: unspecified, BT.601, BT.709
    25     1    range            Range: unspecified, limited, full
    26     4    fps_num          frame rate numerator (0 for stills)
    30     4    fps_den          frame rate denominator (0 for stills)
    34     2    params_len       length of the codec parameter block
    36     P    params           codec parameters (the codec's own syntax)
    36+P   8    payload_len
    44+P   N    payload          the codec's bitstream
    44+P+N 4    crc32            zlib.crc32 of every byte before it

:func:`parse` validates the whole file before anything is allocated from its numbers: the
length must match exactly, the CRC must match, and the picture must lie within
:data:`MAX_DIMENSION`, :data:`MAX_PIXELS_PER_FRAME` and :data:`MAX_FRAMES`. A header that
claims 100000x100000 pixels is refused here, before any decoder sees it.
"""

from __future__ import annotations

import enum
import struct
import zlib
from dataclasses import dataclass
from fractions import Fraction

from codeclab.errors import BitstreamError

MAGIC = b"CLAB"
FORMAT_VERSION = 1

MAX_DIMENSION = 16384
MAX_PIXELS_PER_FRAME = 8192 * 8192
MAX_FRAMES = 100_000

_FIXED = struct.Struct(">4sBBHHIIIBBBBII")  # magic .. fps_den, 34 bytes
_PARAMS_LEN = struct.Struct(">H")
_PAYLOAD_LEN = struct.Struct(">Q")
_CRC = struct.Struct(">I")
MIN_SIZE = _FIXED.size + _PARAMS_LEN.size + _PAYLOAD_LEN.size + _CRC.size


class ColorFormat(enum.IntEnum):
    """What the decoder outputs: planes and their sampling."""

    GRAY = 0
    YUV420 = 1
    YUV422 = 2
    YUV444 = 3
    RGB = 4


class Matrix(enum.IntEnum):
    UNSPECIFIED = 0
    BT601 = 1
    BT709 = 2


class Range(enum.IntEnum):
    UNSPECIFIED = 0
    LIMITED = 1
    FULL = 2


@dataclass(frozen=True)
class StreamHeader:
    """Everything the container says about the picture(s), independent of the codec."""

    codec_id: int
    codec_version: int
    width: int
    height: int
    frame_count: int = 1
    color_format: ColorFormat = ColorFormat.RGB
    bit_depth: int = 8
    matrix: Matrix = Matrix.UNSPECIFIED
    range: Range = Range.UNSPECIFIED
    fps: Fraction | None = None

    def validate(self) -> None:
        """Raise ``BitstreamError`` unless every field is within the container's limits."""
        if not (0 <= self.codec_id < 1 << 16 and 0 <= self.codec_version < 1 << 16):
            raise BitstreamError("codec id/version out of range")
        if not (1 <= self.width <= MAX_DIMENSION and 1 <= self.height <= MAX_DIMENSION):
            raise BitstreamError(
                f"picture size {self.width}x{self.height} outside 1..{MAX_DIMENSION}")
        if self.width * self.height > MAX_PIXELS_PER_FRAME:
            raise BitstreamError(f"picture of {self.width}x{self.height} pixels is too large")
        if not 1 <= self.frame_count <= MAX_FRAMES:
            raise BitstreamError(f"frame count {self.frame_count} outside 1..{MAX_FRAMES}")
        if self.color_format not in ColorFormat.__members__.values():
            raise BitstreamError(f"unknown color format {int(self.color_format)}")
        if not 8 <= self.bit_depth <= 16:
            raise BitstreamError(f"bit depth {self.bit_depth} outside 8..16")
        if self.matrix not in Matrix.__members__.values() or self.range not in Range.__members__.values():
            raise BitstreamError("unknown colour matrix or range")
        if self.fps is not None and not (0 < self.fps.numerator < 1 << 32 and 0 < self.fps.denominator < 1 << 32):
            raise BitstreamError(f"frame rate {self.fps} out of range")


@dataclass(frozen=True)
class Container:
    """A parsed ``.clb`` file."""

    header: StreamHeader
    params: bytes
    payload: bytes


def serialize(header: StreamHeader, params: bytes, payload: bytes) -> bytes:
    """Build the bytes of a ``.clb`` file."""
    header.validate()
    if len(params) >= 1 << 16:
        raise ValueError("codec parameter block longer than 65535 bytes")
    fps_num, fps_den = (header.fps.numerator, header.fps.denominator) if header.fps else (0, 0)
    body = b"".join([
        _FIXED.pack(MAGIC, FORMAT_VERSION, 0, header.codec_id, header.codec_version,
                    header.width, header.height, header.frame_count, int(header.color_format),
                    header.bit_depth, int(header.matrix), int(header.range), fps_num, fps_den),
        _PARAMS_LEN.pack(len(params)), params,
        _PAYLOAD_LEN.pack(len(payload)), payload,
    ])
    return body + _CRC.pack(zlib.crc32(body))


def parse(data: bytes) -> Container:
    """Validate and split a ``.clb`` file; raise ``BitstreamError`` on any inconsistency."""
    data = memoryview(bytes(data) if not isinstance(data, (bytes, bytearray, memoryview)) else data)
    if len(data) == 0:
        raise BitstreamError("empty file, not a CodecLab bitstream")
    if len(data) < 4 or bytes(data[:4]) != MAGIC:
        raise BitstreamError("not a CodecLab bitstream (bad magic)")
    if len(data) < MIN_SIZE:
        raise BitstreamError(f"bitstream truncated: {len(data)} bytes, a header needs {MIN_SIZE}")
    (magic, version, _reserved, codec_id, codec_version, width, height, frames, color_format,
     bit_depth, matrix, rng, fps_num, fps_den) = _FIXED.unpack_from(data, 0)
    if version != FORMAT_VERSION:
        raise BitstreamError(f"unsupported container version {version} (this build reads {FORMAT_VERSION})")
    stored_crc, = _CRC.unpack_from(data, len(data) - 4)
    if zlib.crc32(data[:-4]) != stored_crc:
        raise BitstreamError("CRC mismatch: the file is damaged")
    pos = _FIXED.size
    params_len, = _PARAMS_LEN.unpack_from(data, pos)
    pos += _PARAMS_LEN.size
    if pos + params_len + _PAYLOAD_LEN.size + _CRC.size > len(data):
        raise BitstreamError("codec parameter block runs past the end of the file")
    params = bytes(data[pos:pos + params_len])
    pos += params_len
    payload_len, = _PAYLOAD_LEN.unpack_from(data, pos)
    pos += _PAYLOAD_LEN.size
    if pos + payload_len + _CRC.size != len(data):
        raise BitstreamError(
            f"payload length {payload_len} does not match the file ({len(data) - pos - _CRC.size} bytes left)")
    try:
        header = StreamHeader(
            codec_id=codec_id, codec_version=codec_version, width=width, height=height,
            frame_count=frames, color_format=ColorFormat(color_format), bit_depth=bit_depth,
            matrix=Matrix(matrix), range=Range(rng),
            fps=Fraction(fps_num, fps_den) if fps_den else None)
    except ValueError as exc:  # unknown enum value
        raise BitstreamError(f"invalid header field: {exc}") from None
    if fps_num and not fps_den:
        raise BitstreamError("frame rate with a zero denominator")
    header.validate()
    return Container(header, params, bytes(data[pos:pos + payload_len]))
