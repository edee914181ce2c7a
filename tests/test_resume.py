"""Resume: a run continued from its last complete epoch ends exactly where an uninterrupted
one ends, or is refused in one line when it cannot.

The runs train on the tiny data and draw blank pictures, except where the real sample is
named: resume is exact on real data too.
"""

from __future__ import annotations

import json
import re
import shutil

import pytest
import torch
from helpers import (
    EARLY_STOPPING,
    TINY_BATCHES,
    flat_weights,
    interrupt_mid_epoch,
    invoke,
    quick_run,
    refused,
    tiny_data,
)

from mnistlab import runner
from mnistlab.errors import MnistlabError
from mnistlab.runfolder import RunFolder

pytestmark = pytest.mark.usefixtures("blank_pictures")

# --- resume is exact ------------------------------------------------------------------------


@pytest.mark.parametrize(("stage", "on_sample"), [
    pytest.param("scratch", False, id="scratch"),
    pytest.param("fit", True, id="fit-on-the-sample"),
    pytest.param("cnn", False, id="cnn"),
])
def test_resume_ends_with_the_weights_of_an_uninterrupted_run(tmp_path, stage, on_sample,
                                                              sample_batches):
    data = {"data": "sample"} if on_sample else {}
    interrupt = interrupt_mid_epoch(2, sample_batches if on_sample else TINY_BATCHES)
    whole = quick_run(stage, out=tmp_path / "whole", epochs=3, **data)
    with pytest.raises(KeyboardInterrupt):
        quick_run(stage, out=tmp_path / "cut", epochs=3, plugin_objects=(interrupt,), **data)
    assert RunFolder(tmp_path / "cut").read_checkpoint()["epoch"] == 1
    resumed = runner.resume(tmp_path / "cut", blocked=["console"])
    assert torch.equal(flat_weights(resumed.model), flat_weights(whole.model))
    assert [row["epoch"] for row in resumed.history] == [1, 2, 3]

    def losses(folder):
        return [(row["train_loss"], row["valid_loss"]) for row in RunFolder(folder).read_history()]

    assert losses(tmp_path / "cut") == losses(tmp_path / "whole")


def test_early_stopping_resumes_exactly_and_a_stopped_run_stays_stopped(tmp_path,
                                                                       sample_batches):
    # On the sample at lr 5, where the validation loss jumps about and early stopping ends
    # the run after a few epochs.
    settings = {"epochs": 30, "lr": 5.0, "data": "sample", "plugins": [EARLY_STOPPING]}
    whole = quick_run(out=tmp_path / "whole", **settings)
    assert len(whole.epochs) < 30
    with pytest.raises(KeyboardInterrupt):
        quick_run(out=tmp_path / "cut", plugin_objects=(interrupt_mid_epoch(3, sample_batches),),
                  **settings)
    resumed = runner.resume(tmp_path / "cut", plugins=[EARLY_STOPPING], blocked=["console"])
    assert [e.epoch for e in resumed.epochs] == [e.epoch for e in whole.epochs]
    for a, b in zip(resumed.model.parameters(), whole.model.parameters(), strict=True):
        assert torch.equal(a, b)

    again = runner.resume(tmp_path / "whole", plugins=[EARLY_STOPPING], blocked=["console"])
    assert again.steps == whole.steps and len(again.epochs) == len(whole.epochs)
    assert torch.equal(torch.load(tmp_path / "whole" / "model.pt")["lin.weight"],
                       whole.model.lin.weight)


def test_a_longer_resume_is_recorded(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    runner.resume(folder, epochs=3, blocked=["console"])
    assert json.loads((folder / "config.json").read_text())["lesson"]["epochs"] == 3
    again = runner.resume(folder, blocked=["console"])
    assert [e.epoch for e in again.epochs] == [1, 2, 3]


def test_resume_prints_as_its_own_command_says_not_as_the_first_one_did(tmp_path):
    folder = str(tmp_path / "run")
    quiet = invoke("run", "--stage", "fit", "--epochs", "1", "--data", tiny_data(), "--out",
                   folder, "--quiet")
    assert quiet.exit_code == 0 and quiet.stdout == ""
    resumed = invoke("run", "--resume", folder, "--epochs", "2")
    assert resumed.exit_code == 0, resumed.output
    assert re.search(r"^    2 +\d", resumed.stdout, re.M)  # the epoch it trained, on screen
    finished = invoke("run", "--resume", folder)
    assert "nothing to train: the run's 2 epochs are done (pass --epochs N to train longer)" in (
        finished.stdout)


# --- or refuses -----------------------------------------------------------------------------


def test_resume_refuses_fewer_epochs_than_it_has_trained(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder, epochs=2)
    before = (folder / "config.json").read_bytes()
    assert refused("run", "--resume", str(folder), "--epochs", "1") == (
        f"the run in {str(folder)!r} has trained 2 epochs; --epochs 1 would train none: pass "
        "more than 2 to train longer, or leave --epochs out")
    assert (folder / "config.json").read_bytes() == before  # the record still says 2


def test_resume_refuses_settings_it_cannot_honour(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    assert refused("run", "--resume", str(folder), "--lr", "0.1", "--bs", "32") == (
        f"--resume continues {folder} with its recorded settings, which --lr, --bs would "
        "change; drop them, or start a new run with --out")


def test_resume_refuses_data_that_changed(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    record = json.loads((folder / "config.json").read_text())
    record["data"]["checksum"] = "0" * 64
    (folder / "config.json").write_text(json.dumps(record))
    with pytest.raises(MnistlabError, match="differs from the data the run in .* trained on"):
        runner.resume(folder, epochs=2, blocked=["console"])


def test_a_checkpoint_of_another_stage_is_one_line(tmp_path):
    quick_run("cnn", out=tmp_path / "cnn")
    quick_run(out=tmp_path / "fit")
    shutil.copy(tmp_path / "cnn" / "checkpoint.pt", tmp_path / "fit" / "checkpoint.pt")
    assert refused("run", "--resume", str(tmp_path / "fit"), "--epochs", "2") == (
        f"checkpoint.pt in {str(tmp_path / 'fit')!r} does not fit this run of stage fit "
        "(RuntimeError); the run folder is damaged")


def test_a_zero_given_with_resume_is_a_value_not_nothing(tmp_path):
    # --seed 0 against a run made with seed 5 changes the run: refused like any other seed.
    folder = tmp_path / "run"
    quick_run(out=folder, seed=5)
    assert refused("run", "--resume", str(folder), "--seed", "0") == (
        f"--resume continues {folder} with its recorded settings, which --seed would change; "
        "drop them, or start a new run with --out")
    assert refused("run", "--resume", str(folder), "--epochs", "0") == (
        f"the run in {str(folder)!r} has trained 1 epoch; --epochs 0 would train none: pass "
        "more than 1 to train longer, or leave --epochs out")


def test_force_with_resume_says_the_two_do_opposite_things(tmp_path):
    folder = tmp_path / "run"
    quick_run(out=folder)
    assert refused("run", "--resume", str(folder), "--force") == (
        "--force replaces a run and --resume continues one; drop --force")
