"""Pictures of runs, digits and models: loss curves, digit grids, a linear model's weights, a
network's feature maps, and writing them to disk.

Every function builds a :class:`matplotlib.figure.Figure` directly instead of going
through pyplot, so nothing opens a window, nothing depends on the display backend,
and a figure is freed as soon as nobody references it (pyplot keeps every figure it
makes until it is closed). Sizes are stated in pixels because a PNG is what the
user looks at: each figure is made at :data:`DPI` dots per inch, and
:func:`save_figure` writes it at that resolution with no tight cropping, so the
file is exactly the size the docstring promises.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle
from matplotlib.ticker import MaxNLocator

from mnistlab.atomic import atomic_write
from mnistlab.errors import MnistlabError
from mnistlab.words import plural

DPI = 100
"""Dots per inch of every figure here: a size of W x H pixels is W/100 x H/100 inches."""

LOSS_CURVES_SIZE = (800, 500)
"""Pixel size (width, height) of :func:`loss_curves`."""

DIGIT_CELL_SIZE = (100, 120)
"""Pixel size (width, height) of one digit and its title in :func:`digit_grid`."""

DIGIT_SIDE = 28
"""MNIST digits are 28x28 pixels."""

DIGIT_GRID_SIDE = 84
"""Pixel side of one digit in :func:`digit_grid`: three screen pixels per digit pixel."""

DIGIT_GRID_MARGIN = 6
"""Pixels below each digit of :func:`digit_grid`, between it and the next row's title."""

WEIGHT_SIDE = 84
"""Pixel side of one class's weights in :func:`weight_images`: three per weight, as a digit."""

FEATURE_SIDE = 44
"""Pixel side of one channel in :func:`feature_maps`, whether its map is 28x28 or 4x4."""

WRONG_COLOR = "tab:red"
"""The colour of a wrong prediction's title and frame in :func:`digit_grid`."""

DIGIT_CAPTION_HEIGHT = 24
"""Pixels above a :func:`digit_grid` of predictions for the caption that reads its titles."""

LEGEND_ROW_HEIGHT = 18
"""Pixels of one row of the legend below :func:`loss_curves`."""


