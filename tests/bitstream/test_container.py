"""The .clb container: round trip, and refusal of damaged or hostile files."""

from __future__ import annotations

import struct
import zlib
from fractions import Fraction

import pytest

from codeclab.bitstream import container
from codeclab.bitstream.container import ColorFormat, Matrix, Range, StreamHeader
from codeclab.errors import BitstreamError

HEADER = StreamHeader(codec_id=0x0101, codec_version=3, width=768, height=512, frame_count=1,
                      color_format=ColorFormat.RGB, bit_depth=8)
VIDEO_HEADER = StreamHeader(codec_id=0x0110, codec_version=1, width=176, height=144, frame_count=300,
                            color_format=ColorFormat.YUV420, bit_depth=10, matrix=Matrix.BT709,
                            range=Range.LIMITED, fps=Fraction(30000, 1001))


@pytest.mark.parametrize("header", [HEADER, VIDEO_HEADER])
def test_round_trip(header):
    data = container.serialize(header, b"params", b"\x00payload\xff" * 100)
    parsed = container.parse(data)
    assert parsed.header == header
    assert parsed.params == b"params"
    assert parsed.payload == b"\x00payload\xff" * 100


def test_layout_is_the_documented_one():
    data = container.serialize(HEADER, b"", b"xyz")
    assert data[:4] == b"CLAB" and data[4] == container.FORMAT_VERSION
    assert struct.unpack(">HH", data[6:10]) == (0x0101, 3)
    assert struct.unpack(">III", data[10:22]) == (768, 512, 1)
    assert len(data) == container.MIN_SIZE + 3
    assert struct.unpack(">I", data[-4:])[0] == zlib.crc32(data[:-4])


def reseal(body: bytes) -> bytes:
    """Recompute the CRC, as a hostile writer would."""
    return body + struct.pack(">I", zlib.crc32(body))


def test_every_single_bit_flip_is_detected():
    data = container.serialize(HEADER, b"pp", b"payload")
    for i in range(len(data) * 8):
        damaged = bytearray(data)
        damaged[i // 8] ^= 1 << (i % 8)
        with pytest.raises(BitstreamError):
            container.parse(bytes(damaged))


@pytest.mark.parametrize("cut", range(0, 60, 3))
def test_every_truncation_is_refused(cut):
    data = container.serialize(HEADER, b"pp", b"payload" * 3)
    with pytest.raises(BitstreamError):
        container.parse(data[:cut] if cut < len(data) - 1 else data[:-1])


def test_empty_and_foreign_files():
    with pytest.raises(BitstreamError, match="empty"):
        container.parse(b"")
    with pytest.raises(BitstreamError, match="magic"):
        container.parse(b"\x89PNG\r\n\x1a\n" + bytes(100))


def test_absurd_dimensions_with_a_valid_crc_are_refused_before_allocation():
    data = container.serialize(HEADER, b"", b"tiny")
    body = bytearray(data[:-4])
    struct.pack_into(">II", body, 10, 100_000, 100_000)
    with pytest.raises(BitstreamError, match="100000x100000"):
        container.parse(reseal(bytes(body)))


def test_payload_longer_than_the_file_is_refused():
    data = container.serialize(HEADER, b"", b"tiny")
    body = bytearray(data[:-4])
    struct.pack_into(">Q", body, container._FIXED.size + 2, 1 << 40)
    with pytest.raises(BitstreamError, match="payload length"):
        container.parse(reseal(bytes(body)))


def test_params_longer_than_the_file_are_refused():
    data = container.serialize(HEADER, b"", b"tiny")
    body = bytearray(data[:-4])
    struct.pack_into(">H", body, container._FIXED.size, 65535)
    with pytest.raises(BitstreamError, match="parameter block"):
        container.parse(reseal(bytes(body)))


@pytest.mark.parametrize("offset, fmt, value, match", [
    (4, ">B", 99, "container version"),
    (22, ">B", 17, "invalid header field"),
    (23, ">B", 3, "bit depth"),
    (18, ">I", 0, "frame count"),
    (14, ">I", 0, "picture size"),
])
def test_invalid_fields_are_refused(offset, fmt, value, match):
    body = bytearray(container.serialize(HEADER, b"", b"x")[:-4])
    struct.pack_into(fmt, body, offset, value)
    with pytest.raises(BitstreamError, match=match):
        container.parse(reseal(bytes(body)))
