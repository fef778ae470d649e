"""RGB <-> Y'CbCr: the BT.601 / BT.709 colour-difference transform, full and limited range.

With gamma-corrected components E'R, E'G, E'B in [0, 1] (Rec. ITU-R BT.601-7 §2.5.1-2,
Rec. ITU-R BT.709-6 §3.2-3.3)::

    E'Y  = Kr E'R + (1 - Kr - Kb) E'G + Kb E'B
    E'Cb = (E'B - E'Y) / (2 (1 - Kb))                E'Cb, E'Cr in [-1/2, 1/2]
    E'Cr = (E'R - E'Y) / (2 (1 - Kr))

    BT.601: Kr = 0.299,   Kb = 0.114             BT.709: Kr = 0.2126,  Kb = 0.0722

Code values at n bits (ITU-T H.273 §8.3, equations for VideoFullRangeFlag 0 and 1)::

    RGB:                            R = (2^n - 1) E'R, likewise G, B
    limited ("studio") range:       Y = 2^(n-8) (219 E'Y + 16)      C = 2^(n-8) (224 E'C + 128)
    full range (JFIF, Rec. T.871):  Y = (2^n - 1) E'Y               C = (2^n - 1) E'C + 2^(n-1)

so for each (matrix, range, n) the conversion is affine on code values,
``YCbCr = A · RGB + o``, and its inverse is ``RGB = A^-1 (YCbCr - o)``. White maps to
Y = 235·2^(n-8) (limited) or 2^n - 1 (full); every grey has Cb = Cr = 128·2^(n-8) = 2^(n-1).

Two paths compute it on ``(..., 3, H, W)`` tensors:

* **float** (:func:`rgb_to_ycbcr`, :func:`ycbcr_to_rgb`): real arithmetic, no rounding,
  no clipping, on code values divided by ``2^n - 1``. RGB is therefore in [0, 1] as learned
  models like it, and so is YCbCr: limited-range white has Y = 235/255, a full-range grey
  has Cb = 128/255 (not 0.5: the chroma offset 2^(n-1) is not half of 2^n - 1).
  ``round(x * (2^n - 1))`` gives the code value.
* **integer** (:func:`rgb_to_ycbcr_int`, :func:`ycbcr_to_rgb_int`): the same matrix in fixed
  point with :data:`FRACTION_BITS` fractional bits, one rounding (half up) per output
  sample, clipping to [0, 2^n - 1]; in and out at the same bit depth n. Bit-exact on every
  machine, so codecs convert with it. The coefficients of each row are rounded so that they
  sum exactly to the rounded row sum, which keeps greys exactly grey (Cb = Cr = 2^(n-1)) and
  full-range white exactly at 2^n - 1. It equals the float path rounded half up, except
  where the exact value lies within that fixed-point error of a rounding tie (then by 1).
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

import numpy as np

from codeclab.bitstream.container import Matrix
from codeclab.errors import InputError

if TYPE_CHECKING:  # the tensor paths import torch when called: the numpy path needs none
    import torch

#: (Kr, Kb) of each colour matrix (BT.601-7 §2.5.1, BT.709-6 §3.2).
KR_KB = {Matrix.BT601: (0.299, 0.114), Matrix.BT709: (0.2126, 0.0722)}

#: Fractional bits of the integer path's coefficients. Each is within 2^-21 of exact (the
#: adjusted G column within 3 * 2^-21), so before rounding an output is within
#: 5 * 2^-21 * (2^n - 1) of exact: 0.0006 code values at 8 bits, 0.0025 at 10, 0.16 at 16.
FRACTION_BITS = 20

_MATRIX_NAMES = {"bt601": Matrix.BT601, "601": Matrix.BT601, "bt709": Matrix.BT709, "709": Matrix.BT709}


def as_matrix(matrix: str | Matrix) -> Matrix:
    """``"bt601"``/``"bt709"`` (or ``Matrix.BT601``/``BT709``) as a :class:`Matrix`."""
    if isinstance(matrix, Matrix):
        if matrix in KR_KB:
            return matrix
    elif isinstance(matrix, str) and matrix.lower() in _MATRIX_NAMES:
        return _MATRIX_NAMES[matrix.lower()]
    raise InputError(f"colour matrix must be bt601 or bt709, got {matrix!r}")


def rgb_to_ycbcr_matrix(matrix: str | Matrix) -> np.ndarray:
    """The 3x3 matrix from (E'R, E'G, E'B) to (E'Y, E'Cb, E'Cr), rows as in the equations above."""
    kr, kb = KR_KB[as_matrix(matrix)]
    kg = 1.0 - kr - kb
    return np.array([
        [kr, kg, kb],
        [-kr / (2 * (1 - kb)), -kg / (2 * (1 - kb)), (1 - kb) / (2 * (1 - kb))],
        [(1 - kr) / (2 * (1 - kr)), -kg / (2 * (1 - kr)), -kb / (2 * (1 - kr))],
    ])


@cache
def code_value_transform(matrix: Matrix, full_range: bool, bit_depth: int) -> tuple[np.ndarray, np.ndarray]:
    """``(A, o)`` with ``YCbCr = A · RGB + o`` on n-bit code values (float64, exact)."""
    if not 1 <= bit_depth <= 16:
        raise InputError(f"bit depth {bit_depth} outside 1..16")
    peak = 2.0 ** bit_depth - 1  # the RGB code value of E' = 1
    if full_range:
        y_scale, c_scale = 1.0, 1.0
        offsets = np.array([0.0, 2 ** (bit_depth - 1), 2 ** (bit_depth - 1)])
    else:
        step = 2.0 ** (bit_depth - 8)
        y_scale, c_scale = 219 * step / peak, 224 * step / peak
        offsets = np.array([16 * step, 128 * step, 128 * step])
    scale = np.array([[y_scale], [c_scale], [c_scale]])
    return scale * rgb_to_ycbcr_matrix(matrix), offsets


def _apply(matrix: np.ndarray, offsets: np.ndarray, x: torch.Tensor) -> torch.Tensor:
    """``matrix @ x + offsets`` over the channel dimension -3 of a float tensor."""
    import torch

    m = torch.as_tensor(matrix, dtype=x.dtype, device=x.device)
    o = torch.as_tensor(offsets, dtype=x.dtype, device=x.device)
    return torch.einsum("ij,...jhw->...ihw", m, x) + o[:, None, None]


def _check_channels(x: torch.Tensor, what: str) -> None:
    if x.dim() < 3 or x.shape[-3] != 3:
        raise InputError(f"expected a (..., 3, H, W) {what} tensor, got shape {tuple(x.shape)}")


def rgb_to_ycbcr(rgb: torch.Tensor, matrix: str | Matrix = "bt709", full_range: bool = True,
                 bit_depth: int = 8) -> torch.Tensor:
    """Float RGB in [0, 1] to Y'CbCr code values / (2^n - 1); no rounding, no clipping.

    ``bit_depth`` only places the offsets (2^(n-1) / (2^n - 1) for full-range chroma).
    """
    _check_channels(rgb, "RGB")
    a, o = code_value_transform(as_matrix(matrix), bool(full_range), bit_depth)
    peak = 2.0 ** bit_depth - 1
    # On code values: YCbCr = A (peak · rgb) + o; normalised: divide by peak.
    return _apply(a, o / peak, rgb)


def ycbcr_to_rgb(ycbcr: torch.Tensor, matrix: str | Matrix = "bt709", full_range: bool = True,
                 bit_depth: int = 8) -> torch.Tensor:
    """Inverse of :func:`rgb_to_ycbcr`: float RGB, not clipped (out-of-gamut values kept)."""
    _check_channels(ycbcr, "YCbCr")
    a, o = code_value_transform(as_matrix(matrix), bool(full_range), bit_depth)
    peak = 2.0 ** bit_depth - 1
    inverse = np.linalg.inv(a)
    return _apply(inverse, -(inverse @ o) / peak, ycbcr)


@cache
def fixed_point_transform(matrix: Matrix, full_range: bool, bit_depth: int,
                          inverse: bool) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """Integer coefficients (scaled by 2^FRACTION_BITS) and integer offsets of one direction.

    Forward rows are rounded so that each sums to its rounded exact sum (G absorbs the
    difference): a grey R = G = B then lands exactly on the grey of YCbCr.
    """
    a, o = code_value_transform(matrix, full_range, bit_depth)
    one = 1 << FRACTION_BITS
    m = np.linalg.inv(a) if inverse else a
    fixed = np.round(m * one).astype(np.int64)
    if not inverse:
        fixed[:, 1] = np.round(m.sum(axis=1) * one).astype(np.int64) - fixed[:, 0] - fixed[:, 2]
    # The offsets of every standard range are whole code values (16·2^(n-8), 2^(n-1), ...).
    return tuple(map(tuple, fixed.tolist())), tuple(int(v) for v in o)


def _fixed_point_apply(x: torch.Tensor, coefficients, subtract: tuple[int, ...],
                       add: tuple[int, ...], bit_depth: int) -> torch.Tensor:
    """``clip(floor((C (x - subtract) + 2^(F-1)) / 2^F) + add)`` over the channel dimension -3.

    ``C subtract`` is an exact integer, so it joins the rounding constant. The sums are
    taken in float64, where they are still exact: every product and partial sum is an
    integer below 2^(16 + 23 + 2) < 2^53, and dividing by 2^F only shifts the exponent. So
    the result is the same on any device and in any summation order (and CUDA, unlike the
    CPU, has no integer matrix product).
    """
    import torch

    bias = _rounding_bias(coefficients, subtract)

    def column(values) -> torch.Tensor:  # one number per output channel, broadcast over H, W
        return torch.tensor(values, dtype=torch.float64, device=x.device)[:, None, None]

    matrix = torch.tensor(coefficients, dtype=torch.float64, device=x.device)
    acc = torch.einsum("ij,...jhw->...ihw", matrix, x.to(torch.float64)) + column(bias)
    out = torch.floor(acc / (1 << FRACTION_BITS)) + column(add)
    return out.clamp_(0, (1 << bit_depth) - 1).to(torch.uint8 if bit_depth <= 8 else torch.uint16)


def _rounding_bias(coefficients, subtract: tuple[int, ...]) -> list[int]:
    """``2^(F-1) - C subtract`` per output row: the rounding constant with the input offset folded in."""
    return [(1 << (FRACTION_BITS - 1)) - sum(c * s for c, s in zip(row, subtract)) for row in coefficients]


def _check_integer(x: torch.Tensor, what: str) -> None:
    import torch

    _check_channels(x, what)
    if x.is_floating_point() or x.dtype == torch.bool or x.is_complex():
        raise InputError(f"the integer path needs an integer {what} tensor, got {x.dtype}")


def rgb_to_ycbcr_int(rgb: torch.Tensor, matrix: str | Matrix = "bt709", full_range: bool = True,
                     bit_depth: int = 8) -> torch.Tensor:
    """n-bit RGB code values to n-bit Y'CbCr, fixed point; uint8 for n <= 8, else uint16."""
    _check_integer(rgb, "RGB")
    coefficients, offsets = fixed_point_transform(as_matrix(matrix), bool(full_range), bit_depth, False)
    return _fixed_point_apply(rgb, coefficients, (0, 0, 0), offsets, bit_depth)


