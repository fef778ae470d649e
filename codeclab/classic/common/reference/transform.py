"""HEVC core transforms: the integer DCT-II (4 to 32 points), the 4x4 DST-VII, transform skip.

HEVC does not use a real DCT but an integer approximation fixed in the standard, so that every
decoder computes the same residual bit for bit. One 32x32 matrix holds them all (ITU-T H.265
§8.6.4.2, eqs. 8-315 to 8-319): row ``k`` is the ``k``-th basis function scaled by about
``64 * sqrt(32)`` (so row 0 is all 64), and the N-point matrix (N = 4, 8, 16) takes every
``32/N``-th row and its first N columns::

    T_N[k][j] = T_32[k * 32/N][j]

Intra 4x4 luma blocks use the DST-VII matrix instead (trType = 1), which suits residuals that
grow away from the predicted edge.

A two-dimensional transform applies the matrix on both sides, with a rounding shift after each
stage to keep the numbers in 16 bits (values for bit depth B, block size n = 2^log2n)::

    forward (HM, encoder side):   tmp = (X T^t + r1) >> s1      s1 = log2n + B - 9
                                  C   = (T tmp + r2) >> s2      s2 = log2n + 6
    inverse (§8.6.4.2, normative): G   = clip16((T^t D + 64) >> 7)
                                  R   = (G T + r3) >> (20 - B)

with ``r = 1 << (s - 1)`` and ``clip16`` the clipping to ``coeffMin..coeffMax = -32768..32767``.
Together the two scale by exactly ``2^(15 - B - log2n)`` and its inverse, which is the
"transform shift" the quantizer compensates (see :mod:`codeclab.classic.common.reference.quant`).

Transform skip (§8.6.4.2, ``transform_skip_flag``) leaves the residual in the sample domain:
the forward side shifts left by the same transform shift and the inverse side computes
``(d << (5 + log2n) + r3) >> (20 - B)``, so quantization works unchanged.

Everything is integer arithmetic on int32 tensors of shape ``(N, n, n)``: a batch of N blocks.
Integer matrix products are exact (integer addition is associative), so the result is the
same bit for bit on every machine and thread count; the bounds worked out in
:func:`inverse_transform` keep every intermediate value inside int32.
"""

from __future__ import annotations

from functools import cache
from typing import Literal

import torch

from codeclab.classic.common.tables import DST4_MATRIX, TRANSFORM_SIZES, dct_rows

TransformKind = Literal["dct", "dst", "skip"]

#: Range of every coefficient and intermediate value of the inverse transform (16 bits).
COEFF_MIN, COEFF_MAX = -32768, 32767

# The 32-point matrix and the DST-VII: :mod:`codeclab.classic.common.tables`.




@cache
def _dct32() -> torch.Tensor:
    return torch.tensor(dct_rows(32), dtype=torch.int32)


