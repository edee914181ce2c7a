"""MkDocs hooks (mkdocs.yml): the pages' long runs started in worker processes, to train while
the other pages render (the Chinese build that scripts/build_docs.py starts beside the English
one waits for the English build's instead), the Errors page's test names breakable between
words, and the stage pages' downloads written into the site."""

import os
import re
import sys
from pathlib import Path

from mnistlab_docs import downloads, kept, stage_pages  # found while mkdocs loads this module


def on_config(config):
    here = str(Path(__file__).resolve().parent)
    if here not in sys.path:  # as while mkdocs loaded this module: workers import from it
        sys.path.insert(0, here)
    if os.environ.get("MNISTLAB_DOCS_RUNS_BESIDE"):  # the English build beside this one runs them
        kept.run_beside(stage_pages.heavy_commands())
    else:
        kept.prefetch(stage_pages.heavy_commands())
    return config


def on_page_markdown(markdown, page, **kwargs):
    # After `::` and each `_`, so the last column stays narrow and its names readable.
    return markdown if page.file.src_uri != "errors.md" else re.sub(
        r"`(tests/test_\w+\.py)::(test_\w+)`", lambda test: f'<code class="test-name">'
        f'{test[1]}::<wbr>{test[2].replace("_", "_<wbr>")}</code>', markdown)


def on_post_build(config):
    folder = Path(config.site_dir) / "stages" / "downloads"  # the stage pages link them here
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in downloads.FILES.items():
        (folder / name).write_bytes(content)
    downloads.FILES.clear()  # `mkdocs serve` builds again, maybe of changed code
    kept.reset()  # `mkdocs serve` builds again in this process, maybe of changed code


def on_build_error(error):
    kept.reset()
