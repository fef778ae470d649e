"""``classic-nn`` through the public API: bit-exact round trips with the shipped filter, on 1
or 2 threads, decodable by the plain classic decoder, never worse than classic, and damaged
filter data is a BitstreamError."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab import api
from codeclab.bitstream.container import parse
from codeclab.classic.codec import ClassicCodec
from codeclab.classic.common.parameters import PictureParams
from codeclab.classic.common.rgb import rgb_to_planes
from codeclab.classic.common.tools import join_side_info, split_side_info
from codeclab.codec import codec_for_id, get_codec
from codeclab.errors import BitstreamError
from codeclab.hybrid.codec import ClassicNIPCodec, ClassicNNCodec
from codeclab.hybrid.nnlf.syntax import NEURAL_FILTER_ID
from codeclab.io.image import read_image


@pytest.fixture(scope="module")
def crop(sample_image_path) -> torch.Tensor:
    return read_image(sample_image_path)[:, 32:160, 0:192].contiguous()


@pytest.fixture(scope="module")
def coded(crop):
    return api.encode_image(crop, "classic-nn", 37)


def test_registered_beside_classic():
    assert isinstance(get_codec("classic-nn"), ClassicNNCodec)
    assert isinstance(codec_for_id(0x0002), ClassicNNCodec)
    assert ClassicCodec.picture_filter is None and not ClassicCodec.neural_intra  # classic stays pure
    assert isinstance(get_codec("classic-nip"), ClassicNIPCodec) and get_codec("classic-nip").picture_filter is None


def test_round_trip_is_bit_exact_and_names_the_tool(coded):
    assert torch.equal(api.decode(coded.data), coded.recon)
    params = PictureParams.unpack(parse(coded.data).params)
    assert params.picture_filter == NEURAL_FILTER_ID and params.neural_intra


def test_decoded_the_same_on_1_and_2_threads(coded):
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = api.decode(coded.data)
        torch.set_num_threads(2)
        two = api.decode(coded.data)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one, coded.recon) and torch.equal(two, coded.recon)


def test_decoded_the_same_on_the_float_path(coded, monkeypatch):
    """A machine without exact 8-bit convolutions decodes the shipped program on the float
    path: the same picture as the encoder's."""
    monkeypatch.setenv("CODECLAB_INT8", "0")
    assert torch.equal(api.decode(coded.data), coded.recon)


def test_the_plain_classic_decoder_applies_the_filter_too(crop, coded):
    parsed = parse(coded.data)
    decoded = ClassicCodec().decode_image(parsed.header, parsed.params, parsed.payload)
    assert torch.equal(decoded, coded.recon)


def test_never_worse_than_classic_at_the_same_qp(crop, coded):
    """Per component the filter is only kept where it lowers the error, and the picture data
    is that of the classic codec with the same intra tools (classic-nip)."""
    plain = api.encode_image(crop, "classic-nip", 37)
    picture_data, side_info = split_side_info(parse(coded.data).payload)
    assert picture_data == parse(plain.data).payload and len(side_info) >= 1
    original = rgb_to_planes(crop, PictureParams(qp=37).matrix)
    as_planes = lambda image: rgb_to_planes(image, PictureParams(qp=37).matrix)
    error = lambda image: [float(((a.astype(np.int64) - b) ** 2).sum()) for a, b in zip(as_planes(image), original)]
    assert sum(error(coded.recon)) <= sum(error(plain.recon))


def test_damaged_filter_data_is_a_bitstream_error(coded):
    parsed = parse(coded.data)
    picture_data, side_info = split_side_info(parsed.payload)
    codec = ClassicNNCodec()
    assert side_info[0], "the filter should be on in this crop"
    for bad in (side_info[:3], side_info + b"\xff", bytes([side_info[0] ^ 0x80]) + side_info[1:],
                side_info[:2] + bytes([side_info[2] ^ 0xff]) + side_info[3:]):
        payload = join_side_info(picture_data, bad)
        with pytest.raises(BitstreamError):
            codec.decode_image(parsed.header, parsed.params, payload)


def test_a_sequence_round_trip_filters_every_picture(sample_y4m_path):
    """Low-delay P video: each picture is filtered before it becomes a reference, and the
    decoder follows bit for bit."""
    from codeclab.io.y4m import read_y4m

    video = read_y4m(sample_y4m_path, max_frames=2)
    coded = api.encode_video(video, "classic-nn", 37, intra_period=2)
    decoded = api.decode(coded.data)
    assert all(torch.equal(getattr(decoded, p), getattr(coded.recon, p)) for p in ("y", "cb", "cr"))
    plain = api.encode_video(video, "classic", 37, intra_period=2)
    assert not torch.equal(coded.recon.y, plain.recon.y)  # the filter did change the pictures
