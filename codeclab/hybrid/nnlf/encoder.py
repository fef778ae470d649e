"""The encoder half of the neural loop filter: per-component modes, scales and CTU flags by RDO.

:func:`encode_filter` runs the network once, then for each component tries every residual
scale and keeps the mode (off, on, per-CTU flags) of least ``J = D + lambda R``, with the
classic encoder's lambdas (:mod:`codeclab.classic.encoder.rate_control`); the syntax it
writes is :mod:`.syntax`'s. A decoder never imports this module.
"""

from __future__ import annotations

import numpy as np

from codeclab.classic.common.partition import CTU_SIZE
from codeclab.classic.common.reference.quant import chroma_qp
from codeclab.classic.common.tools import Planes, plane_sizes, replicate_edges
from codeclab.classic.encoder.rate_control import chroma_distortion_weight, rd_lambda
from codeclab.entropy.bin_coder import encode_bin_stream
from codeclab.entropy.cabac import contexts_at, update_context
from codeclab.entropy.rate import ONE_BIT, flag_costs
from codeclab.hybrid.nnlf.integer import Program, program_fingerprint
from codeclab.hybrid.nnlf.runtime import apply_residual, residuals
from codeclab.hybrid.nnlf.syntax import (CODEWORD_OVERHEAD_BITS, FLAG_P_ON, HEAD_BYTES, OFF, ON, PER_CTU,
                                         SCALE_OFFSET, SCALES, ctu_select)
from codeclab.kernels import kernel


def ctu_sse(a: np.ndarray, b: np.ndarray, ctu: int, size: tuple[int, int] | None = None) -> np.ndarray:
    """(rows, cols) float64 sum of squared differences of each ``ctu`` x ``ctu`` block, over
    the top-left ``size`` (height, width) of the planes only (default: all of them)."""
    rows, cols = a.shape[0] // ctu, a.shape[1] // ctu
    diff = (a.astype(np.int64) - b.astype(np.int64)) ** 2
    if size is not None:
        diff[size[0]:] = 0
        diff[:, size[1]:] = 0
    return diff.reshape(rows, ctu, cols, ctu).sum(axis=(1, 3)).astype(np.float64)


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


def component_lambdas(qp: int) -> tuple[float, float, float]:
    """Lambda per component in units of that component's SSE: HM weighs chroma SSE by
    ``2^((QpY - QpC) / 3)``, i.e. divides its lambda by that weight."""
    lam = rd_lambda(qp)
    chroma_lam = lam / chroma_distortion_weight(qp, int(chroma_qp(qp)))
    return lam, chroma_lam, chroma_lam


def encode_filter(program: Program, recon: Planes, original: Planes, qp: int, size: tuple[int, int],
                  device: str = "cpu") -> tuple[Planes, bytes]:
    """Filter ``recon`` knowing ``original``: the modes, scales and CTU flags of least
    ``J = D + lambda R``, the filtered planes and their side information."""
    recon = replicate_edges(recon, size)
    residual = residuals(program, *recon, qp, device=device)
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
    return tuple(planes), write_side_info(program_fingerprint(program), modes, scales, flags)
