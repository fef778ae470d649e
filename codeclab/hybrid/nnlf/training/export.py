"""From a QAT training run to the shipped loop-filter program, and back to float weights.

``codeclab export nnlf RUN/nnlf.safetensors`` writes the integer
program and its model card (:func:`export`); ``--float`` turns a program back into float
weights for ``codeclab train --init``.
"""

from __future__ import annotations

import json
import os
from datetime import datetime, timezone
from pathlib import Path

import torch

from codeclab.errors import InputError
from codeclab.hybrid.nnlf.integer import INPUT_FRAC, OUTPUT_FRAC, Program, check_bound, is_int8
from codeclab.hybrid.nnlf.weights import DEFAULT_WEIGHTS, PROGRAM_KIND, load_program, program_facts, program_tensors
from codeclab.io.files import atomic_write
from codeclab.learned.program_file import save_program_file


def save_program(path: str | os.PathLike, program: Program, card: dict) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and its card (.json); the card gains cost and fingerprint."""
    for layers in program.branches().values():
        check_bound(layers)
    return save_program_file(path, program_tensors(program), PROGRAM_KIND, {**card, **program_facts(program)})


#: What the card keeps of each training run's own card.
RUN_FIELDS = ("command", "data", "steps", "wall_seconds", "hardware", "config", "torch", "codeclab")


def training_record(run_card: dict, depth: int = 0) -> dict:
    """The run's record, and under ``"init"`` the record of what it started from (``--init``:
    the float run before quantisation-aware fine-tuning, or a program turned back into float
    weights by ``--to-float``), as far back as the cards exist."""
    if "converted_from" in run_card:  # the float form of a program: that program's own record
        return {"weights": run_card["converted_from"], "training": run_card.get("training")}
    record = {k: run_card.get(k) for k in RUN_FIELDS}
    init = (run_card.get("config") or {}).get("init")
    init_card = Path(init).with_suffix(".json") if init else None
    if init_card is not None and init_card.is_file() and depth < 8:
        record["init"] = training_record(json.loads(init_card.read_text()), depth + 1)
    return record


def export(trained: str | os.PathLike, out: str | os.PathLike = DEFAULT_WEIGHTS) -> tuple[Path, Path]:
    """Turn the QAT run's exported float weights (``codeclab train`` output) into the shipped program."""
    from codeclab.hybrid.nnlf.training.network import MODEL_NAME, integer_program, nnlf
    from codeclab.train.checkpoint import load_exported

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


