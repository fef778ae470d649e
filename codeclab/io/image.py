"""Still images in and out: any common format in as a (C, H, W) tensor, PNG out.

:func:`read_image` decodes PNG, JPEG, BMP, TIFF, PPM/PGM (anything Pillow opens) to

    (3, H, W) RGB  or  (1, H, W) grey,   torch.uint8   (torch.uint16 for 16-bit sources
                                                        when ``allow_16bit=True``)

Samples are taken as stored: no colour management, no EXIF rotation. Sources that do not
fit that model are converted, and the conversion is reported in one note line, because it
loses or invents information: an alpha channel is dropped (not composited), a palette is
expanded to RGB, CMYK is inverted to RGB naively, 16-bit samples are rounded to 8 bits as
``round(x / 257)`` (the exact map of [0, 65535] onto [0, 255]), and only the first frame of
an animation is read. Pillow reduces 16-bit RGB (and grey + alpha) to 8 bits by truncation
while decoding, so those sources are decoded through FFmpeg (PyAV) instead, at full precision.

Everything unreadable (missing, empty, truncated, not an image, too large) raises
:class:`~codeclab.errors.InputError` naming the file; the whole file is decoded inside the
check, so a truncated file fails here and not later. Pictures larger than the container
allows (:data:`~codeclab.bitstream.container.MAX_DIMENSION` per side,
:data:`~codeclab.bitstream.container.MAX_PIXELS_PER_FRAME` in all) are refused from their
header, before any pixel is decoded: a small file claiming a huge picture (a "decompression
bomb") costs nothing.

:func:`write_png` writes 8-bit images with Pillow and 16-bit ones (grey or RGB, which Pillow
cannot write) with the small PNG encoder below (W3C PNG 3rd ed.: §5.3 chunks, §11.2.1 IHDR,
§9.2 filter type 1 "Sub"), always through a temporary file and an atomic rename.
"""

from __future__ import annotations

import os
import struct
import sys
import warnings
import zlib
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from codeclab.bitstream.container import MAX_DIMENSION, MAX_PIXELS_PER_FRAME
from codeclab.errors import InputError
from codeclab.io.png import png_array_bytes, write_png_bytes

Note = Callable[[str], None]

# What Pillow raises on damaged or hostile files (it has no single base class for them).
_DECODER_ERRORS = (OSError, ValueError, SyntaxError, EOFError, struct.error, zlib.error,
                   IndexError, KeyError, MemoryError, Image.DecompressionBombError,
                   Image.DecompressionBombWarning)


def default_note(message: str) -> None:
    """Print a note for the user on stderr."""
    print(f"codeclab: note: {message}", file=sys.stderr)


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return text or type(exc).__name__


def _check_readable(path: Path) -> None:
    """Name the common cases plainly, before a decoder makes them obscure."""
    try:
        if path.is_dir():
            raise InputError(f"cannot read image {path}: it is a directory")
        if path.stat().st_size == 0:
            raise InputError(f"cannot read image {path}: the file is empty")
    except FileNotFoundError:
        raise InputError(f"cannot read image {path}: the file does not exist") from None
    except PermissionError:
        raise InputError(f"cannot read image {path}: permission denied") from None


def check_picture_size(width: int, height: int, what: str) -> None:
    """Refuse pictures the ``.clb`` container could not hold (and decompression bombs)."""
    if not (1 <= width <= MAX_DIMENSION and 1 <= height <= MAX_DIMENSION) \
            or width * height > MAX_PIXELS_PER_FRAME:
        raise InputError(f"{what}: picture size {width}x{height} is outside the supported range "
                         f"(1..{MAX_DIMENSION} per side, at most {MAX_PIXELS_PER_FRAME} pixels)")


