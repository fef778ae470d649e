"""The rate-distortion loss: known values, and CompressAI's convention."""

from __future__ import annotations

import math

import pytest
import torch

from codeclab.train.losses import bits_per_pixel, rate_distortion_loss


def test_bits_per_pixel_counts_minus_log2_of_every_likelihood_per_picture():
    likelihoods = {"y": torch.full((2, 4, 2, 2), 0.5), "z": torch.full((2, 2, 1, 1), 0.25)}
    # per picture: 16 elements x 1 bit + 2 elements x 2 bits = 20 bits over 8 x 8 pixels
    assert torch.equal(bits_per_pixel(likelihoods, 64), torch.tensor([20 / 64, 20 / 64]))
    assert bits_per_pixel({"y": torch.full((1, 3), 0.5, dtype=torch.bfloat16)}, 3).dtype == torch.float32


def test_mse_loss_is_lambda_255_squared_mse_plus_bpp():
    x = torch.zeros(1, 3, 8, 8)
    output = {"x_hat": torch.full((1, 3, 8, 8), 0.1), "likelihoods": {"y": torch.full((1, 2, 2, 2), 0.5)}}
    parts = rate_distortion_loss(output, x, 0.01)
    assert parts["bpp"].item() == pytest.approx(8 / 64)
    assert parts["mse"].item() == pytest.approx(0.01)
    assert parts["loss"].item() == pytest.approx(0.01 * 255**2 * 0.01 + 8 / 64)


def test_a_fixed_lambda_matches_compressai_and_per_picture_lambdas_weight_each_picture():
    torch.manual_seed(0)
    x, x_hat = torch.rand(3, 3, 16, 16), torch.rand(3, 3, 16, 16)
    likelihoods = {"y": torch.rand(3, 8, 4, 4) * 0.9 + 0.05, "z": torch.rand(3, 4, 1, 1) * 0.9 + 0.05}
    output = {"x_hat": x_hat, "likelihoods": likelihoods}
    # CompressAI's RateDistortionLoss: bpp over the batch's pixels, MSE over all samples.
    bpp = sum(torch.log(p).sum() for p in likelihoods.values()) / (-math.log(2) * 3 * 16 * 16)
    expected = 0.0483 * 255**2 * torch.mean((x_hat - x) ** 2) + bpp
    assert rate_distortion_loss(output, x, 0.0483)["loss"].item() == pytest.approx(expected.item(), rel=1e-6)

    lambdas = torch.tensor([0.001, 0.01, 0.1])
    per_picture = [rate_distortion_loss({"x_hat": x_hat[i:i + 1],
                                         "likelihoods": {k: p[i:i + 1] for k, p in likelihoods.items()}},
                                        x[i:i + 1], float(lambdas[i]))["loss"] for i in range(3)]
    together = rate_distortion_loss(output, x, lambdas)["loss"]
    assert together.item() == pytest.approx(sum(per_picture).item() / 3, rel=1e-6)


def test_ms_ssim_loss_is_lambda_times_one_minus_ms_ssim_plus_bpp():
    torch.manual_seed(1)
    x = torch.rand(2, 3, 176, 176)
    likelihoods = {"y": torch.full((2, 1, 4, 4), 0.5)}
    perfect = rate_distortion_loss({"x_hat": x, "likelihoods": likelihoods}, x, 16.64, "ms-ssim")
    assert perfect["ms_ssim"].item() == pytest.approx(1.0, abs=1e-6)
    assert perfect["loss"].item() == pytest.approx(16 / 176**2, abs=1e-4)
    noisy = rate_distortion_loss({"x_hat": (x + 0.1 * torch.randn_like(x)).clamp(0, 1), "likelihoods": likelihoods},
                                 x, 16.64, "ms-ssim")
    assert noisy["loss"].item() == pytest.approx(16.64 * (1 - noisy["ms_ssim"].item()) + 16 / 176**2, rel=1e-5)
    with pytest.raises(ValueError, match="at least 161x161"):
        rate_distortion_loss({"x_hat": x[..., :64, :64], "likelihoods": likelihoods}, x[..., :64, :64], 1.0, "ms-ssim")
