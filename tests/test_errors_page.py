"""The Errors page: every row names a test, and every named test exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGE = ROOT / "docs" / "errors.md"
TEST_REFERENCE = re.compile(r"`(tests/test_\w+\.py)::(test_\w+)`")


def test_every_row_of_the_errors_page_names_a_test():
    # A group's table is indented under its collapsible block (pymdownx.details).
    rows = [line.strip() for line in PAGE.read_text().splitlines()
            if line.strip().startswith("| ") and not line.strip().startswith("| case")]
    assert len(rows) > 40
    for row in rows:
        assert TEST_REFERENCE.search(row), f"no test named in: {row}"


def test_every_test_the_errors_page_names_exists():
    for path, name in TEST_REFERENCE.findall(PAGE.read_text()):
        source = (ROOT / path).read_text()
        assert re.search(rf"^def {name}\(", source, re.MULTILINE), f"{path}::{name} is gone"
