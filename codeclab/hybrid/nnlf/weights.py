"""Shipped weights of the neural loop filter: the integer program in safetensors, with a model card.

The package ships the filter as what the decoder runs, not as float weights to be converted
on each machine: ``codeclab/data/weights/nnlf.safetensors`` holds, per branch ``b`` (``luma``,
``chroma``) and layer ``i``,

    b.i.weight   (C_out, C_in, 3, 3) int16    W
    b.i.bias     (C_out,)             int32    B + 2^(s-1)
    b.i.shift    () or (C_out,)       int32    s (one for the layer, or one per output channel)
    b.i.ceiling  ()                   int32    the output clip, only where it is not the 10-bit
                                               program's (hidden 0..1023, last layer unclipped)

beside ``nnlf.json``, the model card (how the float and QAT runs were made, what the program
costs, what it scores). safetensors holds only named tensors and a string header, so loading
runs no code. Every program loaded is checked for its shapes and for the exactness bound of
:mod:`.integer` before use.

Export after quantisation-aware training, and record what the shipped program scores (the
summary ``codeclab bench --json`` writes, the decode timing ``benchmarks/hybrid_filter.py
--json`` writes) in its card::

    codeclab export nnlf RUN_QAT/nnlf.safetensors [--out codeclab/data/weights/nnlf.safetensors] [--force]
    codeclab export nnlf --evaluation BENCH_SUMMARY.json --timing TIMING.json [--out ...]

To train on from a program (the shipped one by default), turn it back into float weights,
the ``--init`` of a ``codeclab train --model nnlf`` run::

    codeclab export nnlf --to-float START.safetensors [--out PROGRAM]
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path

import torch

from codeclab.errors import InputError, UnsupportedError
from codeclab.hybrid.nnlf.integer import (ACT_MAX, BRANCH_CHANNELS, IntegerLayer, Layers, Program,
                                          check_bound, macs_per_luma_sample, program_fingerprint)
from codeclab.learned.program_file import read_program_file
from codeclab.learned.weights import WEIGHTS_DIR

#: The shipped program of tool id 1.
DEFAULT_WEIGHTS = WEIGHTS_DIR / "nnlf.safetensors"
#: Name in the safetensors header.
PROGRAM_KIND = "nnlf-integer"


def program_tensors(program: Program) -> dict[str, torch.Tensor]:
    """The named tensors of a program (module docstring)."""
    tensors = {}
    for branch, layers in program.branches().items():
        for i, layer in enumerate(layers):
            tensors[f"{branch}.{i}.weight"] = layer.weight.to(torch.int16).contiguous()
            tensors[f"{branch}.{i}.bias"] = layer.bias.to(torch.int32).contiguous()
            shift = layer.uniform_shift
            tensors[f"{branch}.{i}.shift"] = (torch.tensor(shift, dtype=torch.int32) if shift is not None
                                              else layer.shift.to(torch.int32).contiguous())
            if layer.ceiling != default_ceiling(layer.hidden):
                tensors[f"{branch}.{i}.ceiling"] = torch.tensor(layer.ceiling, dtype=torch.int32)
    return tensors


def default_ceiling(hidden: bool) -> int | None:
    """The output clip of the 10-bit program: activations 0..ACT_MAX, the residual unclipped."""
    return ACT_MAX if hidden else None


def branch_from_tensors(tensors: dict[str, torch.Tensor], branch: str) -> Layers:
    """Rebuild and validate one branch; ``ValueError`` names what is wrong."""
    count = sum(name.startswith(f"{branch}.") and not name.endswith(".ceiling") for name in tensors) // 3
    expected = {f"{branch}.{i}.{k}" for i in range(count) for k in ("weight", "bias", "shift")}
    if count < 2 or not expected <= set(tensors):
        raise ValueError(f"expected tensors {branch}.i.weight/bias/shift for i = 0..L-1, L >= 2")
    outputs = BRANCH_CHANNELS[branch]  # input channels -> output channels
    first = tensors[f"{branch}.0.weight"]
    channels = first.shape[1] if first.dim() == 4 and first.shape[1] in outputs else next(iter(outputs))
    c_out = outputs[channels]
    layers = []
    for i in range(count):
        weight, bias, shift = (tensors[f"{branch}.{i}.{k}"] for k in ("weight", "bias", "shift"))
        if weight.dtype != torch.int16 or bias.dtype != torch.int32 or shift.dtype != torch.int32:
            raise ValueError(f"{branch} layer {i}: expected int16 weights, int32 bias and shift")
        if weight.dim() != 4 or weight.shape[1:] != (channels, 3, 3) or bias.shape != weight.shape[:1] or \
                shift.shape not in ((), weight.shape[:1]):
            raise ValueError(f"{branch} layer {i}: shapes {tuple(weight.shape)}, {tuple(bias.shape)}, "
                             f"{tuple(shift.shape)} do not chain")
        if not ((shift >= 1) & (shift <= 48)).all():
            raise ValueError(f"{branch} layer {i}: a shift outside 1..48")
        hidden = i < count - 1
        ceiling = tensors.get(f"{branch}.{i}.ceiling")
        if ceiling is None:
            ceiling = default_ceiling(hidden)
        elif ceiling.dtype != torch.int32 or ceiling.dim() or not 1 <= int(ceiling) <= (ACT_MAX if hidden else 2 ** 23):
            raise ValueError(f"{branch} layer {i}: the ceiling must be an int32 in 1..{ACT_MAX if hidden else 2 ** 23}")
        else:
            ceiling = int(ceiling)
        layers.append(IntegerLayer(weight, bias, shift.expand(weight.shape[0]).clone(), hidden, ceiling))
        channels = weight.shape[0]
    if channels != c_out:
        raise ValueError(f"the {branch} branch gives {channels} channels, expected {c_out}")
    layers = tuple(layers)
    check_bound(layers)
    return layers


def program_from_tensors(tensors: dict[str, torch.Tensor]) -> Program:
    """Rebuild and validate a program; ``ValueError`` names what is wrong."""
    program = Program(branch_from_tensors(tensors, "luma"), branch_from_tensors(tensors, "chroma"))
    expected = sum(3 + (layer.ceiling != default_ceiling(layer.hidden))
                   for layers in program.branches().values() for layer in layers)
    if len(tensors) != expected:
        raise ValueError("unexpected tensors beside the two branches")
    return program


def program_facts(program: Program) -> dict:
    """What a program costs and which it is: parameters, kMAC per luma sample, fingerprint."""
    branches = program.branches()
    return {"parameters": sum(layer.weight.numel() + layer.bias.numel()
                              for layers in branches.values() for layer in layers),
            "kmac_per_luma_sample": macs_per_luma_sample(program) / 1000,
            "layers": {branch: [{"shape": list(layer.weight.shape), "ceiling": layer.ceiling,
                                 "shift": layer.uniform_shift if layer.uniform_shift is not None
                                 else layer.shift.tolist(),
                                 "max_abs_weight": int(layer.weight.abs().max())} for layer in layers]
                       for branch, layers in branches.items()},
            "fingerprint_crc32": f"{program_fingerprint(program):08x}"}


@lru_cache(maxsize=4)
def load_program(path: str | os.PathLike = DEFAULT_WEIGHTS) -> Program:
    """The program stored at ``path`` (cached); missing -> ``UnsupportedError``, bad -> ``InputError``."""
    from safetensors import SafetensorError

    path = Path(path)
    if not path.is_file():
        raise UnsupportedError(f"no neural loop-filter weights at {path} (export them with "
                               f"'codeclab export nnlf RUN/nnlf.safetensors')")
    try:
        return program_from_tensors(read_program_file(path, PROGRAM_KIND))
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"cannot use loop-filter weights {path}: {' '.join(str(exc).split())}") from None
