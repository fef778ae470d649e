"""The shipped program of the network intra modes: its layout, bounds, fingerprint and file.

What a decoder needs of the tool besides the kernel (:mod:`codeclab.classic.common.nnintra`): the
safetensors file beside its model card, checked against the kernel's bounds when loaded.
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache

import numpy as np

from codeclab.classic.common.nnintra import GRID, INPUTS
from codeclab.errors import InputError, UnsupportedError
from codeclab.learned.program_file import read_program_file
from codeclab.learned.weights import WEIGHTS_DIR

# -- the shipped program: safetensors + model card -----------------------------------------------
#: The program ``classic-nn`` codes with (its card beside it, ``nip.json``).
DEFAULT_WEIGHTS = WEIGHTS_DIR / "nip.safetensors"
#: Name in the safetensors header.
PROGRAM_KIND = "nip-integer"
PROGRAM_FIELDS = ("w1", "b1", "w2", "b2", "w3", "b3", "shifts")
#: Stored types: weights fit int32 (their bound is 2^24), biases and shifts are kept as int64.
FILE_DTYPES = {"w1": np.int32, "b1": np.int64, "w2": np.int32, "b2": np.int64, "w3": np.int32, "b3": np.int64,
               "shifts": np.int64}
#: Bounds that keep every sum of the kernel far inside int64 (|w| |x| H <= 2^24 2^16 2^8).
MAX_WEIGHT, MAX_BIAS, MAX_HIDDEN, MAX_SHIFT = 1 << 24, 1 << 40, 256, 40


def check_program(program: tuple[np.ndarray, ...]) -> None:
    """``ValueError`` unless ``program`` has the kernel's layout and stays inside its bounds."""
    if len(program) != len(PROGRAM_FIELDS):
        raise ValueError(f"expected the {len(PROGRAM_FIELDS)} arrays {', '.join(PROGRAM_FIELDS)}")
    w1, b1, w2, b2, w3, b3, shifts = program
    hidden = w1.shape[1] if w1.ndim == 3 else 0
    outputs = w3.shape[1] if w3.ndim == 3 else 0
    heads = outputs // (GRID * GRID)
    expected = {"w1": (4, hidden, INPUTS), "b1": (4, hidden), "w2": (4, hidden, hidden), "b2": (4, hidden),
                "w3": (4, outputs, hidden), "b3": (4, outputs), "shifts": (4, 3)}
    for name, array in zip(PROGRAM_FIELDS, program):
        if array.shape != expected[name] or array.dtype != np.int64:
            raise ValueError(f"{name}: {array.dtype} {array.shape}, expected int64 {expected[name]}")
    if not 1 <= hidden <= MAX_HIDDEN or heads not in (1, 2, 4, 8) or outputs != heads * GRID * GRID:
        raise ValueError(f"{hidden} hidden units and {outputs} outputs: expected 1..{MAX_HIDDEN} and 64 per head, "
                         f"1, 2, 4 or 8 heads")
    if max(np.abs(w).max() for w in (w1, w2, w3)) >= MAX_WEIGHT or max(np.abs(b).max() for b in (b1, b2, b3)) >= MAX_BIAS:
        raise ValueError("a weight or bias outside the kernel's bounds")
    if (shifts < 0).any() or (shifts > MAX_SHIFT).any():
        raise ValueError(f"a shift outside 0..{MAX_SHIFT}")


def program_fingerprint(program: tuple[np.ndarray, ...]) -> str:
    """First 8 hex digits of the SHA-256 of the program's arrays (which program a card means)."""
    digest = hashlib.sha256()
    for array in program:
        digest.update(np.ascontiguousarray(array, dtype="<i8").tobytes())
    return digest.hexdigest()[:8]


def load_program(path: str | os.PathLike) -> tuple[np.ndarray, ...]:
    """Read and check a program file; ``InputError`` names what is wrong."""
    from safetensors import SafetensorError

    try:
        tensors = read_program_file(path, PROGRAM_KIND, framework="np")
        arrays = [tensors[name] for name in PROGRAM_FIELDS]
        for name, array in zip(PROGRAM_FIELDS, arrays):
            if array.dtype != FILE_DTYPES[name]:
                raise ValueError(f"{name}: {array.dtype}, expected {np.dtype(FILE_DTYPES[name])}")
        program = tuple(array.astype(np.int64) for array in arrays)
        check_program(program)
    except (OSError, ValueError, KeyError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"neural intra program {path}: {' '.join(str(exc).split())}") from None
    return program


@lru_cache(maxsize=1)
def shipped_program() -> tuple[np.ndarray, ...]:
    """The program of :data:`DEFAULT_WEIGHTS` (loaded once)."""
    if not DEFAULT_WEIGHTS.exists():
        raise UnsupportedError(f"this installation has no neural intra program ({DEFAULT_WEIGHTS})")
    return load_program(DEFAULT_WEIGHTS)
