"""The communicator interface, its registration and the summation tree (no MPI needed)."""

from __future__ import annotations

import numpy as np
import pytest
from _mpi_worker import NUM_EXAMPLES, data, network
from hypothesis import given
from hypothesis import strategies as st

from spikehooks import BatchProgressBar, CallbackList
from spikehooks.communicators import MPI, Communicator, shard_sizes, tree_sum
from spikehooks.compilers import EventPropCompiler, InferenceCompiler
from spikehooks.errors import ConfigurationError
from spikehooks.plugins import registry


class OneRank(Communicator):
    """A communicator of one process: every collective is the identity."""

    rank = 0  # type: ignore[assignment]
    num_ranks = 1  # type: ignore[assignment]

    def __init__(self):
        self.calls: list[str] = []

    def barrier(self):
        self.calls.append("barrier")

    def broadcast(self, data, root):
        self.calls.append("broadcast")

    def broadcast_object(self, obj, root=0):
        self.calls.append("broadcast_object")
        return obj

    def allreduce(self, array):
        self.calls.append("allreduce")
        return np.array(array)

    def allgather(self, obj):
        self.calls.append("allgather")
        return [obj]

    def gather(self, obj, root=0):
        self.calls.append("gather")
        return [obj]


class TwoRanks(OneRank):
    num_ranks = 2  # type: ignore[assignment]


def test_mpi_is_registered_under_the_communicators_group():
    assert registry.resolve("communicators", "mpi") is MPI
    assert "mpi" in registry.names("communicators")


@given(st.integers(0, 40), st.sampled_from([1, 2, 4, 8]))
def test_power_of_two_shards_sum_exactly_like_one_process(n, ranks):
    rng = np.random.default_rng(n)
    # Values of very different magnitudes make the grouping visible in the last bits.
    parts = rng.normal(size=(n, 3)) * 10.0 ** rng.integers(-8, 8, size=(n, 1))
    sizes = shard_sizes(n, ranks)
    assert sum(sizes) == n and len(sizes) == ranks
    starts = np.cumsum([0, *sizes])
    partial = [tree_sum(parts[a:b]) for a, b in zip(starts[:-1], starts[1:], strict=True)]
    # Ranks combine like MPI.allreduce's recursive doubling: neighbours first.
    while len(partial) > 1:
        partial = [partial[i] + partial[i + 1] for i in range(0, len(partial), 2)]
    np.testing.assert_array_equal(partial[0], tree_sum(parts))


