"""HEVC scalar quantization: QP, the forward and inverse scale tables, dead-zone rounding.

The quantization step doubles every 6 QP (``Qstep ~ 2^((QP - 4) / 6)``), so a QP splits into
``per = qP // 6`` (a shift) and ``rem = qP % 6`` (one of six scale factors). For bit depth B
the QP is first raised by ``QpBdOffset = 6 * (B - 8)`` (H.265 §7.4.3.2.1, §8.6.1).

Inverse, the normative scaling process (H.265 §8.6.3), with a flat scaling list ``m = 16``::

    d = Clip3(coeffMin, coeffMax,
              ((level * m * levelScale[rem] << per) + (1 << (bdShift - 1))) >> bdShift)
    levelScale = {40, 45, 51, 57, 64, 72},   bdShift = B + log2n - 5

Forward, as in the HM encoder (``TComTrQuant::xQuant``)::

    level = sign(c) * ((|c| * quantScale[rem] + offset) >> qBits)
    quantScale = {26214, 23302, 20560, 18396, 16384, 14564}       (~ 2^14 / (levelScale / 64))
    qBits  = QUANT_SHIFT + per + transformShift = 14 + per + (15 - B - log2n)
    offset = f << (qBits - 9),  f = 171 (~1/3, intra) or 85 (~1/6, inter)

The rounding offset below one half is the dead zone: a coefficient needs about 2/3 (intra) of a
step before it becomes a non-zero level, which saves more rate than it costs distortion.
``quantScale[rem] * levelScale[rem]`` is about ``2^20``, so dequantize(quantize(c)) ~ c.

Also here: the chroma QP mapping (Table 8-10) and HM's Lagrange multiplier for
rate-distortion decisions, ``lambda = 0.57 * 2^((QP - 12) / 3)``.

Everything on the decoder path is integer arithmetic (int64 inside, int32 out).
"""

from __future__ import annotations

import torch

from codeclab.classic.common.tables import LEVEL_SCALES, QUANT_SCALES  # noqa: F401 (part of this module's interface)

#: QUANT_SCALES (HM ``g_quantScales``), LEVEL_SCALES (``levelScale``): :mod:`codeclab.classic.common.tables`.
#: Precision of :data:`QUANT_SCALES` in bits (HM ``QUANT_SHIFT``).
QUANT_SHIFT = 14
#: Precision of :data:`LEVEL_SCALES` in bits (HM ``IQUANT_SHIFT``): ``levelScale[4] = 64``.
IQUANT_SHIFT = 6
#: log2 of the transform's dynamic range: coefficients live in 16 bits (``maxLog2TrDynamicRange``).
MAX_TR_DYNAMIC_RANGE = 15
#: Flat scaling-list factor (``m`` of §8.6.3 when ``scaling_list_enabled_flag`` is 0).
FLAT_SCALING = 16
#: Range of coded levels (``TransCoeffLevel``) and of scaled coefficients (coeffMin/coeffMax).
COEFF_MIN, COEFF_MAX = -32768, 32767
#: Dead-zone rounding offsets in units of 1/512 (HM: 171 intra, 85 inter).
INTRA_ROUNDING, INTER_ROUNDING = 171, 85
#: Largest luma/chroma QP of 8-bit video.
MAX_QP = 51

# QpC for qPi = 30..43 when ChromaArrayType == 1 (H.265 Table 8-10).
_QPC_30_TO_43 = (29, 30, 31, 32, 33, 33, 34, 34, 35, 35, 36, 36, 37, 37)


def qp_bd_offset(bit_depth: int) -> int:
    """``QpBdOffset = 6 * (B - 8)``: how far the QP range extends below 0 at bit depth B."""
    return 6 * (bit_depth - 8)


def transform_shift(log2n: int, bit_depth: int) -> int:
    """``15 - B - log2n``: the scale (as a power of two) the forward transform leaves on C."""
    return MAX_TR_DYNAMIC_RANGE - bit_depth - log2n


