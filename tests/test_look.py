"""Looking at runs: the plots (those a run folder keeps too), and the `compare`, `show` and
`predict` commands."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
import torch
from helpers import invoke, png_size, quick_run, refused
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import same_color
from matplotlib.figure import Figure

import mnistlab
from mnistlab import plots
from mnistlab.metrics import final_scores
from mnistlab.plugin_loading import builtin
from mnistlab.runner import open_run
from mnistlab.stages import pieces_of


def history(*rows: tuple[float, float | None, float | None]) -> list[dict]:
    return [{"epoch": i, "train_loss": train, "valid_loss": valid, "valid_acc": acc,
             "seconds": 0.5} for i, (train, valid, acc) in enumerate(rows, start=1)]


def make_run_folder(folder: Path, stage: str, rows: list[dict],
                    scores: tuple[float, float] | None = None) -> Path:
    """A run folder as `mnistlab run --out` writes it, minus the weights and plots; with
    ``scores`` (valid loss, valid accuracy after training), a finished one."""
    folder.mkdir()
    config = {"stage": stage, "settings": {"stage": stage, "data": "sample"},
              "versions": {}, "data": {}, "plugins": [], "device": "cpu"}
    (folder / "config.json").write_text(json.dumps(config))
    lines = ["epoch,train_loss,valid_loss,valid_acc,seconds"]
    lines += [",".join("" if row[key] is None else str(row[key])
                       for key in ("epoch", "train_loss", "valid_loss", "valid_acc", "seconds"))
              for row in rows]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    if scores is not None:
        (folder / "scores.json").write_text(json.dumps(
            {"valid_loss": scores[0], "valid_acc": scores[1], "steps": 10, "train_seconds": 1.0}))
    return folder


# plots ---------------------------------------------------------------------


def test_loss_curves_are_800_by_500_pixels(tmp_path):
    figure = plots.loss_curves({"fit": history((0.9, 0.5, 0.8), (0.4, 0.3, 0.9))})
    path = plots.save_figure(figure, tmp_path / "curves.png")
    assert path == tmp_path / "curves.png"
    assert png_size(path) == plots.LOSS_CURVES_SIZE == (800, 500)


def test_loss_curves_draw_train_solid_valid_dashed_and_accuracy_beside():
    figure = plots.loss_curves({"scratch": history((0.9, None, None), (0.6, None, None)),
                                "fit": history((0.8, 0.5, 0.85), (0.4, 0.3, 0.9))})
    loss_ax, acc_ax = figure.axes
    lines = {line.get_label(): line for line in loss_ax.lines}
    assert set(lines) == {"scratch train", "fit train", "fit valid"}  # scratch measured no valid
    assert lines["fit train"].get_linestyle() == "-"
    assert lines["fit valid"].get_linestyle() == "--"
    assert list(lines["fit valid"].get_ydata()) == [0.5, 0.3]
    assert same_color(lines["fit train"].get_color(), lines["fit valid"].get_color())
    assert not same_color(lines["fit train"].get_color(), lines["scratch train"].get_color())
    assert [line.get_label() for line in acc_ax.lines] == ["fit"]
    assert loss_ax.get_title() and loss_ax.get_xlabel() == "epoch"
    (legend,) = figure.legends  # one entry per run, in its colour, for both panels
    assert [text.get_text() for text in legend.get_texts()] == ["scratch", "fit"]
    assert same_color(legend.legend_handles[1].get_color(), lines["fit train"].get_color())


@pytest.mark.parametrize("names", [
    ["fit"],
    ["dataloader", "validation", "fit"],
    [f"runs/fit-20261130-1015{i:02d}" for i in range(9)],  # compare's long folder names
])
def test_the_loss_curves_legend_covers_no_curve_and_fits_the_picture(names):
    histories = {name: history(*[(1 / epoch + i, 0.5 / epoch + i, 0.9) for epoch in (1, 2, 3)])
                 for i, name in enumerate(names)}
    figure = plots.loss_curves(histories)
    renderer = FigureCanvasAgg(figure).get_renderer()
    figure.draw(renderer)
    (legend,) = figure.legends
    box = legend.get_window_extent(renderer)
    width, height = plots.LOSS_CURVES_SIZE
    assert 0 <= box.x0 and box.x1 <= width and 0 <= box.y0 and box.y1 <= height
    for ax in figure.axes:  # the panels with their titles, tick labels and axis labels
        assert not box.overlaps(ax.get_tightbbox(renderer)), ax.get_title()


def test_loss_curves_say_when_no_run_measured_accuracy():
    figure = plots.loss_curves({"scratch": history((0.9, None, None))})
    acc_ax = figure.axes[1]
    assert not acc_ax.lines
    assert "not measured" in acc_ax.texts[0].get_text()


def grid_titles(figure):
    """The digit grid's titles, in reading order, and whether each is in the wrong colour."""
    (ax,) = figure.axes
    return ([text.get_text() for text in ax.texts],
            [same_color(text.get_color(), plots.WRONG_COLOR) for text in ax.texts])


