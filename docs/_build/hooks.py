"""MkDocs hooks for the mnistlab site (named in mkdocs.yml under ``hooks:``).

1. They put this folder on ``sys.path``, so the pages' markdown-exec blocks can
   ``import mnistlab_docs``, the helpers that print each page's live parts, and
   start the site's long runs (the CNN pages') in worker processes, so that
   they train while the other pages are rendered.
2. On the Errors page, they let the long test names of the last column break
   between words (after ``::`` and each ``_``) instead of anywhere, so that
   column stays narrow and its names readable.
3. They give the build a dataset cache of its own, made fresh for each build
   and removed after it, so the pages never depend on the reader's cache. The
   stage pages train on the embedded sample (``data="sample"``), which is read
   from the files installed with mnistlab and writes nothing to the cache.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
_saved: dict[str, Any] = {}


def on_config(config: Any) -> Any:
    if str(HERE) not in sys.path:
        sys.path.insert(0, str(HERE))
    if "data_dir" not in _saved:
        _saved["env"] = os.environ.get("MNISTLAB_DATA")
        _saved["data_dir"] = tempfile.mkdtemp(prefix="mnistlab-docs-data-")
        os.environ["MNISTLAB_DATA"] = _saved["data_dir"]
        import mnistlab_docs

        mnistlab_docs.prefetch()
    return config


_TEST_NAME = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)`")


def _breakable(match: re.Match[str]) -> str:
    path, name = match.groups()
    return f'<code class="test-name">{path}::<wbr>{name.replace("_", "_<wbr>")}</code>'


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if page.file.src_uri == "errors.md":
        return _TEST_NAME.sub(_breakable, markdown)
    return markdown


def _clean_up() -> None:
    helpers = sys.modules.get("mnistlab_docs")
    if helpers is not None:
        helpers.reset()
    if "data_dir" not in _saved:
        return
    shutil.rmtree(_saved.pop("data_dir"), ignore_errors=True)
    previous = _saved.pop("env")
    if previous is None:
        os.environ.pop("MNISTLAB_DATA", None)
    else:
        os.environ["MNISTLAB_DATA"] = previous


def on_post_build(config: Any) -> None:
    # `mkdocs serve` rebuilds in the same process: run the stages again next time.
    _clean_up()


def on_build_error(error: Exception) -> None:
    _clean_up()
