"""Tiny learned codecs for the training tests (a few thousand parameters, milliseconds a step).

``analysis``: two stride-2 convolutions, 3 -> 8 -> 4 channels; the latent ``y`` is
quantized with uniform noise while training and rounded otherwise; its prior is a
zero-mean Gaussian per channel with a learned scale, so the likelihood of ``y_hat`` is

    p(y_hat) = Phi((y_hat + 1/2) / s_c) - Phi((y_hat - 1/2) / s_c);

``synthesis``: two stride-2 transposed convolutions back to 3 channels.

Registered variants:

* ``test-tiny``: the model above.
* ``test-tiny-vr``: variable rate: ``model(x, lmbda)`` scales the latent by a learned
  per-channel gain ``exp(a_c log(lambda) + b_c)`` before quantization and divides after.
* ``test-tiny-coded``: adds ``compress``/``decompress`` (zlib of the int8 latent: real bytes)
  and an ``aux_loss`` pulling a ``quantiles`` parameter to 3, to exercise those paths.

Setting ``CODECLAB_TEST_STEP_DELAY`` (seconds) makes each forward pass sleep, so a test can
kill a run while it trains; it is read from the environment so it is not part of the
model's arguments (a resumed run and an unbroken run must build the same model).
"""

from __future__ import annotations

import os
import time
import zlib

import numpy as np
import torch
from torch import nn

from codeclab.learned.registry import register_model


class TinyCodec(nn.Module):
    size_multiple = 4

    def __init__(self, channels: int = 8, latent: int = 4) -> None:
        super().__init__()
        self.latent = latent
        self.analysis = nn.Sequential(nn.Conv2d(3, channels, 5, 2, 2), nn.ReLU(), nn.Conv2d(channels, latent, 5, 2, 2))
        self.synthesis = nn.Sequential(nn.ConvTranspose2d(latent, channels, 5, 2, 2, output_padding=1), nn.ReLU(),
                                       nn.ConvTranspose2d(channels, 3, 5, 2, 2, output_padding=1))
        self.log_scale = nn.Parameter(torch.zeros(latent))

    def quantize(self, y: torch.Tensor) -> torch.Tensor:
        return y + torch.empty_like(y).uniform_(-0.5, 0.5) if self.training else torch.round(y)

    def likelihood(self, y_hat: torch.Tensor) -> torch.Tensor:
        scale = self.log_scale.exp().view(1, -1, 1, 1)
        upper = torch.special.ndtr((y_hat + 0.5) / scale)
        lower = torch.special.ndtr((y_hat - 0.5) / scale)
        return (upper - lower).clamp_min(1e-9)

    def forward(self, x: torch.Tensor) -> dict:
        delay = float(os.environ.get("CODECLAB_TEST_STEP_DELAY", "0"))
        if delay:
            time.sleep(delay)
        y_hat = self.quantize(self.analysis(x))
        return {"x_hat": self.synthesis(y_hat), "likelihoods": {"y": self.likelihood(y_hat)}}


class TinyVariableRateCodec(TinyCodec):
    variable_rate = True

    def __init__(self, channels: int = 8, latent: int = 4) -> None:
        super().__init__(channels, latent)
        self.gain_slope = nn.Parameter(torch.full((latent,), 0.5))
        self.gain_bias = nn.Parameter(torch.full((latent,), 2.0))

    def forward(self, x: torch.Tensor, lmbda: torch.Tensor) -> dict:
        log_lambda = torch.log(lmbda).view(-1, 1, 1, 1)
        gain = torch.exp(self.gain_slope.view(1, -1, 1, 1) * log_lambda + self.gain_bias.view(1, -1, 1, 1))
        y_hat = self.quantize(self.analysis(x) * gain)
        return {"x_hat": self.synthesis(y_hat / gain), "likelihoods": {"y": self.likelihood(y_hat)}}


class TinyCodedCodec(TinyCodec):
    AUX_TARGET = 3.0

    def __init__(self, channels: int = 8, latent: int = 4) -> None:
        super().__init__(channels, latent)
        self.quantiles = nn.Parameter(torch.zeros(latent))

    def aux_loss(self) -> torch.Tensor:
        return (self.quantiles - self.AUX_TARGET).square().sum()

    @torch.no_grad()
    def compress(self, x: torch.Tensor) -> dict:
        y = torch.round(self.analysis(x)).clamp(-128, 127).to(torch.int8)
        return {"strings": [[zlib.compress(y.numpy().tobytes(), 9)]], "shape": tuple(y.shape)}

    @torch.no_grad()
    def decompress(self, strings, shape) -> dict:
        y = np.frombuffer(zlib.decompress(strings[0][0]), dtype=np.int8).reshape(shape)
        return {"x_hat": self.synthesis(torch.from_numpy(y.copy()).float()).clamp(0, 1)}


@register_model("test-tiny")
def tiny(channels: int = 8, latent: int = 4) -> nn.Module:
    return TinyCodec(channels, latent)


@register_model("test-tiny-vr")
def tiny_variable_rate(channels: int = 8, latent: int = 4) -> nn.Module:
    return TinyVariableRateCodec(channels, latent)


@register_model("test-tiny-coded")
def tiny_coded(channels: int = 8, latent: int = 4) -> nn.Module:
    return TinyCodedCodec(channels, latent)

