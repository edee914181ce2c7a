"""Keep the Chinese pages (docs/zh/) in step with the English ones (docs/), and the Chinese
exercise texts (docs/_build/zh_exercises/) in step with the exercise files (plugins/exercises/).

Each page of docs/zh/ starts with front matter naming the English page it translates and the
first 12 hex digits of the SHA-256 of that page's bytes when it was translated::

    ---
    translates: stages/scratch.md
    source_sha: 0123456789ab
    ---

The exercise pages of the Chinese site say each exercise's task, steps, hints and why in
Chinese, from a translation of the exercise's file kept beside the page helper: each of
docs/_build/zh_exercises/ names the file of plugins/exercises/ it translates, relative to the
repository, in the same front matter::

    ---
    translates: plugins/exercises/fit_loop.md
    source_sha: 0123456789ab
    ---

With no arguments, this lists the translations (pages and exercise texts) whose English has
changed since (its hash no longer matches), the English files with no translation, and the
translations with no English file, and exits 1 if there is any. After updating a translation,
``--stamp PATH`` writes the English file's current hash into it::

    python scripts/zh_sync.py
    python scripts/zh_sync.py --stamp docs/zh/stages/scratch.md
    python scripts/zh_sync.py --stamp docs/_build/zh_exercises/fit_loop.md

tests/test_zh.py runs the same check.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "docs"
ZH = "zh"
NOT_PAGES = ("_build", ZH)  # folders of docs/ that hold no English page
EXERCISES = "plugins/exercises"  # the exercise files, in the folder that holds docs/
ZH_EXERCISES = "_build/zh_exercises"  # their translations, in docs/
FRONT_MATTER = re.compile(r"\A---\n(.*?)\n---\n", re.S)


def source_sha(path: Path) -> str:
    """The first 12 hex digits of the SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def english_pages(docs: Path = DOCS) -> list[str]:
    """The English pages, as paths relative to ``docs`` (``stages/scratch.md``)."""
    return sorted(path.relative_to(docs).as_posix() for path in docs.rglob("*.md")
                  if path.relative_to(docs).parts[0] not in NOT_PAGES)


def zh_pages(docs: Path = DOCS) -> list[str]:
    """The Chinese pages, as paths relative to ``docs/zh``."""
    return sorted(path.relative_to(docs / ZH).as_posix() for path in (docs / ZH).rglob("*.md"))


def english_exercises(docs: Path = DOCS) -> list[str]:
    """The exercise files (``fit_loop.md``) of plugins/exercises/, beside ``docs``."""
    return sorted(path.name for path in (docs.parent / EXERCISES).glob("*.md"))


def zh_exercises(docs: Path = DOCS) -> list[str]:
    """The Chinese exercise texts (``fit_loop.md``) of ``docs``/_build/zh_exercises/."""
    return sorted(path.name for path in (docs / ZH_EXERCISES).glob("*.md"))


def front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a page's front matter ({} when it has none)."""
    found = FRONT_MATTER.match(text)
    if found is None:
        return {}
    pairs = (line.split(":", 1) for line in found[1].splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def problems(docs: Path = DOCS) -> list[str]:
    """One line for each page or exercise text out of step; [] when the two languages match."""
    english, chinese = set(english_pages(docs)), set(zh_pages(docs))
    found = [f"missing: docs/{ZH}/{page} (translates docs/{page})"
             for page in sorted(english - chinese)]
    found += [f"no English page: docs/{ZH}/{page}"
              for page in sorted(chinese - english)]
    for page in sorted(chinese & english):
        found += _out_of_step(docs / ZH / page, page, docs / page, f"docs/{ZH}/{page}",
                              f"docs/{page}")
    english, chinese = set(english_exercises(docs)), set(zh_exercises(docs))
    found += [f"missing: docs/{ZH_EXERCISES}/{name} (translates {EXERCISES}/{name})"
              for name in sorted(english - chinese)]
    found += [f"no English exercise: docs/{ZH_EXERCISES}/{name}"
              for name in sorted(chinese - english)]
    for name in sorted(chinese & english):
        found += _out_of_step(docs / ZH_EXERCISES / name, f"{EXERCISES}/{name}",
                              docs.parent / EXERCISES / name, f"docs/{ZH_EXERCISES}/{name}",
                              f"{EXERCISES}/{name}")
    return found


def _out_of_step(chinese: Path, translates: str, english: Path, shown: str,
                 shown_english: str) -> list[str]:
    """What is wrong with one translation's front matter: [] or one line."""
    meta = front_matter(chinese.read_text(encoding="utf-8"))
    if meta.get("translates") != translates:
        return [f"front matter: {shown} must say `translates: {translates}`"]
    if meta.get("source_sha") != source_sha(english):
        return [f"out of date: {shown} translates {shown_english} as it was at "
                f"{meta.get('source_sha')}; it is now {source_sha(english)}"]
    return []


FENCE = re.compile(r"^(\s*)(`{3,}|~{3,})")


def code_blocks(text: str) -> list[str]:
    """The blocks of a page that must read the same in both languages, in order: every fenced
    block (code, and the ``exec`` blocks that write a page's generated output) and every ``:::``
    block (mkdocstrings, mkdocs-click), with its options. Mermaid diagrams are left out: their
    labels are prose, and translated."""
    lines, blocks, at = text.splitlines(), [], 0
    while at < len(lines):
        line, start = lines[at], at
        opened = FENCE.match(line)
        if opened:
            indent, fence = opened.groups()
            at += 1
            while at < len(lines) and not lines[at].startswith(indent + fence):
                at += 1
        elif line.startswith(":::"):
            while at + 1 < len(lines) and (lines[at + 1].startswith("    ")
                                            or not lines[at + 1].strip()):
                at += 1
            while not lines[at].strip():
                at -= 1
        else:
            at += 1
            continue
        if not lines[start].lstrip().lstrip("`~").startswith("mermaid"):
            blocks.append("\n".join(lines[start:at + 1]))
        at += 1
    return blocks


def translated_file(page: Path, docs: Path = DOCS) -> tuple[str, Path]:
    """What a translation says it translates, and that English file: an exercise file for a
    text of docs/_build/zh_exercises/, else the English page."""
    if page.resolve().parent == (docs / ZH_EXERCISES).resolve():
        return f"{EXERCISES}/{page.name}", docs.parent / EXERCISES / page.name
    english = page.resolve().relative_to((docs / ZH).resolve()).as_posix()
    return english, docs / english


def stamp(page: Path, docs: Path = DOCS) -> str:
    """Write the English file's current hash into a translation's front matter (a Chinese page,
    or an exercise text)."""
    text = page.read_text(encoding="utf-8")
    english, path = translated_file(page, docs)
    sha = source_sha(path)
    head = f"---\ntranslates: {english}\nsource_sha: {sha}\n---\n"
    found = FRONT_MATTER.match(text)
    if found is not None:
        kept = [line for line in found[1].splitlines()
                if line.split(":", 1)[0].strip() not in ("translates", "source_sha")]
        head = head[:-4] + "".join(f"{line}\n" for line in kept) + "---\n"
        text = text[found.end():]
    page.write_text(head + text, encoding="utf-8")
    return sha


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stamp", nargs="+", type=Path, metavar="PATH",
                        help="translations up to date again (Chinese pages, exercise texts)")
    parser.add_argument("--docs", type=Path, default=DOCS,
                        help="the docs folder (default: %(default)s)")
    args = parser.parse_args(argv)
    if args.stamp:
        for page in args.stamp:
            print(f"{page}: source_sha {stamp(page, args.docs)}")
        return 0
    found = problems(args.docs)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
