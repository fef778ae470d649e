"""The decoder's numpy output stage equals the generic tensor colour path it stands in for."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.bitstream.container import Matrix
from codeclab.classic.common.rgb_output import planes_to_rgb_array, upsample_center
from codeclab.io.chroma import upsample_chroma
from codeclab.io.color import ycbcr_to_rgb_int


@pytest.mark.parametrize("height, width", [(1, 1), (2, 3), (5, 2), (37, 53), (64, 64)])
def test_upsampling_equals_io_chroma(height, width):
    rng = np.random.default_rng(height * 100 + width)
    plane = rng.integers(0, 256, size=((height + 1) // 2, (width + 1) // 2)).astype(np.uint8)
    expected = upsample_chroma(torch.from_numpy(plane), height, width, "center").numpy()
    assert np.array_equal(upsample_center(plane, height, width), expected)


@pytest.mark.parametrize("matrix", [Matrix.BT601, Matrix.BT709])
def test_planes_to_rgb_equals_the_tensor_path(matrix):
    height, width = 71, 37  # odd sides: the last chroma sample covers one luma sample
    rng = np.random.default_rng(int(matrix))
    planes = (rng.integers(0, 256, size=(128, 64)).astype(np.int32),
              rng.integers(0, 256, size=(64, 32)).astype(np.int32),
              rng.integers(0, 256, size=(64, 32)).astype(np.int32))
    y = torch.from_numpy(planes[0][:height, :width].astype(np.uint8))
    cb, cr = (upsample_chroma(torch.from_numpy(p[:36, :19].astype(np.uint8)), height, width, "center")
              for p in planes[1:])
    expected = ycbcr_to_rgb_int(torch.stack([y, cb, cr]), matrix, full_range=True).numpy()
    got = planes_to_rgb_array(planes, height, width, matrix)
    assert got.shape == (3, height, width) and got.dtype == np.uint8
    assert np.array_equal(got, expected)
