"""The training loop of learned codecs, to be read top to bottom (after nanoGPT's ``train.py``).

::

    for step in start .. steps - 1:
        lr  <- learning_rate(step)                     linear warmup, then cosine or step decay
        x   <- this rank's batch of random crops       fixed by (seed, step, rank): datasets, distributed
        lam <- the fixed lambda, or log-uniform per picture for a variable-rate model
        out <- model(x [, lmbda=lam])                  autocast bf16/fp16 on a GPU, float32 on CPU
        L   <- mean(lam * D + R)                       losses.rate_distortion_loss
        backward; clip the gradient norm; AdamW step   DDP averages the gradients over the ranks
        model.aux_loss() and its own optimizer         only for models that have one (CompressAI)
        every N steps: record, validate with real file sizes, checkpoint   (rank 0 writes)
    export the weights (safetensors) and their model card

What a model must offer (CompressAI's conventions):

* ``model(x)`` with ``x`` (N, 3, H, W) in [0, 1] returns ``{"x_hat": (N, 3, H, W),
  "likelihoods": {"y": ..., "z": ...}}``. Under autocast the model should compute its
  likelihoods in float32 (``torch.autocast(..., enabled=False)`` around the entropy model).

and what it may offer:

* ``variable_rate = True``: one model for many trade-offs; the loop then calls
  ``model(x, lmbda=lam)`` with ``lam`` an (N,) tensor, the lambda of each picture, drawn
  log-uniformly from ``lambda_range`` (the model maps it to its own conditioning: gain
  units, a quality index, ...), and validates at the range's two ends and its geometric mean.
* ``aux_loss()``: trained by a second AdamW over ``aux_parameters()`` (or, CompressAI's
  convention, the parameters named ``*quantiles``), as CompressAI's ``train.py`` does.
* ``size_multiple``: validation pads pictures to a multiple of it.
* ``compress``/``decompress`` (and ``update()``): real rates in validation (:mod:`.validation`).
* ``training_dataset(data, crop, seed)`` and ``training_loss(forward, batch)``: a model that is
  not a codec (a neural tool inside the classic codec, :mod:`codeclab.hybrid`) brings its own
  samples (a map ``k -> dict of tensors``, seeded like :mod:`.datasets`) and its own loss,
  ``training_loss(ddp_model, batch) -> {"loss", "mse", ...}``; lambdas and validation do not apply.

``--init WEIGHTS`` starts a run from exported weights instead of a fresh initialisation
(fine-tuning, e.g. quantisation-aware after float training); a checkpoint, when resuming, wins.

Resuming: a checkpoint holds the model, the optimizers, the gradient scaler and the step.
Nothing else is needed to continue exactly: the learning rate is a function of the step,
and every random draw (crops, flips, lambdas, quantization noise) is seeded from (seed,
step, rank) (:mod:`.seeding`), so on the same machine a run killed and resumed ends with
the very weights of an unbroken run.
"""

from __future__ import annotations

import hashlib
import json
import math
import sys
import time
from collections.abc import Callable
from contextlib import nullcontext
from datetime import datetime, timezone
from pathlib import Path

import torch
from torch import nn
from tqdm import tqdm

from codeclab import __version__
from codeclab.errors import CodecLabError, InputError
from codeclab.io.image import default_note
from codeclab.learned.registry import build_model
from codeclab.train import seeding
from codeclab.train.checkpoint import (export_weights, hardware_description, latest_checkpoint,
                                       load_checkpoint, load_exported, remove_stale_temporaries,
                                       save_checkpoint)
from codeclab.train.config import AMP_MODES, METRICS, RESUME_MUST_MATCH, SCHEDULES, TrainConfig
from codeclab.train.datasets import RandomCropDataset, load_validation_images, to_unit_float
from codeclab.train.distributed import (DistributedContext, StepBatchSampler, gather_strings,
                                        init_distributed, mean_over_ranks, shutdown, wrap_model)
from codeclab.train.logs import TrainingLog, require_tensorboard
from codeclab.train.losses import MS_SSIM_MIN_SIDE, rate_distortion_loss
from codeclab.train.optim import (autocast_dtype, aux_parameters, learning_rate, parameter_groups,
                                  training_lambdas, validation_lambdas)
from codeclab.train.validation import RateMeasure, validate