@cache
def transform_matrix(n: int, kind: TransformKind = "dct") -> torch.Tensor:
    """The n x n integer matrix (rows = basis functions) of the HEVC core transform.

    ``kind="dct"``: rows ``0, 32/n, 2*32/n, ...`` of the 32x32 matrix, first ``n`` columns.
    ``kind="dst"``: the 4x4 DST-VII (``n`` must be 4). The result is a cached int32 tensor on
    the CPU; treat it as read-only.
    """
    if kind == "dst":
        if n != 4:
            raise ValueError(f"the DST-VII is defined for 4x4 blocks only, not {n}x{n}")
        return torch.tensor(DST4_MATRIX, dtype=torch.int32)
    if kind != "dct":
        raise ValueError(f"no matrix for transform kind {kind!r}")
    if n not in TRANSFORM_SIZES:
        raise ValueError(f"HEVC transforms are 4, 8, 16 or 32 points, not {n}")
    return _dct32()[:: 32 // n, :n].contiguous()


def transform_kind(n: int, is_luma: bool, is_intra: bool) -> TransformKind:
    """trType of §8.6.4.2: DST-VII for 4x4 intra luma blocks, the DCT everywhere else."""
    return "dst" if (n == 4 and is_luma and is_intra) else "dct"


def _log2(n: int) -> int:
    if n not in TRANSFORM_SIZES:
        raise ValueError(f"HEVC transform blocks are 4, 8, 16 or 32 samples wide, not {n}")
    return n.bit_length() - 1


def _matmul(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """Exact integer matrix product, batched like ``torch.matmul``.

    The CPU has integer GEMM kernels; other devices (CUDA has none for integers) get the
    same sum written out as a broadcast product, still exact.
    """
    if a.device.type == "cpu":
        return torch.matmul(a, b)
    return (a.unsqueeze(-1) * b.unsqueeze(-3)).sum(-2, dtype=a.dtype)


def _round_shift(x: torch.Tensor, shift: int) -> torch.Tensor:
    """``(x + (1 << (shift - 1))) >> shift``, or a left shift when ``shift`` is negative."""
    if shift > 0:
        return (x + (1 << (shift - 1))) >> shift
    return x << -shift


def _blocks(x: torch.Tensor) -> tuple[torch.Tensor, int]:
    if x.dim() < 2 or x.shape[-1] != x.shape[-2]:
        raise ValueError(f"expected square blocks (..., n, n), got shape {tuple(x.shape)}")
    if x.dtype.is_floating_point or x.dtype == torch.bool:
        raise TypeError(f"transforms take integer tensors, not {x.dtype}")
    return x.to(torch.int32), x.shape[-1]


def forward_transform(
    residual: torch.Tensor, kind: TransformKind = "dct", bit_depth: int = 8
) -> torch.Tensor:
    """Forward 2-D transform of a batch of residual blocks, as the HM encoder computes it.

    Args:
        residual: integer tensor ``(..., n, n)`` (rows, columns) of residuals in
            ``[-(2^B - 1), 2^B - 1]`` for bit depth ``B``.
        kind: ``"dct"``, ``"dst"`` (4x4 only) or ``"skip"`` (transform skip).
        bit_depth: sample bit depth ``B`` (8 to 12 keep every value in 16 bits).

    Returns:
        int32 coefficients of the same shape; ``[..., 0, 0]`` is DC, the row index is the
        vertical frequency. Horizontal stage first, then vertical (HM ``xTrMxN``)::

            C = (T ((X T^t + r1) >> s1) + r2) >> s2,  s1 = log2n + B - 9,  s2 = log2n + 6
    """
    x, n = _blocks(residual)
    log2n = _log2(n)
    if kind == "skip":
        # HM xTransformSkip: scale by the transform shift so that quantization is unchanged.
        return _round_shift(x, -(15 - bit_depth - log2n))
    t = transform_matrix(n, kind).to(x.device)
    tmp = _round_shift(_matmul(x, t.T), log2n + bit_depth - 9)
    return _round_shift(_matmul(t, tmp), log2n + 6)


def inverse_transform(
    coeffs: torch.Tensor, kind: TransformKind = "dct", bit_depth: int = 8
) -> torch.Tensor:
    """Inverse 2-D transform of a batch of scaled coefficient blocks (H.265 §8.6.4.2, §8.6.2).

    Args:
        coeffs: integer tensor ``(..., n, n)`` of scaled transform coefficients ``d`` (the
            output of :func:`codeclab.classic.common.reference.quant.dequantize`); values outside the 16-bit
            range ``coeffMin..coeffMax`` cannot come out of the scaling process and are clipped.
        kind: ``"dct"``, ``"dst"`` (4x4 only) or ``"skip"`` (transform skip).
        bit_depth: sample bit depth ``B``.

    Returns:
        The int32 residual ``r`` of the same shape::

            e = T^t d                       (each column, §8.6.4.2 step 1)
            g = Clip3(coeffMin, coeffMax, (e + 64) >> 7)
            r = g T                         (each row, step 3)
            r = (r + (1 << (bdShift - 1))) >> bdShift,   bdShift = 20 - B   (§8.6.2)

        Transform skip: ``r = (d << (5 + log2n) + (1 << (bdShift - 1))) >> bdShift``.

    Bounds: a row of the 32x32 matrix has an absolute sum below 2^11.5, so with ``|d|`` and
    ``|g|`` at most 2^15 no product sum exceeds 2^26.5 and int32 is enough.
    """
    d, n = _blocks(coeffs)
    log2n = _log2(n)
    d = d.clamp(COEFF_MIN, COEFF_MAX)
    bd_shift = 20 - bit_depth
    if kind == "skip":
        return _round_shift(d << (5 + log2n), bd_shift)
    t = transform_matrix(n, kind).to(d.device)
    g = ((_matmul(t.T, d) + 64) >> 7).clamp(COEFF_MIN, COEFF_MAX)
    return _round_shift(_matmul(g, t), bd_shift)
