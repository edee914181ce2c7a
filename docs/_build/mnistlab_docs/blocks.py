"""Markdown building blocks: code blocks, pictures, repository text and code a page runs.
markdown-exec converts this Markdown without MkDocs' link rewriting, so a link to another
page is the URL it has in the built site (``../cnn/``)."""

from __future__ import annotations

import ast
import base64
import io
import re
import textwrap
from pathlib import Path

from mnistlab.sources import plugin_source

from .words import phrase

ROOT = Path(__file__).resolve().parents[3]


def fence(text: str, lang: str = "text", title: str = "", wrap: bool = False,
          searched: bool = True) -> str:
    """``text`` as a code block; ``wrap`` breaks long lines at the edge, not scrolling sideways;
    ``searched=False`` keeps it out of the search index, which every page load builds anew."""
    ticks = "`" * max(3, 1 + max(map(len, re.findall("`+", text)), default=0))
    header = [f".{lang}", ".wrap" * wrap, title and f'title="{title}"',
              "" if searched else 'data-search-exclude=""']  # Material's search skips it
    return f"{ticks}{{{' '.join(filter(None, header))}}}\n{text.rstrip()}\n{ticks}\n"


def inline_png(png: Path | io.BytesIO, alt: str, css_class: str = "") -> str:
    """An ``<img>`` holding the PNG (a file, or one drawn in memory), so the page needs no
    file beside it."""
    raw = png.getvalue() if isinstance(png, io.BytesIO) else Path(png).read_bytes()
    data = base64.b64encode(raw).decode("ascii")
    return f'<img class="{css_class}" alt="{alt}" src="data:image/png;base64,{data}">\n'


def source_block(plugin: str) -> str:
    return fence(plugin_source(plugin), "python", title=f"plugins/{plugin}.py")


def function_source(path: str, name: str) -> str:
    """The top-level function, class or assignment ``name`` of a repository file."""
    text = (ROOT / path).read_text("utf-8")
    for node in ast.parse(text).body:
        # What the statement defines: an assignment's targets, or the function or class itself.
        named = getattr(node, "targets", [getattr(node, "target", node)])
        if name in (getattr(each, "id", getattr(each, "name", None)) for each in named):
            start = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
            shown = "\n".join(text.splitlines()[start - 1:node.end_lineno])
            return fence(shown, "python", title=f"{path}: {name}")
    raise RuntimeError(f"{path} defines no {name}")


def readme_commands(heading: str) -> str:
    """The first ``sh`` block under ``## heading`` in README.md."""
    section = (ROOT / "README.md").read_text("utf-8").split(f"## {heading}\n")[1]
    commands = re.search(r"```sh\n(.*?)```", section.split("\n## ")[0], re.S).group(1)
    return fence(commands, "sh", title="README.md", wrap=True)


def toml_tables(path: str, *names: str) -> str:
    """The tables ``[name]`` of a TOML file, each with the comments just above it."""
    text = (ROOT / path).read_text("utf-8")
    shown = [re.search(rf"(^#.*\n)*^\[{re.escape(name)}\]\n(^([^\[#\n].*)?\n)*", text, re.M)
             .group(0).strip() for name in names]
    return fence("\n\n".join(shown), "toml", title=path)


def user_code(files: dict[str, str]) -> str:
    """The plugin files a page writes (name -> text), each titled with its name."""
    return "\n".join(fence(textwrap.dedent(text).strip(), "python", title=name)
                     for name, text in files.items())


def python_example(source: str, lang: str = "en") -> str:
    """``source`` as a code block, then what running it printed (stdout and stderr, in order),
    kept between builds of the same code."""
    from .memo import printed_by  # not above: memo imports kept, which imports this module

    source = textwrap.dedent(source).strip() + "\n"
    shown = fence(printed_by(source), title=phrase("output", lang), wrap=True)
    return f"{fence(source, 'python')}\n{shown}"
