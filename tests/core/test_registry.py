"""Name resolution through entry points."""

from __future__ import annotations

import sys
from importlib import metadata

import pytest

from spikehooks import (
    AmbiguousNameError,
    ConfigurationError,
    PluginError,
    UnknownNameError,
    registry,
)

CALLBACK_MODULE = """
from spikehooks import Callback

class Counter(Callback):
    def __init__(self, start=0):
        self.count = start

    def on_batch_end(self, batch, metrics):
        self.count += 1
"""


def test_core_registers_its_builtins_through_entry_points():
    info = registry.find("callbacks", "batch_progress_bar")
    assert info.distribution == "spikehooks"
    assert info.value == "spikehooks.callbacks.progress:BatchProgressBar"


def test_resolving_imports_only_the_entry_point_asked_for(fake_dist):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    fake_dist("beta-plugin", {"callbacks": {"beta_counter": "beta_mod:Counter"}},
              {"beta_mod": CALLBACK_MODULE})
    cls = registry.resolve("callbacks", "alpha_counter")
    assert cls.__module__ == "alpha_mod"
    assert "alpha_mod" in sys.modules
    assert "beta_mod" not in sys.modules


def test_name_and_kwargs_pair_constructs(fake_dist):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    counter = registry.create("callbacks", ("alpha_counter", {"start": 5}))
    assert counter.count == 5


def test_bad_kwargs_name_the_entry_and_fix(fake_dist):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    with pytest.raises(ConfigurationError, match="'alpha_counter' could not be constructed"):
        registry.create("callbacks", ("alpha_counter", {"stat": 5}))


def test_kwargs_must_be_a_dict():
    with pytest.raises(ConfigurationError, match="kwargs a dict; got list"):
        registry.create("callbacks", ("batch_progress_bar", [1]))


def test_unknown_name_lists_known_names_and_closest_match():
    with pytest.raises(UnknownNameError) as info:
        registry.resolve("callbacks", "batch_progres_bar")
    message = str(info.value)
    assert "Did you mean 'batch_progress_bar'?" in message
    assert "batch_progress_bar" in info.value.known
    assert info.value.kind == "callbacks"


def test_one_name_from_two_distributions_is_ambiguous(fake_dist):
    fake_dist("alpha-plugin", {"callbacks": {"counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    fake_dist("beta-plugin", {"callbacks": {"counter": "beta_mod:Counter"}},
              {"beta_mod": CALLBACK_MODULE})
    with pytest.raises(AmbiguousNameError) as info:
        registry.resolve("callbacks", "counter")
    message = str(info.value)
    assert "alpha-plugin" in message and "beta-plugin" in message
    assert "'alpha-plugin:counter'" in message


def test_distribution_qualified_name_picks_one(fake_dist):
    fake_dist("alpha-plugin", {"callbacks": {"counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    fake_dist("beta-plugin", {"callbacks": {"counter": "beta_mod:Counter"}},
              {"beta_mod": CALLBACK_MODULE})
    assert registry.resolve("callbacks", "beta-plugin:counter").__module__ == "beta_mod"
    assert registry.resolve("callbacks", "beta_plugin:counter").__module__ == "beta_mod"


def test_entry_point_pointing_at_nothing_names_entry_point_and_distribution(fake_dist):
    fake_dist("ghost-plugin", {"callbacks": {"ghost": "ghost_mod_missing:Ghost"}}, version="2.3")
    with pytest.raises(PluginError) as info:
        registry.resolve("callbacks", "ghost")
    assert "ghost = ghost_mod_missing:Ghost (ghost-plugin 2.3)" in str(info.value)
    assert info.value.distribution == "ghost-plugin 2.3"
    assert isinstance(info.value.__cause__, ModuleNotFoundError)


def test_metadata_is_read_once_per_process(fake_dist, monkeypatch):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_mod:Counter"}},
              {"alpha_mod": CALLBACK_MODULE})
    calls = []
    real = metadata.distributions

    def counting():
        calls.append(1)
        return real()

    monkeypatch.setattr(metadata, "distributions", counting)
    registry.clear_cache()
    for _ in range(3):
        registry.find("callbacks", "alpha_counter")
        registry.names("neurons")
    assert len(calls) == 1


def test_empty_or_non_string_name_is_refused():
    with pytest.raises(ConfigurationError, match="non-empty string"):
        registry.find("callbacks", "")


def test_objects_pass_through_create():
    marker = object()
    assert registry.create("callbacks", marker) is marker
