"""Video sequences as tensors: the :class:`Video` type (reading: :mod:`.video_reader`).

A sequence is held plane-wise, one tensor per component over all frames, because with
chroma subsampling the planes differ in size:

    y  : (T, H, W)
    cb : (T, H / sy, W / sx)     sx, sy = 2, 2 for 4:2:0; 2, 1 for 4:2:2; 1, 1 for 4:4:4
    cr : same as cb              (both None for 4:0:0 / grey)

Samples are ``torch.uint8`` for 8-bit content and ``torch.uint16`` (values < 2^bit_depth)
above it, as at every API boundary of CodecLab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import torch

from codeclab.bitstream.container import ColorFormat, Matrix, Range

#: Chroma subsampling factors (sx, sy) of each YCbCr format.
SUBSAMPLING = {ColorFormat.YUV420: (2, 2), ColorFormat.YUV422: (2, 1), ColorFormat.YUV444: (1, 1)}


@dataclass
class Video:
    """A YCbCr (or grey) sequence with its timing and colour description."""

    y: torch.Tensor
    cb: torch.Tensor | None
    cr: torch.Tensor | None
    fps: Fraction = Fraction(25)
    color_format: ColorFormat = ColorFormat.YUV420
    bit_depth: int = 8
    matrix: Matrix = Matrix.UNSPECIFIED
    range: Range = Range.UNSPECIFIED
    #: Extra container tags to carry through (e.g. Y4M ``A`` aspect or ``X`` comments).
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def num_frames(self) -> int:
        return self.y.shape[0]

    @property
    def height(self) -> int:
        return self.y.shape[1]

    @property
    def width(self) -> int:
        return self.y.shape[2]

    def planes(self, t: int) -> tuple[torch.Tensor, ...]:
        """The planes of frame ``t``: (Y,) for grey, (Y, Cb, Cr) otherwise."""
        if self.cb is None:
            return (self.y[t],)
        return self.y[t], self.cb[t], self.cr[t]

    def frames(self, start: int, stop: int) -> "Video":
        """A new Video holding frames ``start:stop`` (views, no copy)."""
        cut = (lambda p: None if p is None else p[start:stop])
        return Video(self.y[start:stop], cut(self.cb), cut(self.cr), self.fps, self.color_format,
                     self.bit_depth, self.matrix, self.range, dict(self.tags))
