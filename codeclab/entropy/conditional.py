"""Conditional entropy models: each latent has its own predicted scale (and mean).

Hyperprior-style models (Ballé et al., "Variational image compression with a scale
hyperprior", ICLR 2018; Minnen et al., "Joint autoregressive and hierarchical priors",
NeurIPS 2018) predict for every latent element a density ``p(y) = f((y - mu) / s) / s``
from side information. The probability of the rounding bin of ``y_hat`` is

    P(y_hat) = F((y_hat - mu + 1/2) / s) - F((y_hat - mu - 1/2) / s)

with F the unit CDF of the family: Gaussian ``Phi``, Laplace, or logistic (the sigmoid).
For precision in the tails it is evaluated on the lower side, ``v = |y_hat - mu|``:
``P = F((1/2 - v) / s) - F((-1/2 - v) / s)``.

Coding (``compress``/``decompress``), deterministic by construction:

1. scales -> integer grid indices with :meth:`ScaleGrid.index` (exact float32
   comparisons);
2. means -> the grid ``mu_q = round(64 mu) / 64`` (:func:`quantize_means`); the coded
   symbol is ``round(y - mu_q)`` and the decoder rebuilds ``y_hat = symbol + mu_q``. The
   mean never enters a table: it only shifts the symbol, so the tables stay zero-mean;
3. symbols -> ANS with the integer tables of :func:`.tables.parametric_tables`, computed
   with integer arithmetic only, so encoder and decoder hold identical tables on every
   machine; any thread count or batch split yields the same indices and the same bytes.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from codeclab.entropy.quantization import from_symbols, lower_bound, quantize, to_symbols
from codeclab.entropy.stream import decode_symbols, encode_symbols
from codeclab.entropy.tables import FAMILIES, CdfTables, ScaleGrid, parametric_tables

#: Means are rounded to multiples of 1 / MEAN_STEPS before use in coding.
MEAN_STEPS = 64


def unit_cdf(x: Tensor, family: str) -> Tensor:
    """CDF of the unit-scale, zero-mean density of ``family`` (differentiable)."""
    if family == "gaussian":
        return 0.5 * torch.erfc(-x * (1.0 / math.sqrt(2.0)))
    if family == "laplace":  # 1/2 e^x for x < 0, 1 - 1/2 e^-x for x >= 0
        return 0.5 - 0.5 * torch.sign(x) * torch.expm1(-x.abs())
    if family == "logistic":
        return torch.sigmoid(x)
    raise ValueError(f"unknown family {family!r}; choose from {sorted(FAMILIES)}")


def bin_likelihood(y_hat: Tensor, scales: Tensor, means: Tensor | None, family: str) -> Tensor:
    """P(y_hat) = F((1/2 - v) / s) - F((-1/2 - v) / s), v = |y_hat - mu| (module docstring)."""
    v = (y_hat if means is None else y_hat - means).abs()
    return unit_cdf((0.5 - v) / scales, family) - unit_cdf((-0.5 - v) / scales, family)


def quantize_means(means: Tensor | None) -> Tensor | None:
    """``round(MEAN_STEPS * mu) / MEAN_STEPS``: exact in float32 (power-of-two steps)."""
    if means is None:
        return None
    return torch.round(means.detach().float() * MEAN_STEPS) / MEAN_STEPS


class ConditionalEntropyModel(nn.Module):
    """Entropy model with per-element scale (and optional mean) of a given ``family``.

    ``forward`` returns ``(y_hat, likelihoods)`` for the rate term ``-log2 likelihoods``;
    ``compress``/``decompress`` turn a latent into bytes and back.
    """

    def __init__(self, family: str = "gaussian", grid: ScaleGrid = ScaleGrid(),
                 likelihood_bound: float = 1e-9) -> None:
        super().__init__()
        if family not in FAMILIES:
            raise ValueError(f"unknown family {family!r}; choose from {sorted(FAMILIES)}")
        self.family = family
        self.grid = grid
        self.likelihood_bound = likelihood_bound
        self.scale_bound = float(grid.scales()[0])
        self._tables: CdfTables | None = None

    def likelihood(self, y_hat: Tensor, scales: Tensor, means: Tensor | None = None) -> Tensor:
        scales = lower_bound(scales, self.scale_bound)
        return lower_bound(bin_likelihood(y_hat, scales, means, self.family), self.likelihood_bound)

    def forward(self, y: Tensor, scales: Tensor, means: Tensor | None = None,
                mode: str | None = None) -> tuple[Tensor, Tensor]:
        """``mode``: "noise" | "ste" | "dequantize"; default noise in training, else dequantize."""
        mode = mode or ("noise" if self.training else "dequantize")
        y_hat = quantize(y, mode, means)
        return y_hat, self.likelihood(y_hat, scales, means)

    # -------------------------------------------------------------------- coding
    def update(self) -> CdfTables:
        """Build (or fetch from the per-process cache) the integer tables of the grid."""
        self._tables = parametric_tables(self.family, self.grid)
        return self._tables

    @property
    def tables(self) -> CdfTables:
        return self._tables if self._tables is not None else self.update()

    def build_indexes(self, scales: Tensor) -> Tensor:
        """Integer table index of every scale (int16)."""
        return self.grid.index(scales)

    def compress(self, y: Tensor, scales: Tensor, means: Tensor | None = None) -> bytes:
        """Latent -> bytes. ``scales``/``means`` must be what the decoder will have."""
        if y.shape != scales.shape or (means is not None and means.shape != y.shape):
            raise ValueError("y, scales and means must have the same shape")
        symbols = to_symbols(y, quantize_means(means)).cpu().numpy()
        return encode_symbols(symbols, self.build_indexes(scales).numpy(), self.tables)

    def decompress(self, data: bytes, scales: Tensor, means: Tensor | None = None) -> Tensor:
        """Bytes -> ``y_hat`` (float32, on the device of ``scales``)."""
        symbols = decode_symbols(data, self.build_indexes(scales).numpy(), self.tables)
        symbols = torch.from_numpy(symbols).reshape(scales.shape).to(scales.device)
        means_q = quantize_means(means)
        return from_symbols(symbols, None if means_q is None else means_q.to(scales.device))

    def ideal_bits(self, y: Tensor, scales: Tensor, means: Tensor | None = None) -> float:
        """Bits the tables assign to ``y`` (what ``compress`` costs, less a few bytes)."""
        symbols = to_symbols(y, quantize_means(means)).cpu().numpy()
        return self.tables.ideal_bits(symbols, self.build_indexes(scales).numpy())


class GaussianConditional(ConditionalEntropyModel):
    """Gaussian conditional (scale, or mean + scale) -- Ballé 2018, Minnen 2018."""

    def __init__(self, grid: ScaleGrid = ScaleGrid(), likelihood_bound: float = 1e-9) -> None:
        super().__init__("gaussian", grid, likelihood_bound)


class LaplaceConditional(ConditionalEntropyModel):
    """Laplace conditional: heavier tails than the Gaussian."""

    def __init__(self, grid: ScaleGrid = ScaleGrid(), likelihood_bound: float = 1e-9) -> None:
        super().__init__("laplace", grid, likelihood_bound)


class LogisticConditional(ConditionalEntropyModel):
    """Logistic conditional: CDF = sigmoid, cheap and smooth."""

    def __init__(self, grid: ScaleGrid = ScaleGrid(), likelihood_bound: float = 1e-9) -> None:
        super().__init__("logistic", grid, likelihood_bound)

