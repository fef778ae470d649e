"""``codeclab warmup``: compile the package's kernels now, on every core, not at first use.

numba compiles a kernel the first time it runs and caches the machine code on disk
(:mod:`codeclab.kernels`), so the first command that needs a codec pays for compiling it.
Warm-up pays that once, visibly, with one small real job per group of kernels, the groups
running in parallel processes::

    classic-video    encode and decode 3 frames: motion search, inter RDO, inter syntax
    classic-image    encode and decode a picture: intra search, CABAC, residuals, deblocking
    classic-nn       the same with the neural intra modes and loop filter (integer networks)
    overfit          decode an overfitted stream: rANS and the integer ARM
    entropy          the ANS coder of the learned models and the tables of the tutorials

The video and neural jobs wait for the image job (:data:`AFTER`): they call its intra search,
and then find it compiled. Other groups share a few small kernels, which the first to need
them compiles (a kernel compiled twice at the same time costs CPU, not correctness: numba
writes its cache files atomically). With the cache warm, every job takes about a second.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait


def _picture(height: int = 64, width: int = 64, seed: int = 0):
    """A small picture with edges, texture and flat areas (exercises every mode decision)."""
    import torch

    generator = torch.Generator().manual_seed(seed)
    y = torch.arange(height)[:, None].expand(height, width)
    x = torch.arange(width)[None, :].expand(height, width)
    base = torch.stack([(x * 3 + y) % 256, (y * 4) % 256, ((x - y) * 2) % 256]).to(torch.uint8)
    noise = torch.randint(0, 24, (3, height, width), generator=generator, dtype=torch.uint8)
    return torch.where(((x // 16 + y // 16) % 2 == 0)[None], base, base // 2 + noise)


def _round_trip(codec: str, quality: float) -> None:
    from codeclab import api

    result = api.encode_image(_picture(), codec, quality)
    api.decode(result.data)


def classic_image() -> None:
    _round_trip("classic", 32)


def classic_video() -> None:
    from pathlib import Path

    from codeclab import api
    from codeclab.io.video_reader import read_video

    sample = Path(__file__).resolve().parent / "data" / "samples" / "carphone_qcif_10f.y4m"
    result = api.encode_video(read_video(sample, max_frames=3), "classic", 32, intra_period=8)
    api.decode(result.data)


def classic_nn() -> None:
    _round_trip("classic-nn", 32)


def overfit() -> None:
    from codeclab import api
    from codeclab.codec import get_codec

    codec = get_codec("overfit").configure(effort=2)  # two iterations: the kernels, not the RD
    api.decode(api.encode_image(_picture(32, 32), codec, 4).data)


def entropy() -> None:
    import numpy as np

    from codeclab.entropy import decode_symbols, encode_symbols, parametric_tables

    tables, indexes = parametric_tables("gaussian"), np.zeros(4, dtype=np.int64)
    symbols = np.array([0, 1, -1, 2], dtype=np.int32)
    decode_symbols(encode_symbols(symbols, indexes, tables), indexes, tables)


#: The jobs (name -> function), in the order they start.
JOBS: dict[str, Callable[[], None]] = {
    "classic-image": classic_image, "overfit": overfit, "entropy": entropy,
    "classic-video": classic_video, "classic-nn": classic_nn,
}

#: Jobs that start only after another: the intra search, which the video encoder and the
#: neural tools call too, is compiled once (two processes compiling it at the same time
#: took 60% longer on two cores).
AFTER = {"classic-video": "classic-image", "classic-nn": "classic-image"}


def _run(name: str) -> tuple[str, float, int]:
    """Run one job in a worker: (name, seconds, kernels compiled)."""
    import torch
    from numba.core import event

    torch.set_num_threads(1)
    compiled = [0]

    class Count(event.Listener):
        def on_start(self, ev):
            pass

        def on_end(self, ev):
            compiled[0] += 1

    event.register("numba:compile", Count())
    start = time.perf_counter()
    JOBS[name]()
    return name, time.perf_counter() - start, compiled[0]


def warm_up(names: list[str] | None = None, jobs: int | None = None, progress: bool = True) -> list[tuple]:
    """Run the warm-up ``names`` (all by default) on ``jobs`` processes; (name, s, kernels) each."""
    from tqdm import tqdm

    from codeclab.errors import InputError

    names = list(JOBS) if not names else names
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise InputError(f"unknown warm-up job {', '.join(unknown)}; known: {', '.join(JOBS)}")
    jobs = max(1, min(jobs or os.cpu_count() or 1, len(names)))
    done: list[tuple] = []
    finished: set[str] = set()
    waiting = [n for n in JOBS if n in names]
    bar = tqdm(total=len(names), desc="compiling kernels", unit="job", disable=not progress, file=sys.stderr)
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        running: dict = {}
        while waiting or running:
            for name in [n for n in waiting if AFTER.get(n) not in names or AFTER[n] in finished]:
                if len(running) < jobs:
                    waiting.remove(name)
                    running[pool.submit(_run, name)] = name
            completed, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in completed:
                finished.add(running.pop(future))
                done.append(future.result())
                bar.set_postfix_str(f"{done[-1][0]} {done[-1][1]:.0f} s", refresh=False)
                bar.update()
    bar.close()
    return done


def main(args) -> int:
    start = time.perf_counter()
    results = warm_up(args.jobs_to_run, args.processes, progress=not args.no_progress)
    for name, seconds, kernels in sorted(results, key=lambda r: -r[1]):
        print(f"{name:14} {seconds:7.1f} s  {kernels:4d} kernel versions compiled")
    print(f"warm-up done in {time.perf_counter() - start:.1f} s wall")
    return 0


def add_arguments(parser) -> None:
    parser.add_argument("jobs_to_run", nargs="*", metavar="JOB", help=f"jobs to run (default all: {', '.join(JOBS)})")
    parser.add_argument("-j", "--processes", type=int, default=None, help="parallel processes (default: all cores)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
