"""A failing rank ends the job; bad inputs and mismatched networks are refused on every rank."""

from __future__ import annotations

from _mpi_launch import mpirun


def test_a_rank_raising_in_a_callback_aborts_the_whole_job_naming_rank_and_error(tmp_path):
    # Rank 0 waits in a collective while rank 1 fails: without the abort it would hang
    # until mpirun's timeout raised subprocess.TimeoutExpired here.
    done = mpirun(2, "train", "--shard", "--fail-at", "1", out=tmp_path)
    output = done.stdout + done.stderr
    assert done.returncode != 0
    assert "rank 1 of 2 failed with CallbackError" in output
    assert "deliberate failure at batch 1" in output
    assert not (tmp_path / "rank0.pkl").exists()


def test_bad_labels_on_one_rank_are_refused_on_every_rank_before_the_run(tmp_path):
    done = mpirun(2, "train", "--slice", "--bad-labels-on-rank", "1", out=tmp_path)
    assert done.returncode != 0
    assert "rank 1 error: ConfigurationError: RelativeMeanSquareError labels" in done.stdout
    assert ("rank 0 error: ConfigurationError: data-parallel run must pass its checks on "
            "every rank; got on rank 1") in done.stdout


def test_networks_that_differ_between_ranks_are_refused_at_compile_time(tmp_path):
    done = mpirun(2, "train", "--shard", "--mismatch-on-rank", "1", out=tmp_path)
    assert done.returncode != 0
    for rank in (0, 1):
        assert (f"rank {rank} error: ConfigurationError: compiled network on rank 1 must match "
                f"rank 0's; got ('population', 'pop1', (13,)") in done.stdout
