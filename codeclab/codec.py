"""One interface for every codec, and the registry that finds them by name or id.

A codec is anything that turns a picture (or a sequence) and a quality parameter into
bytes, and those bytes back into the picture. Anchors (JPEG, x265, ...), the classic
hybrid codec and the learned codecs all subclass :class:`Codec`; the container, the
command line and the benchmark know nothing else about them.

::

    image (3,H,W) uint8 ──encode_image(q)──► Encoded(params, payload, recon)
                                                  │  serialize with StreamHeader
                                                  ▼
                                              .clb bytes ──parse──► decode_image ──► image

``recon`` is the encoder's own reconstruction (HM's ``-o``): a decoder that is correct
reproduces it exactly. For external anchors it is what their own decoder returns.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Union

from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.errors import InputError, UnsupportedError
from codeclab.registry import Registry

if TYPE_CHECKING:  # the interface names them; importing torch is left to the codecs that code
    import numpy as np
    import torch

    from codeclab.io.video import Video

Media = Union["torch.Tensor", "Video"]


@dataclass
class Encoded:
    """What an encoder returns: the container fields it sets, and its reconstruction."""

    params: bytes
    payload: bytes
    recon: Media
    #: Extra facts for ``codeclab info`` and reports (e.g. bits per CTU); never decoded from.
    stats: dict | None = None


class Codec:
    """Base class of all codecs. Subclasses set the class attributes and override methods.

    Attributes:
        name: registry name used on the command line (``--codec NAME``).
        codec_id: 16-bit id stored in the container; unique per codec.
        version: the codec's bitstream version, stored in the container.
        quality_range: inclusive (low, high) of ``quality``.
        integer_quality: whether ``quality`` must be an integer (QPs, JPEG quality).
        higher_is_better: whether a larger quality means more bits (JPEG: yes, QP: no).
        default_qualities: points of ``codeclab bench``, about 0.1-2 bpp on Kodak.
        supports_video: whether :meth:`encode_video` is implemented.
        description: one line for ``codeclab codecs``.
    """

    name: ClassVar[str]
    codec_id: ClassVar[int]
    version: ClassVar[int] = 1
    quality_range: ClassVar[tuple[float, float]]
    integer_quality: ClassVar[bool] = True
    higher_is_better: ClassVar[bool] = True
    default_qualities: ClassVar[tuple[float, ...]] = ()
    default_video_qualities: ClassVar[tuple[float, ...]] = ()
    supports_image: ClassVar[bool] = True
    supports_video: ClassVar[bool] = False
    description: ClassVar[str] = ""

    # -- quality -------------------------------------------------------------------------
    def check_quality(self, quality: float) -> float:
        """Return ``quality`` as the codec uses it, or raise ``InputError`` if out of range."""
        lo, hi = self.quality_range
        if self.integer_quality:
            if float(quality) != int(quality):
                raise InputError(f"{self.name}: quality must be an integer in {lo:g}..{hi:g}, got {quality}")
            quality = int(quality)
        if not lo <= quality <= hi:
            raise InputError(f"{self.name}: quality {quality} outside {lo:g}..{hi:g}")
        return quality

    def configure(self, **options) -> "Codec":
        """Set encoder options (e.g. ``effort=``, ``device=``); codecs without any refuse them."""
        if any(v is not None for v in options.values()):
            given = ", ".join(k for k, v in options.items() if v is not None)
            raise InputError(f"codec {self.name} takes no encoder options ({given})")
        return self

    # -- images --------------------------------------------------------------------------
    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        """Encode a (3, H, W) uint8 RGB image; ``quality`` is what :meth:`check_quality`
        returned (the API validates it, once, before any codec sees it)."""
        raise UnsupportedError(f"codec {self.name} does not code still images")

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        """Decode to a (C, H, W) tensor matching ``header``."""
        raise UnsupportedError(f"codec {self.name} does not code still images")

    def decode_image_array(self, header: StreamHeader, params: bytes, payload: bytes) -> np.ndarray:
        """:meth:`decode_image` as a (C, H, W) numpy array. Codecs whose decoder needs no
        torch override it (and derive :meth:`decode_image` from it), so that ``codeclab
        decode`` of their pictures never imports torch."""
        return self.decode_image(header, params, payload).numpy()

    def image_header(self, image: torch.Tensor) -> StreamHeader:
        """The container header for a still image coded by this codec (RGB 8-bit by default)."""
        return StreamHeader(codec_id=self.codec_id, codec_version=self.version,
                            width=image.shape[-1], height=image.shape[-2], frame_count=1,
                            color_format=ColorFormat.RGB if image.shape[0] == 3 else ColorFormat.GRAY,
                            bit_depth=8)

    # -- sequences -----------------------------------------------------------------------
    def encode_video(self, video: Video, quality: float, *, intra_period: int = 32) -> Encoded:
        """Encode a YCbCr sequence; ``intra_period`` is the distance between intra pictures and
        ``quality`` has passed :meth:`check_quality`."""
        raise UnsupportedError(f"codec {self.name} does not code video")

    def decode_video(self, header: StreamHeader, params: bytes, payload: bytes) -> Video:
        raise UnsupportedError(f"codec {self.name} does not code video")

    def video_header(self, video: Video) -> StreamHeader:
        return StreamHeader(codec_id=self.codec_id, codec_version=self.version,
                            width=video.width, height=video.height, frame_count=video.num_frames,
                            color_format=video.color_format, bit_depth=video.bit_depth,
                            matrix=video.matrix, range=video.range, fps=video.fps)

    def describe_params(self, params: bytes) -> dict:
        """Human-readable view of the parameter block for ``codeclab info``."""
        return {"params_bytes": len(params)}


# -- registry ------------------------------------------------------------------------------

#: Every codec, by name and by container id; built-in codecs are declared as the entry points
#: ``codeclab.codecs`` in ``pyproject.toml``, exactly like a third-party codec.
CODECS: Registry[type[Codec]] = Registry("codeclab.codecs", "codec")


def register(cls: type[Codec]) -> type[Codec]:
    """Class decorator: make ``cls`` available by name and by container id."""
    return CODECS.add(cls.name, cls, id=cls.codec_id)


def codec_names() -> list[str]:
    return CODECS.names()


def codec_class(name: str) -> type[Codec]:
    """The class registered as ``name`` (no instance is built: nothing the codec codes with loads)."""
    return CODECS.get(name)


def get_codec(name: str) -> Codec:
    """Instantiate the codec registered as ``name``; ``InputError`` lists the known names."""
    return CODECS.get(name)()


def codec_for_id(codec_id: int) -> Codec:
    """The codec that wrote a container; ``BitstreamError`` for an id this build does not know."""
    return CODECS.by_id(codec_id)()
