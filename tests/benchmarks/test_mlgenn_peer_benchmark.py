"""benchmarks/mlgenn_peer.py: a JSON note without mlGeNN or pygenn, ratios with them."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
HAVE_PEER = all(importlib.util.find_spec(m) is not None for m in ("ml_genn", "pygenn"))


@pytest.fixture
def bench(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.mlgenn_peer as bench

    return bench


@pytest.mark.parametrize("missing", ["ml_genn", "pygenn"])
def test_benchmark_without_peer_says_why_it_skipped(bench, monkeypatch, missing):
    monkeypatch.setitem(sys.modules, missing, None)
    result = bench.main(["--quick"])
    assert result["skipped"] is True
    assert result["benchmark"] == "mlgenn_peer"
    assert missing in result["reason"] and "not installed" in result["reason"]
    assert "run" not in result and "ratios" not in result


def test_every_ratio_names_two_configurations(bench):
    names = {config[0] for config in bench.CONFIGS}
    for mlgenn, spikehooks in bench.RATIOS.values():
        assert mlgenn in names and mlgenn.startswith("mlgenn_")
        assert spikehooks in names and spikehooks.startswith("spikehooks_")


@pytest.mark.skipif(not HAVE_PEER, reason="mlGeNN and pygenn are not installed")
def test_quick_benchmark_times_every_configuration(bench):
    result = bench.main(["--quick"])
    for figures in result["run"].values():
        assert len(figures["wall"]) == result["repeats"]
        assert figures["median_s"] > 0
    assert set(result["ratios"]) == set(bench.RATIOS)
    assert result["blas_threads"] == 1
