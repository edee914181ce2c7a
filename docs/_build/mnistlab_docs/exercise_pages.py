"""The exercise pages, made from the data `mnistlab exercise` and `mnistlab check` use."""

from __future__ import annotations

import textwrap

import mnistlab
from mnistlab import exercises

from .blocks import ROOT, fence
from .memo import kept_result
from .words_exercises import piece_word, prose, said

SOLUTIONS = ROOT / "examples" / "exercises"


def exercise_table(lang: str = "en") -> str:
    """One row per exercise, linking its page."""
    rows = [f"| {number} | [`{ex.stage}`]({ex.stage}/) | {piece_word(lang, ex.piece)} | "
            f"{prose(lang, ex).title} |"
            for number, ex in enumerate(exercises.exercises(), start=1)]
    return "\n".join([said(lang, "table head"), "|---|---|---|---|", *rows]) + "\n"


def exercise_page(stage: str, lang: str = "en") -> str:
    """The task, the stub, the check, its tolerance, the hints and a real failing report."""
    return exercise_text(stage, lang) + "\n" + failing_report(stage, lang)


def exercise_text(stage: str, lang: str = "en") -> str:
    """The exercise page but its failing report: the words in ``lang``, the code as it is."""
    ex = exercises.get_exercise(stage)
    words = prose(lang, ex)
    stub = f"my_{ex.plugin}.py"
    details = [said(lang, "hint", n=n) + textwrap.indent(hint, "    ") + "\n"
               for n, hint in enumerate(words.hints, start=1)]
    tolerance = ex.tolerance
    s = "s" if tolerance.epochs != 1 else ""
    compared = (said(lang, "epochs" if tolerance.batches else "epochs only", s=s,
                     epochs=tolerance.epochs, batches=tolerance.batches) if tolerance.epochs
                else said(lang, "batches", batches=tolerance.batches))
    rule = (said(lang, "bitwise") if tolerance.rtol == 0
            else said(lang, "within", rtol=tolerance.rtol))
    parts = [said(lang, "intro", piece=piece_word(lang, ex.piece), hook=ex.hook, stage=stage),
             said(lang, "task"), words.task + "\n", *(f"- {step}" for step in words.steps), "",
             said(lang, "stub"), fence(f"mnistlab exercise {stage} --out {stub}", "sh"),
             fence(exercises.stub_text(ex, stub), "python", title=stub),
             said(lang, "check"), fence(f"mnistlab check {stub} --stage {stage}\n"
                                        f"mnistlab check {stub} --stage {stage} --watch   # on "
                                        f"every save\nmnistlab check {stub} --stage {stage} "
                                        "--hint    # one more hint each time", "sh"),
             said(lang, "compares", compared=compared, rule=rule, why=words.why),
             said(lang, "hints"), *details]
    return "\n".join(parts)


def failing_report(stage: str, lang: str = "en") -> str:
    """The report of a wrong solution kept in the repository (the stub's when there is none)."""
    path, wrong, report = checked(stage)
    intro = (said(lang, "wrong", path=path, shown=fence(wrong, "python", title=path)) if wrong
             else said(lang, "unedited"))
    return said(lang, "report") + intro + "\n" + fence(
        report, title=f"mnistlab check {path} --stage {stage}", wrap=True)


@kept_result
def checked(stage: str) -> tuple[str, str, str]:
    """What a failing report shows, in no language: the file checked (a wrong solution kept in
    the repository, else the stub), its source when it is a solution, and the check's report."""
    wrong = sorted((SOLUTIONS / stage).glob("wrong_*.py"))
    if wrong:
        path, source = wrong[0].relative_to(ROOT).as_posix(), wrong[0].read_text("utf-8")
        plugin: object = path
    else:
        ex = exercises.get_exercise(stage)
        path, source = f"my_{ex.plugin}.py", ""
        (ROOT / "build").mkdir(exist_ok=True)
        plugin = ROOT / "build" / path
        plugin.write_text(exercises.stub_text(ex, path), "utf-8")
    result = mnistlab.check(plugin, stage=stage, keep_progress=False)
    return path, source, str(result).replace(str(plugin), path)
