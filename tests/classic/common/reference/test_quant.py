"""Quantization: hand-computed values, the standard's tables, error bounds, chroma QP, lambda."""

from __future__ import annotations

import math

import pytest
import torch

from codeclab.classic.common.reference.quant import LEVEL_SCALES, QUANT_SCALES, chroma_qp, dequantize, quantize
from codeclab.classic.common.reference.transform import forward_transform, inverse_transform
from codeclab.classic.encoder.rate_control import chroma_distortion_weight, rd_lambda


def test_scale_tables_are_reciprocal():
    """quantScale * levelScale ~ 2^20 (= 2^QUANT_SHIFT * 2^IQUANT_SHIFT), within 0.1%."""
    assert QUANT_SCALES == (26214, 23302, 20560, 18396, 16384, 14564)
    assert LEVEL_SCALES == (40, 45, 51, 57, 64, 72)
    for forward, inverse in zip(QUANT_SCALES, LEVEL_SCALES, strict=True):
        assert abs(forward * inverse / 2**20 - 1) < 1e-3


def test_hand_computed_levels():
    # QP 22, 8x8, 8 bits: per 3, rem 4 (scale 16384); qBits = 14 + 3 + (15 - 8 - 3) = 21;
    # intra offset 171 << 12 = 700416: (1000 * 16384 + 700416) >> 21 = 17084416 >> 21 = 8.
    coeffs = torch.tensor([1000, -1000, 0, 170, 171])
    levels = quantize(coeffs, 22, 3)
    assert levels.dtype == torch.int32
    assert levels.tolist()[:3] == [8, -8, 0]
    # The dead zone: level 1 needs (|c| * 16384 + 700416) >= 2^21, i.e. |c| >= 85.25 at
    # intra; here 170 -> 1 and 171 -> 1 as well (171 * 16384 + 700416 < 2 * 2^21).
    assert levels.tolist()[3:] == [1, 1]
    # Inter rounding (85 << 12 = 348160): 1000 -> (16384000 + 348160) >> 21 = 7.
    assert quantize(torch.tensor([1000]), 22, 3, intra=False).tolist() == [7]
    # Dequantization: bdShift = 8 + 3 - 5 = 6; (8 * 16 * 64 << 3) + 32 >> 6 = 1024.
    assert dequantize(torch.tensor([8, -8, 1]), 22, 3).tolist() == [1024, -1024, 128]


def test_step_doubles_every_six_qp():
    one, sixteen = torch.tensor([1]), torch.tensor([16])  # 16 * 16 cancels bdShift = 7 exactly
    for qp in range(0, 46):
        assert dequantize(sixteen, qp + 6, 4).item() == 2 * dequantize(sixteen, qp, 4).item()
    # Qstep(QP) ~ 2^((QP - 4) / 6) in units of the transform's gain 2^(15 - 8 - log2n).
    for qp in (4, 22, 37):
        step = dequantize(one, qp, 3).item() / 2 ** (15 - 8 - 3)
        assert step == pytest.approx(2 ** ((qp - 4) / 6), rel=0.03)


@pytest.mark.parametrize("qp", [0, 12, 22, 27, 32, 37, 51])
@pytest.mark.parametrize("log2n", [2, 3, 4, 5])
def test_reconstruction_error_is_bounded_by_the_step(qp, log2n):
    generator = torch.Generator().manual_seed(qp * 10 + log2n)
    coeffs = torch.randint(-20000, 20001, (5000,), generator=generator)
    step = dequantize(torch.tensor([1]), qp, log2n).item()
    for intra in (True, False):
        recon = dequantize(quantize(coeffs, qp, log2n, intra=intra), qp, log2n)
        error = (recon - coeffs).abs()
        assert error.max() <= step + 1
    # Nearest rounding (256/512) halves the worst case.
    recon = dequantize(quantize(coeffs, qp, log2n, rounding=256), qp, log2n)
    assert (recon - coeffs).abs().max() <= step // 2 + 2


