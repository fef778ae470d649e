"""Checkerboard context: half the latent predicts the other half, decoded in two passes.

He, Zheng, Sun, Wang, Qin, "Checkerboard context model for efficient learned image
compression", CVPR 2021, on the mean-scale hyperprior of Minnen et al. 2018. Minnen's
autoregressive context predicts every latent from its causal neighbours, which forces
H x W sequential decoding steps. The checkerboard splits the positions in two::

    anchors      (i + j even)  coded first, from the hyperprior alone
    non-anchors  (i + j odd)   coded second, from the hyperprior and the anchors around them

    a n a n a        a 5x5 context kernel masked to the 12 taps (di + dj odd) that,
    n a n a n        seen from a non-anchor, fall on anchors:
    a n[a]n a
    n a n a n            . x . x .
    a n a n a            x . x . x
                         . x o x .
                         x . x . x
                         . x . x .

so decoding takes two parallel passes and keeps most of the context model's gain::

    x ──g_a──► y ──*g──► y_g ──Q──► y_hat ──*g'──► g_s ──► x_hat
                          │           │ anchors
                          ▼           ▼
                         h_a        ctx: masked conv5 M→2M  (zero at anchors)
                          ▼           ▼
                          z ──Q──► z_hat ──h_s──► hyper (2M) ──┐
                                                    ctx (2M) ──┴─► ep ──► (mu, log2 s)

    h_a, h_s:  as in :mod:`.meanscale`;   ep: conv1/1 4M→10M/3, LReLU, 10M/3→8M/3, LReLU, 8M/3→2M

Decoding: (1) z; (2) h_s; (3) ep on the anchors with a zero context -> anchors decoded;
(4) the context at the non-anchors, ep -> non-anchors decoded; (5) g_s. Steps 2-4 run as
integer programs (:mod:`..integer`) and only where needed: ep at the anchor positions,
the context as a 12-tap gather at the non-anchor positions followed by one matrix product.
Anchors and non-anchors go to two ANS streams.

Training runs the same two passes over the whole grid in floating point: ep with a zero
context gives the anchors' means, their straight-through quantized values feed the masked
convolution, and each position takes the parameters of its own pass.

Why this context model rather than ELIC's uneven channel groups (He et al., CVPR 2022):
ELIC adds a channel-context network per group (5x5 convolutions M' -> 224 -> 128 -> 2 g_k)
and decodes in 2 x 5 sequential steps. Here every table choice runs as an exact float64
integer program, so that cost counts double: at M = 192 on a Kodak picture the
checkerboard's context and ep take ~2.2 GMAC, ELIC's channel contexts alone ~8 GMAC more
(groups 16, 16, 32, 64, 64). Within a 1 s CPU decode, the checkerboard buys the better
rate-distortion per CPU-second.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.entropy.conditional import GaussianConditional
from codeclab.entropy.factorized import EntropyBottleneck
from codeclab.entropy.quantization import from_symbols, quantize, to_symbols
from codeclab.learned import integer
from codeclab.learned.gain import DEFAULT_LAMBDAS
from codeclab.learned.models.base import (GRID, CompressionModel, bottleneck_likelihoods, cached_program,
                                          check_picture, decode_gaussian, decoding, encode_gaussian,
                                          gaussian_likelihoods, leaky_relu)
from codeclab.learned.models.meanscale import gaussian_parameters, hyper_analysis, hyper_synthesis
from codeclab.learned.registry import register_model

#: Offsets (di, dj) of the context kernel's taps: those from a non-anchor onto anchors.
CONTEXT_TAPS = tuple((di, dj) for di in range(-2, 3) for dj in range(-2, 3) if (di + dj) % 2)


def anchor_mask(height: int, width: int, device=None) -> Tensor:
    """(height, width) bool, True at the anchors ``(i + j) % 2 == 0``."""
    i = torch.arange(height, device=device)[:, None]
    j = torch.arange(width, device=device)[None, :]
    return (i + j) % 2 == 0


class CheckerboardContext(nn.Module):
    """5x5 convolution with only the 12 taps of :data:`CONTEXT_TAPS`.

    The parameter holds just those taps, (C_out, C_in, 12): a masked full kernel would carry
    13 dead weights per pair of channels (an eighth of the flagship's size).
    """

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.in_channels, self.out_channels = in_channels, out_channels
        bound = 1.0 / (in_channels * len(CONTEXT_TAPS)) ** 0.5  # nn.Conv2d's default init, for the real fan-in
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, len(CONTEXT_TAPS)).uniform_(-bound, bound))
        self.bias = nn.Parameter(torch.empty(out_channels).uniform_(-bound, bound))
        positions = [(di + 2) * 5 + (dj + 2) for di, dj in CONTEXT_TAPS]
        self.register_buffer("positions", torch.tensor(positions), persistent=False)

    def kernel(self) -> Tensor:
        """The full (C_out, C_in, 5, 5) kernel, zeros off the taps."""
        full = self.weight.new_zeros(self.out_channels, self.in_channels, 25)
        return full.index_copy(2, self.positions, self.weight).view(self.out_channels, self.in_channels, 5, 5)

    def forward(self, x: Tensor) -> Tensor:
        return F.conv2d(x, self.kernel(), self.bias, padding=2)

    def tap_weights(self) -> Tensor:
        """(C_out, C_in * 12, 1, 1): the kernel as a matrix over gathered taps, input
        channel major (the order of :func:`gather_taps`)."""
        return self.weight.reshape(self.out_channels, -1, 1, 1)


def entropy_parameters(M: int) -> nn.Sequential:
    """ep: (4M: context, hyper) -> (2M: mu, log2 s), 1x1 convolutions (Minnen 2018)."""
    return nn.Sequential(nn.Conv2d(M * 12 // 3, M * 10 // 3, 1), leaky_relu(),
                         nn.Conv2d(M * 10 // 3, M * 8 // 3, 1), leaky_relu(),
                         nn.Conv2d(M * 8 // 3, M * 6 // 3, 1))


def tap_index(height: int, width: int, positions: Tensor) -> Tensor:
    """(12 n,) flat indexes into the grid padded by 2 of the taps around each position."""
    rows, cols = positions // width + 2, positions % width + 2
    taps = [(rows + di) * (width + 4) + cols + dj for di, dj in CONTEXT_TAPS]
    return torch.stack(taps).flatten()


def gather_taps(grid: Tensor, index: Tensor) -> Tensor:
    """(N, C, H, W) -> (N, C * 12, n, 1): the context taps of :func:`tap_index`."""
    n, c = grid.shape[:2]
    padded = F.pad(grid, (2, 2, 2, 2)).flatten(2)
    return padded.index_select(2, index).view(n, c * len(CONTEXT_TAPS), -1, 1)


def context_program(context: CheckerboardContext) -> integer.Program:
    return (integer.integer_conv(context.tap_weights(), context.bias),)


def anchor_program(entropy_parameters: nn.Sequential) -> integer.Program:
    """The ep program for a zero context: its first layer without the context's input
    columns (which would only add exact zeros)."""
    first, *rest = integer.integerize(entropy_parameters)
    context_channels = entropy_parameters[0].in_channels // 2
    sliced = integer.IntegerConv(first.weight[:, context_channels:].contiguous(), first.bias,
                                 first.inverse_scale, first.padding, first.shuffle)
    return (sliced, *rest)


class CheckerboardMeanScale(CompressionModel):
    """He 2021 checkerboard context on Minnen 2018's mean-scale hyperprior, with gain units."""

    def __init__(self, N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> None:
        super().__init__(N, M, lambdas)
        self.h_a = hyper_analysis(N, M)
        self.h_s = hyper_synthesis(N, M)
        self.context = CheckerboardContext(M, 2 * M)
        self.entropy_parameters = entropy_parameters(M)
        self.entropy_bottleneck = EntropyBottleneck(N)
        self.gaussian = GaussianConditional(GRID)

    # ------------------------------------------------------------------ training
    def forward(self, x: Tensor, lmbda: Tensor | float) -> dict:
        y = self.analyze(x, lmbda)
        z_hat, z_likelihoods = bottleneck_likelihoods(self.entropy_bottleneck, self.h_a(y))
        hyper = self.h_s(z_hat)
        mode = "ste" if self.training else "dequantize"
        anchors = anchor_mask(*y.shape[-2:], device=y.device)
        anchor_params = self.entropy_parameters(torch.cat([torch.zeros_like(hyper), hyper], dim=1))
        anchor_means = anchor_params.chunk(2, dim=1)[0]
        y_hat_anchors = quantize(y, mode, anchor_means) * anchors
        params = self.entropy_parameters(torch.cat([self.context(y_hat_anchors), hyper], dim=1))
        means, log2_scales = torch.where(anchors, anchor_params, params).chunk(2, dim=1)
        y_likelihoods = gaussian_likelihoods(self.gaussian, y, log2_scales, means)
        y_hat = quantize(y, mode, means)
        return {"x_hat": self.synthesize(y_hat, lmbda), "likelihoods": {"y": y_likelihoods, "z": z_likelihoods}}

    def update(self) -> None:
        self.entropy_bottleneck.update()
        self.gaussian.update()

    # ------------------------------------------------------------------ coding
    def _hyper(self, z_hat: Tensor) -> Tensor:
        return integer.run(cached_program(self.h_s), integer.to_fixed(z_hat)).flatten(2)

    def _anchor_parameters(self, hyper: Tensor, anchors: Tensor) -> tuple[Tensor, Tensor]:
        program = cached_program(self.entropy_parameters, anchor_program)
        return gaussian_parameters(integer.run(program, hyper[:, :, anchors, None]))

    def _non_anchor_parameters(self, hyper: Tensor, y_anchors: Tensor, anchors: Tensor,
                               others: Tensor, shape: tuple[int, int]) -> tuple[Tensor, Tensor]:
        n, height, width = y_anchors.shape[0], *shape
        grid = torch.zeros(n, self.M, height * width, dtype=torch.float64, device=hyper.device)
        grid[:, :, anchors] = integer.to_fixed(y_anchors)
        taps = gather_taps(grid.view(n, self.M, height, width), tap_index(height, width, others))
        context = integer.run(cached_program(self.context, context_program), taps)
        features = torch.cat([context, hyper[:, :, others, None]], dim=1)
        return gaussian_parameters(integer.run(cached_program(self.entropy_parameters), features))

    @staticmethod
    def _positions(height: int, width: int, device) -> tuple[Tensor, Tensor]:
        """Flat indexes of the anchors and of the non-anchors, row-major."""
        flat = anchor_mask(height, width, device).flatten()
        return flat.nonzero().squeeze(1), (~flat).nonzero().squeeze(1)

    @torch.no_grad()
    def compress(self, x: Tensor, lmbda: Tensor | float) -> dict:
        check_picture(x)
        y = self.analyze(x, lmbda)
        z = self.h_a(y)
        z_string = self.entropy_bottleneck.compress(z)
        z_hat = self.entropy_bottleneck.decompress(z_string, z.shape).to(z.device)
        hyper = self._hyper(z_hat)
        anchors, others = self._positions(*y.shape[-2:], y.device)
        y_flat = y.flatten(2)

        indexes, means = self._anchor_parameters(hyper, anchors)
        y_anchors = y_flat[:, :, anchors, None]
        anchor_string = encode_gaussian(y_anchors, indexes, means)
        y_hat_anchors = from_symbols(to_symbols(y_anchors, means), means)  # what the decoder will have

        indexes, means = self._non_anchor_parameters(hyper, y_hat_anchors[..., 0], anchors, others, y.shape[-2:])
        other_string = encode_gaussian(y_flat[:, :, others, None], indexes, means)
        return {"strings": [z_string, anchor_string, other_string], "shape": (z.shape[0], *z.shape[-2:])}

    @decoding
    def decompress(self, strings: list[bytes], shape: tuple[int, int, int], lmbda: Tensor | float) -> dict:
        """``shape``: (pictures, height, width) of the hyper-latent, as ``compress`` returned it."""
        z_string, anchor_string, other_string = strings
        n, h, w = shape
        device = self.gain.log_gain.device
        z_hat = self.entropy_bottleneck.decompress(z_string, (n, self.N, h, w)).to(device)
        hyper = self._hyper(z_hat)
        height, width = 4 * h, 4 * w
        anchors, others = self._positions(height, width, device)

        indexes, means = self._anchor_parameters(hyper, anchors)
        y_anchors = decode_gaussian(anchor_string, indexes, means)[..., 0]
        indexes, means = self._non_anchor_parameters(hyper, y_anchors, anchors, others, (height, width))
        y_others = decode_gaussian(other_string, indexes, means)[..., 0]

        y_hat = torch.empty(n, self.M, height * width, device=device)
        y_hat[:, :, anchors] = y_anchors
        y_hat[:, :, others] = y_others
        return self.reconstruct(y_hat.view(n, self.M, height, width), lmbda)


@register_model("checkerboard")
def checkerboard(N: int = 128, M: int = 192, lambdas: tuple[float, ...] = DEFAULT_LAMBDAS) -> CheckerboardMeanScale:
    return CheckerboardMeanScale(N, M, tuple(lambdas))
