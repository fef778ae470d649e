"""Turn a training checkpoint into shipped weights: safetensors + model card.

A run exports its weights when it reaches ``--steps``; this does the same for any
checkpoint along the way, so a long run can replace the package's weights whenever it
scores better (``codeclab export weights RUN --name checkerboard --dtype float16``).

Smaller storage: ``--dtype float16`` halves the file. The parameters are rounded to the
storage type *before* :meth:`update` builds the integer CDF tables, so the tables in the
file are exactly those the loaded (rounded) model would build; nothing the decoder
depends on is rounded after the fact.

The card records how the weights were made (command, data, steps, wall time, hardware,
precision) from the checkpoint; scores are added by ``--scores`` (e.g. Kodak BD-rates from
``codeclab bench``), so a card only ever states what was measured.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path

import torch

from codeclab.errors import CodecLabError, InputError
from codeclab.learned.registry import build_model
from codeclab.learned.weights import WEIGHTS_DIR, save_pretrained
from codeclab.train.checkpoint import latest_checkpoint, load_checkpoint

DTYPES = {"float32": torch.float32, "float16": torch.float16, "bfloat16": torch.bfloat16}


def checkpoint_of(run_or_file: str | Path) -> Path:
    """The newest checkpoint of a run folder, or the file itself."""
    path = Path(run_or_file)
    if path.is_dir():
        found = latest_checkpoint(path / "checkpoints") or latest_checkpoint(path)
        if found is None:
            raise InputError(f"no checkpoint in {path}")
        return found
    if not path.is_file():
        raise InputError(f"no such checkpoint or run folder: {path}")
    return path


def rounded_model(state: dict, dtype: torch.dtype) -> torch.nn.Module:
    """The checkpoint's model with its parameters rounded through ``dtype``, tables rebuilt."""
    config = state["config"]
    model = build_model(config["model"], **config.get("model_args", {}))
    model.load_state_dict(state["model"])
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.copy_(parameter.to(dtype).to(parameter.dtype))
    return model.eval()


def pictures_in(folders: str | list[str] | None) -> int | None:
    """How many pictures the training folders hold now (None when one is not on this machine)."""
    from codeclab.train.datasets import find_images

    folders = [folders] if isinstance(folders, str) else list(folders or [])
    if not folders or not all(Path(f).is_dir() for f in folders):
        return None
    try:
        return sum(len(find_images(f)) for f in folders)
    except CodecLabError:
        return None


def model_card(state: dict, checkpoint: Path, hardware: str, scores: dict | None) -> dict:
    """What the weights are and how they were made, from the checkpoint's own record."""
    config = state["config"]
    step = int(state["step"])
    world = int(state.get("world_size", 1))
    card = {"model": config["model"], "model_args": config.get("model_args", {}),
            "command": config.get("command", ""),
            "data": {"train": config.get("data"), "train_pictures": pictures_in(config.get("data")),
                     "val": config.get("val_data")},
            "steps": step, "pictures_seen": step * int(config["batch_size"]) * world,
            "crop": config.get("crop"), "lambda_range": config.get("lambda_range"),
            "wall_seconds": round(float(state.get("wall_seconds", 0.0)), 1),
            "hardware": hardware, "world_size": world, "precision": "float32",
            "checkpoint": checkpoint.name, "config": config, "torch": torch.__version__,
            "exported": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    if scores:
        card["scores"] = scores
    return card


def export_checkpoint(run_or_file: str | Path, name: str, *, dtype: torch.dtype = torch.float16,
                      out_dir: str | Path = WEIGHTS_DIR, hardware: str = "",
                      scores: dict | None = None) -> tuple[Path, Path]:
    """Write ``out_dir/name.safetensors`` and ``name.json`` from a checkpoint (module docstring)."""
    checkpoint = checkpoint_of(run_or_file)
    state = load_checkpoint(checkpoint)
    model = rounded_model(state, dtype)
    card = model_card(state, checkpoint, hardware, scores)
    return save_pretrained(model, Path(out_dir) / f"{name}.safetensors", card, dtype=dtype)


def run(args) -> int:
    """``codeclab export weights``: a checkpoint of a run as shipped weights with their card."""
    out = Path(args.out) if args.out else WEIGHTS_DIR
    target = out / f"{args.name}.safetensors"
    if target.exists() and not args.force:
        raise InputError(f"{target} exists (use --force to replace it)")
    scores = None
    if args.scores:
        try:
            scores = json.loads(Path(args.scores).read_text())
        except (OSError, ValueError) as error:
            raise InputError(f"cannot read scores {args.scores}: {error}") from None
    weights, card = export_checkpoint(args.run, args.name, dtype=DTYPES[args.dtype], out_dir=out,
                                      hardware=args.hardware, scores=scores)
    print(f"wrote {weights} ({weights.stat().st_size / 1e6:.1f} MB) and {card}")
    return 0
