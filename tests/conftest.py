"""Shared fixtures: one dataset cache for the whole test session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session", autouse=True)
def data_cache(tmp_path_factory: pytest.TempPathFactory) -> object:
    """Point MNISTLAB_DATA at a fresh cache, so tests never read or write the user's.

    Session-wide, so the embedded sample is parsed once for the whole run.
    """
    folder = tmp_path_factory.mktemp("mnistlab-data")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("MNISTLAB_DATA", str(folder))
        yield folder
