"""Chroma subsampling (4:4:4 -> 4:2:2 / 4:2:0) and its inverse, for each chroma siting.

Where a subsampled chroma sample sits relative to the luma grid (ITU-T H.273 §8.7,
``chroma_sample_loc_type``) decides the right filters. Along one axis, with x the
full-resolution samples and c the half-resolution ones, a chroma sample is either

* **between** two luma samples (position 2k + 1/2)::

      down:  c[k]    = (x[2k] + x[2k+1]) / 2                     2-tap box
      up:    y[2k]   = (3 c[k] + c[k-1]) / 4                       linear interpolation
             y[2k+1] = (3 c[k] + c[k+1]) / 4                       at distances 1/4, 3/4

* or **co-sited** with the even luma sample (position 2k)::

      down:  c[k]    = (x[2k-1] + 2 x[2k] + x[2k+1]) / 4         [1 2 1] / 4
      up:    y[2k]   = c[k]
             y[2k+1] = (c[k] + c[k+1]) / 2

The sitings this module knows (horizontal, vertical):

    "center"   between, between   JPEG/JFIF, MPEG-1, H.273 type 1, Y4M C420jpeg (default)
    "left"     co-sited, between  MPEG-2, H.264/HEVC default, H.273 type 0, Y4M C420mpeg2
    "topleft"  co-sited, co-sited H.273 type 2, Y4M C420paldv

4:2:2 subsamples only horizontally (with the horizontal rule of the siting). The upsampling
"between" filter is libjpeg's "fancy" triangle upsampler (jdsample.c, h2v2_fancy_upsample).
Samples outside the picture repeat the edge sample; an odd length L gives ceil(L/2) chroma
samples, and upsampling back crops to L.

The filters are applied with integer weights and divided once at the end, so integer
planes (uint8/uint16) come out exactly rounded (half up) in their own dtype, and float planes
come out unrounded: ``(weighted sum + total/2) >> log2(total)`` versus ``weighted sum / total``.
"""

from __future__ import annotations

import torch

from codeclab.bitstream.container import ColorFormat
from codeclab.errors import InputError
from codeclab.io.video import SUBSAMPLING

#: (horizontal co-sited?, vertical co-sited?) of each chroma siting.
SITINGS = {"center": (False, False), "left": (True, False), "topleft": (True, True)}

UPSAMPLING_METHODS = ("bilinear", "nearest")


def _siting(siting: str) -> tuple[bool, bool]:
    if siting not in SITINGS:
        raise InputError(f"chroma siting must be one of {', '.join(SITINGS)}, got {siting!r}")
    return SITINGS[siting]


def _accumulator(plane: torch.Tensor) -> torch.Tensor:
    """Floats stay as they are; integers go to int32 (room for 16-bit samples x weight 16)."""
    return plane if plane.is_floating_point() else plane.to(torch.int32)


