"""The stage table: every stage is its parent with exactly one piece swapped."""

from __future__ import annotations

import pytest

from mnistlab.errors import MnistlabError
from mnistlab.plugin_loading import builtin, instantiate
from mnistlab.stages import (
    FIRST_PIECES,
    PIECE_HOOKS,
    PIECES,
    STAGES,
    get_stage,
    hyper_of,
    pieces_of,
)


def test_the_first_stage_fills_every_piece():
    assert STAGES[0].parent is None
    assert set(FIRST_PIECES) == set(PIECES) == set(PIECE_HOOKS)


@pytest.mark.parametrize("stage", STAGES[1:], ids=lambda s: s.name)
def test_each_stage_differs_from_its_parent_in_exactly_one_piece(stage):
    mine, parents = pieces_of(stage.name), pieces_of(stage.parent)
    changed = [piece for piece in PIECES if mine[piece] != parents[piece]]
    assert changed == [stage.swaps]
    assert mine[stage.swaps] == stage.plugin


def test_stages_follow_each_other_in_table_order():
    for before, stage in zip(STAGES, STAGES[1:], strict=False):
        assert stage.parent == before.name


@pytest.mark.parametrize("stage", STAGES, ids=lambda s: s.name)
def test_every_named_plugin_implements_its_piece_and_nothing_else(stage):
    for piece, name in pieces_of(stage.name).items():
        plugin = instantiate(builtin(name))  # a module, or the object its make_plugin() makes
        hooks = [attr for attr in dir(plugin) if hasattr(getattr(plugin, attr), "mnistlab_impl")]
        assert hooks == [PIECE_HOOKS[piece]], f"{name} should implement only {PIECE_HOOKS[piece]}"


def test_hyper_parameters_follow_the_tutorial():
    assert hyper_of("dataloader") == {"lr": 0.5, "momentum": 0.0}
    assert hyper_of("cnn") == hyper_of("gpu") == {"lr": 0.1, "momentum": 0.9}


def test_an_unknown_stage_suggests_the_closest_name():
    with pytest.raises(MnistlabError, match="did you mean 'dataloader'"):
        get_stage("dataloder")


def test_the_tutorials_thirteen_step_names_are_all_stages():
    tutorial = ["scratch", "functional", "module", "linear", "optim", "dataset", "dataloader",
                "validation", "fit", "cnn", "sequential", "wrapped", "gpu"]
    names = [stage.name for stage in STAGES]
    assert [name for name in names if name in tutorial] == tutorial
