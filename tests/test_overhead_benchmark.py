"""benchmarks/overhead.py compares equal work: on tiny data, the plain tutorial code it builds
for each stage ends on exactly the weights and numbers that mnistlab's run of the stage ends on,
and a plain program that differs is caught."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest
import torch

from mnistlab.types import Tensors

BENCHMARK = Path(__file__).resolve().parents[1] / "benchmarks" / "overhead.py"


@pytest.fixture(scope="module")
def overhead():
    spec = importlib.util.spec_from_file_location("overhead_benchmark", BENCHMARK)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny(overhead) -> Tensors:
    """192 training rows (3 batches) and 64 validation rows: every loop, in milliseconds."""
    tensors = overhead.tensors_with(192)
    return Tensors(tensors.x_train, tensors.y_train, tensors.x_valid[:64],
                   tensors.y_valid[:64], name="tiny")


def test_the_plain_code_of_every_measured_stage_ends_where_mnistlab_ends(overhead, tiny):
    for stage in overhead.MEASURED:
        ours = overhead.run_mnistlab(stage, tiny, 2, 0)
        plain = overhead.run_plain(stage, tiny, 2, 0)
        overhead.check_same(stage, ours, plain)  # exits naming the stage when they differ


def test_a_plain_program_that_differs_is_caught(overhead, tiny):
    ours = overhead.run_mnistlab("fit", tiny, 2, 0)
    other_seed = overhead.run_plain("fit", tiny, 2, 1)
    with pytest.raises(SystemExit, match="fit: mnistlab and the plain loop disagree"):
        overhead.check_same("fit", ours, other_seed)
    seconds, history, model = overhead.run_plain("fit", tiny, 2, 0)
    with torch.no_grad():
        next(model.parameters())[0, 0] += 1e-6  # the same history, other weights
    with pytest.raises(SystemExit, match="end with different weights"):
        overhead.check_same("fit", ours, (seconds, ours[1], model))
