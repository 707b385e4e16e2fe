"""Model work shared by several processes (torchrun, `accelerate launch`): each rank computes every world-th item
and every rank gets all the results, in order, so the run goes on identically everywhere and N processes (N GPUs,
or N CPU sockets) evaluate about N times faster. Alone, the work runs as it is."""

from __future__ import annotations

import os
from typing import Callable, TypeVar

T = TypeVar("T")
_DONE: dict[int, int] = {}  # rank -> items it computed in this process's run (what rank 0 gathered from each)


def world_size() -> int:
    return max(int(os.environ.get("WORLD_SIZE", "1") or 1), 1)


def rank() -> int:
    """This process's global rank as torchrun / accelerate set it; 0 when the harness runs alone (a stray RANK
    without a WORLD_SIZE above 1 counts as alone, so a single run never ends up in scratch)."""
    return int(os.environ.get("RANK", "0") or 0) if world_size() > 1 else 0


def split_work(items: list, compute: Callable[[list], list[T]]) -> list[T]:
    """compute(items), with the items dealt round-robin over the ranks and the results gathered on every rank.
    Every rank must call it for the same items (the run loop does: each rank runs the same plan)."""
    n = world_size()
    if n == 1 or not items:
        return compute(items)
    import torch.distributed as dist

    if not dist.is_initialized():  # an evaluation-only run: nothing (accelerate, training) has made the group yet
        import torch

        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0") or 0))
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    mine = compute(items[rank() :: n])
    gathered: list = [None] * n
    dist.all_gather_object(gathered, mine)
    out: list = [None] * len(items)
    for r, results in enumerate(gathered):
        out[r::n] = results
        _DONE[r] = _DONE.get(r, 0) + len(results)
    return out


def work_per_rank() -> dict[int, int]:
    """How many items (prompts, option sets, texts) each rank computed so far; empty when the run is alone."""
    return dict(_DONE)
