"""The benchmark harness: ``python -m benchmarks`` and its helpers."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def harness(monkeypatch):
    """The ``benchmarks.__main__`` module, imported from the repository root."""
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks.__main__ as harness

    return harness


@pytest.fixture
def common(monkeypatch):
    monkeypatch.syspath_prepend(str(ROOT))
    import benchmarks._common as common

    return common


@pytest.fixture(scope="module")
def quick_startup_run(tmp_path_factory):
    """Run ``python -m benchmarks --quick --only startup`` once; return (exit status, JSON)."""
    out = tmp_path_factory.mktemp("bench") / "result.json"
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--quick", "--only", "startup", "--out", str(out)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    return json.loads(out.read_text(encoding="utf-8"))


def test_harness_json_describes_the_machine(quick_startup_run):
    machine = quick_startup_run["machine"]
    assert machine["logical_cores"] >= 1
    assert machine["memory_total_bytes"] > 0
    assert machine["numpy"] == np.__version__
    assert machine["python"]["version"] == ".".join(map(str, sys.version_info[:3]))
    assert all("num_threads" in pool for pool in machine["blas"])


def test_harness_json_runs_only_the_selected_benchmark(quick_startup_run):
    assert quick_startup_run["schema_version"] == 1
    assert quick_startup_run["quick"] is True
    assert list(quick_startup_run["benchmarks"]) == ["startup"]
    assert quick_startup_run["benchmarks"]["startup"]["status"] == "ok"


def test_startup_reports_medians_of_each_configuration(quick_startup_run):
    result = quick_startup_run["benchmarks"]["startup"]["result"]
    assert set(result["configurations"]) == {
        "installed",
        "with_plugins",
        "with_plugins_resolve_plugin",
    }
    for config in result["configurations"].values():
        timing = config["import_and_resolve"]
        assert timing["repeats"] == 3 == len(timing["samples_s"])
        assert timing["median_s"] == float(np.median(timing["samples_s"]))
        assert 0 < timing["median_s"] < config["process"]["median_s"]
    expected = (
        result["configurations"]["with_plugins"]["import_and_resolve"]["median_s"]
        / result["configurations"]["installed"]["import_and_resolve"]["median_s"]
    )
    assert result["ratio_with_plugins"] == pytest.approx(expected)
    assert result["ratio_with_plugins_paired"] > 0


def test_startup_resolving_one_name_imports_no_other_fake_plugin(quick_startup_run):
    result = quick_startup_run["benchmarks"]["startup"]["result"]
    assert result["fake_plugins"] == 50
    assert result["lazy_loading_ok"] is True
    assert result["fake_modules_imported"] == {
        "installed": [],
        "with_plugins": [],
        "with_plugins_resolve_plugin": ["spikehooks_benchfake_25"],
    }


def test_discover_lists_modules_with_main_only(harness, tmp_path):
    (tmp_path / "alpha.py").write_text("def main(argv=None):\n    return {}\n")
    (tmp_path / "beta.py").write_text("def helper():\n    pass\n")
    (tmp_path / "_private.py").write_text("def main(argv=None):\n    return {}\n")
    assert harness.discover(tmp_path) == ["alpha"]


def test_discover_finds_startup_in_the_repository(harness):
    assert "startup" in harness.discover()


def _write_package(root: Path) -> None:
    pkg = root / "fakebench"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "good.py").write_text("def main(argv=None):\n    return {'argv': list(argv)}\n")
    (pkg / "crash.py").write_text("def main(argv=None):\n    return 1 / 0\n")


def test_run_one_returns_the_benchmark_result(harness, tmp_path):
    _write_package(tmp_path)
    record = harness.run_one("fakebench.good", ["--quick"], 60, search_path=[tmp_path])
    assert record["status"] == "ok"
    assert record["result"] == {"argv": ["--quick"]}


def test_run_one_reports_a_crash_as_an_error_record(harness, tmp_path):
    _write_package(tmp_path)
    record = harness.run_one("fakebench.crash", [], 60, search_path=[tmp_path])
    assert record["status"] == "error"
    assert record["returncode"] == 1
    assert record["error"] == "ZeroDivisionError: division by zero"


def test_unknown_only_name_exits_with_usage_error():
    proc = subprocess.run(
        [sys.executable, "-m", "benchmarks", "--only", "no_such_bench"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 2
    assert "unknown no_such_bench" in proc.stderr


def test_median_time_returns_median_of_all_samples(common):
    calls = []
    timing = common.median_time(lambda: calls.append(time.sleep(0.002)), repeats=3, number=2)
    assert len(calls) == 1 + 3 * 2  # one warm-up call, then 3 samples of 2 calls
    assert len(timing.samples_s) == 3
    assert timing.median_s == sorted(timing.samples_s)[1]
    assert min(timing.samples_s) >= 0.002


def test_pin_blas_threads_limits_blas_to_one_thread(common):
    with common.pin_blas_threads(1) as pools:
        assert all(pool["num_threads"] == 1 for pool in pools if pool["user_api"] == "blas")


def test_write_json_converts_numpy_values(common, tmp_path):
    path = common.write_json(tmp_path / "sub" / "x.json", {"a": np.float32(1.5), "b": np.arange(3)})
    assert json.loads(path.read_text()) == {"a": 1.5, "b": [0, 1, 2]}
