"""The anchor codecs: round trips, the colour path, the yardstick's numbers, failures.

Stills run on crops of the shipped samples (VVenC is slow: small crops keep the suite
fast); Kodak and the yardstick's per-image table are used when ``../shared`` is present.
"""

from __future__ import annotations

import csv
import math
import os
from pathlib import Path

import numpy as np
import pytest
import torch

from codeclab.anchors import ffmpeg_image
from codeclab.anchors.ffmpeg_run import run_ffmpeg
from codeclab.anchors.ffmpeg_video import change_bit_depth
from codeclab.bitstream.container import ColorFormat, parse, serialize
from codeclab import api
from codeclab.codec import codec_for_id, get_codec
from codeclab.errors import BitstreamError, EncoderError, InputError, UnsupportedError
from codeclab.io import read_image, read_y4m
from codeclab.io.video import Video

IMAGE_CODECS = ["jpeg", "webp", "heif", "x264", "x265", "vvenc", "svtav1", "aom"]
FFMPEG_CODECS = ["x264", "x265", "vvenc", "svtav1", "aom"]
#: (lower, higher) quality of each codec for the monotonicity check.
QUALITY_PAIRS = {"jpeg": (20, 80), "webp": (20, 80), "heif": (20, 60), "x264": (42, 27),
                 "x265": (42, 27), "vvenc": (42, 27), "svtav1": (55, 30), "aom": (48, 24)}
SHARED_DATA = Path(os.environ.get("CODECLAB_SHARED_DATA", Path(__file__).resolve().parents[2].parent / "shared" / "data"))
ANCHOR_CSV = SHARED_DATA.parent / "anchors" / "kodak_classic_per_image.csv"


def psnr(a: torch.Tensor, b: torch.Tensor, peak: float = 255.0) -> float:
    mse = ((a.double() - b.double()) ** 2).mean().item()
    return math.inf if mse == 0 else 10 * math.log10(peak ** 2 / mse)


def through_container(codec, header, encoded):
    """Serialize and parse the ``.clb`` bytes, as the command line does, and decode."""
    parsed = parse(serialize(header, encoded.params, encoded.payload))
    if parsed.header.frame_count == 1 and parsed.header.fps is None:
        return codec.decode_image(parsed.header, parsed.params, parsed.payload)
    return codec.decode_video(parsed.header, parsed.params, parsed.payload)


@pytest.fixture(scope="module")
def crop(samples_dir: Path) -> torch.Tensor:
    """A 96x128 crop of kodim23 (parrots): detail and flat areas."""
    return read_image(samples_dir / "kodim23_crop256.png")[:, 80:176, 64:192].contiguous()


@pytest.fixture(scope="module")
def kodim01_crop(samples_dir: Path) -> torch.Tensor:
    """128x128 of kodim01 (brick and wood texture) from Kodak, or of the kodim23 sample without it.

    Not kodim05: its saturated fine colour detail is lost to 4:2:0 itself (44.5 dB even at
    the finest quantiser), whatever the colour path.
    """
    kodak = SHARED_DATA / "kodak" / "kodim01.png"
    image = read_image(kodak) if kodak.is_file() else read_image(samples_dir / "kodim23_crop256.png")
    return image[:, 64:192, 64:192].contiguous()


def test_registry_names_and_ids():
    expected = {"jpeg": 0x0101, "webp": 0x0102, "heif": 0x0103, "x264": 0x0110, "x265": 0x0111,
                "vvenc": 0x0112, "svtav1": 0x0113, "aom": 0x0114}
    for name, codec_id in expected.items():
        codec = get_codec(name)
        assert codec.codec_id == codec_id and type(codec_for_id(codec_id)) is type(codec)
        assert codec.description and "\n" not in codec.description
        for q in codec.default_qualities:
            assert codec.check_quality(q) == q
    assert [get_codec(n).higher_is_better for n in FFMPEG_CODECS] == [False] * 5
    assert {n for n in expected if get_codec(n).supports_video} == {"x264", "x265", "vvenc", "svtav1"}


