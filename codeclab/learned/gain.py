"""Gain units: one set of weights for many rate-distortion trade-offs.

Cui et al., "Asymmetric gained deep image compression with continuous rate adaptation",
CVPR 2021. The latent is scaled channel-wise before quantization and rescaled after::

    y_g = y * g(t)          quantized and entropy coded
    y'  = y_hat_g * g'(t)   what the synthesis transform sees

A larger gain quantizes more finely: more bits, less distortion. ``g`` and the inverse
gain ``g'`` are learned separately (asymmetric) for each of K trade-offs
``lambda_0 < ... < lambda_(K-1)`` and interpolated *geometrically* in between, which
gives a continuous rate::

    t = position of log(lambda) among log(lambda_k)      (piecewise linear, clamped to [0, K-1])
    r = min(floor(t), K - 2),  l = t - r
    g(t) = g_r^(1 - l) * g_(r+1)^l      i.e. log g(t) = (1 - l) log g_r + l log g_(r+1)

The parameters are the logarithms of the gains, initialised to ``log g_k = 1/2 log(lambda_k /
lambda_ref)`` (and the inverse to its negative): for MSE the best uniform quantizer step
scales as ``lambda^-1/2``, so training starts with rates already ordered by lambda.

Gains never enter the decoder's table choices (those read only the quantized ``y_hat_g``
and ``z_hat``, see :mod:`.integer`); they scale the synthesis input, in floating point.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

#: CompressAI's MSE lambdas of quality 1..8: about 0.1 .. 1.5 bpp on Kodak for a mean-scale model.
DEFAULT_LAMBDAS = (0.0018, 0.0035, 0.0067, 0.0130, 0.0250, 0.0483, 0.0932, 0.1800)


def ladder_position(lmbda: Tensor, lambdas: Tensor) -> Tensor:
    """``t`` of each lambda: piecewise-linear in log(lambda) over the ladder, clamped to [0, K-1]."""
    logs = torch.log(lambdas.to(torch.float64))
    x = torch.log(torch.as_tensor(lmbda, dtype=torch.float64, device=lambdas.device)).reshape(-1)
    x = x.clamp(logs[0], logs[-1])
    r = (torch.searchsorted(logs, x, right=True) - 1).clamp(0, len(logs) - 2)
    return (r + (x - logs[r]) / (logs[r + 1] - logs[r])).to(torch.float32)


def lambda_at(position: float, lambdas: tuple[float, ...]) -> float:
    """The lambda at ladder position ``t`` in [0, K-1] (geometric interpolation)."""
    t = min(max(float(position), 0.0), len(lambdas) - 1.0)
    r = min(int(math.floor(t)), len(lambdas) - 2)
    frac = t - r
    return math.exp((1 - frac) * math.log(lambdas[r]) + frac * math.log(lambdas[r + 1]))


def interpolate(log_table: Tensor, position: Tensor) -> Tensor:
    """``exp((1 - l) L_r + l L_(r+1))`` for each position: (N,) -> (N, C, 1, 1)."""
    k = log_table.shape[0]
    r = position.floor().long().clamp(0, k - 2)
    frac = (position - r).to(log_table.dtype).unsqueeze(1)
    logs = (1 - frac) * log_table[r] + frac * log_table[r + 1]
    return torch.exp(logs)[:, :, None, None]


class GainUnits(nn.Module):
    """Per-channel gain and inverse gain for each lambda of a ladder (module docstring)."""

    def __init__(self, channels: int, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__()
        if len(lambdas) < 2 or any(not 0 < a < b for a, b in zip(lambdas, lambdas[1:], strict=False)):
            raise ValueError(f"lambdas must be at least two increasing positive values, got {lambdas}")
        self.lambdas = tuple(float(v) for v in lambdas)
        self.register_buffer("ladder", torch.tensor(self.lambdas, dtype=torch.float64), persistent=False)
        reference = math.sqrt(self.lambdas[0] * self.lambdas[-1])
        init = torch.tensor([0.5 * math.log(v / reference) for v in self.lambdas])
        self.log_gain = nn.Parameter(init[:, None].repeat(1, channels))
        self.log_inverse_gain = nn.Parameter(-init[:, None].repeat(1, channels))

    def position(self, lmbda: Tensor | float) -> Tensor:
        return ladder_position(torch.as_tensor(lmbda), self.ladder)

    def forward(self, lmbda: Tensor | float) -> tuple[Tensor, Tensor]:
        """``(gain, inverse_gain)``, each (N, C, 1, 1), for (N,) lambdas (or one)."""
        t = self.position(lmbda).to(self.log_gain.device)
        return interpolate(self.log_gain, t), interpolate(self.log_inverse_gain, t)
