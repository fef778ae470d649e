"""Pluggable in-loop picture filters: the stage after deblocking.

A picture filter runs on the whole deblocked reconstruction of a picture, before it is
output and before it becomes a reference picture, like HEVC's SAO or VVC's ALF::

    reconstruct ─► deblock ─► picture filter ─► output / reference picture buffer
                                    ▲
                          side information (per picture, in the payload)

Any implementation follows :class:`PictureFilter`: the encoder sees the original and
returns the filtered planes plus its side information (on/off flags, ...), the decoder
gets the side information back and must produce the *same* planes bit for bit. A filter is
identified in the bitstream by its ``tool_id`` (one byte of the picture parameters), so a
decoder needs no out-of-band knowledge: :func:`filter_for_id` finds the implementation,
which finds tools through :data:`PICTURE_TOOLS`.

Planes are padded int32 (Y, Cb, Cr) 4:2:0 arrays, sides multiples of the 64x64 CTU.
"""

from __future__ import annotations

from typing import Callable, Protocol

import numpy as np

from codeclab.bitstream.bits import read_uleb128, uleb128
from codeclab.errors import BitstreamError
from codeclab.registry import Registry

Planes = tuple[np.ndarray, np.ndarray, np.ndarray]


class PictureFilter(Protocol):
    """An in-loop filter stage after deblocking (encoder and decoder halves).

    ``size`` is the picture's luma (height, width) inside the CTU-padded planes: samples
    beyond it are padding, which a video encoder does not even code (they hold whatever the
    decoder left there), so a filter must neither learn from them nor count their error.
    """

    tool_id: int  # 1..255, written in the picture parameters

    def encode(self, recon: Planes, original: Planes, qp: int, size: tuple[int, int]) -> tuple[Planes, bytes]:
        """Filter ``recon`` knowing ``original``; returns (filtered planes, side information)."""

    def decode(self, recon: Planes, qp: int, side_info: bytes, size: tuple[int, int]) -> Planes:
        """Filter ``recon`` as the encoder did; ``BitstreamError`` on damaged side information."""


def plane_sizes(size: tuple[int, int]) -> tuple[tuple[int, int], ...]:
    """The picture's (height, width) in each 4:2:0 plane: Y, then Cb and Cr rounded up."""
    height, width = size
    chroma = ((height + 1) // 2, (width + 1) // 2)
    return (height, width), chroma, chroma


def replicate_edges(planes: Planes, size: tuple[int, int]) -> Planes:
    """Padded planes whose padding repeats the picture's last row and column (``size`` as in
    :class:`PictureFilter`), the padding HEVC gives reference pictures: a filter then sees
    the same surroundings at a picture edge whatever the encoder left beyond it."""
    out = []
    for plane, (h, w) in zip(planes, plane_sizes(size)):
        pad = ((0, plane.shape[0] - h), (0, plane.shape[1] - w))
        out.append(np.pad(np.asarray(plane[:h, :w], dtype=np.int32), pad, mode="edge"))
    return tuple(out)


#: The picture tools a bitstream can name: in-loop filters by their ``tool_id`` and, by name,
#: the providers of neural intra programs (``"neural-intra"``). Tools of other packages are
#: declared as the entry points ``codeclab.picture_tools`` and found on first use, so the
#: classic codec never imports the module of a tool.
PICTURE_TOOLS: Registry[Callable[[], object]] = Registry("codeclab.picture_tools", "picture tool")


def register_filter(tool_id: int, factory: Callable[[], PictureFilter], name: str | None = None) -> None:
    """Make ``factory()`` the implementation of filter ``tool_id`` (1..255)."""
    if not 1 <= tool_id <= 255:
        raise ValueError(f"picture filter ids are 1..255, got {tool_id}")
    PICTURE_TOOLS.add(name or f"filter-{tool_id}", factory, id=tool_id)


def filter_for_id(tool_id: int) -> PictureFilter:
    """The filter a bitstream names; ``BitstreamError`` for an id this build does not know."""
    if not PICTURE_TOOLS.has_id(tool_id):
        raise BitstreamError(f"classic: unknown picture filter id {tool_id}")
    return PICTURE_TOOLS.by_id(tool_id)()


def split_side_info(payload: bytes) -> tuple[bytes, bytes]:
    """(picture data, filter side information) of a payload framed by :func:`join_side_info`."""
    size, start = read_uleb128(payload, 0, "classic: picture-data length")
    if size > len(payload) - start:
        raise BitstreamError("classic: picture-data length runs past the payload")
    return payload[start:start + size], payload[start + size:]


def join_side_info(picture_data: bytes, side_info: bytes) -> bytes:
    """``uleb128 len(picture_data) | picture_data | side_info``: the payload when a filter is on.

    One byte of length for a P picture of up to 127 bytes, three for a Kodak picture, where a
    fixed u32 would spend four bytes on every picture of a sequence.
    """
    return uleb128(len(picture_data)) + picture_data + side_info
