"""What the page helper writes in words, in English and in Simplified Chinese: headings,
sentences, table headers and alt text, each a ``str.format`` template filled with the same
numbers in both languages. ``say(lang, key, ...)`` picks one; ``lang`` is "en" or "zh".

A Chinese page (``docs/zh/...``) calls the same helpers as its English page with one more
argument, ``lang="zh"``, and nothing else differs in its code: so a zh page's exec blocks
equal the English page's once every ``lang="zh"`` argument (with the comma and spaces before
it) is removed, which is how ``tests/test_zh_pages.py`` compares them. The Chinese follows
the site's glossary (spaces between Han and Latin text, full-width punctuation, code as code).
A Chinese heading keeps the English heading's anchor (``{#the-code}``), so links agree."""

from __future__ import annotations

from .words_numbers import NUMBERS
from .words_stages import STAGE_WORDS

LANGS = ("en", "zh")
PAGES = {
    "part": {"data": ("the data", "数据"), "device": ("the device", "设备"),
             "model": ("the model", "模型"), "loss": ("the loss", "损失"),
             "update": ("the update", "更新"), "batches": ("the batches", "批量"),
             "loop": ("the training loop", "训练循环")},
    "first code": ("## The code\n\nThe first stage writes each part in a file of its own:\n",
                   "## 代码 {{#the-code}}\n\n第一个阶段把每个部件各写在一个文件里：\n"),
    "code": ("## The code\n\nThis stage's new {part}, `{plugin}`; everything else is "
             "[`{parent}`](../{parent}/)'s:\n",
             "## 代码 {{#the-code}}\n\n本阶段换上新的{part} `{plugin}`，其余部件都沿用 "
             "[`{parent}`](../{parent}/)：\n"),
    "changed": ("## What changed\n\nThe diff from {part} of `{parent}`, `plugins/{replaced}.py` "
                "(`mnistlab diff {name}` prints it too):\n",
                "## 改了什么 {{#what-changed}}\n\n与 `{parent}` 的{part} "
                "`plugins/{replaced}.py` 相比的差异（`mnistlab diff {name}` 也会打印它）：\n"),
    "run it": ("## Run it\n", "## 运行 {{#run-it}}\n"),
    "curves": ("Its loss curves, as the run drew them in its run folder:\n",
               "这次运行在运行目录中画出的损失曲线：\n"),
    "curves alt": ("loss curves of the {name} stage, seed 0", "{name} 阶段的损失曲线，随机种子 0"),
    "numbers": ("## The tutorial's numbers and ours\n",
                "## 教程的数字与我们的数字 {{#the-tutorials-numbers-and-ours}}\n"),
    "no parent": ("**Same numbers as its parent?** The first stage has no parent.\n",
                  "**与上一阶段的数字相同吗？**第一个阶段没有上一阶段。\n"),
    "yes": ("Yes", "相同"), "no": ("No, on purpose", "不同，这是有意为之"),
    "verdict": ("**Same numbers as `{parent}`?** {answer}: {why}. Checked by `{test}`.\n",
                "**与 `{parent}` 的数字相同吗？**{answer}：{why}。由 `{test}` 检验。\n"),
    "count": ("**{count} stages**: stages 1 to {last} follow the tutorial, from {first} to {gpu} "
              "(its step 12 is two stages here), and the last {beyond} go beyond it: {links}.",
              "**共 {count} 个阶段**：第 1 到第 {last} 个阶段跟随教程，从 {first} 到 {gpu}"
              "（教程的第 12 步在这里拆成了两个阶段），最后 {beyond} 个阶段超出了教程：{links}。"),
    "and": (" and ", " 和 "),
    "table head": ("| # | stage | what it changes | its file | same numbers as the one before? "
                   "| what the step does |",
                   "| # | 阶段 | 替换的部件 | 文件 | 与上一阶段的数字相同？ | 这一步做什么 |"),
    "table yes": ("yes", "是"), "table no": ("**no**", "**否**"),
    "wins all": ("beats `{first}` with every one of the {seeds} recorded seeds",
                 "在已记录的全部 {seeds} 个随机种子上都胜过 `{first}`"),
    "wins mean": ("beats `{first}` on average, but with only {wins} of the {seeds} recorded seeds",
                  "平均而言胜过 `{first}`，但在已记录的 {seeds} 个随机种子中只有 {wins} 个如此"),
    "loses": ("does not beat `{first}` on average: it ends above with {wins} of the {seeds} "
              "recorded seeds",
              "平均而言并不胜过 `{first}`：在已记录的 {seeds} 个随机种子中，它有 {wins} 个"
              "最终高于 `{first}`"),
    "seeds": ("On the sample, `{second}` {judged}. Its mean validation accuracy is {b:.4f} "
              "against {a:.4f}. Over the seeds, `{first}` ends between {a0:.4f} and {a1:.4f}, "
              "`{second}` between {b0:.4f} and {b1:.4f}.\n",
              "在内置样本上，`{second}` {judged}。它的平均验证准确率为 {b:.4f}，`{first}` 为 "
              "{a:.4f}。在这些随机种子上，`{first}` 最终介于 {a0:.4f} 和 {a1:.4f} 之间，"
              "`{second}` 介于 {b0:.4f} 和 {b1:.4f} 之间。\n"),
    "download": ("## Download it\n\nThe stage as one plain PyTorch program that never imports "
                 "mnistlab, {script}, or as a notebook with this page's text, {notebook}; each "
                 "reads {data} from beside it. `{export} --out {name}.py` wrote them: `python "
                 "{name}.py` prints the numbers of the run above, and ends with the JSON line of "
                 "`mnistlab run --json`.\n\n??? example \"What mnistlab's runner does around the "
                 "plugins, in plain code\"\n\n",
                 "## 下载 {{#download-it}}\n\n本阶段可以下载为一个从不导入 mnistlab 的普通 "
                 "PyTorch 程序 {script}，也可以下载为 Jupyter 笔记本（notebook）{notebook}，"
                 "其中附有本页的英文讲解；两者都从同一目录读取 {data}。它们由 `{export} --out "
                 "{name}.py` 写出：`python {name}.py` 会打印上面那次运行的数字，最后输出 "
                 "`mnistlab run --json` 的那一行 JSON。\n\n??? example \"mnistlab 的运行器在"
                 "插件周围做了什么（写成普通代码）\"\n\n"),
    # what the pages' own blocks print (``phrase``)
    "output": ("output", "输出"),
    "digit alt": ("x_train[0] of the sample, as mnistlab show saves it",
                  "内置样本的 x_train[0]，即 mnistlab show 保存的图片"),
    "timing head": ("| how the batches are cut | one pass, 50,000 rows | per batch |",
                    "| 批量的切法 | 遍历一次，50,000 行 | 每个批量 |"),
    "smoothing accuracy": ("In this build, `fit` for 2 epochs reached a validation accuracy of "
                           "{plain} with its own loss and {smoothed} with label smoothing 0.1.",
                           "在这次构建中，`fit` 训练 2 轮，用它自己的损失达到的验证准确率是 "
                           "{plain}，用标签平滑 0.1 则是 {smoothed}。"),
}


