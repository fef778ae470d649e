"""The loop filter as an integer program: the same samples on every machine, proven exact.

An in-loop filter is normative: its output is the decoded picture (and, in video, the
reference of later pictures), so the decoder must reproduce the encoder's filtering bit for
bit. A float CNN cannot promise that (summation order, hence rounding, changes with thread
count, vector width or GPU kernel). Like JVET's NNVC, which runs its filters as int16 models
with fixed shifts (SADL), the network of :mod:`.network` runs in fixed point. It has two
branches of 3x3 convolutions (zero padding), each a sequence of layers::

    luma branch    A_0 = [4 luma phases - 128, 4 (QP - 32)]          at half resolution
                   (the residual's 4 output channels are the phases again: pixel shuffle)
        (full)     A_0 = [Y - 128, 4 (QP - 32)]                      at luma resolution
    chroma branch  A_0 = [Cb - 128, Cr - 128, 4 (QP - 32)]           at chroma resolution
        (guided)   A_0 = [4 luma phases - 128, Cb - 128, Cr - 128, 4 (QP - 32)]
                   (|A_0| <= 128; real value a = A / 2^8: samples centred and scaled by 1/256)

Each branch's first layer says which input it takes: luma 5 channels (the 2x2 phases of a
pixel-unshuffle, as JVET's NNVC filters run luma) or 2 (full resolution); chroma 3 (plain) or
7 (guided by the co-located luma, as NNVC's are).

    layer l        acc_c = sum_j W_cj * A_j + B_c + 2^(s-1)
                   A'_c  = clamp(floor(acc_c / 2^s), 0, 2^10 - 1)     hidden layers (ReLU + clip)
                   R_c   = floor(acc_c / 2^s)                        last layer: residual in 1/4 samples
                   (8-bit form: s per channel, clip 0..255, R clipped to -128..127, below)
    weights        W = floor(w 2^f + 1/2),  |W| <= 2^11 - 1            (per-layer power-of-two scale 2^f)
    biases         B = floor(b 2^(f + F_in) + 1/2)
    shift          s = f + F_in - F_out      (F: fraction bits of the layer's input / output activations)
    output         v' = clip(v + floor((R * S + 2^4) / 2^5), 0, 255)      (Y from the luma branch,
                   S = 8 + k, k in -4..3: the residual scale S / 8 the encoder chose)   Cb, Cr from chroma)

Exactness: the convolutions run as float32 (CPU) or float64 (CUDA) arithmetic on tensors
that hold integers. Every partial sum of a layer, *in whatever order it is formed*, is
bounded by

    max_c  sum_j |W_cj| * max|A_j|  +  |B_c + 2^(s-1)|   <   2^24                       (*)

and float32 represents every integer below 2^24 exactly (float64 below 2^53), so no
addition or multiplication ever rounds; dividing by 2^s and ``floor`` are exact too. Hence
any thread count, batch, band split, BLAS, CPU or GPU returns the same integers -- provided
no algorithm transforms the operands (Winograd, FFT) and no reduced precision sneaks in
(TF32): on CUDA cuDNN is switched off for these calls (an im2col + GEMM path), and
``tests/hybrid/test_integer.py`` compares the program with an independent int64 NumPy
convolution. The exponent ``f`` of each layer is the largest that satisfies both the
weight range and (*), so the bound holds by construction; :func:`check_bound` asserts it
again for every program built or loaded.

**The 8-bit form** (``int8``, :func:`is_int8`; what ships): the same layers with one shift
``s_c`` per output channel (each channel's weights on their own power-of-two grid), |W| <= 127,
hidden activations clipped to 0..255 and the last layer's residual to -128..127 quarter
samples (a correction of at most 32 samples). Every operand then fits uint8 x int8
convolutions with int32 sums, which :mod:`.int8` runs on torch's x86 quantized engine about
five times faster than the float32 convolutions, with the same integers (proof and probe
there); the float path below remains the definition and the fallback.

The residual scale is the encoder's per-picture, per-component strength (:mod:`.loopfilter`),
like NNVC's residual scaling factor; training and the unit scale S = 8 round the quarter-sample
residual to whole samples. The final step runs in int64 (R * S may pass 2^24).

The same rules (:func:`weight_exponent`, :func:`quantize_layer`, round half up) give the
fake quantisation of quantisation-aware training in :mod:`.network`, so the trained float
weights and the integer program agree on every rounding.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from numba import prange
from torch import Tensor

from codeclab.kernels import kernel

#: Fraction bits of the network input (samples v - 128 and the QP plane).
INPUT_FRAC = 8
#: Fraction bits of the residual the last layer outputs (quarter samples).
OUTPUT_FRAC = 10
#: The unit of the residual scale S (S / 2^SCALE_BITS), and the unit scale.
SCALE_BITS = 3
UNIT_SCALE = 1 << SCALE_BITS
#: Largest |input| (v - 128 in -128..127, 4 (QP - 32) in -128..76).
INPUT_MAX = 128
#: Hidden activations are unsigned ACT_BITS-bit integers (after ReLU).
ACT_BITS = 10
ACT_MAX = (1 << ACT_BITS) - 1
#: Largest |weight| (12-bit signed; stored as int16).
WEIGHT_MAX = (1 << 11) - 1
#: The 8-bit form of the program (``int8``): per-channel shifts, |W| <= 127, hidden activations
#: in 0..255 and the residual in -128..127 quarter samples: the operands and results of
#: uint8 x int8 convolutions with 32-bit accumulators.
INT8_WEIGHT_MAX = 127
INT8_ACT_MAX = 255
INT8_RESIDUAL_MAX = 127
#: Every partial sum stays below 2^EXACT_BITS: exact in float32 (24-bit significand) and float64.
EXACT_BITS = 24
#: Range of weight exponents ``f`` searched (from the top).
MAX_WEIGHT_EXPONENT, MIN_WEIGHT_EXPONENT = 24, -8
#: Half-resolution rows per band: bounds the memory of one convolution on large pictures.
BAND_ROWS = 256


def round_half_up(x: Tensor) -> Tensor:
    """``floor(x + 1/2)``: the one rounding rule of the program (and of its training)."""
    return torch.floor(x + 0.5)


def activation_frac(peak: float, ceiling: int = ACT_MAX) -> int:
    """Fraction bits of a hidden activation whose largest value is ``peak``: the finest grid
    2^-F on which ``peak`` still fits below ``ceiling`` (ACT_BITS bits by default; 0..16)."""
    if not peak > 0:
        return 16
    return int(min(16, max(0, math.floor(math.log2(ceiling / peak)))))


def layer_bound(weight_int: Tensor, offset_bias: Tensor, input_max: int) -> int:
    """Left side of (*): the largest |partial sum| of any output channel, ``offset_bias`` = B + 2^(s-1)."""
    w = weight_int.to(torch.float64).flatten(1)
    return int((w.abs().sum(1) * input_max + offset_bias.to(torch.float64).abs()).max())


def quantize_layer(weight: Tensor, bias: Tensor, exponent: int, frac_in: int) -> tuple[Tensor, Tensor]:
    """(W, B) as float64 integers: ``floor(w 2^f + 1/2)``, ``floor(b 2^(f + F_in) + 1/2)``."""
    w = round_half_up(weight.detach().to(torch.float64) * 2.0 ** exponent)
    b = round_half_up(bias.detach().to(torch.float64) * 2.0 ** (exponent + frac_in))
    return w, b


def weight_exponent(weight: Tensor, bias: Tensor, frac_in: int, frac_out: int, input_max: int) -> int:
    """The largest ``f`` with ``|W| <= WEIGHT_MAX``, shift ``s = f + F_in - F_out >= 1`` and (*).

    ``ValueError`` when none exists (activations calibrated too finely for these weights).
    """
    for exponent in range(MAX_WEIGHT_EXPONENT, MIN_WEIGHT_EXPONENT - 1, -1):
        shift = exponent + frac_in - frac_out
        if shift < 1:
            break
        w, b = quantize_layer(weight, bias, exponent, frac_in)
        if w.abs().max() <= WEIGHT_MAX and layer_bound(w, b + 2.0 ** (shift - 1), input_max) < 2 ** EXACT_BITS:
            return exponent
    raise ValueError(f"no weight exponent keeps the layer exact (fractions in {frac_in}, out {frac_out})")


@dataclass(frozen=True)
class IntegerLayer:
    """One 3x3 fixed-point convolution: ``floor((conv(A, W)_c + bias_c) / 2^shift_c)``, then the clip.

    ``ceiling`` bounds the output: a hidden layer's activations are clipped to 0..ceiling (ReLU
    and clip), the last layer's residual to -ceiling-1..ceiling, or not at all (``None``).
    """

    weight: Tensor  # (C_out, C_in, 3, 3) int16 W
    bias: Tensor  # (C_out,) int32: B + 2^(shift - 1), the bias and the rounding offset
    shift: Tensor  # (C_out,) int32: one shift per output channel (all equal in a 10-bit program)
    hidden: bool
    ceiling: int | None = -1  # -1: the 10-bit program's (ACT_MAX when hidden, else None)

    def __post_init__(self) -> None:
        # One shift for the whole layer (an int) means the same for every channel.
        shift = torch.as_tensor(self.shift, dtype=torch.int32).expand(self.weight.shape[0]).clone()
        object.__setattr__(self, "shift", shift)
        if self.ceiling == -1:
            object.__setattr__(self, "ceiling", ACT_MAX if self.hidden else None)

    def clip_range(self) -> tuple[float, float]:
        """(low, high) of the output clip; infinite where there is none."""
        if self.ceiling is None:
            return -math.inf, math.inf
        return (0.0, float(self.ceiling)) if self.hidden else (-1.0 - self.ceiling, float(self.ceiling))

    @property
    def uniform_shift(self) -> int | None:
        """The one shift of every channel, or None when the channels differ."""
        values = self.shift.unique()
        return int(values[0]) if values.numel() == 1 else None


Layers = tuple  # of IntegerLayer, applied in order

#: Input channels each branch may take and the output channels that go with each: luma at
#: half resolution (4 phases + QP -> 4 phases) or full (Y + QP -> Y); chroma plain or luma-guided.
BRANCH_CHANNELS = {"luma": {5: 4, 2: 1}, "chroma": {3: 2, 7: 2}}
#: Input channels of a luma-guided chroma branch.
GUIDED_CHROMA_INPUTS = 7
#: Input channels of a full-resolution luma branch.
FULL_RES_LUMA_INPUTS = 2


@dataclass(frozen=True)
class Program:
    """The whole filter: the luma branch (full resolution) and the chroma branch (half)."""

    luma: Layers
    chroma: Layers

    def branches(self) -> dict[str, Layers]:
        return {"luma": self.luma, "chroma": self.chroma}

    @property
    def luma_half_res(self) -> bool:
        """Whether the luma branch runs on the 2x2 phases at half resolution (5 inputs) or not (2)."""
        return self.luma[0].weight.shape[1] != FULL_RES_LUMA_INPUTS

    @property
    def chroma_guided(self) -> bool:
        """Whether the chroma branch reads the luma phases (7 input channels) or not (3)."""
        return self.chroma[0].weight.shape[1] == GUIDED_CHROMA_INPUTS


def input_max_of(index: int, previous_ceiling: int | None = ACT_MAX) -> int:
    """Largest |input| of layer ``index`` of a branch: the network input, or the previous
    layer's activations (at most its ceiling)."""
    return INPUT_MAX if index == 0 else int(previous_ceiling)


