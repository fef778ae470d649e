"""``codeclab train``: the command line of the training loop.

::

    codeclab train --model NAME --data DIR --out DIR --steps N [--val-data DIR] [--lambda L | --lambda-range LO HI]
    torchrun --nproc_per_node=2 -m codeclab train ...         the same command on two processes (DDP)

``OUT`` receives ``checkpoints/``, ``metrics.jsonl``, ``tensorboard/`` (with
``--tensorboard``) and, at the end, ``NAME.safetensors`` with its model card ``NAME.json``.
``--resume`` continues from the newest checkpoint in ``OUT`` (or starts, if there is none),
so a preemptible job can always be launched with the same command.

``--model-args`` takes a JSON object or ``key=value`` words whose values are read as JSON
when they parse (``N=128 M=192 act=relu`` gives ``{"N": 128, "M": 192, "act": "relu"}``).
``--import`` loads a module or ``.py`` file that registers more models first.

Without ``--lambda`` or ``--lambda-range``, lambda is CompressAI's quality-4 value of the
metric (0.0130 for MSE, 16.64 for MS-SSIM; :mod:`.losses`).
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys

from codeclab.errors import InputError
from codeclab.train.config import AMP_MODES, METRICS, SCHEDULES, TrainConfig

#: CompressAI's quality-4 lambdas, the default trade-off of each metric.
DEFAULT_LAMBDA = {"mse": 0.0130, "ms-ssim": 16.64}


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the options of ``codeclab train`` to ``parser``."""
    d = TrainConfig(model="", data="", out="", steps=1)  # the defaults, in one place
    model = parser.add_argument_group("model")
    model.add_argument("--model", required=True, help="registered model name (codeclab.learned.registry)")
    model.add_argument("--model-args", nargs="+", default=[], metavar="ARG",
                       help="builder arguments: one JSON object, or key=value words")
    model.add_argument("--init", metavar="WEIGHTS.safetensors",
                       help="start from these exported weights (fine-tuning); --resume from a checkpoint wins")
    model.add_argument("--init-step", type=int, default=0, metavar="STEP",
                       help="the step count the --init weights already have (the schedule continues there)")
    model.add_argument("--import", dest="imports", action="append", default=[], metavar="MODULE|FILE.py",
                       help="import a module that registers models (repeatable)")
    data = parser.add_argument_group("data")
    data.add_argument("--data", required=True, nargs="+", metavar="DIR",
                      help="folders of training pictures (searched recursively; several form one set)")
    data.add_argument("--val-data", help="folder of validation pictures (whole pictures, real rates)")
    data.add_argument("--val-crop", type=int, help="validate on centre crops of this size instead")
    data.add_argument("--crop", type=int, default=d.crop, help="training crop size (default %(default)s)")
    data.add_argument("--scale-range", type=float, nargs=2, default=list(d.scale_range), metavar=("LOW", "HIGH"),
                      help="downscale each crop's window by s ~ U(LOW, HIGH) first (default: 1 1, none)")
    data.add_argument("--batch-size", type=int, default=d.batch_size,
                      help="crops per step and process (default %(default)s)")
    data.add_argument("--workers", type=int, default=d.workers, help="data-loader processes (default %(default)s)")
    data.add_argument("--no-cache", action="store_true", help="decode pictures per crop instead of once")
    opt = parser.add_argument_group("optimisation")
    opt.add_argument("--steps", type=int, required=True, help="total optimizer steps")
    opt.add_argument("--lr", type=float, default=d.lr, help="peak learning rate (default %(default)s)")
    opt.add_argument("--schedule", choices=SCHEDULES, default=d.schedule,
                     help="decay after warmup (default %(default)s)")
    opt.add_argument("--schedule-steps", type=int, metavar="T",
                     help="horizon of the schedule, when the run stops before it (default: --steps)")
    opt.add_argument("--warmup", type=int, default=d.warmup, help="linear warmup steps (default %(default)s)")
    opt.add_argument("--final-lr-ratio", type=float, default=d.final_lr_ratio,
                     help="where the cosine ends, relative to --lr (default %(default)s)")
    opt.add_argument("--decay-at", type=float, nargs="+", default=list(d.decay_at), metavar="FRACTION",
                     help="step schedule: lr x 0.1 at these fractions of --steps (default %(default)s)")
    opt.add_argument("--weight-decay", type=float, default=d.weight_decay, help="AdamW decay of conv/linear weights")
    opt.add_argument("--aux-lr", type=float, default=d.aux_lr,
                     help="learning rate of the model's aux_loss() (default %(default)s)")
    opt.add_argument("--clip", type=float, default=d.clip, help="max gradient norm, 0 = off (default %(default)s)")
    opt.add_argument("--amp", choices=AMP_MODES, default=d.amp,
                     help="mixed precision (auto: bf16, or fp16 without bf16, on GPU; off on CPU)")
    opt.add_argument("--device", choices=("auto", "cpu", "cuda"), default=d.device)
    opt.add_argument("--seed", type=int, default=d.seed)
    loss = parser.add_argument_group("rate-distortion")
    loss.add_argument("--metric", choices=METRICS, default=d.metric, help="distortion (default %(default)s)")
    loss.add_argument("--lambda", dest="lmbda", type=float, help="trade-off: loss = lambda * D + bpp")
    loss.add_argument("--lambda-range", type=float, nargs=2, metavar=("LOW", "HIGH"),
                      help="variable-rate models: lambda log-uniform in [LOW, HIGH] per picture")
    run = parser.add_argument_group("run")
    run.add_argument("--out", required=True, help="run folder: checkpoints, logs, final weights")
    run.add_argument("--resume", action="store_true", help="continue from the newest checkpoint in --out")
    run.add_argument("--until", metavar="HH:MM|DURATION",
                     help="checkpoint, export and stop at this wall-clock time (e.g. 17:30) or after this "
                          "long (e.g. 90m, 2h30m)")
    run.add_argument("--candidate-every", type=float, default=0.0, metavar="SECONDS",
                     help="export a float16 candidate to OUT/candidates this often (default: never)")
    run.add_argument("--ckpt-every", type=int, default=d.ckpt_every,
                     help="steps between checkpoints (default %(default)s)")
    run.add_argument("--keep-checkpoints", type=int, default=d.keep_checkpoints,
                     help="how many of the newest checkpoints to keep (default %(default)s)")
    run.add_argument("--val-every", type=int, default=d.val_every,
                     help="steps between validations (default %(default)s)")
    run.add_argument("--log-every", type=int, default=d.log_every,
                     help="steps between records in metrics.jsonl (default %(default)s)")
    run.add_argument("--tensorboard", action="store_true",
                     help="also log to OUT/tensorboard (pip install tensorboard)")
    run.add_argument("--no-progress", action="store_true", help="no progress bar")