def test_digit_grid_marks_wrong_predictions_in_red(sample, tmp_path):
    labels = [3, 1, 4, 1, 5]
    figure = plots.digit_grid(sample.x_valid[:5], labels, predictions=[3, 7, 4, 1, 6], ncols=3)
    titles, wrong = grid_titles(figure)
    assert titles == ["3 (3)", "7 (1)", "4 (4)", "1 (1)", "6 (5)"]
    assert wrong == [False, True, False, False, True]
    frames = [same_color(frame.get_edgecolor(), plots.WRONG_COLOR)
              for frame in figure.axes[0].patches]
    assert frames == wrong
    # The caption above the grid says how to read the titles.
    assert [text.get_text() for text in figure.texts] == ["predicted (true), wrong ones in red"]
    # 3 columns x 2 rows of 100 x 120 pixel cells, under the caption's 24 pixels.
    assert png_size(plots.save_figure(figure, tmp_path / "grid.png")) == (300, 264)
    narrow = plots.digit_grid(sample.x_valid[:1], [3], predictions=[5])
    assert [text.get_text() for text in narrow.texts] == ["predicted (true)"]


def test_digit_grid_titles_labels_and_takes_rows_or_images(sample):
    rows = sample.x_train[:4]
    for images in (rows, rows.reshape(4, 28, 28)):
        figure = plots.digit_grid(images, sample.y_train[:4])
        assert grid_titles(figure) == ([str(y) for y in sample.y_train[:4]], [False] * 4)
        assert figure.texts == []  # titles that are labels alone need no caption
        np.testing.assert_array_equal(figure.axes[0].images[2].get_array(),
                                      rows[2].reshape(28, 28))
    with pytest.raises(ValueError, match="labels"):
        plots.digit_grid(rows, [1, 2])