def check_bound(layers: Layers) -> None:
    """Assert (*) for every layer of a branch; ``ValueError`` names the first that breaks it."""
    for index, layer in enumerate(layers):
        if layer.hidden and layer.ceiling is None:
            raise ValueError(f"loop-filter layer {index} is hidden but has no activation ceiling")
        input_max = input_max_of(index, layers[index - 1].ceiling if index else None)
        bound = layer_bound(layer.weight, layer.bias, input_max)
        if bound >= 2 ** EXACT_BITS or (layer.shift < 1).any() or layer.weight.abs().max() > WEIGHT_MAX:
            raise ValueError(f"loop-filter layer {index} is not provably exact: partial sums up to {bound}")


def integer_layer(weight: Tensor, bias: Tensor, frac_in: int, frac_out: int, input_max: int,
                  hidden: bool) -> IntegerLayer:
    """The fixed-point form of a trained float convolution (module docstring)."""
    exponent = weight_exponent(weight, bias, frac_in, frac_out, input_max)
    shift = exponent + frac_in - frac_out
    w, b = quantize_layer(weight, bias, exponent, frac_in)
    return IntegerLayer(w.to(torch.int16), (b + 2 ** (shift - 1)).to(torch.int32),
                        torch.full((weight.shape[0],), shift, dtype=torch.int32), hidden)


