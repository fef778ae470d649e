"""The picture-filter hook: a filter's side information travels in the payload and the
decoder applies the filter the parameters name, bit-exact with the encoder."""

from __future__ import annotations

import numpy as np
import pytest

from codeclab.classic.codec import ClassicCodec
from codeclab.classic.common.parameters import PictureParams
from codeclab.classic.common.tools import filter_for_id, join_side_info, register_filter, split_side_info
from codeclab.errors import BitstreamError
from codeclab.io.image import read_image

TEST_TOOL = 250


class OffsetFilter:
    """Adds one per-picture luma offset, the rounded mean error the encoder measures."""

    tool_id = TEST_TOOL

    def encode(self, recon, original, qp, size):
        offset = int(np.clip(np.round(np.mean(original[0] - recon[0])), -8, 7))
        side_info = bytes([offset & 0xFF])
        return self.decode(recon, qp, side_info, size), side_info

    def decode(self, recon, qp, side_info, size):
        if len(side_info) != 1:
            raise BitstreamError("offset filter: one byte of side information expected")
        offset = side_info[0] - 256 * (side_info[0] > 127)
        return np.clip(recon[0] + offset, 0, 255).astype(np.int32), recon[1], recon[2]


register_filter(TEST_TOOL, OffsetFilter)


class OffsetFilterCodec(ClassicCodec):
    name = "classic-test-filter"  # not registered: only this test uses it
    picture_filter = OffsetFilter()


def test_params_round_trip_with_and_without_filter():
    for tool in (0, 7):
        params = PictureParams(qp=30, picture_filter=tool)
        assert PictureParams.unpack(params.pack()) == params
    assert len(PictureParams(qp=30).pack()) == 5  # unchanged format without a filter


def test_params_reject_inconsistent_filter_fields():
    packed = bytearray(PictureParams(qp=30, picture_filter=3).pack())
    with pytest.raises(BitstreamError):
        PictureParams.unpack(bytes(packed[:5]) + b"\x00")
    packed[2] &= ~4
    with pytest.raises(BitstreamError):
        PictureParams.unpack(bytes(packed))


def test_unknown_filter_id_is_a_bitstream_error():
    with pytest.raises(BitstreamError, match="unknown picture filter"):
        filter_for_id(249)


def test_side_info_framing():
    assert split_side_info(join_side_info(b"abc", b"xy")) == (b"abc", b"xy")
    for size, length_bytes in ((0, 1), (127, 1), (128, 2), (16383, 2), (16384, 3), (300_000, 3)):
        data = bytes(range(256)) * (size // 256) + bytes(size % 256)
        payload = join_side_info(data, b"\x07")
        assert len(payload) == length_bytes + size + 1 and split_side_info(payload) == (data, b"\x07")
    assert join_side_info(b"a" * 300, b"")[:2] == bytes([0x80 | (300 & 0x7F), 300 >> 7])  # LEB128, low bits first
    for damaged in (b"", b"\x80", b"\x05ab", b"\xff" * 6, b"\x81\x01" + b"a" * 128):
        with pytest.raises(BitstreamError):
            split_side_info(damaged)


def test_filtered_codec_decodes_bit_exact(sample_image_path):
    image = read_image(sample_image_path)[:, :64, :96].contiguous()
    codec = OffsetFilterCodec()
    encoded = codec.encode_image(image, 37)
    assert PictureParams.unpack(encoded.params).picture_filter == TEST_TOOL
    plain = ClassicCodec().configure(bit_depth=8).encode_image(image, 37)  # picture filters see 8-bit samples
    picture_data, side_info = split_side_info(encoded.payload)
    assert picture_data == plain.payload and len(side_info) == 1
    header = codec.image_header(image)
    assert (codec.decode_image(header, encoded.params, encoded.payload) == encoded.recon).all()
    # The plain classic decoder reads the filter id from the parameters and applies it too.
    assert (ClassicCodec().decode_image(header, encoded.params, encoded.payload) == encoded.recon).all()


def test_damaged_side_info_is_a_bitstream_error(sample_image_path):
    image = read_image(sample_image_path)[:, :64, :64].contiguous()
    codec = OffsetFilterCodec()
    encoded = codec.encode_image(image, 37)
    with pytest.raises(BitstreamError):
        codec.decode_image(codec.image_header(image), encoded.params, encoded.payload + b"\x00")
