"""How the decoder uses several cores: row bands on single-threaded kernels.

Torch parallelises each operation inside itself (intra-op threads). Two things make that
a poor fit for decoding:

* **Determinism.** How a multi-threaded kernel splits a convolution, and so how it orders
  and rounds its float sums, may change with the thread count (:mod:`.banded`).
* **Small operations on a busy machine.** Every parallel operation ends at a barrier
  where the threads wait for each other; when the cores are shared with other processes a
  descheduled thread stalls the whole operation for a scheduler time slice (milliseconds),
  and a decoder runs hundreds of operations.

So the decoder splits the work itself: :func:`row_workers` switches torch to one
intra-op thread and opens a pool of as many workers as torch had threads;
:func:`for_each` runs independent jobs (bands of rows) on it. The split depends only on
the picture, never on the thread count, and each job's kernels run on one thread.
Worker threads do not inherit the caller's context, so a job that calls :func:`for_each`
again simply runs its jobs inline.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from contextvars import ContextVar

import torch
import torch.nn.functional as F
from torch import Tensor

_POOL: ContextVar[ThreadPoolExecutor | None] = ContextVar("codeclab_row_workers", default=None)


@contextmanager
def row_workers() -> Iterator[int]:
    """Within: torch runs single-threaded and :func:`for_each` uses a pool of the previous
    thread count. Yields the number of workers; reuses an enclosing pool; restores the
    thread count on exit."""
    pool = _POOL.get()
    if pool is not None:
        yield pool._max_workers
        return
    threads = torch.get_num_threads()
    if threads == 1:
        yield 1
        return
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(threads, thread_name_prefix="codeclab-rows") as pool:
            token = _POOL.set(pool)
            try:
                yield threads
            finally:
                _POOL.reset(token)
    finally:
        torch.set_num_threads(threads)


def for_each(jobs: Iterable, run: Callable[..., None]) -> None:
    """``run(job)`` for every job, on the workers of :func:`row_workers` when inside it (in the
    caller's autograd and inference modes, which are per thread); inline otherwise."""
    pool = _POOL.get()
    if pool is None:
        for job in jobs:
            run(job)
        return
    grad, inference = torch.is_grad_enabled(), torch.is_inference_mode_enabled()

    def in_caller_modes(job) -> None:
        with torch.inference_mode(inference), torch.set_grad_enabled(grad):
            run(job)

    for _ in pool.map(in_caller_modes, jobs):  # re-raises a job's exception
        pass


def bands(height: int, rows: int) -> list[tuple[int, int]]:
    """``[(r0, r1), ...]`` covering ``0 .. height`` in steps of ``rows``."""
    return [(r0, min(r0 + rows, height)) for r0 in range(0, height, rows)]


def rows_with_halo(x: Tensor, r0: int, r1: int, reach: int) -> Tensor:
    """Rows ``[r0 - reach, r1 + reach)`` of (N, C, H, W) ``x``, zeros beyond the picture: what a
    convolution reaching ``reach`` rows needs for output rows ``[r0, r1)`` (a view inside)."""
    height = x.shape[-2]
    lo, hi = r0 - reach, r1 + reach
    band = x[:, :, max(lo, 0):min(hi, height)]
    if lo >= 0 and hi <= height:
        return band
    return F.pad(band, (0, 0, max(0, -lo), max(0, hi - height)))
