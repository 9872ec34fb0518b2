"""Repository-wide checks that run with the test suite: lint, types, generated docs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: Type-checked in CI: every module of the core and of the plugin distributions.
TYPED_PACKAGES = [
    "core/spikehooks",
    "plugins/recorders/spikehooks_recorders",
    "plugins/checkpoint/spikehooks_checkpoint",
    "plugins/schedules/spikehooks_schedules",
    "plugins/loggers/spikehooks_loggers",
]


def _tool(name: str) -> list[str]:
    if importlib.util.find_spec(name) is None:
        pytest.fail(f"{name} is not installed; install the test tools with requirements-dev.txt")
    return [sys.executable, "-m", name]


def test_ruff_is_clean():
    result = subprocess.run(
        [*_tool("ruff"), "check", "."], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_module_type_checks():
    result = subprocess.run(
        [*_tool("mypy"), "--follow-imports=silent", *TYPED_PACKAGES],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_hook_reference_is_generated_from_the_hookspecs():
    generator = ROOT / "docs" / "gen_hook_reference.py"
    spec = importlib.util.spec_from_file_location("gen_hooks", generator)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    committed = (ROOT / "docs" / "hooks.md").read_text(encoding="utf-8")
    assert committed == module.render(), (
        "docs/hooks.md is stale: run python docs/gen_hook_reference.py > docs/hooks.md"
    )
