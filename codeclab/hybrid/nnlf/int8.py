"""The 8-bit program on uint8 x int8 convolutions: the same integers, four to five times faster.

A branch in the 8-bit form (:func:`~.integer.is_int8`: |W| <= 127, hidden activations 0..255,
residual -128..127) can run on the quantized convolutions of torch's x86 engine (FBGEMM), which
multiply unsigned 8-bit activations by signed 8-bit weights and accumulate in int32. Each
layer becomes one such convolution, with every scale a power of two::

    input        u = A + z              z = 128 for the network input (v - 128 -> v), 0 after
    weights      per output channel c:  W_c with scale 2^-s_c (stored exactly: |W| <= 127)
    bias         (B_c + 1/4) 2^-s_c     in float32 (B_c = bias_c - 2^(s_c - 1))
    output       q = clamp(nearbyint(acc_c 2^-s_c + (B_c + 1/4) 2^-s_c) + z', 0, 255)
                 z' = 0 (hidden: ReLU + clip to 255), 128 (last: the residual R = q - 128)

where ``acc_c = sum W_cj (u_j - z)`` is formed in int32. Why this is the program of
:mod:`.integer` exactly:

* ``acc_c`` is an exact integer: FBGEMM subtracts ``z sum W`` from the int32 sum of products,
  whose magnitude stays far below 2^31 -- *provided* no partial sum saturates. CPUs with
  VNNI (``vpdpbusd``) add u8 x s8 products straight into int32; older AVX2 kernels add pairs
  of them in saturating int16 (``vpmaddubsw``), which 255 x 127 x 2 overflows. Hence the probe
  below, run once per layer shape before the fast path is trusted.
* the float32 requantization is exact while ``|acc_c + B_c| < 2^22``: a float32 holds 24
  significant bits, and ``+ 1/4`` needs two below the units (checked per layer,
  :func:`fast_path_fits`); multiplying by ``2^-s_c`` only moves the exponent.
* round half to even of ``(v + 1/4) / 2^s`` (s >= 1, v an integer) equals
  ``floor((v + 2^(s-1)) / 2^s)``, the program's round half up: the quarter breaks every tie
  upwards and moves no other value past a half.

Anything the fast path cannot promise -- no x86 engine, a probe that disagrees, a layer
outside the 2^22 bound, a CUDA device -- runs the float path of :mod:`.integer`, which computes
the same integers more slowly. ``CODECLAB_INT8=0`` forces the float path (the tests compare
the two).
"""

from __future__ import annotations

import os
import warnings
from functools import lru_cache

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from codeclab.hybrid.nnlf.integer import (INT8_ACT_MAX, INT8_RESIDUAL_MAX, INT8_WEIGHT_MAX, IntegerLayer,
                                          Layers, is_int8, layer_bound)

#: Partial sums of a fast-path layer stay below 2^FAST_BITS (float32 exactness with the 1/4).
FAST_BITS = 22
#: Zero point of the network input (v - 128 stored as v) and of the residual output.
SIGNED_ZERO_POINT = 128
#: The quantized engines whose convolutions are FBGEMM's.
X86_ENGINES = ("x86", "fbgemm")


def engine() -> str | None:
    """The x86 quantized engine of this torch build, or None."""
    supported = torch.backends.quantized.supported_engines
    return next((name for name in X86_ENGINES if name in supported), None)


def fast_path_fits(layers: Layers) -> bool:
    """Whether a branch is in the 8-bit form and every layer's partial sums stay below 2^22."""
    if not is_int8(layers):
        return False
    input_max = SIGNED_ZERO_POINT
    for layer in layers:
        if layer_bound(layer.weight, layer.bias - 2.0 ** (layer.shift.to(torch.float64) - 1) + 1, input_max) \
                >= 2 ** FAST_BITS:
            return False
        input_max = INT8_ACT_MAX
    return True


def quantized_conv(layer: IntegerLayer):
    """The FBGEMM convolution that computes ``layer`` (module docstring), weights prepacked."""
    import torch.ao.nn.intrinsic.quantized as nniq
    import torch.ao.nn.quantized as nnq

    c_out, c_in = layer.weight.shape[:2]
    scales = 2.0 ** -layer.shift.to(torch.float64)
    real = layer.weight.to(torch.float64) * scales[:, None, None, None]  # W 2^-s: exact in float32
    with warnings.catch_warnings():  # the quantized-module API warns of its deprecation
        warnings.simplefilter("ignore")
        weight = torch.quantize_per_channel(real.to(torch.float32), scales, torch.zeros(c_out, dtype=torch.int64),
                                            0, torch.qint8)
        module = (nniq.ConvReLU2d if layer.hidden else nnq.Conv2d)(c_in, c_out, 3, padding=1)
        offset = 2.0 ** (layer.shift.to(torch.float64) - 1)
        bias = (layer.bias.to(torch.float64) - offset + 0.25) * scales
        module.set_weight_bias(weight, bias.to(torch.float32))
    # The input's zero point travels with the quantized tensor; the output's is set here.
    module.scale, module.zero_point = 1.0, 0 if layer.hidden else SIGNED_ZERO_POINT
    return module


def quantized_input(a: np.ndarray, zero_point: int) -> Tensor:
    """(h, w, C) uint8 -> a (1, C, h, w) channels-last quint8 tensor of scale 1."""
    u = torch.from_numpy(np.ascontiguousarray(a)).permute(2, 0, 1)[None]
    return torch._make_per_tensor_quantized_tensor(u, 1.0, zero_point)


