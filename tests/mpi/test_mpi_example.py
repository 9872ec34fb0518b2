"""The MPI example script runs under ``mpiexec`` as mlGeNN's MPI examples do."""

from __future__ import annotations

import json
from pathlib import Path

from _mpi_launch import mpirun_script

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "train_yin_yang_mpi.py"


def _epochs(folder):
    """The checkpoint folders (one per saved epoch); the folder's ownership files aside."""
    return sorted(p.name for p in folder.iterdir() if p.name.isdigit())


def test_yin_yang_mpi_example_trains_checkpoints_on_rank_0_and_reports_global_accuracy(
        tmp_path):
    done = mpirun_script(2, EXAMPLE, "--epochs", "2", "--train-examples", "128",
                         "--test-examples", "40", "--checkpoints", "ckpt", cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert summary["ranks"] == 2
    assert 0.0 <= summary["test_accuracy"] <= 1.0
    assert _epochs(tmp_path / "ckpt") == ["0", "1"]