def check_config(config: TrainConfig) -> None:
    """Refuse settings that cannot train, with one line naming the setting."""
    positive = {"steps": config.steps, "batch_size": config.batch_size, "crop": config.crop,
                "ckpt_every": config.ckpt_every, "keep_checkpoints": config.keep_checkpoints,
                "val_every": config.val_every, "log_every": config.log_every}
    for name, value in positive.items():
        if value < 1:
            raise InputError(f"{name} must be at least 1, got {value}")
    if not (config.lr > 0 and config.aux_lr > 0):
        raise InputError(f"learning rates must be positive, got lr={config.lr}, aux_lr={config.aux_lr}")
    for name, value in {"warmup": config.warmup, "clip": config.clip, "weight_decay": config.weight_decay,
                        "workers": config.workers, "seed": config.seed, "init_step": config.init_step,
                        "candidate_every": config.candidate_every}.items():
        if value < 0:
            raise InputError(f"{name} must not be negative, got {value}")
    if not 0 <= config.final_lr_ratio <= 1 or not all(0 < f < 1 for f in config.decay_at):
        raise InputError("final_lr_ratio must lie in [0, 1] and decay_at fractions in (0, 1)")
    for name, value, choices in (("metric", config.metric, METRICS), ("schedule", config.schedule, SCHEDULES),
                                 ("amp", config.amp, AMP_MODES)):
        if value not in choices:
            raise InputError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    if (config.lmbda is None) == (config.lambda_range is None):
        raise InputError("give exactly one of --lambda and --lambda-range")
    if config.lmbda is not None and not config.lmbda > 0:
        raise InputError(f"lambda must be positive, got {config.lmbda}")
    if config.lambda_range is not None:
        low, high = config.lambda_range
        if not 0 < low < high:
            raise InputError(f"lambda range must satisfy 0 < low < high, got {low} {high}")
    if config.metric == "ms-ssim" and config.crop < MS_SSIM_MIN_SIDE:
        raise InputError(f"--metric ms-ssim needs --crop of at least {MS_SSIM_MIN_SIDE}, got {config.crop}")
    if config.init_step and not config.init:
        raise InputError("--init-step counts the steps of --init weights: give --init too")
    if config.init_step >= config.steps:
        raise InputError(f"--init weights are at step {config.init_step}: --steps must be beyond it, "
                         f"got {config.steps}")
    if config.tensorboard:
        require_tensorboard()


