"""One command for one process or many: torchrun, DistributedDataParallel, sharded batches.

``torchrun --nproc_per_node=N -m codeclab train ...`` starts N copies of the command and
tells each who it is through environment variables (PyTorch "torchrun" docs)::

    RANK        this process's number, 0 .. WORLD_SIZE - 1     (rank 0 writes files)
    WORLD_SIZE  how many processes train together
    LOCAL_RANK  its number on this machine (which GPU it drives)
    MASTER_ADDR, MASTER_PORT   where they meet

Without them the same command trains in one process. With them every process joins one
process group (NCCL between GPUs, Gloo between CPU processes), holds a full copy of the
model, and ``DistributedDataParallel`` averages the gradients in ``backward()``, so every
copy takes the same optimizer step and the copies stay identical (Li et al., "PyTorch
Distributed: experiences on accelerating data parallel training", VLDB 2020).

Each rank must see different pictures: the batch of step ``s`` on rank ``r`` is the block of
sample indices ``(s * WORLD_SIZE + r) * B + [0, B)`` of the endless crop stream
(:class:`StepBatchSampler`, the role ``DistributedSampler`` plays for finite sets). Because
sample ``k``'s crop is seeded by ``k`` (:mod:`.seeding`), the ranks' crops differ, and
``--resume`` at step ``s`` continues with exactly the batches an unbroken run would draw.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from codeclab.errors import InputError

_TORCHRUN_VARIABLES = ("RANK", "WORLD_SIZE", "LOCAL_RANK")


@dataclass(frozen=True)
class DistributedContext:
    """Who this process is among the processes training together, and its device."""

    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Rank 0: the one process that writes checkpoints, logs and progress."""
        return self.rank == 0

    @property
    def is_distributed(self) -> bool:
        return self.world_size > 1


def launched_by_torchrun() -> bool:
    """True when torchrun (or another launcher) set RANK, WORLD_SIZE and LOCAL_RANK."""
    return all(name in os.environ for name in _TORCHRUN_VARIABLES)


def pick_device(request: str, local_rank: int = 0) -> torch.device:
    """``auto`` (CUDA when present, else CPU), ``cpu`` or ``cuda``; under torchrun each
    process takes GPU ``LOCAL_RANK``."""
    if request not in ("auto", "cpu", "cuda"):
        raise InputError(f"--device must be auto, cpu or cuda, got {request!r}")
    if request == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA device is available")
    if request == "cpu" or not torch.cuda.is_available():
        return torch.device("cpu")
    if local_rank >= torch.cuda.device_count():
        raise InputError(f"process LOCAL_RANK={local_rank} has no GPU ({torch.cuda.device_count()} present)")
    return torch.device("cuda", local_rank)


def init_distributed(device_request: str = "auto") -> DistributedContext:
    """Join the process group when launched by torchrun; otherwise a single-process context."""
    if not launched_by_torchrun():
        return DistributedContext(0, 1, 0, pick_device(device_request))
    try:
        rank, world_size, local_rank = (int(os.environ[name]) for name in _TORCHRUN_VARIABLES)
    except ValueError:
        raise InputError("RANK, WORLD_SIZE and LOCAL_RANK must be integers") from None
    device = pick_device(device_request, local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistributedContext(rank, world_size, local_rank, device)


def shutdown() -> None:
    """Leave the process group (a no-op in a single process)."""
    if dist.is_initialized():
        dist.destroy_process_group()


def wrap_model(model: nn.Module, context: DistributedContext, *, find_unused_parameters: bool = False) -> nn.Module:
    """The model wrapped in ``DistributedDataParallel`` when several processes train; as is otherwise.

    DDP broadcasts rank 0's parameters when it wraps, so every copy starts identical.
    ``find_unused_parameters`` is needed when some parameters take no part in the loss
    (e.g. quantiles trained only by an auxiliary loss).
    """
    if not context.is_distributed:
        return model
    device_ids = [context.device.index] if context.device.type == "cuda" else None
    return nn.parallel.DistributedDataParallel(model, device_ids=device_ids,
                                               find_unused_parameters=find_unused_parameters)


def mean_over_ranks(values: torch.Tensor, context: DistributedContext) -> torch.Tensor:
    """The element-wise mean of ``values`` over all processes (``values`` itself in one)."""
    if not context.is_distributed:
        return values
    total = values.detach().clone()
    dist.all_reduce(total, op=dist.ReduceOp.SUM)
    return total / context.world_size


def gather_strings(text: str, context: DistributedContext) -> list[str]:
    """Every rank's ``text``, in rank order (a collective: all ranks must call it)."""
    if not context.is_distributed:
        return [text]
    gathered: list[str | None] = [None] * context.world_size
    dist.all_gather_object(gathered, text)
    return [str(t) for t in gathered]


class StepBatchSampler(torch.utils.data.Sampler):
    """The sample indices of this rank's batch, for each step in ``[start, stop)``.

    Step ``s`` on rank ``r`` of ``world_size`` takes ``(s * world_size + r) * batch_size + [0, batch_size)``:
    disjoint blocks for the ranks, consecutive blocks for the steps, nothing random.
    """

    def __init__(self, start: int, stop: int, batch_size: int, rank: int = 0, world_size: int = 1) -> None:
        self.start, self.stop, self.batch_size = start, stop, batch_size
        self.rank, self.world_size = rank, world_size

    def indices(self, step: int) -> list[int]:
        first = (step * self.world_size + self.rank) * self.batch_size
        return list(range(first, first + self.batch_size))

    def __iter__(self):
        return (self.indices(step) for step in range(self.start, self.stop))

    def __len__(self) -> int:
        return max(0, self.stop - self.start)
