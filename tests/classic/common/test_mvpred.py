"""Merge candidates, AMVP predictors and vector scaling against hand-worked examples."""

from __future__ import annotations

import numpy as np
import pytest

from codeclab.classic.common.mvpred import amvp_candidates, available, merge_candidates, scale_mv, z_address
from codeclab.classic.common.picture import References, new_picture


def _inter(pic, x, y, size, mv, ref):
    pic.mv[y // 4:(y + size) // 4, x // 4:(x + size) // 4] = mv
    pic.ref_idx[y // 4:(y + size) // 4, x // 4:(x + size) // 4] = ref


@pytest.fixture
def scene():
    """A 128x128 P picture (POC 10, references POC 9 and 7) around the 16x16 CU at (32, 32):
    A1 and B2 inter (4, 0) -> POC 9, B1 the same motion, B0 (8, -4) -> POC 7, A0 intra."""
    pic = new_picture(128, 128)
    _inter(pic, 16, 32, 16, (4, 0), 0)   # A1 = (31, 47)
    _inter(pic, 32, 16, 16, (4, 0), 0)   # B1 = (47, 31)
    _inter(pic, 48, 16, 16, (8, -4), 1)  # B0 = (48, 31)
    _inter(pic, 16, 16, 16, (4, 0), 0)   # B2 = (31, 31); A0 = (31, 48) stays intra
    col_mv = np.zeros((32, 32, 2), np.int32)
    col_ref = np.full((32, 32), -1, np.int32)
    col_mv[12, 12] = (8, 8)              # collocated bottom-right (48, 48), pointing 2 back
    col_ref[12, 12] = 7
    refs = References(np.zeros((2, 128, 128), np.int32), np.zeros((2, 64, 64), np.int32),
                      np.zeros((2, 64, 64), np.int32), np.array([9, 7]), 10, col_mv, col_ref, 9, 0)
    return pic, refs


def test_scaling_follows_the_standard_formula():
    assert scale_mv(4, 1, 3) == 12          # tx = 16384, factor (3 * 16384 + 32) >> 6 = 768
    assert scale_mv(8, 2, 1) == 4           # tx = 8192, factor 128
    assert scale_mv(-8, 2, 1) == -4
    assert scale_mv(0, 3, 1) == 0
    assert scale_mv(30000, 1, 20) == 32767  # clipped to 16 bits
    for td in range(1, 40):
        assert scale_mv(-123, td, td) == -123  # same distance: unchanged


def test_z_scan_availability():
    # Below-left of (32, 32) lies in the earlier 32x32 quarter at (0, 32): available.
    assert available(32, 32, 31, 48, 128, 128)
    assert not available(16, 16, 15, 32, 128, 128)   # below-left: a later quarter
    assert not available(16, 16, 32, 15, 128, 128)   # above-right: the later quarter (32, 0)
    assert available(0, 16, 16, 15, 128, 128)        # above-right inside the same quarter
    assert not available(48, 0, 64, 0, 128, 128)     # the next CTU
    assert available(64, 64, 63, 63, 128, 128)
    assert available(0, 64, 64, 63, 128, 128)        # above-right CTU of the previous row
    assert not available(0, 0, -1, 0, 128, 128) and not available(120, 0, 128, 0, 128, 128)
    assert z_address(4, 0, 2) == 1 and z_address(0, 4, 2) == 2 and z_address(64, 0, 2) == 256


def test_merge_list_prunes_and_fills_with_zero_vectors(scene):
    pic, refs = scene
    out = np.zeros((5, 3), np.int64)
    merge_candidates(pic, refs, 32, 32, 16, 2, out)
    # A1; B1 equals A1 (pruned); B0; A0 intra; B2 equals A1; then zero vectors ref 0, 1, 0.
    assert out.tolist() == [[4, 0, 0], [8, -4, 1], [0, 0, 0], [0, 0, 1], [0, 0, 0]]


def test_merge_list_takes_the_scaled_collocated_vector(scene):
    pic, refs = scene
    refs = refs._replace(tmvp=1)
    out = np.zeros((5, 3), np.int64)
    merge_candidates(pic, refs, 32, 32, 16, 2, out)
    # Collocated (8, 8) spans 9 -> 7 (td 2); reference 0 is 1 back (tb 1): (4, 4).
    assert out.tolist()[:3] == [[4, 0, 0], [8, -4, 1], [4, 4, 0]]


def test_amvp_scales_a_and_keeps_b(scene):
    pic, refs = scene
    out = np.zeros((2, 2), np.int64)
    amvp_candidates(pic, refs, 32, 32, 16, 1, out)    # target POC 7 (3 back)
    # A: only A1 exists, it points 1 back: scaled x3 -> (12, 0); B: B0 points to POC 7 itself.
    assert out.tolist() == [[12, 0], [8, -4]]
    amvp_candidates(pic, refs, 32, 32, 16, 0, out)    # target POC 9
    # A = A1 = (4, 0); B = B1 = (4, 0) equals A and is dropped; a zero vector fills up.
    assert out.tolist() == [[4, 0], [0, 0]]


def test_amvp_without_left_neighbours_copies_b_into_a(scene):
    _, refs = scene
    out = np.zeros((2, 2), np.int64)
    # The CU at (64, 64) of a fresh picture with only B1 inter: A copies B's unscaled vector,
    # B is then searched again with scaling allowed, finds the same B1 and is dropped.
    fresh = new_picture(128, 128)
    _inter(fresh, 64, 48, 16, (-6, 2), 1)
    amvp_candidates(fresh, refs, 64, 64, 16, 1, out)
    assert out.tolist() == [[-6, 2], [0, 0]]
    amvp_candidates(fresh, refs, 64, 64, 16, 0, out)  # B1 points 3 back, target 1 back
    assert out.tolist() == [[-2, 1], [0, 0]]
