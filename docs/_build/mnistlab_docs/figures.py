"""Pictures of the model that a stage page's run trained, read back from its run folder with
``mnistlab.load``: a logistic model's weights, a CNN's shapes and feature maps."""

from __future__ import annotations

import tempfile
from pathlib import Path

import torch

import mnistlab
from mnistlab import data, model_pictures, plots

from .blocks import inline_png
from .kept import command
from .memo import kept_result
from .stage_pages import stage_command
from .words import say


def trained(stage: str):
    return mnistlab.load(str(command(stage_command(stage)).run_folder))


def inline_figure(figure, alt: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        return inline_png(plots.save_figure(figure, Path(folder) / "figure.png"), alt, "figure")


@kept_result  # the picture of a kept run: drawn once per version of the code
def weight_picture(stage: str, lang: str = "en") -> str:
    """The logistic model's ten weight vectors, each drawn as a 28 x 28 image."""
    weights = next(p for p in trained(stage).parameters() if p.dim() == 2).detach()
    rows = weights if weights.shape[0] == 10 else weights.T  # raw_logistic's is 784 x 10
    return inline_figure(model_pictures.weight_images(rows.numpy()),
                         say(lang, "weights alt", stage=stage))


def layer_outputs(model, x: torch.Tensor,
                  lang: str = "en") -> list[tuple[str, str, torch.Tensor]]:
    """The image ``x[0]`` on its way through ``model``, as (name, where, tensor), recorded by
    forward hooks on its layers: what a layer receives (when that is new) and what it gives."""
    seen = [("row", say(lang, "row"), x[0])]

    def record(layer, args, out, name):
        if args[0][0].shape != seen[-1][2].shape:
            seen.append(("input", say(lang, "receives", name=name), args[0][0]))
        seen.append((name, say(lang, "gives", name=name), out[0]))

    hooks = [layer.register_forward_hook(lambda *hooked, name=name: record(*hooked, name))
             for name, layer in model.named_children()]
    with torch.no_grad():
        seen.append(("scores", say(lang, "scores"), model(x)[0]))
    for hook in hooks:
        hook.remove()
    return seen


@kept_result
def layer_shapes(stage: str, digit: int = 0, lang: str = "en") -> str:
    """Validation image ``digit`` of the sample through the stage's trained model: its shape
    after each layer, then what each layer makes of it."""
    sample = data.load("sample")
    steps = layer_outputs(trained(stage), torch.tensor(sample.x_valid[digit:digit + 1]), lang)
    shapes = [(where, " × ".join(map(str, t.shape))) for _, where, t in steps]
    label, guess = int(sample.y_valid[digit]), int(steps[-1][2].argmax())
    rows = "".join(f"| {where} | {shape} |\n" for where, shape in shapes)
    return (f"**{' → '.join(shape for _, shape in shapes[1:])}**\n\n{say(lang, 'shapes head')}"
            f"\n|---|---|\n{rows}\n" + say(lang, "shapes", digit=digit, label=label, guess=guess)
            + inline_figure(model_pictures.feature_maps({name: t.numpy() for name, _, t in steps
                                                         if t.dim() == 3}),
                            say(lang, "maps alt", stage=stage, label=label)))
