"""Repository-wide checks that run with the test suite: lint, types, generated docs."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: The core's public API, type-checked in CI.
TYPED_MODULES = [
    "core/spikehooks/__init__.py",
    "core/spikehooks/callbacks/callback.py",
    "core/spikehooks/callbacks/callback_list.py",
    "core/spikehooks/callbacks/hookspecs.py",
    "core/spikehooks/plugins/registry.py",
    "core/spikehooks/plugins/global_plugins.py",
    "core/spikehooks/errors.py",
    "core/spikehooks/callbacks/run_context.py",
    "core/spikehooks/callbacks/progress.py",
    "core/spikehooks/cli.py",
    "core/spikehooks/callbacks/_hookcall.py",
    "core/spikehooks/callbacks/_callback_validation.py",
    "core/spikehooks/backends/protocol.py",
    "core/spikehooks/communicators/__init__.py",
    "core/spikehooks/communicators/communicator.py",
    "core/spikehooks/communicators/mpi.py",
    "core/spikehooks/communicators/tree.py",
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


def test_public_api_type_checks():
    result = subprocess.run(
        [*_tool("mypy"), "--follow-imports=silent", *TYPED_MODULES],
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
