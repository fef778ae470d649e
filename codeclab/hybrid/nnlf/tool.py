"""The neural in-loop filter (picture-filter tool id 1): an integer CNN switched per CTU by RDO.

It plugs into the classic codec's stage after deblocking (:mod:`codeclab.classic.common.tools`)::

    deblocked planes ─► integer CNN (:mod:`.integer`, exact) ─► residual x scale ─► filtered planes
                   │                                                                   │
                   └──────────── per CTU and component: keep one ◄─────────────────────┘
                                                            (modes, scales, flags: side information)

The network sees the picture with its padding made by repeating the last row and column
(:func:`~codeclab.classic.common.tools.replicate_edges`: a video encoder leaves the padding of
CTUs that stick out of the picture uncoded), and every distortion below is measured inside
the picture only. The encoder runs the network once, then decides for each component (Y, Cb, Cr) by
rate-distortion cost ``J = D + lambda R``, with HM's intra lambda
(:func:`~codeclab.classic.common.reference.quant.rd_lambda`) and, for chroma, HM's chroma distortion weight:

* a residual scale ``S / 8``, S in 4..11, applied before the residual is rounded to whole
  samples: NNVC's per-picture residual scaling, which lets the encoder soften or strengthen
  one set of weights where the picture wants it (the unit scale is what training optimised);
* a mode, for the best scale:

      0  off everywhere          D = sum SSE_off
      1  on everywhere           D = sum SSE_on
      2  one flag per CTU        each flag chosen greedily in coding order,
                                 min(SSE_off + lambda R(0), SSE_on + lambda R(1)),
                                 R from the flag's adaptive context (:mod:`codeclab.entropy.rate`)

  like VVC's ALF CTU flags (H.266 §7.3.8.2 ``alf_ctb_flag``) and their picture-level enables.

Side information (the payload's tail, :func:`~codeclab.classic.common.tools.join_side_info`)::

    u8   modes: bits 2c..2c+1 the mode of component c = 0, 1, 2 (Y, Cb, Cr); 3 is invalid;
         bits 6..7 zero                               -- all a picture that stays unfiltered costs
    when some mode is not 0:
    u16  weights fingerprint (low 16 bits of the CRC-32 of the integer program)
    u16  bits 3c..3c+2 the scale index k of component c (S = 4 + k; 0 when the mode is 0);
         bits 9..15 zero
    [ CABAC codeword (:mod:`codeclab.entropy.cabac`): the flags of the mode-2 components, Y then Cb
      then Cr, CTUs in raster order, one adaptive context per component; present iff a mode is 2 ]

The fingerprint makes a stream coded with other weights fail loudly instead of decoding into
a slightly wrong picture (a picture left unfiltered decodes the same with any weights). One
byte for a picture left alone matters in video, where the encoder often keeps the filter off
in P pictures of a few hundred bytes. The decoder runs the network only when some mode is not 0 -- the
luma branch only when luma is on somewhere, the chroma branch only when chroma is -- and any
malformed side information is a :class:`~codeclab.errors.BitstreamError`.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from codeclab.classic.common.tools import Planes, plane_sizes, replicate_edges
from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.reference.quant import chroma_qp
from codeclab.classic.encoder.rate_control import chroma_distortion_weight, rd_lambda
from codeclab.entropy.cabac import (
    FINISH_ERRORS,
    contexts_at,
    decode_bin_stream,
    encode_bin_stream,
    update_context,
)
from codeclab.entropy.rate import ONE_BIT, flag_costs
from codeclab.errors import BitstreamError
from codeclab.hybrid.nnlf.integer import Program, program_fingerprint
from codeclab.hybrid.nnlf.runtime import apply_residual, residuals
from codeclab.hybrid.nnlf.weights import DEFAULT_WEIGHTS, load_program
from codeclab.kernels import kernel

#: The tool id of this filter in the classic codec's picture parameters.
NEURAL_FILTER_ID = 1
#: Component modes.
OFF, ON, PER_CTU = 0, 1, 2
#: Residual scales S (in eighths) the syntax can express: S = SCALE_OFFSET + k, k in 0..7.
SCALE_OFFSET = 4
SCALES = tuple(range(SCALE_OFFSET, SCALE_OFFSET + 8))
#: Initial P(flag = 1) of each component's context: the filter helps most CTUs.
FLAG_P_ON = 0.75
#: Bits charged to a per-CTU mode for the codeword's termination (about one byte).
CODEWORD_OVERHEAD_BITS = 8


def ctu_sse(a: np.ndarray, b: np.ndarray, ctu: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """(rows, cols) float64 sum of squared differences of each ``ctu`` x ``ctu`` block, over
    the top-left ``size`` (height, width) of the planes only (default: all of them)."""
    rows, cols = a.shape[0] // ctu, a.shape[1] // ctu
    diff = (a.astype(np.int64) - b.astype(np.int64)) ** 2
    if size is not None:
        diff[size[0]:] = 0
        diff[:, size[1]:] = 0
    return diff.reshape(rows, ctu, cols, ctu).sum(axis=(1, 3)).astype(np.float64)


def ctu_select(off: np.ndarray, on: np.ndarray, flags: np.ndarray, ctu: int) -> np.ndarray:
    """``on`` where a CTU's flag is 1, ``off`` elsewhere."""
    if flags.all() or not flags.any():
        return np.asarray(on if flags.all() else off, dtype=np.int32)
    mask = np.kron(flags.astype(bool), np.ones((ctu, ctu), dtype=bool))
    return np.where(mask, on, off).astype(np.int32)


