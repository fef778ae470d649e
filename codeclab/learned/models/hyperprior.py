"""Scale hyperprior: side information tells the decoder how large each latent is.

Ballé, Minnen, Singh, Hwang, Johnston, "Variational image compression with a scale
hyperprior", ICLR 2018. A second autoencoder summarises the spatial structure of the
latent's magnitudes in a hyper-latent ``z``, coded first with a factorized prior; from it
the decoder predicts a zero-mean Gaussian scale for every latent element::

    x ──g_a──► y ──*g──► y_g ──Q──► y_hat ──*g'──► g_s ──► x_hat
                          │           ▲
                         |.|          │ N(0, s^2) with s = 2^L, L = h_s(z_hat)
                          ▼           │
                         h_a ──► z ──Q──► z_hat ──h_s──► L      (z: EntropyBottleneck)

    h_a:  conv3/1 M→N, ReLU, conv5/2 N→N, ReLU, conv5/2 N→N
    h_s:  deconv5/2 N→N, ReLU, deconv5/2 N→N, ReLU, conv3/1 N→M   (output: log2 of the scales)

g_a and g_s as in :mod:`.factorized`. The hyper-synthesis outputs ``log2`` of the scale
(Ballé's outputs the scale through a ReLU): the scale grid is logarithmic, so the decoder
reads its table index straight off the integer output, ``round(16 L) - k_min``. When
coding, h_s runs as an integer program (:mod:`..integer`), so encoder and decoder pick the
same tables on any machine and thread count.
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
                                          gaussian_likelihoods)
from codeclab.learned.registry import register_model


class ScaleHyperprior(CompressionModel):
    """Ballé 2018 scale hyperprior with gain units (``N`` inner, ``M`` latent channels)."""

    def __init__(self, N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__(N, M, lambdas)
        self.h_a = nn.Sequential(conv(M, N, 3, 1), nn.ReLU(), conv(N, N), nn.ReLU(), conv(N, N))
        self.h_s = nn.Sequential(deconv(N, N), nn.ReLU(), deconv(N, N), nn.ReLU(), conv(N, M, 3, 1))
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian = GaussianConditional(GRID)

    def forward(self, x: Tensor, lmbda: Tensor | float) -> dict:
        y = self.analyze(x, lmbda)
        z_hat, z_likelihoods = bottleneck_likelihoods(self.entropy_bottleneck, self.h_a(y.abs()))
        y_likelihoods = gaussian_likelihoods(self.gaussian, y, self.h_s(z_hat))
        y_hat = quantize(y, "ste" if self.training else "dequantize")
        return {"x_hat": self.synthesize(y_hat, lmbda), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def update(self) -> None:
        self.entropy_bottleneck.update()
        self.gaussian.update()

    def table_indexes(self, z_hat: Tensor) -> Tensor:
        """Table index of every latent element: the integer h_s, read as log2 scales."""
        return integer.scale_indexes(integer.run(cached_program(self.h_s), integer.to_fixed(z_hat)), GRID)

    @torch.no_grad()
    def compress(self, x: Tensor, lmbda: Tensor | float) -> dict:
        check_picture(x)
        y = self.analyze(x, lmbda)
        z = self.h_a(y.abs())
        z_string = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_string, z.shape).to(z.device)
        y_string = encode_gaussian(y, self.table_indexes(z_hat), None)
        return {"strings": [z_string, y_string], "shape": (z.shape[0], *z.shape[-2:])}

    @decoding
    def decompress(self, strings: list[bytes], shape: tuple[int, int, int], lmbda: Tensor | float) -> dict:
        """``shape``: (pictures, height, width) of the hyper-latent, as ``compress`` returned it."""
        z_string, y_string = strings
        n, h, w = shape
        device = self.gain.log_gain.device
        z_hat = self.entropy_bottleneck.decompress(z_string, (n, self.N, h, w)).to(device)
        y_hat = decode_gaussian(y_string, self.table_indexes(z_hat), None)
        return self.reconstruct(y_hat, lmbda)


@register_model("hyperprior")
def hyperprior(N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> ScaleHyperprior:
    return ScaleHyperprior(N, M, tuple(lambdas))
