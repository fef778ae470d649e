"""HEVC core transforms against the standard's matrices, its equations, and round trips."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.classic.common.reference.transform import (COEFF_MAX, COEFF_MIN, forward_transform,
                                                         inverse_transform, transform_kind, transform_matrix)


def test_matrix_known_values():
    t32 = transform_matrix(32)
    assert t32.dtype == torch.int32 and t32.shape == (32, 32)
    assert (t32[0] == 64).all()
    assert t32[1, :16].tolist() == [90, 90, 88, 85, 82, 78, 73, 67, 61, 54, 46, 38, 31, 22, 13, 4]
    assert t32[31, :4].tolist() == [4, -13, 22, -31]
    assert transform_matrix(4).tolist() == [
        [64, 64, 64, 64],
        [83, 36, -36, -83],
        [64, -64, -64, 64],
        [36, -83, 83, -36],
    ]
    assert transform_matrix(8)[1].tolist() == [89, 75, 50, 18, -18, -50, -75, -89]
    assert transform_matrix(16)[1, :8].tolist() == [90, 87, 80, 70, 57, 43, 25, 9]
    assert transform_matrix(4, "dst").tolist() == [
        [29, 55, 74, 84],
        [74, 74, 0, -74],
        [84, -29, -74, 55],
        [55, -84, 74, -29],
    ]


def test_smaller_matrices_are_subsampled_rows_of_the_32_point_one():
    t32 = transform_matrix(32)
    for n in (4, 8, 16):
        assert torch.equal(transform_matrix(n), t32[:: 32 // n, :n])


def test_matrix_follows_the_cosine_structure():
    """Entry (k, j) depends only on the angle (2j+1)k mod 128 (in units of pi/64), with the
    sign of cos; both printed halves of the standard's table must agree with that."""
    t32 = transform_matrix(32).tolist()
    magnitude: dict[int, int] = {}
    for k in range(1, 32):
        for j in range(32):
            theta = (2 * j + 1) * k % 128
            folded = min(theta % 64, 64 - theta % 64)  # angle folded into [0, pi/2]
            sign = math.copysign(1, math.cos(math.pi * theta / 64))
            assert math.copysign(1, t32[k][j]) == sign
            assert magnitude.setdefault(folded, abs(t32[k][j])) == abs(t32[k][j])
    # ... and the magnitudes decrease like cos from 90 towards 0.
    values = [magnitude[a] for a in sorted(magnitude)]
    assert values == sorted(values, reverse=True) and values[0] == 90 and magnitude[16] == 64


@pytest.mark.parametrize(
    ("n", "kind"), [(4, "dct"), (8, "dct"), (16, "dct"), (32, "dct"), (4, "dst")]
)
def test_near_orthogonality(n, kind):
    """T T^t = 64^2 n I up to the integer approximation: norms and cross terms within 0.3%
    of 64^2 n (the 4-point DCT is exactly orthogonal, its rows only unequal in norm)."""
    t = transform_matrix(n, kind).to(torch.int64)
    gram = t @ t.T
    norm = 64 * 64 * n
    diagonal = torch.diagonal(gram)
    off_diagonal = gram - torch.diag(diagonal)
    assert ((diagonal - norm).abs() <= 0.003 * norm).all()
    assert (off_diagonal.abs() <= 0.003 * norm).all()
    if (n, kind) == (4, "dct"):
        assert (off_diagonal == 0).all()


def test_transform_kind_rule():
    assert transform_kind(4, is_luma=True, is_intra=True) == "dst"
    assert transform_kind(4, is_luma=False, is_intra=True) == "dct"
    assert transform_kind(4, is_luma=True, is_intra=False) == "dct"
    assert transform_kind(8, is_luma=True, is_intra=True) == "dct"


@pytest.mark.parametrize("value", [64, 1000, -777, 32767])
def test_dc_only_block_gives_the_known_flat_residual(value):
    """d[0][0] alone: e = 64 d in column 0, g = (e + 64) >> 7, r = 64 g, (r + 2048) >> 12."""
    for n in (4, 8, 16, 32):
        coeffs = torch.zeros(1, n, n, dtype=torch.int32)
        coeffs[0, 0, 0] = value
        g = (64 * value + 64) >> 7
        expected = (64 * g + 2048) >> 12
        assert (inverse_transform(coeffs) == expected).all()
    assert expected == {64: 1, 1000: 8, -777: -6, 32767: 256}[value]


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_flat_residual_has_only_dc(n):
    residual = torch.full((3, n, n), 5, dtype=torch.int32)
    residual[1] = -17
    residual[2] = 0
    coeffs = forward_transform(residual)
    assert coeffs[:, 0, 0].tolist() == [128 * 5, 128 * -17, 0]  # DC gain 2^(15 - 8)
    coeffs[:, 0, 0] = 0
    assert (coeffs == 0).all()


