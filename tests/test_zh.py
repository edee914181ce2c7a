"""The Chinese site's pages (docs/zh/) against the English ones (docs/), and the Chinese texts of
the exercises (docs/_build/zh_exercises/) against the exercise files (plugins/exercises/).

Each Chinese page says which English page it translates and the hash of that page's text when
it was translated (scripts/zh_sync.py). These tests fail when an English page changed without
its translation, when a page exists in one language only, and when a Chinese page's code
differs from its English page's: the code blocks, and the blocks that write a page's output
while it is built, are the same in both, so both show the same numbers. The built Chinese site
is tested in test_docs.py (its search index) and test_site.py (in the browser).

The exercise pages say each exercise's task, steps, hints and why from a translation of its file,
which names the file and its hash in the same way: an exercise file changed without its
translation fails here too (what the pages make of them: test_zh_pages.py).
"""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

_spec = importlib.util.spec_from_file_location("zh_sync", ROOT / "scripts" / "zh_sync.py")
zh_sync = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(zh_sync)

# The page helper may word its generated sentences in Chinese, asked by one keyword argument:
# the only difference a Chinese page's blocks may have from the English page's.
LANG_ARGUMENT = re.compile(r',?\s*lang="zh"')


def test_both_languages_have_the_same_pages():
    assert zh_sync.zh_pages() == zh_sync.english_pages()


def test_every_exercise_file_has_a_chinese_text():
    assert zh_sync.english_exercises() == sorted(
        path.name for path in (ROOT / "plugins" / "exercises").glob("*.md"))
    assert zh_sync.zh_exercises() == zh_sync.english_exercises() != []


def test_every_translation_is_up_to_date_with_its_english_page():
    assert zh_sync.problems() == [], (
        "run `python scripts/zh_sync.py`; after updating a translation, "
        "`python scripts/zh_sync.py --stamp docs/zh/PAGE.md` (or "
        "`docs/_build/zh_exercises/PLUGIN.md`)")


@pytest.mark.parametrize("page", sorted(set(zh_sync.english_pages()) & set(zh_sync.zh_pages())))
def test_each_chinese_page_has_its_english_pages_code_and_exec_blocks(page):
    english = zh_sync.code_blocks((DOCS / page).read_text(encoding="utf-8"))
    chinese = [LANG_ARGUMENT.sub("", block) for block in
               zh_sync.code_blocks((DOCS / "zh" / page).read_text(encoding="utf-8"))]
    assert chinese == english


@pytest.fixture
def docs(tmp_path: Path) -> Path:
    """A docs folder of two pages, each translated and stamped."""
    folder = tmp_path / "docs"
    for page in ("index.md", "stages/scratch.md"):
        (folder / page).parent.mkdir(parents=True, exist_ok=True)
        (folder / page).write_text(f"# {page}\n\nSome words.\n", encoding="utf-8")
        (folder / "zh" / page).parent.mkdir(parents=True, exist_ok=True)
        (folder / "zh" / page).write_text("# 页面\n\n一些文字。\n", encoding="utf-8")
        zh_sync.stamp(folder / "zh" / page, folder)
    return folder


def test_a_changed_english_page_is_reported_until_its_translation_is_stamped(docs):
    assert zh_sync.problems(docs) == []
    assert zh_sync.main(["--docs", str(docs)]) == 0
    english = docs / "stages" / "scratch.md"
    english.write_text(english.read_text(encoding="utf-8") + "A new sentence.\n",
                       encoding="utf-8")
    [problem] = zh_sync.problems(docs)
    assert problem.startswith("out of date: docs/zh/stages/scratch.md")
    assert zh_sync.main(["--docs", str(docs)]) == 1
    assert zh_sync.main(["--docs", str(docs), "--stamp", str(docs / "zh/stages/scratch.md")]) == 0
    assert zh_sync.problems(docs) == []
    assert zh_sync.front_matter((docs / "zh/stages/scratch.md").read_text(encoding="utf-8")) == {
        "translates": "stages/scratch.md", "source_sha": zh_sync.source_sha(english)}


