"""Recorders, checkpoints and the progress bar in data-parallel runs under ``mpiexec``."""

from __future__ import annotations

import numpy as np
import pytest
from _mpi_launch import run_ok
from _mpi_worker import options, parser, run


def _epochs(folder):
    """The checkpoint folders (one per saved epoch); the folder's ownership files aside."""
    return sorted(p.name for p in folder.iterdir() if p.name.isdigit())


def _assert_same_recording(gathered, reference, *, exact=True):
    """Every recorded key: the same entries, example indices and batches, in the same order."""
    keys = sorted(k for k in reference if k.split(".")[0] in (
        "spikes", "v", "g", "w", "val_spikes"))
    assert keys and sorted(k for k in gathered if k in keys) == keys
    for key in keys:
        got, expected = gathered[key], reference[key]
        assert len(got) == len(expected), key
        if key.endswith((".examples", ".batches")):
            assert got == expected, key
            continue
        for a, b in zip(got, expected, strict=True):
            assert a.dtype == b.dtype and a.shape == b.shape, key
            if exact or key.endswith(".ids"):
                np.testing.assert_array_equal(a, b, err_msg=key)
            else:
                np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6, err_msg=key)


@pytest.mark.parametrize("args", [("--shard", "--batch", "6"), ("--slice", "--batch", "4")],
                         ids=["shard", "mlgenn-slices"])
def test_gathered_recordings_equal_a_single_process_recording(tmp_path, args):
    results = run_ok(2, "record", *args, out=tmp_path)
    reference = run(parser().parse_args(["record", "unused", *args]))
    gathered = results[0]
    assert len(reference["spikes.times"]) == 20
    assert reference["spikes.examples"] == list(range(20))
    assert reference["g.examples"] == [1, 2, 7, 13]
    assert len(reference["w"]) == 2 and reference["w"][0].shape == (12, 2)
    _assert_same_recording(gathered, reference)
    # Rank 1 keeps its own examples; every rank reports the global accuracy.
    assert len(results[1]["spikes.times"]) == 10
    assert set(results[1]["spikes.examples"]) < set(range(20))
    assert results[1]["accuracy"] == gathered["accuracy"] == reference["accuracy"]


@pytest.mark.parametrize("args", [
    ("--shard", "--shuffle", "--batch", "4"),
    # Three epochs of 16 training examples at a global batch of 6 (last batch 4 = 2 + 2).
    ("--shard", "--batch", "6", "--epochs", "3"),
    ("--slice", "--batch", "4"),
], ids=["shard-shuffled", "shard-uneven", "mlgenn-slices"])
def test_recordings_gathered_during_training_equal_a_single_process_recording(tmp_path, args):
    args = ("--train", *args)
    results = run_ok(2, "record", *args, out=tmp_path)
    reference = run(parser().parse_args(["record", "unused", *args]))
    epochs = 3 if "3" in args else 2
    # Training examples 0..15 every epoch; after each epoch the validation split (data-set
    # examples 16..19), which validation callbacks count from 0 as mlGeNN's do.
    assert len(reference["spikes.times"]) == 16 * epochs
    assert sorted(reference["spikes.examples"]) == sorted(list(range(16)) * epochs)
    assert reference["val_spikes.examples"] == list(range(4)) * epochs
    # Rank 0 holds every pass so far at the end of each pass, as one process does.
    assert reference["val_pass_examples"] == [list(range(4)) * (e + 1) for e in range(epochs)]
    assert results[0]["val_pass_examples"] == reference["val_pass_examples"]
    assert len(reference["g"]) == 4 * epochs
    assert reference["w.batches"] and reference["w.batches"][0][0] == 0
    # One weight per recorded batch, changing as the network learns.
    assert not np.array_equal(reference["w"][0], reference["w"][-1])
    # Slices sum the global batch's gradients in another order: weights agree to float32
    # rounding (see test_mpi_training), so recorded voltages and weights do too.
    _assert_same_recording(results[0], reference, exact="--shard" in args)
    # Every rank trained the same weights; rank 1 holds only its own examples.
    for key, expected in results[0]["weights"].items():
        np.testing.assert_array_equal(results[1]["weights"][key], expected)
    assert len(results[1]["spikes.times"]) == 8 * epochs


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
