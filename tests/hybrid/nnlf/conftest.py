"""Fixtures of the hybrid tests: a real coded crop and a calibrated (random) integer program.

The tests must not depend on how well the shipped weights were trained, only on the
arithmetic, so most of them use a program made here from a seeded random network whose
activations are calibrated on a real reconstruction, exactly as quantisation-aware training
calibrates them. Where a test is about the shipped weights it says so.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from codeclab.classic.common.parameters import PictureParams
from codeclab.classic.common.rgb import rgb_to_planes
from codeclab.classic.encoder.picture import encode_planes
from codeclab.hybrid.nnlf.training.network import LoopFilterNet, integer_program, normalise
from codeclab.io.image import read_image

QP = 37


@pytest.fixture(scope="session")
def coded_crop(sample_image_path):
    """(original planes, deblocked reconstruction planes, QP) of a 128x128 sample crop."""
    image = read_image(sample_image_path)[:, 64:192, 64:192].contiguous()
    params = PictureParams(qp=QP)
    original = rgb_to_planes(image, params.matrix)
    return original, encode_planes(original, params).planes, QP


def as_batch(planes, qp: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Normalised (1, 1, H, W) luma, (1, 2, H/2, W/2) chroma and the (1,) QP of int32 planes."""
    y = normalise(torch.from_numpy(planes[0]))[None, None]
    c = normalise(torch.from_numpy(np.stack(planes[1:])))[None]
    return y, c, torch.tensor([qp])


def random_network(coded_crop, seed: int = 0, channels: int = 8, layers: int = 4,
                   chroma_guide: bool = False, luma_half_res: bool = True, int8: bool = False) -> LoopFilterNet:
    """A seeded random QAT network, calibrated on the coded crop."""
    _, recon, qp = coded_crop
    torch.manual_seed(seed)
    model = LoopFilterNet(channels, layers, channels, layers, qat=True, chroma_guide=chroma_guide,
                          luma_half_res=luma_half_res, int8=int8)
    for branch in (model.luma, model.chroma):
        for conv in branch.convs:
            torch.nn.init.normal_(conv.weight, std=0.1)
            torch.nn.init.normal_(conv.bias, std=0.02)
    model.calibrate(*as_batch(recon, qp))
    return model.eval()


@pytest.fixture(scope="session")
def network(coded_crop) -> LoopFilterNet:
    return random_network(coded_crop)


@pytest.fixture(scope="session")
def program(network):
    return integer_program(network)


@pytest.fixture(scope="session")
def guided_network(coded_crop) -> LoopFilterNet:
    """The variant whose chroma branch also reads the luma phases."""
    return random_network(coded_crop, chroma_guide=True)


@pytest.fixture(scope="session")
def int8_network(coded_crop) -> LoopFilterNet:
    """The 8-bit form (per-channel weight grids, activations up to 255, int8 residual), guided chroma."""
    return random_network(coded_crop, seed=3, chroma_guide=True, int8=True)
