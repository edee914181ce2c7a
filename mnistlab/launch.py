"""Running as one of N processes: which one this is, and starting N with torchrun.

``torchrun`` starts the processes and tells each its place through the
environment (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``); a loop that declares
``JOINS_PROCESSES`` joins them into one process group. Only rank 0 speaks and
writes the run folder, so N processes leave one run behind.
"""

from __future__ import annotations

import os
import sys


def rank() -> int:
    """This process's rank among those torchrun started; 0 when it runs alone."""
    return int(os.environ.get("RANK", "0"))


def under_torchrun() -> bool:
    return "RANK" in os.environ and "WORLD_SIZE" in os.environ


def processes() -> int:
    """How many processes torchrun started for this run; 1 when it runs alone."""
    return int(os.environ["WORLD_SIZE"]) if under_torchrun() else 1


def joined() -> bool:
    """Whether this process trains in a ``torch.distributed`` group of all the processes."""
    import torch.distributed as dist

    # Of the size torchrun gave: not a group of one left by an earlier run in this process.
    return (dist.is_available() and dist.is_initialized()
            and dist.get_world_size() == processes())


def same_everywhere(numbers: list[int], device: object) -> bool:
    """Whether every process of the joined group holds the same ``numbers`` (all agree on
    the answer, so all refuse together)."""
    import torch
    import torch.distributed as dist

    low = torch.tensor(numbers, device=device)
    high = low.clone()
    dist.all_reduce(low, op=dist.ReduceOp.MIN)
    dist.all_reduce(high, op=dist.ReduceOp.MAX)
    return bool(torch.equal(low, high))


def lost_peer(error: BaseException) -> bool:
    """Whether ``error`` is this process's side of another process of the run going away:
    a collective whose peer closed its connection. That is no fault of the code that waited."""
    dist = sys.modules.get("torch.distributed")
    if processes() == 1 or dist is None:
        return False
    if isinstance(error, getattr(dist, "DistError", ())):
        return True
    return isinstance(error, RuntimeError) and any(
        sign in str(error) for sign in ("gloo/transport", "Connection reset by peer",
                                        "Connection closed by peer", "Broken pipe"))


def leave_process_group() -> None:
    """End the process group this process joined, as a DDP program does before it exits.

    Only under torchrun, where the process is the run's own: from Python, a
    process group is left to the program that called ``mnistlab.run()``.
    """
    dist = sys.modules.get("torch.distributed")
    if under_torchrun() and dist is not None and dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def take_local_gpu() -> None:
    """Give each process on a machine its own GPU, the one its ``LOCAL_RANK`` names."""
    import torch

    if under_torchrun() and torch.cuda.is_available():
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))


def split_problem(rows: int | None, bs: int, nproc: int) -> str | None:
    """Why batches of ``bs`` rows cannot be shared among ``nproc`` processes, or None.

    Each process trains on its share of every batch, so every batch, the last
    one too (``rows`` modulo ``bs``, when ``rows`` is known), needs at least one
    row per process.
    """
    last = rows % bs if rows else 0
    if bs < nproc or 0 < last < nproc:
        size = bs if bs < nproc else last
        which = "each batch" if bs < nproc else f"the last batch of an epoch ({rows} rows)"
        return (f"--bs {bs} cannot be shared among --nproc {nproc} processes: {which} holds "
                f"{size} row{'s' * (size != 1)}, fewer than the processes; use a --bs of at "
                f"least {nproc} that "
                f"leaves no last batch of fewer than {nproc} rows, or fewer processes")
    return None


REFUSED = 2  # the exit status of a process that refused the run in one line of its own
# How a process ends when torchrun stops it with SIGTERM: having said so (128 + 15), or not.
_STOPPED_BY_TORCHRUN = (128 + 15, -15)


def _cause(failures: dict) -> tuple[int, int]:
    """The rank and exit status of the process whose failure stopped the run.

    The processes torchrun stopped because of it (torchrun lists them too) are
    its effect, never its cause. A failure with no line of its own comes before a
    refusal, which has said why; among equals the first to fail is the cause, and
    torchrun's times are whole seconds, so a tie goes to the lower rank.
    """
    def rank_of_cause(rank: int) -> tuple:
        status = failures[rank].exitcode
        return (status in _STOPPED_BY_TORCHRUN, status == REFUSED,
                failures[rank].timestamp, rank)

    rank = min(failures, key=rank_of_cause)
    return rank, failures[rank].exitcode


def launch(nproc: int, arguments: list[str]) -> int:
    """Run ``mnistlab ARGUMENTS`` as ``nproc`` processes on this machine, as torchrun does.

    When one process fails, torchrun stops the others at once (rank 0 then
    says what its run folder keeps); this returns the failed process's exit
    status and says which failed in one line, instead of torchrun's report.
    """
    import logging

    from torch.distributed.elastic.multiprocessing.api import SignalException
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.run import get_args_parser, run

    # torchrun's own log (threads per process, signals it forwards, its failure report) is
    # not the run's: the processes and the line below say what happened.
    for name in list(logging.root.manager.loggerDict):
        if name.startswith("torch.distributed"):
            logging.getLogger(name).setLevel(logging.CRITICAL)
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    args = get_args_parser().parse_args(["--standalone", f"--nproc-per-node={nproc}",
                                         "--module", "mnistlab", *arguments])
    try:
        run(args)
    except ChildFailedError as error:
        rank, status = _cause(error.failures)
        if status == REFUSED:
            return REFUSED
        print(f"error: process {rank} of {nproc} failed (exit status {status}); "
              "torchrun stopped the others", file=sys.stderr)
        return status if status > 0 else 128 - status
    except KeyboardInterrupt:  # passed on to every process, which each end cleanly
        return 130
    except SignalException as stop:  # torchrun's word for SIGTERM: passed on the same way
        return 128 + int(stop.sigval)
    return 0
