"""Sequences through ffmpeg: raw Y'CbCr 4:2:0 planes in, an elementary stream out, and back.

Video is coded in the colour space it comes in, so unlike stills there is no conversion:
the planes of a :class:`~codeclab.io.video.Video` are written frame after frame as raw
planar ``yuv420p`` (8 bit) or ``yuv420p10le`` (10 bit) to ffmpeg's stdin,

    frame t:  Y (H x W) | Cb (H/2 x W/2) | Cr (H/2 x W/2)

and decoded back to the same layout. Matrix and range are passed along as stream tags
only; no sample is converted.

The only change of samples is the coding bit depth of an encoder that accepts no 8-bit
input (VVenC codes 10 bit only). It is done here, exactly, instead of by swscale:

    up   (8 -> 10 bit):  x' = x * 4                    (x << 2)
    down (10 -> 8 bit):  x  = min((x' + 2) >> 2, 255)   rounding to nearest

so an encoder that reproduced its 10-bit input exactly gives back the 8-bit input exactly.
"""

from __future__ import annotations

import numpy as np
import torch

from codeclab.anchors.ffmpeg_image import max_decoded_pixels
from codeclab.anchors.ffmpeg_run import run_ffmpeg, time_limit
from codeclab.bitstream.container import ColorFormat, Matrix, Range
from codeclab.errors import BitstreamError, EncoderError, UnsupportedError
from codeclab.io.video import Video

#: Seconds allowed per megapixel of all frames (VVenC medium runs at a few frames per
#: second on QCIF on a 2-core machine; 60 s/MP leaves a wide margin).
ENCODE_SECONDS_PER_MEGAPIXEL = 60.0
DECODE_SECONDS_PER_MEGAPIXEL = 5.0

_PIX_FMT = {8: "yuv420p", 10: "yuv420p10le"}
_MATRIX_TAG = {Matrix.BT601: "smpte170m", Matrix.BT709: "bt709"}
_RANGE_TAG = {Range.LIMITED: "tv", Range.FULL: "pc"}


def raw_pix_fmt(bit_depth: int) -> str:
    """ffmpeg's name of planar 4:2:0 at ``bit_depth`` (little-endian 16-bit words above 8)."""
    if bit_depth not in _PIX_FMT:
        raise UnsupportedError(f"ffmpeg anchors code 8- or 10-bit video, not {bit_depth}-bit")
    return _PIX_FMT[bit_depth]


def change_bit_depth(plane: np.ndarray, from_bits: int, to_bits: int) -> np.ndarray:
    """Samples at ``to_bits``: a left shift up, a rounded right shift (clipped) down."""
    if to_bits == from_bits:
        return plane
    if to_bits > from_bits:
        return plane.astype(np.uint16) << (to_bits - from_bits)
    shift = from_bits - to_bits
    down = (plane.astype(np.uint32) + (1 << (shift - 1))) >> shift
    return np.minimum(down, (1 << to_bits) - 1).astype(np.uint8 if to_bits <= 8 else np.uint16)


def check_codable(video: Video) -> None:
    """``UnsupportedError`` unless ``video`` is 4:2:0 of even size (what every anchor codes)."""
    if video.color_format != ColorFormat.YUV420 or video.cb is None:
        raise UnsupportedError(f"ffmpeg video anchors code 4:2:0 only, not {video.color_format.name}")
    if video.width % 2 or video.height % 2:
        raise UnsupportedError(f"4:2:0 video needs an even size, got {video.width}x{video.height}")


def frames_to_raw(video: Video, coded_bits: int) -> bytes:
    """All frames as raw planar 4:2:0 at ``coded_bits`` (one contiguous buffer)."""
    t = video.num_frames
    planes = [change_bit_depth(p.cpu().numpy(), video.bit_depth, coded_bits).reshape(t, -1)
              for p in (video.y, video.cb, video.cr)]
    dtype = np.uint8 if coded_bits == 8 else np.dtype("<u2")
    return np.concatenate(planes, axis=1).astype(dtype, copy=False).tobytes()


