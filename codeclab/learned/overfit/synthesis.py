"""From latent grids to the picture: learned 2x upsampling, then a small synthesis network.

One forward function serves two arithmetics. The encoder trains it in float32 (autograd);
the decoder runs it as an exact integer program on float64 tensors holding integers, so
the picture is the same on every machine, thread count and device (the argument of
:mod:`codeclab.learned.integer`: every sum stays below 2^53, every division is by a power
of two followed by ``floor``)::

    y_{L-1} ──up2──┐
                   cat ── y_{L-2} ──up2──┐                          (hierarchical, coarse
                                         cat ── ... ── y_0            to fine: L channels
                                                        │             at full resolution)
            1x1 conv L -> C, ReLU ── 1x1 conv C -> 3 ──┤
            x + 3x3 conv(x), ReLU ── x + 3x3 conv(x) ──► RGB in [0, 1]

``up2`` is separable: along each axis the sample between inputs ``i - 1`` and ``i`` at
offset 3/4 takes taps ``t_0..t_3`` over ``x[i-2..i+1]``, its mirror takes them reversed
(bicubic at the start, :data:`.architecture.BICUBIC_TAPS`; one learned set per level).
3x3 convolutions and the upsampling replicate the edge samples (Ladune et al.,
"COOL-CHIC", ICCV 2023; Leguay et al., "Low-complexity overfitted neural image codec", 2023).

Integer form (``shift`` given): activations are ``a = x 2^ACT_FRAC``; a layer with integer
weights ``W = w 2^k`` and the prepared bias ``B`` of :func:`integer_bias` computes
``floor((W * a + B) 2^-k)``, clamped to ``|a| <= 2^24``.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

#: Fraction bits of the integer synthesis's activations.
ACT_FRAC = 12
_LIMIT = float(2 ** 24)


def integer_bias(bias_steps: Tensor, weight_bits: int, bias_bits: int, act_frac: int) -> Tensor:
    """``B = n_b 2^(act_frac + k_w - k_b) + 2^(k_w - 1)``: the bias in the accumulator's
    units plus the rounding offset (needs ``k_b <= act_frac + k_w``)."""
    offset = 2.0 ** (weight_bits - 1) if weight_bits > 0 else 0.0
    return bias_steps.to(torch.float64) * 2.0 ** (act_frac + weight_bits - bias_bits) + offset


def _finish(acc: Tensor, shift: int | None) -> Tensor:
    if shift is None:
        return acc
    return torch.floor(acc * 2.0 ** -shift).clamp_(-_LIMIT, _LIMIT)


def _phase_taps(taps: Tensor) -> Tensor:
    """(2, 5) kernels over ``x[i-2..i+2]``: the sample at offset 3/4 before ``x[i]`` (taps
    on ``x[i-2..i+1]``) and its mirror after it (reversed taps on ``x[i-1..i+2]``)."""
    zero = taps.new_zeros(1)
    return torch.stack([torch.cat([taps, zero]), torch.cat([zero, taps.flip(0)])])


def upsample2(x: Tensor, taps: Tensor, shift: int | None = None) -> Tensor:
    """Separable 2x upsampling of (N, C, h, w) ``x`` with phase-0 ``taps`` (4,): rows, then
    columns; each pass is one grouped convolution giving both phases of every channel,
    interleaved after it."""
    n, c, h, w = x.shape
    kernel = _phase_taps(taps).repeat(c, 1)
    rounding = 2.0 ** (shift - 1) if shift is not None and shift > 0 else 0.0

    def finish(acc: Tensor) -> Tensor:
        return acc if shift is None else _finish(acc + rounding, shift)

    rows = finish(F.conv2d(F.pad(x, (2, 2, 0, 0), mode="replicate"), kernel.reshape(2 * c, 1, 1, 5), groups=c))
    x = rows.view(n, c, 2, h, w).permute(0, 1, 3, 4, 2).reshape(n, c, h, 2 * w)
    cols = finish(F.conv2d(F.pad(x, (0, 0, 2, 2), mode="replicate"), kernel.reshape(2 * c, 1, 5, 1), groups=c))
    return cols.view(n, c, 2, h, 2 * w).transpose(2, 3).reshape(n, c, 2 * h, 2 * w)


def combine(latents: list[Tensor], taps: Tensor, shift: int | None = None) -> Tensor:
    """Grids (1, 1, h_l, w_l), full resolution first -> (1, L, H, W), channel l from level l."""
    x = latents[-1]
    for level in range(len(latents) - 2, -1, -1):
        h, w = latents[level].shape[-2:]
        x = upsample2(x, taps[level], shift)[..., :h, :w]
        x = torch.cat([latents[level], x], dim=1)
    return x


def _conv(x: Tensor, p: dict[str, Tensor], name: str, shifts: dict[str, int] | None) -> Tensor:
    weight, bias = p[f"{name}.weight"], p[f"{name}.bias"]
    if weight.shape[-1] == 3:
        x = F.pad(x, (1, 1, 1, 1), mode="replicate")
        if shifts is None:
            x = x.contiguous(memory_format=torch.channels_last)  # oneDNN's fast path for these layers
    return _finish(F.conv2d(x, weight, bias), None if shifts is None else shifts[name])


def _pointwise_float(x: Tensor, p: dict[str, Tensor], dtype: torch.dtype | None) -> Tensor:
    """The two 1x1 layers in float as matrix products over (pixels, channels) rows: one
    ``addmm`` each, forward and backward, where 1x1 convolutions cost layout conversions.
    Returns (N, 3, H, W) in channels-last memory, the layout the 3x3 layers use."""
    n, c, h, w = x.shape
    rows = x.permute(0, 2, 3, 1).reshape(n * h * w, c)
    w0, b0 = p["synthesis.0.weight"].reshape(-1, c), p["synthesis.0.bias"]
    if dtype is not None:
        rows, w0, b0 = rows.to(dtype), w0.to(dtype), b0.to(dtype)
    hidden = torch.relu(torch.addmm(b0, rows, w0.t())).to(x.dtype)
    out = torch.addmm(p["synthesis.1.bias"], hidden, p["synthesis.1.weight"].reshape(3, -1).t())
    return out.view(n, h, w, 3).permute(0, 3, 1, 2)


def synthesize(x: Tensor, p: dict[str, Tensor], shifts: dict[str, int] | None = None,
               hidden_dtype: torch.dtype | None = None) -> Tensor:
    """The synthesis network on combined latents (module docstring); ``shifts`` selects the
    integer arithmetic (per layer ``k_w``; ``p`` then holds integer weights and prepared biases).
    ``hidden_dtype`` (training only, e.g. ``torch.bfloat16``) runs the wide first layer in
    that type, as :func:`.arm.arm_float` does."""
    if shifts is None:
        x = _pointwise_float(x, p, hidden_dtype)
    else:
        x = torch.relu(_conv(x, p, "synthesis.0", shifts))
        x = _conv(x, p, "synthesis.1", shifts)
    x = torch.relu(x + _conv(x, p, "synthesis.2", shifts))
    return x + _conv(x, p, "synthesis.3", shifts)


def integer_to_pixels(a: Tensor) -> Tensor:
    """Fixed-point RGB (frac :data:`ACT_FRAC`) -> uint8 ``clamp(floor((255 a + 2^(F-1)) / 2^F))``."""
    v = torch.floor((a * 255.0 + 2.0 ** (ACT_FRAC - 1)) * 2.0 ** -ACT_FRAC)
    return v.clamp_(0, 255).to(torch.uint8)
