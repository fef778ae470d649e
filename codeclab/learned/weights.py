"""Trained weights: a safetensors file and a JSON model card per model, never a pickle.

The package ships its weights as ``codeclab/data/weights/<name>.safetensors`` beside
``<name>.json``, the model card (how they were trained and what they score, in the manner
of torchvision's weights metadata). safetensors holds only named tensors and a string
header, so loading a file cannot run code, unlike ``torch.load`` of a pickle. The header
names the model (``codeclab.model``, ``codeclab.model_args``: the registry name and the
builder's arguments) so a weights file rebuilds its own model, the format
:func:`codeclab.train.checkpoint.export_weights` writes too.

The files hold the integer CDF tables of the factorized priors (made by ``update()`` from
the trained densities in float64): a decoder uses the encoder's tables and never recomputes
them. A *weights fingerprint*, the CRC-32 of every tensor, goes into each bitstream, so a
file coded with other weights is refused instead of decoded into noise.

Shipping a training run's weights (float16 parameters by default, to fit the package's
budget), then recording what they score (the summary ``codeclab bench --json`` writes)::

    python -m codeclab.learned.weights RUN/checkerboard.safetensors [--name NAME] [--dtype float16] [--force]
    python -m codeclab.learned.weights --evaluation BENCH_SUMMARY.json --name checkerboard

A later run trains on from shipped weights with ``codeclab train --init
codeclab/data/weights/NAME.safetensors`` (the card records the chain).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import zlib
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import torch
from torch import nn

from ..errors import CodecLabError, InputError, UnsupportedError
from ..io.files import atomic_write
from .registry import build_model

#: Where the package's own weights live.
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data" / "weights"


def weights_path(name_or_path: str | os.PathLike) -> Path:
    """The ``.safetensors`` file of a registered model name, or the path itself."""
    text = str(name_or_path)
    if text.endswith(".safetensors") or os.sep in text or "/" in text:
        return Path(text)
    return WEIGHTS_DIR / f"{text}.safetensors"


def has_pretrained(name: str) -> bool:
    return weights_path(name).is_file()


def save_pretrained(model: nn.Module, path: str | os.PathLike, card: dict,
                    dtype: torch.dtype | None = None) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and ``path`` with suffix .json (the card).

    ``card`` must name the model: ``{"model": registry name, "model_args": {...}, ...}``.
    ``dtype`` (e.g. ``torch.float16``) stores the parameters smaller; buffers (tables,
    medians) keep their exact type. Builds the integer tables first (``model.update()``).
    """
    from safetensors.torch import save

    if "model" not in card:
        raise ValueError("the model card must name the model ('model': registry name)")
    if callable(getattr(model, "update", None)):
        model.update()
    parameters = {name for name, _ in model.named_parameters()}
    tensors = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().to("cpu", copy=True).contiguous()
        if dtype is not None and name in parameters and tensor.is_floating_point():
            tensor = tensor.to(dtype)
        tensors[name] = tensor
    card = {**card, "model_args": card.get("model_args", {}), "storage_dtype": str(dtype or torch.float32)}
    header = {"format": "pt", "codeclab.model": str(card["model"]),
              "codeclab.model_args": json.dumps(card["model_args"], sort_keys=True)}
    path = Path(path).with_suffix(".safetensors")
    card_path = path.with_suffix(".json")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, save(tensors, metadata=header))
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path, card_path


