"""The factorized prior ("EntropyBottleneck"): a learned density per channel.

Ballé et al., "Variational image compression with a scale hyperprior", ICLR 2018,
appendix 6.1. For each channel a monotone function c: R -> (0, 1) is the CDF of the
latent, built as a composition of K small layers

    f_k(x) = g_k(H_k x + b_k),  g_k(x) = x + a_k * tanh(x)   (k < K),   c = sigmoid(f_K),

with H_k = softplus(H~_k) >= 0 and a_k = tanh(a~_k) > -1, which makes every layer, and so
c, increasing. The likelihood of a rounding bin is c(y + 1/2) - c(y - 1/2), computed as
|sigmoid(-sgn * u) - sigmoid(-sgn * l)| with u, l the logits and sgn = sign(u + l) so the
subtraction happens where the sigmoids are small (precise in both tails).

Integer tables without an auxiliary loss: CompressAI learns the tail quantiles as extra
parameters trained by an "aux loss". Since c is monotone, :meth:`EntropyBottleneck.update`
instead finds them by bisection on the logits: the median (logit 0) and the points where
the tails hold ``tail_mass / 2`` each. Symbols are ``round(y - median)``; their table spans
the quantiles plus an escape entry, and is turned into 24-bit frequencies by
:func:`.tables.quantize_pmf`. The tables, medians and offsets are buffers: they are saved
with the weights, so a decoder uses the tables the encoder's ``update()`` produced and
never recomputes them in floating point.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.entropy.quantization import from_symbols, lower_bound, quantize, to_symbols
from codeclab.entropy.stream import decode_symbols, encode_symbols
from codeclab.entropy.tables import CdfTables, quantize_pmf

_TABLE_BUFFERS = ("medians", "cdf_freqs", "cdf_lengths", "cdf_offsets")


class EntropyBottleneck(nn.Module):
    """Factorized learned prior over ``channels`` channels (dimension 1 of the latent)."""

    def __init__(self, channels: int, filters: tuple[int, ...] = (3, 3, 3), init_scale: float = 10.0,
                 tail_mass: float = 2.0 ** -27, likelihood_bound: float = 1e-9) -> None:
        super().__init__()
        self.channels = int(channels)
        self.tail_mass = float(tail_mass)
        self.likelihood_bound = float(likelihood_bound)
        widths = (1, *filters, 1)
        scale = init_scale ** (1.0 / (len(filters) + 1))
        self.matrices = nn.ParameterList()
        self.biases = nn.ParameterList()
        self.factors = nn.ParameterList()
        for k in range(len(widths) - 1):
            # softplus(init) = 1 / (scale * fan_in): the initial CDF is wide (Ballé 2018).
            init = math.log(math.expm1(1.0 / scale / widths[k + 1]))
            self.matrices.append(nn.Parameter(torch.full((channels, widths[k + 1], widths[k]), init)))
            self.biases.append(nn.Parameter(torch.empty(channels, widths[k + 1], 1).uniform_(-0.5, 0.5)))
            if k < len(widths) - 2:
                self.factors.append(nn.Parameter(torch.zeros(channels, widths[k + 1], 1)))
        for name in _TABLE_BUFFERS:
            self.register_buffer(name, torch.zeros(0, dtype=torch.float32 if name == "medians" else torch.int64))

    # -------------------------------------------------------------------- density
    def logits_cdf(self, x: Tensor) -> Tensor:
        """Logit of the CDF, ``x`` of shape (channels, 1, n) -> (channels, 1, n)."""
        for k, (matrix, bias) in enumerate(zip(self.matrices, self.biases)):
            x = torch.matmul(F.softplus(matrix), x) + bias
            if k < len(self.factors):
                x = x + torch.tanh(self.factors[k]) * torch.tanh(x)
        return x

    def likelihood(self, y_hat: Tensor) -> Tensor:
        """P(y_hat) per element; ``y_hat`` of shape (B, C, ...)."""
        flat = y_hat.transpose(0, 1).reshape(self.channels, 1, -1)
        lower = self.logits_cdf(flat - 0.5)
        upper = self.logits_cdf(flat + 0.5)
        sign = -torch.sign(lower + upper).detach()
        lik = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs()
        moved = lik.reshape(y_hat.shape[1], y_hat.shape[0], *y_hat.shape[2:]).transpose(0, 1)
        return lower_bound(moved, self.likelihood_bound)

    def forward(self, y: Tensor, mode: str | None = None) -> tuple[Tensor, Tensor]:
        """``(y_hat, likelihoods)``; ``mode`` as in :func:`.quantization.quantize`."""
        mode = mode or ("noise" if self.training else "dequantize")
        means = self._median_map(y) if mode != "noise" and self.medians.numel() else None
        y_hat = quantize(y, mode, means)
        return y_hat, self.likelihood(y_hat)

    # -------------------------------------------------------------------- tables
    @torch.no_grad()
    def _bisect(self, target_logit: float, iterations: int = 64) -> Tensor:
        """Per channel, x with logits_cdf(x) = target (the function is increasing)."""
        lo = torch.full((self.channels, 1, 1), -1.0, dtype=torch.float64)
        hi = torch.full((self.channels, 1, 1), 1.0, dtype=torch.float64)
        model = self.double()
        try:
            for _ in range(64):  # widen the bracket until it holds the target
                too_high = model.logits_cdf(lo) > target_logit
                too_low = model.logits_cdf(hi) < target_logit
                if not (too_high.any() or too_low.any()):
                    break
                lo = torch.where(too_high, 2 * lo, lo)
                hi = torch.where(too_low, 2 * hi, hi)
            for _ in range(iterations):
                mid = 0.5 * (lo + hi)
                below = model.logits_cdf(mid) < target_logit
                lo = torch.where(below, mid, lo)
                hi = torch.where(below, hi, mid)
        finally:
            self.float()
        return (0.5 * (lo + hi)).reshape(-1)

    @torch.no_grad()
    def update(self) -> CdfTables:
        """Medians, quantiles and integer tables from the current density (once, at export)."""
        tail_logit = math.log(self.tail_mass / 2) - math.log1p(-self.tail_mass / 2)
        median = self._bisect(0.0)
        low = self._bisect(tail_logit)
        high = self._bisect(-tail_logit)
        medians = (torch.round(median * 64) / 64).float()  # exact in float32
        v_min = torch.floor(low - medians.double()).long()
        v_max = torch.ceil(high - medians.double()).long()
        lengths = (v_max - v_min + 1).reshape(-1, 1, 1)
        width = int(lengths.max())
        # All channels at once on a padded grid: row c holds v_min[c] + 0 .. width - 1.
        values = v_min.double().reshape(-1, 1, 1) + torch.arange(width, dtype=torch.float64)
        x = values + medians.double().reshape(-1, 1, 1)
        model = self.double()
        try:
            lower, upper = model.logits_cdf(x - 0.5), model.logits_cdf(x + 0.5)
        finally:
            self.float()
        sign = -torch.sign(lower + upper)
        pmf = (torch.sigmoid(sign * upper) - torch.sigmoid(sign * lower)).abs().reshape(self.channels, -1)
        tables, offsets = [], []
        for c in range(self.channels):
            p = pmf[c, : int(lengths[c])].numpy()
            escape = max(0.0, 1.0 - float(p.sum()))
            masses = np.round(np.append(p, escape) * 2.0 ** 40).astype(np.int64)
            tables.append(quantize_pmf(np.maximum(masses, 0)))
            offsets.append(int(v_min[c]))
        built = CdfTables.from_list(tables, offsets)
        self.medians = medians
        self.cdf_freqs = torch.from_numpy(built.freqs)
        self.cdf_lengths = torch.from_numpy(built.lengths)
        self.cdf_offsets = torch.from_numpy(built.offsets)
        self._tables = built
        return built

    @property
    def tables(self) -> CdfTables:
        if not self.cdf_freqs.numel():
            raise RuntimeError("EntropyBottleneck: call update() (or load updated weights) before coding")
        cached = getattr(self, "_tables", None)
        if cached is None or cached.freqs.size != self.cdf_freqs.numel():
            lengths = self.cdf_lengths.numpy()
            starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
            cached = CdfTables(self.cdf_freqs.numpy(), starts, lengths, self.cdf_offsets.numpy())
            self._tables = cached
        return cached

    def _load_from_state_dict(self, state_dict, prefix, *args, **kwargs):
        # The tables' sizes depend on training; adopt the saved sizes before loading.
        for name in _TABLE_BUFFERS:
            if prefix + name in state_dict:
                setattr(self, name, torch.empty_like(state_dict[prefix + name]))
        self._tables = None
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)

    # -------------------------------------------------------------------- coding
    def _median_map(self, y: Tensor) -> Tensor:
        return self.medians.to(y.device).reshape(1, -1, *([1] * (y.dim() - 2))).expand_as(y)

    def _indexes(self, shape: torch.Size) -> np.ndarray:
        if len(shape) < 2 or shape[1] != self.channels:
            raise ValueError(f"expected a latent of shape (B, {self.channels}, ...), got {tuple(shape)}")
        view = (1, self.channels) + (1,) * (len(shape) - 2)
        return np.broadcast_to(np.arange(self.channels, dtype=np.int16).reshape(view), tuple(shape))

    def compress(self, y: Tensor) -> bytes:
        """Latent (B, C, ...) -> bytes."""
        tables = self.tables
        symbols = to_symbols(y, self._median_map(y)).cpu().numpy()
        return encode_symbols(symbols, self._indexes(y.shape), tables)

    def decompress(self, data: bytes, shape) -> Tensor:
        """Bytes -> ``y_hat`` of ``shape`` (float32)."""
        shape = torch.Size(shape)
        symbols = decode_symbols(data, self._indexes(shape), self.tables)
        return from_symbols(torch.from_numpy(symbols).reshape(shape), self._median_map(torch.empty(shape)))