def read_json(path: str | os.PathLike, what: str) -> dict:
    """A JSON file as a dict; ``InputError`` naming ``what`` when it is missing or not JSON."""
    from codeclab.io.files import read_bytes

    try:
        value = json.loads(read_bytes(path, what=what))
    except ValueError as exc:
        raise InputError(f"{what} {path} is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InputError(f"{what} {path} is not a JSON object")
    return value


def record_evaluation(weights: str | os.PathLike, summary: str | os.PathLike | None = None,
                      timing: str | os.PathLike | None = None) -> Path:
    """Record in the card of ``weights`` what they score: a ``codeclab bench --json`` summary
    (results and BD-rates) and/or a ``benchmarks/hybrid_filter.py --json`` timing (the
    machine and the decode-time medians, under ``decode_timing``); each keeps the other."""
    card_path = Path(weights).with_suffix(".json")
    card = read_json(card_path, "model card")
    evaluation = card.get("evaluation") or {}
    if summary is not None:
        kept = {"decode_timing": evaluation["decode_timing"]} if "decode_timing" in evaluation else {}
        evaluation = {"bench_summary": str(Path(summary).resolve()), **read_json(summary, "bench summary"), **kept}
    if timing is not None:
        measured = read_json(timing, "decode timing")
        evaluation["decode_timing"] = {"timing_json": str(Path(timing).resolve()), "machine": measured.get("machine"),
                                       **(measured.get("summary") or {})}
    card["evaluation"] = evaluation
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return card_path


#: Fraction bits given to every hidden activation of a program turned back into a float network.
FLOAT_HIDDEN_FRAC = 8


def network_args(program: Program) -> dict:
    """The ``nnlf`` builder arguments of the network whose shape ``program`` has."""
    return {"luma_channels": program.luma[0].weight.shape[0], "luma_layers": len(program.luma),
            "chroma_channels": program.chroma[0].weight.shape[0], "chroma_layers": len(program.chroma),
            "chroma_guide": program.chroma_guided, "luma_half_res": program.luma_half_res,
            **({"int8": True} if all(is_int8(layers) for layers in program.branches().values()) else {})}


def float_network(program: Program, calibrated: bool = False):
    """The float :class:`~.network.LoopFilterNet` that computes ``program``.

    Layer ``l`` of the program holds ``W = w 2^f`` and ``B + 2^(s-1)`` with ``B = b 2^(f + F_in)``
    and ``s = f + F_in - F_out``, so ``w = W / 2^f`` and ``b = B / 2^(f + F_in)`` once the
    fraction bits ``F`` of the hidden activations are known. The program does not store them,
    and need not: ReLU is positively homogeneous, so any choice (``FLOAT_HIDDEN_FRAC`` here)
    gives the same function, up to the program's activation clip. With ``calibrated`` the
    network keeps those grids (its QAT forward and :func:`~.network.integer_program` give
    the program back); without, a QAT run calibrates afresh (for further float training).
    """
    from codeclab.hybrid.nnlf.training.network import nnlf

    model = nnlf(**network_args(program), qat=calibrated)
    for branch, layers in program.branches().items():
        stack = getattr(model, branch)
        fracs = [INPUT_FRAC] + [FLOAT_HIDDEN_FRAC] * (len(layers) - 1) + [OUTPUT_FRAC]
        with torch.no_grad():
            for i, (layer, conv) in enumerate(zip(layers, stack.convs)):
                exponent = layer.shift.to(torch.float64) - fracs[i] + fracs[i + 1]  # per channel
                conv.weight.copy_(layer.weight.to(torch.float64) * 2.0 ** -exponent[:, None, None, None])
                offset = 2.0 ** (layer.shift.to(torch.float64) - 1)
                conv.bias.copy_((layer.bias.to(torch.float64) - offset) * 2.0 ** -(exponent + fracs[i]))
            stack.act_frac.fill_(FLOAT_HIDDEN_FRAC if calibrated else -1)
    return model


def write_float(program: Program, out: str | os.PathLike, source: str | os.PathLike) -> tuple[Path, Path]:
    """Write the float form of ``program`` as ``codeclab train`` exports weights (an ``--init``)."""
    from codeclab.hybrid.nnlf.training.network import MODEL_NAME
    from codeclab.train.checkpoint import export_weights

    card = {"model": MODEL_NAME, "model_args": network_args(program), "converted_from": str(Path(source).resolve()),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    source_card = Path(source).with_suffix(".json")
    if source_card.is_file():  # so the next run's card records how its starting point was trained
        card["training"] = json.loads(source_card.read_text()).get("training")
    return export_weights(float_network(program).state_dict(), out, card)


def run(args) -> int:
    """``codeclab export nnlf``: the QAT run's float weights as the shipped integer program,
    or scores recorded in its card, or the program back as float weights."""
    scores = args.evaluation is not None or args.timing is not None
    if (args.trained is not None) + scores + (args.to_float is not None) != 1:
        raise InputError("give the trained weights, or --evaluation and/or --timing, or --to-float")
    out = args.out or str(DEFAULT_WEIGHTS)
    if args.to_float:
        if Path(args.to_float).exists() and not args.force:
            raise InputError(f"{args.to_float} exists (use --force to replace it)")
        path, _ = write_float(load_program(out), args.to_float, out)
        print(f"wrote {path}: the float form of {out}")
        return 0
    if scores:
        card_path = record_evaluation(out, args.evaluation, args.timing)
        print(f"recorded {' and '.join(filter(None, (args.evaluation, args.timing)))} in {card_path}")
        return 0
    if Path(out).with_suffix(".safetensors").exists() and not args.force:
        raise InputError(f"{Path(out).with_suffix('.safetensors')} exists (use --force to replace it)")
    path, card = export(args.trained, out)
    facts = json.loads(card.read_text())
    print(f"wrote {path} and {card}: {facts['parameters']} parameters, "
          f"{facts['kmac_per_luma_sample']:.2f} kMAC per luma sample, fingerprint {facts['fingerprint_crc32']}")
    return 0
