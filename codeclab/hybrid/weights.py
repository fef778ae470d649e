"""Shipped weights of the neural loop filter: the integer program in safetensors, with a model card.

The package ships the filter as what the decoder runs, not as float weights to be converted
on each machine: ``codeclab/data/weights/nnlf.safetensors`` holds, per branch ``b`` (``luma``,
``chroma``) and layer ``i``,

    b.i.weight   (C_out, C_in, 3, 3) int16    W
    b.i.bias     (C_out,)             int32    B + 2^(s-1)
    b.i.shift    ()                   int32    s

beside ``nnlf.json``, the model card (how the float and QAT runs were made, what the program
costs, what it scores). safetensors holds only named tensors and a string header, so loading
runs no code. Every program loaded is checked for its shapes and for the exactness bound of
:mod:`.integer` before use.

Export after quantisation-aware training, and record what the shipped program scores
(the summary ``codeclab bench --json`` writes) in its card::

    python -m codeclab.hybrid.weights RUN_QAT/nnlf.safetensors [--out codeclab/data/weights/nnlf.safetensors] [--force]
    python -m codeclab.hybrid.weights --evaluation BENCH_SUMMARY.json [--out ...]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

import torch

from ..errors import CodecLabError, InputError, UnsupportedError
from ..io.files import atomic_write
from ..learned.weights import WEIGHTS_DIR
from .integer import (BRANCH_CHANNELS, IntegerLayer, Layers, Program, check_bound, macs_per_luma_sample,
                      program_fingerprint)

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
            tensors[f"{branch}.{i}.shift"] = torch.tensor(layer.shift, dtype=torch.int32)
    return tensors


def branch_from_tensors(tensors: dict[str, torch.Tensor], branch: str) -> Layers:
    """Rebuild and validate one branch; ``ValueError`` names what is wrong."""
    count = sum(name.startswith(f"{branch}.") for name in tensors) // 3
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
        if weight.dim() != 4 or weight.shape[1:] != (channels, 3, 3) or bias.shape != weight.shape[:1] or shift.dim():
            raise ValueError(f"{branch} layer {i}: shapes {tuple(weight.shape)}, {tuple(bias.shape)} do not chain")
        if not 1 <= int(shift) <= 48:
            raise ValueError(f"{branch} layer {i}: shift {int(shift)} outside 1..48")
        layers.append(IntegerLayer(weight, bias, int(shift), hidden=i < count - 1))
        channels = weight.shape[0]
    if channels != c_out:
        raise ValueError(f"the {branch} branch gives {channels} channels, expected {c_out}")
    layers = tuple(layers)
    check_bound(layers)
    return layers


def program_from_tensors(tensors: dict[str, torch.Tensor]) -> Program:
    """Rebuild and validate a program; ``ValueError`` names what is wrong."""
    program = Program(branch_from_tensors(tensors, "luma"), branch_from_tensors(tensors, "chroma"))
    if len(tensors) != 3 * (len(program.luma) + len(program.chroma)):
        raise ValueError("unexpected tensors beside the two branches")
    return program


def save_program(path: str | os.PathLike, program: Program, card: dict) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and its card (.json); the card gains cost and fingerprint."""
    from safetensors.torch import save

    for layers in program.branches().values():
        check_bound(layers)
    path = Path(path).with_suffix(".safetensors")
    card = {**card, **program_facts(program)}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save(program_tensors(program), metadata={"format": "pt", "codeclab.model": PROGRAM_KIND}))
    card_path = path.with_suffix(".json")
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path, card_path


def program_facts(program: Program) -> dict:
    """What a program costs and which it is: parameters, kMAC per luma sample, fingerprint."""
    branches = program.branches()
    return {"parameters": sum(layer.weight.numel() + layer.bias.numel()
                              for layers in branches.values() for layer in layers),
            "kmac_per_luma_sample": macs_per_luma_sample(program) / 1000,
            "layers": {branch: [{"shape": list(layer.weight.shape), "shift": layer.shift,
                                 "max_abs_weight": int(layer.weight.abs().max())} for layer in layers]
                       for branch, layers in branches.items()},
            "fingerprint_crc32": f"{program_fingerprint(program):08x}"}


