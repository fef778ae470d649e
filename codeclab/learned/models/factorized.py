"""Factorized prior: the latent's channels coded independently with learned densities.

Ballé, Laparra, Simoncelli, "End-to-end optimized image compression", ICLR 2017, with the
transforms and the non-parametric density of Ballé et al., "Variational image compression
with a scale hyperprior", ICLR 2018 (their "factorized-prior" baseline)::

    x ──g_a──► y ──*g──► y_g ──Q──► y_hat ──*g'──► g_s ──► x_hat
                                     │
                          p(y_hat) = prod over channels c of p_c   (EntropyBottleneck)

    g_a:  conv5/2 3→N, GDN, conv5/2 N→N, GDN, conv5/2 N→N, GDN, conv5/2 N→M
    g_s:  deconv5/2 M→N, IGDN, deconv5/2 N→N, IGDN, deconv5/2 N→N, IGDN, deconv5/2 N→3

Every element of channel ``c`` has the same density, whatever the picture: the prior cannot
follow local activity, which the hyperprior models fix. Its tables are fixed at
``update()`` and travel with the weights, so decoding involves no table choice at all.
``g``/``g'`` are the gain units (:mod:`..gain`).
"""

from __future__ import annotations

import torch
from torch import Tensor

from codeclab.entropy.factorized import EntropyBottleneck
from codeclab.learned.gain import DEFAULT_LAMBDAS
from codeclab.learned.models.base import CompressionModel, bottleneck_likelihoods, check_picture, decoding
from codeclab.learned.registry import register_model


class FactorizedPrior(CompressionModel):
    """Ballé 2017/2018 factorized prior with gain units (``N`` inner, ``M`` latent channels)."""

    shape_stride = 16  # compress() returns the shape of y itself

    def __init__(self, N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__(N, M, lambdas)
        self.entropy_bottleneck = EntropyBottleneck(M)

    def forward(self, x: Tensor, lmbda: Tensor | float) -> dict:
        y = self.analyze(x, lmbda)
        # Noise feeds the synthesis too (Ballé 2017): at test time y is rounded around the
        # per-channel medians, an offset the synthesis must not mind.
        y_hat, y_likelihoods = bottleneck_likelihoods(self.entropy_bottleneck, y)
        return {"x_hat": self.synthesize(y_hat, lmbda), "likelihoods": {"y": y_likelihoods}}

    def update(self) -> None:
        self.entropy_bottleneck.update()

    @torch.no_grad()
    def compress(self, x: Tensor, lmbda: Tensor | float) -> dict:
        check_picture(x)
        y = self.analyze(x, lmbda)
        return {"strings": [self.entropy_bottleneck.compress(y)], "shape": (y.shape[0], *y.shape[-2:])}

    @decoding
    def decompress(self, strings: list[bytes], shape: tuple[int, int, int], lmbda: Tensor | float) -> dict:
        """``shape``: (pictures, height, width) of the latent, as ``compress`` returned it."""
        (y_string,) = strings
        n, h, w = shape
        y_hat = self.entropy_bottleneck.decompress(y_string, (n, self.M, h, w))
        return self.reconstruct(y_hat, lmbda)


@register_model("factorized")
def factorized(N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> FactorizedPrior:
    return FactorizedPrior(N, M, tuple(lambdas))
