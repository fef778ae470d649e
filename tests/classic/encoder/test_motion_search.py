"""The picture-wide block search finds known motion."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from codeclab.classic.encoder.motion_search import integer_motion_search, mv_bits


@pytest.fixture(scope="module")
def texture(sample_image_path) -> torch.Tensor:
    rgb = np.asarray(Image.open(sample_image_path).convert("RGB"))
    return torch.from_numpy(rgb[..., 1].astype(np.int32))  # 256x256 luma-like plane


@pytest.mark.parametrize("shift", [(5, -3), (-7, -6), (20, 3), (0, 0), (60, 2)])
def test_finds_a_global_shift(texture, shift):
    dx, dy = shift
    # current(x, y) = reference(x + dx, y + dy): every block's vector is (dx, dy).
    current = torch.roll(texture, shifts=(-dy, -dx), dims=(0, 1))
    field = integer_motion_search(current, texture, 256, 256, sqrt_lambda=4.0)
    assert field.shape == (16, 16, 2)
    # Blocks whose window wrapped around in the roll are not a pure shift; judge the others.
    rows = slice(max(0, -dy) // 16 + 1, (256 - max(0, dy)) // 16 - 1)
    cols = slice(max(0, -dx) // 16 + 1, (256 - max(0, dx)) // 16 - 1)
    inner = field[rows, cols].reshape(-1, 2)
    hits = (inner == torch.tensor([dx, dy], dtype=torch.int32)).all(1).float().mean()
    assert hits > 0.9


def test_a_predictor_leads_to_irregular_large_motion(texture):
    current = torch.roll(texture, shifts=(-21, 37), dims=(0, 1))  # (-37, 21)
    hint = torch.zeros(16, 16, 1, 2, dtype=torch.int64)
    hint[..., 0], hint[..., 1] = -35, 20
    field = integer_motion_search(current, texture, 256, 256, 4.0, predictors=hint)
    inner = field[1:-3, 3:-1].reshape(-1, 2)
    assert (inner == torch.tensor([-37, 21], dtype=torch.int32)).all(1).float().mean() > 0.9


def test_predictors_and_range(texture):
    current = torch.roll(texture, shifts=(0, -70), dims=(0, 1))  # beyond the +-64 range
    field = integer_motion_search(current, texture, 256, 256, 4.0, search_range=64)
    assert field.abs().max() <= 64
    hint = torch.zeros(16, 16, 1, 2, dtype=torch.int64)
    hint[..., 0] = 60  # a predictor close to the truth leads the search there
    field = integer_motion_search(current, texture, 256, 256, 4.0, predictors=hint, search_range=72)
    assert (field[2:-2, 2:-6, 0] == 70).float().mean() > 0.9


def test_rate_grows_with_the_difference():
    bits = mv_bits(torch.tensor([[0, 0], [1, 0], [4, 0], [40, -40], [-3, 0]]))
    assert bits.tolist() == [2, 4, 8, 2 * 13, 6]  # 1 + 1, 3 + 1, 7 + 1, 13 + 13, 5 + 1
