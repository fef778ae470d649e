"""HEIF through pillow-heif: an HEVC intra picture (x265) in an ISO/IEC 23008-12 container.

The ``heif`` anchor is libheif with its defaults, as the yardstick ran it: x265 with preset
``slow``, ``tune=ssim``, 4:2:0 chroma, and ``quality`` 0..100 mapped by libheif to an x265
CRF; decoding by libde265. Unlike the ffmpeg anchors, libheif converts RGB to Y'CbCr
itself (BT.601 matrix, full range, signalled in the file's ``nclx`` colour box), and the
decoder reads the conversion back from that box.

Rate: the payload is the whole HEIF file (boxes included), as in the yardstick.
"""

from __future__ import annotations

import io
from functools import lru_cache
from types import ModuleType
from typing import TYPE_CHECKING

import numpy as np

from codeclab.anchors.common import AnchorCodec, LazyText, one_line, pack_params, rgb_array, rgb_tensor, unpack_params
from codeclab.anchors.pillow import _check_rgb_header
from codeclab.bitstream.container import StreamHeader
from codeclab.codec import Encoded, register
from codeclab.errors import BitstreamError, UnsupportedError

if TYPE_CHECKING:
    import torch

#: Decoder threads, as the yardstick set them (the machine has 2 cores).
DECODE_THREADS = 2


@lru_cache(maxsize=None)
def pillow_heif() -> ModuleType:
    """The pillow_heif module, configured once; ``UnsupportedError`` if it is missing."""
    try:
        import pillow_heif as module
    except ImportError:
        raise UnsupportedError("the heif anchor needs the pillow-heif package (pip install pillow-heif)") from None
    module.options.DECODE_THREADS = DECODE_THREADS
    return module


def heif_encode(rgb: np.ndarray, quality: int) -> bytes:
    """The HEIF file of ``rgb`` (H, W, 3) at libheif ``quality`` with libheif's defaults."""
    h, w = rgb.shape[:2]
    buffer = io.BytesIO()
    pillow_heif().from_bytes("RGB", (w, h), rgb.tobytes()).save(buffer, format="HEIF", quality=quality)
    return buffer.getvalue()


def heif_decode(data: bytes, height: int, width: int) -> np.ndarray:
    """Decode the primary picture of a HEIF file to (height, width, 3) uint8.

    The size is checked before decoding; libheif's own security limits stay on.
    """
    try:
        heif = pillow_heif().open_heif(io.BytesIO(data), convert_hdr_to_8bit=True)
        if heif.size != (width, height) or heif.mode != "RGB":
            raise BitstreamError(f"HEIF picture is {heif.mode} {heif.size[0]}x{heif.size[1]}, "
                                 f"the header says RGB {width}x{height}")
        return np.asarray(heif)
    except (ValueError, RuntimeError, OSError, EOFError) as exc:
        raise BitstreamError(f"HEIF decoder: {one_line(exc)}") from None


def _describe(cls: type) -> str:
    try:
        module = pillow_heif()
    except UnsupportedError as exc:
        return f"HEIF (unavailable: {exc})"
    info = module.libheif_info()
    decoders = ", ".join(info.get("decoders", {}).values())
    return (f"HEIF/HEVC intra, pillow-heif {module.__version__} + libheif {info['libheif']} "
            f"(encoder {info.get('HEIF', '?')}; decoder {decoders}): save(format='HEIF', quality=q) "
            "with libheif defaults (x265 preset slow, tune ssim, 4:2:0)")


@register
class Heif(AnchorCodec):
    name = "heif"
    codec_id = 0x0103
    quality_range = (0, 100)
    default_qualities = (15, 20, 26, 32, 38, 44, 52, 60)
    description = LazyText(_describe)

    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        rgb = rgb_array(image)
        data = heif_encode(rgb, quality)
        recon = heif_decode(data, *rgb.shape[:2])
        return Encoded(pack_params(quality), data, rgb_tensor(recon))

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        unpack_params(params)
        _check_rgb_header(self.name, header)
        return rgb_tensor(heif_decode(payload, header.height, header.width))
