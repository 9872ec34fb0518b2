"""Fixtures of the genn backend tests.

The tests that simulate skip (with the reason printed) where pygenn is not
importable; the ones about a missing pygenn and the pure-Python build plan
always run.
"""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def genn_cache(tmp_path_factory) -> Path:
    """One build cache for the whole session, so each model is compiled once."""
    return tmp_path_factory.mktemp("genn-cache")
