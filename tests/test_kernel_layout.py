"""The kernel's shape: layers without an import circle, a run that calls only downward, small
modules, and no plugin or stage named outside the stage table."""

from __future__ import annotations

import ast

import pytest

from mnistlab import layers
from mnistlab.stages import OBSERVERS, STAGES, pieces_of

# hookspecs.py is the plugin author's reference: one docstring per hook, kept in one file.
LONGEST = 300


def test_the_kernels_imports_have_no_circle():
    found = layers.find_circle(layers.import_graph())
    assert found is None, " -> ".join(found)


def test_the_circle_check_finds_a_circle():
    assert layers.find_circle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert layers.find_circle({"a": {"b"}, "b": set()}) is None


def test_imports_are_read_wherever_they_are_written():
    # A lazy import inside a function ties two modules as much as one at the top.
    assert "mnistlab.plots" in layers.imports_of("mnistlab.runner")
    assert "mnistlab.data.cache" in layers.imports_of("mnistlab.data.loading")  # from .cache


@pytest.mark.parametrize("stage", ["scratch", "dataloader", "cnn"])
def test_a_run_calls_only_downward_from_mnistlab_run_to_its_first_batch(stage):
    layer = layers.layer_of(layers.import_graph())
    calls = layers.call_path(stage, data="sample")
    assert calls[0] == ("mnistlab", "mnistlab.runner")
    assert ("mnistlab.runner", "mnistlab.assembly") in calls
    climbs = [(caller, callee) for caller, callee in calls if layer[callee] > layer[caller]]
    assert climbs == []


@pytest.mark.parametrize("module", sorted(layers.modules()))
def test_no_kernel_module_is_longer_than_a_sitting(module):
    if module == "mnistlab.hookspecs":
        pytest.skip("the hook reference: one docstring per hook, in one file")
    lines = len(layers.modules()[module].read_text().splitlines())
    assert lines <= LONGEST, f"{module} has {lines} lines"


def names_of_plugins_and_stages() -> set[str]:
    names = {stage.name for stage in STAGES} | set(OBSERVERS)
    for stage in STAGES:
        names.update(pieces_of(stage.name).values())
    return names


def test_the_kernel_names_no_plugin_and_no_stage_outside_the_stage_table():
    names = names_of_plugins_and_stages()
    named = [f"{path.name}:{node.lineno}: {node.value!r}"
             for module, path in layers.modules().items() if module != "mnistlab.stages"
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.Constant) and node.value in names]
    assert named == []
