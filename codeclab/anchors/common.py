"""What every anchor codec shares: the tensor/array boundary, the parameter block, a lazy description.

Anchors wrap external libraries that speak NumPy arrays in height-width-channel order, while
CodecLab's API speaks (3, H, W) ``uint8`` tensors; :func:`rgb_array` and :func:`rgb_tensor`
cross that boundary and nothing else does.

The container's parameter block of an anchor holds only what ``codeclab info`` shows; the
external bitstream in the payload is self-describing, so no decoder reads it back::

    offset size field
    0      1    quality        the setting the encoder ran with (JPEG quality, QP, ...)
    1      2    intra_period   pictures between intra pictures; 0 for a still image

The rate of an anchor is the size of the payload, the exact bytes its encoder wrote.
"""

from __future__ import annotations

import struct
from typing import TYPE_CHECKING, Callable

import numpy as np

from codeclab.codec import Codec
from codeclab.errors import BitstreamError, InputError

if TYPE_CHECKING:
    import torch

_PARAMS = struct.Struct(">BH")


def rgb_array(image: torch.Tensor) -> np.ndarray:
    """A (3, H, W) uint8 tensor as a C-contiguous (H, W, 3) array, the layout libraries expect."""
    import torch

    if image.dim() != 3 or image.shape[0] != 3 or image.dtype != torch.uint8:
        raise InputError(f"expected a (3, H, W) uint8 RGB image, got {tuple(image.shape)} {image.dtype}")
    return np.ascontiguousarray(image.permute(1, 2, 0).cpu().numpy())


def rgb_tensor(array: np.ndarray) -> torch.Tensor:
    """An (H, W, 3) uint8 array as a (3, H, W) tensor that owns its memory."""
    import torch

    return torch.from_numpy(np.array(array, dtype=np.uint8, copy=True)).permute(2, 0, 1).contiguous()


def pack_params(quality: int, intra_period: int = 0) -> bytes:
    """The parameter block: quality (0..255) and intra period (0 = still image, up to 65535)."""
    if not 0 <= intra_period < 1 << 16:
        raise InputError(f"intra period {intra_period} outside 1..65535")
    return _PARAMS.pack(int(quality), intra_period)


def unpack_params(params: bytes) -> tuple[int, int]:
    """(quality, intra_period) from the parameter block; ``BitstreamError`` if malformed."""
    if len(params) != _PARAMS.size:
        raise BitstreamError(f"anchor parameter block has {len(params)} bytes, expected {_PARAMS.size}")
    return _PARAMS.unpack(params)


def one_line(exc: BaseException) -> str:
    """A library's exception message on one line (libheif's end in a newline, some span several)."""
    return " ".join(str(exc).split()) or type(exc).__name__


class LazyText:
    """A class attribute computed on first read from its class, then kept.

    Descriptions name library versions, which cost an import or an ``ffmpeg -version``
    run; the registry imports every anchor module, so the cost is paid only when a
    description is actually read.
    """

    def __init__(self, build: Callable[[type], str]):
        self._build = build
        self._text: dict[type, str] = {}

    def __get__(self, obj: object, owner: type) -> str:
        if owner not in self._text:
            self._text[owner] = self._build(owner)
        return self._text[owner]


class AnchorCodec(Codec):
    """Base of the anchors: the shared parameter block and its ``codeclab info`` view."""

    def describe_params(self, params: bytes) -> dict:
        quality, intra_period = unpack_params(params)
        view = {"quality": quality}
        if intra_period:
            view["intra_period"] = intra_period
        return view
