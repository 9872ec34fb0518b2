"""Data-parallel EventProp training under ``mpiexec``: the weights of one process."""

from __future__ import annotations

import numpy as np
import pytest
from _mpi_launch import run_ok
from _mpi_worker import options, run


def _assert_same_bits(result, reference):
    for key, expected in reference["weights"].items():
        assert result["weights"][key].dtype == np.float32
        np.testing.assert_array_equal(result["weights"][key], expected, err_msg=key)
    assert result["step"] == reference["step"]
    assert result["accuracy"] == reference["accuracy"]
    assert result["val_accuracy"] == reference["val_accuracy"]
    assert result["epoch_loss"] == reference["epoch_loss"]


def _assert_ranks_identical(results):
    for other in results[1:]:
        for key, expected in results[0]["weights"].items():
            np.testing.assert_array_equal(other["weights"][key], expected)


@pytest.mark.parametrize("args", [
    ("--shard", "--shuffle", "--batch", "4"),
    # A global batch of 6 over 16 training examples: the last batch (4) splits 2 + 2.
    ("--shard", "--batch", "6", "--task", "ce"),
], ids=["shuffled-ttfs", "unshuffled-ce-regularised"])
def test_shard_two_ranks_give_the_weights_of_one_process_bit_for_bit(tmp_path, args):
    results = run_ok(2, "train", *args, out=tmp_path)
    reference = run(options(*args))
    assert reference["step"] > 0
    for result in results:
        _assert_same_bits(result, reference)


def test_ranks_asking_for_different_example_timesteps_all_run_the_longest(tmp_path):
    # mlGeNN's MPI examples set example_timesteps from each rank's latest spike.
    args = ("--shard", "--shuffle", "--batch", "4")
    results = run_ok(2, "train", *args, "--more-steps-on-rank-1", "5", out=tmp_path)
    reference = run(options(*args, "--more-steps", "5"))
    for result in results:
        assert result["num_timesteps"] == reference["num_timesteps"] == 35
        _assert_same_bits(result, reference)


def test_mlgenn_slices_two_ranks_match_one_process(tmp_path):
    # Each rank passes slice(rank, None, 2): the global batch holds the same examples as one
    # process's, in another order, so the gradient sum may differ in the last float64 bit.
    args = ("--slice", "--batch", "4", "--task", "ce")
    results = run_ok(2, "train", *args, out=tmp_path)
    reference = run(options(*args))
    _assert_ranks_identical(results)
    for key, expected in reference["weights"].items():
        np.testing.assert_allclose(results[0]["weights"][key], expected, rtol=1e-6, atol=1e-7)
    assert results[0]["accuracy"] == reference["accuracy"]
    assert results[0]["step"] == reference["step"]


def test_three_ranks_with_uneven_and_empty_shards_match_one_process(tmp_path):
    # 16 training examples at a global batch of 6: shards 2+2+2 twice, then 1+1+0.
    args = ("--shard", "--shuffle", "--batch", "6", "--task", "ce")
    results = run_ok(3, "train", *args, out=tmp_path)
    reference = run(options(*args))
    _assert_ranks_identical(results)
    for key, expected in reference["weights"].items():
        np.testing.assert_allclose(results[2]["weights"][key], expected, rtol=1e-6, atol=1e-7)
    assert results[2]["step"] == reference["step"]
    assert results[2]["accuracy"] == reference["accuracy"]


def test_schedule_and_stop_decided_on_rank_0_hold_on_every_rank(tmp_path):
    # Only rank 0 has the callback that changes the learning rate and stops training.
    args = ("--shard", "--batch", "4", "--epochs", "3", "--stop-at", "1")
    results = run_ok(2, "train", *args, out=tmp_path)
    reference = run(options(*args))
    # Epoch 0: 4 batches; epoch 1 stops after batch 1.
    assert reference["step"] == 6
    assert reference["alpha"] == 0.005
    for result in results:
        assert result["alpha"] == 0.005
        _assert_same_bits({**result, "epoch_loss": reference["epoch_loss"],
                           "val_accuracy": reference["val_accuracy"]}, reference)


def test_early_stopping_on_rank_0_restores_its_best_weights_on_every_rank(tmp_path):
    args = ("--shard", "--shuffle", "--batch", "4", "--epochs", "6", "--early-stop")
    results = run_ok(2, "train", *args, out=tmp_path)
    reference = run(options(*args))
    plain = run(options("--shard", "--shuffle", "--batch", "4", "--epochs", "6"))
    # It stopped early, or restored weights other than the last ones.
    assert reference["step"] < plain["step"] or any(
        not np.array_equal(reference["weights"][k], plain["weights"][k]) for k in plain["weights"])
    for result in results:
        for key, expected in reference["weights"].items():
            np.testing.assert_array_equal(result["weights"][key], expected, err_msg=key)
        assert result["step"] == reference["step"]
