"""Loop: one epoch on N processes with ``DistributedDataParallel``.

Swaps ``fit_loop``. Launched with ``torchrun --standalone --nproc-per-node N
-m mnistlab run --stage distributed`` (or ``mnistlab run --nproc N``), every
process runs this same loop on its own copy of the model:

* each process cuts the **same** global batch from the run's seeded order
  and trains on its share of it, rows ``rank, rank + N, rank + 2N, ...``, the
  split ``DistributedSampler`` makes, but taken from each global batch so
  that N processes see exactly the batches one process sees;
* ``DistributedDataParallel`` wraps the model: during ``backward()`` it
  ``all_reduce``-s every gradient and divides by N, so all copies take the
  same step. An average of the N shares' mean gradients is the gradient of
  the whole batch's mean loss only when the shares are equal, so each
  share's loss is scaled by ``N * share / batch`` first: then the average
  is exact even for a short last batch;
* the loss of the whole batch, for the books, is the shares' losses summed
  across processes (``all_reduce``), weighted by their sizes.

With one process (no ``torchrun``) the loop is ``fit_loop``'s, step for
step. Only rank 0 prints and writes the run folder. A process that waits
more than ``TIMEOUT`` on the others ends with an error instead of hanging.
"""

import os
from datetime import timedelta

import numpy as np
import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from mnistlab.errors import MnistlabError
from mnistlab.hookspecs import hookimpl
from mnistlab.launch import processes as world_size
from mnistlab.launch import same_everywhere, split_problem

# This loop joins the processes torchrun starts, so `mnistlab run --nproc N` may launch it.
JOINS_PROCESSES = True
TIMEOUT = timedelta(seconds=60)


def join_process_group(device):
    if dist.is_initialized():
        return
    backend = "nccl" if device.type == "cuda" else "gloo"
    if "RANK" in os.environ:  # started by torchrun, which says where the others are
        dist.init_process_group(backend, timeout=TIMEOUT)
    else:
        dist.init_process_group(backend, store=dist.HashStore(), rank=0, world_size=1,
                                timeout=TIMEOUT)


def loss_batch(model, loss_func, xb, yb):
    return loss_func(model(xb), yb).item(), len(xb)


class DistributedEpoch:
    def __init__(self):
        self.ddp = None

    def __call__(self, session):
        if self.ddp is None:
            # Every process checks the same numbers, so all refuse together, before any waits.
            problem = split_problem(len(session.data.x_train), session.config.bs, world_size())
            if problem:
                raise MnistlabError(problem)
            join_process_group(session.device)
            if not same_everywhere([len(session.data.x_train), session.config.bs],
                                   session.device):
                raise MnistlabError("the processes hold training sets or batch sizes of "
                                    "different sizes, so they would walk different batches; "
                                    "give every process the same data and --bs")
            self.ddp = DistributedDataParallel(session.model)
        rank, world = dist.get_rank(), dist.get_world_size()
        loss_func, opt = session.loss_func, session.opt

        self.ddp.train()
        for xb, yb in session.batches("train", shuffle=True):
            share = slice(rank, None, world)
            loss = loss_func(self.ddp(xb[share]), yb[share])
            (loss * (world * len(yb[share]) / len(yb))).backward()
            opt.step()
            opt.zero_grad()

            whole = loss.detach() * len(yb[share])
            dist.all_reduce(whole)
            session.report_loss(whole / len(yb))

        session.model.eval()
        with torch.no_grad():
            losses, nums = zip(
                *[loss_batch(session.model, loss_func, xb, yb)
                  for xb, yb in session.batches("valid")]
            )
        val_loss = np.sum(np.multiply(losses, nums)) / np.sum(nums)
        return {"valid_loss": val_loss}


@hookimpl
def make_loop():
    return DistributedEpoch()
