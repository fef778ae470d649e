"""Quantization of latents for learned compression, and its differentiable proxies.

At test time a latent ``y`` is coded as the integer ``q = round(y - mu)`` and rebuilt as
``y_hat = q + mu`` (``mu`` a predicted mean, or 0). Rounding has zero gradient almost
everywhere, so training replaces it (Ballé et al., "End-to-end optimized image
compression", ICLR 2017; Minnen et al. 2018):

* ``"noise"``: y_hat = y + u, u ~ U(-1/2, 1/2). The density of y + u is the density of y
  convolved with a unit box, which equals the probability of the rounding bin: the rate
  term is a smooth upper bound of the true rate.
* ``"ste"``: y_hat = round(y - mu) + mu forward, identity backward (straight-through
  estimator; Bengio et al. 2013) -- what mean-scale models feed their synthesis transform.
* ``"dequantize"``: the true test-time value round(y - mu) + mu, no gradient.
"""

from __future__ import annotations

import torch
from torch import Tensor

MODES = ("noise", "ste", "dequantize")


def quantize(y: Tensor, mode: str, means: Tensor | None = None) -> Tensor:
    """Quantized (or noisy) latent in the value domain of ``y``."""
    if mode == "noise":
        return y + torch.empty_like(y).uniform_(-0.5, 0.5)
    centred = y if means is None else y - means
    if mode == "ste":
        rounded = centred + (torch.round(centred) - centred).detach()
    elif mode == "dequantize":
        rounded = torch.round(centred).detach()
    else:
        raise ValueError(f"unknown quantization mode {mode!r}; choose from {MODES}")
    return rounded if means is None else rounded + means


def to_symbols(y: Tensor, means: Tensor | None = None) -> Tensor:
    """Integer symbols ``round(y - mu)`` (int32) for the entropy coder."""
    centred = torch.round((y if means is None else y - means).detach())
    if centred.numel() and not bool(centred.abs().max() < 2.0**31):  # also catches NaN
        raise ValueError("latent values must be finite and round to int32")
    return centred.to(torch.int32)


def from_symbols(symbols: Tensor, means: Tensor | None = None, dtype=torch.float32) -> Tensor:
    """``y_hat = symbols + mu``."""
    y_hat = symbols.to(dtype)
    return y_hat if means is None else y_hat + means.to(dtype)


def lower_bound(x: Tensor, bound: float) -> Tensor:
    """max(x, bound) whose gradient passes straight through (so a scale stuck below the
    bound still learns), like CompressAI's ``LowerBound`` but simpler."""
    return x + (x.clamp_min(bound) - x).detach()
