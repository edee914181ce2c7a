"""What the commands share: the one-line error, the run's settings as options, and the
callbacks that check options."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import click

from mnistlab.errors import MnistlabError


class UserError(click.ClickException):
    """A ``MnistlabError`` shown as one line, with exit status 2."""

    exit_code = 2

    def show(self, file: Any = None) -> None:
        from mnistlab.launch import rank

        where = f" (process {rank()})" if rank() else ""  # one of N processes: say which
        click.echo(f"error{where}: {self.format_message()}", err=True)


def stage_name(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from mnistlab.stages import get_stage

    if value is not None:
        try:
            get_stage(value)
        except MnistlabError as error:
            raise UserError(str(error)) from None
    return value


def set_options(ctx: click.Context, param: click.Parameter,
             values: tuple[str, ...]) -> dict[str, str] | None:
    options = {}
    for text in values:
        name, equals, value = text.partition("=")
        if not (equals and name.strip()):
            raise UserError(f"--set {text!r}: write NAME=VALUE, for example --set patience=3")
        options[name.strip()] = value.strip()
    return options or None


# The settings of a run, as `run` and `export` take them: each a keyword of mnistlab.run().
SETTINGS = (
    click.option("--epochs", type=click.IntRange(min=0),
                 help="Epochs to train [default: as many examples as the tutorial sees: "
                      "2 on full MNIST, 25 on the sample]."),
    click.option("--bs", type=click.IntRange(min=1), help="Batch size [default: 64]."),
    click.option("--lr", type=click.FloatRange(min=0, min_open=True),
                 help="Learning rate [default: 0.5, or 0.1 from the cnn stage on]."),
    click.option("--momentum", type=click.FloatRange(min=0, max=1, max_open=True),
                 help="SGD momentum [default: 0, or 0.9 from the cnn stage on]."),
    click.option("--seed", type=int,
                 help="Seeds the model's weights and the shuffling [default: 0]."),
    click.option("--device", help="cpu, cuda, cuda:N, mps or xpu [default: the stage's device "
                                  "piece]."),
    click.option("--deterministic/--nondeterministic", default=None,
                 help="Deterministic kernels: the same seed gives the same weights on every "
                      "device [default: deterministic]."),
    click.option("--data", help="sample, mnist, fashion-mnist, or a local file or folder "
                                "[default: mnist if downloaded, else sample]."),
    click.option("--data-dir", type=click.Path(file_okay=False),
                 help="The dataset cache [default: $MNISTLAB_DATA or the user cache folder]."),
    click.option("--plugin", "-p", "plugins", multiple=True,
                 help="A plugin: a .py file or an importable module. Repeatable."),
    click.option("--no-plugin", "blocked", multiple=True,
                 help="Do not register the plugin of this name. Repeatable."),
    click.option("--set", "options", multiple=True, metavar="NAME=VALUE", callback=set_options,
                 help="Set an option that a plugin declares (see `mnistlab plugins`). "
                      "Repeatable."),
)


def settings_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """Give ``command`` the run's settings as options, in the order ``--help`` lists them."""
    for option in reversed(SETTINGS):
        command = option(command)
    return command