@pytest.mark.parametrize("name", IMAGE_CODECS)
def test_image_round_trip_and_quality_order(name, crop):
    codec = get_codec(name)
    header = codec.image_header(crop)
    sizes, psnrs = [], []
    for q in QUALITY_PAIRS[name]:
        encoded = codec.encode_image(crop, q)
        decoded = through_container(codec, header, encoded)
        assert decoded.shape == crop.shape and decoded.dtype == torch.uint8
        assert torch.equal(decoded, encoded.recon), "decoder must reproduce the encoder's reconstruction"
        assert codec.describe_params(encoded.params) == {"quality": q}
        sizes.append(len(encoded.payload))
        psnrs.append(psnr(crop, decoded))
    assert sizes[0] < sizes[1] and psnrs[0] < psnrs[1], (sizes, psnrs)
    assert 24 < psnrs[0] < psnrs[1] < 55, psnrs


@pytest.mark.parametrize("name", ["x264", "x265", "svtav1", "heif", "jpeg"])
def test_odd_sized_image(name, crop):
    """4:2:0 needs even sizes: the ffmpeg path pads and crops back."""
    odd = crop[:, :37, :51].contiguous()
    codec = get_codec(name)
    encoded = codec.encode_image(odd, QUALITY_PAIRS[name][1])
    decoded = through_container(codec, codec.image_header(odd), encoded)
    assert decoded.shape == odd.shape and psnr(odd, decoded) > 30


@pytest.mark.parametrize("name,quality", [("vvenc", 2), ("x265", 0), ("svtav1", 1)])
def test_near_lossless_proves_the_colour_path(name, quality, kodim01_crop):
    """RGB -> 10-bit 4:2:0 -> RGB at the finest quantiser: >= 45 dB only if matrix and range match."""
    encoded = get_codec(name).encode_image(kodim01_crop, quality)
    assert psnr(kodim01_crop, encoded.recon) >= 45.0


def test_range_mismatch_would_be_caught(kodim01_crop, monkeypatch):
    """Reading the full-range stream back as limited range loses > 10 dB: the check has teeth."""
    codec = get_codec("x265")
    right = psnr(kodim01_crop, codec.encode_image(kodim01_crop, 0).recon)
    monkeypatch.setattr(ffmpeg_image, "yuv_to_rgb_filter",
                        lambda: "scale=in_color_matrix=bt709:in_range=tv:flags=accurate_rnd+full_chroma_int,format=rgb24")
    wrong = psnr(kodim01_crop, codec.encode_image(kodim01_crop, 0).recon)
    assert right - wrong > 10, (right, wrong)


@pytest.mark.parametrize("name,quality", [("jpeg", 50), ("webp", 50), ("heif", 32)])
def test_reproduces_the_yardstick_per_image(name, quality, kodak_dir):
    """kodim01 at the yardstick's setting: the same file size and PSNR as its table."""
    if not ANCHOR_CSV.is_file():
        pytest.skip(f"needs the yardstick table {ANCHOR_CSV}")
    with open(ANCHOR_CSV, newline="") as f:
        row = next(r for r in csv.DictReader(f)
                   if r["codec"] == name and float(r["quality"]) == quality and r["image"] == "kodim01.png")
    image = read_image(kodak_dir / "kodim01.png")
    encoded = get_codec(name).encode_image(image, quality)
    assert len(encoded.payload) == int(row["bytes"])
    assert 8 * len(encoded.payload) / (image.shape[1] * image.shape[2]) == pytest.approx(float(row["bpp"]), abs=1e-4)
    assert psnr(image, encoded.recon) == pytest.approx(float(row["psnr"]), abs=0.01)


@pytest.mark.parametrize("name", ["x264", "x265"])
def test_video_round_trip(name, sample_y4m_path):
    video = read_y4m(sample_y4m_path)
    codec = get_codec(name)
    encoded = codec.encode_video(video, 32, intra_period=4)
    decoded = through_container(codec, codec.video_header(video), encoded)
    assert (decoded.num_frames, decoded.height, decoded.width) == (10, 144, 176)
    assert decoded.cb.shape == (10, 72, 88) and decoded.y.dtype == torch.uint8
    assert decoded.fps == video.fps
    for plane in ("y", "cb", "cr"):
        assert torch.equal(getattr(decoded, plane), getattr(encoded.recon, plane))
    psnr_y = np.mean([psnr(video.y[t], decoded.y[t]) for t in range(10)])
    assert 32 < psnr_y < 42, psnr_y
    assert codec.describe_params(encoded.params) == {"quality": 32, "intra_period": 4}
    assert b"options:" not in encoded.payload, "the encoder's text SEI is dropped from sequences"


