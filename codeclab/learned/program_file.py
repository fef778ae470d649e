"""One file format for every exact integer program CodecLab ships: safetensors plus a card.

The neural loop filter, the network intra modes (and any later integer tool) are stored the
same way, beside the learned codecs' float weights::

    NAME.safetensors   the integer arrays; header metadata ``codeclab.model`` = the program kind
    NAME.json          its model card: how it was trained, what it costs, its fingerprint, scores

The kind in the header stops a loader from reading one tool's arrays as another's; each
tool checks the arrays' layout and bounds itself. Writes are atomic, so a crash never
leaves half a program where the codec looks for it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from codeclab.io.files import atomic_write

#: The header field naming what a weights file holds.
KIND_FIELD = "codeclab.model"


def save_program_file(path: str | os.PathLike, tensors: dict, kind: str, card: dict) -> tuple[Path, Path]:
    """Write ``tensors`` (all numpy arrays, or all torch tensors) to ``path`` (.safetensors)
    and ``card`` beside it (.json); returns both paths."""
    import numpy as np

    path = Path(path).with_suffix(".safetensors")
    path.parent.mkdir(parents=True, exist_ok=True)
    if all(isinstance(t, np.ndarray) for t in tensors.values()):
        from safetensors.numpy import save

        data = save(tensors, metadata={"format": "np", KIND_FIELD: kind})
    else:
        from safetensors.torch import save

        data = save(tensors, metadata={"format": "pt", KIND_FIELD: kind})
    atomic_write(path, data)
    card_path = path.with_suffix(".json")
    atomic_write(card_path, (json.dumps(card, indent=2, sort_keys=True) + "\n").encode())
    return path, card_path


def read_program_file(path: str | os.PathLike, kind: str, framework: str = "pt") -> dict:
    """The arrays of the program file at ``path`` (``framework`` "np" or "pt"); ``ValueError``
    when its header names another kind. I/O and format errors propagate to the tool, which
    knows how to name them."""
    from safetensors import safe_open

    with safe_open(str(path), framework=framework) as f:
        found = (f.metadata() or {}).get(KIND_FIELD)
        if found != kind:
            raise ValueError(f"not a {kind} program (its header says {found!r})")
        return {name: f.get_tensor(name) for name in f.keys()}