def channel_exponents(weight: Tensor, bias: Tensor, frac_in: int, frac_out: int, input_max: int,
                      weight_max: int = INT8_WEIGHT_MAX) -> Tensor:
    """Per output channel, the largest ``f_c`` with ``|W_c| <= weight_max``, ``s_c >= 1`` and (*)
    for that channel: the exponents of an 8-bit layer, each channel on its own power-of-two
    grid (as per-channel weight scales do). ``ValueError`` when a channel has none."""
    w64, b64 = weight.detach().to(torch.float64).flatten(1), bias.detach().to(torch.float64)
    found = torch.full((w64.shape[0],), MIN_WEIGHT_EXPONENT - 1, dtype=torch.int64)
    for exponent in range(MAX_WEIGHT_EXPONENT, MIN_WEIGHT_EXPONENT - 1, -1):
        shift = exponent + frac_in - frac_out
        if shift < 1:
            break
        w = round_half_up(w64 * 2.0 ** exponent)
        b = round_half_up(b64 * 2.0 ** (exponent + frac_in)) + 2.0 ** (shift - 1)
        fits = (w.abs().amax(1) <= weight_max) & (w.abs().sum(1) * input_max + b.abs() < 2 ** EXACT_BITS)
        found = torch.where(fits & (found < MIN_WEIGHT_EXPONENT), torch.tensor(exponent), found)
        if (found >= MIN_WEIGHT_EXPONENT).all():
            return found
    raise ValueError(f"no weight exponent keeps every channel exact (fractions in {frac_in}, out {frac_out})")


