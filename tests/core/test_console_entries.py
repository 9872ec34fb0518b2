"""Every console entry and every benchmark script answers ``--help`` in a fresh process."""

from __future__ import annotations

import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
BENCHMARKS = sorted(p.stem for p in (ROOT / "benchmarks").glob("[!_]*.py"))


def _console_entries() -> list[str]:
    """Console scripts of the spikehooks distributions installed here."""
    return sorted(
        ep.name
        for dist in metadata.distributions()
        if (dist.metadata["Name"] or "").lower().startswith("spikehooks")
        for ep in dist.entry_points
        if ep.group == "console_scripts"
    )


def _help(command: list[str]) -> subprocess.CompletedProcess:
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage:"), proc.stdout
    assert "Traceback" not in proc.stderr
    return proc


def test_the_spikehooks_console_entry_is_installed():
    assert "spikehooks" in _console_entries()


@pytest.mark.parametrize("name", _console_entries())
def test_console_entry_answers_help(name):
    script = Path(sys.executable).parent / name
    _help([str(script), "--help"])
    _help([str(script), "demo", "--help"])


def test_benchmarks_are_found():
    assert {"startup", "dispatch", "inference", "training", "recording"} <= set(BENCHMARKS)


@pytest.mark.parametrize("name", BENCHMARKS)
@pytest.mark.parametrize("how", ["script", "module"])
def test_benchmark_answers_help_as_script_and_as_module(name, how):
    if how == "script":
        _help([sys.executable, str(Path("benchmarks") / f"{name}.py"), "--help"])
    else:
        _help([sys.executable, "-m", f"benchmarks.{name}", "--help"])


def test_benchmark_runner_answers_help():
    _help([sys.executable, "-m", "benchmarks", "--help"])
