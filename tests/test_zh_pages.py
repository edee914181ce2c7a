"""The Chinese stage pages: one for every English stage page, What we learned and the stages
index, naming the English file and the bytes it translates, with the English page's code.

A zh page (``docs/zh/PATH``) starts with front matter ``translates: PATH`` and
``source_sha:`` (the first 12 hex digits of the SHA-256 of the English file's bytes), so a
change to the English page shows which translation to update. Its fenced blocks (code, shell,
markdown-exec blocks) and displayed equations are the English page's, except that it asks the
page helper for Chinese words: the rule below removes every ``lang="zh"`` argument, with the
comma and spaces before it, and then the blocks must be equal.
"""

from __future__ import annotations

import collections
import hashlib
import importlib
import re
import sys
from pathlib import Path

import pytest
from markdown.extensions.toc import slugify

from mnistlab.stages import STAGE_NAMES

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["stages/index.md", *(f"stages/{name}.md" for name in STAGE_NAMES), "learned.md"]
LANG_ZH = re.compile(r',?\s*lang="zh"')
"""What a zh page's blocks may add to the English page's: a ``lang="zh"`` argument."""
FENCE = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
EQUATION = re.compile(r"^\$\$\n.*?^\$\$$", re.M | re.S)
# The page helper's functions that take ``lang``: a zh block that calls one passes lang="zh".
BILINGUAL = ("stage_page", "stage_table", "stage_count", "seed_strip", "seed_verdict", "pooling",
             "processes", "weight_picture", "layer_shapes", "python_example", "phrase",
             "full_size_table")
HAN = re.compile(r"[\u4e00-\u9fff]")
LATIN = re.compile(r"[A-Za-z]")
# What the widely read machine translation wrote for train, pickle and weights (and others):
# words a page of this site never uses (see the glossary).
MISTRANSLATIONS = ("火车", "泡菜", "砝码", "迷你一批", "装载机", "渐变", "洗牌", "时代", "挂失")


def split(text: str) -> tuple[dict[str, str], str]:
    """A page's front matter (``key: value`` lines between ``---``) and its body."""
    match = re.match(r"---\n(.*?)\n---\n", text, re.S)
    if not match:
        return {}, text
    meta = dict(line.split(": ", 1) for line in match.group(1).splitlines())
    return meta, text[match.end():]


def zh_page(page: str) -> tuple[dict[str, str], str]:
    path = DOCS / "zh" / page
    assert path.is_file(), f"no Chinese page docs/zh/{page}"
    return split(path.read_text("utf-8"))


def blocks(body: str) -> list[str]:
    """A page's fenced blocks and displayed equations, in order."""
    found = [(m.start(), m.group(0)) for pattern in (FENCE, EQUATION)
             for m in pattern.finditer(body)]
    return [block for _, block in sorted(found)]


def prose(body: str) -> str:
    """What a reader reads as text: no blocks, inline code, equations, link targets or HTML."""
    for pattern in (FENCE, EQUATION, r"`[^`\n]+`", r"\\\(.*?\\\)", r"\]\([^)]*\)",
                    r"<[^>]+>", r"\{[#.][^}]*\}", r"https?://\S+"):
        body = re.compile(pattern, re.S).sub(" ", body) if isinstance(pattern, str) else (
            pattern.sub(" ", body))
    return body


def test_the_rule_removes_only_the_lang_zh_argument():
    assert LANG_ZH.sub("", 'print(stage_page("fit", lang="zh"))') == 'print(stage_page("fit"))'
    assert LANG_ZH.sub("", "print(stage_count(lang=\"zh\"))") == "print(stage_count())"
    assert LANG_ZH.sub("", "print(python_example('''\nx = 1\n''', lang=\"zh\"))") == (
        "print(python_example('''\nx = 1\n'''))")
    assert LANG_ZH.sub("", 'stage_page("fit", lang="en")') == 'stage_page("fit", lang="en")'


