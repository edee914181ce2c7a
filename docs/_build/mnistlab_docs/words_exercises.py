"""The exercise pages' words, in English and Simplified Chinese, as words.py has the others:
``said(lang, key, ...)``. And each exercise's prose in the page's language (``prose``): the
English is the exercise file's (``plugins/exercises/PLUGIN.md``, what `mnistlab exercise`
prints), the Chinese its translation, kept beside this helper in ``../zh_exercises/PLUGIN.md``
with the same sections, ``## Why`` holding the Check section's why. Each translation names the
English file and the hash of the bytes it translates (front matter, as a docs/zh/ page does):
``python scripts/zh_sync.py`` lists those whose English has changed since."""

from __future__ import annotations

import re
from pathlib import Path
from typing import NamedTuple

from .words import in_language, is_english, part

ZH_EXERCISES = Path(__file__).resolve().parents[1] / "zh_exercises"
_SECTION = re.compile(r"^## (\w+)\s*$", re.M)
_FRONT_MATTER = re.compile(r"\A---\n.*?\n---\n", re.S)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_MARK = re.compile(r"[\u2018-\u201d\u3000-\u303f\uff00-\uffef]")  # full-width punctuation
EXERCISE_WORDS = {
    "intro": ("You write the **{piece}** piece (hook `{hook}`) of the stage "
              "[`{stage}`](../../stages/{stage}/).\n",
              "你要写的是 [`{stage}`](../../stages/{stage}/) 阶段的**{piece}**部件"
              "（钩子 `{hook}`）。\n"),
    "task": ("## The task\n", "## 任务 {{#the-task}}\n"),
    "stub": ("## Start from the stub\n", "## 从桩代码开始 {{#start-from-the-stub}}\n"),
    "check": ("## Check it\n", "## 检查 {{#check-it}}\n"),
    "epochs": ("{epochs} epoch{s} and {batches} batches",
               "前 {epochs} 轮及其后的 {batches} 个批量"),
    "epochs only": ("{epochs} epoch{s}", "前 {epochs} 轮"),  # whole epochs, no batch after
    "batches": ("the first {batches} batches", "前 {batches} 个批量"),
    "bitwise": ("equal to the last bit", "要求逐位相同"),
    "within": ("within a relative {rtol:g}", "允许的相对差为 {rtol:g}"),
    "compares": ("The check compares {compared} of the stage's training on the embedded "
                 "sample, {rule}: {why}\n",
                 "检查比较本阶段在内置样本上训练的{compared}，{rule}：{why}\n"),
    "hints": ("## Hints\n", "## 提示 {{#hints}}\n"),
    "hint": ('??? tip "Hint {n}"\n\n', '??? tip "提示 {n}"\n\n'),
    "report": ("## A failing report\n\n", "## 未通过的检查报告 {{#a-failing-report}}\n\n"),
    "wrong": ("A wrong solution, `{path}`:\n\n{shown}\nand what the check says of it:\n",
              "一个错误的解答 `{path}`：\n\n{shown}\n以及检查对它的报告：\n"),
    "unedited": ("What the check says of the stub, unedited:\n",
                 "检查对未经修改的桩代码的报告：\n"),
    "table head": ("| # | stage | you write the | task |", "| # | 阶段 | 你要写的部件 | 任务 |"),
}


class Prose(NamedTuple):
    """What an exercise says in words: its title, task, steps, hints and why."""

    title: str
    task: str
    steps: tuple[str, ...]
    hints: tuple[str, ...]
    why: str


def said(lang: str, key: str, **values: object) -> str:
    """The exercise pages' phrase ``key`` in ``lang``, filled with ``values``."""
    return in_language(lang, EXERCISE_WORDS[key]).format(**values)


def piece_word(lang: str, piece: str) -> str:
    """The piece a learner writes: its name in English (``loop``), the tutorial's word else."""
    return in_language(lang, (piece, part("zh", piece)))


def prose(lang: str, exercise) -> Prose:
    """The words of ``exercise`` (an ``mnistlab.exercises`` exercise) in ``lang``: the
    exercise file's, or its translation's."""
    if is_english(lang):
        return Prose(exercise.title, exercise.task, exercise.steps, exercise.hints,
                     exercise.tolerance.why)
    path = ZH_EXERCISES / exercise.path.name
    if not path.is_file():
        raise FileNotFoundError(f"{exercise.path.name} has no Chinese text: translate it into "
                                f"{path} (`python scripts/zh_sync.py` lists what is missing)")
    text = _FRONT_MATTER.sub("", path.read_text("utf-8"))
    title, rest = text.split("\n", 1)
    parts = _SECTION.split(rest)
    sections = {name.lower(): body.strip()
                for name, body in zip(parts[1::2], parts[2::2], strict=True)}
    return Prose(title.removeprefix("# ").strip(), "\n\n".join(
        _joined(paragraph) for paragraph in sections["task"].split("\n\n")),
        _items(sections["steps"]), _items(sections["hints"]), _joined(sections["why"]))


def _items(text: str) -> tuple[str, ...]:
    """The items of a Markdown list, each joined into one line."""
    return tuple(_joined(item) for item in re.split(r"^- ", text, flags=re.M) if item.strip())


def _joined(text: str) -> str:
    """The lines of a paragraph joined as Chinese text is: a space between two Latin (or
    between Latin and Han) characters, none between two Han ones or beside full-width marks."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    joined = lines[0] if lines else ""
    for line in lines[1:]:
        ends = (joined[-1], line[0])
        wide = any(map(_MARK.match, ends)) or all(map(_HAN.match, ends))
        joined += ("" if wide else " ") + line
    return joined
