"""The numba motion compensation equals the torch reference of interp.py bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common import motion
from codeclab.classic.common.reference import interp


@pytest.fixture(scope="module")
def planes(sample_y4m_path):
    from codeclab.io.y4m import read_y4m

    video = read_y4m(sample_y4m_path)
    return video.y[3].numpy().astype(np.int32), video.cb[3].numpy().astype(np.int32)


@pytest.mark.parametrize("is_luma", [True, False])
def test_blocks_match_torch_for_every_phase_and_border(planes, is_luma):
    plane = planes[0] if is_luma else planes[1]
    height, width = plane.shape
    frac = 4 if is_luma else 8
    rng = np.random.default_rng(1)
    work = motion.new_mc_workspace(64)
    pred14 = np.empty((64, 64), np.int64)
    for w, h in [(8, 8), (16, 8), (4, 4), (32, 32), (64, 64)]:
        # Vectors of every phase, some pointing far outside the picture (clipped references).
        for mvx, mvy in [(0, 0), (1, 0), (0, 3), (5, -7), (-200, 13), (frac * 300, -frac * 90)] + [
                tuple(rng.integers(-40 * frac, 40 * frac, 2)) for _ in range(6)]:
            x0, y0 = int(rng.integers(0, width - w + 1)), int(rng.integers(0, height - h + 1))
            motion.interpolate(plane, height, width, x0, y0, w, h, int(mvx), int(mvy), is_luma, 8,
                               work, pred14)
            predict = interp.luma_prediction if is_luma else interp.chroma_prediction
            expected = predict(torch.from_numpy(plane), x0, y0, w, h, int(mvx), int(mvy))
            assert np.array_equal(pred14[:h, :w], expected.numpy()), (w, h, mvx, mvy)
            samples = np.zeros((64, 64), np.int32)
            motion.predict_block(plane, height, width, x0, y0, w, h, int(mvx), int(mvy), is_luma,
                                 8, work, pred14, samples, 0, 0)
            assert np.array_equal(samples[:h, :w], interp.uni_pred(expected).numpy())


def test_reference_beyond_the_coded_size_is_never_read(planes):
    plane = planes[0].copy()
    coded = plane[:64, :96].copy()
    plane[64:, :] = 999  # storage beyond the coded picture holds anything
    plane[:, 96:] = -999
    work = motion.new_mc_workspace(64)
    a, b = np.empty((64, 64), np.int64), np.empty((64, 64), np.int64)
    motion.interpolate(plane, 64, 96, 80, 48, 16, 16, 37, 23, True, 8, work, a)
    motion.interpolate(coded, 64, 96, 80, 48, 16, 16, 37, 23, True, 8, work, b)
    assert np.array_equal(a[:16, :16], b[:16, :16])


def test_fractional_planes_hold_every_blocks_samples(planes):
    plane = planes[0]
    height, width = plane.shape
    margin = 8
    phases = motion.fractional_planes(plane, height, width, margin)
    work = motion.new_mc_workspace(64)
    pred14 = np.empty((64, 64), np.int64)
    samples = np.zeros((16, 16), np.int32)
    for x0, y0, mvx, mvy in [(0, 0, -13, -6), (160, 128, 9, 11), (40, 40, 2, 1), (0, 64, -999, 5)]:
        motion.predict_block(plane, height, width, x0, y0, 16, 16, mvx, mvy, True, 8, work,
                             pred14, samples, 0, 0)
        rows = np.clip(y0 + (mvy >> 2) + np.arange(16), -margin, height + margin - 1) + margin
        cols = np.clip(x0 + (mvx >> 2) + np.arange(16), -margin, width + margin - 1) + margin
        phase = 4 * (mvy & 3) + (mvx & 3)
        assert np.array_equal(phases[phase][np.ix_(rows, cols)], samples)