def test_digit_grid_puts_each_digit_in_its_own_cell(sample):
    figure = plots.digit_grid(sample.x_valid[:10], sample.y_valid[:10], ncols=4)
    (ax,) = figure.axes
    width, height = plots.DIGIT_CELL_SIZE
    cells = []
    for image in ax.images:
        left, right, bottom, top = image.get_extent()
        column, row = int(left // width), int(top // height)
        # Inside its cell, and below the cell's title.
        assert column * width <= left < right <= (column + 1) * width
        assert row * height < top < bottom <= (row + 1) * height
        cells.append((row, column))
    assert cells == [divmod(i, 4) for i in range(10)]
    assert ax.get_xlim() == (0, 4 * width) and ax.get_ylim() == (3 * height, 0)


def test_weight_images_draw_each_class_on_one_scale_symmetric_about_zero(tmp_path):
    weights = np.linspace(-0.5, 2.0, 10 * 784).reshape(10, 784)
    figure = plots.weight_images(weights)
    (ax,) = figure.axes
    assert [text.get_text() for text in ax.texts] == [str(digit) for digit in range(10)]
    assert [image.get_clim() for image in ax.images] == [(-2.0, 2.0)] * 10
    np.testing.assert_array_equal(ax.images[3].get_array(), weights[3].reshape(28, 28))
    assert png_size(plots.save_figure(figure, tmp_path / "weights.png")) == (928, 110)
    with pytest.raises(ValueError, match="784"):
        plots.weight_images(np.zeros((784, 10)).T[:, :100])


def test_feature_maps_draw_a_row_per_layer_whatever_the_maps_size(tmp_path):
    layers = {"input": np.ones((1, 28, 28)), "conv1": np.arange(16 * 14 * 14.0).reshape(16, 14, 14),
              "conv3": -np.ones((10, 4, 4))}
    figure = plots.feature_maps(layers)
    (ax,) = figure.axes
    titles = [text.get_text() for text in ax.texts]
    assert titles[0] == "input: 1 × 28 × 28" and "conv1: 16 × 14 × 14" in titles
    assert "conv3: 10 × 4 × 4" in titles and titles[-1] == "9"
    sides = {round(image.get_extent()[1] - image.get_extent()[0]) for image in ax.images}
    assert len(ax.images) == 27 and sides == {plots.FEATURE_SIDE}
    # From 0 to each layer's largest value: a layer below 0 everywhere is all black.
    assert ax.images[1].get_clim() == (0.0, 16 * 14 * 14 - 1)
    assert ax.images[-1].get_clim()[0] == 0.0
    assert png_size(plots.save_figure(figure, tmp_path / "maps.png"))[0] == 840
    with pytest.raises(ValueError, match="channels"):
        plots.feature_maps({"flat": np.ones(10)})


def test_save_figure_writes_a_stated_size(tmp_path):
    figure = plots.loss_curves({"fit": history((0.9, 0.5, 0.8))})
    path = plots.save_figure(figure, tmp_path / "new" / "folder" / "small.png", size=(300, 200))
    assert png_size(path) == (300, 200)


class BrokenFigure(Figure):
    """Fails halfway through rendering, after writing part of the file."""

    def savefig(self, fname, **kwargs):
        fname.write(b"\x89PNG\r\n\x1a\n half a picture")
        raise RuntimeError("the renderer crashed")


def test_a_failed_save_keeps_the_old_file_and_leaves_no_temporary_file(tmp_path):
    old = tmp_path / "old.png"
    old.write_bytes(b"the previous picture")
    for target in (old, tmp_path / "new.png"):
        with pytest.raises(RuntimeError, match="crashed"):
            plots.save_figure(BrokenFigure(), target)
    assert old.read_bytes() == b"the previous picture"
    assert [path.name for path in tmp_path.iterdir()] == ["old.png"]


def test_save_figure_replaces_an_existing_file_and_leaves_nothing_else(tmp_path):
    target = tmp_path / "curves.png"
    target.write_bytes(b"the previous picture")
    plots.save_figure(plots.loss_curves({"fit": history((0.9, 0.5, 0.8))}), target)
    assert png_size(target) == (800, 500)
    assert [path.name for path in tmp_path.iterdir()] == ["curves.png"]


def test_a_run_folder_keeps_its_loss_curves_and_digit_grid_at_their_stated_sizes(tmp_path):
    quick_run(out=tmp_path / "run", epochs=2)
    for name, size in (("loss_curves.png", plots.LOSS_CURVES_SIZE), ("digits.png", (800, 384))):
        width, height = png_size(tmp_path / "run" / name)
        assert width >= 300 and height >= 200
        assert (width, height) == size  # the digit grid: 24 digits, 8 to a row, and a caption
    assert not list((tmp_path / "run").glob(".*tmp"))


# show ----------------------------------------------------------------------


@pytest.fixture
def temporary_folder(tmp_path, monkeypatch) -> Path:
    """The system's temporary folder, as the tempfile module sees it: a fresh one."""
    folder = tmp_path / "temporary"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def test_show_saves_the_first_training_digit_pixel_for_pixel(sample, tmp_path, monkeypatch,
                                                             temporary_folder):
    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    result = invoke("show", "--data", "sample")
    assert result.exit_code == 0, result.output
    saved, label = result.stdout.splitlines()
    assert label == f"label: {sample.y_train[0]}"
    # Nothing in the current folder: the picture is a new file in the temporary folder.
    assert list(here.iterdir()) == []
    (picture,) = temporary_folder.iterdir()
    assert saved == f"saved {picture}" and picture.name.startswith("mnistlab-digit-0-")
    pixels = matplotlib.image.imread(picture)
    assert pixels.shape[:2] == (280, 280)
    gray = pixels[..., 0]
    assert np.array_equal(gray, pixels[..., 1]) and np.array_equal(gray, pixels[..., 2])
    # Each of the 28x28 pixels is a uniform 10x10 block of the digit's own gray.
    blocks = gray.reshape(28, 10, 28, 10)
    assert np.ptp(blocks, axis=(1, 3)).max() == 0
    np.testing.assert_allclose(blocks[:, 0, :, 0], sample.x_train[0].reshape(28, 28),
                               atol=1 / 255 + 1e-6)


def test_show_grid_saves_labelled_digits_from_the_index(sample, tmp_path, temporary_folder):
    out = tmp_path / "grid.png"
    result = invoke("show", "--data", "sample", "--grid", "10", "--index", "5", "--out", str(out))
    assert result.exit_code == 0, result.output
    labels = " ".join(str(label) for label in sample.y_train[5:15])
    assert result.stdout.splitlines() == [f"saved {out}", f"labels: {labels}"]
    assert png_size(out) == (800, 240)
    assert list(temporary_folder.iterdir()) == []  # --out: nothing else is written
    again = invoke("show", "--data", "sample", "--grid", "10", "--index", "5")
    (picture,) = temporary_folder.iterdir()
    assert again.stdout.splitlines()[0] == f"saved {picture}"
    assert picture.name.startswith("mnistlab-digits-5-14-") and png_size(picture) == (800, 240)


def test_show_past_the_last_digit_is_a_one_line_error(tmp_path):
    result = invoke("show", "--data", "sample", "--index", "3999", "--grid", "2",
                    "--out", str(tmp_path / "x.png"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: digits 3999..4000 do not exist: there are 4,000 sample train digits (0..3999)"]
    assert not (tmp_path / "x.png").exists()


# compare -------------------------------------------------------------------


def table_rows(output: str) -> dict[str, list[str]]:
    """The rows of a rich table, as cells keyed by the first one."""
    rows = [[cell.strip() for cell in line.split("│")[1:-1]]
            for line in output.splitlines() if line.startswith("│")]
    return {cells[0]: cells[1:] for cells in rows}


def test_compare_two_stages_prints_both_and_saves_the_curves(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = invoke("compare", "scratch", "functional", "--epochs", "1", "--data", "sample")
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert list(rows) == ["scratch", "functional"]
    for stage, (name, epochs, train_loss, valid_loss, valid_acc, seconds) in rows.items():
        assert name == stage and epochs == "1"
        assert 0 < float(train_loss) < 2.3 and 0 < float(valid_loss) < 2.3
        assert 50 < float(valid_acc.rstrip("%")) <= 100 and float(seconds) > 0
    saved = result.stdout.splitlines()[-1].removeprefix("loss curves: ")
    assert Path(saved).parent == Path("runs") and Path(saved).name.startswith("compare-")
    assert png_size(tmp_path / saved) == (800, 500)


def test_compare_reads_run_folders(tmp_path):
    # The final scores come from scores.json, whatever the loop measured each epoch.
    early = make_run_folder(tmp_path / "early", "scratch", history((0.9, None, None)),
                            scores=(0.45, 0.875))
    late = make_run_folder(tmp_path / "late", "fit", history((0.8, 0.5, None), (0.4, 0.3, None)),
                           scores=(0.31, 0.9125))
    cut = make_run_folder(tmp_path / "cut", "fit", history((0.8, 0.5, None)))  # no end
    out = tmp_path / "all.png"
    result = invoke("compare", str(early), str(late), str(cut), "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows[str(early)] == ["scratch", "1", "0.9000", "0.4500", "87.5%", "0.50"]
    assert rows[str(late)] == ["fit", "2", "0.4000", "0.3100", "91.2%", "0.50"]
    assert rows[str(cut)] == ["fit", "1", "0.8000", "-", "-", "0.50"]
    caption = " ".join(result.stdout.split())
    assert f"{cut}: the run did not finish; `mnistlab run --resume {cut}` finishes it" in caption
    assert result.stdout.splitlines()[-1] == f"loss curves: {out}"
    assert png_size(out) == (800, 500)


def test_compare_shows_the_final_scores_of_every_finished_run_folder(tmp_path):
    # fit measures no accuracy each epoch; the validation after training does.
    fit = quick_run("fit", out=tmp_path / "fit")
    assert fit.history[-1]["valid_acc"] is None
    old = tmp_path / "old"  # mnistlab 0.1 kept no scores: its final weights are scored here
    shutil.copytree(Path(__file__).parent / "data" / "run-folder-0.1", old)
    session, _ = open_run(old)
    old_loss, old_acc = final_scores(session)
    result = invoke("compare", str(tmp_path / "fit"), str(old), "--out", str(tmp_path / "c.png"))
    assert result.exit_code == 0, result.output
    rows = table_rows(result.stdout)
    assert rows[str(tmp_path / "fit")][3:5] == [f"{fit.valid_loss:.4f}", f"{fit.valid_acc:.1%}"]
    assert rows[str(old)][3:5] == [f"{old_loss:.4f}", f"{old_acc:.1%}"]
    assert "-" not in [cell for row in rows.values() for cell in row]


def test_compare_refuses_an_unknown_name_in_one_line_before_training_anything(tmp_path):
    result = invoke("compare", "scratch", "fitt", "--out", str(tmp_path / "c.png"))
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: 'fitt' is neither a stage nor a run folder (did you mean 'fit'?); "
        "run `mnistlab stages` to list them"]
    assert not (tmp_path / "c.png").exists()


def test_compare_refuses_a_folder_that_is_no_run(tmp_path):
    result = invoke("compare", str(tmp_path), "--out", str(tmp_path / "c.png"))
    assert result.exit_code == 2
    assert "is not a run folder" in result.stderr


def test_compare_refuses_a_run_given_twice():
    result = invoke("compare", "fit", "fit")
    assert result.exit_code == 2
    assert "'fit' given more than once" in result.stderr


def test_compare_into_an_unwritable_place_is_one_line(tmp_path):
    folder = make_run_folder(tmp_path / "run", "fit", history((0.8, 0.5, 0.85)))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    line = refused("compare", str(folder), "--out", str(blocker / "curves.png"))
    assert "a-file" in line and "Traceback" not in line


# predict -------------------------------------------------------------------


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> tuple[Path, mnistlab.types.RunResult]:
    folder = tmp_path_factory.mktemp("runs") / "scratch"
    result = mnistlab.run("scratch", epochs=1, seed=0, data="sample", blocked=["console"],
                          out=str(folder))
    return folder, result


def test_predict_prints_each_digit_and_the_accuracy_and_saves_the_grid(trained, sample):
    folder, result = trained
    expected = result.model(torch.from_numpy(sample.x_valid[:16])).argmax(dim=1).numpy()
    output = invoke("predict", str(folder))
    assert output.exit_code == 0, output.output
    lines = output.stdout.splitlines()
    assert lines[0].split() == ["index", "true", "predicted"]
    digits = [line.split() for line in lines[1:17]]
    assert [int(cells[0]) for cells in digits] == list(range(16))
    assert [int(cells[1]) for cells in digits] == list(sample.y_valid[:16])
    assert [int(cells[2]) for cells in digits] == list(expected)
    assert [cells[3:] == ["wrong"] for cells in digits] == list(expected != sample.y_valid[:16])
    correct = int((expected == sample.y_valid[:16]).sum())
    assert lines[17] == f"accuracy: {correct}/16 ({correct / 16:.1%})"
    assert lines[18] == f"saved {folder / 'predictions.png'}"
    assert png_size(folder / "predictions.png") == (800, 264)


def test_predict_feeds_cnn_stages_images(tmp_path, sample):
    """From the wrapped stage on the loader reshapes, so adaptive's model takes images only."""
    folder = make_run_folder(tmp_path / "adaptive", "adaptive", [])
    torch.manual_seed(0)
    model = builtin(pieces_of("adaptive")["model"]).make_model()
    torch.save(model.state_dict(), folder / "model.pt")
    with pytest.raises(RuntimeError):
        model(torch.from_numpy(sample.x_valid[:3]))
    images = torch.from_numpy(sample.x_valid[:3]).view(-1, 1, 28, 28)
    expected = model(images).argmax(dim=1).tolist()
    out = tmp_path / "p.png"
    result = invoke("predict", str(folder), "--n", "3", "--out", str(out))
    assert result.exit_code == 0, result.output
    assert [int(line.split()[2]) for line in result.stdout.splitlines()[1:4]] == expected
    assert png_size(out) == (300, 144)


def test_predict_more_digits_than_the_run_has_is_a_one_line_error(trained):
    result = invoke("predict", str(trained[0]), "--n", "1001")
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: digits 0..1000 do not exist: there are 1,000 sample valid digits (0..999)"]


# help ----------------------------------------------------------------------


def test_every_command_has_help_and_imports_neither_torch_nor_matplotlib():
    code = (
        "import sys\n"
        "from mnistlab.cli import Mnistlab\n"
        "from mnistlab.cli_look import compare, predict, show\n"
        "group = Mnistlab(name='mnistlab', commands=[compare, show, predict])\n"
        "for name in ('compare', 'show', 'predict'):\n"
        "    try:\n"
        "        group([name, '--help'], prog_name='mnistlab')\n"
        "    except SystemExit:\n"
        "        pass\n"
        "heavy = [m for m in ('torch', 'matplotlib') if m in sys.modules]\n"
        "assert not heavy, f'imported {heavy}'\n"
        "print('ok')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("Usage: mnistlab") == 3
    assert done.stdout.strip().endswith("ok")