def test_sign_symmetry_and_dead_zone():
    coeffs = torch.arange(-3000, 3001)
    levels = quantize(coeffs, 30, 3)
    assert torch.equal(levels, -levels.flip(0))
    step = dequantize(torch.tensor([1]), 30, 3).item()
    # Intra rounds at 1 - 171/512 ~ 2/3 of a step: everything below stays zero.
    assert (levels[(coeffs.abs() < 0.66 * step)] == 0).all()
    first_step = (coeffs.abs() > 0.67 * step) & (coeffs.abs() < step)
    assert torch.equal(levels[first_step], coeffs[first_step].sign().to(torch.int32))


def test_clipping_to_sixteen_bits():
    huge = torch.tensor([10**9, -(10**9)])
    assert quantize(huge, 0, 2).tolist() == [32767, -32768]
    assert dequantize(torch.tensor([32767, -32768, 10**9]), 51, 5).tolist() == [
        32767,
        -32768,
        32767,
    ]


def test_per_block_qp_tensor():
    coeffs = torch.full((2, 4, 4), 900)
    qp = torch.tensor([22, 37]).view(2, 1, 1)
    levels = quantize(coeffs, qp, 2)
    assert torch.equal(levels[0], quantize(coeffs[0], 22, 2))
    assert torch.equal(levels[1], quantize(coeffs[1], 37, 2))
    assert torch.equal(dequantize(levels, qp, 2)[1], dequantize(levels[1], 37, 2))


def test_higher_bit_depth_extends_the_qp_range():
    coeffs = torch.tensor([5000])
    # QP -12 at 10 bits is qP' = 0; rejected at 8 bits.
    assert quantize(coeffs, -12, 3, bit_depth=10).item() > 0
    with pytest.raises(ValueError):
        quantize(coeffs, -1, 3)


def test_full_pipeline_psnr_falls_with_qp(sample_image_path):
    """Residual -> transform -> quant -> dequant -> inverse: coarser QP, larger error."""
    import numpy as np
    from PIL import Image

    y = torch.from_numpy(np.asarray(Image.open(sample_image_path).convert("L"), dtype=np.int32))
    blocks = (y - 128).unfold(0, 8, 8).unfold(1, 8, 8).reshape(-1, 8, 8)
    errors = []
    for qp in (12, 22, 32, 42):
        coeffs = dequantize(quantize(forward_transform(blocks), qp, 3), qp, 3)
        errors.append(((inverse_transform(coeffs) - blocks).double() ** 2).mean().item())
    assert errors == sorted(errors) and errors[0] < 1.0


def test_chroma_qp_table():
    expected_30_to_43 = [29, 30, 31, 32, 33, 33, 34, 34, 35, 35, 36, 36, 37, 37]
    assert [chroma_qp(q) for q in range(30, 44)] == expected_30_to_43
    assert [chroma_qp(q) for q in (-6, 0, 29)] == [-6, 0, 29]
    assert [chroma_qp(q) for q in (44, 51, 57)] == [38, 45, 51]
    assert chroma_qp(55, chroma_array_type=3) == 51 and chroma_qp(40, chroma_array_type=3) == 40
    qpi = torch.arange(-6, 58)
    assert chroma_qp(qpi).tolist() == [chroma_qp(q) for q in qpi.tolist()]
    assert chroma_qp(qpi, 2).tolist() == [min(q, 51) for q in qpi.tolist()]


def test_lambda():
    assert rd_lambda(12) == pytest.approx(0.57)
    assert rd_lambda(22) == pytest.approx(0.57 * 2 ** (10 / 3))
    assert rd_lambda(37) / rd_lambda(31) == pytest.approx(4.0)
    assert chroma_distortion_weight(37, 34) == pytest.approx(2.0)
    assert math.isclose(chroma_distortion_weight(22, 22), 1.0)
