"""``benchmarks/mpi.py`` runs as a script and reports its figures (MPI installed)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_mpi_benchmark_reports_times_speedup_and_the_control(tmp_path):
    pytest.importorskip("mpi4py", reason="mpi4py is not installed; install spikehooks[mpi]")
    if not (Path(sys.executable).parent / "mpiexec").exists() and not shutil.which("mpiexec"):
        pytest.skip("no mpiexec next to the interpreter or on PATH; install spikehooks[mpi]")
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "mpi.py"), "--quick", "--examples", "16",
         "--batch", "8", "--repeats", "1"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
        env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(done.stdout)
    times = result["seconds_per_epoch"]
    assert set(times) == {"1_rank", "2_ranks", "independent_pair"}
    assert all(t > 0 for t in times.values())
    assert result["speedup"] == pytest.approx(times["1_rank"] / times["2_ranks"])
    assert result["efficiency"] == pytest.approx(result["speedup"] / 2)
    assert result["kept_by_mpi"] == pytest.approx(times["independent_pair"] / times["2_ranks"])
    assert result["global_batch_size"] == 8 and result["examples_timed"] == 16
    assert result["blas"][0]["num_threads"] == 1