@kernel
def choose_flags(sse_off, sse_on, lam, ctx, c, flags):
    """Greedy per-CTU decisions in coding order with the adaptive context's costs (Q15 bits);
    writes ``flags`` and returns their total cost ``sum min(J_off, J_on)``."""
    total = 0.0
    for i in range(sse_off.shape[0]):
        cost0, cost1 = flag_costs(ctx, c)
        j_off = sse_off[i] + lam * cost0 / ONE_BIT
        j_on = sse_on[i] + lam * cost1 / ONE_BIT
        flags[i] = 1 if j_on < j_off else 0
        total += min(j_off, j_on)
        update_context(ctx, c, flags[i])
    return total


def choose_mode(sse_off: np.ndarray, sse_on: np.ndarray, lam: float,
                component: int) -> tuple[int, np.ndarray, float]:
    """(mode, flags, J) of one component with the least ``D + lambda R`` (module docstring)."""
    flags = np.zeros(sse_off.size, dtype=np.int32)
    ctx = contexts_at(FLAG_P_ON, count=3)
    per_ctu = choose_flags(sse_off.ravel(), sse_on.ravel(), lam, ctx, component, flags)
    costs = {OFF: sse_off.sum(), ON: sse_on.sum(), PER_CTU: per_ctu + lam * CODEWORD_OVERHEAD_BITS}
    mode = min(costs, key=costs.get)
    return mode, (flags if mode == PER_CTU else np.full(sse_off.size, mode, dtype=np.int32)), float(costs[mode])


def write_side_info(fingerprint: int, modes: list[int], scales: list[int], flags: list[np.ndarray]) -> bytes:
    """The side information of chosen modes, scales and flags (module docstring)."""
    packed_modes = sum(mode << (2 * c) for c, mode in enumerate(modes))
    if not packed_modes:
        return bytes([0])
    packed_scales = sum((scale - SCALE_OFFSET if mode != OFF else 0) << (3 * c)
                        for c, (mode, scale) in enumerate(zip(modes, scales)))
    head = bytes([packed_modes]) + (fingerprint & 0xFFFF).to_bytes(2, "big") + packed_scales.to_bytes(2, "big")
    coded = [i for i, mode in enumerate(modes) if mode == PER_CTU]
    if not coded:
        return head
    bins = np.concatenate([flags[i] for i in coded]).astype(np.int32)
    ctx_ids = np.concatenate([np.full(flags[i].size, i, dtype=np.int32) for i in coded])
    out = np.empty(bins.size + 16, dtype=np.uint8)
    size = encode_bin_stream(contexts_at(FLAG_P_ON, count=3), ctx_ids, bins, out)
    return head + out[:size].tobytes()


#: Bytes before the codeword when some component is filtered: modes, fingerprint, scales.
HEAD_BYTES = 5


