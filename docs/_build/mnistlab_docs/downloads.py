"""Each stage page's downloads: the stage as a plain script and a notebook, from
``mnistlab.exporter.build`` with the settings of the page's run; hooks.py writes them."""

from __future__ import annotations

import shlex
import textwrap

from mnistlab.exporter import build

from .blocks import fence
from .memo import keep_bytes, kept_bytes, kept_result
from .words import say

FILES: dict[str, bytes] = {}  # file name -> content, for the site's stages/downloads/


@kept_result
def exported(name: str, words: list[str]) -> dict[str, str]:
    """The stage's script and notebook, by file name, and the name of the data file they read
    (kept once for all stages: ``keep_bytes``)."""
    settings = {key[2:]: int(value) if value.isdigit() else value
                for key, value in zip(words[::2], words[1::2], strict=True)}
    script, notebook = (build(name, format=kind, **settings) for kind in ("py", "ipynb"))
    keep_bytes(script.data_name, script.data)
    return {f"{name}.py": script.text, f"{name}.ipynb": notebook.text, "data": script.data_name}


def downloads(name: str, run: str, lang: str = "en") -> str:
    """Links to the stage's files, and the script's runner part (``run``: the page's run)."""
    files = exported(name, shlex.split(run)[4:])  # after `mnistlab run --stage NAME`
    data = files.pop("data")
    FILES.update({file: text.encode() for file, text in files.items()})
    if data not in FILES:  # every stage's scripts read the same data file: read it once
        FILES[data] = kept_bytes(data)
    links = [f"[`{file}`](../downloads/{file}){{ download }}" for file in [*files, data]]
    script = files[f"{name}.py"]
    # The runner, much the same on every stage page, is not searched: it would bury the rest.
    runner = script[script.index("# %% The loop's view"):]
    return (say(lang, "download", script=links[0], notebook=links[1], data=links[2],
                export=run.replace(" run ", " export ", 1), name=name)
            + textwrap.indent(fence(runner, "python", searched=False), "    "))
