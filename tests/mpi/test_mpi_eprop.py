"""Data-parallel e-prop under ``mpiexec``: the weights and filtered rates of one process."""

from __future__ import annotations

import numpy as np
import pytest
from _eprop_worker import options, run
from _mpi_launch import mpirun_script, results

WORKER = "_eprop_worker.py"


def _run_ok(num_ranks, out, *args):
    from pathlib import Path

    script = Path(__file__).resolve().parent / WORKER
    done = mpirun_script(num_ranks, script, str(out), *args)
    assert done.returncode == 0, f"mpiexec failed:\n{done.stdout}\n{done.stderr}"
    return results(out, num_ranks)


def _assert_close_weights(result, reference):
    # docs/scale-out.md: e-prop sums a batch's gradient over all its examples at once, so
    # the ranks' partial sums may differ from one process's in the last float64 bit.
    for key, expected in reference["learnable"].items():
        assert result["learnable"][key].dtype == np.float32
        np.testing.assert_allclose(result["learnable"][key], expected, rtol=1e-6, atol=1e-7,
                                   err_msg=key)
    assert result["step"] == reference["step"]
    assert result["accuracy"] == reference["accuracy"]
    assert result["epoch_loss"] == pytest.approx(reference["epoch_loss"], rel=1e-12)


def _assert_carry(result, reference, rows):
    # e-prop carries every batch row's state into the next batch (docs/eprop.md): a
    # rank's rows carry what one process's rows `rows` carry.
    for key in ("V", "z:hid", "psi:hid", "e_hid:hid", "e_out", "ef:in_hid", "ef:hid_hid",
                "epsa:hid_hid"):
        want = np.asarray(reference["carry"][key])[rows].astype(np.float64)
        np.testing.assert_allclose(result["carry"][key], want, rtol=1e-5,
                                   atol=1e-6 * max(1.0, np.abs(want).max()), err_msg=key)


@pytest.mark.parametrize("args", [
    # 14 examples at a global batch of 4: the last batch (2) runs on rank 0's rows 0 and 1,
    # the rows one process runs it on, while rank 1's rows run on without input.
    ("--shard", "--shuffle"),
    ("--shard",),
], ids=["shuffled", "unshuffled"])
def test_shard_two_ranks_give_the_weights_and_favg_of_one_process(tmp_path, args):
    results_ = _run_ok(2, tmp_path, *args)
    reference = run(options(*args))
    assert reference["step"] == 8
    for result in results_:
        _assert_close_weights(result, reference)
        # Every rank holds the whole global batch's filtered rates, row for row.
        np.testing.assert_allclose(result["favg"]["hid"], reference["favg"]["hid"],
                                   rtol=1e-12, atol=1e-15)
    for rank, result in enumerate(results_):
        _assert_carry(result, reference, slice(2 * rank, 2 * rank + 2))
    assert np.any(reference["favg"]["hid"] > 0)
    assert np.abs(reference["carry"]["ef:hid_hid"]).max() > 0.01


def test_mlgenn_slices_two_ranks_match_one_process(tmp_path):
    # Each rank passes x[rank::2]; rank r runs FAvg rows r * 2 + j, which one process
    # runs on row 2 j + r: the same rates, rows permuted.
    results_ = _run_ok(2, tmp_path, "--slice")
    reference = run(options("--slice"))
    np.testing.assert_array_equal(results_[0]["learnable"]["hid_hid/weight"],
                                  results_[1]["learnable"]["hid_hid/weight"])
    _assert_close_weights(results_[0], reference)
    np.testing.assert_allclose(results_[0]["favg"]["hid"],
                               reference["favg"]["hid"][[0, 2, 1, 3]], rtol=1e-12, atol=1e-15)
    # Rank r's row j holds the examples one process runs on row r + 2 j.
    for rank, result in enumerate(results_):
        _assert_carry(result, reference, [rank, rank + 2])



def test_ranks_asking_for_different_example_timesteps_all_run_the_longest(tmp_path):
    # mlGeNN's shd_classifier_mpi.py sets example_timesteps from each rank's latest spike.
    results_ = _run_ok(2, tmp_path, "--shard", "--more-steps-on-rank-1", "5")
    reference = run(options("--shard", "--more-steps", "5"))
    for result in results_:
        assert result["num_timesteps"] == reference["num_timesteps"] == 35
        _assert_close_weights(result, reference)


def test_deep_r_ranks_rewire_as_one_process(tmp_path):
    # Same generator, same allreduced gradients: every rank holds one process's structure.
    args = ("--shard", "--shuffle", "--deep-r", "--epochs", "4")
    results_ = _run_ok(2, tmp_path, *args)
    reference = run(options(*args))
    want = reference["deep_r"]["connections"]
    assert sum(n for n, _ in reference["rewired"]) > 20   # hid_hid was rewired
    for result in results_:
        _assert_close_weights(result, reference)
        assert result["rewired"] == reference["rewired"]
        for name, entry in want.items():
            for part in ("mask", "inhibitory"):
                np.testing.assert_array_equal(result["deep_r"]["connections"][name][part],
                                              entry[part], err_msg=f"{name} {part}")