def _finish(acc: torch.Tensor, total: int, dtype: torch.dtype) -> torch.Tensor:
    """Divide the weighted sum by ``total`` (a power of two): exact rounding for integers."""
    if acc.is_floating_point():
        return (acc / total).to(dtype)
    shift = total.bit_length() - 1
    return ((acc + total // 2) >> shift).to(dtype)


def _down_axis(x: torch.Tensor, dim: int, cosited: bool) -> tuple[torch.Tensor, int]:
    """Weighted sums for halving ``dim`` (length L -> ceil(L/2)), and their total weight."""
    length = x.shape[dim]
    even = torch.arange(0, length, 2, device=x.device)
    right = (even + 1).clamp(max=length - 1)
    if cosited:
        left = (even - 1).clamp(min=0)
        return x.index_select(dim, left) + 2 * x.index_select(dim, even) + x.index_select(dim, right), 4
    return x.index_select(dim, even) + x.index_select(dim, right), 2


def _up_axis(c: torch.Tensor, dim: int, cosited: bool, length: int) -> tuple[torch.Tensor, int]:
    """Weighted sums for doubling ``dim`` to ``length`` (2n - 1 or 2n), and their total weight."""
    n = c.shape[dim]
    if length not in (2 * n - 1, 2 * n):
        raise InputError(f"cannot upsample {n} chroma samples to {length} (needs {2 * n - 1} or {2 * n})")
    out = torch.arange(length, device=c.device)
    nearest, odd = out // 2, (out % 2).bool()
    if cosited:
        # Even outputs: 2 c[k] / 2; odd outputs: (c[k] + c[k+1]) / 2.
        other = torch.where(odd, (nearest + 1).clamp(max=n - 1), nearest)
        return c.index_select(dim, nearest) + c.index_select(dim, other), 2
    # Each output is 1/4 away from its nearest chroma sample and 3/4 from the next one out.
    farther = torch.where(odd, (nearest + 1).clamp(max=n - 1), (nearest - 1).clamp(min=0))
    return 3 * c.index_select(dim, nearest) + c.index_select(dim, farther), 4


def _check_plane(plane: torch.Tensor) -> None:
    if plane.dim() < 2 or plane.shape[-1] == 0 or plane.shape[-2] == 0:
        raise InputError(f"expected a non-empty (..., H, W) plane, got shape {tuple(plane.shape)}")


def downsample_chroma(plane: torch.Tensor, sx: int = 2, sy: int = 2, siting: str = "center") -> torch.Tensor:
    """Subsample a (..., H, W) chroma plane by ``sx``, ``sy`` in {1, 2} -> (..., ceil(H/sy), ceil(W/sx))."""
    _check_plane(plane)
    if sx not in (1, 2) or sy not in (1, 2):
        raise InputError(f"chroma subsampling factors must be 1 or 2, got {sx}x{sy}")
    cosited_x, cosited_y = _siting(siting)
    acc, total = _accumulator(plane), 1
    if sx == 2:
        acc, weight = _down_axis(acc, -1, cosited_x)
        total *= weight
    if sy == 2:
        acc, weight = _down_axis(acc, -2, cosited_y)
        total *= weight
    return _finish(acc, total, plane.dtype)


def upsample_chroma(plane: torch.Tensor, height: int, width: int, siting: str = "center",
                    method: str = "bilinear") -> torch.Tensor:
    """Bring a (..., h, w) chroma plane back to (..., height, width); the factors follow from the sizes.

    ``method="bilinear"`` uses the siting's interpolation filters above; ``"nearest"``
    repeats each chroma sample (exact, and the inverse of nothing but itself).
    """
    _check_plane(plane)
    if method not in UPSAMPLING_METHODS:
        raise InputError(f"upsampling method must be one of {', '.join(UPSAMPLING_METHODS)}, got {method!r}")
    cosited_x, cosited_y = _siting(siting)
    acc, total = _accumulator(plane), 1
    for dim, length, cosited in ((-1, width, cosited_x), (-2, height, cosited_y)):
        if acc.shape[dim] == length:
            continue
        if method == "nearest":
            if length not in (2 * acc.shape[dim] - 1, 2 * acc.shape[dim]):
                raise InputError(f"cannot upsample {acc.shape[dim]} chroma samples to {length}")
            acc = acc.repeat_interleave(2, dim=dim).narrow(dim, 0, length)
        else:
            acc, weight = _up_axis(acc, dim, cosited, length)
            total *= weight
    return _finish(acc, total, plane.dtype)


def split_ycbcr(ycbcr: torch.Tensor, color_format: ColorFormat,
                siting: str = "center") -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(..., 3, H, W) 4:4:4 Y'CbCr -> planes (Y, Cb, Cr) with the chroma of ``color_format``."""
    if ycbcr.dim() < 3 or ycbcr.shape[-3] != 3:
        raise InputError(f"expected a (..., 3, H, W) YCbCr tensor, got shape {tuple(ycbcr.shape)}")
    if color_format not in SUBSAMPLING:
        raise InputError(f"cannot split YCbCr into {ColorFormat(color_format).name} planes")
    sx, sy = SUBSAMPLING[color_format]
    y, cb, cr = ycbcr.unbind(-3)
    return y, downsample_chroma(cb, sx, sy, siting), downsample_chroma(cr, sx, sy, siting)


def merge_ycbcr(y: torch.Tensor, cb: torch.Tensor, cr: torch.Tensor, siting: str = "center",
                method: str = "bilinear") -> torch.Tensor:
    """Planes (Y, Cb, Cr) of any subsampling -> (..., 3, H, W) 4:4:4 Y'CbCr."""
    height, width = y.shape[-2:]
    cb = upsample_chroma(cb, height, width, siting, method)
    cr = upsample_chroma(cr, height, width, siting, method)
    return torch.stack([y, cb, cr], dim=-3)