def exact_reference(layer: IntegerLayer, u: np.ndarray, zero_point: int) -> np.ndarray:
    """What ``layer`` must give on (h, w, C) uint8 input ``u``: the program's arithmetic in float64."""
    a = torch.from_numpy(u.astype(np.float64) - zero_point).permute(2, 0, 1)[None]
    acc = F.conv2d(a, layer.weight.to(torch.float64), layer.bias.to(torch.float64), padding=1)
    out = torch.floor(acc * (2.0 ** -layer.shift.to(torch.float64))[:, None, None])
    low, high = layer.clip_range()
    return out.clamp(low, high)[0].permute(1, 2, 0).numpy()


def run_quantized(module, u: np.ndarray, zero_point: int, hidden: bool) -> np.ndarray:
    """One layer on (h, w, C) uint8 input: its output as the program's integers (h, w, C_out)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        q = module(quantized_input(u, zero_point)).int_repr()[0].permute(1, 2, 0).numpy()
    return q.astype(np.float64) if hidden else q.astype(np.float64) - SIGNED_ZERO_POINT


@lru_cache(maxsize=64)
def kernel_is_exact(c_in: int, c_out: int, hidden: bool, signed_input: bool) -> bool:
    """Run a layer of this shape on inputs that overflow int16 pair sums and on random ones;
    True when FBGEMM returns exactly the program's integers for both."""
    if engine() is None:
        return False
    torch.backends.quantized.engine = engine()
    zero_point = SIGNED_ZERO_POINT if signed_input else 0
    generator = torch.Generator().manual_seed(c_in * 1000 + c_out)
    shifts = 16 + torch.arange(c_out, dtype=torch.int32) % 3
    cases = [(torch.full((c_out, c_in, 3, 3), INT8_WEIGHT_MAX, dtype=torch.int16),
              np.full((6, 7, c_in), 255, dtype=np.uint8)),  # every u8 x s8 pair sums past 2^15
             (torch.randint(-INT8_WEIGHT_MAX, INT8_WEIGHT_MAX + 1, (c_out, c_in, 3, 3), generator=generator).to(torch.int16),
              torch.randint(0, 256, (9, 11, c_in), generator=generator).to(torch.uint8).numpy())]
    for saturating, (weight, u) in zip((True, False), cases):
        if saturating:
            # acc = 9 C_in 127 (255 - z) may pass 2^22, so make acc + B a multiple of 2^s: x is
            # then an integer plus at most a quarter whatever float32 keeps of that quarter, no
            # tie is near, and only the int32 accumulation is on trial.
            shift = shifts
            acc = 9 * c_in * INT8_WEIGHT_MAX * (255 - zero_point)
            bias = -(acc % 2 ** shift.to(torch.int64))
        else:
            shift = shifts - 8
            bias = torch.randint(-2 ** 12, 2 ** 12, (c_out,), generator=generator)
        layer = IntegerLayer(weight, (bias + 2 ** (shift - 1)).to(torch.int32), shift, hidden,
                             INT8_ACT_MAX if hidden else INT8_RESIDUAL_MAX)
        got, expected = run_quantized(quantized_conv(layer), u, zero_point, hidden), exact_reference(layer, u, zero_point)
        if saturating:  # the border sees fewer taps, so only the interior has acc + B on the grid
            got, expected = got[1:-1, 1:-1], expected[1:-1, 1:-1]
        if not np.array_equal(got, expected):
            return False
    return True


#: Branches checked so far: id(layers) -> (layers, fits and every kernel exact).
_READY: dict = {}


def fast_path_ready(layers: Layers, device: torch.device) -> bool:
    """Whether this branch may run on FBGEMM here (module docstring)."""
    if device.type != "cpu" or os.environ.get("CODECLAB_INT8", "1") == "0":
        return False
    hit = _READY.get(id(layers))
    if hit is None or hit[0] is not layers:
        if len(_READY) > 64:
            _READY.clear()
        ready = fast_path_fits(layers) and all(
            kernel_is_exact(layer.weight.shape[1], layer.weight.shape[0], layer.hidden, index == 0)
            for index, layer in enumerate(layers))
        hit = _READY[id(layers)] = (layers, ready)
    return hit[1]


def fast_input(planes: list, shape: tuple[int, int]) -> np.ndarray:
    """(h, w, C) uint8 input of a fast-path branch: 8-bit planes as they are (v = (v - 128) + 128)
    and a number (the QP input 4 (QP - 32)) as a constant plane, both offset by the zero point."""
    u = np.empty((*shape, len(planes)), dtype=np.uint8)
    for k, plane in enumerate(planes):
        u[..., k] = plane if isinstance(plane, np.ndarray) else int(plane) + SIGNED_ZERO_POINT
    return u


#: Prepacked convolutions of the layers run so far: id(layer) -> (layer, module).
_MODULES: dict = {}


def module_of(layer: IntegerLayer):
    """The prepacked convolution of a layer, built once: a decoder filters picture after picture."""
    hit = _MODULES.get(id(layer))
    if hit is None or hit[0] is not layer:  # an id may be reused once a program is freed
        if len(_MODULES) > 256:
            _MODULES.clear()
        hit = _MODULES[id(layer)] = (layer, quantized_conv(layer))
    return hit[1]


def run_branch(layers: Layers, u: np.ndarray) -> np.ndarray:
    """A fast-path branch on (h, w, C) uint8 input (network input + 128): the residual R,
    (h, w, C_out) int32."""
    torch.backends.quantized.engine = engine()
    q = quantized_input(u, SIGNED_ZERO_POINT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for layer in layers:
            q = module_of(layer)(q)
    return q.int_repr()[0].permute(1, 2, 0).numpy().astype(np.int32) - SIGNED_ZERO_POINT