def quantize_channels(weight: Tensor, bias: Tensor, exponents: Tensor, frac_in: int) -> tuple[Tensor, Tensor]:
    """(W, B) as float64 integers with one exponent per output channel (:func:`quantize_layer`)."""
    scale = 2.0 ** exponents.to(torch.float64)
    w = round_half_up(weight.detach().to(torch.float64) * scale[:, None, None, None])
    b = round_half_up(bias.detach().to(torch.float64) * scale * 2.0 ** frac_in)
    return w, b


def int8_layer(weight: Tensor, bias: Tensor, frac_in: int, frac_out: int, input_max: int,
               hidden: bool) -> IntegerLayer:
    """The 8-bit fixed-point form of a trained float convolution: per-channel exponents,
    activations up to 255 (hidden) or a residual in -128..127 (last)."""
    exponents = channel_exponents(weight, bias, frac_in, frac_out, input_max)
    shift = exponents + frac_in - frac_out
    w, b = quantize_channels(weight, bias, exponents, frac_in)
    return IntegerLayer(w.to(torch.int16), (b + 2.0 ** (shift - 1).to(torch.float64)).to(torch.int32),
                        shift.to(torch.int32), hidden, INT8_ACT_MAX if hidden else INT8_RESIDUAL_MAX)


def is_int8(layers: Layers) -> bool:
    """Whether a branch is in the 8-bit form: |W| <= 127, hidden activations 0..255, residual
    -128..127 (every layer a uint8 x int8 convolution)."""
    return all(int(layer.weight.abs().max()) <= INT8_WEIGHT_MAX
               and layer.ceiling == (INT8_ACT_MAX if layer.hidden else INT8_RESIDUAL_MAX) for layer in layers)


def qp_channel(like: Tensor, qp_value: Tensor | float) -> Tensor:
    """(N, 1, h, w) constant plane of one QP value per picture, shaped and typed like ``like``."""
    n, _, height, width = like.shape
    q = torch.as_tensor(qp_value, dtype=like.dtype, device=like.device).reshape(-1, 1, 1, 1)
    return q.expand(n, 1, height, width)


def luma_input(y: Tensor, qp_value: Tensor | float, half_res: bool = True) -> Tensor:
    """(N, 5, H/2, W/2): the four phases of the luma plane (N, 1, H, W), pixel-unshuffled, and
    the QP plane; ``half_res=False``: (N, 2, H, W), the plane itself and the QP plane."""
    planes = F.pixel_unshuffle(y, 2) if half_res else y
    return torch.cat([planes, qp_channel(planes, qp_value)], dim=1)


