"""The Chinese stage and exercise pages: one for every English stage page, What we learned, the
stages index and every exercise page, naming the English file and the bytes it translates, with
the English page's code.

A zh page (``docs/zh/PATH``) starts with front matter ``translates: PATH`` and
``source_sha:`` (the first 12 hex digits of the SHA-256 of the English file's bytes), so a
change to the English page shows which translation to update. Its fenced blocks (code, shell,
markdown-exec blocks) and displayed equations are the English page's, except that it asks the
page helper for Chinese words: the rule below removes every ``lang="zh"`` argument, with the
comma and spaces before it, and then the blocks must be equal.

An exercise page's words (task, steps, hints, why, and the page's own sentences) come in Chinese
from the page helper, from a translation of the exercise's file (docs/_build/zh_exercises/);
its stub, commands and failing report are the English page's.
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

from mnistlab.exercises import exercises
from mnistlab.stages import STAGE_NAMES

DOCS = Path(__file__).resolve().parent.parent / "docs"
PAGES = ["stages/index.md", *(f"stages/{name}.md" for name in STAGE_NAMES), "learned.md"]
EXERCISES = exercises()
EXERCISE_PAGES = ["exercises/index.md", *(f"exercises/{ex.stage}.md" for ex in EXERCISES)]
LANG_ZH = re.compile(r',?\s*lang="zh"')
"""What a zh page's blocks may add to the English page's: a ``lang="zh"`` argument."""
FENCE = re.compile(r"^(`{3,})[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
EQUATION = re.compile(r"^\$\$\n.*?^\$\$$", re.M | re.S)
# The page helper's functions that take ``lang``: a zh block that calls one passes lang="zh".
BILINGUAL = ("stage_page", "stage_table", "stage_count", "seed_strip", "seed_verdict", "pooling",
             "processes", "weight_picture", "layer_shapes", "python_example", "phrase",
             "full_size_table", "exercise_page", "exercise_table")
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


@pytest.mark.parametrize("page", PAGES + EXERCISE_PAGES)
def test_each_page_has_a_chinese_page_naming_the_bytes_it_translates(page):
    meta, _ = zh_page(page)
    english = (DOCS / page).read_bytes()
    assert meta.get("translates") == page
    assert meta.get("source_sha") == hashlib.sha256(english).hexdigest()[:12], (
        f"docs/{page} changed since docs/zh/{page} was translated: update the translation, "
        "then its source_sha")


@pytest.mark.parametrize("page", PAGES + EXERCISE_PAGES)
def test_a_chinese_page_has_the_english_pages_code_but_for_lang_zh(page):
    _, body = zh_page(page)
    english, chinese = blocks((DOCS / page).read_text("utf-8")), blocks(body)
    assert [LANG_ZH.sub("", block) for block in chinese] == english
    for block in chinese:  # and asks the helper for Chinese wherever it can
        calls = len(re.findall(rf"\b({'|'.join(BILINGUAL)})\(", block))
        assert block.count('lang="zh"') == calls, block


@pytest.mark.parametrize("page", PAGES + EXERCISE_PAGES)
def test_a_chinese_page_keeps_the_english_pages_anchors(page):
    def anchors(body: str) -> list[str]:
        headings = re.findall(r"^#{2,6} (.+)$", FENCE.sub("", body), re.M)
        return [re.search(r"\{#([\w-]+)\}", h).group(1) if "{#" in h else slugify(h, "-")
                for h in headings]

    assert anchors(zh_page(page)[1]) == anchors((DOCS / page).read_text("utf-8"))


def assert_chinese(text: str) -> None:
    """Prose in Chinese: more Han than Latin letters, the glossary's words and spacing."""
    han, latin = len(HAN.findall(text)), len(LATIN.findall(text))
    assert han >= 100 and han >= latin, (han, latin)
    assert not [word for word in MISTRANSLATIONS if word in text]
    assert not re.search(r"[\u4e00-\u9fff][A-Za-z0-9`]|[A-Za-z0-9`][\u4e00-\u9fff]", text), (
        "a space between Han and Latin text (the glossary's rule 1)")


@pytest.mark.parametrize("page", PAGES)
def test_a_chinese_pages_prose_is_chinese(page):
    assert_chinese(prose(zh_page(page)[1]))


def numbers(text: str) -> collections.Counter:
    text = re.sub(r"data:image/png;base64,[^\"]+", "", text)
    return collections.Counter(re.findall(r"\d+(?:[.,]\d+)*(?:e[-+]\d+)?", text))


