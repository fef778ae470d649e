"""HEVC-style residual coding: round trips, efficiency on a real picture, damaged data."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from codeclab.classic.common.residual import diagonal_scan
from codeclab.classic.decoder.residual import decode_residuals
from codeclab.classic.encoder.residual import encode_residuals
from codeclab.errors import BitstreamError


def test_diagonal_scan_of_4x4_matches_h265():
    # H.265 §6.5.3 up-right diagonal scan, (x, y) per scan position.
    expected = [(0, 0), (0, 1), (1, 0), (0, 2), (1, 1), (2, 0), (0, 3), (1, 2),
                (2, 1), (3, 0), (1, 3), (2, 2), (3, 1), (2, 3), (3, 2), (3, 3)]
    assert [tuple(p) for p in diagonal_scan(4).tolist()] == expected


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), log2_size=st.integers(2, 5), chroma=st.booleans(),
       spread=st.floats(0.05, 200.0), density=st.floats(0.0, 1.0))
def test_random_blocks_round_trip(seed, log2_size, chroma, spread, density):
    rng = np.random.default_rng(seed)
    n = 1 << log2_size
    blocks = rng.laplace(0, spread, (6, n, n)) * (rng.uniform(size=(6, n, n)) < density)
    blocks = np.clip(np.round(blocks), -(1 << 20), 1 << 20).astype(np.int32)
    data = encode_residuals(blocks, chroma=chroma)
    assert np.array_equal(decode_residuals(data, 6, n, chroma=chroma), blocks)


def test_sample_picture_codes_within_one_percent_of_ideal(sample_image_path):
    from scipy.fft import dctn

    y = np.asarray(Image.open(sample_image_path).convert("L"), dtype=np.float64) - 128
    blocks = y.reshape(32, 8, 32, 8).transpose(0, 2, 1, 3).reshape(-1, 8, 8)
    c = dctn(blocks, axes=(1, 2), norm="ortho")
    levels = (np.sign(c) * np.floor(np.abs(c) / 2 ** (28 / 6) + 1 / 3)).astype(np.int32)
    stats = np.zeros(3)
    data = encode_residuals(levels, stats=stats)
    assert np.array_equal(decode_residuals(data, len(levels), 8), levels)
    assert abs(8 * len(data) / stats[0] - 1) < 0.01
    assert stats[1] > 5000  # a real stream, mostly context-coded


@settings(max_examples=50, deadline=None)
@given(data=st.binary(max_size=300), n_blocks=st.integers(1, 50))
def test_garbage_raises_bitstream_error(data, n_blocks):
    with pytest.raises(BitstreamError):
        decode_residuals(data, n_blocks, 8)


def test_truncated_stream_raises():
    rng = np.random.default_rng(1)
    blocks = np.round(rng.laplace(0, 3, (40, 8, 8))).astype(np.int32)
    data = encode_residuals(blocks)
    for cut in (0, 1, len(data) // 2, len(data) - 1):
        with pytest.raises(BitstreamError):
            decode_residuals(data[:cut], 40, 8)
