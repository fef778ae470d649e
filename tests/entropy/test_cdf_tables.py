"""Integer-only tables: fixed-point functions, the scale grid, frequencies, exact coding."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.special import expit, ndtr

from codeclab.entropy import fixed_point as fp
from codeclab.entropy.stream import encode_symbols
from codeclab.entropy.tables import PRECISION, CdfTables, ScaleGrid, parametric_tables, quantize_pmf


def test_constants():
    assert abs(fp.LN2 / fp.ONE - math.log(2)) < 1e-16
    assert abs(fp.INV_SQRT_2PI / fp.ONE - 1 / math.sqrt(2 * math.pi)) < 1e-16


def test_tail_functions_match_floating_point():
    z = np.concatenate([np.linspace(0, 12, 2001), [2.999999, 3.0, 3.000001]])
    zq = np.array([int(round(v * 2**32)) << 32 for v in z], dtype=object)
    z = fp.to_float(zq)  # the exact arguments
    assert np.abs(fp.to_float(fp.gaussian_tail(zq)) - ndtr(-z)).max() < 1e-15
    assert np.abs(fp.to_float(fp.laplace_tail(zq)) - 0.5 * np.exp(-z)).max() < 1e-15
    assert np.abs(fp.to_float(fp.logistic_tail(zq)) - expit(-z)).max() < 1e-15
    assert np.abs(fp.to_float(fp.exp_neg(zq * 4)) - np.exp(-4 * z)).max() < 1e-15


def test_pow2_fraction_is_exact_floor():
    for m in (-52, -1, 0, 1, 7, 16, 128):
        v = fp.pow2_fraction(m, 4)
        # v = floor(2^(m/16 + 64)): v^16 <= 2^(m + 1024) < (v + 1)^16
        assert v**16 <= 2 ** (m + 1024) < (v + 1) ** 16


def test_grid_index_is_nearest_in_log_and_exact_at_thresholds():
    grid = ScaleGrid()
    th = grid.thresholds
    s = np.concatenate([np.exp(np.random.default_rng(0).uniform(-4, 7, 100_000)), th,
                        np.nextafter(th, np.float32(np.inf)),
                        [0.0, -1.0, np.nan, np.inf, 1e-30]]).astype(np.float32)
    expected = np.searchsorted(th, np.nan_to_num(s, nan=0.0), side="left")
    assert np.array_equal(grid.index(s), expected)
    scales, r = grid.scales(), s[:100_000]
    r = r[(r > scales[0]) & (r < scales[-1])]
    nearest = np.abs(np.log(scales)[None, :] - np.log(r.astype(np.float64))[:, None]).argmin(1)
    assert np.array_equal(grid.index(r), nearest)


@settings(max_examples=100, deadline=None)
@given(masses=st.lists(st.integers(0, 2**62), min_size=2, max_size=300).filter(lambda m: sum(m) > 0))
def test_quantize_pmf_properties(masses):
    freq = quantize_pmf(masses)
    assert freq.sum() == 1 << PRECISION and freq.min() >= 1
    total, free = sum(masses), (1 << PRECISION) - len(masses)
    ideal = np.array([m * free / total for m in masses])
    assert np.all(np.abs(freq - 1 - ideal) <= 1.0 + 1e-6)


@pytest.mark.parametrize("family", ["gaussian", "laplace", "logistic"])
def test_parametric_tables_are_valid_and_match_the_density(family):
    tables = parametric_tables(family)
    grid = ScaleGrid()
    assert len(tables) == grid.size
    for i in (0, 60, 120, grid.size - 1):
        t = tables.table(i)
        assert t.sum() == 1 << PRECISION and t.min() >= 1
        assert tables.offsets[i] == -(tables.lengths[i] - 2) // 2
    # Gaussian at s = 1 (k = 0): freq / 2^24 equals the bin mass to table precision.
    if family == "gaussian":
        i = -grid.k_min
        v = np.arange(tables.offsets[i], tables.offsets[i] + tables.lengths[i] - 1)
        mass = ndtr(v + 0.5) - ndtr(v - 0.5)
        # each entry first gets 1, the rest is scaled by (2^24 - n) / 2^24: error <= (n + 1) / 2^24
        assert np.abs(tables.table(i)[:-1] / 2**24 - mass).max() <= (tables.lengths[i] + 1) / 2**24


def test_constriction_codes_exactly_the_table_probabilities():
    t = CdfTables.from_list([quantize_pmf([5, 1, 30, 2, 0])], [-2])
    rng = np.random.default_rng(0)
    values = rng.choice(np.arange(-2, 2), p=[5 / 38, 1 / 38, 30 / 38, 2 / 38], size=50_000)
    data = encode_symbols(values, np.zeros(values.size, np.int16), t)
    assert abs(8 * len(data) - t.ideal_bits(values, np.zeros(values.size, np.int64))) < 100
