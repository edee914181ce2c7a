"""The numbers the pages show beside the tutorial's: ``docs/data/*.json``, which
``scripts/tables.py`` records. A recorded run trained again gives the same numbers."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pytest
import torch

import mnistlab
from mnistlab.stages import STAGE_NAMES

ROOT = Path(__file__).resolve().parents[1]
RECORDED = json.loads((ROOT / "docs" / "data" / "sample.json").read_text("utf-8"))


def tables_script():
    spec = importlib.util.spec_from_file_location("tables", ROOT / "scripts" / "tables.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_file_holds_every_stage_over_twenty_seeds_and_says_how():
    assert list(RECORDED["stages"]) == list(STAGE_NAMES)
    assert RECORDED["seeds"] == list(range(20))
    assert RECORDED["command"].startswith("python scripts/tables.py")
    assert {"python", "torch", "numpy", "mnistlab"} <= set(RECORDED["versions"])
    for stage, runs in RECORDED["stages"].items():
        assert [run["seed"] for run in runs] == RECORDED["seeds"], stage
        assert all(len(run["epochs"]) == 25 and 0 < run["valid_acc"] <= 1 for run in runs)
    assert RECORDED["processes"]["nproc"] == 2


@pytest.mark.parametrize(("stage", "seed"), [("fit", 7), pytest.param("cnn", 13,
                                                                       marks=pytest.mark.slow)])
def test_a_recorded_run_trained_again_gives_the_recorded_numbers(stage, seed):
    again = tables_script().numbers(
        mnistlab.run(stage, data="sample", seed=seed, quiet=True).summary())
    recorded = RECORDED["stages"][stage][seed]
    if torch.__version__ == RECORDED["versions"]["torch"]:
        assert again == recorded  # every epoch's every number, to the last bit
    else:  # another torch may sum in another order: the same numbers to float rounding
        assert json.dumps(again).count(",") == json.dumps(recorded).count(",")
        assert again["valid_acc"] == pytest.approx(recorded["valid_acc"], abs=0.01)