def loss_curves(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> Figure:
    """Overlay the training histories of several runs: 800 x 500 pixels.

    Left: train loss per epoch (solid) and valid loss (dashed, for the epochs that
    measured it), one colour per run. Right: valid accuracy per epoch. Below both, in a
    strip of its own that never covers a curve, one legend names each run's colour
    (as many rows as the runs need, the panels a little shorter). Stages before
    ``validation`` measure nothing on the valid split during training, and the
    tutorial's ``fit()`` (the ``fit`` stage on) measures the validation loss only, so
    some runs have no dashed line or no accuracy curve; the right panel says so when
    no run has one. ``histories`` maps a label to rows such as ``RunResult.history`` or
    ``runs.read_history()`` (keys ``epoch``, ``train_loss``, ``valid_loss``,
    ``valid_acc``; a missing measurement is ``None``).
    """
    # Fixed margins rather than a layout engine: the labels never change size, and
    # laying them out afresh takes as long as drawing the whole figure.
    fig = _figure(LOSS_CURVES_SIZE, layout=None)
    loss_ax, acc_ax = fig.subplots(1, 2)
    runs = []  # one legend entry per run: its colour, in both panels
    for i, (label, history) in enumerate(histories.items()):
        color = f"C{i % 10}"
        _plot_column(loss_ax, history, "train_loss", color, "-", f"{label} train")
        _plot_column(loss_ax, history, "valid_loss", color, "--", f"{label} valid")
        _plot_column(acc_ax, history, "valid_acc", color, "-", label)
        runs.append(Line2D([], [], color=color, marker="o", markersize=3, label=label))
    loss_ax.set(title="loss (solid: train, dashed: valid)", xlabel="epoch", ylabel="loss")
    acc_ax.set(title="valid accuracy", xlabel="epoch", ylabel="accuracy")
    for ax in (loss_ax, acc_ax):
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # no epoch 0.98
        ax.grid(alpha=0.3)
    # The legend sits below both panels, in a strip of its own, so it never covers a curve.
    columns = _legend_columns([run.get_label() for run in runs])
    legend = math.ceil(len(runs) / columns) * LEGEND_ROW_HEIGHT + 8 * bool(runs)  # and a gap
    fig.subplots_adjust(left=0.08, right=0.98, bottom=(50 + legend) / LOSS_CURVES_SIZE[1],
                        top=0.93, wspace=0.22)
    if runs:
        fig.legend(handles=runs, loc="lower center", bbox_to_anchor=(0.5, 0.005), ncols=columns,
                   fontsize="small", frameon=False, borderaxespad=0, handlelength=1.5)
    if not acc_ax.lines:
        acc_ax.text(0.5, 0.5, "not measured each epoch\nby this stage's loop",
                    ha="center", va="center", transform=acc_ax.transAxes, color="gray")
    return fig


def _legend_columns(labels: Sequence[str]) -> int:
    """As many legend columns as fit the figure's width with the longest label (at most 6)."""
    widest = max(map(len, labels), default=0) * 7 + 50  # a small font's letters, the line
    return max(1, min(len(labels), 6, LOSS_CURVES_SIZE[0] // widest))


def _plot_column(ax: Axes, history: Sequence[Mapping[str, Any]], key: str, color: str,
                 style: str, label: str) -> None:
    """Plot one measurement per epoch, skipping the epochs that did not measure it."""
    points = [(row["epoch"], row[key]) for row in history if row.get(key) is not None]
    if points:
        epochs, values = zip(*points, strict=True)
        ax.plot(epochs, values, style, color=color, marker="o", markersize=3, label=label)


def digit_grid(images: np.ndarray, labels: Sequence[int],
               predictions: Sequence[int] | None = None, ncols: int = 8) -> Figure:
    """Draw digits in a grid, titled with their label or "prediction (label)".

    Each digit takes :data:`DIGIT_CELL_SIZE` (100 x 120 pixels), so the figure is
    ``100 * min(ncols, N)`` pixels wide and ``120 * ceil(N / ncols)`` tall. With
    ``predictions``, a wrong one gets a title and a frame in :data:`WRONG_COLOR`, so
    the mistakes stand out at a glance, and a caption above the grid
    (:data:`DIGIT_CAPTION_HEIGHT` pixels more) says how to read the titles:
    "predicted (true)". ``images`` are ``(N, 784)`` rows or ``(N, 28, 28)`` images
    with pixels in [0, 1], drawn with black at 0.

    The grid is one set of axes measured in pixels, with each digit an image placed
    in its cell: a set of axes per digit takes five times as long to draw, and a
    run folder draws this grid at the end of every run.
    """
    pictures = _as_images(images)
    count = len(pictures)
    if count == 0:
        raise ValueError("digit_grid needs at least one image")
    if len(labels) != count or (predictions is not None and len(predictions) != count):
        raise ValueError(f"digit_grid got {plural(count, 'image')} but a different number of "
                         "labels or predictions")
    if ncols < 1:
        raise ValueError(f"ncols must be at least 1, got {ncols}")
    cols, rows = min(ncols, count), math.ceil(count / ncols)
    cell_width, cell_height = DIGIT_CELL_SIZE
    caption = 0 if predictions is None else DIGIT_CAPTION_HEIGHT
    height = cell_height * rows + caption
    fig = _figure((cell_width * cols, height), layout=None)
    ax = fig.add_axes((0, 0, 1, 1 - caption / height))
    if predictions is not None:  # a narrow grid has room for the titles' key alone
        key = "predicted (true)" + (", wrong ones in red" if cols >= 3 else "")
        fig.text(0.5, 1 - caption / 2 / height, key, ha="center", va="center",
                 fontsize="small" if cols >= 3 else "x-small", color="dimgray")
    ax.set_axis_off()
    side = DIGIT_GRID_SIDE
    title_height = cell_height - side - DIGIT_GRID_MARGIN
    for i, picture in enumerate(pictures):
        row, col = divmod(i, cols)
        left = col * cell_width + (cell_width - side) / 2
        top = row * cell_height + title_height
        ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest",
                  extent=(left, left + side, top + side, top))
        label = int(labels[i])
        wrong = predictions is not None and int(predictions[i]) != label
        title = str(label) if predictions is None else f"{int(predictions[i])} ({label})"
        ax.text(left + side / 2, top - 6, title, ha="center", va="bottom", fontsize="large",
                color=WRONG_COLOR if wrong else "black", fontweight="bold" if wrong else None)
        ax.add_patch(Rectangle((left, top), side, side, fill=False,
                               edgecolor=WRONG_COLOR if wrong else "black",
                               linewidth=3 if wrong else 0.8))
    # After the images, which set limits and aspect of their own: the axes span the
    # figure in pixels, y growing downwards like the rows.
    ax.set(xlim=(0, cell_width * cols), ylim=(cell_height * rows, 0), aspect="auto")
    return fig


def digit_image(image: np.ndarray, scale: int = 10) -> Figure:
    """The digit alone, as the tutorial's first ``imshow``: ``28 * scale`` pixels square.

    No axes, no title, no smoothing: each of the 28x28 pixels is a ``scale`` x
    ``scale`` block of gray, so the PNG holds exactly the digit's pixels, only
    larger (28 pixels would be too small to see).
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    (picture,) = _as_images(np.asarray(image)[np.newaxis])
    side = DIGIT_SIDE * scale
    fig = _figure((side, side), layout=None)  # the axes fill the figure: nothing to lay out
    ax = fig.add_axes((0, 0, 1, 1))
    _draw_digit(ax, picture)
    ax.set_axis_off()
    return fig


def weight_images(weights: np.ndarray) -> Figure:
    """A linear model's weights as pictures: each row of ``(N, 784)`` weights, one per class,
    drawn as the 28x28 image it is multiplied with, titled with its class.

    Red where ink raises the class's score, blue where it lowers it, white where a pixel
    does not matter; one colour scale for all, symmetric about 0. Each class takes
    :data:`WEIGHT_SIDE` pixels and a margin, so ten classes are 928 x 110 pixels.
    """
    pictures = _as_images(weights)
    limit = float(np.abs(pictures).max()) or 1.0
    return _image_rows({"": (pictures, [str(i) for i in range(len(pictures))])},
                       WEIGHT_SIDE, "RdBu_r", lambda _: (-limit, limit))


def feature_maps(layers: Mapping[str, np.ndarray]) -> Figure:
    """What one image becomes in each layer of a network: one row per layer, titled with its
    name and shape, and each channel of its ``(C, H, W)`` output a numbered square of
    :data:`FEATURE_SIDE` pixels, however few pixels the map has (no smoothing).

    Gray from 0 (black: a ReLU after the layer keeps nothing below it) to the layer's
    largest value (white). Sixteen channels make the figure 840 pixels wide.
    """
    rows = {}
    for name, maps in layers.items():
        maps = np.asarray(maps)
        if maps.ndim != 3:
            raise ValueError(f"{name}: expected (channels, height, width), got {maps.shape}")
        rows[f"{name}: {' × '.join(map(str, maps.shape))}"] = (
            maps, [str(i) for i in range(len(maps))] if len(maps) > 1 else [""])
    return _image_rows(rows, FEATURE_SIDE, "gray",
                       lambda maps: (0.0, max(float(maps.max()), 1e-12)))


def _image_rows(rows: Mapping[str, tuple[np.ndarray, Sequence[str]]], side: int, cmap: str,
                limits: Any) -> Figure:
    """Rows of titled square images on one set of axes measured in pixels (as
    :func:`digit_grid`): above each row its label, when it has one, and above each image its
    title; ``limits(images)`` gives a row's colour scale."""
    gap, label_height, title_height = 8, 24, 18
    width = gap + max(len(images) for images, _ in rows.values()) * (side + gap)
    height = sum((label_height if label else 0) + title_height + side + gap for label in rows)
    fig = _figure((width, height), layout=None)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    top = 0
    for label, (images, titles) in rows.items():
        if label:
            ax.text(gap, top + label_height - 6, label, fontweight="bold")
            top += label_height
        low, high = limits(images)
        for i, (picture, title) in enumerate(zip(images, titles, strict=True)):
            left = gap + i * (side + gap)
            ax.text(left + side / 2, top + title_height - 4, title, ha="center",
                    fontsize="small")
            ax.imshow(picture, cmap=cmap, vmin=low, vmax=high, interpolation="nearest",
                      extent=(left, left + side, top + title_height + side, top + title_height))
            ax.add_patch(Rectangle((left, top + title_height), side, side, fill=False,
                                   edgecolor="0.6", linewidth=0.8))
        top += title_height + side + gap
    ax.set(xlim=(0, width), ylim=(height, 0), aspect="auto")
    return fig


def _draw_digit(ax: Axes, picture: np.ndarray) -> None:
    ax.imshow(picture, cmap="gray", vmin=0, vmax=1, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])


def _as_images(images: np.ndarray) -> np.ndarray:
    """``(N, 784)`` rows or ``(N, 28, 28)`` images as ``(N, 28, 28)``."""
    array = np.asarray(images)
    if array.ndim not in (2, 3) or array.shape[1:] not in ((DIGIT_SIDE ** 2,),
                                                           (DIGIT_SIDE, DIGIT_SIDE)):
        raise ValueError(f"expected images of shape (N, 784) or (N, 28, 28), got {array.shape}")
    return array.reshape(-1, DIGIT_SIDE, DIGIT_SIDE)


def _figure(size: tuple[int, int], layout: str | None = "constrained") -> Figure:
    """A figure of ``size`` (width, height) pixels; constrained layout keeps titles apart."""
    width, height = size
    return Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout=layout)


def save_figure(fig: Figure, path: str | os.PathLike[str],
                size: tuple[int, int] | None = None) -> Path:
    """Write ``fig`` to ``path`` atomically and return the path; folders are created.

    The image is rendered into a hidden temporary file next to ``path`` and then
    renamed over it (:func:`mnistlab.atomic.atomic_write`), so a reader, or a
    crash while rendering, never sees a half-written file: ``path`` holds either
    its old content or the whole new picture, and the temporary file is removed
    if rendering fails.

    The file is ``fig``'s own size in pixels (see each figure's docstring), or
    ``size`` = (width, height) pixels when given. The format follows the suffix
    (``.png`` when there is none).
    """
    target = Path(path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:  # a file where a folder should be, a read-only place
        raise MnistlabError(f"cannot make the folder {target.parent} for {target.name} "
                            f"({error.strerror or error}); choose another place with --out"
                            ) from None
    if size is not None:
        fig.set_size_inches(size[0] / fig.dpi, size[1] / fig.dpi)
    with atomic_write(target) as file:
        fig.savefig(file, format=target.suffix.lstrip(".").lower() or "png", dpi=fig.dpi)
    return target
