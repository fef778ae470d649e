"""The relay's run: its fixed settings, and the shipped weights that carry it between machines.

See :mod:`.relay` for how a stretch of work continues the run, and :mod:`.candidates` for
how its candidates are scored and shipped.
"""

from __future__ import annotations

import json
from pathlib import Path

#: The flagship's run. Sizes for RD per CPU-hour: N = 96 inner and M = 128 latent channels
#: train ~1.7x faster than CompressAI's 128/192; 128-pixel crops of pictures downscaled by
#: 0.5..1 (more content per pixel); one variable-rate model over CompressAI's lambdas of
#: quality 1..8 (gain units); AdamW at 2x CompressAI's 1e-4 after a 1000-step warmup.
PLAN: dict = {
    "model": "checkerboard",
    "model_args": {"N": 96, "M": 128},
    "crop": 128,
    "scale_range": (0.5, 1.0),
    "batch_size": 8,
    "lr": 2e-4,
    "warmup": 1000,
    "schedule": "cosine",
    "schedule_steps": 400_000,
    "final_lr_ratio": 0.05,
    "lambda_range": (0.0018, 0.18),
    "lmbda": None,
    "metric": "mse",
    "clip": 1.0,
    "seed": 0,
    "ckpt_every": 250,
    "keep_checkpoints": 2,
    "val_every": 2000,
    "val_crop": 256,
    "log_every": 50,
}

#: Where the shared data sets sit beside a checkout (``../shared/data``).
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"

#: Training folders of the plan, inside ``SHARED_DATA`` (never ``kodak``: it is for evaluation).
TRAINING_FOLDERS = ("train", "train-extra")

#: The folder of the relay's local run (checkpoints, candidates, logs).
DEFAULT_RUN = Path("runs") / "relay"

#: Seconds between candidates.
CANDIDATE_EVERY = 20 * 60


#: The package's weights folder (:data:`codeclab.learned.weights.WEIGHTS_DIR`, without importing torch).
WEIGHTS_DIR = Path(__file__).resolve().parents[1] / "data" / "weights"


def shipped_weights() -> Path:
    return WEIGHTS_DIR / f"{PLAN['model']}.safetensors"


def shipped_card(path: Path | None = None) -> dict | None:
    """The card of the shipped flagship weights, or None when none are shipped."""
    card = (path or shipped_weights()).with_suffix(".json")
    try:
        return json.loads(card.read_text())
    except (OSError, ValueError):
        return None


def continues_plan(card: dict | None, plan: dict = PLAN) -> bool:
    """Whether weights with this card come from the plan's run (same model and sizes)."""
    return bool(card) and card.get("model") == plan["model"] and card.get("model_args") == plan["model_args"]
