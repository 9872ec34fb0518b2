"""The plugin tutorial's example distribution, installed and tested as a user would."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "spikehooks-csv-logger"


@pytest.fixture(scope="module")
def installed_example(tmp_path_factory):
    source = tmp_path_factory.mktemp("example") / EXAMPLE.name
    shutil.copytree(EXAMPLE, source, ignore=shutil.ignore_patterns("build", "*.egg-info",
                                                                   "__pycache__"))
    isolation = [] if importlib.util.find_spec("setuptools") is None else ["--no-build-isolation"]
    subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", "install", "-q",
         "--no-deps", *isolation, str(source)],
        check=True, capture_output=True, text=True,
    )
    try:
        yield source
    finally:
        subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q",
                        "spikehooks-csv-logger"], check=False, capture_output=True)


def test_the_example_plugin_tests_pass_when_installed(installed_example):
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         str(installed_example / "tests")],
        cwd=installed_example, capture_output=True, text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout


def test_the_example_plugin_is_listed(installed_example):
    result = subprocess.run(
        [sys.executable, "-m", "spikehooks.cli", "plugins", "--json"],
        capture_output=True, text=True, check=True,
    )
    records = {(r["kind"], r["name"]): r for r in json.loads(result.stdout)}
    assert records[("callbacks", "metrics_csv")]["distribution"] == "spikehooks-csv-logger"
    timer = records[("plugins", "run_timer")]
    assert timer["status"] == "loaded"
    assert timer["hooks"] == ["on_test_begin", "on_test_end", "on_train_begin", "on_train_end"]
