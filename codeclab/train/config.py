"""What defines a training run: :class:`TrainConfig`, a frozen record of plain values.

Plain values (numbers, strings, lists, dicts) because the configuration travels inside
every checkpoint, which ``torch.load(weights_only=True)`` must be able to read back, and
into the model card as JSON. This module imports no torch, so the command line can build
its options (and their defaults, read from here) without loading PyTorch.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

METRICS = ("mse", "ms-ssim")
SCHEDULES = ("cosine", "step", "constant")
AMP_MODES = ("auto", "off", "bf16", "fp16")

#: Settings a resumed run must share with its checkpoint (others, like --steps, may change).
RESUME_MUST_MATCH = ("model", "model_args", "metric", "crop", "batch_size", "seed", "lmbda", "lambda_range")


@dataclass(frozen=True)
class TrainConfig:
    """Everything that defines a training run (plain values only: it is stored in checkpoints)."""

    model: str
    data: tuple[str, ...]          # training folders (a single str is taken as one folder)
    out: str
    steps: int
    model_args: dict = field(default_factory=dict)
    val_data: str | None = None
    val_crop: int | None = None
    batch_size: int = 8            # per process
    crop: int = 256
    scale_range: tuple[float, float] = (1.0, 1.0)  # crops downscaled by s ~ U(lo, hi) first
    lr: float = 1e-4
    schedule: str = "cosine"
    warmup: int = 0
    final_lr_ratio: float = 0.01   # cosine ends at lr * final_lr_ratio
    decay_at: tuple[float, ...] = (0.9,)  # step schedule: lr *= 0.1 at these fractions of the steps
    schedule_steps: int | None = None  # horizon of the schedule when it is not ``steps`` (relay)
    weight_decay: float = 0.0
    aux_lr: float = 1e-3
    lmbda: float | None = 0.0130   # CompressAI's quality 4 for MSE
    lambda_range: tuple[float, float] | None = None
    metric: str = "mse"
    clip: float = 1.0              # max gradient norm; 0 disables clipping
    ckpt_every: int = 1000
    keep_checkpoints: int = 3
    val_every: int = 1000
    log_every: int = 10
    seed: int = 0
    workers: int = 0
    cache_images: bool = True
    amp: str = "auto"
    device: str = "auto"
    tensorboard: bool = False
    progress: bool = True
    resume: bool = False
    init: str | None = None        # exported weights to start from (fine-tuning); a checkpoint wins
    init_step: int = 0             # the step count those weights already have (relay: from their card)
    deadline: float | None = None  # Unix time: checkpoint, export and stop at the first step after it
    candidate_every: float = 0.0   # seconds between float16 candidate exports to OUT/candidates (0: off)
    command: str = ""

    def __post_init__(self) -> None:
        data = (self.data,) if isinstance(self.data, str) else self.data
        object.__setattr__(self, "data", tuple(str(d) for d in data))

    @property
    def horizon(self) -> int:
        """The step the learning-rate schedule ends at."""
        return self.schedule_steps or self.steps

    def as_dict(self) -> dict:
        """The settings as a dict of primitives (tuples become lists), for checkpoints and cards."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()}
