"""The numba block kernels equal the torch reference tools bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common import reconstruct as rc
from codeclab.classic.common.reference import intra, quant, transform


@pytest.mark.parametrize("n", [4, 8, 16, 32])
@pytest.mark.parametrize("is_luma", [True, False])
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_prediction_matches_torch(n, is_luma, bit_depth):
    rng = np.random.default_rng(n)
    # Smooth references (some flat, to reach strong smoothing) and noisy ones.
    flat = np.linspace(100, 104, 4 * n + 1).round().astype(np.int64) << (bit_depth - 8)
    noisy = rng.integers(0, 1 << bit_depth, size=4 * n + 1)
    scratch = np.empty(4 * n + 1, np.int64)
    pred = np.empty((32, 32), np.int64)
    for refs in (flat, noisy):
        expected = intra.predict_all_modes(torch.from_numpy(refs)[None], n, is_luma, bit_depth=bit_depth)[0]
        for mode in range(35):
            rc.predict(refs, mode, n, is_luma, bit_depth, True, scratch, pred)
            assert np.array_equal(pred[:n, :n], expected[mode].numpy()), (mode, n)


def test_reference_substitution_matches_torch():
    rng = np.random.default_rng(1)
    plane = rng.integers(0, 256, size=(24, 24)).astype(np.int32)
    decoded = np.zeros((24, 24), np.uint8)
    decoded[:8, :] = 1
    decoded[8:16, :4] = 1
    refs = np.empty(33, np.int64)
    for x, y in [(4, 8), (0, 0), (16, 16), (8, 4)]:
        rc.reference_samples(plane, decoded, x, y, 8, 8, refs)
        expected = intra.reference_samples(torch.from_numpy(plane), torch.from_numpy(decoded.astype(bool)),
                                           x, y, 8)
        assert np.array_equal(refs, expected[0].numpy())


@pytest.mark.parametrize("n", [4, 8, 16, 32])
@pytest.mark.parametrize("qp", [0, 22, 37, 51])
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_dequantize_and_inverse_transform_match_torch(n, qp, bit_depth):
    """The kernels take Qp' = QpY + QpBdOffset (what the settings hold); the reference, QpY."""
    rng = np.random.default_rng(qp + n)
    levels = (rng.laplace(0, 3, size=(n, n)) * (rng.random((n, n)) < 0.3)).round().astype(np.int32)
    levels[0, 0] = 40000  # beyond 16 bits: both sides clip
    coeffs = np.empty((32, 32), np.int64)
    tmp = np.empty((32, 32), np.int64)
    residual = np.empty((32, 32), np.int64)
    rc.dequantize(levels, n, rc.scaling_qps(qp, bit_depth)[0], bit_depth, coeffs)
    expected = quant.dequantize(torch.from_numpy(levels), qp, n.bit_length() - 1, bit_depth)
    assert np.array_equal(coeffs[:n, :n], expected.numpy())
    for use_dst in ([False, True] if n == 4 else [False]):
        rc.inverse_transform(coeffs, n, use_dst, bit_depth, tmp, residual)
        kind = "dst" if use_dst else "dct"
        assert np.array_equal(residual[:n, :n], transform.inverse_transform(expected, kind, bit_depth).numpy())


def test_scaling_qps_add_qp_bd_offset_to_luma_and_chroma():
    assert rc.scaling_qps(32, 8) == (32, rc.chroma_qp(32))
    assert rc.scaling_qps(32, 10) == (44, rc.chroma_qp(32) + 12) == (44, 43)
    assert rc.scaling_qps(40, 10)[1] == quant.chroma_qp(40) + quant.qp_bd_offset(10)


def test_chroma_qp_matches_table():
    assert [rc.chroma_qp(q) for q in range(58)] == [quant.chroma_qp(q) for q in range(58)]


@pytest.mark.parametrize("n", [4, 8, 16, 32])
@pytest.mark.parametrize("bit_depth", [8, 10])
def test_forward_transform_and_quantize_match_torch(n, bit_depth):
    from codeclab.classic.encoder import analysis

    rng = np.random.default_rng(n)
    peak = (1 << bit_depth) - 1
    residual = rng.integers(-peak, peak + 1, size=(n, n)).astype(np.int64)
    tmp = np.empty((32, 32), np.int64)
    coeffs = np.empty((32, 32), np.int64)
    levels = np.empty((n, n), np.int32)
    for use_dst in ([False, True] if n == 4 else [False]):
        kind = "dst" if use_dst else "dct"
        analysis.forward_transform(residual, n, use_dst, bit_depth, tmp, coeffs)
        expected = transform.forward_transform(torch.from_numpy(residual), kind, bit_depth)
        assert np.array_equal(coeffs[:n, :n], expected.numpy())
        for qp in (0, 27, 51):
            count = analysis.quantize(coeffs, n, rc.scaling_qps(qp, bit_depth)[0], bit_depth, 171, levels)
            reference = quant.quantize(expected, qp, n.bit_length() - 1, bit_depth)
            assert np.array_equal(levels, reference.numpy())
            assert count == int((reference != 0).sum())


def test_satd_of_known_blocks():
    from codeclab.classic.encoder import analysis

    orig = np.zeros((8, 8), np.int32)
    pred = np.zeros((32, 32), np.int64)
    assert analysis.satd(orig, 0, 0, pred, 8) == 0
    pred[:8, :8] = -1  # a flat difference of 1: only the DC Hadamard coefficient, 64
    assert analysis.satd(orig, 0, 0, pred, 8) == (64 + 2) >> 2
    assert analysis.satd(orig, 0, 0, pred, 4) == (16 + 1) >> 1
