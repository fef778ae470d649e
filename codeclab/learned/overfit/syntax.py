"""The overfitted codec's parameter block and payload: network sizes, quantised weights, latents.

Parameter block (container)::

    u16  quality * 256
    u8   L (levels)      u8  H (ARM hidden width)      u8  C (synthesis width)

Payload::

    for group in (upsample, arm, synthesis):
        u8 k_w, u8 k_b          weights are n 2^-k_w, biases n 2^-k_b (k <= 16)
        u8 j_w, u8 j_b          scale index of the Laplace table coding their n
    u32  network stream length
    ...  network stream         every tensor of Architecture.parameter_shapes, in order,
                                as integers n (rANS, zero-mean Laplace tables, escapes)
    ...  latent stream          :mod:`.latents`

Weights are quantised with a step chosen per group by the encoder's rate-distortion search
(Ladune et al. 2023: the weights' bits count in the rate); the scale of each table is the
encoder's choice too (the one that codes its integers in the fewest bits). The reader
checks every field against the limits of :mod:`.architecture` before allocating.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

import numpy as np
import torch

from codeclab.entropy import rans
from codeclab.errors import BitstreamError
from codeclab.kernels import kernel
from codeclab.learned.overfit.architecture import GROUPS, Architecture, group_of
from codeclab.learned.overfit.arm import ARM_FRAC, tables
from codeclab.learned.overfit.synthesis import ACT_FRAC, integer_bias

_PARAMS = struct.Struct(">HBBB")
_GROUP = struct.Struct(">BBBB")
_LENGTH = struct.Struct(">I")
#: Largest quantisation exponent k of a step 2^-k.
MAX_STEP_BITS = 16
#: Integers of weights lie in [-VALUE_LIMIT, VALUE_LIMIT].
VALUE_LIMIT = (1 << (rans.ESCAPE_BITS - 1)) - 1
QUALITY_STEPS = 256


@dataclass
class QuantizedNetworks:
    """The networks as the stream holds them: integers and their step exponents."""

    architecture: Architecture
    steps: dict[str, tuple[int, int]]  # group -> (k_w, k_b)
    values: dict[str, np.ndarray]  # tensor name -> int64 integers n

    def group_values(self, group: str, kind: str) -> np.ndarray:
        """All integers of one group's weights or biases (possibly none)."""
        members = [v.ravel() for n, v in self.values.items() if group_of(n) == group and n.endswith(kind)]
        return np.concatenate(members) if members else np.zeros(0, np.int64)

    def kind_bits(self, name: str) -> int:
        k_w, k_b = self.steps[group_of(name)]
        return k_b if name.endswith("bias") else k_w

    def to_float(self) -> dict[str, torch.Tensor]:
        """The dequantised weights ``n 2^-k`` (float32, what the encoder fine-tunes around)."""
        return {name: torch.from_numpy(v.astype(np.float32) * np.float32(2.0 ** -self.kind_bits(name)))
                for name, v in self.values.items()}


def pack_params(architecture: Architecture, quality: float) -> bytes:
    return _PARAMS.pack(round(quality * QUALITY_STEPS), architecture.levels, architecture.arm_hidden,
                        architecture.synthesis_width)


def unpack_params(params: bytes) -> tuple[Architecture, float]:
    if len(params) != _PARAMS.size:
        raise BitstreamError(f"overfit parameter block has {len(params)} bytes, expected {_PARAMS.size}")
    q, levels, hidden, width = _PARAMS.unpack(params)
    try:
        architecture = Architecture(levels, hidden, width)
    except ValueError as e:
        raise BitstreamError(f"overfit stream: {e}") from None
    return architecture, q / QUALITY_STEPS


# -- the network stream -------------------------------------------------------------------------

def _kinds(architecture: Architecture) -> list[tuple[str, str]]:
    return [(group_of(name), "bias" if name.endswith("bias") else "weight")
            for name in architecture.parameter_shapes()]


