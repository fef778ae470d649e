"""The project's error types.

Every failure a user can cause (a missing file, an image Pillow cannot read, a damaged
bitstream, an output that already exists) raises a :class:`CodecLabError`. The command
line turns it into one line on stderr and exit code 2; a traceback always means a bug in
CodecLab, never a user mistake.
"""

from __future__ import annotations


class CodecLabError(Exception):
    """Base class of every error CodecLab raises on purpose. The message is one line."""


class InputError(CodecLabError):
    """A user-supplied file or argument is unusable (unreadable image, bad option, ...)."""


class BitstreamError(CodecLabError):
    """A bitstream is damaged, truncated, hostile or of an unsupported version."""


class UnsupportedError(CodecLabError):
    """A valid request that this codec or build does not support (e.g. video on an image codec)."""


class EncoderError(CodecLabError):
    """An external encoder or decoder (ffmpeg, libheif, ...) failed."""
