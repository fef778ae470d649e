"""The rate-distortion loss of learned compression.

A model maps a picture ``x`` (N, 3, H, W) in [0, 1] to a reconstruction ``x_hat`` and the
likelihood ``p`` of every quantized latent element it would code (``y``, ``z``, ...). The
ideal code length of an element is ``-log2 p`` bits, so the rate of picture ``n`` is

    R_n = sum over its latent elements of (-log2 p)  /  (H * W)            [bits per pixel]

and training minimises the Lagrangian (Ballé et al., "End-to-end optimized image
compression", ICLR 2017; Ballé et al. 2018):

    L = mean_n ( lambda_n * D_n + R_n )

    MSE:      D_n = 255^2 * MSE(x_hat_n, x_n)        (MSE on the 8-bit scale)
    MS-SSIM:  D_n = 1 - MS-SSIM(x_hat_n, x_n)        (Wang et al. 2003, data range 1)

This is CompressAI's ``RateDistortionLoss`` convention (``lmbda * 255**2 * mse + bpp``), so
its lambda table carries over: for MSE, quality 1..8 = 0.0018, 0.0035, 0.0067, 0.0130,
0.0250, 0.0483, 0.0932, 0.1800; for MS-SSIM 2.40, 4.58, 8.73, 16.64, 31.73, 60.50, 115.37,
220.00. A larger lambda buys quality with rate. ``lambda`` may differ per picture (a
variable-rate model trained on many trade-offs at once), hence the per-picture form.

Everything is computed in float32 whatever precision the model ran in: ``-log2 p`` of a
bfloat16 likelihood would carry 3 significant digits.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor

from codeclab.train.config import METRICS

#: pytorch-msssim's five scales pool four times by 2 with an 11-tap window: sides must exceed 160.
MS_SSIM_MIN_SIDE = 161


def bits_per_pixel(likelihoods: Mapping[str, Tensor], num_pixels: int) -> Tensor:
    """(N,) estimated rate of each picture: ``sum(-log2 p) / num_pixels`` over every latent."""
    bits = sum(-torch.log2(p.float()).flatten(1).sum(1) for p in likelihoods.values())
    return bits / num_pixels


def mse_per_picture(x_hat: Tensor, x: Tensor) -> Tensor:
    """(N,) mean squared error of each picture, on the [0, 1] scale."""
    return (x_hat.float() - x.float()).square().flatten(1).mean(1)


def ms_ssim_per_picture(x_hat: Tensor, x: Tensor) -> Tensor:
    """(N,) MS-SSIM of each picture (pytorch-msssim, data range 1, five scales)."""
    from pytorch_msssim import ms_ssim

    if min(x.shape[-2:]) < MS_SSIM_MIN_SIDE:
        raise ValueError(f"MS-SSIM needs pictures of at least {MS_SSIM_MIN_SIDE}x{MS_SSIM_MIN_SIDE}, "
                         f"got {x.shape[-1]}x{x.shape[-2]}")
    return ms_ssim(x_hat.float(), x.float(), data_range=1.0, size_average=False)


def rate_distortion_loss(output: Mapping, x: Tensor, lmbda: float | Tensor, metric: str = "mse") -> dict[str, Tensor]:
    """The loss and its parts, each a scalar tensor (batch means).

    ``output`` is a model's ``{"x_hat": ..., "likelihoods": {...}}``; ``lmbda`` a number or
    an (N,) tensor. Returns ``loss`` (to minimise), ``bpp``, ``mse`` and, for MS-SSIM,
    ``ms_ssim``.
    """
    if metric not in METRICS:
        raise ValueError(f"metric must be one of {METRICS}, got {metric!r}")
    n, _, height, width = x.shape
    x_hat = output["x_hat"]
    bpp = bits_per_pixel(output["likelihoods"], height * width)
    mse = mse_per_picture(x_hat, x)
    parts = {"bpp": bpp.mean(), "mse": mse.mean()}
    if metric == "mse":
        distortion = 255.0 ** 2 * mse
    else:
        ms_ssim = ms_ssim_per_picture(x_hat, x)
        parts["ms_ssim"] = ms_ssim.mean()
        distortion = 1.0 - ms_ssim
    lmbda = torch.as_tensor(lmbda, dtype=torch.float32, device=x.device).expand(n)
    parts["loss"] = (lmbda * distortion + bpp).mean()
    return parts
