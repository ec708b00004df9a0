"""PyTorch DDP glue for ``torchrun`` launches (nothing home-made: torch.distributed)."""

from __future__ import annotations

import os

import torch
import torch.distributed as td
from torch.utils.data import DistributedSampler


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def rank() -> int:
    return int(os.environ.get("RANK", "0"))


def is_main() -> bool:
    return rank() == 0


def init() -> None:
    if world_size() > 1 and not td.is_initialized():
        td.init_process_group(backend="nccl" if torch.cuda.is_available() else "gloo")


def device() -> torch.device:
    if torch.cuda.is_available():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return torch.device("cuda", local)
    return torch.device("cpu")


def barrier() -> None:
    if td.is_available() and td.is_initialized():
        td.barrier()


def shutdown() -> None:
    """Every group this process made, its own gloo group first: one left for the interpreter's exit
    to tear down aborted a rank at exit now and then ("terminate called without an active
    exception", one CI run in about ten)."""
    global _CPU_GROUP
    if td.is_available() and td.is_initialized():
        if _CPU_GROUP is not None:
            td.destroy_process_group(_CPU_GROUP)
            _CPU_GROUP = None
        td.destroy_process_group()


_CPU_GROUP = None


def cpu_group():
    """A gloo group over every rank: CPU tensors gather on it whatever backend the default group
    uses, so an embedding pass can meet its rows in host memory. The default group itself (None)
    when it is gloo already (CPU runs); a second one, made once, beside nccl on GPUs."""
    global _CPU_GROUP
    if td.get_backend() == "gloo":
        return None
    if _CPU_GROUP is None:
        _CPU_GROUP = td.new_group(backend="gloo")
    return _CPU_GROUP


def sharded() -> bool:
    """Whether this process is one rank of several (torchrun) with the process group up."""
    return world_size() > 1 and td.is_available() and td.is_initialized()


def sampler(n: int, seed: int):
    return DistributedSampler(range(n), num_replicas=world_size(), rank=rank(), shuffle=True, seed=seed,
                              drop_last=True)
