"""Sign data hiding and RDOQ: the encoder's parity fixes, the residual syntax that relies on
them, the flag, and RDOQ's rate model against the writer."""

from __future__ import annotations

import hashlib

import numpy as np
import pytest

from codeclab import api
from codeclab.classic.common.parameters import PictureParams, SequenceParams
from codeclab.classic.common.residual import SIGN_HIDING_DISTANCE, scan_tables
from codeclab.classic.decoder.residual import decode_residuals
from codeclab.classic.encoder.analysis import hide_signs, quantize
from codeclab.classic.encoder.residual import encode_residuals
from codeclab.codec import get_codec
from codeclab.io import read_image


def sub_blocks_in_scan_order(levels: np.ndarray) -> list[list[int]]:
    """The 16 levels of every 4x4 sub-block, in the up-right diagonal scan (H.265 §6.5.3)."""
    n = levels.shape[0]
    scan4, scan_sb = scan_tables(int(n).bit_length() - 1)
    return [[int(levels[(ys << 2) + y, (xs << 2) + x]) for x, y in scan4] for xs, ys in scan_sb]


def parity_tells_every_hidden_sign(levels: np.ndarray) -> bool:
    """The rule a decoder applies, written plainly: where the first and last non-zero levels
    of a sub-block lie SIGN_HIDING_DISTANCE or more apart, the sum of magnitudes is odd
    exactly when the first level is negative."""
    for cg in sub_blocks_in_scan_order(levels):
        nonzero = [k for k, v in enumerate(cg) if v]
        if nonzero and nonzero[-1] - nonzero[0] >= SIGN_HIDING_DISTANCE:
            if (sum(abs(v) for v in cg) % 2 == 1) != (cg[nonzero[0]] < 0):
                return False
    return True


def quantized_blocks(n: int, qp: int, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(coefficients, levels) of ``count`` random n x n blocks with a natural spectrum."""
    rng = np.random.default_rng(seed)
    falloff = 1.0 / (1.0 + np.add.outer(np.arange(n), np.arange(n)))
    coeffs = np.round(rng.laplace(size=(count, n, n)) * 3000 * falloff).astype(np.int32)
    levels = np.zeros_like(coeffs)
    for b in range(count):
        quantize(coeffs[b], n, qp, 8, 171, levels[b])
    return coeffs, levels


@pytest.mark.parametrize("n", [4, 8, 16, 32])
def test_the_encoder_makes_every_parity_tell_its_sign_moving_one_level_by_one(n):
    coeffs, levels = quantized_blocks(n, 27, 40, seed=n)
    scan4, scan_sb = scan_tables(int(n).bit_length() - 1)
    qualifying = mismatched = 0
    for b in range(len(levels)):
        before = levels[b].copy()
        for cg in sub_blocks_in_scan_order(before):
            nonzero = [k for k, v in enumerate(cg) if v]
            if nonzero and nonzero[-1] - nonzero[0] >= SIGN_HIDING_DISTANCE:
                qualifying += 1
                mismatched += (sum(abs(v) for v in cg) % 2 == 1) != (cg[nonzero[0]] < 0)
        changed = hide_signs(coeffs[b], levels[b], n, 27, 8, scan4, scan_sb)
        assert parity_tells_every_hidden_sign(levels[b])
        diff = np.abs(levels[b].astype(np.int64) - before)
        assert changed == np.count_nonzero(diff) and diff.max(initial=0) <= 1
        moved = diff != 0
        # a level that moves keeps its sign, and one that appears takes its coefficient's
        assert np.all(np.sign(levels[b][moved]) * np.sign(before[moved]) >= 0)
    assert qualifying > 20 and mismatched > 5  # the test sees the rule at work


@pytest.mark.parametrize("n", [4, 16])
def test_hidden_signs_round_trip_and_save_bits(n):
    coeffs, levels = quantized_blocks(n, 22, 60, seed=7 + n)
    scan4, scan_sb = scan_tables(int(n).bit_length() - 1)
    for b in range(len(levels)):
        hide_signs(coeffs[b], levels[b], n, 22, 8, scan4, scan_sb)
    hidden = encode_residuals(levels, sign_hiding=True)
    plain = encode_residuals(levels)
    assert np.array_equal(decode_residuals(hidden, len(levels), n, sign_hiding=True), levels)
    assert np.array_equal(decode_residuals(plain, len(levels), n), levels)
    assert len(hidden) < len(plain)  # one bypass bin fewer per qualifying sub-block


def test_the_flag_travels_in_both_parameter_sets_and_off_leaves_streams_unchanged(samples_dir):
    assert PictureParams.unpack(PictureParams(qp=30, sign_hiding=True).pack()).sign_hiding
    assert not PictureParams.unpack(PictureParams(qp=30).pack()).sign_hiding
    assert SequenceParams.unpack(SequenceParams(qp=30, sign_hiding=True).pack()).sign_hiding
    crop = read_image(samples_dir / "kodim23_crop256.png")
    off = api.encode_image(crop, get_codec("classic").configure(sign_hiding=False, rdoq=False, bit_depth=8, cclm=False), 32)
    # the stream of the codec before the tool existed, byte for byte
    assert hashlib.md5(off.data).hexdigest() == "0714f8c834ffcaff0fa1b2defb642cd7"
    on = api.encode_image(crop, "classic", 32)
    assert PictureParams.unpack(api.read_header(on.data)[0].params).sign_hiding
    assert api.same_media(api.decode(on.data), on.recon)


@pytest.mark.parametrize("value", [3, 4, 5, 6, 9, 17, 40, 300])
def test_rdoq_counts_the_remainder_bits_the_writer_spends(value):
    """RDOQ's rate model of coeff_abs_level_remaining against the real writer: a lone DC
    level v spends one sign bin and the remainder v - 3 at Rice parameter 0 in bypass."""
    from codeclab.classic.encoder.rdoq import remainder_bits

    block = np.zeros((1, 4, 4), np.int32)
    block[0, 0, 0] = value
    stats = np.zeros(3)
    encode_residuals(block, stats=stats)
    assert stats[2] == 1 + remainder_bits(value - 3, 0)


def test_rdoq_streams_decode_to_the_encoders_reconstruction(samples_dir):
    crop = read_image(samples_dir / "kodim23_crop256.png")[:, :128, :128].contiguous()
    codec = get_codec("classic").configure(rdoq=True)
    for qp in (22, 37):
        result = api.encode_image(crop, codec, qp)
        assert api.same_media(api.decode(result.data), result.recon)
    assert get_codec("classic").rdoq  # on by default


@pytest.mark.parametrize("n", [4, 8, 32])
def test_rdoq_with_sign_hiding_leaves_every_parity_right(n):
    """RDOQ fixes the parities itself, at the least estimated RD cost."""
    from codeclab.classic.common.syntax import new_contexts
    from codeclab.classic.encoder.rate_control import rd_lambda
    from codeclab.classic.encoder.rdoq import rdoq

    coeffs, levels = quantized_blocks(n, 27, 40, seed=3 * n)
    scan4, scan_sb = scan_tables(int(n).bit_length() - 1)
    ctx = new_contexts(27)
    changed = 0
    for b in range(len(levels)):
        before = levels[b].copy()
        nonzero = rdoq(coeffs[b], levels[b], n, 27, 8, rd_lambda(27), ctx, False, scan4, scan_sb, True)
        assert nonzero == np.count_nonzero(levels[b])
        assert parity_tells_every_hidden_sign(levels[b])
        changed += not np.array_equal(before, levels[b])
    assert changed > 10
