"""Recorders, checkpoints and the progress bar in data-parallel runs under ``mpiexec``."""

from __future__ import annotations

import numpy as np
import pytest
from _mpi_launch import run_ok
from _mpi_worker import options, parser, run


def _epochs(folder):
    """The checkpoint folders (one per saved epoch); the folder's ownership files aside."""
    return sorted(p.name for p in folder.iterdir() if p.name.isdigit())


@pytest.mark.parametrize("args", [("--shard", "--batch", "6"), ("--slice", "--batch", "4")],
                         ids=["shard", "mlgenn-slices"])
def test_gathered_recordings_equal_a_single_process_recording(tmp_path, args):
    results = run_ok(2, "record", *args, out=tmp_path)
    reference = run(parser().parse_args(["record", "unused", *args]))
    gathered = results[0]
    assert len(gathered["times"]) == len(reference["times"]) == 20
    for name in ("times", "ids", "v"):
        for got, expected in zip(gathered[name], reference[name], strict=True):
            assert got.dtype == expected.dtype
            np.testing.assert_array_equal(got, expected)
    # Rank 1 keeps its own examples; every rank reports the global accuracy.
    assert len(results[1]["times"]) == 10
    assert results[1]["accuracy"] == gathered["accuracy"] == reference["accuracy"]


@pytest.mark.parametrize("where", [(), ("--all-ranks",)], ids=["rank0-only", "every-rank"])
def test_checkpoint_written_under_mpi_resumes_in_a_single_process(tmp_path, where):
    folder = tmp_path / "ckpt"
    run_ok(2, "train", "--shard", "--shuffle", "--epochs", "2", "--checkpoint", str(folder),
           *where, out=tmp_path)
    assert _epochs(folder) == ["0", "1"]
    resumed = run(options("--shard", "--shuffle", "--epochs", "4", "--checkpoint", str(folder),
                          "--resume", "latest"))
    straight = run(options("--shard", "--shuffle", "--epochs", "4"))
    for key, expected in straight["weights"].items():
        np.testing.assert_array_equal(resumed["weights"][key], expected)
    assert resumed["step"] == straight["step"]


def test_checkpoint_written_by_a_single_process_resumes_under_mpi(tmp_path):
    folder = tmp_path / "ckpt"
    run(options("--shard", "--shuffle", "--epochs", "2", "--checkpoint", str(folder)))
    results = run_ok(2, "train", "--shard", "--shuffle", "--epochs", "4", "--checkpoint",
                     str(folder), "--resume", "latest", out=tmp_path)
    straight = run(options("--shard", "--shuffle", "--epochs", "4"))
    for result in results:
        for key, expected in straight["weights"].items():
            np.testing.assert_array_equal(result["weights"][key], expected)
        assert result["step"] == straight["step"]
    # Rank 0 wrote epochs 2 and 3; nothing else wrote.
    assert _epochs(folder) == ["0", "1", "2", "3"]
