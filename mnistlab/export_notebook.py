"""An exported stage as a Jupyter notebook: the stage page's text, then the script's parts.

The stage pages (``docs/stages/STAGE.md``) install with mnistlab as
``mnistlab/pages/``; in a checkout they are read where they are. Their prose
becomes markdown cells, less the blocks that the docs site runs while it is
built (markdown-exec's) and the links to other pages of the site; every part
of the script becomes a markdown cell with what it teaches and a code cell
with its code.
"""

from __future__ import annotations

import re
from pathlib import Path

from mnistlab.export_runner import Part
from mnistlab.stages import STAGE_NAMES, get_stage

HERE = Path(__file__).resolve().parent
PAGES = (HERE / "pages", HERE.parent / "docs" / "stages")  # installed, in a checkout
_RUN_ON_BUILD = re.compile(r'^(`{3,})python exec="on"[^\n]*\n.*?^\1[ \t]*\n?', re.M | re.S)
_SITE_LINK = re.compile(r"\[([^\]]+)\]\((?![a-z]+://)[^)]*\)")


def page_text(stage: str) -> str:
    """The prose of the stage's page, as a notebook shows it."""
    page = next((folder / f"{stage}.md" for folder in PAGES if (folder / f"{stage}.md").is_file()),
                None)
    if page is None:  # mnistlab without its pages
        info = get_stage(stage)
        return f"# {STAGE_NAMES.index(stage) + 1} · {stage}: {info.title}\n\n{info.why}.\n"
    text = page.read_text(encoding="utf-8")
    text = _SITE_LINK.sub(r"\1", _RUN_ON_BUILD.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def notebook(stage: str, parts: list[Part], imports: str) -> str:
    """The notebook of ``stage`` as JSON: the page's sections, then each part's prose and code."""
    import nbformat
    from nbformat import v4

    cells = [v4.new_markdown_cell(section.strip())
             for section in re.split(r"\n(?=## )", page_text(stage))]
    cells.append(v4.new_markdown_cell(
        "## The program\n\nThe program that `mnistlab run --stage " + stage + "` runs, in plain "
        "PyTorch, written by `mnistlab export`: each piece is the source of the plugin that "
        "fills it at this stage, and the last cells are what mnistlab's runner does around the "
        "pieces. It imports nothing from mnistlab; the last line it prints is the JSON that "
        f"`mnistlab run --stage {stage} --json` prints with the same settings."))
    cells.append(v4.new_code_cell(imports))
    for part in parts:
        cells += [v4.new_markdown_cell(f"### {part.title}\n\n{part.prose}".strip()),
                  v4.new_code_cell(part.code)]
    for number, cell in enumerate(cells):
        cell.id = f"{stage}-{number}"  # the same notebook for the same stage and settings
    book = v4.new_notebook(cells=cells, metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"}})
    return nbformat.writes(book)
