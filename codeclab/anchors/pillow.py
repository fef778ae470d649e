"""JPEG and WebP through Pillow: the classic image anchors, with the yardstick's settings.

* ``jpeg``: ITU-T T.81 (JPEG baseline) by libjpeg-turbo, ``save(format="JPEG", quality=q)``;
  quality alone means 4:2:0 chroma subsampling, the standard (Annex K) Huffman tables and
  quantisation tables scaled by IJG's quality formula (50 / q for q < 50, 2 - q / 50 above).
* ``webp``: VP8 intra frames in a RIFF container by libwebp, ``save(format="WEBP",
  quality=q)``: lossy, method 4 (libwebp's default speed/size trade-off), 4:2:0.

Rate: the payload is the whole file the library wrote (JFIF/RIFF headers included), as in
``shared/anchors/measure_classic.py``; decoding is Pillow's ``Image.open(...).convert("RGB")``.
"""

from __future__ import annotations

import io
import struct
from typing import TYPE_CHECKING

import numpy as np
import PIL
from PIL import Image, features

from codeclab.anchors.common import AnchorCodec, LazyText, one_line, pack_params, rgb_array, rgb_tensor, unpack_params
from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.codec import Encoded, register
from codeclab.errors import BitstreamError

if TYPE_CHECKING:
    import torch

#: What Pillow raises on a damaged file (its decoders use all of these).
_PILLOW_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)


def pillow_encode(rgb: np.ndarray, fmt: str, **options) -> bytes:
    """The bytes of ``rgb`` (H, W, 3) saved by Pillow as ``fmt`` with ``options``."""
    buffer = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buffer, format=fmt, **options)
    return buffer.getvalue()


def pillow_decode(data: bytes, fmt: str, height: int, width: int) -> np.ndarray:
    """Decode a ``fmt`` file to (height, width, 3) uint8, or raise ``BitstreamError``.

    Only the ``fmt`` decoder may open it, and its size is checked against the container's
    before any pixel is decoded, so a hostile file cannot make Pillow allocate more.
    """
    try:
        with Image.open(io.BytesIO(data), formats=[fmt]) as im:
            if im.size != (width, height):
                raise BitstreamError(f"{fmt} file is {im.size[0]}x{im.size[1]}, the header says {width}x{height}")
            return np.asarray(im.convert("RGB"))
    except _PILLOW_ERRORS as exc:
        raise BitstreamError(f"{fmt} decoder: {one_line(exc)}") from None


def _check_rgb_header(name: str, header: StreamHeader) -> None:
    if header.color_format != ColorFormat.RGB or header.bit_depth != 8:
        raise BitstreamError(f"{name} pictures are 8-bit RGB, the header says "
                             f"{header.color_format.name} {header.bit_depth}-bit")


class PillowAnchor(AnchorCodec):
    """A still-image format Pillow saves with one ``quality`` option."""

    pillow_format: str

    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        rgb = rgb_array(image)
        data = pillow_encode(rgb, self.pillow_format, quality=quality)
        recon = pillow_decode(data, self.pillow_format, *rgb.shape[:2])
        return Encoded(pack_params(quality), data, rgb_tensor(recon))

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        unpack_params(params)
        _check_rgb_header(self.name, header)
        return rgb_tensor(pillow_decode(payload, self.pillow_format, header.height, header.width))


@register
class Jpeg(PillowAnchor):
    name = "jpeg"
    codec_id = 0x0101
    quality_range = (1, 100)
    default_qualities = (5, 10, 20, 30, 50, 75, 85, 90)
    pillow_format = "JPEG"
    description = LazyText(lambda cls: (
        f"JPEG, Pillow {PIL.__version__} + libjpeg-turbo {features.version('libjpeg_turbo')}: "
        "save(format='JPEG', quality=q) (4:2:0, standard Huffman tables, baseline, no optimize)"))


@register
class WebP(PillowAnchor):
    name = "webp"
    codec_id = 0x0102
    quality_range = (0, 100)
    default_qualities = (0, 10, 25, 50, 75, 85, 90, 94)
    pillow_format = "WEBP"
    description = LazyText(lambda cls: (
        f"WebP lossy, Pillow {PIL.__version__} + libwebp {features.version('webp')}: "
        "save(format='WEBP', quality=q) (method 4, 4:2:0)"))