@pytest.mark.parametrize("page", PAGES)
def test_each_page_has_a_chinese_page_naming_the_bytes_it_translates(page):
    meta, _ = zh_page(page)
    english = (DOCS / page).read_bytes()
    assert meta.get("translates") == page
    assert meta.get("source_sha") == hashlib.sha256(english).hexdigest()[:12], (
        f"docs/{page} changed since docs/zh/{page} was translated: update the translation, "
        "then its source_sha")


@pytest.mark.parametrize("page", PAGES)
def test_a_chinese_page_has_the_english_pages_code_but_for_lang_zh(page):
    _, body = zh_page(page)
    english, chinese = blocks((DOCS / page).read_text("utf-8")), blocks(body)
    assert [LANG_ZH.sub("", block) for block in chinese] == english
    for block in chinese:  # and asks the helper for Chinese wherever it can
        calls = len(re.findall(rf"\b({'|'.join(BILINGUAL)})\(", block))
        assert block.count('lang="zh"') == calls, block


@pytest.mark.parametrize("page", PAGES)
def test_a_chinese_page_keeps_the_english_pages_anchors(page):
    def anchors(body: str) -> list[str]:
        headings = re.findall(r"^#{2,6} (.+)$", FENCE.sub("", body), re.M)
        return [re.search(r"\{#([\w-]+)\}", h).group(1) if "{#" in h else slugify(h, "-")
                for h in headings]

    assert anchors(zh_page(page)[1]) == anchors((DOCS / page).read_text("utf-8"))


@pytest.mark.parametrize("page", PAGES)
def test_a_chinese_pages_prose_is_chinese(page):
    text = prose(zh_page(page)[1])
    han, latin = len(HAN.findall(text)), len(LATIN.findall(text))
    assert han >= 100 and han >= latin, (han, latin)
    assert not [word for word in MISTRANSLATIONS if word in text]
    assert not re.search(r"[\u4e00-\u9fff][A-Za-z0-9`]|[A-Za-z0-9`][\u4e00-\u9fff]", text), (
        "a space between Han and Latin text (the glossary's rule 1)")


def numbers(text: str) -> collections.Counter:
    text = re.sub(r"data:image/png;base64,[^\"]+", "", text)
    return collections.Counter(re.findall(r"\d+(?:[.,]\d+)*(?:e[-+]\d+)?", text))


@pytest.fixture(scope="module")
def helper():
    sys.path.insert(0, str(DOCS / "_build"))
    yield {name: importlib.import_module(f"mnistlab_docs.{name}")
           for name in ("stage_pages", "drift", "numbers", "words")}
    sys.path.remove(str(DOCS / "_build"))


@pytest.mark.slow  # trains the stages the pages show, unless an earlier build kept their runs
@pytest.mark.parametrize("stage", ["scratch", "fit", "cnn", "adaptive"])
def test_the_helper_says_the_same_numbers_in_chinese(helper, stage):
    english, chinese = (helper["stage_pages"].stage_page(stage, lang=lang) for lang in ("en", "zh"))
    assert numbers(chinese) == numbers(english)
    assert len(HAN.findall(chinese)) > 200


def test_the_helpers_tables_and_sentences_say_the_same_numbers_in_chinese(helper):
    calls = [lambda lang: helper["stage_pages"].stage_table(lang=lang),
             lambda lang: helper["stage_pages"].stage_count(lang=lang),
             lambda lang: helper["stage_pages"].seed_verdict("fit", "cnn", lang=lang),
             lambda lang: helper["drift"].pooling("wrapped", "adaptive", lang=lang),
             lambda lang: helper["numbers"].numbers_table("fit", lang=lang)]
    for call in calls:
        english, chinese = call("en"), call("zh")
        assert numbers(chinese) == numbers(english) and HAN.search(chinese), chinese
    with pytest.raises(ValueError, match="lang must be one of"):
        helper["stage_pages"].stage_count(lang="fr")


def test_the_stage_tables_words_are_translated_as_they_are_now(helper):
    from mnistlab import stages

    table = importlib.import_module("mnistlab_docs.words_stages").STAGE_WORDS
    assert {name: row[:2] for name, row in table.items()} == {
        stage.name: (stage.title, stage.why) for stage in stages.STAGES}, (
        "the stage table changed: translate its new words in words_stages.py")