def test_a_page_in_one_language_only_is_reported(docs):
    (docs / "runs.md").write_text("# Runs\n", encoding="utf-8")
    shutil.move(docs / "zh" / "index.md", docs / "zh" / "home.md")
    assert zh_sync.problems(docs) == [
        "missing: docs/zh/index.md (translates docs/index.md)",
        "missing: docs/zh/runs.md (translates docs/runs.md)",
        "no English page: docs/zh/home.md",
    ]


def test_a_translation_of_the_wrong_page_is_reported(docs):
    page = docs / "zh" / "index.md"
    page.write_text(page.read_text(encoding="utf-8").replace(
        "translates: index.md", "translates: stages/scratch.md"), encoding="utf-8")
    assert zh_sync.problems(docs) == [
        "front matter: docs/zh/index.md must say `translates: index.md`"]


def test_code_blocks_are_found_with_their_options_and_mermaid_is_left_out():
    text = ('Words.\n\n```python exec="on"\nprint(1)\n```\n\n```mermaid\nflowchart TD\n```\n\n'
            "    ```text\n    indented\n    ```\n\n::: mnistlab.hookspecs\n    options:\n"
            "      heading_level: 3\n\nMore words.\n")
    assert zh_sync.code_blocks(text) == [
        '```python exec="on"\nprint(1)\n```', "    ```text\n    indented\n    ```",
        "::: mnistlab.hookspecs\n    options:\n      heading_level: 3"]


@pytest.fixture
def exercise_docs(docs: Path) -> Path:
    """The two pages' docs folder, and beside it a copy of an exercise file with its
    translation, as the repository holds them (so stamped already)."""
    for folder in ("plugins/exercises", "docs/_build/zh_exercises"):
        (docs.parent / folder).mkdir(parents=True)
        shutil.copy(ROOT / folder / "fit_loop.md", docs.parent / folder)
    return docs


def test_a_changed_exercise_file_is_reported_until_its_translation_is_stamped(exercise_docs):
    docs = exercise_docs
    assert zh_sync.problems(docs) == []
    english = docs.parent / "plugins" / "exercises" / "fit_loop.md"
    chinese = docs / "_build" / "zh_exercises" / "fit_loop.md"
    was = zh_sync.source_sha(english)
    english.write_text(english.read_text(encoding="utf-8").replace(
        "## Check", "- A new hint.\n\n## Check"), encoding="utf-8")
    assert zh_sync.problems(docs) == [
        f"out of date: docs/_build/zh_exercises/fit_loop.md translates "
        f"plugins/exercises/fit_loop.md as it was at {was}; it is now "
        f"{zh_sync.source_sha(english)}"]
    assert zh_sync.main(["--docs", str(docs)]) == 1
    assert zh_sync.main(["--docs", str(docs), "--stamp", str(chinese)]) == 0
    assert zh_sync.problems(docs) == []
    assert zh_sync.front_matter(chinese.read_text(encoding="utf-8")) == {
        "translates": "plugins/exercises/fit_loop.md", "source_sha": zh_sync.source_sha(english)}
    assert "## Task" in chinese.read_text(encoding="utf-8")  # the text is kept


def test_an_exercise_file_or_a_translation_alone_is_reported(exercise_docs):
    docs = exercise_docs
    shutil.copy(ROOT / "plugins" / "exercises" / "sgd.md", docs.parent / "plugins" / "exercises")
    texts = docs / "_build" / "zh_exercises"
    shutil.move(texts / "fit_loop.md", texts / "fit.md")
    assert zh_sync.problems(docs) == [
        "missing: docs/_build/zh_exercises/fit_loop.md (translates plugins/exercises/fit_loop.md)",
        "missing: docs/_build/zh_exercises/sgd.md (translates plugins/exercises/sgd.md)",
        "no English exercise: docs/_build/zh_exercises/fit.md",
    ]
    (texts / "sgd.md").write_text("# 使用 `torch.optim.SGD`\n", encoding="utf-8")
    assert zh_sync.problems(docs)[-1] == (
        "front matter: docs/_build/zh_exercises/sgd.md must say "
        "`translates: plugins/exercises/sgd.md`")
    zh_sync.stamp(texts / "sgd.md", docs)  # a new translation gets its front matter
    assert zh_sync.problems(docs) == [
        "missing: docs/_build/zh_exercises/fit_loop.md (translates plugins/exercises/fit_loop.md)",
        "no English exercise: docs/_build/zh_exercises/fit.md"]
