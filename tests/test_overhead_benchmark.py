"""The overhead benchmark compares equal work: its plain tutorial code ends where the kernel does.

``benchmarks/overhead.py`` times every stage through mnistlab against plain tutorial code
composed from the stage's pieces. Its ratios mean something only if both sides compute the same
thing. So here, on 200 training rows over two epochs (the second epoch's order depends on every
number the first one drew from the shuffling generator), each stage must end on bit-identical
weights, the same per-epoch measurements and the same final validation loss; no tolerance is
needed, since both sides run the same operations in the same order. And the comparison must
catch plain programs that are wrong on purpose.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from mnistlab.stages import STAGE_NAMES, pieces_of

BENCHMARK = Path(__file__).resolve().parent.parent / "benchmarks" / "overhead.py"
COVERED = [name for name in STAGE_NAMES if name != "distributed"]
EPOCHS, SEED, BS = 2, 0, 32  # 7 training batches, the last one short; validation in 64 and 36


@pytest.fixture(scope="module")
def overhead():
    """The benchmark script as a module (benchmarks/ is no package)."""
    spec = importlib.util.spec_from_file_location("overhead_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(overhead):
    return overhead.sample_tensors(200, valid_rows=100)


def both_sides(overhead, stage, data):
    kernel = overhead.train_with_mnistlab(stage, data, EPOCHS, SEED, BS)
    plain = overhead.train_plainly(stage, data, EPOCHS, SEED, BS)
    return kernel, plain


def same_weights(kernel, plain) -> bool:
    assert len(kernel.weights) == len(plain.weights) > 0
    return all(map(torch.equal, kernel.weights, plain.weights))


def test_the_benchmark_covers_every_stage_but_distributed(overhead):
    assert overhead.COVERED_STAGES == COVERED


@pytest.mark.parametrize("stage", COVERED)
def test_the_plain_code_ends_where_the_kernel_does(overhead, tiny, stage):
    kernel, plain = both_sides(overhead, stage, tiny)
    assert same_weights(kernel, plain)
    assert plain.valid_loss == kernel.valid_loss
    assert plain.measured == kernel.measured and len(plain.measured) == EPOCHS
    assert overhead.differences(kernel, plain) == []


@pytest.mark.parametrize("stage", ["scratch", "fast"])  # the hand-written update, then SGD
def test_a_plain_program_with_another_learning_rate_is_caught(overhead, tiny, stage, monkeypatch):
    update = pieces_of(stage)["update"]
    right = overhead.PLAIN_PIECES[update]
    monkeypatch.setitem(overhead.PLAIN_PIECES, update,
                        lambda model, lr, momentum: right(model, lr * 1.01, momentum))
    kernel, plain = both_sides(overhead, stage, tiny)
    assert not same_weights(kernel, plain)
    assert plain.valid_loss != kernel.valid_loss
    assert "the final weights" in overhead.differences(kernel, plain)


def test_a_validation_loader_without_the_shared_generator_is_caught(overhead, tiny, monkeypatch):
    """The tutorial's ``valid_dl`` has no generator; the kernel's session hands every pass one."""
    right = overhead.PLAIN_PIECES["dataloader"]

    def validation_draws_elsewhere(x, y, bs, shuffle, generator, dev):
        return right(x, y, bs, shuffle, generator if shuffle else None, dev)

    monkeypatch.setitem(overhead.PLAIN_PIECES, "dataloader", validation_draws_elsewhere)
    kernel, plain = both_sides(overhead, "validation", tiny)
    # The first epoch agrees; its validation pass then drew from another generator, so the
    # second epoch shuffles differently.
    assert plain.measured[0] == kernel.measured[0]
    assert plain.measured[1] != kernel.measured[1]
    assert not same_weights(kernel, plain)
