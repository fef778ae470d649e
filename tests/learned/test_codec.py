"""The learned codecs through the container and the API: round trips, damage, missing weights."""

from __future__ import annotations

import pytest
import torch

from codeclab import api
from codeclab.bitstream import container
from codeclab.cli import main as cli_main
from codeclab.codec import codec_for_id, get_codec
from codeclab.errors import BitstreamError, InputError, UnsupportedError
from codeclab.io import read_image
from codeclab.learned.codec import QUALITY_STEPS, LearnedCodec, pack_payload, quality_lambda, unpack_payload
from codeclab.learned.gain import DEFAULT_LAMBDAS
from codeclab.learned.registry import build_model
from codeclab.learned.weights import has_pretrained

CODECS = ("factorized", "hyperprior", "mean-scale", "checkerboard", "learned")


def tiny_codec(name: str, seed: int = 0) -> LearnedCodec:
    cls = type(get_codec(name))
    torch.manual_seed(seed)
    model = build_model(cls.model_name, N=8, M=12)
    with torch.no_grad():
        model.g_a[-1].weight.mul_(30.0)  # latents spanning several steps, as trained ones do
    model.update()
    return cls(model=model)


@pytest.fixture(scope="module")
def image(samples_dir):
    return read_image(samples_dir / "kodim15_crop256.png")[:, :100, :150]  # not a multiple of 64


def decode_with(codec: LearnedCodec, data: bytes) -> torch.Tensor:
    parsed = container.parse(data)
    return codec.decode_image(parsed.header, parsed.params, parsed.payload)


@pytest.mark.parametrize("name", CODECS)
def test_round_trip_decodes_the_encoders_reconstruction(name, image):
    codec = tiny_codec(name)
    result = api.encode_image(image, codec, 5.25)
    assert result.recon.shape == image.shape and result.recon.dtype == torch.uint8
    assert torch.equal(decode_with(codec, result.data), result.recon)
    info = codec.describe_params(container.parse(result.data).params)
    assert info["quality"] == 5.25 and info["model"] == type(codec).model_name


def test_quality_is_continuous_and_buys_bits(image):
    codec = tiny_codec("mean-scale")
    sizes = [len(api.encode_image(image, codec, q).data) for q in (1.0, 3.3, 6.7, 8.0)]
    assert sizes == sorted(sizes) and sizes[0] < sizes[-1]
    assert codec.check_quality(4.1234) == round(4.1234 * QUALITY_STEPS) / QUALITY_STEPS
    with pytest.raises(InputError, match="outside"):
        codec.check_quality(8.5)


def test_quality_maps_onto_the_lambda_ladder():
    assert quality_lambda(1.0, DEFAULT_LAMBDAS) == pytest.approx(DEFAULT_LAMBDAS[0])
    assert quality_lambda(8.0, DEFAULT_LAMBDAS) == pytest.approx(DEFAULT_LAMBDAS[-1])
    assert quality_lambda(4.0, DEFAULT_LAMBDAS) == pytest.approx(DEFAULT_LAMBDAS[3])


def test_payload_syntax_round_trip_and_damage():
    strings = [b"abc", b"", b"\x00" * 70]
    payload = pack_payload(strings, (3, 5))
    assert unpack_payload(payload, 3) == (strings, (3, 5))
    with pytest.raises(BitstreamError, match="holds 3 streams"):
        unpack_payload(payload, 2)
    for bad in (payload[:-1], payload + b"x", payload[:4], b""):
        with pytest.raises(BitstreamError):
            unpack_payload(bad, 3)


def test_other_weights_or_damaged_streams_are_refused(image):
    codec = tiny_codec("checkerboard")
    data = api.encode_image(image, codec, 4).data
    parsed = container.parse(data)
    with pytest.raises(BitstreamError, match="other weights"):
        decode_with(tiny_codec("checkerboard", seed=1), data)
    wrong_size = container.StreamHeader(**{**parsed.header.__dict__, "width": 300})
    with pytest.raises(BitstreamError, match="does not match"):
        codec.decode_image(wrong_size, parsed.params, parsed.payload)
    with pytest.raises(BitstreamError, match="parameter block"):
        codec.decode_image(parsed.header, parsed.params[:-1], parsed.payload)
    flipped = bytearray(parsed.payload)
    flipped[len(flipped) // 2] ^= 0x40
    try:  # a flipped bit in a stream: an error, or at worst another picture -- never a crash
        decoded = codec.decode_image(parsed.header, parsed.params, bytes(flipped))
        assert decoded.shape == image.shape
    except BitstreamError:
        pass


def test_a_codec_refuses_another_architecture():
    with pytest.raises(InputError, match="codes CheckerboardMeanScale"):
        type(get_codec("learned"))(model=build_model("hyperprior", N=8, M=12))


@pytest.mark.skipif(has_pretrained("checkerboard"), reason="weights are shipped: nothing is missing")
def test_missing_weights_are_one_clear_error(image, capsys):
    data = api.encode_image(image, tiny_codec("learned"), 4).data
    with pytest.raises(UnsupportedError, match="no trained weights for learned model 'checkerboard'"):
        api.decode(data)  # the registry's codec has only the (missing) shipped weights
    assert codec_for_id(0x0204).name == "learned"
    assert cli_main(["codecs"]) == 0
    listing = capsys.readouterr().out
    assert all(f"\n{name} " in listing for name in CODECS) and "no trained weights yet" in listing


def test_shipped_weights_path_through_the_registry_and_the_command_line(image, tmp_path, monkeypatch, samples_dir):
    """With weights where the package keeps them, ``--codec learned`` works end to end."""
    from codeclab.learned import weights
    from codeclab.learned.weights import save_pretrained

    monkeypatch.setattr(weights, "WEIGHTS_DIR", tmp_path / "weights")
    model = tiny_codec("learned").model
    save_pretrained(model, tmp_path / "weights" / "checkerboard", {"model": "checkerboard",
                                                                   "model_args": {"N": 8, "M": 12}})
    result = api.encode_image(image, "learned", 3.5)  # a fresh codec from the registry
    assert torch.equal(api.decode(result.data), result.recon)
    assert "weights shipped" in get_codec("learned").description
    source = samples_dir / "kodim05_crop256.png"
    assert cli_main(["encode", str(source), "-o", str(tmp_path / "a.clb"), "--codec", "learned", "-q", "6",
                     "--recon", str(tmp_path / "recon.png")]) == 0
    assert cli_main(["decode", str(tmp_path / "a.clb"), "-o", str(tmp_path / "b.png")]) == 0
    assert torch.equal(read_image(tmp_path / "b.png"), read_image(tmp_path / "recon.png"))
