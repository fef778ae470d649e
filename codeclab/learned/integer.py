"""Integer networks: the decoder's table choices computed exactly, on any machine.

A learned decoder picks the probability table of every latent from numbers it computes
itself: the hyper-synthesis output (scales, means) and the context model's output. The
encoder must compute *the very same* numbers, or the arithmetic decoder desynchronises
and the rest of the picture is noise. Floating-point convolutions do not promise that:
their summation order, hence their rounding, changes with the thread count, the batch
size, the CPU's vector width or the GPU kernel. Ballé, Johnston and Minnen ("Integer
networks for data compression with latent-variable models", ICLR 2019) therefore run
these paths in integer arithmetic. This module does so in fixed point:

    activations:  A = a * 2^ACT_FRAC,  an integer with |A| <= 2^ACT_BITS - 1
    weights:      W_c = round(w_c * 2^f_c)   per output channel c, |W_c| < 2^WB
    biases:       B_c = round(b_c * 2^(f_c + ACT_FRAC))
    a layer:      A'_c = floor((sum_j W_cj A_j + B_c + 2^(f_c - 1)) / 2^f_c)     (round to nearest)
    ReLU:         max(A, 0);   LeakyReLU with slope 2^-k:  floor(A / 2^k) for A < 0

All integers are held in float64 and the convolutions are torch's own. That is exact by
construction: with ``n`` terms per output, ``WB = 51 - ACT_BITS - ceil(log2 n)`` bounds
every partial sum, in whatever order it is formed, by ``n 2^WB 2^ACT_BITS <= 2^51``, and the
bias by ``2^51``; integers below ``2^53`` are exact in float64, so no addition ever rounds,
and every thread count, batch size, BLAS, CPU or GPU returns the same bits. Divisions are
by powers of two (exact) followed by ``floor`` (exact). The one rule: no algorithm that
transforms operands (Winograd, FFT); CPU float64 convolutions are im2col + GEMM, and on
CUDA cuDNN is switched off for these calls.

The float model is what trains; :func:`integerize` turns its modules into an integer
program when coding. With ACT_FRAC = 12 and 15..17-bit weights (by fan-in) the program
follows the float model to about 1e-4 (Minnen's h_s at N = 128, M = 192: mean error 8e-5,
largest 4e-4), far below what the scale grid (1/16 octave = 0.06 in log2) or the mean
grid (1/64) resolve, so the rate cost of the rounding is negligible -- and encoder and
decoder share it exactly.

Layers are computed in row bands spread over the decoder's workers (:mod:`.parallel`);
being exact, any split gives the same bits.
"""

from __future__ import annotations

import math
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from codeclab.entropy.conditional import MEAN_STEPS
from codeclab.entropy.tables import ScaleGrid
from codeclab.learned.layers import Deconv, pixel_shuffle
from codeclab.learned.parallel import bands, for_each, row_workers, rows_with_halo

#: Fraction bits of activations.
ACT_FRAC = 12
#: Activations are clamped to |A| <= 2^ACT_BITS - 1 (real values below 4096).
ACT_BITS = 24
#: Bound of every accumulator term sum and of every bias: 2^SUM_BITS.
SUM_BITS = 51
#: Largest fraction exponent of a weight (keeps biases of near-zero channels bounded).
MAX_WEIGHT_FRAC = 40

#: The entropy package's default scale grid (16 steps per octave).
DEFAULT_GRID = ScaleGrid()

#: Row bands of each layer, spread over the decoder's workers.
ROW_BANDS = 8

_LIMIT = float(2 ** ACT_BITS - 1)


@dataclass(frozen=True)
class IntegerConv:
    """One fixed-point convolution (module docstring), optionally followed by ``pixel_shuffle``."""

    weight: Tensor  # (C_out, C_in, K, K) float64 holding integers W_c
    bias: Tensor  # (C_out,) float64 integers B_c + 2^(f_c - 1): the bias and the rounding offset
    inverse_scale: Tensor  # (C_out,) float64, 2^-f_c
    padding: int = 0
    shuffle: int = 1


@dataclass(frozen=True)
class IntegerActivation:
    """ReLU (``negative_shift`` None) or LeakyReLU with slope ``2^-negative_shift``."""

    negative_shift: int | None = None


Program = tuple  # of IntegerConv and IntegerActivation, applied in order


def weight_bits(terms: int) -> int:
    """Bits of the largest weight magnitude for a sum of ``terms`` products to stay exact."""
    return SUM_BITS - ACT_BITS - math.ceil(math.log2(max(terms, 2)))


def integer_conv(weight: Tensor, bias: Tensor | None, padding: int = 0, shuffle: int = 1) -> IntegerConv:
    """Fixed-point form of ``conv2d(x, weight, bias, padding=padding)``.

    Every step is exact in IEEE arithmetic (``frexp``, scaling by powers of two, round half
    to even), so the same float32 weights give the same integers on every machine.
    """
    if weight.shape[-1] != weight.shape[-2] or weight.shape[-1] != 2 * padding + 1:
        raise ValueError(f"integer convolutions are square and 'same': kernel {tuple(weight.shape[-2:])}, "
                         f"padding {padding}")
    weight = weight.detach().to(torch.float64)
    c_out = weight.shape[0]
    bits = weight_bits(weight[0].numel())
    largest = weight.abs().reshape(c_out, -1).amax(dim=1)
    _, exponent = torch.frexp(largest)  # largest = m 2^e, 1/2 <= m < 1 (e = 0 for 0)
    frac = (bits - exponent.to(torch.float64)).clamp(max=MAX_WEIGHT_FRAC)
    scale = torch.exp2(frac)
    w_int = torch.round(weight * scale.view(-1, 1, 1, 1))
    b = torch.zeros_like(scale) if bias is None else bias.detach().to(torch.float64)
    b_int = torch.round(b * scale * 2.0 ** ACT_FRAC).clamp(-(2.0 ** SUM_BITS), 2.0 ** SUM_BITS)
    return IntegerConv(w_int.contiguous(), b_int + torch.floor(scale / 2), 1.0 / scale, padding, shuffle)