@pytest.fixture(scope="module")
def helper():
    sys.path.insert(0, str(DOCS / "_build"))
    yield {name: importlib.import_module(f"mnistlab_docs.{name}")
           for name in ("stage_pages", "drift", "numbers", "words", "exercise_pages",
                        "words_exercises")}
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


# --- the exercise pages: the words of the exercise files, translated ------------------------

INLINE_CODE = re.compile(r"`[^`\n]+`")


@pytest.mark.parametrize("stage", [ex.stage for ex in EXERCISES])
def test_an_exercise_pages_words_are_chinese_and_its_code_the_english_pages(helper, stage):
    # the page but its failing report, which runs `mnistlab check` (tested below, and built)
    english, chinese = (helper["exercise_pages"].exercise_text(stage, lang=lang)
                        for lang in ("en", "zh"))
    assert blocks(chinese) == blocks(english)  # the stub and the commands
    assert_chinese(prose(chinese))
    hints = len(next(ex for ex in EXERCISES if ex.stage == stage).hints)
    assert chinese.count('??? tip "提示 ') == english.count('??? tip "Hint ') == hints
    assert re.findall(r"\]\(([^)]*)\)", chinese) == re.findall(r"\]\(([^)]*)\)", english)
    anchors = re.findall(r"\{#([\w-]+)\}", chinese)
    assert anchors == [slugify(h, "-") for h in re.findall(r"^## (.+)$", english, re.M)]


@pytest.mark.parametrize("exercise", EXERCISES, ids=lambda ex: ex.path.name)
def test_an_exercise_translation_keeps_the_english_code_and_numbers(helper, exercise):
    english, chinese = (helper["words_exercises"].prose(lang, exercise) for lang in ("en", "zh"))
    assert len(chinese.steps) == len(english.steps) and len(chinese.hints) == len(english.hints)
    pairs = [(english.title, chinese.title), (english.task, chinese.task),
             (english.why, chinese.why), *zip(english.steps, chinese.steps, strict=True),
             *zip(english.hints, chinese.hints, strict=True)]
    for said, translated in pairs:  # each item names the English's code and numbers
        assert set(INLINE_CODE.findall(said)) <= set(INLINE_CODE.findall(translated)), translated
        assert set(numbers(said)) <= set(numbers(translated)), translated
        assert HAN.search(translated), translated
    assert chinese.task + "\n" in helper["exercise_pages"].exercise_text(exercise.stage, "zh")


@pytest.mark.parametrize("kept", [
    ["examples/exercises/fit/wrong_eval_mode.py", "print('wrong')\n", "failing: eval mode"],
    ["my_cuda_device.py", "", "not done yet"],
], ids=["a wrong solution", "the stub"])
def test_a_failing_report_is_the_same_report_in_chinese_words(helper, monkeypatch, kept):
    # what `mnistlab check` said, kept once for both languages, stands in for the check here
    monkeypatch.setattr(helper["exercise_pages"], "checked", lambda stage: kept)
    english, chinese = (helper["exercise_pages"].failing_report("fit", lang=lang)
                        for lang in ("en", "zh"))
    assert blocks(chinese) == blocks(english) and kept[2] in blocks(chinese)[-1]
    assert chinese.startswith("## 未通过的检查报告 {#a-failing-report}\n")
    assert HAN.search(prose(chinese.split("\n", 1)[1])) and not re.search(
        r"[A-Za-z]{3}", prose(chinese.split("\n", 1)[1]))


def test_the_exercise_table_in_chinese_has_the_same_rows_and_the_chinese_titles(helper):
    english, chinese = (helper["exercise_pages"].exercise_table(lang=lang)
                        for lang in ("en", "zh"))
    assert numbers(chinese) == numbers(english)
    assert re.findall(r"\]\(([^)]*)\)", chinese) == re.findall(r"\]\(([^)]*)\)", english)
    rows = chinese.splitlines()[2:]
    assert len(rows) == len(EXERCISES)
    for row, exercise in zip(rows, EXERCISES, strict=True):
        title = helper["words_exercises"].prose("zh", exercise).title
        assert row.endswith(f"| {title} |") and HAN.search(title)


def test_the_exercise_pages_refuse_an_unknown_language(helper):
    for call in (lambda: helper["exercise_pages"].exercise_text("fit", lang="fr"),
                 lambda: helper["exercise_pages"].exercise_table(lang="fr")):
        with pytest.raises(ValueError, match="lang must be one of"):
            call()


def test_a_translations_lines_are_joined_as_chinese_is_written(helper):
    joined = helper["words_exercises"]._joined
    assert joined("调用\n`model.train()`，\n再遍历训练\n批量 and\nmore") == (
        "调用 `model.train()`，再遍历训练批量 and more")