def raw_to_planes(raw: bytes, frames: int, height: int, width: int, coded_bits: int,
                  bit_depth: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split raw planar 4:2:0 frames into (Y, Cb, Cr) tensors at ``bit_depth``."""
    dtype = np.uint8 if coded_bits == 8 else np.dtype("<u2")
    luma, chroma = height * width, (height // 2) * (width // 2)
    samples = np.frombuffer(raw, dtype).reshape(frames, luma + 2 * chroma)
    y = samples[:, :luma].reshape(frames, height, width)
    cb = samples[:, luma:luma + chroma].reshape(frames, height // 2, width // 2)
    cr = samples[:, luma + chroma:].reshape(frames, height // 2, width // 2)
    out_dtype = np.uint8 if bit_depth == 8 else np.uint16
    return tuple(torch.from_numpy(change_bit_depth(p, coded_bits, bit_depth).astype(out_dtype))
                 for p in (y, cb, cr))


def colour_tags(video: Video) -> list[str]:
    """``-colorspace``/``-color_range`` tags for what the Video says (nothing if unspecified)."""
    tags = []
    if video.matrix in _MATRIX_TAG:
        tags += ["-colorspace", _MATRIX_TAG[video.matrix]]
    if video.range in _RANGE_TAG:
        tags += ["-color_range", _RANGE_TAG[video.range]]
    return tags


def encode_sequence(video: Video, encoder_args: list[str], coded_bits: int, muxer: str, *,
                    what: str) -> bytes:
    """Encode every frame of ``video``; returns the raw stream the ``muxer`` wrote."""
    check_codable(video)
    fps = video.fps
    args = ["-f", "rawvideo", "-pix_fmt", raw_pix_fmt(coded_bits), "-s", f"{video.width}x{video.height}",
            "-framerate", f"{fps.numerator}/{fps.denominator}", "-i", "-",
            *colour_tags(video), *encoder_args, "-fps_mode", "passthrough",
            "-frames:v", str(video.num_frames), "-f", muxer, "-"]
    megapixels = video.num_frames * video.width * video.height / 1e6
    stream = run_ffmpeg(args, frames_to_raw(video, coded_bits),
                        timeout=time_limit(megapixels, ENCODE_SECONDS_PER_MEGAPIXEL), what=what, error=EncoderError)
    if not stream:
        raise EncoderError(f"{what}: the encoder wrote no bytes")
    return stream


def decode_sequence(stream: bytes, demuxer: str, decoder: str, frames: int, height: int, width: int,
                    coded_bits: int, bit_depth: int, *, what: str) -> tuple[torch.Tensor, ...]:
    """Decode exactly ``frames`` pictures of ``width`` x ``height``; (Y, Cb, Cr) at ``bit_depth``.

    As for stills: no picture larger than expected (``-max_pixels``), stop at the first
    error (``-xerror``), at most ``frames`` frames out, and any other count or size is a
    ``BitstreamError``. ``-fps_mode passthrough`` keeps ffmpeg from dropping or repeating
    frames to fit a frame rate.
    """
    args = ["-xerror", "-max_pixels", str(max_decoded_pixels(height, width)), "-f", demuxer, "-c:v", decoder, "-i", "-",
            "-fps_mode", "passthrough", "-frames:v", str(frames),
            "-f", "rawvideo", "-pix_fmt", raw_pix_fmt(coded_bits), "-"]
    megapixels = frames * width * height / 1e6
    raw = run_ffmpeg(args, stream, timeout=time_limit(megapixels, DECODE_SECONDS_PER_MEGAPIXEL),
                     what=what, error=BitstreamError)
    frame_bytes = (height * width + 2 * (height // 2) * (width // 2)) * (1 if coded_bits == 8 else 2)
    if len(raw) != frames * frame_bytes:
        got = len(raw) / frame_bytes
        raise BitstreamError(f"{what}: decoded {got:g} frames of {width}x{height}, the header says {frames}")
    return raw_to_planes(raw, frames, height, width, coded_bits, bit_depth)