def in_language(lang: str, phrases: tuple[str, ...]) -> str:
    """The one of ``phrases`` (one per language of LANGS) in ``lang``."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {LANGS}, not {lang!r}")
    return phrases[LANGS.index(lang)]


def is_english(lang: str) -> bool:
    """Whether ``lang`` is English, whose words the code itself holds; a language not in LANGS
    is refused."""
    return in_language(lang, LANGS) == "en"


def say(lang: str, key: str, **values: object) -> str:
    """The phrase ``key`` in ``lang``, filled with ``values``."""
    return in_language(lang, {**PAGES, **NUMBERS}[key]).format(**values)


def phrase(key: str, lang: str = "en", **values: object) -> str:
    """The phrase ``key`` in ``lang``, filled with ``values``, for a page block:
    ``phrase("output", lang="zh")``."""
    return say(lang, key, **values)


def part(lang: str, piece: str) -> str:
    """What a stage swaps (``"loss"``), in the tutorial's words."""
    return in_language(lang, PAGES["part"][piece])


def stage_words(lang: str, name: str) -> tuple[str, str]:
    """A stage's title and why, from the stage table (``"en"``) or their translation."""
    from mnistlab import stages

    stage = stages.get_stage(name)
    if is_english(lang):
        return stage.title, stage.why.removeprefix("changes behaviour: ")
    return STAGE_WORDS[name][2:]
