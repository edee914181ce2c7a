"""Each stage page's downloads: the stage as a plain script and a notebook, from
``mnistlab.exporter.build`` with the settings of the page's run; hooks.py writes them."""

from __future__ import annotations

import shlex
import textwrap

from mnistlab.exporter import build

from .blocks import fence

FILES: dict[str, bytes] = {}  # file name -> content, for the site's stages/downloads/


def downloads(name: str, run: str) -> str:
    """Links to the stage's files, and the script's runner part (``run``: the page's run)."""
    words = shlex.split(run)[4:]  # after `mnistlab run --stage NAME`: --epochs 2 --data sample
    settings = {key[2:]: int(value) if value.isdigit() else value
                for key, value in zip(words[::2], words[1::2], strict=True)}
    script, notebook = (build(name, format=kind, **settings) for kind in ("py", "ipynb"))
    files = {f"{name}.py": script.text.encode(), f"{name}.ipynb": notebook.text.encode(),
             script.data_name: script.data}
    FILES.update(files)
    links = [f"[`{file}`](../downloads/{file}){{ download }}" for file in files]
    runner = script.text[script.text.index("# %% The loop's view"):]
    return (f"## Download it\n\nThe stage as one plain PyTorch program that never imports "
            f"mnistlab, {links[0]}, or as a notebook with this page's text, {links[1]}; each "
            f"reads {links[2]} from beside it. `{run.replace(' run ', ' export ', 1)} --out "
            f"{name}.py` wrote them: `python {name}.py` prints the numbers of the run above, "
            "and ends with the JSON line of `mnistlab run --json`.\n\n??? example \"What "
            "mnistlab's runner does around the plugins, in plain code\"\n\n"
            + textwrap.indent(fence(runner, "python"), "    "))
