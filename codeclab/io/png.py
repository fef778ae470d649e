"""PNG files from numpy samples: 8-bit through Pillow, 16-bit written here (Pillow has no
16-bit RGB mode). Torch-free, so that decoders running only numba and numpy can write
their output.
"""

from __future__ import annotations

import io
import os
import struct
import zlib

import numpy as np
from PIL import Image

from codeclab.errors import InputError
from codeclab.io.files import atomic_write


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    """Length, type, data, CRC-32 of type + data (PNG §5.3)."""
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_16bit_bytes(samples: np.ndarray) -> bytes:
    """A 16-bit grey or RGB PNG of (H, W, 1|3) uint16 samples.

    Every row uses filter type 1 (Sub): each byte minus the byte one pixel to its left,
    modulo 256, which numpy does for all rows at once; samples are big-endian (PNG §7.1).
    """
    height, width, channels = samples.shape
    raw = samples.astype(">u2").view(np.uint8).reshape(height, width * channels * 2)
    bytes_per_pixel = 2 * channels
    filtered = raw.copy()
    filtered[:, bytes_per_pixel:] -= raw[:, :-bytes_per_pixel]  # uint8 arithmetic wraps mod 256
    rows = np.concatenate([np.full((height, 1), 1, np.uint8), filtered], axis=1)
    color_type = 0 if channels == 1 else 2  # greyscale / truecolour
    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header)
            + _png_chunk(b"IDAT", zlib.compress(rows.tobytes(), 6)) + _png_chunk(b"IEND", b""))


def png_array_bytes(samples: np.ndarray) -> bytes:
    """The PNG file of (H, W, 1|3) uint8 or uint16 samples."""
    if samples.dtype == np.uint16:
        return png_16bit_bytes(samples)
    buffer = io.BytesIO()
    Image.fromarray(samples[:, :, 0] if samples.shape[2] == 1 else samples).save(buffer, format="PNG")
    return buffer.getvalue()


def write_png_bytes(path: str | os.PathLike, data: bytes) -> None:
    """Write a PNG file's bytes atomically (no partial file on failure); one-line errors."""
    try:
        atomic_write(path, data)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None
