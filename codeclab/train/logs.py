"""What a training run records: a JSON-lines file always, TensorBoard when asked.

``OUT/metrics.jsonl`` holds one record per line, e.g.::

    {"step": 100, "kind": "train", "loss": 1.93, "bpp": 0.61, "mse": 0.0021, "psnr": 26.8, "lr": 0.0001}
    {"step": 1000, "kind": "val", "bpp_real": 0.52, "psnr": 29.1}

(training records also hold ``grad_norm``, and ``ms_ssim`` or ``aux_loss`` when they apply),
readable by any tool (``pandas.read_json(path, lines=True)``). With ``--tensorboard`` the
same scalars go to ``OUT/tensorboard`` as ``train/loss``, ``val/bpp_real`` and so on,
with reconstructions of the first validation pictures as images
(``torch.utils.tensorboard``; needs ``pip install tensorboard``).

A resumed run continues from its checkpoint's step, so records of later steps, written
by the run that was killed after that checkpoint, are dropped first (TensorBoard's
``purge_step`` does the same to its event files): the log then reads as one unbroken run.
Only rank 0 of a distributed run writes; the other ranks hold a disabled log.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from codeclab.errors import InputError
from codeclab.io.files import atomic_write


def require_tensorboard() -> None:
    """Fail early, with the fix, when TensorBoard logging is asked for but not installed."""
    try:
        import tensorboard  # noqa: F401
    except ImportError:
        raise InputError("--tensorboard needs the tensorboard package: pip install tensorboard") from None


def trim_records(path: Path, last_step: int) -> None:
    """Keep only the records of ``path`` up to ``last_step`` (rewritten atomically)."""
    if not path.exists():
        return
    kept = [line for line in path.read_text().splitlines()
            if line.strip() and json.loads(line).get("step", 0) <= last_step]
    atomic_write(path, "".join(line + "\n" for line in kept).encode())


class TrainingLog:
    """The metrics file and optional TensorBoard writer of one run (no-ops when disabled)."""

    def __init__(self, out: Path, start_step: int, *, tensorboard: bool, enabled: bool = True) -> None:
        self.enabled = enabled
        self.path = out / "metrics.jsonl"
        self.writer = None
        if not enabled:
            return
        trim_records(self.path, start_step)
        if tensorboard:
            require_tensorboard()
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(str(out / "tensorboard"), purge_step=start_step or None)

    def scalars(self, step: int, kind: str, values: dict[str, float]) -> None:
        """One record ``{"step", "kind", **values}``; TensorBoard tags ``kind/name``."""
        if not self.enabled:
            return
        with self.path.open("a") as f:
            f.write(json.dumps({"step": step, "kind": kind, **values}) + "\n")
        if self.writer is not None:
            for name, value in values.items():
                self.writer.add_scalar(f"{kind}/{name}", value, step)

    def image(self, step: int, tag: str, image: torch.Tensor) -> None:
        """A (3, H, W) uint8 picture to TensorBoard (the metrics file holds numbers only)."""
        if self.enabled and self.writer is not None:
            self.writer.add_image(tag, image, step)

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