def read_side_info(side_info: bytes, fingerprint: int,
                   ctu_count: int) -> tuple[list[int], list[int], list[np.ndarray]]:
    """(modes, scales, flags per component) of ``side_info``; ``BitstreamError`` on anything malformed."""
    if not side_info:
        raise BitstreamError("neural loop filter: side information missing")
    packed_modes = side_info[0]
    modes = [(packed_modes >> (2 * c)) & 3 for c in range(3)]
    if packed_modes >> 6 or 3 in modes:
        raise BitstreamError(f"neural loop filter: invalid component modes {packed_modes:#04x}")
    if not packed_modes:
        if len(side_info) != 1:
            raise BitstreamError("neural loop filter: unexpected bytes after the modes")
        return modes, [SCALE_OFFSET] * 3, [np.zeros(ctu_count, dtype=np.int32) for _ in range(3)]
    if len(side_info) < HEAD_BYTES:
        raise BitstreamError(f"neural loop filter: side information shorter than its {HEAD_BYTES}-byte header")
    if int.from_bytes(side_info[1:3], "big") != fingerprint & 0xFFFF:
        raise BitstreamError("neural loop filter: the stream was coded with other filter weights "
                             "(weights fingerprint differs)")
    packed_scales = int.from_bytes(side_info[3:5], "big")
    indices = [(packed_scales >> (3 * c)) & 7 for c in range(3)]
    if packed_scales >> 9 or any(mode == OFF and k for mode, k in zip(modes, indices)):
        raise BitstreamError(f"neural loop filter: invalid residual scales {packed_scales:#06x}")
    scales = [SCALE_OFFSET + k for k in indices]
    coded = [i for i, mode in enumerate(modes) if mode == PER_CTU]
    codeword = np.frombuffer(side_info[HEAD_BYTES:], dtype=np.uint8)
    flags = [np.full(ctu_count, mode, dtype=np.int32) for mode in modes]
    if not coded:
        if codeword.size:
            raise BitstreamError("neural loop filter: unexpected bytes after the modes")
        return modes, scales, flags
    ctx_ids = np.concatenate([np.full(ctu_count, i, dtype=np.int32) for i in coded])
    bins = np.zeros(ctx_ids.size, dtype=np.int32)
    code = int(decode_bin_stream(contexts_at(FLAG_P_ON, count=3), ctx_ids, codeword, bins))
    if code:
        raise BitstreamError(f"neural loop filter flags: {FINISH_ERRORS[code]}")
    for k, i in enumerate(coded):
        flags[i] = bins[k * ctu_count:(k + 1) * ctu_count]
    return modes, scales, flags


def component_lambdas(qp: int) -> tuple[float, float, float]:
    """Lambda per component in units of that component's SSE: HM weighs chroma SSE by
    ``2^((QpY - QpC) / 3)``, i.e. divides its lambda by that weight."""
    lam = rd_lambda(qp)
    chroma_lam = lam / chroma_distortion_weight(qp, int(chroma_qp(qp)))
    return lam, chroma_lam, chroma_lam


class NeuralLoopFilter:
    """:class:`~codeclab.classic.common.tools.PictureFilter` of the integer CNN (tool id 1)."""

    tool_id = NEURAL_FILTER_ID

    def __init__(self, weights: str | os.PathLike = DEFAULT_WEIGHTS, device: str = "cpu") -> None:
        self.weights, self.device = Path(weights), device

    @property
    def program(self) -> Program:
        return load_program(self.weights)

    def encode(self, recon: Planes, original: Planes, qp: int, size: tuple[int, int]) -> tuple[Planes, bytes]:
        recon = replicate_edges(recon, size)
        residual = residuals(self.program, *recon, qp, device=self.device)
        lambdas = component_lambdas(qp)
        modes, scales, flags, planes = [], [], [], []
        cost_on = cost_off = 0.0  # J of the choices and of leaving the picture alone, in luma SSE units
        for c, (lam, visible) in enumerate(zip(lambdas, plane_sizes(size))):
            ctu = CTU_SIZE if c == 0 else CTU_SIZE // 2
            sse_off = ctu_sse(recon[c], original[c], ctu, visible)
            best = None
            for scale in SCALES:
                filtered = apply_residual(recon[c], residual[c], scale)
                sse_on = ctu_sse(filtered, original[c], ctu, visible)
                mode, chosen, cost = choose_mode(sse_off, sse_on, lam, c)
                if best is None or cost < best[0]:
                    best = (cost, mode, scale, chosen, filtered)
            cost, mode, scale, chosen, filtered = best
            cost_on += cost * lambdas[0] / lam
            cost_off += float(sse_off.sum()) * lambdas[0] / lam
            modes.append(mode)
            scales.append(scale)
            flags.append(chosen)
            planes.append(ctu_select(recon[c], filtered, chosen.reshape(sse_off.shape), ctu))
        if cost_on + lambdas[0] * 8 * (HEAD_BYTES - 1) >= cost_off:  # the header is not worth its bytes
            return recon, write_side_info(0, [OFF] * 3, [SCALE_OFFSET] * 3, [])
        return tuple(planes), write_side_info(program_fingerprint(self.program), modes, scales, flags)

    def decode(self, recon: Planes, qp: int, side_info: bytes, size: tuple[int, int]) -> Planes:
        rows, cols = recon[0].shape[0] // CTU_SIZE, recon[0].shape[1] // CTU_SIZE
        modes, scales, flags = read_side_info(side_info, program_fingerprint(self.program), rows * cols)
        if not any(modes):
            return recon
        recon = replicate_edges(recon, size)
        residual = residuals(self.program, *recon, qp, device=self.device, luma=modes[0] != OFF,
                             chroma=modes[1] != OFF or modes[2] != OFF)
        return tuple(recon[c] if modes[c] == OFF else
                     ctu_select(recon[c], apply_residual(recon[c], residual[c], scales[c]),
                                flags[c].reshape(rows, cols), CTU_SIZE if c == 0 else CTU_SIZE // 2)
                     for c in range(3))
