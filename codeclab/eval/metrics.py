"""Distortion and rate metrics: PSNR (RGB and per YCbCr plane), MS-SSIM, bpp and kbit/s.

Every number CodecLab reports is computed here, with the conventions of the yardstick the
project compares against (``shared/anchors/measure_classic.py``, itself CompressAI's
``eval_model`` convention) for images and of the HM/VTM reference software for video.

PSNR (peak signal-to-noise ratio) of a reference ``a`` and a test ``b``::

    MSE  = mean((a - b)^2)                       in float64, over every sample given
    PSNR = 10 * log10(peak^2 / MSE)   [dB]

* Images: ``psnr_rgb`` takes the MSE over all three RGB channels at once, peak 255.
* Video:  ``psnr_planes`` gives one PSNR per plane (Y, Cb, Cr) per frame, with HM's peak
  ``255 * 2^(bit_depth - 8)`` (255 for 8 bit, 1020 for 10 bit; see :func:`hm_peak`), and
  the sequence value is the mean of the per-frame PSNRs, as HM and VTM print it and as the
  JVET common test conditions (e.g. JVET-T2010) tabulate it. The combined figure of the
  CTC is the 6:1:1 weighted ``PSNR_YUV = (6 Y + Cb + Cr) / 8`` (:func:`psnr_yuv_611`).

Lossless: identical inputs have MSE 0 and PSNR ``inf`` (CompressAI and the yardstick do the
same; HM prints 999.99 instead). A mean over frames or images that holds one ``inf`` is
``inf``: a curve with a lossless point must be cut before BD-rate, never averaged with it.

MS-SSIM (Wang, Simoncelli, Bovik, "Multiscale structural similarity for image quality
assessment", Asilomar 2003) is pytorch-msssim's, on float32 RGB in [0, 255] with
``data_range=255``: exactly the yardstick's call.

Rates: ``bpp = 8 * bytes / (W * H)`` from the size of the real file (container included),
``kbit/s = 8 * bytes * fps / frames / 1000`` (SI kilo, as HM prints ``kbps``).
"""

from __future__ import annotations

import os
from typing import Union

import numpy as np
import torch

from codeclab.io.video import Video

ArrayLike = Union[torch.Tensor, np.ndarray]
Planes = Union[Video, tuple]

#: pytorch-msssim's default 5-scale MS-SSIM pools four times by 2 with an 11-tap window, so
#: the short side must exceed (11 - 1) * 2^4 = 160 samples.
MS_SSIM_MIN_SIDE = 161

#: Samples processed at once in the per-frame MSE, to bound float64 scratch memory (128 MiB).
_CHUNK_SAMPLES = 1 << 24


def _float64(x: ArrayLike) -> torch.Tensor:
    if isinstance(x, np.ndarray):
        return torch.from_numpy(x.astype(np.float64, copy=False))
    return x.to(torch.float64)


def _check_same_shape(a: ArrayLike, b: ArrayLike) -> None:
    if tuple(a.shape) != tuple(b.shape):
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")


def mse(a: ArrayLike, b: ArrayLike) -> float:
    """Mean squared error over all samples, in float64: for integer samples up to 16 bit
    every squared difference is an integer below 2^32, held without rounding."""
    _check_same_shape(a, b)
    return float(torch.mean((_float64(a) - _float64(b)) ** 2))


