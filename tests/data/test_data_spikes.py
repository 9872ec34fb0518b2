"""PreprocessedSpikes and preprocess_spikes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spikehooks import ConfigurationError
from spikehooks.data import PreprocessedSpikes, preprocess_spikes


def test_preprocess_groups_spikes_by_neuron_then_time():
    spikes = preprocess_spikes([3.0, 1.0, 2.0, 0.5], [1, 0, 1, 1], 3)
    np.testing.assert_array_equal(spikes.end_spikes, [1, 4, 4])
    np.testing.assert_array_equal(spikes.spike_times, [1.0, 0.5, 2.0, 3.0])


def test_preprocess_returns_int32_ends_and_float32_times():
    spikes = preprocess_spikes(np.array([1.5, 0.25]), np.array([0, 1], dtype=np.uint8), 2)
    assert spikes.end_spikes.dtype == np.int32
    assert spikes.spike_times.dtype == np.float32


def test_preprocess_accepts_uint64_ids():
    spikes = preprocess_spikes([2.0, 1.0], np.array([1, 1], dtype=np.uint64), 2)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 2])
    np.testing.assert_array_equal(spikes.spike_times, [1.0, 2.0])


def test_preprocess_of_no_spikes_gives_zero_ends():
    spikes = preprocess_spikes([], [], 4)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 0, 0, 0])
    assert spikes.spike_times.shape == (0,)


def test_neuron_times_returns_each_neurons_sorted_times():
    spikes = preprocess_spikes([3.0, 1.0, 2.0, 0.5], [1, 0, 1, 1], 3)
    np.testing.assert_array_equal(spikes.neuron_times(0), [1.0])
    np.testing.assert_array_equal(spikes.neuron_times(1), [0.5, 2.0, 3.0])
    assert spikes.neuron_times(2).shape == (0,)


def test_neuron_times_rejects_out_of_range_neuron():
    spikes = preprocess_spikes([1.0], [0], 2)
    with pytest.raises(ConfigurationError, match=r"neuron must be in \[0, 2\); got 2"):
        spikes.neuron_times(2)


def test_counts_and_sizes_are_exposed():
    spikes = preprocess_spikes([1.0, 2.0, 4.0], [2, 2, 0], 5)
    assert (spikes.num_neurons, spikes.num_spikes) == (5, 3)


def test_preprocessed_spikes_unpacks_like_mlgenns_namedtuple():
    end_spikes, spike_times = preprocess_spikes([1.0], [0], 1)
    assert PreprocessedSpikes._fields == ("end_spikes", "spike_times")
    np.testing.assert_array_equal(end_spikes, [1])
    np.testing.assert_array_equal(spike_times, [1.0])


def test_rejects_lengths_that_differ():
    with pytest.raises(
        ConfigurationError,
        match="preprocess_spikes times and ids must have the same length; got 2 times and 1 ids",
    ):
        preprocess_spikes([1.0, 2.0], [0], 2)


def test_rejects_id_out_of_range():
    with pytest.raises(
        ConfigurationError, match=r"ids must be in \[0, 3\); got 3 at index 1 \(1 out of range\)"
    ):
        preprocess_spikes([1.0, 2.0], [0, 3], 3)


def test_rejects_negative_id():
    with pytest.raises(ConfigurationError, match=r"got -1 at index 0"):
        preprocess_spikes([1.0], [-1], 3)


def test_rejects_float_ids():
    with pytest.raises(ConfigurationError, match="ids must be integers; got dtype float64"):
        preprocess_spikes([1.0], [0.0], 3)


def test_rejects_negative_time():
    with pytest.raises(
        ConfigurationError, match=r"times must be finite and >= 0 ms; got -0.5 at index 1"
    ):
        preprocess_spikes([1.0, -0.5], [0, 0], 1)


def test_rejects_nan_time():
    with pytest.raises(ConfigurationError, match="got nan at index 0"):
        preprocess_spikes([np.nan], [0], 1)


def test_rejects_two_dimensional_times():
    with pytest.raises(ConfigurationError, match=r"times must be a 1-D array .*shape \(1, 2\)"):
        preprocess_spikes([[1.0, 2.0]], [0, 1], 2)


@pytest.mark.parametrize("num_neurons", [0, -3, 2.0, True, "4"])
def test_rejects_bad_num_neurons(num_neurons):
    with pytest.raises(ConfigurationError, match="num_neurons must be a positive integer"):
        preprocess_spikes([1.0], [0], num_neurons)


@settings(max_examples=60, deadline=None)
@given(
    st.integers(1, 8).flatmap(
        lambda n: st.tuples(
            st.just(n),
            st.lists(
                st.tuples(st.integers(0, n - 1), st.floats(0.0, 1e4, allow_nan=False)),
                max_size=40,
            ),
        )
    )
)
def test_preprocess_keeps_every_spike_of_every_neuron(case):
    num_neurons, spikes = case
    ids = np.array([i for i, _ in spikes], dtype=np.int64)
    times = np.array([t for _, t in spikes], dtype=np.float64)
    result = preprocess_spikes(times, ids, num_neurons)
    assert result.end_spikes[-1] == len(spikes)
    for neuron in range(num_neurons):
        expected = np.sort(times[ids == neuron]).astype(np.float32)
        np.testing.assert_array_equal(result.neuron_times(neuron), expected)