def state_sha256(model: nn.Module) -> str:
    """SHA-256 of a model's state (names and bytes): equal on every rank when DDP works."""
    digest = hashlib.sha256()
    for name, tensor in model.state_dict().items():
        digest.update(name.encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


def check_resumable(saved: dict, config: TrainConfig) -> None:
    """A checkpoint continues only the run it came from (same model, data stream and loss)."""
    now = config.as_dict()
    changed = [f"{k} {saved.get(k)!r} -> {now[k]!r}" for k in RESUME_MUST_MATCH if saved.get(k) != now[k]]
    if changed:
        raise InputError(f"cannot resume: the checkpoint was trained with other settings ({'; '.join(changed)})")


def load_initial_weights(model: nn.Module, path: str) -> None:
    """Start from the exported weights at ``path`` (``--init``); ``InputError`` if they do not fit."""
    state, _ = load_exported(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as exc:
        raise InputError(f"--init {path} does not fit the model: {' '.join(str(exc).split())[:300]}") from None


def initial_history(path: str | None) -> list[dict]:
    """The ``history`` of the model card beside ``--init`` weights (empty without one): the
    stretches of training those weights already had, which the new card continues."""
    if not path:
        return []
    card = Path(path).with_suffix(".json")
    try:
        history = json.loads(card.read_text()).get("history", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [dict(h) for h in history if isinstance(h, dict)] if isinstance(history, list) else []


def model_card(config: TrainConfig, *, step: int, start_step: int, wall_seconds: float, history: list[dict],
               hardware: str, precision: str, train_pictures: int, val_pictures: int, validation: dict,
               world_size: int) -> dict:
    """The model card of weights at ``step``: how they were made (this stretch of training
    appended to the ``history`` of earlier ones) and what validation measured."""
    stretch = {"from_step": start_step, "to_step": step, "wall_seconds": round(wall_seconds, 1),
               "pictures": (step - start_step) * config.batch_size * world_size,
               "hardware": hardware, "command": config.command,
               "ended": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    history = [*history, stretch] if step > start_step else list(history)
    return {"model": config.model, "model_args": config.model_args, "command": config.command,
            "data": {"train": [str(Path(d).resolve()) for d in config.data], "train_pictures": train_pictures,
                     "val": str(Path(config.val_data).resolve()) if config.val_data else None,
                     "val_pictures": val_pictures},
            "steps": step, "schedule_steps": config.horizon,
            "pictures_seen": sum(int(h.get("pictures", 0)) for h in history),
            "wall_seconds": round(sum(float(h.get("wall_seconds", 0)) for h in history), 1),
            "history": history, "hardware": hardware, "precision": precision, "validation": validation,
            "config": config.as_dict(), "torch": torch.__version__, "codeclab": __version__,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def export_candidate(model: nn.Module, folder: Path, card: dict) -> Path:
    """A float16 copy of ``model`` with its integer tables and ``card``, as
    ``folder/step_XXXXXXXX.safetensors``: what the relay scores and may ship."""
    import copy

    from codeclab.learned.weights import save_pretrained

    frozen = copy.deepcopy(model).cpu().eval()
    path, _ = save_pretrained(frozen, folder / f"step_{card['steps']:08d}.safetensors", card, dtype=torch.float16)
    return path


def _past(deadline: float, context: DistributedContext) -> bool:
    """Whether the wall clock passed ``deadline``, agreed by all ranks (so they stop together)."""
    late = time.time() >= deadline
    if context.world_size == 1:
        return late
    return bool(mean_over_ranks(torch.tensor([float(late)], device=context.device), context).item() > 0)


def _silent(message: str) -> None:
    """The note function of ranks other than 0."""


def train(config: TrainConfig, *, measure_real_rate: RateMeasure | None = None,
          note: Callable[[str], None] = default_note) -> dict:
    """Train as ``config`` says, in one process or as one rank of a torchrun job; return a summary.

    ``measure_real_rate(model, image, **conditioning) -> (num_bytes, x_hat)`` overrides how
    validation measures real rates (see :mod:`.validation`).
    """
    check_config(config)
    context = init_distributed(config.device)
    try:
        return _train(config, context, measure_real_rate, note if context.is_main else _silent)
    finally:
        shutdown()


def _train(config: TrainConfig, context: DistributedContext, measure_real_rate: RateMeasure | None,
           note: Callable[[str], None]) -> dict:
    device, main = context.device, context.is_main
    out = Path(config.out)
    checkpoints = out / "checkpoints"
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True  # fixed crop size: let cuDNN pick its fastest kernels
        torch.set_float32_matmul_precision("high")  # TF32 matrix products where float32 runs

    # -- model and optimizers, identical on every rank
    seeding.seed_global_rng(config.seed, seeding.INIT)
    model = build_model(config.model, **config.model_args).to(device)
    variable_rate = bool(getattr(model, "variable_rate", False))
    if config.lambda_range is not None and not variable_rate:
        raise InputError(f"model {config.model!r} has one rate (no variable_rate attribute): use --lambda")
    aux_params = aux_parameters(model)
    optimizer = torch.optim.AdamW(parameter_groups(model, config.weight_decay, aux_params), lr=config.lr)
    aux_optimizer = torch.optim.AdamW(aux_params, lr=config.aux_lr, weight_decay=0.0) if aux_params else None
    amp_dtype = autocast_dtype(config.amp, device)
    scaler = torch.amp.GradScaler(device.type, enabled=amp_dtype == torch.float16)
    trained_params = [p for group in optimizer.param_groups for p in group["params"]]

    # -- resume from the newest checkpoint, or start fresh in a folder without one
    start_step, wall_seconds, history, first_step = 0, 0.0, [], 0
    latest = latest_checkpoint(checkpoints)
    if latest is not None and not config.resume:
        raise InputError(f"{out} already holds checkpoints (newest {latest.name}): "
                         f"pass --resume to continue that run, or choose another --out")
    if latest is not None:
        state = load_checkpoint(latest, map_location=device)
        check_resumable(state["config"], config)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        if aux_optimizer is not None:
            aux_optimizer.load_state_dict(state["aux_optimizer"])
        if scaler.is_enabled() and state["scaler"]:
            scaler.load_state_dict(state["scaler"])
        start_step, wall_seconds = int(state["step"]), float(state["wall_seconds"])
        history, first_step = list(state.get("history", [])), int(state.get("first_step", 0))
        if state["world_size"] != context.world_size:
            note(f"checkpoint trained by {state['world_size']} processes, resumed by {context.world_size}: "
                 f"later batches differ from an unbroken run")
        note(f"resuming {latest} at step {start_step}")
    elif config.resume:
        note(f"no checkpoint in {checkpoints}: starting at step 0")
    if latest is None and config.init:
        load_initial_weights(model, config.init)
        start_step = first_step = config.init_step
        history = initial_history(config.init)
        note(f"starting from the weights {config.init}" + (f" at step {start_step}" if start_step else ""))

    # -- data: every rank reads everything, so a bad file fails on all ranks alike
    own_task = callable(getattr(model, "training_loss", None))  # a tool with its own samples and loss
    if own_task and config.val_data:
        raise InputError(f"model {config.model!r} trains with its own loss: --val-data does not apply")
    if own_task:
        if len(config.data) != 1:
            raise InputError(f"model {config.model!r} reads one folder of training pairs, got {len(config.data)}")
        dataset = model.training_dataset(config.data[0], config.crop, config.seed)
    else:
        dataset = RandomCropDataset(config.data, config.crop, config.seed, cache=config.cache_images,
                                    scale_range=config.scale_range, note=note)
    val_pictures = load_validation_images(config.val_data, config.val_crop, note) if config.val_data else []
    if config.metric == "ms-ssim" and any(min(p.shape[-2:]) < MS_SSIM_MIN_SIDE for _, p in val_pictures):
        raise InputError(f"--metric ms-ssim: validation pictures must be at least {MS_SSIM_MIN_SIDE} px a side")

    # -- the run folder (rank 0 writes)
    if main:
        checkpoints.mkdir(parents=True, exist_ok=True)
        for stale in remove_stale_temporaries(checkpoints):
            note(f"removed {stale.name}, a checkpoint left half-written by a killed run")
    log = TrainingLog(out, start_step, tensorboard=config.tensorboard, enabled=main)

    def training_state(step: int) -> dict:
        return {"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "aux_optimizer": aux_optimizer.state_dict() if aux_optimizer is not None else {},
                "scaler": scaler.state_dict(), "step": step,
                "wall_seconds": wall_seconds + time.perf_counter() - started,
                "history": history, "first_step": first_step,
                "world_size": context.world_size, "config": config.as_dict()}

    def run_validation(step: int) -> dict:
        results = {}
        lambdas = validation_lambdas(config)
        for lmbda in lambdas:
            conditioning = {"lmbda": torch.tensor([lmbda], device=device)} if variable_rate else {}
            values, shown = validate(model, val_pictures, conditioning, measure_real_rate=measure_real_rate,
                                     with_ms_ssim=config.metric == "ms-ssim")
            kind = "val" if len(lambdas) == 1 else f"val_lambda_{lmbda:.4g}"
            log.scalars(step, kind, values)
            for name, image in shown:
                log.image(step, f"{kind}/{name}", image)
            line = ", ".join(f"{k} {v:.4f}" for k, v in values.items())
            tqdm.write(f"step {step} {kind}: {line}", file=sys.stderr)
            results[kind] = values
        return results

    # -- the loop
    ddp_model = wrap_model(model, context, find_unused_parameters=aux_optimizer is not None)
    sampler = StepBatchSampler(start_step, config.steps, config.batch_size, context.rank, context.world_size)
    loader = torch.utils.data.DataLoader(dataset, batch_sampler=sampler, num_workers=config.workers,
                                         pin_memory=device.type == "cuda")
    autocast = torch.autocast(device.type, dtype=amp_dtype) if amp_dtype is not None else nullcontext()
    hardware = hardware_description(device, context.world_size)
    precision = str(amp_dtype).removeprefix("torch.") if amp_dtype else "float32"
    progress = tqdm(total=config.steps, initial=start_step, desc="train", unit="step", dynamic_ncols=True,
                    disable=not (main and config.progress))
    validation: dict = {}
    started = last_candidate = time.perf_counter()
    done = 0

    def card_at(step: int, scores: dict) -> dict:
        return model_card(config, step=step, start_step=first_step, history=history,
                          wall_seconds=wall_seconds + time.perf_counter() - started, hardware=hardware,
                          precision=precision, train_pictures=len(dataset.paths), val_pictures=len(val_pictures),
                          validation=scores, world_size=context.world_size)

    model.train()
    for step, crops in enumerate(loader, start=start_step):
        lr = learning_rate(step, config)
        for group in optimizer.param_groups:
            group["lr"] = lr
        seeding.seed_global_rng(config.seed, seeding.STEP, context.rank, step)
        if own_task:
            batch = {name: value.to(device, non_blocking=True) for name, value in crops.items()}
            with autocast:
                parts = model.training_loss(ddp_model, batch)
        else:
            x = to_unit_float(crops.to(device, non_blocking=True))
            lmbda = training_lambdas(config, step, context.rank).to(device)
            with autocast:
                output = ddp_model(x, lmbda=lmbda) if variable_rate else ddp_model(x)
            parts = rate_distortion_loss(output, x, lmbda, config.metric)
        optimizer.zero_grad(set_to_none=True)
        scaler.scale(parts["loss"]).backward()
        scaler.unscale_(optimizer)
        grad_norm = nn.utils.clip_grad_norm_(trained_params, config.clip if config.clip > 0 else math.inf)
        # The norm of the averaged gradient is the same on every rank, so all ranks stop together.
        if not scaler.is_enabled() and not torch.isfinite(grad_norm):
            raise CodecLabError(f"training diverged at step {step + 1} (gradient norm {float(grad_norm)}): "
                                f"lower --lr or --clip, or resume from an earlier checkpoint")
        scaler.step(optimizer)  # with fp16, skipped when the scaled gradients overflowed
        scaler.update()
        if aux_optimizer is not None:
            aux_optimizer.zero_grad(set_to_none=True)
            aux_loss = model.aux_loss()
            aux_loss.backward()
            aux_optimizer.step()
            parts["aux_loss"] = aux_loss.detach()
        done = step + 1
        progress.update(1)

        if done % config.log_every == 0 or done == config.steps:
            names = list(parts)
            means = mean_over_ranks(torch.stack([parts[k].detach().float() for k in names]), context).tolist()
            record = dict(zip(names, means))
            record["psnr"] = 10 * math.log10(1 / record["mse"]) if record["mse"] > 0 else math.inf
            record.update(grad_norm=float(grad_norm), lr=lr)
            log.scalars(done, "train", record)
            shown = {"loss": f"{record['loss']:.4g}"}
            if "bpp" in record:  # tools with their own loss have no rate
                shown["bpp"] = f"{record['bpp']:.3f}"
            progress.set_postfix(shown, psnr=f"{record['psnr']:.2f}", lr=f"{lr:.2e}", refresh=False)
        if main and val_pictures and (done % config.val_every == 0 or done == config.steps):
            validation = run_validation(done)
        stop = config.deadline is not None and _past(config.deadline, context)
        if main and (done % config.ckpt_every == 0 or done == config.steps or stop):
            save_checkpoint(checkpoints, done, training_state(done), keep=config.keep_checkpoints)
        if main and config.candidate_every and (stop or time.perf_counter() - last_candidate >= config.candidate_every):
            last_candidate = time.perf_counter()
            path = export_candidate(model, out / "candidates", card_at(done, validation))
            tqdm.write(f"step {done}: candidate {path}", file=sys.stderr)
        if stop:
            note(f"deadline reached at step {done}: checkpoint saved, stopping")
            break
    progress.close()
    wall_seconds += time.perf_counter() - started
    final_step = done or start_step  # the last step trained, or where the run began

    # -- the replicas must agree; then export what rank 0 holds
    replica_hashes = gather_strings(state_sha256(model), context)
    summary = {"step": final_step, "wall_seconds": wall_seconds, "validation": validation,
               "replica_sha256": replica_hashes}
    if main:
        if val_pictures and not validation:  # nothing was left to train: score the weights anyway
            validation = summary["validation"] = run_validation(final_step)
        if callable(getattr(model, "update", None)):
            model.update()  # integer CDF tables, so the exported weights are ready to code
        card = model_card(config, step=final_step, start_step=first_step, history=history,
                          wall_seconds=wall_seconds, hardware=hardware, precision=precision,
                          train_pictures=len(dataset.paths), val_pictures=len(val_pictures),
                          validation=validation, world_size=context.world_size)
        card["replica_sha256"] = replica_hashes
        weights, card_path = export_weights(model.state_dict(), out / f"{config.model}.safetensors", card)
        summary.update(weights=str(weights), card=str(card_path))
    log.close()
    if len(set(replica_hashes)) > 1:
        raise CodecLabError(f"the {context.world_size} model replicas differ after training: {replica_hashes}")
    return summary
