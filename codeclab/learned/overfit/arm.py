"""The autoregressive model (ARM): each latent's Laplace mean and scale from its decoded neighbours.

A small perceptron shared by every grid reads the :data:`.architecture.CONTEXT` of a latent
and returns its mean ``mu`` and ``t = log2`` of its scale (Ladune et al., "COOL-CHIC",
ICCV 2023; the context model of Minnen et al. 2018 at the scale of one picture)::

    context (12 latents) ── Linear 12->H, ReLU ── Linear H->H, ReLU ── Linear H->2 ── (mu, t)

Training uses the float form over all latents at once (:func:`contexts`, :func:`arm_float`)
and the rate ``-log2 P(y | mu, 2^t)`` of :func:`laplace_bits`. Coding uses the integer form,
:func:`predict`, so that the decoder, which runs it latent by latent, and the encoder get
the same table for every symbol on any machine: integer weights ``W = w 2^k`` (``k`` per
layer), activations with :data:`ARM_FRAC` fraction bits, ``floor`` shifts, int64 sums
(bounded far below 2^63 by the limits the decoder checks). Its outputs select a table of
:func:`codeclab.entropy.shifted_tables.shifted_laplace_tables`: the mean on a grid of
1/8, the scale on a grid of 2^(1/8) from 2^-4 to 2^5.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from codeclab.entropy import rans
from codeclab.entropy.shifted_tables import shifted_laplace_tables
from codeclab.entropy.tables import ScaleGrid
from codeclab.kernels import kernel
from codeclab.learned.overfit.architecture import CONTEXT

#: Fraction bits of the integer ARM's activations.
ARM_FRAC = 8
#: Scales 2^(k/8), k = -32 .. 40; means in steps of 1/8.
SCALE_GRID = ScaleGrid(8, -32, 40)
PHASES = 8
LOG2_SCALE_RANGE = (SCALE_GRID.k_min / SCALE_GRID.steps_per_octave,
                    SCALE_GRID.k_max / SCALE_GRID.steps_per_octave)
_HIDDEN_LIMIT = 1 << 30


def tables():
    """The coding tables of every (scale, mean phase)."""
    return shifted_laplace_tables(SCALE_GRID, PHASES)


# -- float form (training) --------------------------------------------------------------------

def contexts(y: Tensor) -> Tensor:
    """(h, w) grid -> (h w, 12) contexts in raster order, zero outside the grid."""
    h, w = y.shape
    reach = max(-di for di, _ in CONTEXT), max(abs(dj) for _, dj in CONTEXT)
    p = F.pad(y[None, None], (reach[1], reach[1], reach[0], 0))[0, 0]
    cols = [p[reach[0] + di: reach[0] + di + h, reach[1] + dj: reach[1] + dj + w] for di, dj in CONTEXT]
    return torch.stack(cols, dim=-1).reshape(h * w, len(CONTEXT))


def arm_float(ctx: Tensor, p: dict[str, Tensor], hidden_dtype: torch.dtype | None = None) -> tuple[Tensor, Tensor]:
    """(mu, t) of every context row.

    ``hidden_dtype`` (e.g. ``torch.bfloat16``) runs the two hidden layers in that type (the
    products still accumulate in float32), the output layer in float32: the encoder's
    optimisation is faster on CPUs with bfloat16 units, and the coded integers do not
    depend on it.
    """
    dtype = ctx.dtype if hidden_dtype is None else hidden_dtype
    h = ctx.to(dtype)
    for layer in ("arm.0", "arm.1"):
        h = torch.relu(F.linear(h, p[f"{layer}.weight"].to(dtype), p[f"{layer}.bias"].to(dtype)))
    weight = p["arm.2.weight"]
    out = F.linear(h.to(weight.dtype), weight, p["arm.2.bias"])
    return out[:, 0], out[:, 1]


def laplace_bits(y: Tensor, mu: Tensor, t: Tensor) -> Tensor:
    """``-log2 [F((y + 1/2 - mu) / s) - F((y - 1/2 - mu) / s)]``, s = 2^t, per latent.

    Evaluated on the lower side ``v = |y - mu|`` for precision in the tails (as
    :func:`codeclab.entropy.conditional.bin_likelihood`), with the Laplace CDF
    ``F(x) = e^x / 2`` for ``x < 0``.
    """
    scale = torch.exp2(t.clamp(*LOG2_SCALE_RANGE))
    v = (y - mu).abs()
    upper = (0.5 - v) / scale
    lower = (-0.5 - v) / scale
    # F(upper) - F(lower) with F(x) = 1 - e^-x / 2 for x >= 0, e^x / 2 below
    f_upper = torch.where(upper < 0, 0.5 * torch.exp(upper.clamp(max=0)), 1 - 0.5 * torch.exp(-upper.clamp(min=0)))
    p = f_upper - 0.5 * torch.exp(lower)
    return -torch.log2(p.clamp_min(2.0 ** -rans.PRECISION))  # the coder's smallest probability


# -- integer form (coding) --------------------------------------------------------------------

@kernel(inline="always")
def _layer(inp, weight, bias, shift, out, relu):
    for o in range(weight.shape[0]):
        acc = bias[o]
        for i in range(weight.shape[1]):
            acc += weight[o, i] * inp[i]
        v = acc >> shift
        if v > _HIDDEN_LIMIT:
            v = _HIDDEN_LIMIT
        elif v < -_HIDDEN_LIMIT:
            v = -_HIDDEN_LIMIT
        if relu and v < 0:
            v = 0
        out[o] = v


@kernel
def predict(ctx, w0, b0, w1, b1, w2, b2, shifts, h0, h1, out):
    """Integer (mean step m, scale index k) of one context of latents (int64 array).

    ``m = round(8 mu)``, ``k = clamp(round(8 t) + 32, 0, 72)`` from the fixed-point outputs;
    ``h0``, ``h1``, ``out`` are scratch arrays (hidden width, hidden width, 2).
    """
    for i in range(ctx.shape[0]):
        ctx[i] <<= ARM_FRAC
    _layer(ctx, w0, b0, shifts[0], h0, True)
    _layer(h0, w1, b1, shifts[1], h1, True)
    _layer(h1, w2, b2, shifts[2], out, False)
    half = 1 << (ARM_FRAC - 4)
    m = (out[0] + half) >> (ARM_FRAC - 3)
    k = ((out[1] + half) >> (ARM_FRAC - 3)) + 32
    if k < 0:
        k = 0
    elif k > 72:
        k = 72
    return m, k


@kernel
def gather(y, i, j, offsets, ctx):
    """The context of ``y[i, j]`` into ``ctx`` (zero outside the grid)."""
    h, w = y.shape
    for n in range(offsets.shape[0]):
        r, c = i + offsets[n, 0], j + offsets[n, 1]
        ctx[n] = y[r, c] if 0 <= r < h and 0 <= c < w else 0


def context_offsets() -> np.ndarray:
    return np.array(CONTEXT, dtype=np.int64)
