"""A run's record, config.json, and what is rebuilt from it: the plugins a run used are kept as
copies and hashes, a folder never runs code by itself, and ``load`` gives back the trained
model, asking again for the plugins and plugin objects that filled its pieces.

The runs train on the tiny data and draw blank pictures: the record is the point here.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from helpers import invoke, quick_run, refused, write_plugin

import mnistlab
from mnistlab import hookimpl
from mnistlab.errors import MnistlabError
from mnistlab.record import file_sha256

pytestmark = pytest.mark.usefixtures("blank_pictures")


def test_load_rebuilds_the_trained_model(tmp_path):
    result = quick_run(out=tmp_path)
    model = mnistlab.load(tmp_path)
    x = torch.rand(5, 784)
    result.model.eval()
    assert torch.equal(model(x), result.model(x))


# --- the plugins a run used -----------------------------------------------------------------


def test_a_run_keeps_a_copy_and_hash_of_each_plugin_and_wants_the_same_file_again(tmp_path):
    plugin = Path(write_plugin(tmp_path, """
        from torch import optim
        from mnistlab import hookimpl

        @hookimpl
        def make_update(model):
            return optim.Adam(model.parameters(), lr=1e-3)
    """, name="adam"))
    folder = tmp_path / "run"
    quick_run(out=folder, plugins=[str(plugin)])
    record = json.loads((folder / "config.json").read_text())
    (entry,) = record["user_plugins"]
    assert entry == {"spec": str(plugin), "sha256": file_sha256(plugin),
                     "copy": "plugins/1-adam.py"}
    assert (folder / entry["copy"]).read_bytes() == plugin.read_bytes()

    assert isinstance(mnistlab.load(str(folder), plugins=[str(plugin)]), torch.nn.Module)
    predicted = invoke("predict", str(folder), "--plugin", str(plugin), "--n", "4")
    assert predicted.exit_code == 0, predicted.output
    plugin.write_text(plugin.read_text().replace("1e-3", "1e-2"))
    assert refused("predict", str(folder), "--plugin", str(plugin)).startswith(
        f"plugin {str(plugin)!r} differs from {str(plugin)!r}, which the run in "
        f"{str(folder)!r} used (sha256 {entry['sha256'][:12]}...")


class Recorder:
    @hookimpl
    def after_epoch(self, result):
        pass


class SmallModel:
    """A plugin object that fills the model piece."""

    @hookimpl
    def make_model(self):
        return torch.nn.Linear(784, 10)


def test_plugin_objects_are_recorded_and_a_folder_needs_the_ones_that_fill_pieces(tmp_path):
    out = tmp_path / "run"
    quick_run(out=out, plugin_objects=(Recorder(), SmallModel()))
    record = json.loads((out / "config.json").read_text())
    assert record["pieces"]["model"] == {"plugin": "SmallModel", "origin": "object"}
    assert ["Recorder", "object", ["after_epoch"]] in record["plugins"]
    with pytest.raises(MnistlabError, match=r"the model of the run in .* came from the plugin "
                                            r"object 'SmallModel', which a folder cannot "
                                            r"rebuild; pass it again"):
        mnistlab.load(str(out))
    model = mnistlab.load(str(out), plugin_objects=(SmallModel(),))
    assert isinstance(model, torch.nn.Linear)


# --- no code runs from a folder -------------------------------------------------------------


@pytest.fixture
def evil(tmp_path: Path) -> tuple[Path, Path]:
    """A plugin file that leaves a marker when imported, and that marker's path."""
    marker = tmp_path / "it-ran"
    path = write_plugin(tmp_path, f"""
        from pathlib import Path
        Path({str(marker)!r}).write_text("code from a run folder ran")
    """, name="evil")
    return Path(path), marker


def edit_config_to_name(folder: Path, plugin: Path) -> None:
    record = json.loads((folder / "config.json").read_text())
    record["settings"]["plugins"] = [str(plugin)]
    record["user_plugins"] = [{"spec": str(plugin), "sha256": file_sha256(plugin),
                               "copy": "plugins/1-evil.py"}]
    (folder / "config.json").write_text(json.dumps(record))


def test_a_plugin_named_in_an_edited_config_never_runs(tmp_path, evil):
    path, marker = evil
    folder = tmp_path / "shared"
    quick_run(out=folder)
    edit_config_to_name(folder, path)
    message = (f"the run in {str(folder)!r} used the plugin {str(path)!r} (its copy is "
               "plugins/1-evil.py there); a run folder never runs code by itself: pass the "
               "file again with --plugin")
    with pytest.raises(MnistlabError) as error:
        mnistlab.load(str(folder))
    assert str(error.value) == message
    assert refused("predict", str(folder)) == message
    assert refused("run", "--resume", str(folder), "--epochs", "2") == message
    assert not marker.exists()


def test_a_folder_that_names_plugins_without_their_hashes_is_refused(tmp_path, evil):
    path, marker = evil
    folder = tmp_path / "old"
    quick_run(out=folder)
    edit_config_to_name(folder, path)
    record = json.loads((folder / "config.json").read_text())
    del record["user_plugins"]  # as a run folder from before the hashes were kept
    (folder / "config.json").write_text(json.dumps(record))
    message = (f"the run in {str(folder)!r} used --plugin {path}, but its config.json keeps no "
               "hash to check a file against (an older mnistlab wrote it); start a new run "
               "with those plugins")
    assert refused("run", "--resume", str(folder), "--epochs", "2") == message
    assert refused("predict", str(folder), "--plugin", str(path)) == message
    assert not marker.exists()
