"""Parameter sets of the classic codec: what a decoder must know before the first CTU.

* :class:`SequenceParams` -- the container's ``params`` of a sequence: QP, intra period,
  references, GOP size, TMVP and the tools of every picture;
* :class:`PictureParams` -- the tools and QP of one picture (an image's ``params``);
* the one-byte picture header of each picture record (type and QP).

Flags name the tools (deblocking, strong smoothing, the picture filter, network intra, sign
data hiding, 10-bit samples, CCLM), so
a decoder knows from the stream alone which tools to run.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from codeclab.bitstream.container import Matrix
from codeclab.errors import BitstreamError

FLAG_DEBLOCKING = 1
FLAG_STRONG_SMOOTHING = 2
FLAG_PICTURE_FILTER = 4
FLAG_NEURAL_INTRA = 16
FLAG_SIGN_HIDING = 32
FLAG_HIGH_BIT_DEPTH = 64  # samples are coded at 10 bits (a picture: 8-bit RGB in and out; a sequence: 10-bit video)
FLAG_CCLM = 128  # pictures only: chroma may be predicted from luma (cross-component linear model)
_PARAMS = struct.Struct(">BBBBB")


@dataclass(frozen=True)
class PictureParams:
    """The picture-level parameters (the container's ``params`` block)."""

    qp: int
    matrix: Matrix = Matrix.BT709
    deblocking: bool = True
    strong_smoothing: bool = True
    ctu_log2: int = 6
    min_cu_log2: int = 3
    picture_filter: int = 0  # 0: none, else the tool id of :mod:`~codeclab.classic.common.tools`
    neural_intra: bool = False  # the network intra modes of :mod:`~codeclab.classic.common.nnintra`
    sign_hiding: bool = False  # sign data hiding (:data:`~codeclab.classic.common.residual.SIGN_HIDING_DISTANCE`)
    bit_depth: int = 8  # internal bit depth of the samples, 8 or 10 (:data:`FLAG_HIGH_BIT_DEPTH`)
    cclm: bool = False  # chroma from luma (:mod:`~codeclab.classic.common.cclm`)

    def pack(self) -> bytes:
        if self.bit_depth not in (8, 10):
            raise ValueError(f"classic codes 8- or 10-bit samples, not {self.bit_depth}")
        flags = (FLAG_DEBLOCKING * self.deblocking + FLAG_STRONG_SMOOTHING * self.strong_smoothing
                 + FLAG_PICTURE_FILTER * bool(self.picture_filter) + FLAG_NEURAL_INTRA * self.neural_intra
                 + FLAG_SIGN_HIDING * self.sign_hiding + FLAG_HIGH_BIT_DEPTH * (self.bit_depth == 10)
                 + FLAG_CCLM * self.cclm)
        packed = _PARAMS.pack(self.qp, int(self.matrix), flags, self.ctu_log2, self.min_cu_log2)
        return packed + bytes([self.picture_filter]) if self.picture_filter else packed

    @classmethod
    def unpack(cls, data: bytes) -> PictureParams:
        """Parse and validate; ``BitstreamError`` for anything this decoder cannot handle."""
        if len(data) not in (_PARAMS.size, _PARAMS.size + 1):
            raise BitstreamError(f"classic: parameter block of {len(data)} bytes, expected {_PARAMS.size}"
                                 f" or {_PARAMS.size + 1}")
        qp, matrix, flags, ctu_log2, min_cu_log2 = _PARAMS.unpack(data[:_PARAMS.size])
        picture_filter = data[_PARAMS.size] if len(data) > _PARAMS.size else 0
        if bool(flags & FLAG_PICTURE_FILTER) != (len(data) > _PARAMS.size) or (
                len(data) > _PARAMS.size and picture_filter == 0):
            raise BitstreamError("classic: picture-filter flag and filter id disagree")
        if qp > 51:
            raise BitstreamError(f"classic: QP {qp} outside 0..51")
        if matrix not in (Matrix.BT601, Matrix.BT709):
            raise BitstreamError(f"classic: unknown colour matrix {matrix}")
        if flags & ~(FLAG_DEBLOCKING | FLAG_STRONG_SMOOTHING | FLAG_PICTURE_FILTER | FLAG_NEURAL_INTRA
                     | FLAG_SIGN_HIDING | FLAG_HIGH_BIT_DEPTH | FLAG_CCLM):
            raise BitstreamError(f"classic: unknown tool flags {flags:#x}")
        if ctu_log2 != 6 or min_cu_log2 != 3:
            raise BitstreamError(f"classic: unsupported CTU/CU sizes 2^{ctu_log2}/2^{min_cu_log2}")
        return cls(qp, Matrix(matrix), bool(flags & FLAG_DEBLOCKING),
                   bool(flags & FLAG_STRONG_SMOOTHING), ctu_log2, min_cu_log2, picture_filter,
                   bool(flags & FLAG_NEURAL_INTRA), bool(flags & FLAG_SIGN_HIDING),
                   10 if flags & FLAG_HIGH_BIT_DEPTH else 8, bool(flags & FLAG_CCLM))


# ==================================================================== sequences
FLAG_TMVP = 8
MAX_REFS = 4
MAX_GOP_SIZE = 16
_SEQUENCE = struct.Struct(">BBBBHBB")


@dataclass(frozen=True)
class SequenceParams:
    """The sequence-level parameters of a coded video (the container's ``params``)."""

    qp: int
    intra_period: int = 32
    num_refs: int = 2
    gop_size: int = 4  # key pictures every gop_size pictures (:mod:`~codeclab.classic.encoder.sequence`)
    deblocking: bool = True
    strong_smoothing: bool = True
    tmvp: bool = True
    ctu_log2: int = 6
    min_cu_log2: int = 3
    picture_filter: int = 0  # 0: none, else the tool id of :mod:`~codeclab.classic.common.tools`
    neural_intra: bool = False  # the network intra modes of :mod:`~codeclab.classic.common.nnintra`
    sign_hiding: bool = False  # sign data hiding in every picture
    bit_depth: int = 8  # of the video and of its coding, 8 or 10 (:data:`FLAG_HIGH_BIT_DEPTH`)

    def pack(self) -> bytes:
        flags = (FLAG_DEBLOCKING * self.deblocking + FLAG_STRONG_SMOOTHING * self.strong_smoothing
                 + FLAG_PICTURE_FILTER * bool(self.picture_filter) + FLAG_TMVP * self.tmvp
                 + FLAG_NEURAL_INTRA * self.neural_intra + FLAG_SIGN_HIDING * self.sign_hiding
                 + FLAG_HIGH_BIT_DEPTH * (self.bit_depth == 10))
        packed = _SEQUENCE.pack(self.qp, flags, self.ctu_log2, self.min_cu_log2,
                                self.intra_period, self.num_refs, self.gop_size)
        return packed + bytes([self.picture_filter]) if self.picture_filter else packed

    @classmethod
    def unpack(cls, data: bytes) -> SequenceParams:
        """Parse and validate; ``BitstreamError`` for anything this decoder cannot handle."""
        if len(data) not in (_SEQUENCE.size, _SEQUENCE.size + 1):
            raise BitstreamError(f"classic: sequence parameters of {len(data)} bytes, expected "
                                 f"{_SEQUENCE.size} or {_SEQUENCE.size + 1}")
        qp, flags, ctu_log2, min_cu_log2, intra_period, num_refs, gop_size = _SEQUENCE.unpack(
            data[:_SEQUENCE.size])
        picture_filter = data[_SEQUENCE.size] if len(data) > _SEQUENCE.size else 0
        if bool(flags & FLAG_PICTURE_FILTER) != (len(data) > _SEQUENCE.size) or (
                len(data) > _SEQUENCE.size and picture_filter == 0):
            raise BitstreamError("classic: picture-filter flag and filter id disagree")
        if qp > 51:
            raise BitstreamError(f"classic: QP {qp} outside 0..51")
        if flags >> 7:
            raise BitstreamError(f"classic: unknown tool flags {flags:#x}")
        if ctu_log2 != 6 or min_cu_log2 != 3:
            raise BitstreamError(f"classic: unsupported CTU/CU sizes 2^{ctu_log2}/2^{min_cu_log2}")
        if intra_period < 1:
            raise BitstreamError("classic: intra period 0")
        if not 1 <= num_refs <= MAX_REFS:
            raise BitstreamError(f"classic: {num_refs} reference pictures, expected 1..{MAX_REFS}")
        if not 1 <= gop_size <= MAX_GOP_SIZE:
            raise BitstreamError(f"classic: GOP size {gop_size}, expected 1..{MAX_GOP_SIZE}")
        return cls(qp, intra_period, num_refs, gop_size, bool(flags & FLAG_DEBLOCKING),
                   bool(flags & FLAG_STRONG_SMOOTHING), bool(flags & FLAG_TMVP), ctu_log2,
                   min_cu_log2, picture_filter, bool(flags & FLAG_NEURAL_INTRA), bool(flags & FLAG_SIGN_HIDING),
                   10 if flags & FLAG_HIGH_BIT_DEPTH else 8)

    def picture(self, qp: int) -> PictureParams:
        """The parameters one picture of the sequence is coded with, at ``qp``."""
        return PictureParams(qp=qp, deblocking=self.deblocking,
                             strong_smoothing=self.strong_smoothing, ctu_log2=self.ctu_log2,
                             min_cu_log2=self.min_cu_log2, picture_filter=self.picture_filter,
                             neural_intra=self.neural_intra, sign_hiding=self.sign_hiding, bit_depth=self.bit_depth)


def pack_picture_header(inter: bool, qp: int) -> int:
    """picture_header byte: bit 7 picture type (1 = P), bits 0..5 the picture's QP."""
    return (0x80 if inter else 0) | qp


def unpack_picture_header(byte: int) -> tuple[bool, int]:
    """``(inter, qp)``; ``BitstreamError`` for a reserved bit or a QP above 51."""
    qp = byte & 0x3F
    if byte & 0x40 or qp > 51:
        raise BitstreamError(f"classic: damaged picture header {byte:#04x}")
    return bool(byte & 0x80), qp
