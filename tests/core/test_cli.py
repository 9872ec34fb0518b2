"""The ``spikehooks plugins`` command."""

from __future__ import annotations

import json
import sys

import pytest

from spikehooks import cli

CALLBACK_MODULE = """
from spikehooks import Callback

class Counter(Callback):
    def on_batch_end(self, batch, metrics):
        pass
"""

PLUGIN_MODULE = """
import spikehooks

@spikehooks.hookimpl
def on_train_end(metrics):
    pass
"""


def _listing(capsys, *args):
    assert cli.main(["plugins", "--json", *args]) == 0
    return json.loads(capsys.readouterr().out)


def test_json_lists_every_group_with_distribution_and_version(fake_dist, capsys):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_cli_mod:Counter"}},
              {"alpha_cli_mod": CALLBACK_MODULE}, version="3.1")
    records = _listing(capsys)
    alpha = next(r for r in records if r["name"] == "alpha_counter")
    assert alpha == {
        "kind": "callbacks",
        "name": "alpha_counter",
        "value": "alpha_cli_mod:Counter",
        "distribution": "alpha-plugin",
        "version": "3.1",
        "hooks": None,
        "status": "not imported",
    }
    assert {"neurons", "backends", "callbacks"} <= {r["kind"] for r in records}


def test_listing_does_not_import_named_entry_points(fake_dist, capsys):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_cli_mod:Counter"}},
              {"alpha_cli_mod": CALLBACK_MODULE})
    _listing(capsys)
    assert "alpha_cli_mod" not in sys.modules


def test_load_reports_hooks_and_failures(fake_dist, capsys):
    fake_dist("alpha-plugin", {"callbacks": {"alpha_counter": "alpha_cli_mod:Counter",
                                             "broken": "no_such_module_xyz:Thing"}},
              {"alpha_cli_mod": CALLBACK_MODULE})
    records = {r["name"]: r for r in _listing(capsys, "--load")}
    assert records["alpha_counter"]["status"] == "loaded"
    assert records["alpha_counter"]["hooks"] == ["on_batch_end"]
    assert records["broken"]["status"].startswith("failed: ModuleNotFoundError")


def test_global_plugins_show_status_and_hooks(fake_dist, capsys):
    fake_dist("good-plugin", {"plugins": {"good": "good_cli_plugin"}},
              {"good_cli_plugin": PLUGIN_MODULE})
    fake_dist("bad-plugin", {"plugins": {"bad": "bad_cli_plugin"}},
              {"bad_cli_plugin": "raise RuntimeError('boom')"})
    records = {r["name"]: r for r in _listing(capsys)}
    assert records["good"]["status"] == "loaded"
    assert records["good"]["hooks"] == ["on_train_end"]
    assert records["bad"]["status"] == "failed: RuntimeError: boom"


def test_table_output_has_a_header(capsys):
    assert cli.main(["plugins"]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert first.split() == ["kind", "name", "distribution", "version", "status", "hooks"]


def test_unknown_subcommand_exits_with_usage():
    with pytest.raises(SystemExit) as info:
        cli.main(["plugin"])
    assert info.value.code == 2


def test_hooks_attached_in_set_params_are_listed_when_declared(fake_dist, capsys):
    source = CALLBACK_MODULE + '''

class Windowed(Callback):
    attached_hooks = ("on_timestep_end",)

    def set_params(self, **kwargs):
        self.on_timestep_end = lambda timestep: None
'''
    fake_dist("alpha-plugin", {"callbacks": {"windowed": "alpha_cli_mod:Windowed"}},
              {"alpha_cli_mod": source})
    records = {r["name"]: r for r in _listing(capsys, "--load")}
    assert records["windowed"]["hooks"] == ["on_timestep_end"]
