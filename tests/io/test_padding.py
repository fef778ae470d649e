"""Padding to a block multiple and cropping back, for every dtype."""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from codeclab.errors import InputError
from codeclab.io.padding import crop, pad_to_multiple, padded_size


def test_padded_size():
    assert padded_size(5, 7, 4) == (8, 8)
    assert padded_size(8, 8, 8) == (8, 8)
    assert padded_size(1, 17, (2, 16)) == (2, 32)
    with pytest.raises(InputError):
        padded_size(4, 4, 0)


def test_replicate_on_uint8_by_hand():
    x = torch.tensor([[1, 2], [3, 4]], dtype=torch.uint8)
    assert pad_to_multiple(x, 3).tolist() == [[1, 2, 2], [3, 4, 4], [3, 4, 4]]


def test_reflect_and_zeros_by_hand():
    row = torch.tensor([[1, 2, 3]], dtype=torch.uint8)
    assert pad_to_multiple(row, (1, 6), "reflect").tolist() == [[1, 2, 3, 2, 1, 2]]
    assert pad_to_multiple(row, (1, 9), "reflect").tolist() == [[1, 2, 3, 2, 1, 2, 3, 2, 1]]
    assert pad_to_multiple(row, (2, 4), "zeros").tolist() == [[1, 2, 3, 0], [0, 0, 0, 0]]
    assert pad_to_multiple(torch.tensor([[5]]), 3, "reflect").tolist() == [[5] * 3] * 3


@pytest.mark.parametrize("mode", ["replicate", "reflect"])
def test_float_padding_matches_torch(mode):
    x = torch.rand(2, 3, 13, 10)
    ours = pad_to_multiple(x, 8, mode)
    assert torch.equal(ours, F.pad(x, (0, 6, 0, 3), mode=mode))


@pytest.mark.parametrize("dtype", [torch.uint8, torch.uint16, torch.int16, torch.float32])
@pytest.mark.parametrize("mode", ["replicate", "reflect", "zeros"])
def test_crop_undoes_padding(dtype, mode):
    x = torch.randint(0, 250, (2, 3, 37, 21), dtype=torch.int32).to(dtype)
    padded = pad_to_multiple(x, 16, mode)
    assert padded.shape == (2, 3, 48, 32) and padded.dtype == dtype
    assert torch.equal(crop(padded, 37, 21), x)


def test_fitting_input_is_returned_as_is():
    x = torch.zeros(3, 16, 32, dtype=torch.uint8)
    assert pad_to_multiple(x, 16) is x


def test_bad_arguments_raise_input_error():
    x = torch.zeros(4, 4)
    with pytest.raises(InputError, match="mode"):
        pad_to_multiple(x, 8, "circular")
    with pytest.raises(InputError, match="cannot crop"):
        crop(x, 5, 4)
    with pytest.raises(InputError, match="cannot crop"):
        crop(x, 0, 4)
    with pytest.raises(InputError):
        pad_to_multiple(torch.zeros(0, 4), 8)
