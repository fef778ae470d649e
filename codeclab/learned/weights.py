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
"""

from __future__ import annotations

import json
import os
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from codeclab.errors import InputError, UnsupportedError
from codeclab.io.files import atomic_write

if TYPE_CHECKING:  # has_pretrained answers without torch (``codeclab codecs`` asks it)
    import torch
    from torch import nn

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
    import torch
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

    from codeclab.learned.registry import build_model

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
    import numpy as np

    crc = 0
    for name, tensor in sorted(model.state_dict().items()):
        array = tensor.detach().cpu().contiguous().numpy()
        crc = zlib.crc32(f"{name}:{array.dtype.str}:{array.shape}".encode(), crc)
        crc = zlib.crc32(np.ascontiguousarray(array, dtype=array.dtype.newbyteorder("<")).tobytes(), crc)
    return crc