def best_scale_index(values: np.ndarray) -> tuple[int, float]:
    """(scale index, bits): the phase-0 table that codes ``values`` in the fewest bits."""
    t = tables()
    v = np.asarray(values, np.int64).ravel()
    return min(((j, network_bits(v, j)) for j in range(len(t.count) // t.per_scale)), key=lambda jb: jb[1])


def networks_bits(q: "QuantizedNetworks") -> float:
    """Ideal bits of the network stream: each group and kind with its best table."""
    return sum(best_scale_index(q.group_values(g, k))[1] for g in GROUPS for k in ("weight", "bias"))


def network_bits(values: np.ndarray, scale_index: int) -> float:
    """Ideal bits of coding ``values`` with the zero-mean table of ``scale_index`` (escapes
    included: 16 more bits each)."""
    t = tables()
    table = scale_index * t.per_scale
    u = np.asarray(values, np.int64).ravel() - t.offset[table]
    escape = (u < 0) | (u >= t.count[table] - 1)
    u = np.where(escape, t.count[table] - 1, u)
    freq = t.cdf[t.first[table] + u + 1] - t.cdf[t.first[table] + u]
    return float(np.sum(rans.PRECISION - np.log2(freq)) + rans.ESCAPE_BITS * escape.sum())


def _value_symbols(values: np.ndarray, table_ids: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = tables()
    starts, freqs = [], []
    for v, table in zip(values.tolist(), table_ids.tolist()):
        u = v - int(t.offset[table])
        if 0 <= u < t.count[table] - 1:
            start = int(t.cdf[t.first[table] + u])
            starts.append(start)
            freqs.append(int(t.cdf[t.first[table] + u + 1]) - start)
        else:
            u = int(t.count[table]) - 1
            start = int(t.cdf[t.first[table] + u])
            starts += [start, v + (1 << (rans.ESCAPE_BITS - 1))]
            freqs += [int(t.cdf[t.first[table] + u + 1]) - start, 1]
    return np.array(starts, np.int64), np.array(freqs, np.int64)


@kernel
def _decode_values(data, table_ids, cdf, first, count, offset):
    out = np.zeros(table_ids.shape[0], dtype=np.int64)
    x, pos, overrun = rans.init(data)
    for i in range(table_ids.shape[0]):
        t = table_ids[i]
        u = rans.find(cdf, first[t], count[t], rans.peek(x))
        start = cdf[first[t] + u]
        x, pos, overrun = rans.advance(x, pos, overrun, data, start, cdf[first[t] + u + 1] - start)
        if u == count[t] - 1:
            raw = rans.peek(x)
            x, pos, overrun = rans.advance(x, pos, overrun, data, raw, 1)
            out[i] = raw - (1 << 15)
        else:
            out[i] = offset[t] + u
    return out, rans.finished(x, pos, overrun, data)


def _table_ids(architecture: Architecture, scale_indexes: dict[tuple[str, str], int]) -> np.ndarray:
    per_scale = tables().per_scale
    ids = [np.full(int(np.prod(shape)), scale_indexes[kind] * per_scale, np.int64)
           for kind, shape in zip(_kinds(architecture), architecture.parameter_shapes().values())]
    return np.concatenate(ids)


def pack_payload(q: QuantizedNetworks, latent_stream: bytes) -> bytes:
    """Network header and stream, then the latent stream (module docstring)."""
    arch = q.architecture
    names = list(arch.parameter_shapes())
    scale_indexes, head = {}, b""
    for group in GROUPS:
        for kind in ("weight", "bias"):
            scale_indexes[(group, kind)] = best_scale_index(q.group_values(group, kind))[0]
        head += _GROUP.pack(*q.steps[group], scale_indexes[(group, "weight")], scale_indexes[(group, "bias")])
    values = np.concatenate([q.values[n].ravel() for n in names]).astype(np.int64)
    network = rans.encode_bytes(*_value_symbols(values, _table_ids(arch, scale_indexes)))
    return head + _LENGTH.pack(len(network)) + network + latent_stream


def unpack_payload(payload: bytes, architecture: Architecture) -> tuple[QuantizedNetworks, bytes]:
    """(networks, latent stream); ``BitstreamError`` on any inconsistency."""
    head = len(GROUPS) * _GROUP.size + _LENGTH.size
    if len(payload) < head:
        raise BitstreamError("overfit payload truncated in its network header")
    steps, scale_indexes = {}, {}
    n_scales = len(tables().count) // tables().per_scale
    for i, group in enumerate(GROUPS):
        k_w, k_b, j_w, j_b = _GROUP.unpack_from(payload, i * _GROUP.size)
        if max(k_w, k_b) > MAX_STEP_BITS or max(j_w, j_b) >= n_scales:
            raise BitstreamError(f"overfit stream: bad quantisation fields of the {group} network")
        steps[group] = (k_w, k_b)
        scale_indexes[(group, "weight")], scale_indexes[(group, "bias")] = j_w, j_b
    (length,) = _LENGTH.unpack_from(payload, len(GROUPS) * _GROUP.size)
    if head + length > len(payload):
        raise BitstreamError(f"overfit payload: a network stream of {length} bytes announced, "
                             f"{len(payload) - head} present")
    t = tables()
    ids = _table_ids(architecture, scale_indexes)
    values, ok = _decode_values(np.frombuffer(payload[head: head + length], np.uint8), ids,
                                t.cdf, t.first, t.count, t.offset)
    if not ok:
        raise BitstreamError("overfit network stream is damaged")
    tensors, at = {}, 0
    for name, shape in architecture.parameter_shapes().items():
        size = int(np.prod(shape))
        tensors[name] = values[at: at + size].reshape(shape)
        at += size
    return QuantizedNetworks(architecture, steps, tensors), payload[head + length:]


# -- integer programs ---------------------------------------------------------------------------

def integer_arm(q: QuantizedNetworks) -> tuple:
    """(w0, b0, w1, b1, w2, b2, shifts) int64 arrays for :func:`.arm.predict`."""
    k_w, k_b = q.steps["arm"]
    if ARM_FRAC + k_w < k_b:
        raise BitstreamError("overfit stream: ARM bias step finer than its accumulator")
    out = []
    for layer in range(3):
        bias = q.values[f"arm.{layer}.bias"].astype(np.int64) << (ARM_FRAC + k_w - k_b)
        out += [np.ascontiguousarray(q.values[f"arm.{layer}.weight"], np.int64),
                bias + ((1 << (k_w - 1)) if k_w else 0)]
    return (*out, np.full(3, k_w, np.int64))


def integer_synthesis(q: QuantizedNetworks) -> tuple[torch.Tensor, int, dict[str, torch.Tensor], dict[str, int]]:
    """(upsampling taps, their shift, synthesis parameters, per-layer shifts) as integers in float64."""
    k_w, k_b = q.steps["synthesis"]
    if ACT_FRAC + k_w < k_b:
        raise BitstreamError("overfit stream: synthesis bias step finer than its accumulator")
    params, shifts = {}, {}
    for layer in range(4):
        name = f"synthesis.{layer}"
        params[f"{name}.weight"] = torch.from_numpy(q.values[f"{name}.weight"].astype(np.float64))
        params[f"{name}.bias"] = integer_bias(torch.from_numpy(q.values[f"{name}.bias"]), k_w, k_b, ACT_FRAC)
        shifts[name] = k_w
    taps = torch.from_numpy(q.values["upsample.taps"].astype(np.float64))
    return taps, q.steps["upsample"][0], params, shifts
