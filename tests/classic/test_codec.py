"""The classic codec end to end: bit-exact decoding, syntax round trips, damaged input."""

from __future__ import annotations

import hashlib
import zlib

import numpy as np
import pytest
import torch

from codeclab import api
from codeclab.bitstream import container
from codeclab.classic.common import parameters, syntax
from codeclab.errors import BitstreamError
from codeclab.eval.metrics import psnr_rgb
from codeclab.io import read_image


def md5(image: torch.Tensor) -> str:
    return hashlib.md5(image.contiguous().numpy().tobytes()).hexdigest()


@pytest.fixture(scope="module")
def crop(samples_dir):
    return read_image(samples_dir / "kodim23_crop256.png")


@pytest.fixture(scope="module")
def encodings(crop):
    return {qp: api.encode_image(crop, "classic", qp) for qp in (12, 27, 42)}


@pytest.mark.parametrize("qp", [12, 27, 42])
def test_decoder_reproduces_encoder_reconstruction(encodings, qp):
    result = encodings[qp]
    assert md5(api.decode(result.data)) == md5(result.recon)


def test_rate_and_quality_follow_qp(crop, encodings):
    sizes = [len(encodings[qp].data) for qp in (12, 27, 42)]
    quality = [psnr_rgb(crop, encodings[qp].recon) for qp in (12, 27, 42)]
    assert sizes[0] > sizes[1] > sizes[2]
    assert quality[0] > quality[1] > quality[2]
    assert quality[1] > 35  # a 256x256 Kodak crop at QP 27


def test_odd_sizes_and_other_crops_are_bit_exact(samples_dir):
    image = read_image(samples_dir / "kodim05_crop256.png")[:, 3:100, 7:170].contiguous()
    result = api.encode_image(image, "classic", 32)
    decoded = api.decode(result.data)
    assert decoded.shape == image.shape
    assert torch.equal(decoded, result.recon)
    assert psnr_rgb(image, decoded) > 25


def test_flat_picture_costs_almost_nothing():
    grey = torch.full((3, 64, 64), 128, dtype=torch.uint8)
    result = api.encode_image(grey, "classic", 32)
    assert len(result.data) < 80
    assert torch.equal(api.decode(result.data), grey)


def test_mode_syntax_round_trips():
    for left in range(-1, 35):
        for above in range(-1, 35, 3):
            mpm = syntax.most_probable_modes(left, above)
            assert len(set(mpm)) == 3
            for mode in range(35):
                is_mpm, index = syntax.mode_to_syntax(mode, *mpm)
                assert 0 <= index < (3 if is_mpm else 32)
                assert syntax.mode_from_syntax(is_mpm, index, *mpm) == mode


def test_params_round_trip_and_reject_garbage():
    params = parameters.PictureParams(qp=37)
    assert parameters.PictureParams.unpack(params.pack()) == params
    for bad in (b"", b"\x40\x02\x03\x06\x03", b"\x20\x07\x03\x06\x03", b"\x20\x02\x03\x05\x03"):
        with pytest.raises(BitstreamError):
            parameters.PictureParams.unpack(bad)


def _reseal(data: bytes, payload: bytes) -> bytes:
    """The same file with another payload, CRC recomputed (so only the decoder can object)."""
    parsed = container.parse(data)
    return container.serialize(parsed.header, parsed.params, payload)


def test_damaged_payloads_raise_or_decode(encodings):
    data = encodings[27].data
    payload = container.parse(data).payload
    rng = np.random.default_rng(0)
    outcomes = {"error": 0, "picture": 0}
    for trial in range(40):
        damaged = bytearray(payload)
        for _ in range(1 + trial % 4):
            position = int(rng.integers(len(damaged)))
            damaged[position] ^= 1 << int(rng.integers(8))
        try:
            picture = api.decode(_reseal(data, bytes(damaged)))
            assert picture.shape == (3, 256, 256)
            outcomes["picture"] += 1
        except BitstreamError:
            outcomes["error"] += 1
    assert outcomes["error"] > 0


@pytest.mark.parametrize("payload", [b"", b"\x00", b"\xff" * 7, bytes(range(256)) * 4])
def test_truncated_and_garbage_payloads_raise(encodings, payload):
    with pytest.raises(BitstreamError):
        api.decode(_reseal(encodings[42].data, payload))
    truncated = container.parse(encodings[42].data).payload[:-3]
    with pytest.raises(BitstreamError):
        api.decode(_reseal(encodings[42].data, truncated))


def test_crc_protects_the_payload(encodings):
    data = bytearray(encodings[42].data)
    data[60] ^= 0x10
    with pytest.raises(BitstreamError):
        api.decode(bytes(data))
    assert zlib.crc32(bytes(data[:-4])) != int.from_bytes(data[-4:], "big")


@pytest.mark.parametrize("name", ["kodim07.png", "kodim20.png"])
def test_kodak_pictures_are_bit_exact(kodak_dir, name):
    image = read_image(kodak_dir / name)
    result = api.encode_image(image, "classic", 37)
    assert md5(api.decode(result.data)) == md5(result.recon)


def test_info_draws_partition_modes_and_bits(tmp_path, encodings):
    from PIL import Image

    from codeclab.cli import main

    clb = tmp_path / "crop.clb"
    clb.write_bytes(encodings[27].data)
    picture = tmp_path / "syntax.png"
    assert main(["info", str(clb), "--show", "partition,modes,bits", "-o", str(picture)]) == 0
    with Image.open(picture) as drawn:
        assert drawn.size == (512, 512)  # a 256x256 picture is drawn at twice its size
    assert main(["info", str(clb), "--show", "colours", "-o", str(tmp_path / "x.png")]) == 2
