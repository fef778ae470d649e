"""Running the loop filter's integer program on a picture: the normative half of the tool.

Each branch runs on the 8-bit engine of :mod:`.int8` where it can promise the same integers,
else on float convolutions of integer-valued tensors (:mod:`.integer`); either way the
residual, and the filtered picture, are the same on every machine::

    Y, Cb, Cr, QP ─► program input ─► branch layers ─► residual R ─► clip(v + (R S + 16) >> 5)
"""


from __future__ import annotations

import numpy as np
import torch

from codeclab.hybrid.nnlf.int8 import fast_input, fast_path_ready
from codeclab.hybrid.nnlf.int8 import run_branch as run_int8_branch
from codeclab.hybrid.nnlf.integer import (INPUT_FRAC, OUTPUT_FRAC, SCALE_BITS, UNIT_SCALE, Layers, Program,
                                          compute_dtype, luma_phases, output_planes, program_input,
                                          run_banded)


def residuals(program: Program, y: np.ndarray, cb: np.ndarray, cr: np.ndarray, qp: int,
              device: str | torch.device = "cpu", *, luma: bool = True,
              chroma: bool = True) -> tuple[np.ndarray | None, np.ndarray | None, np.ndarray | None]:
    """The quarter-sample residuals R (int32) of one 4:2:0 picture (int32 planes, luma sides
    even), computed exactly; ``luma=False`` / ``chroma=False`` skip a branch (None)."""
    device = torch.device(device)
    qp_value = 4 * (qp - 32)
    height, width = y.shape
    half = (height // 2, width // 2)
    r_y = r_cb = r_cr = None
    if luma:
        if program.luma_half_res:
            out = run_branch(program.luma, [*luma_phases(y), qp_value], half, device)
            # Pixel shuffle: phase 2 i + j of half-resolution position (r, c) is luma sample (2 r + i, 2 c + j).
            r_y = out.reshape(*half, 2, 2).transpose(0, 2, 1, 3).reshape(height, width)
        else:
            r_y = run_branch(program.luma, [y, qp_value], (height, width), device)[..., 0]
    if chroma:
        guide = luma_phases(y) if program.chroma_guided else []
        out = run_branch(program.chroma, [*guide, cb, cr, qp_value], half, device)
        r_cb, r_cr = out[..., 0], out[..., 1]
    return r_y, r_cb, r_cr


def run_branch(layers: Layers, planes: list[np.ndarray | int], shape: tuple[int, int],
               device: torch.device) -> np.ndarray:
    """The residual (h, w, C_out) int32 of one branch on its input planes (:func:`program_input`):
    on uint8 x int8 convolutions where :mod:`.int8` can promise the same integers, else on
    float convolutions of integer-valued tensors."""
    if fast_path_ready(layers, device):
        return run_int8_branch(layers, fast_input(planes, shape))
    return output_planes(run_banded(layers, program_input(planes, shape, compute_dtype(device), device)))


def apply_residual(plane: np.ndarray, residual: np.ndarray, scale: int = UNIT_SCALE) -> np.ndarray:
    """``clip(v + floor((R * S + 2^4) / 2^5), 0, 255)``: the scaled residual added in whole samples.

    int32 suffices: |R| < 2^23 (a partial sum below 2^24 shifted by s >= 1) and S < 2^4.
    """
    shift = SCALE_BITS + OUTPUT_FRAC - INPUT_FRAC
    step = (residual.astype(np.int32) * np.int32(scale) + np.int32(1 << (shift - 1))) >> shift
    return np.clip(plane.astype(np.int32) + step, 0, 255)


def filter_planes(program: Program, y: np.ndarray, cb: np.ndarray, cr: np.ndarray, qp: int,
                  device: str | torch.device = "cpu") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Filter one 4:2:0 picture with the unit residual scale (what training optimises)."""
    r = residuals(program, y, cb, cr, qp, device)
    return tuple(apply_residual(plane, res) for plane, res in zip((y, cb, cr), r))