def parse_model_args(items: list[str]) -> dict:
    """``['{"N": 64}']`` or ``['N=64', 'act=relu']`` -> ``{"N": 64, ...}``."""
    if len(items) == 1 and items[0].lstrip().startswith("{"):
        try:
            parsed = json.loads(items[0])
        except json.JSONDecodeError as exc:
            raise InputError(f"--model-args: not valid JSON: {exc}") from None
        if not isinstance(parsed, dict):
            raise InputError("--model-args: the JSON must be an object")
        return parsed
    parsed = {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key.isidentifier():
            raise InputError(f"--model-args: expected key=value, got {item!r}")
        try:
            parsed[key] = json.loads(text)
        except json.JSONDecodeError:
            parsed[key] = text  # a bare word is a string
    return parsed


def parse_deadline(text: str, now: float | None = None) -> float:
    """``--until``: ``HH:MM`` (today, or tomorrow when already past) or a duration such as
    ``90m``, ``2h30m``, ``45s`` -> a Unix time."""
    import datetime as dt
    import re
    import time

    now = time.time() if now is None else now
    clock = re.fullmatch(r"(\d{1,2}):(\d{2})", text.strip())
    if clock:
        hours, minutes = int(clock.group(1)), int(clock.group(2))
        if hours > 23 or minutes > 59:
            raise InputError(f"--until {text}: not a time of day")
        today = dt.datetime.fromtimestamp(now)
        target = today.replace(hour=hours, minute=minutes, second=0, microsecond=0)
        if target.timestamp() <= now:
            target += dt.timedelta(days=1)
        return target.timestamp()
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?", text.strip())
    if not text.strip() or not parts:
        raise InputError(f"--until {text}: expected HH:MM or a duration like 90m, 2h30m, 45s")
    hours, minutes, seconds = (int(g) if g else 0 for g in parts.groups())
    return now + 3600 * hours + 60 * minutes + seconds


def _command_line() -> str:
    """This command as ``codeclab train ...``, for the model card."""
    argv = sys.argv[1:]
    return shlex.join(["codeclab", "train", *(argv[1:] if argv[:1] == ["train"] else argv)])


def config_from_args(args: argparse.Namespace) -> TrainConfig:
    """The :class:`~.config.TrainConfig` of parsed arguments (model modules imported first)."""
    from codeclab.learned.registry import load_model_module

    for spec in args.imports:
        load_model_module(spec)
    if args.lmbda is not None and args.lambda_range is not None:
        raise InputError("give --lambda or --lambda-range, not both")
    lmbda = args.lmbda if args.lmbda is not None or args.lambda_range else DEFAULT_LAMBDA[args.metric]
    return TrainConfig(
        model=args.model, model_args=parse_model_args(args.model_args), data=tuple(args.data), out=args.out,
        steps=args.steps, val_data=args.val_data, val_crop=args.val_crop, batch_size=args.batch_size,
        crop=args.crop, scale_range=tuple(args.scale_range), schedule_steps=args.schedule_steps,
        init_step=args.init_step, deadline=parse_deadline(args.until) if args.until else None,
        candidate_every=args.candidate_every, lr=args.lr, schedule=args.schedule, warmup=args.warmup,
        final_lr_ratio=args.final_lr_ratio, decay_at=tuple(args.decay_at), weight_decay=args.weight_decay,
        aux_lr=args.aux_lr, lmbda=lmbda, lambda_range=tuple(args.lambda_range) if args.lambda_range else None,
        metric=args.metric, clip=args.clip, ckpt_every=args.ckpt_every, keep_checkpoints=args.keep_checkpoints,
        val_every=args.val_every, log_every=args.log_every, seed=args.seed, workers=args.workers,
        cache_images=not args.no_cache, amp=args.amp, device=args.device, tensorboard=args.tensorboard,
        progress=not args.no_progress, resume=args.resume, init=args.init, command=_command_line())


def train_main(args: argparse.Namespace) -> int:
    """Run ``codeclab train``; user mistakes raise :class:`~codeclab.errors.InputError`."""
    from codeclab.train.loop import train

    summary = train(config_from_args(args))
    if "weights" in summary:  # rank 0
        print(f"trained {args.model} to step {summary['step']} in {summary['wall_seconds']:.1f} s; "
              f"weights {summary['weights']}, card {summary['card']}")
    return 0


def add_export_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``codeclab export weights`` (:func:`codeclab.train.export.run`)."""
    parser.add_argument("run", help="run folder (its newest checkpoint) or a checkpoint file")
    parser.add_argument("--name", required=True, help="weights name, e.g. the registered model name")
    parser.add_argument("--dtype", choices=("float16", "bfloat16", "float32"), default="float16",
                        help="parameter storage type")
    parser.add_argument("--out", help="folder for the .safetensors and .json (default: the package's weights)")
    parser.add_argument("--hardware", default="", help="what the run trained on, for the card")
    parser.add_argument("--scores", help="JSON file of measured scores to put in the card")
    parser.add_argument("-f", "--force", action="store_true", help="replace existing weights")
    parser.set_defaults(func=run_export)


def run_export(args) -> int:
    from codeclab.train.export import run

    return run(args)