def _stored_layout(im: Image.Image) -> tuple[str, int]:
    """The file's own sample layout (Pillow "rawmode", e.g. "LA;16B") and bits per sample,
    read from Pillow's decoder set-up before anything is decoded."""
    if not im.tile:
        return im.mode, 8
    codec, args = im.tile[0][0], im.tile[0][3]
    if codec == "ppm":  # args = (rawmode, maxval): PPM/PGM with maxval > 255 store 16 bits
        return args[0], 16 if args[1] > 255 else 8
    rawmode = args if isinstance(args, str) else (args[0] if isinstance(args, tuple) and args else "")
    rawmode = rawmode if isinstance(rawmode, str) else ""
    return rawmode, 16 if ";16" in rawmode else 8


def _pillow_samples(im: Image.Image, sixteen_bit: bool) -> tuple[np.ndarray, list[str]]:
    """A loaded Pillow image as (H, W) or (H, W, 3) samples, and the notes its conversion needs."""
    mode = im.mode
    if mode in ("L", "RGB"):
        return np.asarray(im), []
    if mode == "1":
        return np.asarray(im.convert("L")), []  # 0/255: exact, nothing lost
    if mode == "RGBX":
        return np.asarray(im.convert("RGB")), []  # X is padding
    if mode in ("LA", "La"):
        return np.asarray(im.convert("L")), ["alpha channel dropped"]
    if mode in ("RGBA", "RGBa"):
        return np.asarray(im.convert("RGB")), ["alpha channel dropped"]
    if mode in ("P", "PA"):
        transparent = mode == "PA" or "transparency" in im.info
        return np.asarray(im.convert("RGB")), [
            "palette image expanded to RGB" + (", transparency dropped" if transparent else "")]
    if mode == "CMYK":
        return np.asarray(im.convert("RGB")), ["CMYK converted to RGB (no colour management)"]
    if mode == "YCbCr":
        return np.asarray(im.convert("RGB")), ["YCbCr converted to RGB"]
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16), []
    if mode == "I" and sixteen_bit:  # 16-bit PGM: Pillow widens it to 32-bit "I"
        samples = np.asarray(im)
        if samples.min() < 0 or samples.max() > 65535:
            raise ValueError("16-bit samples out of range")
        return samples.astype(np.uint16), []
    if mode in ("I", "F"):
        raise ValueError(f"{'32-bit integer' if mode == 'I' else 'floating-point'} samples are not supported")
    raise ValueError(f"unsupported pixel mode {mode}")


#: FFmpeg's packed 16-bit layouts: name -> (numpy dtype, channels stored).
_FFMPEG_16BIT = {"gray16be": (">u2", 1), "gray16le": ("<u2", 1), "ya16be": (">u2", 2), "ya16le": ("<u2", 2),
                 "rgb48be": (">u2", 3), "rgb48le": ("<u2", 3), "rgba64be": (">u2", 4), "rgba64le": ("<u2", 4)}


def _ffmpeg_16bit(path: Path, grey: bool) -> np.ndarray:
    """Decode a 16-bit image through FFmpeg (PyAV): (H, W) or (H, W, 3) uint16, alpha dropped.

    The decoder's packed samples are read straight from its buffer; FFmpeg's pixel-format
    converter is avoided because its ya16 -> gray16 path was seen to return wrong rows.
    """
    import av

    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0), None)
            if frame is None:
                raise ValueError("FFmpeg found no picture in it")
            if frame.format.name not in _FFMPEG_16BIT:
                raise ValueError(f"unexpected 16-bit layout {frame.format.name}")
            dtype, stored = _FFMPEG_16BIT[frame.format.name]
            plane = frame.planes[0]
            row = plane.line_size // 2
            samples = np.frombuffer(plane, dtype, count=frame.height * row).reshape(frame.height, row)
            samples = samples[:, :frame.width * stored].reshape(frame.height, frame.width, stored)
            # Copy now: the buffer belongs to the frame, freed with the container.
            return (samples[:, :, 0] if grey else samples[:, :, :3]).astype(np.uint16)
    except av.FFmpegError as exc:
        raise ValueError(f"FFmpeg: {exc}") from None


