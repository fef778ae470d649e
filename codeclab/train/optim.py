"""What the training loop optimises with: the learning-rate schedule, the lambdas it trains
and validates at, mixed precision and AdamW's parameter groups.

::

    lr(step)    linear warm-up, then cosine / step / constant (:func:`learning_rate`)
    lambda      the fixed one, or log-uniform in ``lambda_range`` per sample (variable rate)
    decay       weight decay on the weights of convolutions and linear layers only
"""

from __future__ import annotations

import math

import torch
from torch import nn

from codeclab.errors import InputError
from codeclab.train import seeding
from codeclab.train.config import TrainConfig


def learning_rate(step: int, config: TrainConfig) -> float:
    """The learning rate of ``step`` (0-based)::

        warmup:    lr * (step + 1) / warmup                              for step < warmup
        cosine:    lr * (r + (1 - r) * (1 + cos(pi * t)) / 2),  t = (step - warmup) / (T - warmup)
        step:      lr * 0.1 ** (number of decay_at fractions f with step >= f * T)
        constant:  lr

    with ``T`` the schedule's horizon: ``schedule_steps`` when set (a relay stops many times
    before it), else ``steps``. (Loshchilov and Hutter, "SGDR", ICLR 2017, for the cosine;
    ``r = final_lr_ratio``.)
    """
    if step < config.warmup:
        return config.lr * (step + 1) / config.warmup
    if config.schedule == "cosine":
        t = min(1.0, (step - config.warmup) / max(1, config.horizon - config.warmup))
        r = config.final_lr_ratio
        return config.lr * (r + (1 - r) * 0.5 * (1 + math.cos(math.pi * t)))
    if config.schedule == "step":
        return config.lr * 0.1 ** sum(step >= f * config.horizon for f in config.decay_at)
    return config.lr


def training_lambdas(config: TrainConfig, step: int, rank: int) -> torch.Tensor:
    """(batch_size,) lambdas of a step: the fixed one, or ``exp(U(log low, log high))`` each."""
    if config.lambda_range is None:
        return torch.full((config.batch_size,), config.lmbda)
    low, high = (math.log(v) for v in config.lambda_range)
    u = torch.rand(config.batch_size, generator=seeding.generator(config.seed, seeding.LAMBDA, rank, step),
                   dtype=torch.float64)
    return torch.exp(low + (high - low) * u).float()


def validation_lambdas(config: TrainConfig) -> list[float]:
    """The lambdas validated: the fixed one, or the range's ends and its geometric mean."""
    if config.lambda_range is None:
        return [config.lmbda]
    low, high = config.lambda_range
    return [low, math.sqrt(low * high), high]


def autocast_dtype(amp: str, device: torch.device) -> torch.dtype | None:
    """Mixed precision: bf16 (or fp16 where bf16 is missing) on a GPU by default, none on CPU."""
    if amp == "off":
        return None
    if device.type != "cuda":
        if amp == "auto":
            return None
        raise InputError(f"--amp {amp} needs a CUDA device; training on CPU runs in float32")
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


def aux_parameters(model: nn.Module) -> list[nn.Parameter]:
    """Parameters trained only by ``model.aux_loss()`` (none when the model has no aux loss)."""
    if not callable(getattr(model, "aux_loss", None)):
        return []
    if callable(getattr(model, "aux_parameters", None)):
        return list(model.aux_parameters())
    return [p for name, p in model.named_parameters() if name.endswith("quantiles")]


_DECAYED_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.ConvTranspose1d, nn.ConvTranspose2d,
                   nn.ConvTranspose3d)


def parameter_groups(model: nn.Module, weight_decay: float, exclude: list[nn.Parameter]) -> list[dict]:
    """AdamW groups: weight decay on convolution and linear weights only, as in nanoGPT
    (decaying biases, GDN parameters or entropy-model densities would distort them)."""
    excluded = {id(p) for p in exclude}
    decayed = {id(m.weight) for m in model.modules() if isinstance(m, _DECAYED_LAYERS)}
    trained = [p for p in model.parameters() if p.requires_grad and id(p) not in excluded]
    groups = [{"params": [p for p in trained if id(p) in decayed], "weight_decay": weight_decay},
              {"params": [p for p in trained if id(p) not in decayed], "weight_decay": 0.0}]
    return [g for g in groups if g["params"]]