@pytest.mark.parametrize("name", ["x264", "x265"])
def test_stills_carry_no_encoder_text_sei(name, crop):
    """The option-list SEI (2.2 kB for x265) is not picture data and is not counted."""
    encoded = get_codec(name).encode_image(crop, 32)
    assert b"options:" not in encoded.payload and b"x26" not in encoded.payload


def test_bit_depth_change_is_exact():
    """8 -> 10 bit is a shift; 10 -> 8 rounds to nearest and clips, undoing it exactly."""
    x = np.arange(256, dtype=np.uint8)
    assert np.array_equal(change_bit_depth(change_bit_depth(x, 8, 10), 10, 8), x)
    ten = np.array([0, 1, 2, 5, 6, 1021, 1022, 1023], dtype=np.uint16)
    assert change_bit_depth(ten, 10, 8).tolist() == [0, 0, 1, 1, 2, 255, 255, 255]


def test_unsupported_video():
    gray = Video(torch.zeros(2, 16, 16, dtype=torch.uint8), None, None, color_format=ColorFormat.GRAY)
    with pytest.raises(UnsupportedError):
        get_codec("x265").encode_video(gray, 32)
    yuv = Video(torch.zeros(2, 16, 16, dtype=torch.uint8), torch.zeros(2, 8, 8, dtype=torch.uint8),
                torch.zeros(2, 8, 8, dtype=torch.uint8))
    with pytest.raises(UnsupportedError):
        get_codec("aom").encode_video(yuv, 32)


def test_quality_out_of_range(crop):
    """The API validates quality once, before any codec sees it."""
    with pytest.raises(InputError, match="outside"):
        api.encode_image(crop, "x265", 52)
    with pytest.raises(InputError, match="outside"):
        api.encode_image(crop, "jpeg", 0)


@pytest.mark.parametrize("name", ["x265", "svtav1", "jpeg", "heif"])
def test_damaged_payload_is_one_line_bitstream_error(name, crop):
    codec = get_codec(name)
    encoded = codec.encode_image(crop, QUALITY_PAIRS[name][1])
    header = codec.image_header(crop)
    for payload in (b"\x00" * 64, b""):
        with pytest.raises(BitstreamError) as caught:
            codec.decode_image(header, encoded.params, payload)
        assert "\n" not in str(caught.value)
    # A truncated stream may fail or be concealed (HEVC decoders fill missing CTUs), but it
    # never crashes, hangs or returns a picture of another size.
    try:
        picture = codec.decode_image(header, encoded.params, encoded.payload[: len(encoded.payload) // 3])
        assert picture.shape == crop.shape
    except BitstreamError as exc:
        assert "\n" not in str(exc)


def test_payload_of_another_size_is_refused(crop, samples_dir):
    """A valid stream whose picture is not the size the container says."""
    codec = get_codec("x265")
    small = crop[:, :32, :32].contiguous()
    encoded = codec.encode_image(small, 32)
    with pytest.raises(BitstreamError, match="decoded"):
        codec.decode_image(codec.image_header(crop), encoded.params, encoded.payload)
    # A picture far larger than the header allows is refused by the decoder before allocation.
    large = read_image(samples_dir / "kodim05_crop256.png")
    encoded = codec.encode_image(large, 47)
    with pytest.raises(BitstreamError, match="max pixel"):
        codec.decode_image(codec.image_header(small[:, :16, :16]), encoded.params, encoded.payload)


def test_ffmpeg_failures_are_one_line():
    with pytest.raises(EncoderError) as caught:
        run_ffmpeg(["-f", "lavfi", "-i", "testsrc=size=64x64", "-f", "null", "-"], b"", timeout=0.5,
                   what="endless source", error=EncoderError)
    assert "limit" in str(caught.value)
    with pytest.raises(EncoderError) as caught:
        run_ffmpeg(["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", "16x16", "-i", "-",
                    "-c:v", "libx265", "-preset", "no-such-preset", "-f", "hevc", "-"],
                   bytes(16 * 16 * 3), timeout=30, what="x265 encoder", error=EncoderError)
    message = str(caught.value)
    assert message.startswith("x265 encoder: ") and "no-such-preset" in message
    assert "\n" not in message and "0x" not in message
