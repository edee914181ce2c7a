"""Shared fixtures, and the two test tiers.

``make test-fast`` runs ``pytest -m "not slow"``: everything but the docs build, the browser,
the packaging and the slow subprocess tests, and needs only ``pip install -e ".[dev]"``.
``make test`` (and CI) runs everything. A whole module joins the slow tier in ``SLOW_MODULES``
below; a single test with ``@pytest.mark.slow``. The helpers that tests import are in
``helpers.py``.
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from helpers import Batches, default_batches

from mnistlab.data import Splits, load

# One CPU thread per torch process: this one (torch is imported after this file) and every
# CLI run the tests start, which inherit the environment. The models are small, so a second
# thread gains little; and when another process keeps the cores busy, torch's threads wait on
# each other and a test runs several times slower. Both sides of every comparison run with the
# same setting, so no expected number depends on it. An explicit setting is kept.
os.environ.setdefault("OMP_NUM_THREADS", "1")

SLOW_MODULES = {
    "test_docs.py": "builds the docs site with mkdocs",
    "test_site.py": "drives the built site in headless Chromium",
    "test_packaging.py": "builds a wheel and installs it in a fresh venv",
}
"""Modules that belong to the full tier only, and why."""

WALK = "test_the_nav_reaches_every_page_and_no_page_scrolls_sideways_or_leaves_127_0_0_1"
"""The browser test that opens every page: as long as a module, so a unit of work of its own."""

LONGEST_FIRST = ("test_docs.py", "test_export.py", "test_hostile_input.py", "test_distributed.py",
                 "test_site.py", WALK, "test_runfolder.py", "test_run_folder_trust.py",
                 "test_packaging.py")
"""The longest units of work (modules, and WALK), started first so that no worker is left with
one at the end. Each worker starts with two: the first builds the site (``test_docs.py``), and
the browser's units come after the first four, by when it is built."""

DOCS_TOOLS = ("mkdocs", "material", "mkdocstrings", "markdown_exec", "mkdocs_click")
"""What ``pip install -e ".[docs]"`` brings, by import name: the site build needs them all."""


def unit_of_work(nodeid: str) -> str:
    """What one worker runs whole under ``pytest -n``: a module (its module fixtures are made
    once), or WALK alone."""
    module, _, test = nodeid.partition("::")
    return WALK if test == WALK else Path(module).name


@pytest.hookimpl(optionalhook=True)  # a hook of pytest-xdist, which the dev extra brings
def pytest_xdist_make_scheduler(config: pytest.Config, log: object) -> object:
    """Under ``pytest -n`` (as ``make test`` runs), each unit of work runs whole on one worker,
    in the order of ``LONGEST_FIRST``; the site is built once, by whichever worker needs it
    first (``test_docs.built_site``)."""
    from xdist.scheduler import LoadScopeScheduling

    class ByUnit(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return unit_of_work(nodeid)

    return ByUnit(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    missing = [name for name in DOCS_TOOLS if importlib.util.find_spec(name) is None]
    # In CI a missing tool is a failure (the build says which), never a quiet skip.
    skip_docs = missing and os.environ.get("CI") != "true"
    # The longest groups first (with --no-loadscope-reorder), so no worker ends alone on one.
    rank = {name: place for place, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(unit_of_work(item.nodeid), len(rank)))  # stable
    for item in items:
        if item.path.name in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
        if skip_docs and "site" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.skip(
                reason=f"the docs tools are not installed ({', '.join(missing)}): "
                       "pip install -e '.[docs]'"))


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Point MNISTLAB_DATA at a fresh data folder, and the user's data folder (where exercise
    progress is kept) at another, so tests never read or write the user's."""
    folder = tmp_path_factory.mktemp("mnistlab-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNISTLAB_DATA", str(folder))
        patch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("user-data")))
        yield folder


@pytest.fixture(scope="session")
def sample() -> Splits:
    """The embedded sample, loaded once for the session. Tests must not change its arrays."""
    return load("sample")


@pytest.fixture(scope="session")
def sample_batches(sample: Splits) -> Batches:
    """Batches in one epoch over the sample at the default batch sizes (train 64, valid 128).

    Derived from the data and the defaults, so a test that counts steps says where its number
    comes from instead of hard-coding it.
    """
    return default_batches(len(sample.x_train), len(sample.x_valid))


@pytest.fixture
def blank_pictures(monkeypatch: pytest.MonkeyPatch) -> None:
    """A run folder's loss curves and digit grid drawn blank.

    Drawing the two pictures takes half a second, most of a run on the tiny data; where the
    pictures are not the point they are blank figures, still written by the kernel's
    ``save_figure``. ``test_look.py`` checks the real ones, of a real run folder too.
    """
    from matplotlib.figure import Figure

    from mnistlab import plots

    def blank(*args: object, **kwargs: object) -> Figure:
        return Figure(figsize=(1, 1), dpi=10)

    monkeypatch.setattr(plots, "loss_curves", blank)
    monkeypatch.setattr(plots, "digit_grid", blank)