@given(st.integers(0, 40), st.integers(1, 9))
def test_shard_sizes_cover_the_batch_and_differ_by_at_most_one_when_full(n, ranks):
    sizes = shard_sizes(n, ranks)
    assert sum(sizes) == n
    assert all(s >= 0 for s in sizes)
    if n % ranks == 0:
        assert sizes == [n // ranks] * ranks


def test_global_batch_size_must_divide_by_the_number_of_ranks():
    with pytest.raises(ConfigurationError, match=r"batch_size must be divisible by the number "
                                                 r"of ranks \(2\); got 5"):
        InferenceCompiler(10, batch_size=5, communicator=TwoRanks())


def test_compiler_splits_the_global_batch_across_ranks():
    compiler = InferenceCompiler(10, batch_size=8, communicator=TwoRanks())
    assert (compiler.batch_size, compiler.full_batch_size) == (4, 8)


def test_communicator_of_the_wrong_type_is_refused():
    with pytest.raises(ConfigurationError, match="communicator must be a Communicator"):
        InferenceCompiler(10, communicator=42)


def test_one_rank_communicator_trains_exactly_like_no_communicator():
    x, y = data()

    def train(communicator):
        net, inp, _, out = network("ce")
        compiler = EventPropCompiler(30, "sparse_categorical_crossentropy", "adam",
                                     batch_size=4, communicator=communicator)
        with compiler.compile(net) as compiled:
            compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[], shard=True)
            return compiled.backend.get_learnable_state()

    comm = OneRank()
    with_comm, without = train(comm), train(None)
    for key, expected in without.items():
        np.testing.assert_array_equal(with_comm[key], expected)
    # One gradient allreduce per batch (NUM_EXAMPLES examples at batch 4).
    assert comm.calls.count("allreduce") == -(-NUM_EXAMPLES // 4)


def test_progress_bar_shows_on_rank_0_only():
    bar = BatchProgressBar(disable=True)
    callbacks = CallbackList([bar], num_batches=2, rank=1, num_ranks=2)
    callbacks.on_test_begin()
    assert bar._bar is None
    assert callbacks.run.rank == 1 and callbacks.run.num_ranks == 2


def test_run_context_maps_a_ranks_slice_to_global_example_indices():
    run = CallbackList([], rank=1, num_ranks=3).run
    np.testing.assert_array_equal(run.global_example_indices([0, 1, 2]), [1, 4, 7])
    shard = CallbackList([], rank=1, num_ranks=3, shard=True).run
    np.testing.assert_array_equal(shard.global_example_indices([0, 5]), [0, 5])


def _recursive_tree_sum(parts):
    if len(parts) == 1:
        return parts[0].copy()
    mid = (len(parts) + 1) // 2
    return _recursive_tree_sum(parts[:mid]) + _recursive_tree_sum(parts[mid:])


@given(st.integers(1, 80))
def test_tree_sum_groups_as_the_recursive_split_at_half(n):
    rng = np.random.default_rng(n)
    parts = rng.normal(size=(n, 4)) * 10.0 ** rng.integers(-8, 8, size=(n, 1))
    before = parts.copy()
    np.testing.assert_array_equal(tree_sum(parts), _recursive_tree_sum(parts))
    np.testing.assert_array_equal(parts, before)
    # Not simply numpy's own (pairwise) sum: the grouping is ours.
    assert tree_sum(parts).dtype == np.float64


def test_backward_in_groups_of_examples_gives_the_same_bits(monkeypatch):
    from spikehooks.training import _backward

    x, y = data()

    def train():
        net, inp, _, out = network("ce")
        compiler = EventPropCompiler(30, "sparse_categorical_crossentropy", "adam",
                                     batch_size=6, reg_lambda_upper=1e-3, reg_nu_upper=2.0)
        with compiler.compile(net) as compiled:
            compiled.train({inp: x}, {out: y}, num_epochs=1, callbacks=[])
            return compiled.backend.get_learnable_state()

    whole = train()
    # Room for one example's gradients at a time: every example is its own group.
    monkeypatch.setattr(_backward, "GRADIENT_BYTES", 1)
    grouped = train()
    for key, expected in whole.items():
        np.testing.assert_array_equal(grouped[key], expected)


THIRD_PARTY = """
import numpy as np

from spikehooks.communicators import Communicator


class Loopback(Communicator):
    rank = 0
    num_ranks = 1

    def __init__(self, tag="loop"):
        self.tag = tag

    def barrier(self):
        pass

    def broadcast(self, data, root):
        pass

    def broadcast_object(self, obj, root=0):
        return obj

    def allreduce(self, array):
        return np.array(array)

    def allgather(self, obj):
        return [obj]

    def gather(self, obj, root=0):
        return [obj]
"""


def test_a_third_party_communicator_is_used_by_its_registered_name(fake_dist):
    fake_dist("spikehooks-loopback", {"communicators": {"loopback": "sh_loopback:Loopback"}},
              {"sh_loopback": THIRD_PARTY})
    net, inp, _, out = network("ce")
    compiler = InferenceCompiler(30, batch_size=4, communicator=("loopback", {"tag": "x"}))
    assert type(compiler.communicator).__name__ == "Loopback"
    assert compiler.communicator.tag == "x"
    x, y = data()
    with compiler.compile(net) as compiled:
        metrics, _ = compiled.evaluate({inp: x}, {out: y}, callbacks=[], shard=True)
    assert 0.0 <= metrics[out].result <= 1.0
    assert compiled.parallel.num_ranks == 1
