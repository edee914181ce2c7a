"""The live parts of the docs pages, made through mnistlab's public API at build time: a
page's markdown-exec block imports them from ``blocks``, ``kept`` or ``stage_pages`` and
prints the Markdown they return."""
