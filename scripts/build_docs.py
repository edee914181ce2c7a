"""Build the docs site in both languages, as ``make docs`` does: English into SITE (``site/``
by default) and Chinese into SITE/zh/, each with ``mkdocs build --strict``, at the same time.

The English build runs in this process and the Chinese one in a copy of it (``os.fork``), made
once what both import is imported, so that the two use both cores and pay for the imports once.
The Chinese site is written into SITE/.zh-new/ first, since the English build empties SITE when
it starts (but for its dot-folders), and takes SITE/zh/'s place once both builds have passed.
What the pages run is shared through build/docs-runs/: the English build trains the stage
pages' runs, and of the rest, whichever build needs a command or a result first makes it while
the other waits (docs/_build/mnistlab_docs/kept.py and store.py).

Each build's log is printed whole, English first, each after a line of its own
(``BUILD_STARTS``). The exit status is the first failed build's, and that build is the last:
when the English build fails, the Chinese one is stopped and not reported.

    python scripts/build_docs.py [SITE]
"""

from __future__ import annotations

import os
import shutil
import signal
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO

from mkdocs.__main__ import cli
from mkdocs.config import load_config

ROOT = Path(__file__).resolve().parent.parent

BUILD_STARTS = "docs: building the {} site ({}) into {}"


def main(site: str = "site") -> int:
    os.environ.setdefault("NO_MKDOCS_2_WARNING", "1")  # mkdocs-material's notice about MkDocs 2
    site = os.path.abspath(site)  # SITE as the caller named it; then the builds run, as
    os.chdir(ROOT)  # `mkdocs build` must, from the repository (snippets, hooks' files)
    zh, zh_new = os.path.join(site, "zh"), os.path.join(site, ".zh-new")
    shutil.rmtree(zh_new, ignore_errors=True)  # left by a build that was killed
    import_once()

    def chinese_build() -> int:
        # It waits for the stage runs that the English build trains in its worker processes,
        # rather than train them too (docs/_build/hooks.py).
        os.environ["MNISTLAB_DOCS_RUNS_BESIDE"] = "1"
        return _build_here("mkdocs.zh.yml", zh_new)

    with tempfile.TemporaryFile("w+", encoding="utf-8") as zh_log:
        chinese = in_a_copy(chinese_build, zh_log)
        print(BUILD_STARTS.format("English", "mkdocs.yml", site), file=sys.stderr, flush=True)
        try:
            english = _build_here("mkdocs.yml", site)
        except BaseException:  # Ctrl-C, or a crash: the Chinese build goes with it
            _stop(chinese, zh_new)
            raise
        if english:
            _stop(chinese, zh_new)
            return english
        status = os.waitstatus_to_exitcode(os.waitpid(chinese, 0)[1])
        print(BUILD_STARTS.format("Chinese", "mkdocs.zh.yml", zh), file=sys.stderr, flush=True)
        zh_log.seek(0)
        sys.stderr.write(zh_log.read())
    if status:
        shutil.rmtree(zh_new, ignore_errors=True)
        return status
    shutil.rmtree(zh, ignore_errors=True)  # the English build removed it, unless it failed
    os.rename(zh_new, zh)
    return 0


def import_once() -> None:
    """Import what both builds would each import again, before the Chinese one starts as a copy
    of this process: the theme, the plugins and the page helper that mkdocs.yml names, and torch
    and mnistlab with the helper."""
    load_config("mkdocs.yml")


def in_a_copy(build: Callable[[], int], log: IO[str]) -> int:
    """Start ``build`` in a copy of this process writing to ``log``; the copy's process id,
    whose exit status is the build's."""
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid:
        return pid
    status = 1
    try:  # the copy: its output goes to the log, and it never returns to the caller's code
        os.dup2(log.fileno(), 1)
        os.dup2(log.fileno(), 2)
        # line by line, since os._exit below flushes nothing
        sys.stdout = sys.stderr = open(1, "w", encoding="utf-8", buffering=1, closefd=False)
        status = int(build())
    except BaseException:
        traceback.print_exc()
    finally:
        os._exit(status)


def _stop(build: int, folder: str) -> None:
    """Stop the build in process ``build`` and remove what it wrote into ``folder``."""
    os.kill(build, signal.SIGKILL)
    os.waitpid(build, 0)
    shutil.rmtree(folder, ignore_errors=True)


def _build_here(config: str, folder: str) -> int:
    """``mkdocs build --strict -f CONFIG -d FOLDER`` in this process; its exit status."""
    try:
        cli.main(["build", "--strict", "-f", config, "-d", folder], prog_name="mkdocs")
    except SystemExit as end:  # click ends every command this way, with its exit status
        if end.code:
            return end.code if isinstance(end.code, int) else 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
