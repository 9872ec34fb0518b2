"""Module paths of spikehooks 0.1 keep working as aliases of the moved modules."""

from __future__ import annotations

import importlib
from importlib import metadata

import pytest

import spikehooks
from spikehooks._moved_modules import MOVED_MODULES


@pytest.mark.parametrize("old, new", sorted(MOVED_MODULES.items()))
def test_an_old_path_imports_the_moved_module_itself(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_old_from_imports_give_the_same_objects():
    from spikehooks.callbacks.monitor import Monitor
    from spikehooks.monitor import Monitor as OldMonitor
    from spikehooks.progress import BatchProgressBar as OldBar

    assert OldMonitor is Monitor
    assert OldBar is spikehooks.BatchProgressBar
    assert spikehooks.registry is importlib.import_module("spikehooks.plugins.registry")


def test_an_entry_point_written_against_an_old_path_still_loads():
    ep = metadata.EntryPoint("bar", "spikehooks.progress:BatchProgressBar",
                             "spikehooks.callbacks")
    assert ep.load() is spikehooks.BatchProgressBar


def test_an_unknown_old_looking_path_is_still_refused():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("spikehooks.no_such_module")
