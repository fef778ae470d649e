"""Anchor codecs: real standard encoders behind CodecLab's :class:`~codeclab.codec.Codec`.

Every CodecLab codec is compared with these, at the settings of the yardstick in
``shared/anchors`` (its README states them); importing this package registers them all.

=======  ======  ==========================================  ==========  ======
name     id      library                                     quality     video
=======  ======  ==========================================  ==========  ======
jpeg     0x0101  Pillow + libjpeg-turbo                      1..100 up   no
webp     0x0102  Pillow + libwebp                            0..100 up   no
heif     0x0103  pillow-heif + libheif (x265 / libde265)     0..100 up   no
x264     0x0110  ffmpeg libx264 (H.264)                      QP 0..51    yes
x265     0x0111  ffmpeg libx265 (HEVC)                       QP 0..51    yes
vvenc    0x0112  ffmpeg libvvenc (VVC)                       QP 0..63    yes
svtav1   0x0113  ffmpeg libsvtav1 (AV1)                      QP 1..63    yes
aom      0x0114  ffmpeg libaom-av1 (AV1, all-intra)          CRF 0..63   no
=======  ======  ==========================================  ==========  ======

The payload of each ``.clb`` file is the external bitstream exactly as its encoder wrote
it (a JPEG/WebP/HEIF file, or a raw elementary stream for ffmpeg), so the rate of an
anchor is the size of that bitstream. The reconstruction is what the matching decoder
returns, and decoding the payload again reproduces it.

Modules: :mod:`.pillow` (JPEG, WebP), :mod:`.heif`, :mod:`.ffmpeg` (the ffmpeg codecs and
their settings) over :mod:`.ffmpeg_image` (the colour path for stills),
:mod:`.ffmpeg_video` (raw 4:2:0 sequences) and :mod:`.ffmpeg_run` (running the binary).
"""

from __future__ import annotations

from codeclab.anchors.ffmpeg import X264, X265, Aom, FfmpegAnchor, SvtAv1, VVenC
from codeclab.anchors.heif import Heif
from codeclab.anchors.pillow import Jpeg, PillowAnchor, WebP

__all__ = ["Aom", "FfmpegAnchor", "Heif", "Jpeg", "PillowAnchor", "SvtAv1", "VVenC", "WebP", "X264", "X265"]
