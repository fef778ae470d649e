"""CCLM: the numba kernel equals the torch reference, fits lines it should, and its syntax
round-trips."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common import cclm, syntax
from codeclab.classic.common.reference import cclm as reference
from codeclab.classic.decoder import syntax as parser
from codeclab.classic.encoder import syntax as writer
from codeclab.entropy.cabac import decoder_finish, decoder_start, encoder_finish, encoder_start
from codeclab.entropy.rate import ONE_BIT


def _planes(seed: int, bit_depth: int, size: int = 64):
    """Textured luma, chroma loosely following it, and an availability map where the blocks
    above and left of (16, 16) are decoded."""
    rng = np.random.default_rng(seed)
    peak = (1 << bit_depth) - 1
    base = rng.integers(0, peak + 1, size=(size // 8, size // 8))
    luma = np.kron(base, np.ones((8, 8), np.int64)) + rng.integers(-20, 21, size=(size, size))
    luma = np.clip(luma, 0, peak).astype(np.int32)
    chroma = np.clip(luma[::2, ::2] * rng.uniform(-0.8, 0.8) + rng.integers(0, peak // 2)
                     + rng.integers(-6, 7, size=(size // 2, size // 2)), 0, peak).astype(np.int32)
    return luma, chroma


@pytest.mark.parametrize("bit_depth", [8, 10])
@pytest.mark.parametrize("seed", range(6))
def test_prediction_matches_torch(seed, bit_depth):
    luma, chroma = _planes(seed, bit_depth)
    pred = np.zeros((32, 32), np.int64)
    for cx, cy, n in [(8, 8, 4), (8, 8, 8), (0, 8, 8), (8, 0, 16), (0, 0, 4), (16, 4, 4), (4, 16, 16), (1, 1, 4)]:
        for left, top in [(True, True), (True, False), (False, True), (False, False)]:
            decoded = np.zeros(chroma.shape, np.uint8)
            if left and cx > 0:
                decoded[cy:cy + n, :cx] = 1
            if top and cy > 0:
                decoded[:cy, :] = 1
            cclm.predict_cclm(luma, chroma, decoded, cx, cy, n, bit_depth, pred)
            expected = reference.predict(torch.from_numpy(luma), torch.from_numpy(chroma),
                                         bool(left and cx > 0), bool(top and cy > 0), cx, cy, n, bit_depth)
            assert np.array_equal(pred[:n, :n], expected.numpy()), (cx, cy, n, left, top)


def test_an_exact_line_is_recovered():
    """Chroma = luma / 2 + 40 on a ramp: the fitted line predicts the block to within 1."""
    ramp = np.add.outer(np.arange(64), 2 * np.arange(64)).astype(np.int32)  # luma, smooth
    luma = ramp + 10
    pred = np.zeros((32, 32), np.int64)
    decoded = np.ones((32, 32), np.uint8)
    for y0 in (0, 4, 8):
        truth = np.empty((32, 32), np.int32)
        for v in range(32):
            for u in range(32):
                truth[v, u] = (cclm.downsampled_luma(luma, u, v, 0, True) >> 1) + 40
        cclm.predict_cclm(luma, truth, decoded, 8, y0 + 8, 8, 8, pred)
        assert np.abs(pred[:8, :8] - truth[y0 + 8:y0 + 16, 8:16]).max() <= 1


def test_no_neighbours_predicts_mid_grey():
    luma = np.full((16, 16), 200, np.int32)
    pred = np.zeros((32, 32), np.int64)
    cclm.predict_cclm(luma, np.zeros((8, 8), np.int32), np.zeros((8, 8), np.uint8), 0, 0, 4, 10, pred)
    assert (pred[:4, :4] == 512).all()


def test_division_table_is_the_reciprocal():
    """DivSigTable[d] | 8 is 256 / (16 + d) to within one, for d = 1..15 (the divisor is
    rounded up a power of two there); d = 0, an exact power of two, takes 8 = 128 / 16."""
    assert cclm.DIV_SIG_TABLE[0] | 8 == 8
    for d, value in enumerate(cclm.DIV_SIG_TABLE[1:], start=1):
        assert abs((value | 8) - 256 / (16 + d)) < 1


def test_chroma_mode_syntax_round_trips_with_and_without_cclm():
    values = [4, 0, 1, 2, 3, syntax.CCLM_SYNTAX, syntax.CCLM_SYNTAX, 4]
    for on in (False, True):
        coded = [v for v in values if on or v != syntax.CCLM_SYNTAX]
        ctx = syntax.new_contexts(32)
        out = np.zeros(1024, np.uint8)
        reg = encoder_start()
        for value in coded:
            reg = writer.encode_chroma_mode(reg, out, ctx, value, on)
        data = out[:encoder_finish(reg, out)].copy()
        ctx = syntax.new_contexts(32)
        reg = decoder_start(data)
        for value in coded:
            reg, parsed = parser.decode_chroma_mode(reg, data, ctx, on)
            assert parsed == value
        assert decoder_finish(reg, data) == 0
    fresh = syntax.new_contexts(32)
    assert writer.chroma_mode_bits(fresh, syntax.CCLM_SYNTAX, True) < 1.5 * ONE_BIT
    assert syntax.chroma_mode_from_syntax(syntax.CCLM_SYNTAX, 26) == cclm.CCLM_MODE
