"""The ``classic`` codec: HEVC-class intra pictures, and low-delay P sequences.

Still pictures: RGB in, RGB out, an all-intra coder in between::

    RGB ─► Y'CbCr BT.709 full range (integer) ─► 4:2:0 ─► pad to 64 ─► encoder ─► payload
    payload ─► decoder ─► crop ─► upsample chroma ─► RGB

Sequences: Y'CbCr 4:2:0, 8- or 10-bit, in and out as they come (no colour conversion), coded as
I P P P ... pictures (:mod:`~codeclab.classic.encoder.sequence`); matrix and range travel in the container header.

Colour: BT.709, full range, with the project's fixed-point conversion
(:func:`~codeclab.io.color.rgb_to_ycbcr_int`), at 10 bits for still pictures: the 8-bit RGB
is widened to 10-bit code values, converted and coded at 10 bits (H.265 Main 10 arithmetic,
QpBdOffset 12), and the decoder rounds back to 8-bit RGB at the very end, so neither the
colour conversion nor the prediction rounds to 8 bits on the way (``bit_depth = 8`` codes
as before). BT.709 because the video anchors (x265,
VVenC, ...) go through exactly that matrix and range, so a BD-rate against them compares
the codecs and not two colour pipelines; full range because at 8 bits it keeps all 256
code values (limited range would quantise luma to 220 levels before coding even starts).
Chroma is subsampled with the JPEG ("center") siting box filter and interpolated back
with the triangle filter of :mod:`~codeclab.io.chroma`.

The quality is the QP (0..51, lower is better), as in HM; the default points 22..42 span
about 0.1 to 2 bpp on Kodak.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from codeclab.bitstream.container import StreamHeader
from codeclab.codec import Codec, Encoded, register
from codeclab.errors import BitstreamError, InputError

if TYPE_CHECKING:  # the coding tools load when a picture is coded, not when the codec is listed
    import numpy as np
    import torch

    from codeclab.classic.common.tools import PictureFilter
    from codeclab.io.video import Video

#: Reference pictures of each P picture.
NUM_REFS = 2


@register
class ClassicCodec(Codec):
    """HEVC-class all-intra codec of :mod:`codeclab.classic` (quality = QP)."""

    name = "classic"
    codec_id = 0x0001
    version = 1
    quality_range = (0, 51)
    integer_quality = True
    higher_is_better = False
    default_qualities = (22, 27, 32, 37, 42)
    default_video_qualities = (22, 27, 32, 37)
    supports_video = True
    description = ("CodecLab classic: HEVC-class (quadtree 64..8, NxN 4x4, 35 intra modes, DCT/DST, "
                   "CABAC, sign data hiding, RDOQ, deblocking, RDO, 10-bit internal pictures, CCLM); video: low-delay P, 2 refs, merge/skip/AMVP, "
                   "quarter-sample HEVC interpolation; quality = QP")

    picture_filter: PictureFilter | None = None
    """In-loop filter after deblocking (:mod:`~codeclab.classic.common.tools`); ``None`` in the pure classic codec."""
    neural_intra: bool = False
    """Code with the network intra modes of :mod:`~codeclab.classic.common.nnintra` beside the 35 HEVC modes."""
    sign_hiding: bool = True
    """Sign data hiding (:func:`~codeclab.classic.encoder.analysis.hide_signs`); off only to measure it."""
    rdoq: bool = True
    """Levels by RD cost (:mod:`~codeclab.classic.encoder.rdoq`); encoder-only, nothing in the stream."""
    bit_depth: int = 10
    """Internal bit depth of still pictures, 8 or 10: at 10 the 8-bit RGB is converted to
    10-bit Y'CbCr and coded with 4x finer levels (the stream says which). 10, as the VVenC
    and x265 anchors code: -1.6% BD-rate on 8 Kodak pictures (``benchmarks/classic_tools.py
    --tools ten_bit``). Sequences are coded at their own bit depth (8 or 10)."""

    cclm: bool = True
    """Chroma predicted from luma in still pictures (:mod:`~codeclab.classic.common.cclm`)."""

    def configure(self, *, sign_hiding: bool | None = None, rdoq: bool | None = None,
                  bit_depth: int | None = None, cclm: bool | None = None, **options) -> Codec:
        """Encoder tool switches, to measure each tool (``benchmarks/classic_tools.py``):
        ``sign_hiding``, ``bit_depth`` and ``cclm`` (the stream says which, so any decoder
        reads either) and ``rdoq``."""
        super().configure(**options)
        if sign_hiding is None and rdoq is None and bit_depth is None and cclm is None:
            return self
        if bit_depth is not None and int(bit_depth) not in (8, 10):
            raise InputError(f"classic codes pictures at 8 or 10 bits, not {bit_depth}")
        if bit_depth is not None and int(bit_depth) != 8 and (self.neural_intra or self.picture_filter):
            raise InputError(f"{self.name}: the neural tools work on 8-bit samples")
        codec = type(self)()
        codec.sign_hiding = self.sign_hiding if sign_hiding is None else bool(sign_hiding)
        codec.rdoq = self.rdoq if rdoq is None else bool(rdoq)
        codec.bit_depth = self.bit_depth if bit_depth is None else int(bit_depth)
        codec.cclm = self.cclm if cclm is None else bool(cclm)
        return codec

    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        from codeclab.classic.common.parameters import PictureParams
        from codeclab.classic.common.rgb import planes_to_rgb, rgb_to_planes
        from codeclab.classic.common.tools import join_side_info
        from codeclab.classic.encoder.picture import encode_planes

        tool_id = self.picture_filter.tool_id if self.picture_filter is not None else 0
        neural = self.neural_intra or self.picture_filter is not None  # networks trained on 8-bit samples
        params = PictureParams(qp=int(quality), picture_filter=tool_id, neural_intra=self.neural_intra,
                               sign_hiding=self.sign_hiding, bit_depth=8 if neural else self.bit_depth,
                               cclm=self.cclm)
        height, width = image.shape[-2:]
        original = rgb_to_planes(image, params.matrix, params.bit_depth)
        encoded = encode_planes(original, params, rdoq=self.rdoq)
        planes, payload = encoded.planes, encoded.payload
        stats = {"ctu_bits": encoded.ctu_bits.tolist()}
        if self.picture_filter is not None:
            planes, side_info = self.picture_filter.encode(planes, original, params.qp, (height, width))
            payload = join_side_info(payload, side_info)
            stats["filter_bytes"] = len(side_info)
        recon = planes_to_rgb(planes, height, width, params.matrix, params.bit_depth)
        return Encoded(params.pack(), payload, recon, stats)

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        import torch

        return torch.from_numpy(self.decode_image_array(header, params, payload))

    def decode_image_array(self, header: StreamHeader, params: bytes, payload: bytes) -> np.ndarray:
        """The picture in numba and numpy only: ``codeclab decode`` imports no torch."""
        from codeclab.classic.common.parameters import PictureParams
        from codeclab.classic.common.rgb_output import planes_to_rgb_array
        from codeclab.classic.decoder.picture import decode_planes

        picture_params = PictureParams.unpack(params)
        if header.bit_depth != 8:
            raise BitstreamError(f"classic pictures are 8-bit, the header says {header.bit_depth}")
        if picture_params.bit_depth != 8 and (picture_params.neural_intra or picture_params.picture_filter):
            raise BitstreamError("classic: the neural tools work on 8-bit samples, the stream says 10")
        return planes_to_rgb_array(decode_planes(picture_params, payload, header.height, header.width),
                                   header.height, header.width, picture_params.matrix, picture_params.bit_depth)

    def encode_video(self, video: Video, quality: float, *, intra_period: int = 32) -> Encoded:
        from codeclab.classic.encoder.sequence import encode_sequence

        params, payload, recon, stats = encode_sequence(
            video, int(quality), intra_period, NUM_REFS, self.picture_filter,
            neural_intra=self.neural_intra, sign_hiding=self.sign_hiding, rdoq=self.rdoq)
        return Encoded(params.pack(), payload, recon, stats)

    def decode_video(self, header: StreamHeader, params: bytes, payload: bytes) -> Video:
        from codeclab.classic.common.parameters import SequenceParams
        from codeclab.classic.decoder.sequence import decode_video

        return decode_video(header, SequenceParams.unpack(params), payload)

    def draw_syntax(self, header: StreamHeader, params: bytes, payload: bytes,
                    show: tuple[str, ...], frame: int = 0) -> bytes:
        """PNG of a decoded picture (``frame`` of a sequence) with its syntax drawn."""
        from codeclab.classic.drawing import draw_syntax

        return draw_syntax(header, params, payload, show, frame)

    def describe_params(self, params: bytes) -> dict:
        from codeclab.classic.common.parameters import PictureParams, SequenceParams

        if len(params) > 6:
            q = SequenceParams.unpack(params)
            return {"qp": q.qp, "intra_period": q.intra_period, "num_refs": q.num_refs,
                    "gop": "low-delay P", "tmvp": q.tmvp, "deblocking": q.deblocking,
                    "strong_intra_smoothing": q.strong_smoothing, "ctu": 1 << q.ctu_log2,
                    "min_cu": 1 << q.min_cu_log2, "picture_filter": q.picture_filter,
                    "neural_intra": q.neural_intra, "sign_hiding": q.sign_hiding}
        p = PictureParams.unpack(params)
        return {"qp": p.qp, "matrix": p.matrix.name, "range": "FULL", "chroma": "4:2:0",
                "deblocking": p.deblocking, "strong_intra_smoothing": p.strong_smoothing,
                "ctu": 1 << p.ctu_log2, "min_cu": 1 << p.min_cu_log2,
                "picture_filter": p.picture_filter, "neural_intra": p.neural_intra, "sign_hiding": p.sign_hiding,
                "bit_depth": p.bit_depth, "cclm": p.cclm}
