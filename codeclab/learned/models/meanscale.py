"""Mean-scale hyperprior: the side information predicts each latent's mean as well.

Minnen, Ballé, Toderici, "Joint autoregressive and hierarchical priors for learned image
compression", NeurIPS 2018 -- its hierarchical prior without the autoregressive context
(CompressAI's ``mbt2018-mean``). Each latent element gets a Gaussian ``N(mu, s^2)``; a
good mean removes the predictable part of ``y`` before rounding, which the zero-mean
scale hyperprior cannot::

    x ──g_a──► y ──*g──► y_g ──Q──► y_hat = round(y_g - mu) + mu ──*g'──► g_s ──► x_hat
                          │                   ▲
                          │                   │ N(mu, (2^L)^2)
                          ▼                   │
                         h_a ──► z ──Q──► z_hat ──h_s──► (mu, L)       (z: EntropyBottleneck)

    h_a:  conv3/1 M→N, LReLU, conv5/2 N→N, LReLU, conv5/2 N→N
    h_s:  deconv5/2 N→M, LReLU, deconv5/2 M→3M/2, LReLU, conv3/1 3M/2→2M   (output: mu, log2 s)

g_a and g_s as in :mod:`.factorized`; LReLU has slope 1/16. When coding, h_s runs as an
integer program (:mod:`..integer`): the table index is ``round(16 L) - k_min`` and the
mean is rounded to the 1/64 grid, both from integers, so the decoder rebuilds exactly the
encoder's ``y_hat``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from codeclab.entropy.conditional import GaussianConditional
from codeclab.entropy.factorized import EntropyBottleneck
from codeclab.entropy.quantization import quantize
from codeclab.learned import integer
from codeclab.learned.gain import DEFAULT_LAMBDAS
from codeclab.learned.layers import conv, deconv
from codeclab.learned.models.base import (GRID, CompressionModel, bottleneck_likelihoods, cached_program,
                                          check_picture, decode_gaussian, decoding, encode_gaussian,
                                          gaussian_likelihoods, leaky_relu)
from codeclab.learned.registry import register_model


def hyper_analysis(N: int, M: int) -> nn.Sequential:
    return nn.Sequential(conv(M, N, 3, 1), leaky_relu(), conv(N, N), leaky_relu(), conv(N, N))


def hyper_synthesis(N: int, M: int) -> nn.Sequential:
    """(N, h, w) -> (2M, 4h, 4w): Minnen 2018's h_s, widening to 3M/2 channels."""
    return nn.Sequential(deconv(N, M), leaky_relu(), deconv(M, M * 3 // 2), leaky_relu(),
                         conv(M * 3 // 2, 2 * M, 3, 1))


def gaussian_parameters(params_fixed: Tensor) -> tuple[Tensor, Tensor]:
    """Integer ``(mu, L)`` channels -> (table indexes, means on the 1/64 grid)."""
    means, log2_scales = params_fixed.chunk(2, dim=1)
    return integer.scale_indexes(log2_scales, GRID), integer.quantized_means(means)


class MeanScaleHyperprior(CompressionModel):
    """Minnen 2018 mean-scale hyperprior with gain units (``N`` inner, ``M`` latent channels)."""

    def __init__(self, N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__(N, M, lambdas)
        self.h_a = hyper_analysis(N, M)
        self.h_s = hyper_synthesis(N, M)
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian = GaussianConditional(GRID)

    def forward(self, x: Tensor, lmbda: Tensor | float) -> dict:
        y = self.analyze(x, lmbda)
        z_hat, z_likelihoods = bottleneck_likelihoods(self.entropy_bottleneck, self.h_a(y))
        means, log2_scales = self.h_s(z_hat).chunk(2, dim=1)
        y_likelihoods = gaussian_likelihoods(self.gaussian, y, log2_scales, means)
        y_hat = quantize(y, "ste" if self.training else "dequantize", means)
        return {"x_hat": self.synthesize(y_hat, lmbda), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def update(self) -> None:
        self.entropy_bottleneck.update()
        self.gaussian.update()

    def gaussian_parameters(self, z_hat: Tensor) -> tuple[Tensor, Tensor]:
        """(table indexes, means) of every latent element, from the integer h_s."""
        return gaussian_parameters(integer.run(cached_program(self.h_s), integer.to_fixed(z_hat)))

    @torch.no_grad()
    def compress(self, x: Tensor, lmbda: Tensor | float) -> dict:
        check_picture(x)
        y = self.analyze(x, lmbda)
        z = self.h_a(y)
        z_string = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_string, z.shape).to(z.device)
        indexes, means = self.gaussian_parameters(z_hat)
        return {"strings": [z_string, encode_gaussian(y, indexes, means)], "shape": (z.shape[0], *z.shape[-2:])}

    @decoding
    def decompress(self, strings: list[bytes], shape: tuple[int, int, int], lmbda: Tensor | float) -> dict:
        """``shape``: (pictures, height, width) of the hyper-latent, as ``compress`` returned it."""
        z_string, y_string = strings
        n, h, w = shape
        device = self.gain.log_gain.device
        z_hat = self.entropy_bottleneck.decompress(z_string, (n, self.N, h, w)).to(device)
        indexes, means = self.gaussian_parameters(z_hat)
        return self.reconstruct(decode_gaussian(y_string, indexes, means), lmbda)


@register_model("mean-scale")
def mean_scale(N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> MeanScaleHyperprior:
    return MeanScaleHyperprior(N, M, tuple(lambdas))
