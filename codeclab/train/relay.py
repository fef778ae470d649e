"""The training relay: one training run of the flagship carried across stops and machines.

Training a learned codec takes ~10^5 steps; a machine here gives a few thousand per sitting
and forgets its background jobs when work stops. What survives is the repository, so the
relay keeps the run's state where it survives: the shipped weights and their model card
(``codeclab/data/weights/checkerboard.json``: the step count, the schedule's horizon, the
history of every stretch of training and the scores). A stretch of work then runs::

    codeclab relay start --until 17:30        (make relay) in the background, at nice 19
        newest checkpoint in runs/relay/checkpoints     if this machine still has it
        else the shipped weights, at the step of their card (--init, --init-step)
        else step 0
        ...trains on idle CPU; every 20 min a float16 candidate -> runs/relay/candidates/
        at --until: checkpoint, candidate, stop
    codeclab relay score --ship               score candidates on Kodak (:mod:`.candidates`),
                                              ship the best one if it beats the shipped weights
    codeclab relay status                     where the run stands

The run's settings are :data:`PLAN`, fixed for the life of the run: the learning rate is a
function of the step (warmup, then a cosine over ``schedule_steps``), so a run resumed on
another machine from the shipped weights continues the very schedule. Only the optimizer's
moments are lost at such a hand-over (they are never shipped: they would triple the size);
Adam rebuilds them within a few hundred steps. On a GPU the same command runs in the
foreground (``codeclab relay run --device cuda --until 50m``), see ``scripts/relay_gpu.sh``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

from codeclab.errors import InputError
from codeclab.train.candidates import add_score_arguments, format_bd_rate, read_scores, score
from codeclab.train.config import TrainConfig
from codeclab.train.relay_plan import (CANDIDATE_EVERY, DEFAULT_RUN, PLAN, SHARED_DATA, TRAINING_FOLDERS,
                                       continues_plan, shipped_card, shipped_weights)


def default_data() -> list[str]:
    folders = [SHARED_DATA / name for name in TRAINING_FOLDERS]
    present = [str(f) for f in folders if f.is_dir()]
    if not present:
        raise InputError(f"no training data at {SHARED_DATA}/{{{','.join(TRAINING_FOLDERS)}}}: give --data")
    return present


def relay_config(out: Path, *, data: list[str] | None = None, deadline: float | None = None,
                 device: str = "auto", val_data: str | None = None, command: str = "",
                 weights: Path | None = None, **overrides) -> TrainConfig:
    """The :class:`TrainConfig` of the next stretch: the plan, resumed from a local checkpoint
    when ``out`` has one, else started from the shipped ``weights`` (their card's step)."""
    from codeclab.train.checkpoint import latest_checkpoint

    settings = {**PLAN, **overrides}
    weights = weights or shipped_weights()
    init, init_step = None, 0
    if latest_checkpoint(out / "checkpoints") is None:
        card = shipped_card(weights) if weights.is_file() else None
        if continues_plan(card, settings) and int(card.get("steps", 0)) < settings["schedule_steps"]:
            init, init_step = str(weights), int(card["steps"])
    if val_data is None and (SHARED_DATA / "kodak").is_dir():
        val_data = str(SHARED_DATA / "kodak")  # real rates on Kodak crops, for the curve (never trained on)
    return TrainConfig(
        **settings, data=tuple(data or default_data()), out=str(out), steps=settings["schedule_steps"],
        val_data=val_data or None, tensorboard=_has_tensorboard(), deadline=deadline,
        candidate_every=CANDIDATE_EVERY, device=device, resume=True, init=init, init_step=init_step, progress=False, command=command)


def _has_tensorboard() -> bool:
    import importlib.util

    return importlib.util.find_spec("tensorboard") is not None


def _running_pid(out: Path) -> int | None:
    """The pid in ``out/relay.pid`` when that process still runs."""
    try:
        pid = int((out / "relay.pid").read_text())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def lower_session_priority(pid: int) -> bool:
    """Give the relay's own session the lowest weight as well (Linux autogroups).

    With ``sched_autogroup_enabled`` the kernel shares the CPU between *sessions* first, so a
    niced process in its own session (``start_new_session``) still took a full share from
    the work in the foreground (benchmark workers beside it got half a core each). Setting the session's autogroup nice to 19 makes the relay yield. False where
    the kernel has no autogroups (other systems: ``nice`` alone then does the job).
    """
    try:
        Path(f"/proc/{pid}/autogroup").write_text("19\n")
        return True
    except OSError:
        return False


def start(args: argparse.Namespace) -> int:
    """``codeclab relay start``: launch ``relay run`` in the background at the lowest priority."""
    from codeclab.train.cli import parse_deadline

    out = Path(args.out)
    pid = _running_pid(out)
    if pid is not None:
        raise InputError(f"a relay already runs in {out} (pid {pid}); 'codeclab relay status' shows it")
    deadline = parse_deadline(args.until)  # checked here, so a typo fails in the foreground
    out.mkdir(parents=True, exist_ok=True)
    command = [sys.executable, "-m", "codeclab", "relay", "run", "--out", str(out), "--until", args.until,
               "--threads", str(args.threads)]
    for folder in args.data or []:
        command += ["--data", folder]
    if args.val_data:
        command += ["--val-data", args.val_data]
    with open(out / "relay.log", "ab") as log:
        process = subprocess.Popen(["nice", "-n", "19", *command], stdout=log, stderr=subprocess.STDOUT,
                                   stdin=subprocess.DEVNULL, start_new_session=True)
    (out / "relay.pid").write_text(f"{process.pid}\n")
    lower_session_priority(process.pid)
    print(f"relay started (pid {process.pid}, nice 19) until {time.strftime('%H:%M', time.localtime(deadline))}; "
          f"log {out / 'relay.log'}")
    return 0


def run(args: argparse.Namespace) -> int:
    """``codeclab relay run``: train the plan in the foreground until the deadline."""
    import shlex

    import torch

    from codeclab.train.cli import parse_deadline
    from codeclab.train.loop import train

    if args.threads:
        torch.set_num_threads(args.threads)
    out = Path(args.out)
    command = shlex.join(["codeclab", "relay", "run", *sys.argv[3:]]) if sys.argv[1:3] == ["relay", "run"] else ""
    config = relay_config(out, data=args.data, deadline=parse_deadline(args.until), device=args.device,
                          val_data=args.val_data, command=command)
    summary = train(config)
    print(f"relay stopped at step {summary['step']} after {summary['wall_seconds']:.0f} s of training")
    return 0


def status(args: argparse.Namespace) -> int:
    """``codeclab relay status``: the running process, the newest checkpoint, candidates, shipped step."""
    from codeclab.train.checkpoint import list_checkpoints

    out = Path(args.out)
    pid = _running_pid(out)
    checkpoints = list_checkpoints(out / "checkpoints")
    card = shipped_card()
    print(f"relay process:  {'running, pid ' + str(pid) if pid else 'not running'}")
    print(f"newest checkpoint: {'step ' + str(checkpoints[-1][0]) if checkpoints else 'none'}")
    print(f"shipped weights:   {'step ' + str(card['steps']) if continues_plan(card) else 'none'}")
    for entry in read_scores(out)[-5:]:
        print(f"  scored step {entry['steps']}: BD-rate vs JPEG {format_bd_rate(entry['bd_rate_vs_jpeg'])}, "
              f"BD-PSNR {entry.get('bd_psnr_vs_jpeg')} dB on {len(entry['pictures'])} Kodak pictures")
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="relay_command", required=True, parser_class=type(parser))

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--out", default=str(DEFAULT_RUN), help="the local run folder (default %(default)s)")

    s = sub.add_parser("start", help="train in the background at nice 19 until a deadline")
    common(s)
    s.add_argument("--until", default="2h50m", help="HH:MM or a duration (default %(default)s)")
    s.add_argument("--data", action="append", metavar="DIR", help="training folder (default: ../shared/data/"
                                                                 "train and train-extra)")
    s.add_argument("--val-data", help="pictures to validate on every 2000 steps (e.g. Kodak)")
    s.add_argument("--threads", type=int, default=2, help="torch threads (default %(default)s)")
    s.set_defaults(relay_func=start)

    s = sub.add_parser("run", help="the same in the foreground (what start launches; GPU machines)")
    common(s)
    s.add_argument("--until", default="2h50m", help="HH:MM or a duration (default %(default)s)")
    s.add_argument("--data", action="append", metavar="DIR", help="training folder (repeatable)")
    s.add_argument("--val-data", help="pictures to validate on every 2000 steps")
    s.add_argument("--threads", type=int, default=0, help="torch threads (default: torch's choice)")
    s.add_argument("--device", choices=("auto", "cpu", "cuda"), default="auto")
    s.set_defaults(relay_func=run)

    s = sub.add_parser("score", help="score candidates on Kodak; --ship the best if it beats the shipped")
    common(s)
    add_score_arguments(s)
    s.set_defaults(relay_func=score)

    s = sub.add_parser("status", help="where the relay stands")
    common(s)
    s.set_defaults(relay_func=status)
