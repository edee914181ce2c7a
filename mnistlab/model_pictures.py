"""Pictures of a trained model: a linear model's weights, a network's feature maps.

Drawn as :mod:`mnistlab.plots` draws, on a figure measured in pixels, with no pyplot."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from mnistlab.plots import as_images, new_figure

WEIGHT_SIDE = 84
"""Pixel side of one class's weights in :func:`weight_images`: three per weight, as a digit."""

FEATURE_SIDE = 44
"""Pixel side of one channel in :func:`feature_maps`, whether its map is 28x28 or 4x4."""


def weight_images(weights: np.ndarray) -> Figure:
    """A linear model's weights as pictures: each row of ``(N, 784)`` weights, one per class,
    drawn as the 28x28 image it is multiplied with, titled with its class.

    Red where ink raises the class's score, blue where it lowers it, white where a pixel
    does not matter; one colour scale for all, symmetric about 0. Each class takes
    :data:`WEIGHT_SIDE` pixels and a margin, so ten classes are 928 x 110 pixels.
    """
    pictures = as_images(weights)
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
    fig = new_figure((width, height), layout=None)
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