def load_pretrained(name_or_path: str | os.PathLike, device: str | torch.device = "cpu") -> nn.Module:
    """The model stored at ``name_or_path`` (a registry name or a .safetensors path), in eval mode.

    Missing weights -> ``UnsupportedError``; an unreadable or mismatched file -> ``InputError``.
    """
    from safetensors import SafetensorError, safe_open

    path = weights_path(name_or_path)
    if not path.is_file():
        raise UnsupportedError(f"no trained weights for learned model {str(name_or_path)!r}: {path} is missing "
                               f"(train them with 'codeclab train' and place the .safetensors and .json there)")
    try:
        with safe_open(str(path), framework="pt") as f:
            header = dict(f.metadata() or {})
            state = {name: f.get_tensor(name) for name in f.keys()}
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"cannot read weights {path}: {' '.join(str(exc).split())}") from None
    if "codeclab.model" not in header:
        raise InputError(f"weights {path} do not name their model (no 'codeclab.model' in the header)")
    args = json.loads(header.get("codeclab.model_args", "{}"))
    model = build_model(header["codeclab.model"], **args)
    reference = model.state_dict()
    state = {k: v.to(reference[k].dtype) if k in reference and v.is_floating_point() else v
             for k, v in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"weights {path} do not fit model {header['codeclab.model']!r}: "
                         f"{' '.join(str(exc).split())[:300]}") from None
    model = model.to(device).eval()
    bottlenecks = [m for m in model.modules() if hasattr(m, "cdf_freqs")]
    if any(not m.cdf_freqs.numel() for m in bottlenecks):
        model.update()  # exported without tables: build them here (the stream's table CRC guards)
    return model


def weights_fingerprint(model: nn.Module) -> int:
    """CRC-32 of the model's state (names, shapes and little-endian bytes, sorted by name)."""
    crc = 0
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        crc = zlib.crc32(f"{name}:{array.dtype.str}:{array.shape}".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes(), crc)
    return crc


#: Storage types ``export`` offers for the parameters.
STORAGE_DTYPES = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": torch.float32}


def export(trained: str | os.PathLike, name: str | None = None, dtype: torch.dtype = torch.float16,
           folder: str | os.PathLike = WEIGHTS_DIR, force: bool = False) -> tuple[Path, Path]:
    """Ship the weights a ``codeclab train`` run exported: ``folder/<name>.safetensors`` (name:
    the model's registry name) and its card with the run's training record."""
    from ..train.checkpoint import load_exported, training_record

    state, header = load_exported(trained)
    if "codeclab.model" not in header:
        raise InputError(f"weights {trained} do not name their model (no 'codeclab.model' in the header)")
    model_name, args = header["codeclab.model"], json.loads(header.get("codeclab.model_args", "{}"))
    model = build_model(model_name, **args)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"weights {trained} do not fit model {model_name!r}: {' '.join(str(exc).split())[:300]}") from None
    out = Path(folder) / f"{name or model_name}.safetensors"
    if out.exists() and not force:
        raise InputError(f"{out} exists (use --force to replace it)")
    run_card_path = Path(trained).with_suffix(".json")
    run_card = json.loads(run_card_path.read_text()) if run_card_path.is_file() else {}
    card = {"model": model_name, "model_args": args, "exported_from": str(Path(trained).resolve()),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "training": training_record(run_card), "validation": run_card.get("validation")}
    return save_pretrained(model, out, card, dtype)


def main(argv: list[str] | None = None) -> int:
    from ..train.checkpoint import record_evaluation

    parser = argparse.ArgumentParser(prog="python -m codeclab.learned.weights",
                                     description="Ship a training run's weights in the package, or record their scores.")
    parser.add_argument("trained", nargs="?", help="the run's <model>.safetensors (written by codeclab train)")
    parser.add_argument("--name", help="shipped name (default: the model's registry name)")
    parser.add_argument("--dtype", choices=sorted(STORAGE_DTYPES), default="float16",
                        help="storage type of the parameters (default %(default)s)")
    parser.add_argument("--folder", default=str(WEIGHTS_DIR), help="where shipped weights live (default: the package)")
    parser.add_argument("--evaluation", metavar="BENCH.json",
                        help="instead: record this 'codeclab bench --json' summary in the card of --name")
    parser.add_argument("--force", action="store_true", help="replace shipped weights of the same name")
    args = parser.parse_args(argv)
    if (args.trained is None) == (args.evaluation is None):
        parser.error("give the trained weights, or --evaluation")
    try:
        if args.evaluation:
            if not args.name:
                raise InputError("--evaluation needs --name (the shipped weights it scores)")
            print(f"recorded {args.evaluation} in {record_evaluation(Path(args.folder) / args.name, args.evaluation)}")
            return 0
        path, card = export(args.trained, args.name, STORAGE_DTYPES[args.dtype], args.folder, args.force)
    except CodecLabError as exc:
        print(f"codeclab: error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB) and {card}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
