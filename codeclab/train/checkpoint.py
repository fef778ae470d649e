"""Checkpoints that survive a kill at any instant, and the export of finished weights.

Saving: ``torch.save`` writes to a temporary file in the checkpoint folder, which is
flushed to the disk (``fsync``) and renamed over the final name (``os.replace``, atomic on
POSIX and Windows); the folder itself is then synced so the rename is durable too. A run
killed mid-save therefore leaves the previous checkpoints intact plus at most one
``.step_*.tmp`` file, which is never read and is removed by the next run. The newest
``keep`` checkpoints are kept.

Loading uses ``torch.load(weights_only=True)``, which unpickles only tensors and plain
containers, never arbitrary objects (a checkpoint from elsewhere cannot run code). So a
checkpoint holds only such things: the model's and optimizer's state dicts, the step,
the accumulated training time, and the run's configuration as a dict of primitives.

Export: the final weights go to a ``.safetensors`` file (a flat, non-executable tensor
format) with a JSON model card beside it: how they were made (command, data, steps, wall
time, hardware) and what they score, in the manner of torchvision's weights metadata.
"""

from __future__ import annotations

import json
import os
import pickle
import platform
import re
import tempfile
import zipfile
from pathlib import Path

import torch

from codeclab.errors import InputError
from codeclab.io.files import atomic_write

_CHECKPOINT_NAME = re.compile(r"^step_(\d{8,})\.pt$")
_TEMP_PREFIX, _TEMP_SUFFIX = ".step_", ".tmp"


def checkpoint_path(folder: str | os.PathLike, step: int) -> Path:
    """``folder/step_00001234.pt``: zero-padded, so names sort by step."""
    return Path(folder) / f"step_{step:08d}.pt"


def list_checkpoints(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of every complete checkpoint in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = ((_CHECKPOINT_NAME.match(p.name), p) for p in folder.iterdir())
    return sorted((int(m.group(1)), p) for m, p in found if m and p.is_file())


def latest_checkpoint(folder: str | os.PathLike) -> Path | None:
    """The checkpoint of the highest step in ``folder``, or None."""
    checkpoints = list_checkpoints(folder)
    return checkpoints[-1][1] if checkpoints else None


def _fsync_folder(folder: Path) -> None:
    """Make a rename inside ``folder`` durable (POSIX; Windows cannot open folders)."""
    if os.name == "posix":
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _plain_file_mode() -> int:
    """The permissions ``open(path, "w")`` would give (0o666 less the umask; mkstemp gives 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def save_checkpoint(folder: str | os.PathLike, step: int, state: dict, keep: int = 3) -> Path:
    """Write ``state`` as the checkpoint of ``step``, atomically; keep the newest ``keep``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    final = checkpoint_path(folder, step)
    fd, temp = tempfile.mkstemp(prefix=f"{_TEMP_PREFIX}{step:08d}.", suffix=_TEMP_SUFFIX, dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, _plain_file_mode())
        os.replace(temp, final)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise
    _fsync_folder(folder)
    for _, old in list_checkpoints(folder)[:-keep] if keep > 0 else []:
        old.unlink(missing_ok=True)
    return final


def remove_stale_temporaries(folder: str | os.PathLike) -> list[Path]:
    """Delete the half-written ``.step_*.tmp`` files a killed run left; return their paths.

    Call it only while no other process writes into ``folder`` (at the start of a run).
    """
    folder = Path(folder)
    stale = sorted(folder.glob(f"{_TEMP_PREFIX}*{_TEMP_SUFFIX}")) if folder.is_dir() else []
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """A checkpoint's state, loaded with ``weights_only=True``; a damaged file -> ``InputError``."""
    path = Path(path)
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except FileNotFoundError:
        raise InputError(f"checkpoint {path} does not exist") from None
    except (RuntimeError, EOFError, OSError, pickle.UnpicklingError, zipfile.BadZipFile) as exc:
        reason = " ".join(str(exc).split())[:200]
        raise InputError(f"checkpoint {path} is damaged or not a CodecLab checkpoint: {reason}") from None
    if not isinstance(state, dict) or not {"model", "step", "config"} <= state.keys():
        raise InputError(f"checkpoint {path} is not a CodecLab training checkpoint")
    return state


def hardware_description(device: torch.device, world_size: int) -> str:
    """One line naming the machine that trained, e.g. ``2 x NVIDIA H100 (CUDA 12.4)``."""
    if device.type == "cuda":
        name = f"{torch.cuda.get_device_name(device)} (CUDA {torch.version.cuda})"
    else:
        name = f"CPU {platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    return f"{world_size} x {name}" if world_size > 1 else name


def export_weights(state_dict: dict[str, torch.Tensor], path: str | os.PathLike, card: dict) -> tuple[Path, Path]:
    """Write ``path`` (.safetensors) and its model card ``path`` with suffix ``.json``.

    ``card`` is any JSON-serialisable dict; its ``model`` and ``model_args`` entries are
    also stored in the safetensors header, so the weights file names its own model.
    """
    from safetensors.torch import save

    path = Path(path)
    # Own, contiguous CPU copies: safetensors refuses tensors that share storage.
    tensors = {name: t.detach().to("cpu", copy=True).contiguous() for name, t in state_dict.items()}
    header = {"format": "pt", "codeclab.model": str(card.get("model", "")),
              "codeclab.model_args": json.dumps(card.get("model_args", {}), sort_keys=True)}
    card_path = path.with_suffix(".json")
    atomic_write(path, save(tensors, metadata=header))
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path, card_path


def load_exported(path: str | os.PathLike) -> tuple[dict[str, torch.Tensor], dict[str, str]]:
    """``(state_dict, header)`` of an exported ``.safetensors`` file."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            return {name: f.get_tensor(name) for name in f.keys()}, dict(f.metadata() or {})
    except (OSError, ValueError, RuntimeError, SafetensorError) as exc:
        raise InputError(f"cannot read weights {path}: {' '.join(str(exc).split())}") from None
