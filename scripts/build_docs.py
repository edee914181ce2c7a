"""Build the docs site in both languages, as ``make docs`` does: English into SITE (``site/``
by default), then Chinese into SITE/zh/, each with ``mkdocs build --strict``.

English first, because its build empties SITE; the Chinese pages load the English build's
assets. Both in one process: the page helpers import torch and mnistlab, which a second
``mkdocs build`` would import again. Each build starts with a line of its own
(``BUILD_STARTS``); the exit status is the first failed build's, and that build is the last.

    python scripts/build_docs.py [SITE]
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from mkdocs.__main__ import cli

ROOT = Path(__file__).resolve().parent.parent

BUILDS = (("English", "mkdocs.yml", ""), ("Chinese", "mkdocs.zh.yml", "zh"))
BUILD_STARTS = "docs: building the {} site ({}) into {}"


def main(site: str = "site") -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's notice about MkDocs 2
    site = os.path.abspath(site)  # SITE as the caller named it; then the builds run, as
    os.chdir(ROOT)  # `mkdocs build` must, from the repository (snippets, hooks' files)
    for language, config, below in BUILDS:
        folder = os.path.join(site, below) if below else site
        print(BUILD_STARTS.format(language, config, folder), file=sys.stderr, flush=True)
        try:
            cli.main(["build", "--strict", "-f", config, "-d", folder], prog_name="mkdocs")
        except SystemExit as end:  # click ends every command this way, with its exit status
            if end.code:
                return end.code if isinstance(end.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
