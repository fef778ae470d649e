"""Learned starting networks for the overfitted codec: the encoder's prior, fitted on training pictures.

An encode optimises the latents *and* the networks (ARM, upsampling, synthesis) of one
picture, and at the fast preset's few hundred steps random networks are far from converged:
much of the budget goes to learning what any picture needs (an upsampling, a synthesis from
latents to RGB, a context model), little of it to this picture. Networks that already know
that free the steps for the picture; starting from the networks another picture's encode
had ended with already saves rate at equal time (the prior's card and the note of the issue
that added this module give the runs). So the package ships starting networks, one set per
quality, fitted once on training pictures::

    training pictures ──16 random crops, 192 x 192, downscaled 0.5-1──► a 768 x 768 mosaic
    mosaic ──:func:`.encoder.optimise` at lambda(q)──► networks shared by all 16 crops
                                                       = the prior of quality q

    encode at quality q:  networks <- prior of the nearest fitted lambda, latents <- 0,
                          then the usual optimisation (no random starts needed)

The prior lives on the encoder side only: the stream still carries the picture's own
quantised networks, so decoders and old streams are unaffected, and an encoder without the
file (or with another architecture) falls back to random starts.

``codeclab fit-prior`` fits it (:mod:`codeclab.train.overfit_prior`).
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

from codeclab.errors import InputError
from codeclab.learned.overfit.architecture import Architecture
from codeclab.learned.weights import WEIGHTS_DIR

if TYPE_CHECKING:
    from torch import Tensor

#: The shipped prior and its card.
PRIOR_PATH = WEIGHTS_DIR / "overfit_prior.safetensors"

def has_prior(architecture: Architecture, path: Path = PRIOR_PATH) -> bool:
    """Whether ``path`` holds a prior for ``architecture`` (reads only its card)."""
    try:
        return json.loads(path.with_suffix(".json").read_text())["architecture"] == vars(architecture)
    except (OSError, ValueError, KeyError):
        return False


def load_prior(lmbda: float, architecture: Architecture, path: Path = PRIOR_PATH) -> dict[str, Tensor] | None:
    """The prior networks of the fitted lambda nearest ``lmbda`` (in log), or None where there
    is no prior file or it was fitted for another architecture."""
    if not path.is_file():
        return None
    from safetensors import SafetensorError, safe_open

    try:
        card = json.loads(path.with_suffix(".json").read_text())
        if card["architecture"] != vars(architecture):
            return None
        nearest = min(zip(card["qualities"], card["lambdas"]), key=lambda ql: abs(math.log(ql[1] / lmbda)))[0]
        prefix = f"q{nearest:g}/"
        with safe_open(str(path), framework="pt") as f:
            nets = {k[len(prefix):]: f.get_tensor(k) for k in f.keys() if k.startswith(prefix)}
    except (OSError, ValueError, KeyError, SafetensorError) as exc:
        raise InputError(f"cannot read the overfit prior {path}: {' '.join(str(exc).split())}") from None
    if set(nets) != set(architecture.parameter_shapes()) or any(
            tuple(nets[k].shape) != s for k, s in architecture.parameter_shapes().items()):
        return None
    return nets
