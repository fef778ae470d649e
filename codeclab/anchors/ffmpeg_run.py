"""Running the ffmpeg binary of imageio-ffmpeg: bytes in through stdin, bytes out through stdout.

imageio-ffmpeg ships a static ffmpeg build that holds every encoder the anchors need
(libx264, libx265, libvvenc, libsvtav1, libaom) and their decoders (native H.264, HEVC and
VVC, dav1d for AV1). Every call goes through :func:`run_ffmpeg`, which adds three things:

* no files: the input goes in on stdin and the output comes back on stdout, so no
  temporary file can be left behind or collide with another process;
* a time limit on every run (``subprocess.run(timeout=...)`` kills the process), so a
  damaged stream can never hang the caller;
* one-line errors: a failed run raises the caller's :class:`CodecLabError` subclass with
  the first line ffmpeg printed at ``-loglevel error``. ffmpeg reports the cause first
  and its consequences after ("Could not open encoder", "Conversion failed!", ...), so
  the first line is the one that explains.

Threads: ffmpeg's default (``-threads`` unset, i.e. one per core) unless the caller's
arguments say otherwise.
"""

from __future__ import annotations

import os
import re
import subprocess
from functools import lru_cache

from codeclab.errors import CodecLabError, UnsupportedError

#: Options every run starts with: no banner, no keyboard interaction, errors only.
QUIET = ["-hide_banner", "-nostdin", "-loglevel", "error"]

#: SVT-AV1 prints its configuration to stderr on its own; level 1 keeps only its errors.
_ENVIRONMENT = {"SVT_LOG": "1"}

_ADDRESS_TAG = re.compile(r"\[[^\]]* @ 0x[0-9a-fA-F]+\]\s*")


@lru_cache(maxsize=None)
def ffmpeg_exe() -> str:
    """Path of the ffmpeg binary that imageio-ffmpeg ships."""
    try:
        import imageio_ffmpeg
    except ImportError:
        raise UnsupportedError("the ffmpeg anchors need the imageio-ffmpeg package (pip install imageio-ffmpeg)") from None
    try:
        return imageio_ffmpeg.get_ffmpeg_exe()
    except RuntimeError as exc:
        raise UnsupportedError(f"no ffmpeg binary found: {exc}") from None


@lru_cache(maxsize=None)
def ffmpeg_version() -> str:
    """The binary's version and its package, e.g. ``n9.0.2-17-g2a571b6068 (imageio-ffmpeg 0.8.1)``."""
    try:
        import imageio_ffmpeg
        return f"{imageio_ffmpeg.get_ffmpeg_version()} (imageio-ffmpeg {imageio_ffmpeg.__version__})"
    except Exception:  # noqa: BLE001 - a description must never fail to build
        return "(version unknown)"


def first_message(stderr: bytes) -> str:
    """The first non-empty stderr line, without ffmpeg's ``[codec @ 0x...]`` address tags."""
    for line in stderr.decode("utf-8", "replace").splitlines():
        line = _ADDRESS_TAG.sub("", line).strip()
        if line:
            return line
    return "no message"


def run_ffmpeg(args: list[str], stdin: bytes, *, timeout: float, what: str,
               error: type[CodecLabError]) -> bytes:
    """Run ``ffmpeg QUIET + args`` with ``stdin`` as input; return what it wrote to stdout.

    Raises ``error`` (one line, naming ``what``) when ffmpeg fails or runs past ``timeout``
    seconds, and ``UnsupportedError`` when there is no ffmpeg to run.
    """
    try:
        done = subprocess.run([ffmpeg_exe(), *QUIET, *args], input=stdin, capture_output=True,
                              timeout=timeout, env={**os.environ, **_ENVIRONMENT})
    except subprocess.TimeoutExpired:
        raise error(f"{what}: ffmpeg ran past its {timeout:.0f} s limit and was stopped") from None
    except OSError as exc:
        raise UnsupportedError(f"{what}: cannot run ffmpeg: {exc.strerror or exc}") from None
    if done.returncode != 0:
        raise error(f"{what}: {first_message(done.stderr)}")
    return done.stdout


def time_limit(megapixels: float, seconds_per_megapixel: float, floor: float = 30.0) -> float:
    """A generous wall-clock limit: ``floor + megapixels * seconds_per_megapixel`` seconds."""
    return floor + megapixels * seconds_per_megapixel