def psnr_from_mse(mse_value, peak: float = 255.0):
    """``10 log10(peak^2 / mse)`` in dB; ``inf`` where ``mse == 0``. Works elementwise on
    numpy arrays (per-frame MSEs) and returns a float for a scalar."""
    m = np.asarray(mse_value, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = 10.0 * np.log10(peak * peak / m)
    return float(out) if out.ndim == 0 else out


def psnr(a: ArrayLike, b: ArrayLike, peak: float = 255.0) -> float:
    """PSNR in dB of ``b`` against ``a`` over all their samples; ``inf`` if identical."""
    return psnr_from_mse(mse(a, b), peak)


def hm_peak(bit_depth: int) -> int:
    """Peak value of HM/VTM PSNR: ``255 << (bit_depth - 8)``, i.e. 255 at 8 bit, 1020 at 10.

    HM (``TEncGOP::xCalculateAddPSNR``) and VTM (``EncGOP::xCalculateAddPSNR``) both use it,
    so numbers computed here match their logs and the CTC tables. It is not the largest
    code value (1023 at 10 bit; ffmpeg's ``psnr`` filter uses that): the two conventions
    differ by ``20 log10(1023 / 1020) = 0.026`` dB at 10 bit and agree at 8 bit.
    """
    if bit_depth < 8:
        raise ValueError(f"bit depth must be at least 8, got {bit_depth}")
    return 255 << (bit_depth - 8)


def psnr_rgb(a: ArrayLike, b: ArrayLike) -> float:
    """PSNR of two 8-bit RGB images, MSE over all three channels, peak 255 (the yardstick's
    and CompressAI's PSNR-RGB). Layout (3,H,W) or (H,W,3) gives the same number."""
    for x in (a, b):
        if x.dtype != (torch.uint8 if isinstance(x, torch.Tensor) else np.uint8):
            raise ValueError(f"psnr_rgb expects uint8 images, got {x.dtype}")
    return psnr(a, b, 255.0)


def ms_ssim_rgb(a: torch.Tensor, b: torch.Tensor) -> float:
    """MS-SSIM of two (3,H,W) uint8 RGB images, by pytorch-msssim on float32 [0, 255].

    Raises ValueError when the short side is below :data:`MS_SSIM_MIN_SIDE` (161): the five
    scales do not fit, and a NaN would silently poison the means of a benchmark.
    """
    from pytorch_msssim import ms_ssim

    _check_same_shape(a, b)
    if a.ndim != 3 or a.shape[0] != 3:
        raise ValueError(f"ms_ssim_rgb expects (3,H,W) images, got {tuple(a.shape)}")
    if min(a.shape[-2:]) < MS_SSIM_MIN_SIDE:
        raise ValueError(f"MS-SSIM needs both sides >= {MS_SSIM_MIN_SIDE} px, "
                         f"got {a.shape[-1]}x{a.shape[-2]}")
    with torch.no_grad():
        return float(ms_ssim(a[None].float(), b[None].float(), data_range=255, size_average=True))


def ms_ssim_db(ms_ssim_value):
    """MS-SSIM on a dB scale, ``-10 log10(1 - MS-SSIM)`` (CompressAI's plots): it spreads
    the values near 1 where codecs differ. ``inf`` at 1; elementwise on arrays."""
    x = np.asarray(ms_ssim_value, dtype=np.float64)
    with np.errstate(divide="ignore"):
        out = -10.0 * np.log10(1.0 - x)
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- video planes
def _per_frame_mse(a: torch.Tensor, b: torch.Tensor) -> np.ndarray:
    """MSE of each frame of two (T,H,W) planes, in frame chunks to bound memory."""
    _check_same_shape(a, b)
    step = max(1, _CHUNK_SAMPLES // max(1, a[0].numel()))
    out = [torch.mean((_float64(a[t:t + step]) - _float64(b[t:t + step])) ** 2, dim=(1, 2))
           for t in range(0, a.shape[0], step)]
    return torch.cat(out).numpy()


def _as_plane_stack(media: Planes) -> tuple[tuple[torch.Tensor, ...], int | None]:
    """(Y, Cb, Cr) or (Y,) as (T,H,W) tensors, and the bit depth the media declares."""
    if isinstance(media, Video):
        planes = (media.y,) if media.cb is None else (media.y, media.cb, media.cr)
        return planes, media.bit_depth
    planes = tuple(torch.as_tensor(p) for p in media)
    if len(planes) not in (1, 3):
        raise ValueError(f"expected (Y,) or (Y, Cb, Cr) planes, got {len(planes)}")
    # A single frame may be given as (H,W) planes.
    return tuple(p[None] if p.ndim == 2 else p for p in planes), None


def psnr_planes_per_frame(ref: Planes, test: Planes, bit_depth: int | None = None
                          ) -> dict[str, np.ndarray]:
    """PSNR of each plane in each frame: ``{"y": (T,), "cb": (T,), "cr": (T,)}`` in dB.

    ``ref`` and ``test`` are :class:`Video` objects or tuples of planes, each (T,H,W) or one
    (H,W) frame. The peak is :func:`hm_peak` of ``bit_depth``, which defaults to the
    Videos' bit depth, or 8 for uint8 planes. Grey input gives only ``"y"``.
    """
    ref_planes, ref_depth = _as_plane_stack(ref)
    test_planes, test_depth = _as_plane_stack(test)
    if len(ref_planes) != len(test_planes):
        raise ValueError(f"{len(ref_planes)} reference planes vs {len(test_planes)} test planes")
    declared = {d for d in (ref_depth, test_depth) if d is not None}
    if len(declared) > 1:
        raise ValueError(f"bit depths differ: {ref_depth} vs {test_depth}")
    if bit_depth is None:
        if declared:
            bit_depth = declared.pop()
        elif ref_planes[0].dtype == torch.uint8:
            bit_depth = 8
        else:
            raise ValueError(f"give bit_depth for {ref_planes[0].dtype} planes")
    peak = hm_peak(bit_depth)
    names = ("y", "cb", "cr")
    return {name: psnr_from_mse(_per_frame_mse(r, t), peak).reshape(-1)
            for name, r, t in zip(names, ref_planes, test_planes)}


def psnr_planes(ref: Planes, test: Planes, bit_depth: int | None = None) -> dict[str, float]:
    """Sequence PSNR per plane, ``{"y", "cb", "cr"}`` in dB: the mean over frames of the
    per-frame PSNRs (HM/VTM and JVET CTC convention; not the PSNR of the pooled MSE).
    Arguments as in :func:`psnr_planes_per_frame`."""
    per_frame = psnr_planes_per_frame(ref, test, bit_depth)
    return {name: float(np.mean(values)) for name, values in per_frame.items()}


def psnr_yuv_611(psnr_y, psnr_cb, psnr_cr):
    """The combined PSNR ``(6 PSNR_Y + PSNR_Cb + PSNR_Cr) / 8`` of 4:2:0 video comparisons
    (Ohm, Sullivan, Schwarz, Tan, Wiegand, "Comparison of the coding efficiency of video
    coding standards", IEEE TCSVT 22(12), 2012; JVET's BD-rate sheets use the same weights).

    Elementwise on arrays. Being linear, averaging it over frames equals combining the
    frame-averaged plane PSNRs.
    """
    return (6 * psnr_y + psnr_cb + psnr_cr) / 8


# --------------------------------------------------------------------------- rates
def _num_bytes(num_bytes_or_path: int | str | os.PathLike) -> int:
    if isinstance(num_bytes_or_path, (str, os.PathLike)):
        return os.path.getsize(num_bytes_or_path)
    if isinstance(num_bytes_or_path, bool) or int(num_bytes_or_path) != num_bytes_or_path:
        raise ValueError(f"byte count must be an integer, got {num_bytes_or_path!r}")
    if num_bytes_or_path < 0:
        raise ValueError(f"byte count must be >= 0, got {num_bytes_or_path}")
    return int(num_bytes_or_path)


def bpp(num_bytes_or_path: int | str | os.PathLike, width: int, height: int) -> float:
    """Bits per pixel ``8 * bytes / (width * height)``; a path is measured on disk."""
    if width <= 0 or height <= 0:
        raise ValueError(f"image size must be positive, got {width}x{height}")
    return 8.0 * _num_bytes(num_bytes_or_path) / (width * height)


def bitrate_kbps(num_bytes_or_path: int | str | os.PathLike, num_frames: int, fps) -> float:
    """Bit rate in kbit/s (1 kbit = 1000 bits) of a stream of ``num_frames`` frames played at
    ``fps`` frames per second (int, float or Fraction): ``8 * bytes * fps / frames / 1000``."""
    if num_frames <= 0 or fps <= 0:
        raise ValueError(f"frames and fps must be positive, got {num_frames}, {fps}")
    return 8.0 * _num_bytes(num_bytes_or_path) * float(fps) / num_frames / 1000.0
