"""The ffmpeg anchors: H.264 (x264), HEVC (x265), VVC (VVenC), AV1 (SVT-AV1, libaom).

Each class is a table of stated settings; the mechanics live in :mod:`.ffmpeg_image`
(stills, colour path forced to BT.709 full range both ways) and :mod:`.ffmpeg_video`
(sequences, raw 4:2:0 planes). ``Q`` is the quality, ``P`` the intra period.

===========  =====================  ================================================
codec        stills (one frame)      sequences (low delay, no B-frame reordering)
===========  =====================  ================================================
x264         8-bit 4:2:0, ``-qp Q``  IPPP, ``-g P``, 2 refs, ``-tune psnr``
x265         10-bit (yardstick)      IPPP, ``keyint=P``, 2 refs, ``-tune psnr``
vvenc        10-bit (yardstick)      VVenC's low-delay GOP (8 pictures, past refs only)
svtav1       10-bit (yardstick)      ``pred-struct=1`` (low delay), key frame every P
aom          10-bit, all-intra       (stills only)
===========  =====================  ================================================

QP semantics. x264 and x265 apply ``-qp`` to P slices and code intra slices about 3 lower
(``ipratio`` 1.4), so an all-intra picture at QP 32 is coded at about QP 29; this is how
the yardstick ran x265, and x264 is run the same way. x264 counts high-bit-depth QPs on a
scale shifted by 6 per extra bit (10-bit QP 44 is 8-bit QP 32), so x264 codes 8-bit only
and its QP means what x265's does. SVT-AV1's ``-qp`` and libaom's ``-crf`` are on the
encoders' 0..63 quantizer scale, which maps to AV1's quantizer index 0..255 (about x4).

Rates: the payload is the raw elementary stream the encoder wrote (Annex B byte stream for
H.264/HEVC/VVC; for AV1 the low-overhead OBU stream of AV1 section 5.2, i.e. the yardstick's
IVF file minus its 32-byte file header and 12-byte frame header: the same bytes without a
container). The one thing removed is the text SEI message in which x264 and x265 write
their version and full option list (x264 about 0.6 kB, x265 2.2 kB, repeated with every
intra picture): it says nothing about the pictures, yet it is 0.045 bpp on a Kodak image
(a third of x265's rate at QP 47), 0.27 bpp on a 256x256 crop, and half of x265's rate at
QP 32 on the 10-frame sample clip. So x265 runs with ``info=0`` and x264, which has no
such option, through ffmpeg's ``filter_units`` bitstream filter dropping SEI NAL units
(type 6); the coded pictures are unchanged. (The yardstick in ``shared/anchors`` measured
x265 stills with the SEI: its bpp are 2230 bytes per image higher than ours.)

Threads: stills run with ffmpeg's default (the yardstick's setting: bytes identical to
it); sequences run with ``-threads 2`` so that x264, whose decisions depend on its thread
count, writes the same stream on any machine.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from codeclab.anchors.common import AnchorCodec, LazyText, pack_params, rgb_array, rgb_tensor, unpack_params
from codeclab.anchors.ffmpeg_image import decode_picture, encode_picture
from codeclab.anchors.ffmpeg_run import ffmpeg_version
from codeclab.bitstream.container import ColorFormat, StreamHeader
from codeclab.codec import Encoded, register
from codeclab.errors import BitstreamError, UnsupportedError

if TYPE_CHECKING:  # torch and the video path load when a sequence is coded
    import torch

    from codeclab.io.video import Video


def _describe(cls: type[FfmpegAnchor]) -> str:
    text = (f"{cls.standard} via ffmpeg {ffmpeg_version()} ({cls.encoder}; decoder {cls.decoder}). "
            f"Still: {cls.image_args.format(q='Q')}, {cls.image_pix_fmt}, BT.709 full range forced "
            f"both ways, raw {cls.stream_format} stream")
    if cls.supports_video:
        depths = "/".join(str(d) for d in cls.video_bit_depths)
        text += f". Video: {cls.video_args.format(q='Q', p='P')}, {depths}-bit 4:2:0"
    return text


class FfmpegAnchor(AnchorCodec):
    """An encoder of the ffmpeg binary, coding stills and (if ``video_args``) sequences.

    Attributes:
        standard: the coding standard, for the description.
        encoder, decoder: ffmpeg's names of the encoder and of the decoder used.
        stream_format: ffmpeg's raw muxer/demuxer of the elementary stream.
        image_args: encoder options for a still, ``{q}`` the quality.
        image_pix_fmt: the Y'CbCr format a still is coded in.
        video_args: encoder options for a sequence, ``{q}`` and ``{p}`` the intra period
            (only where ``supports_video``).
        video_bit_depths: sample bit depths the encoder codes sequences at.
    """

    higher_is_better = False
    supports_video = True
    standard: ClassVar[str]
    encoder: ClassVar[str]
    decoder: ClassVar[str]
    stream_format: ClassVar[str]
    image_args: ClassVar[str]
    image_pix_fmt: ClassVar[str] = "yuv420p10le"
    video_args: ClassVar[str] = ""
    video_bit_depths: ClassVar[tuple[int, ...]] = ()
    description = LazyText(_describe)

    # -- stills -------------------------------------------------------------------------
    def encode_image(self, image: torch.Tensor, quality: float) -> Encoded:
        rgb = rgb_array(image)
        stream = encode_picture(rgb, self.image_args.format(q=quality).split(), self.image_pix_fmt,
                                self.stream_format, what=f"{self.name} encoder")
        recon = decode_picture(stream, self.stream_format, self.decoder, *rgb.shape[:2],
                               what=f"{self.name} decoder")
        return Encoded(pack_params(quality), stream, rgb_tensor(recon))

    def decode_image(self, header: StreamHeader, params: bytes, payload: bytes) -> torch.Tensor:
        unpack_params(params)
        if header.color_format != ColorFormat.RGB or header.bit_depth != 8:
            raise BitstreamError(f"{self.name} stills are 8-bit RGB, the header says "
                                 f"{header.color_format.name} {header.bit_depth}-bit")
        rgb = decode_picture(payload, self.stream_format, self.decoder, header.height, header.width,
                             what=f"{self.name} decoder")
        return rgb_tensor(rgb)

    # -- sequences ----------------------------------------------------------------------
    def coded_bit_depth(self, bit_depth: int) -> int:
        """The smallest bit depth the encoder codes that holds ``bit_depth``-bit samples."""
        for depth in sorted(self.video_bit_depths):
            if depth >= bit_depth:
                return depth
        raise UnsupportedError(f"{self.name} codes {'/'.join(map(str, self.video_bit_depths))}-bit video, "
                               f"not {bit_depth}-bit")

    def encode_video(self, video: Video, quality: float, *, intra_period: int = 32) -> Encoded:
        if not self.supports_video:
            raise UnsupportedError(f"codec {self.name} does not code video")
        from codeclab.anchors.ffmpeg_video import decode_sequence, encode_sequence
        from codeclab.io.video import Video

        params = pack_params(quality, intra_period)
        coded_bits = self.coded_bit_depth(video.bit_depth)
        args = self.video_args.format(q=quality, p=intra_period).split()
        stream = encode_sequence(video, args, coded_bits, self.stream_format, what=f"{self.name} encoder")
        y, cb, cr = decode_sequence(stream, self.stream_format, self.decoder, video.num_frames, video.height,
                                    video.width, coded_bits, video.bit_depth, what=f"{self.name} decoder")
        recon = Video(y, cb, cr, video.fps, ColorFormat.YUV420, video.bit_depth, video.matrix, video.range)
        return Encoded(params, stream, recon)

    def decode_video(self, header: StreamHeader, params: bytes, payload: bytes) -> Video:
        if not self.supports_video:
            raise UnsupportedError(f"codec {self.name} does not code video")
        from codeclab.anchors.ffmpeg_video import decode_sequence
        from codeclab.io.video import Video

        unpack_params(params)
        if header.color_format != ColorFormat.YUV420 or header.fps is None:
            raise BitstreamError(f"{self.name} sequences are 4:2:0 with a frame rate, the header says "
                                 f"{header.color_format.name}, fps {header.fps}")
        coded_bits = self.coded_bit_depth(header.bit_depth)
        y, cb, cr = decode_sequence(payload, self.stream_format, self.decoder, header.frame_count, header.height,
                                    header.width, coded_bits, header.bit_depth, what=f"{self.name} decoder")
        return Video(y, cb, cr, header.fps, ColorFormat.YUV420, header.bit_depth, header.matrix, header.range)


@register
class X264(FfmpegAnchor):
    name = "x264"
    codec_id = 0x0110
    quality_range = (0, 51)
    default_qualities = (22, 27, 32, 37, 42, 47)
    default_video_qualities = (22, 27, 32, 37)
    standard = "H.264/AVC"
    encoder, decoder, stream_format = "libx264", "h264", "h264"
    image_args = "-c:v libx264 -preset medium -qp {q} -bsf:v filter_units=remove_types=6"
    image_pix_fmt = "yuv420p"
    video_args = ("-c:v libx264 -preset medium -tune psnr -bf 0 -refs 2 -g {p} -keyint_min {p} "
                  "-sc_threshold 0 -qp {q} -threads 2 -bsf:v filter_units=remove_types=6")
    video_bit_depths = (8,)


@register
class X265(FfmpegAnchor):
    name = "x265"
    codec_id = 0x0111
    quality_range = (0, 51)
    default_qualities = (22, 27, 32, 37, 42, 47)
    default_video_qualities = (22, 27, 32, 37)
    standard = "HEVC/H.265"
    encoder, decoder, stream_format = "libx265", "hevc", "hevc"
    image_args = "-c:v libx265 -x265-params qp={q}:keyint=1:info=0:log-level=0 -preset medium"
    video_args = ("-c:v libx265 -preset medium -tune psnr "
                  "-x265-params keyint={p}:min-keyint={p}:bframes=0:ref=2:scenecut=0:qp={q}:info=0:log-level=0 -threads 2")
    video_bit_depths = (8, 10)


@register
class VVenC(FfmpegAnchor):
    """VVC through VVenC. Its low-delay GOP, the only one ffmpeg's wrapper can select, has
    8 pictures coded in order whose B slices predict from past pictures only (JVET's
    "low delay B"), and allows no refresh type but ``none``: the intra pictures every P
    frames are not IDR/CRA random-access points. ``-qpa 0`` turns off the perceptual QP
    adaptation for sequences, VVenC's counterpart of ``-tune psnr``; stills keep the
    yardstick's default (on)."""

    name = "vvenc"
    codec_id = 0x0112
    quality_range = (0, 63)
    default_qualities = (22, 27, 32, 37, 42, 47)
    default_video_qualities = (22, 27, 32, 37)
    standard = "VVC/H.266"
    encoder, decoder, stream_format = "libvvenc", "vvc", "vvc"
    image_args = "-c:v libvvenc -qp {q} -preset medium"
    video_args = ("-c:v libvvenc -preset medium -qp {q} -qpa 0 "
                  "-vvenc-params DecodingRefreshType=none:GOPSize=8:PicReordering=0:IntraPeriod={p} -threads 2")
    video_bit_depths = (10,)


@register
class SvtAv1(FfmpegAnchor):
    name = "svtav1"
    codec_id = 0x0113
    quality_range = (1, 63)
    default_qualities = (20, 30, 40, 48, 55, 62)
    default_video_qualities = (24, 35, 46, 56)
    standard = "AV1"
    encoder, decoder, stream_format = "libsvtav1", "libdav1d", "obu"
    image_args = "-c:v libsvtav1 -qp {q} -svtav1-params rc=0:enable-tf=0 -preset 6"
    video_args = "-c:v libsvtav1 -preset 6 -qp {q} -g {p} -svtav1-params rc=0:pred-struct=1 -threads 2"
    video_bit_depths = (8, 10)


@register
class Aom(FfmpegAnchor):
    name = "aom"
    codec_id = 0x0114
    quality_range = (0, 63)
    default_qualities = (12, 20, 28, 36, 44, 52)
    supports_video = False
    standard = "AV1 all-intra"
    encoder, decoder, stream_format = "libaom-av1", "libdav1d", "obu"
    image_args = "-c:v libaom-av1 -usage allintra -cpu-used 6 -crf {q} -b:v 0"
