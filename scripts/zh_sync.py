"""Keep the Chinese pages (docs/zh/) in step with the English ones (docs/).

Each page of docs/zh/ starts with front matter naming the English page it translates and the
first 12 hex digits of the SHA-256 of that page's bytes when it was translated::

    ---
    translates: stages/scratch.md
    source_sha: 0123456789ab
    ---

With no arguments, this lists the Chinese pages whose English page has changed since (its hash
no longer matches), the English pages with no Chinese page, and the Chinese pages with no
English page, and exits 1 if there is any. After updating a translation, ``--stamp PATH``
writes the English page's current hash into it::

    python scripts/zh_sync.py
    python scripts/zh_sync.py --stamp docs/zh/stages/scratch.md

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


def front_matter(text: str) -> dict[str, str]:
    """The ``key: value`` lines of a page's front matter ({} when it has none)."""
    found = FRONT_MATTER.match(text)
    if found is None:
        return {}
    pairs = (line.split(":", 1) for line in found[1].splitlines() if ":" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def problems(docs: Path = DOCS) -> list[str]:
    """One line for each page out of step; [] when the two languages match."""
    english, chinese = set(english_pages(docs)), set(zh_pages(docs))
    found = [f"missing: docs/{ZH}/{page} (translates docs/{page})"
             for page in sorted(english - chinese)]
    found += [f"no English page: docs/{ZH}/{page}"
              for page in sorted(chinese - english)]
    for page in sorted(chinese & english):
        meta = front_matter((docs / ZH / page).read_text(encoding="utf-8"))
        if meta.get("translates") != page:
            found.append(f"front matter: docs/{ZH}/{page} must say `translates: {page}`")
        elif meta.get("source_sha") != source_sha(docs / page):
            found.append(f"out of date: docs/{ZH}/{page} translates docs/{page} as it was at "
                         f"{meta.get('source_sha')}; it is now {source_sha(docs / page)}")
    return found


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


def stamp(page: Path, docs: Path = DOCS) -> str:
    """Write the English page's current hash into a Chinese page's front matter."""
    text = page.read_text(encoding="utf-8")
    english = page.resolve().relative_to((docs / ZH).resolve()).as_posix()
    sha = source_sha(docs / english)
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
                        help="Chinese pages whose translation is up to date again")
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
