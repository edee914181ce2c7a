"""What the commands share: the one-line error, and the callbacks that check options."""

from __future__ import annotations

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