def luma_residual(out: Tensor, half_res: bool = True) -> Tensor:
    """The luma branch's output as an (N, 1, H, W) residual: the phases shuffled back."""
    return F.pixel_shuffle(out, 2) if half_res else out


def chroma_input(y: Tensor, c: Tensor, qp_value: Tensor | float, guided: bool = False) -> Tensor:
    """(N, 3, H/2, W/2): Cb, Cr (``c``) and the QP plane; ``guided``: (N, 7, H/2, W/2), the four
    luma phases (pixel-unshuffle of ``y``) first."""
    planes = [c, qp_channel(c, qp_value)]
    return torch.cat([F.pixel_unshuffle(y, 2), *planes] if guided else planes, dim=1)


def compute_dtype(device: torch.device) -> torch.dtype:
    """float32 on CPU (exact below 2^24, twice as fast as float64), float64 on CUDA (no cuDNN)."""
    return torch.float64 if device.type == "cuda" else torch.float32


@kernel(parallel=True)
def requantize(acc: np.ndarray, scales: np.ndarray, low: float, high: float) -> None:
    """In place: ``acc[p, c] <- clamp(floor(acc[p, c] * scales[c]), low, high)`` with
    ``scales[c] = 2^-s_c``, over positions ``p`` of a channels-last (P, C) array.

    One pass over the accumulators instead of three tensor operations (multiply, floor,
    clamp), spread over numba's threads: on a 2-core machine those passes would cost a third
    of the filter. Each step is exact (a power-of-two scale, floor and clamp of integers) and
    elementwise, so this is the same function as the tensor version :func:`requantize_tensor`
    for any thread count.
    """
    for p in prange(acc.shape[0]):
        for c in range(acc.shape[1]):
            value = np.floor(acc[p, c] * scales[c])
            acc[p, c] = min(max(value, low), high)


def shift_scales(layer: IntegerLayer) -> np.ndarray:
    """``2^-s_c`` of each output channel, float64 (exact powers of two)."""
    return np.ldexp(1.0, -layer.shift.numpy().astype(np.int64))


def requantize_tensor(acc: Tensor, layer: IntegerLayer) -> Tensor:
    """``floor(acc_c / 2^s_c)``, clipped to the layer's range (any device)."""
    scales = torch.from_numpy(shift_scales(layer)).to(device=acc.device, dtype=acc.dtype)
    low, high = layer.clip_range()
    return torch.floor(acc * scales[:, None, None]).clamp_(low, high)


def channels_last_view(a: Tensor) -> np.ndarray | None:
    """A (positions, channels) NumPy view of a channels-last CPU tensor, or None if it is not one."""
    if a.device.type != "cpu" or a.dtype not in (torch.float32, torch.float64):
        return None
    if a.is_contiguous(memory_format=torch.channels_last):
        return a.permute(0, 2, 3, 1).numpy().reshape(-1, a.shape[1])
    return None


#: Layers' weights already in a compute type: (layer, dtype, device) -> (layer, W, bias).
_COMPUTE_WEIGHTS: dict = {}


def compute_weights(layer: IntegerLayer, dtype: torch.dtype, device: torch.device) -> tuple[Tensor, Tensor]:
    """The layer's W (channels-last) and bias as ``dtype`` on ``device``, made once per layer:
    a decoder filters picture after picture with the same program."""
    key = (id(layer), dtype, device)
    hit = _COMPUTE_WEIGHTS.get(key)
    if hit is None or hit[0] is not layer:  # an id may be reused once a program is freed
        if len(_COMPUTE_WEIGHTS) > 256:
            _COMPUTE_WEIGHTS.clear()
        weight = layer.weight.to(device=device, dtype=dtype).contiguous(memory_format=torch.channels_last)
        hit = _COMPUTE_WEIGHTS[key] = (layer, weight, layer.bias.to(device=device, dtype=dtype))
    return hit[1], hit[2]