@lru_cache(maxsize=4)
def load_program(path: str | os.PathLike = DEFAULT_WEIGHTS) -> Program:
    """The program stored at ``path`` (cached); missing -> ``UnsupportedError``, bad -> ``InputError``."""
    from safetensors import SafetensorError, safe_open

    path = Path(path)
    if not path.is_file():
        raise UnsupportedError(f"no neural loop-filter weights at {path} (export them with "
                               f"'python -m codeclab.hybrid.weights RUN/nnlf.safetensors')")
    try:
        with safe_open(str(path), framework="pt") as f:
            if (f.metadata() or {}).get("codeclab.model") != PROGRAM_KIND:
                raise ValueError(f"not a loop-filter program (header model is not {PROGRAM_KIND!r})")
            return program_from_tensors({name: f.get_tensor(name) for name in f.keys()})
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"cannot use loop-filter weights {path}: {' '.join(str(exc).split())}") from None


#: What the card keeps of each training run's own card.
RUN_FIELDS = ("command", "data", "steps", "wall_seconds", "hardware", "config", "torch", "codeclab")


def training_record(run_card: dict, depth: int = 0) -> dict:
    """The run's record, and under ``"init"`` the record of the run it started from (``--init``:
    the float run before quantisation-aware fine-tuning), as far back as the cards exist."""
    record = {k: run_card.get(k) for k in RUN_FIELDS}
    init = (run_card.get("config") or {}).get("init")
    init_card = Path(init).with_suffix(".json") if init else None
    if init_card is not None and init_card.is_file() and depth < 8:
        record["init"] = training_record(json.loads(init_card.read_text()), depth + 1)
    return record


def export(trained: str | os.PathLike, out: str | os.PathLike = DEFAULT_WEIGHTS) -> tuple[Path, Path]:
    """Turn the QAT run's exported float weights (``codeclab train`` output) into the shipped program."""
    from ..train.checkpoint import load_exported
    from .network import MODEL_NAME, integer_program, nnlf

    state, header = load_exported(trained)
    if header.get("codeclab.model") != MODEL_NAME:
        raise InputError(f"{trained} holds model {header.get('codeclab.model')!r}, not {MODEL_NAME!r}")
    args = json.loads(header.get("codeclab.model_args", "{}"))
    model = nnlf(**args)
    model.load_state_dict(state)
    try:
        program = integer_program(model)
    except ValueError as exc:
        raise InputError(f"{trained}: {exc}") from None
    trained_card_path = Path(trained).with_suffix(".json")
    trained_card = json.loads(trained_card_path.read_text()) if trained_card_path.is_file() else {}
    card = {"model": PROGRAM_KIND, "network": {"name": MODEL_NAME, "args": args},
            "exported_from": str(Path(trained).resolve()),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "training": training_record(trained_card)}
    return save_program(out, program, card)


def record_evaluation(weights: str | os.PathLike, summary: str | os.PathLike) -> Path:
    """Copy a ``codeclab bench --json`` summary (its results and BD-rates) into the card of ``weights``."""
    from ..io.files import read_bytes

    card_path = Path(weights).with_suffix(".json")
    try:
        card = json.loads(read_bytes(card_path, what="model card"))
        bench = json.loads(read_bytes(summary, what="bench summary"))
    except ValueError as exc:
        raise InputError(f"not JSON: {exc}") from None
    card["evaluation"] = {"bench_summary": str(Path(summary).resolve()), **bench}
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card_path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m codeclab.hybrid.weights", description=__doc__.splitlines()[0])
    parser.add_argument("trained", nargs="?", help="the QAT run's nnlf.safetensors (written by codeclab train)")
    parser.add_argument("--out", default=str(DEFAULT_WEIGHTS), help="program to write (default %(default)s)")
    parser.add_argument("--evaluation", metavar="BENCH.json",
                        help="instead: record this 'codeclab bench --json' summary in the card of --out")
    parser.add_argument("--force", action="store_true", help="replace an existing program at --out")
    args = parser.parse_args(argv)
    if (args.trained is None) == (args.evaluation is None):
        parser.error("give the trained weights, or --evaluation")
    try:
        if args.evaluation:
            print(f"recorded {args.evaluation} in {record_evaluation(args.out, args.evaluation)}")
            return 0
        if Path(args.out).with_suffix(".safetensors").exists() and not args.force:
            raise InputError(f"{Path(args.out).with_suffix('.safetensors')} exists (use --force to replace it)")
        path, card = export(args.trained, args.out)
    except CodecLabError as exc:
        print(f"codeclab: error: {exc}", file=sys.stderr)
        return 2
    facts = json.loads(card.read_text())
    print(f"wrote {path} and {card}: {facts['parameters']} parameters, "
          f"{facts['kmac_per_luma_sample']:.2f} kMAC per luma sample, fingerprint {facts['fingerprint_crc32']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