def _qp_parts(qp: int | torch.Tensor, bit_depth: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(qP // 6, qP % 6)`` of ``qP = QP + QpBdOffset`` as int64 tensors."""
    qp_prime = torch.as_tensor(qp, dtype=torch.int64) + qp_bd_offset(bit_depth)
    if bool((qp_prime < 0).any()):
        raise ValueError(f"QP below -QpBdOffset = {-qp_bd_offset(bit_depth)}")
    return qp_prime // 6, qp_prime % 6


def quantize(
    coeffs: torch.Tensor,
    qp: int | torch.Tensor,
    log2n: int,
    bit_depth: int = 8,
    intra: bool = True,
    rounding: int | None = None,
) -> torch.Tensor:
    """Dead-zone scalar quantization of transform coefficients (HM ``xQuant``, no RDOQ).

    Args:
        coeffs: integer coefficients of ``n x n`` blocks (any shape), from
            :func:`codeclab.classic.common.reference.transform.forward_transform`.
        qp: QP (0..51 for 8 bits; down to ``-QpBdOffset`` for deeper video), an int or a
            tensor broadcastable to ``coeffs`` (e.g. ``(N, 1, 1)`` for one QP per block).
        log2n: log2 of the block size.
        bit_depth: sample bit depth B.
        intra: picks the rounding offset 171/512 (intra) or 85/512 (inter).
        rounding: overrides that offset, in units of 1/512 (256 = round to nearest).

    Returns:
        int32 levels, ``sign(c) * ((|c| * quantScale[rem] + (f << (qBits - 9))) >> qBits)``,
        clipped to the 16-bit range the entropy coder carries.
    """
    per, rem = _qp_parts(qp, bit_depth)
    f = rounding if rounding is not None else (INTRA_ROUNDING if intra else INTER_ROUNDING)
    q_bits = QUANT_SHIFT + per + transform_shift(log2n, bit_depth)
    scale = torch.tensor(QUANT_SCALES, dtype=torch.int64)[rem]
    c = coeffs.to(torch.int64)
    magnitude = (c.abs() * scale + (f << (q_bits - 9))) >> q_bits
    level = torch.where(c < 0, -magnitude, magnitude)
    return level.clamp(COEFF_MIN, COEFF_MAX).to(torch.int32)


def dequantize(
    levels: torch.Tensor, qp: int | torch.Tensor, log2n: int, bit_depth: int = 8
) -> torch.Tensor:
    """The scaling process for transform coefficients, H.265 §8.6.3 (flat scaling list).

    ``d = Clip3(coeffMin, coeffMax, ((level * 16 * levelScale[rem] << per) + (1 << (bdShift-1)))
    >> bdShift)`` with ``bdShift = B + log2n - 5``. Levels are first clipped to 16 bits, the
    range a conforming bitstream carries, so a damaged one cannot overflow int64.

    Args:
        levels: integer levels (any shape), as parsed from the bitstream.
        qp: QP as in :func:`quantize`.
        log2n: log2 of the block size.
        bit_depth: sample bit depth B.

    Returns:
        int32 scaled coefficients ``d`` for :func:`~codeclab.classic.common.reference.transform.inverse_transform`.
    """
    per, rem = _qp_parts(qp, bit_depth)
    bd_shift = bit_depth + log2n - 5
    scale = FLAT_SCALING * torch.tensor(LEVEL_SCALES, dtype=torch.int64)[rem]
    level = levels.to(torch.int64).clamp(COEFF_MIN, COEFF_MAX)
    d = ((level * scale << per) + (1 << (bd_shift - 1))) >> bd_shift
    return d.clamp(COEFF_MIN, COEFF_MAX).to(torch.int32)


def chroma_qp(qpi: int | torch.Tensor, chroma_array_type: int = 1) -> int | torch.Tensor:
    """QpC from the index qPi (H.265 §8.6.1, Table 8-10).

    For 4:2:0 (``ChromaArrayType == 1``) chroma is quantized more gently at high QP::

        qPi  < 30  ->  qPi
        qPi 30..43 ->  29 30 31 32 33 33 34 34 35 35 36 36 37 37
        qPi  > 43  ->  qPi - 6

    Other chroma formats use ``Min(qPi, 51)``. The caller forms ``qPi = Clip3(-QpBdOffsetC, 57,
    QpY + pps_cb_qp_offset + slice_cb_qp_offset)``. Works on ints and on integer tensors.
    """
    if isinstance(qpi, torch.Tensor):
        if chroma_array_type != 1:
            return qpi.clamp(max=MAX_QP)
        table = torch.tensor(_QPC_30_TO_43, dtype=qpi.dtype, device=qpi.device)
        mid = table[(qpi - 30).clamp(0, len(_QPC_30_TO_43) - 1)]
        return torch.where(qpi < 30, qpi, torch.where(qpi > 43, qpi - 6, mid))
    if chroma_array_type != 1:
        return min(qpi, MAX_QP)
    if qpi < 30:
        return qpi
    return _QPC_30_TO_43[qpi - 30] if qpi <= 43 else qpi - 6