def integerize(module: nn.Module) -> Program:
    """The integer program of a float module: Conv2d, :class:`Deconv`, ReLU, LeakyReLU.

    LeakyReLU slopes must be powers of two (so the integer version is a shift).
    """
    steps = []
    for layer in (module if isinstance(module, nn.Sequential) else [module]):
        if isinstance(layer, Deconv):
            weight, bias, reach = layer.polyphase()
            steps.append(integer_conv(weight, bias, reach, layer.stride[0]))
        elif isinstance(layer, nn.Conv2d):
            if layer.stride != (1, 1) or layer.dilation != (1, 1) or layer.groups != 1:
                raise ValueError("integer programs take stride-1, undilated, ungrouped convolutions")
            steps.append(integer_conv(layer.weight, layer.bias, layer.padding[0]))
        elif isinstance(layer, nn.ReLU):
            steps.append(IntegerActivation(None))
        elif isinstance(layer, nn.LeakyReLU):
            shift = -math.log2(layer.negative_slope)
            if shift != int(shift):
                raise ValueError(f"LeakyReLU slope {layer.negative_slope} is not a power of two")
            steps.append(IntegerActivation(int(shift)))
        else:
            raise TypeError(f"no integer form of {type(layer).__name__}")
    return tuple(steps)


def apply_conv(layer: IntegerConv, a: Tensor) -> Tensor:
    """One fixed-point layer on activations ``a`` (float64 integers, (N, C, H, W)).

    The bias (with the rounding offset) is added inside the convolution; multiplying by
    ``2^-f_c`` and ``floor`` are exact, so this is ``floor((acc + B + 2^(f-1)) / 2^f)``.
    Row bands run in parallel (:mod:`.parallel`); being exact, any split gives the same bits.
    """
    n, _, height, width = a.shape
    weight, bias = layer.weight.to(a.device), layer.bias.to(a.device)
    inverse_scale = layer.inverse_scale.to(a.device).view(1, -1, 1, 1)
    out = a.new_empty(n, weight.shape[0], height, width)
    exact = torch.backends.cudnn.flags(enabled=False) if a.is_cuda else nullcontext()

    def run(rows: tuple[int, int]) -> None:
        r0, r1 = rows
        with exact:
            acc = F.conv2d(rows_with_halo(a, r0, r1, layer.padding), weight, bias, padding=(0, layer.padding))
        target = out[:, :, r0:r1]
        torch.mul(acc, inverse_scale, out=target).floor_().clamp_(-_LIMIT, _LIMIT)

    for_each(bands(height, -(-height // ROW_BANDS)), run)
    return pixel_shuffle(out, layer.shuffle) if layer.shuffle > 1 else out


def apply_activation(layer: IntegerActivation, a: Tensor) -> Tensor:
    """ReLU, or LeakyReLU as ``max(A, floor(A / 2^k))`` (equal to A for A >= 0, the shift below)."""
    if layer.negative_shift is None:
        return a.clamp_min_(0.0)
    return torch.maximum(a, torch.floor(a * 2.0 ** -layer.negative_shift))


def run(program: Program, a: Tensor) -> Tensor:
    """Apply an integer program to fixed-point activations."""
    with row_workers() if a.device.type == "cpu" else nullcontext():
        for step in program:
            a = apply_conv(step, a) if isinstance(step, IntegerConv) else apply_activation(step, a)
    return a


def to_fixed(x: Tensor) -> Tensor:
    """Real values -> fixed-point activations ``round(x 2^ACT_FRAC)`` (exact for the
    multiples of 1/64 that quantized latents are), clamped to the activation range."""
    return torch.round(x.detach().to(torch.float64) * 2.0 ** ACT_FRAC).clamp_(-_LIMIT, _LIMIT)


def from_fixed(a: Tensor) -> Tensor:
    """Fixed-point activations -> float32 values (for inspection and tests)."""
    return (a * 2.0 ** -ACT_FRAC).float()


def scale_indexes(log2_scales: Tensor, grid: ScaleGrid = DEFAULT_GRID) -> Tensor:
    """Table index of each fixed-point ``log2(scale)``: the nearest grid point in the log domain,
    ``clamp(round(steps_per_octave * log2 s) - k_min, 0, size - 1)``, in integers (int64)."""
    half = 2.0 ** (ACT_FRAC - 1)
    k = torch.floor((log2_scales * grid.steps_per_octave + half) * 2.0 ** -ACT_FRAC)
    return (k - grid.k_min).clamp_(0, grid.size - 1).to(torch.int64)


def quantized_means(means: Tensor) -> Tensor:
    """Fixed-point means -> the mean grid ``round(64 mu) / 64`` as float32 (exact)."""
    shift = ACT_FRAC - int(math.log2(MEAN_STEPS))
    steps = torch.floor((means + 2.0 ** (shift - 1)) * 2.0 ** -shift)
    return (steps / MEAN_STEPS).float()