def ycbcr_to_rgb_int(ycbcr: torch.Tensor, matrix: str | Matrix = "bt709", full_range: bool = True,
                     bit_depth: int = 8) -> torch.Tensor:
    """n-bit Y'CbCr to n-bit RGB, fixed point, clipped to [0, 2^n - 1]."""
    _check_integer(ycbcr, "YCbCr")
    coefficients, offsets = fixed_point_transform(as_matrix(matrix), bool(full_range), bit_depth, True)
    return _fixed_point_apply(ycbcr, coefficients, offsets, (0, 0, 0), bit_depth)


def ycbcr_to_rgb_int_array(ycbcr: np.ndarray, matrix: str | Matrix = "bt709", full_range: bool = True,
                           bit_depth: int = 8) -> np.ndarray:
    """:func:`ycbcr_to_rgb_int` on a (3, H, W) integer numpy array, in int64: the same integers
    (both paths compute the exact ``floor``), for decoders that run without torch."""
    if ycbcr.ndim != 3 or ycbcr.shape[0] != 3 or ycbcr.dtype.kind not in "iu":
        raise InputError(f"expected a (3, H, W) integer YCbCr array, got {ycbcr.shape} {ycbcr.dtype}")
    coefficients, offsets = fixed_point_transform(as_matrix(matrix), bool(full_range), bit_depth, True)
    matrix_ = np.array(coefficients, dtype=np.int64)
    bias = np.array(_rounding_bias(coefficients, offsets), dtype=np.int64)[:, None, None]
    acc = np.einsum("ij,jhw->ihw", matrix_, ycbcr.astype(np.int64)) + bias
    out = np.clip(acc >> FRACTION_BITS, 0, (1 << bit_depth) - 1)  # >> floors negative sums too
    return out.astype(np.uint8 if bit_depth <= 8 else np.uint16)
