"""Still pictures through ffmpeg: RGB -> Y'CbCr 4:2:0 -> encoder | decoder -> Y'CbCr -> RGB.

Video encoders code Y'CbCr, so an RGB picture is converted on the way in and back on the
way out, both times by ffmpeg's scale filter (libswscale) with the same fixed description:

* matrix ITU-R BT.709 (Rec. 709, section 3):  Y' = 0.2126 R + 0.7152 G + 0.0722 B,
  Cb = (B - Y') / 1.8556,  Cr = (R - Y') / 1.5748;
* full range: Y' spans 0 .. 2^N - 1 and Cb, Cr are centred on 2^(N-1), N the bit depth;
* chroma subsampled 2:1 both ways (4:2:0), interpolated back at full resolution;
* ``accurate_rnd+full_chroma_int+bitexact``: exact rounding, full-resolution chroma
  interpolation, and the same output on every CPU.

The description is forced on *both* sides (``out_color_matrix``/``out_range`` into the
encoder, ``in_color_matrix``/``in_range`` out of the decoder) instead of trusting the
stream: raw elementary streams do not carry the range reliably, and a decoder that
assumes limited range (16..235) on a full-range picture stretches it by 255/219, which
silently costs about 16 dB. With both sides forced, a near-lossless setting round-trips at
45 dB or more, which is the test that proves the path.

These are the settings of ``shared/anchors/measure_ffmpeg_intra.py``; piping raw ``rgb24``
through stdin instead of reading a PNG file gives the same bytes (the PNG decoder produces
the same ``rgb24`` frame).

Pictures of odd width or height are padded to even size by repeating the last column/row
(4:2:0 chroma needs pairs of samples), and the decoded picture is cropped back.
"""

from __future__ import annotations

import numpy as np

from codeclab.anchors.ffmpeg_run import run_ffmpeg, time_limit
from codeclab.errors import BitstreamError, EncoderError

_SWSCALE_FLAGS = "flags=accurate_rnd+full_chroma_int+bitexact"

#: Seconds allowed per megapixel: VVenC at QP 2, the slowest case, needs about 30 s/MP
#: (kodim01: 12 s on a 2-core machine); decoders need well under 1 s/MP.
ENCODE_SECONDS_PER_MEGAPIXEL = 300.0
DECODE_SECONDS_PER_MEGAPIXEL = 20.0


def rgb_to_yuv_filter(pix_fmt: str) -> str:
    """The scale filter from full-range RGB to BT.709 full-range Y'CbCr in ``pix_fmt``."""
    return f"scale=out_color_matrix=bt709:out_range=pc:{_SWSCALE_FLAGS},format={pix_fmt}"


def yuv_to_rgb_filter() -> str:
    """The scale filter back: the decoded Y'CbCr read as BT.709 full range, to ``rgb24``."""
    return f"scale=in_color_matrix=bt709:in_range=pc:{_SWSCALE_FLAGS},format=rgb24"


def even_size(height: int, width: int) -> tuple[int, int]:
    """The smallest even (height, width) that holds the picture."""
    return height + height % 2, width + width % 2


def pad_to_even(rgb: np.ndarray) -> np.ndarray:
    """``rgb`` (H, W, 3) with its last row/column repeated where H or W is odd."""
    h, w = rgb.shape[:2]
    eh, ew = even_size(h, w)
    if (eh, ew) == (h, w):
        return rgb
    return np.ascontiguousarray(np.pad(rgb, ((0, eh - h), (0, ew - w), (0, 0)), mode="edge"))


def max_decoded_pixels(height: int, width: int) -> int:
    """A bound for ffmpeg's ``-max_pixels``: the picture grown to whole 128x128 blocks.

    Decoders allocate frames padded to their block grid (H.264 rounds 102 columns up to
    128), so the bound allows the largest block size of the anchors (VVC's 128x128 CTU,
    AV1's 128x128 superblock) and refuses anything bigger.
    """
    return -(-height // 128) * 128 * (-(-width // 128) * 128)


def encode_picture(rgb: np.ndarray, encoder_args: list[str], pix_fmt: str, muxer: str, *,
                   what: str) -> bytes:
    """Encode an (H, W, 3) uint8 picture; returns the raw stream the ``muxer`` wrote."""
    rgb = pad_to_even(rgb)
    h, w = rgb.shape[:2]
    args = ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-i", "-",
            "-vf", rgb_to_yuv_filter(pix_fmt), "-color_range", "pc", "-colorspace", "bt709",
            *encoder_args, "-frames:v", "1", "-f", muxer, "-"]
    stream = run_ffmpeg(args, rgb.tobytes(), timeout=time_limit(h * w / 1e6, ENCODE_SECONDS_PER_MEGAPIXEL),
                        what=what, error=EncoderError)
    if not stream:
        raise EncoderError(f"{what}: the encoder wrote no bytes")
    return stream


def decode_picture(stream: bytes, demuxer: str, decoder: str, height: int, width: int, *,
                   what: str) -> np.ndarray:
    """Decode a raw stream to the (height, width, 3) uint8 picture.

    The decoder refuses pictures beyond the expected size (:func:`max_decoded_pixels`), stops
    at the first error (``-xerror``) and outputs one frame, so a damaged or hostile stream
    costs neither memory nor time; a picture of another size is a ``BitstreamError``.
    """
    eh, ew = even_size(height, width)
    args = ["-xerror", "-max_pixels", str(max_decoded_pixels(eh, ew)), "-f", demuxer, "-c:v", decoder, "-i", "-",
            "-vf", yuv_to_rgb_filter(), "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"]
    raw = run_ffmpeg(args, stream, timeout=time_limit(eh * ew / 1e6, DECODE_SECONDS_PER_MEGAPIXEL),
                     what=what, error=BitstreamError)
    if len(raw) != eh * ew * 3:
        raise BitstreamError(f"{what}: decoded {len(raw)} bytes, a {ew}x{eh} RGB picture has {eh * ew * 3}")
    return np.frombuffer(raw, np.uint8).reshape(eh, ew, 3)[:height, :width]