def run_layers(layers: Layers, a: Tensor) -> Tensor:
    """A branch on integer-valued activations ``a`` (N, C, h, w); returns its residual R.

    Channels-last layout: oneDNN's convolutions then skip a layout reorder per layer.
    """
    a = a.contiguous(memory_format=torch.channels_last)
    with torch.backends.cudnn.flags(enabled=False):
        for layer in layers:
            a = F.conv2d(a, *compute_weights(layer, a.dtype, a.device), padding=1)
            view = channels_last_view(a)
            if view is None:
                a = requantize_tensor(a, layer)
            else:
                requantize(view, shift_scales(layer), *layer.clip_range())
    return a


def run_banded(layers: Layers, a: Tensor, band_rows: int = BAND_ROWS) -> Tensor:
    """:func:`run_layers` over row bands with a halo of one row per layer: the same integers
    (a row ``len(layers)`` rows from a cut sees exactly what it sees in the whole picture),
    in memory bounded by the band."""
    halo, height = len(layers), a.shape[-2]
    if height <= band_rows:
        return run_layers(layers, a)
    bands = []
    for top in range(0, height, band_rows):
        low, high = max(0, top - halo), min(height, top + band_rows + halo)
        out = run_layers(layers, a[..., low:high, :])
        bands.append(out[..., top - low:top - low + min(band_rows, height - top), :])
    return torch.cat(bands, dim=-2)


#: The 2x2 phases of a luma plane in pixel-unshuffle order (channel 2 i + j holds rows i::2, columns j::2).
PHASES = ((0, 0), (0, 1), (1, 0), (1, 1))


def program_input(planes: list[np.ndarray | float], shape: tuple[int, int], dtype: torch.dtype,
                  device: torch.device) -> Tensor:
    """(1, C, h, w) channels-last input of a branch, one channel per entry of ``planes``: an
    8-bit plane (stored as ``v - 128``) or a number (a constant plane: the QP input).

    The same integers as :func:`luma_input` / :func:`chroma_input`, written straight into
    the layout the convolutions run in (one pass per channel, no concatenation or reorder).
    """
    a = np.empty((*shape, len(planes)), dtype=torch.empty((), dtype=dtype).numpy().dtype)
    for k, plane in enumerate(planes):
        if isinstance(plane, np.ndarray):
            np.subtract(plane, 128, out=a[..., k], casting="unsafe")
        else:
            a[..., k] = plane
    return torch.from_numpy(a).permute(2, 0, 1)[None].to(device)


def luma_phases(y: np.ndarray) -> list[np.ndarray]:
    """The four 2x2 phases of a luma plane (views), in pixel-unshuffle order."""
    return [y[i::2, j::2] for i, j in PHASES]


def output_planes(r: Tensor) -> np.ndarray:
    """(1, C, h, w) residuals -> (h, w, C) int32 array (any memory layout, any device)."""
    return r[0].permute(1, 2, 0).cpu().numpy().astype(np.int32)


def program_fingerprint(program: Program) -> int:
    """CRC-32 of every layer's shift, shapes and little-endian integers: names the weights."""
    crc = 0
    for name, layers in program.branches().items():
        crc = zlib.crc32(name.encode(), crc)
        for layer in layers:
            for tensor in (layer.weight, layer.bias):
                array = tensor.contiguous().numpy()
                crc = zlib.crc32(f"{array.dtype.str}{array.shape}".encode(), crc)
                crc = zlib.crc32(array.astype(array.dtype.newbyteorder("<")).tobytes(), crc)
            shift = layer.uniform_shift
            if shift is not None and layer.ceiling == (ACT_MAX if layer.hidden else None):
                crc = zlib.crc32(bytes([shift, layer.hidden]), crc)  # the 10-bit program's bytes
            else:
                crc = zlib.crc32(layer.shift.numpy().astype("<i4").tobytes(), crc)
                crc = zlib.crc32(f"{layer.hidden}{layer.ceiling}".encode(), crc)
    return crc


def macs_per_luma_sample(program: Program) -> float:
    """Multiply-accumulates per luma sample: a branch at half resolution runs once per 2x2
    luma block (chroma always, luma when pixel-unshuffled), at full resolution at every sample."""
    luma = sum(layer.weight.numel() for layer in program.luma) / (4 if program.luma_half_res else 1)
    return luma + sum(layer.weight.numel() for layer in program.chroma) / 4
