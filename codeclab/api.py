"""The Python API: encode a picture or sequence to ``.clb`` bytes, decode them back.

>>> from codeclab import api
>>> from codeclab.io import read_image
>>> image = read_image("codeclab/data/samples/kodim23_crop256.png")
>>> result = api.encode_image(image, "jpeg", 75)
>>> decoded = api.decode(result.data)
>>> bool((decoded == result.recon).all())
True

Every codec goes through the same two functions, so the container, its validation and the
check that the decoder reproduces the encoder's reconstruction are written once.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from codeclab.bitstream import container
from codeclab.bitstream.container import StreamHeader
from codeclab.codec import Codec, Media, codec_for_id, get_codec
from codeclab.errors import BitstreamError, InputError

if TYPE_CHECKING:  # torch loads with the first codec that needs it: a classic picture decodes without
    import numpy as np
    import torch

    from codeclab.io.video import Video


@dataclass
class EncodeResult:
    """The ``.clb`` bytes, the encoder's own reconstruction and optional statistics."""

    data: bytes
    header: StreamHeader
    recon: Media
    stats: dict | None = None


def _codec(codec: str | Codec) -> Codec:
    return get_codec(codec) if isinstance(codec, str) else codec


def encode_image(image: torch.Tensor, codec: str | Codec, quality: float, **options) -> EncodeResult:
    """Encode a (3, H, W) uint8 RGB image with ``codec`` at ``quality``.

    ``options`` are the codec's encoder options (:meth:`Codec.configure`), e.g.
    ``effort="medium"`` for ``overfit``.
    """
    import torch

    codec = _codec(codec)
    if options:
        codec = codec.configure(**options)
    if not codec.supports_image:
        raise InputError(f"codec {codec.name} does not code still images")
    if image.dim() != 3 or image.shape[0] != 3 or image.dtype != torch.uint8:
        raise InputError(f"expected a (3, H, W) uint8 RGB image, got {tuple(image.shape)} {image.dtype}")
    quality = codec.check_quality(quality)
    header = codec.image_header(image)
    encoded = codec.encode_image(image, quality)
    data = container.serialize(header, encoded.params, encoded.payload)
    return EncodeResult(data, header, encoded.recon, encoded.stats)


def encode_video(video: Video, codec: str | Codec, quality: float, *, intra_period: int = 32) -> EncodeResult:
    """Encode a YCbCr sequence; ``intra_period`` pictures between intra pictures."""
    codec = _codec(codec)
    if not codec.supports_video:
        raise InputError(f"codec {codec.name} does not code video")
    if intra_period < 1:
        raise InputError(f"intra period must be >= 1, got {intra_period}")
    quality = codec.check_quality(quality)
    header = codec.video_header(video)
    encoded = codec.encode_video(video, quality, intra_period=intra_period)
    data = container.serialize(header, encoded.params, encoded.payload)
    return EncodeResult(data, header, encoded.recon, encoded.stats)


def read_header(data: bytes) -> tuple[container.Container, Codec]:
    """Parse and validate the container; return it with the codec that wrote it."""
    parsed = container.parse(data)
    return parsed, codec_for_id(parsed.header.codec_id)


def is_image(header: StreamHeader) -> bool:
    """True for a still picture (no frame rate, one frame), False for a sequence."""
    return header.fps is None and header.frame_count == 1


def _check_picture(out, header: StreamHeader):
    expected = (3 if header.color_format == container.ColorFormat.RGB else 1, header.height, header.width)
    if tuple(out.shape) != expected:
        raise BitstreamError(f"decoded picture is {tuple(out.shape)}, the header says {expected}")
    return out


def decode_image_array(data: bytes) -> np.ndarray:
    """Decode a still picture's ``.clb`` bytes to a (C, H, W) numpy array. Where the codec's
    decoder runs without torch (``classic``), torch is never imported."""
    parsed, codec = read_header(data)
    if not is_image(parsed.header):
        raise InputError("the stream holds a video, not a still picture")
    return _check_picture(codec.decode_image_array(parsed.header, parsed.params, parsed.payload), parsed.header)


def decode(data: bytes) -> Media:
    """Decode ``.clb`` bytes to a (C, H, W) image tensor or a :class:`Video`."""
    parsed, codec = read_header(data)
    header = parsed.header
    if is_image(header):
        return _check_picture(codec.decode_image(header, parsed.params, parsed.payload), header)
    out = codec.decode_video(header, parsed.params, parsed.payload)
    if (out.num_frames, out.height, out.width) != (header.frame_count, header.height, header.width):
        raise BitstreamError(
            f"decoded {out.num_frames} frames of {out.width}x{out.height}, the header says "
            f"{header.frame_count} of {header.width}x{header.height}")
    return out


def same_media(a: Media, b: Media) -> bool:
    """True when two images or videos are sample-for-sample identical."""
    import torch

    from codeclab.io.video import Video

    if isinstance(a, Video) or isinstance(b, Video):
        if not (isinstance(a, Video) and isinstance(b, Video)):
            return False
        pairs = [(a.y, b.y), (a.cb, b.cb), (a.cr, b.cr)]
        return all((p is None and q is None) or (p is not None and q is not None and p.shape == q.shape
                                                 and torch.equal(p, q)) for p, q in pairs)
    return a.shape == b.shape and torch.equal(a, b)
