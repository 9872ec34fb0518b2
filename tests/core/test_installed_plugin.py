"""End to end: a real third-party plugin distribution, pip-installed into the test venv.

The fixture distributions live in ``tests/fixtures/``.  The good one is
installed into the running virtual environment for this module and removed
afterwards; the broken one (failing global plugin, clashing callback name) is
installed into a separate folder that only the subprocesses that need it see.
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def _pip(*args: str) -> None:
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args, *isolation],
        check=True,
        capture_output=True,
        text=True,
    )


def _run(code: str, env_extra: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, **(env_extra or {})}
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )


def _copy_source(name: str, tmp_path_factory) -> str:
    """Copy a fixture distribution so that building it leaves the repository clean."""
    target = tmp_path_factory.mktemp("src") / name
    shutil.copytree(FIXTURES / name, target, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    return str(target)


@pytest.fixture(scope="module")
def installed_plugin(tmp_path_factory):
    _pip("install", "--no-deps", _copy_source("spikehooks-fixture-plugin", tmp_path_factory))
    try:
        yield
    finally:
        subprocess.run(
            [sys.executable, "-m", "pip", "uninstall", "-y", "-q", "spikehooks-fixture-plugin"],
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="module")
def broken_site(tmp_path_factory):
    target = tmp_path_factory.mktemp("broken-site")
    _pip("install", "--no-deps", "--target", str(target),
         _copy_source("spikehooks-fixture-broken", tmp_path_factory))
    return target


RUN_WITH_PLUGIN = """
    from spikehooks import CallbackList
    cbl = CallbackList(["fixture_batch_counter"], mode="test", num_batches=2)
    for batch in range(2):
        cbl.on_batch_begin(batch)
        for t in range(3 + batch):
            cbl.on_timestep_end(t)
        cbl.on_batch_end(batch, {})
    cbl.on_test_end({})
    print(cbl.get_data())
"""


def test_named_callback_and_global_hook_of_an_installed_plugin(installed_plugin, tmp_path):
    log = tmp_path / "plugin.log"
    result = _run(RUN_WITH_PLUGIN, {"FIXTURE_PLUGIN_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "{'batch_counter': [3, 4]}"
    assert log.read_text() == "test_end mode=test\n"


def test_installed_plugin_is_listed_by_the_command(installed_plugin):
    result = subprocess.run(
        [sys.executable, "-m", "spikehooks.cli", "plugins", "--json"],
        capture_output=True, text=True, check=True,
    )
    records = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    named = records[("callbacks", "fixture_batch_counter")]
    assert (named["distribution"], named["version"]) == ("spikehooks-fixture-plugin", "1.2.0")
    glob = records[("plugins", "fixture_global")]
    assert glob["status"] == "loaded"
    assert glob["hooks"] == ["on_test_end"]


def test_broken_plugin_does_not_break_the_host(installed_plugin, broken_site, tmp_path):
    log = tmp_path / "plugin.log"
    code = """
        import warnings
        from spikehooks import CallbackList
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cbl = CallbackList(["spikehooks-fixture-plugin:fixture_batch_counter"])
        cbl.on_test_end({})
        print(len(caught))
        print(caught[0].message)
    """
    result = _run(code, {"PYTHONPATH": str(broken_site), "FIXTURE_PLUGIN_LOG": str(log)})
    assert result.returncode == 0, result.stderr
    count, message = result.stdout.strip().splitlines()
    assert count == "1"
    assert "fixture_broken = spikehooks_fixture_broken.crashes_on_import" in message
    assert "spikehooks-fixture-broken 0.0.1" in message
    assert "not-installed-anywhere" in message
    assert log.read_text() == "test_end mode=test\n"


def test_strict_mode_stops_on_the_broken_plugin(installed_plugin, broken_site):
    code = """
        from spikehooks import CallbackList, PluginError
        try:
            CallbackList([])
        except PluginError as exc:
            print(exc.distribution)
    """
    result = _run(code, {"PYTHONPATH": str(broken_site), "SPIKEHOOKS_STRICT_PLUGINS": "1"})
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "spikehooks-fixture-broken 0.0.1"


def test_clashing_name_is_reported_with_both_distributions(installed_plugin, broken_site):
    code = """
        from spikehooks import AmbiguousNameError, registry
        try:
            registry.resolve("callbacks", "fixture_batch_counter")
        except AmbiguousNameError as exc:
            print(exc)
    """
    result = _run(code, {"PYTHONPATH": str(broken_site),
                         "SPIKEHOOKS_DISABLE_PLUGIN_AUTOLOAD": "1"})
    assert result.returncode == 0, result.stderr
    assert "spikehooks-fixture-plugin" in result.stdout
    assert "spikehooks-fixture-broken" in result.stdout
    assert "'spikehooks-fixture-plugin:fixture_batch_counter'" in result.stdout
