"""Each stage page's downloads: the stage as a plain script and a notebook, from
``mnistlab.exporter.build`` with the settings of the page's run; hooks.py writes them."""

from __future__ import annotations

import shlex
import textwrap

from mnistlab.exporter import build

from .blocks import fence
from .words import say

FILES: dict[str, bytes] = {}  # file name -> content, for the site's stages/downloads/


def downloads(name: str, run: str, lang: str = "en") -> str:
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
    return (say(lang, "download", script=links[0], notebook=links[1], data=links[2],
                export=run.replace(" run ", " export ", 1), name=name)
            + textwrap.indent(fence(runner, "python"), "    "))
