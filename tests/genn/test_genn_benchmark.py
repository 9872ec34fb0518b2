"""benchmarks/genn_inference.py: a JSON note without pygenn, figures with it."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.genn_inference as bench

    return bench


def test_benchmark_without_pygenn_says_why_it_skipped(bench, monkeypatch):
    monkeypatch.setitem(sys.modules, "pygenn", None)
    result = bench.main(["--quick"])
    assert result["skipped"] is True
    assert "pygenn is not installed" in result["reason"]
    assert "run" not in result


@pytest.mark.skipif(importlib.util.find_spec("pygenn") is None,
                    reason="pygenn (GeNN 5's Python package) is not installed")
def test_quick_benchmark_reports_build_and_run_separately(bench):
    result = bench.main(["--quick"])
    build, run = result["build"], result["run"]
    assert build["warm"]["build_s"] < build["cold"]["build_s"] / 2
    for config in ("numpy_none", "genn_none", "genn_optimized_none", "genn_spikes"):
        assert run[config]["wall"]["median_s"] > 0
        assert run[config]["examples_per_s"] > 0
    assert run["readouts_match"]["genn"] is True
    assert result["blas_threads"] == 1
