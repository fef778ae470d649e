"""Pictures and sequences in and out of CodecLab, and the sample-format conversions between them.

    image    read_image (PNG, JPEG, BMP, TIFF, PPM ...) -> (C, H, W) uint8/uint16; write_png
    y4m      read_y4m / write_y4m: raw Y'CbCr sequences with their header tags
    video    the Video type
    video_reader  read_video: Y4M, or MP4/MKV/... through PyAV
    color    RGB <-> Y'CbCr, BT.601/BT.709, full/limited range, float and fixed-point paths
    chroma   4:4:4 <-> 4:2:2 / 4:2:0 resampling for each chroma siting
    padding  pad to a multiple of the block size, crop back
    files    atomic writes and safe output paths
"""

from __future__ import annotations

from codeclab.lazy import lazy_exports

# Each name loads its module on first use (:mod:`codeclab.lazy`).
__getattr__, __dir__ = lazy_exports(__name__, {
    "downsample_chroma": ".chroma",
    "merge_ycbcr": ".chroma",
    "split_ycbcr": ".chroma",
    "upsample_chroma": ".chroma",
    "rgb_to_ycbcr": ".color",
    "rgb_to_ycbcr_int": ".color",
    "ycbcr_to_rgb": ".color",
    "ycbcr_to_rgb_int": ".color",
    "image_to_numpy": ".image",
    "numpy_to_image": ".image",
    "png_bytes": ".image",
    "read_image": ".image",
    "write_png": ".image",
    "crop": ".padding",
    "pad_to_multiple": ".padding",
    "padded_size": ".padding",
    "Video": ".video",
    "read_video": ".video_reader",
    "chroma_siting": ".y4m",
    "read_y4m": ".y4m",
    "write_y4m": ".y4m",
    "y4m_bytes": ".y4m",
})

__all__ = [
    "Video", "read_video", "read_y4m", "write_y4m", "y4m_bytes", "chroma_siting",
    "read_image", "write_png", "png_bytes", "image_to_numpy", "numpy_to_image",
    "rgb_to_ycbcr", "ycbcr_to_rgb", "rgb_to_ycbcr_int", "ycbcr_to_rgb_int",
    "downsample_chroma", "upsample_chroma", "split_ycbcr", "merge_ycbcr",
    "pad_to_multiple", "crop", "padded_size",
]