def _decode(path: Path) -> tuple[np.ndarray, int, list[str]]:
    """(H, W[, 3]) samples, their bit depth (8 or 16), and notes; Pillow/FFmpeg errors escape."""
    with Image.open(path) as im:
        check_picture_size(*im.size, what=f"cannot read image {path}")
        rawmode, bits = _stored_layout(im)
        sixteen_bit = bits == 16
        notes = []
        frames = getattr(im, "n_frames", 1)
        if frames > 1:
            notes.append(f"only the first of {frames} frames read")
        if sixteen_bit and im.mode in ("RGB", "RGBA", "LA"):  # modes Pillow holds in 8 bits
            channels = rawmode.split(";")[0]  # "RGB", "RGBA", "LA": what the file stores
            if "A" in channels:
                notes.append("alpha channel dropped")
            samples = _ffmpeg_16bit(path, grey=channels.startswith("L"))
            if samples.shape[:2] != (im.height, im.width):
                raise ValueError("FFmpeg and Pillow disagree on the picture size")
            return samples, 16, notes
        im.load()  # decode everything now, so that a truncated file fails here
        samples, conversion_notes = _pillow_samples(im, sixteen_bit)
    return samples, 16 if samples.dtype == np.uint16 else 8, notes + conversion_notes


def read_image(path: str | os.PathLike, *, allow_16bit: bool = False, note: Note | None = None) -> torch.Tensor:
    """Read an image file as a (3, H, W) RGB or (1, H, W) grey uint8 tensor (see module doc).

    ``allow_16bit=True`` keeps 16-bit sources as uint16; otherwise they are rounded to 8
    bits. ``note`` receives the one-line note of a lossy conversion (default: stderr).
    """
    path = Path(path)
    _check_readable(path)
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 1x and 2x its own pixel limit; make that an error too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            samples, bits, notes = _decode(path)
    except InputError:
        raise
    except UnidentifiedImageError:
        raise InputError(f"cannot read image {path}: not an image format Pillow knows") from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise InputError(f"cannot read image {path}: picture too large (decompression bomb guard)") from None
    except _DECODER_ERRORS as exc:
        raise InputError(f"cannot read image {path}: {_one_line(exc)}") from None
    if bits == 16 and not allow_16bit:
        # round(x / 257), exactly: 257 is odd, so (x + 128) // 257 never meets a tie.
        samples = ((samples.astype(np.uint32) + 128) // 257).astype(np.uint8)
        notes.append("16-bit samples rounded to 8 bits")
    if notes:
        (default_note if note is None else note)(f"{path}: " + "; ".join(notes))
    return numpy_to_image(samples)


def numpy_to_image(array: np.ndarray) -> torch.Tensor:
    """(H, W) or (H, W, C) samples -> a contiguous (C, H, W) tensor of the same dtype (a copy)."""
    if array.ndim == 2:
        array = array[:, :, None]
    if array.ndim != 3:
        raise InputError(f"expected (H, W) or (H, W, C) samples, got shape {array.shape}")
    return torch.from_numpy(np.array(array.transpose(2, 0, 1), order="C"))


def image_to_numpy(image: torch.Tensor) -> np.ndarray:
    """(C, H, W) tensor -> (H, W, C) contiguous numpy array (a copy when the layout changes)."""
    if image.dim() != 3:
        raise InputError(f"expected a (C, H, W) image, got shape {tuple(image.shape)}")
    return np.ascontiguousarray(image.detach().cpu().permute(1, 2, 0).numpy())


def png_bytes(image: torch.Tensor) -> bytes:
    """The PNG file of a (1|3, H, W) uint8 or uint16 tensor."""
    if image.dim() != 3 or image.shape[0] not in (1, 3) or image.shape[1] == 0 or image.shape[2] == 0:
        raise InputError(f"expected a (1|3, H, W) image to write as PNG, got shape {tuple(image.shape)}")
    if image.dtype not in (torch.uint8, torch.uint16):
        raise InputError(f"PNG holds uint8 or uint16 samples, got {image.dtype}")
    return png_array_bytes(image_to_numpy(image))


def write_png(path: str | os.PathLike, image: torch.Tensor) -> None:
    """Write a (1|3, H, W) uint8/uint16 tensor as PNG, atomically (no partial file on failure)."""
    write_png_bytes(path, png_bytes(image))