def _inverse_reference(d: list[list[int]], kind: str, bit_depth: int) -> list[list[int]]:
    """§8.6.4.2 and §8.6.2 transcribed literally, one sample at a time (d[y][x])."""
    n = len(d)
    t = transform_matrix(n, kind).tolist()

    def one_d(x: list[int]) -> list[int]:  # y[i] = sum_j transMatrix[j][i] * x[j]
        return [sum(t[j][i] * x[j] for j in range(n)) for i in range(n)]

    columns = [one_d([d[y][x] for y in range(n)]) for x in range(n)]  # e, column x
    g = [
        [min(max((columns[x][y] + 64) >> 7, COEFF_MIN), COEFF_MAX) for x in range(n)]
        for y in range(n)
    ]
    rows = [one_d(g[y]) for y in range(n)]
    bd_shift = 20 - bit_depth
    return [[(rows[y][x] + (1 << (bd_shift - 1))) >> bd_shift for x in range(n)] for y in range(n)]


@pytest.mark.parametrize(("n", "kind"), [(4, "dct"), (4, "dst"), (8, "dct"), (16, "dct")])
def test_inverse_matches_the_standard_text_bit_exactly(n, kind):
    generator = torch.Generator().manual_seed(n)
    coeffs = torch.randint(-600, 601, (3, n, n), generator=generator, dtype=torch.int32)
    coeffs[2] = torch.randint(COEFF_MIN, COEFF_MAX + 1, (n, n), generator=generator)  # clipping
    for bit_depth in (8, 10):
        ours = inverse_transform(coeffs, kind, bit_depth)
        for b in range(3):
            assert ours[b].tolist() == _inverse_reference(coeffs[b].tolist(), kind, bit_depth)


@pytest.mark.parametrize(
    ("n", "kind", "bound"),
    [(4, "dct", 1), (4, "dst", 1), (8, "dct", 2), (16, "dct", 6), (32, "dct", 6)],
)
def test_inverse_of_forward_on_random_residuals(n, kind, bound):
    """White noise at full range is the worst case: the integer matrices are not exactly
    orthogonal, and for 16/32 points their cross terms alone cost up to ~5 (the same pipeline in
    exact rational arithmetic gives 4 and 5); the mean error stays below one."""
    generator = torch.Generator().manual_seed(7)
    residual = torch.randint(-255, 256, (200, n, n), generator=generator, dtype=torch.int32)
    error = (inverse_transform(forward_transform(residual, kind), kind) - residual).abs()
    assert error.max() <= bound
    assert error.double().mean() < 1.0


def test_inverse_of_forward_on_real_residuals(sample_image_path):
    """Residuals of real content (picture minus its 4x4-block mean) come back within +-1..2."""
    y = torch.from_numpy(np.asarray(Image.open(sample_image_path).convert("L"), dtype=np.int32))
    for n in (4, 8, 16, 32):
        blocks = y.unfold(0, n, n).unfold(1, n, n).reshape(-1, n, n)
        coarse = torch.nn.functional.avg_pool2d(blocks[:, None].float(), 4).round().int()
        residual = blocks - coarse.repeat_interleave(4, -1).repeat_interleave(4, -2)[:, 0]
        error = (inverse_transform(forward_transform(residual)) - residual).abs()
        assert error.max() <= (1 if n <= 8 else 2)


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_transform_skip_round_trip_is_lossless(n):
    residual = torch.randint(-255, 256, (10, n, n), dtype=torch.int32)
    coeffs = forward_transform(residual, "skip")
    assert torch.equal(coeffs, residual << (15 - 8 - int(math.log2(n))))
    assert torch.equal(inverse_transform(coeffs, "skip"), residual)


def test_batched_equals_one_by_one_and_is_deterministic():
    residual = torch.randint(-255, 256, (64, 8, 8), dtype=torch.int32)
    batched = forward_transform(residual)
    single = torch.stack([forward_transform(r[None])[0] for r in residual])
    assert torch.equal(batched, single)
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        assert torch.equal(inverse_transform(batched), inverse_transform(batched.clone()))
        one_thread = inverse_transform(batched)
    finally:
        torch.set_num_threads(threads)
    assert torch.equal(one_thread, inverse_transform(batched))


def test_bad_inputs():
    with pytest.raises(ValueError):
        forward_transform(torch.zeros(1, 4, 8, dtype=torch.int32))
    with pytest.raises(ValueError):
        forward_transform(torch.zeros(1, 64, 64, dtype=torch.int32))
    with pytest.raises(ValueError):
        transform_matrix(8, "dst")
    with pytest.raises(TypeError):
        forward_transform(torch.zeros(1, 4, 4))
