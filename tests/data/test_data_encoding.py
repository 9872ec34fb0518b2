"""Latency encoders (mlGeNN's linear and log latency encodings)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from spikehooks import ConfigurationError
from spikehooks.data import linear_latency_encode_data, log_latency_encode_data

uint8_examples = hnp.arrays(
    np.uint8,
    st.tuples(st.integers(1, 4), st.integers(1, 12)),
    elements=st.integers(0, 255),
)


def _per_neuron_times(spikes):
    """Return ``{neuron: time}`` of an example with at most one spike per neuron."""
    counts = np.diff(np.concatenate([[0], spikes.end_spikes]))
    assert counts.max(initial=0) <= 1
    neurons = np.flatnonzero(counts)
    return dict(zip(neurons.tolist(), spikes.spike_times.tolist(), strict=True))


def test_linear_times_match_mlgenns_formula():
    (spikes,) = linear_latency_encode_data(np.array([[0, 255, 51, 1, 2]], np.uint8), 20.0, 2.0)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 1, 2, 2, 3])
    # 255 -> min_time; 51 -> 2 + (204 / 255) * 18 = 16.4; 2 -> 2 + (253 / 255) * 18
    np.testing.assert_allclose(spikes.spike_times, [2.0, 16.4, 2.0 + 253 / 255 * 18], rtol=1e-6)
    assert spikes.spike_times.dtype == np.float32
    assert spikes.end_spikes.dtype == np.int32


def test_linear_flattens_each_example_in_c_order():
    data = np.zeros((1, 2, 3), np.uint8)
    data[0, 1, 0] = 255  # flat index 3
    (spikes,) = linear_latency_encode_data(data, 10.0)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 0, 0, 1, 1, 1])
    np.testing.assert_array_equal(spikes.spike_times, [0.0])


def test_linear_returns_one_entry_per_example():
    data = np.array([[255, 0], [0, 255], [0, 0]], np.uint8)
    spikes = linear_latency_encode_data(data, 10.0)
    assert [s.end_spikes.tolist() for s in spikes] == [[1, 1], [0, 1], [0, 0]]


def test_linear_of_no_examples_is_empty():
    assert linear_latency_encode_data(np.zeros((0, 5), np.uint8), 10.0) == []


def test_linear_threshold_is_strict():
    (spikes,) = linear_latency_encode_data(np.array([[10, 11]], np.uint8), 10.0, thresh=10)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 1])


def test_linear_rejects_data_above_255():
    with pytest.raises(
        ConfigurationError, match=r"intensities in \[0, 255\]; got values in \[0, 300\]"
    ):
        linear_latency_encode_data(np.array([[0.0, 300.0]]), 10.0)


def test_linear_rejects_unit_interval_floats_that_would_never_spike():
    with pytest.raises(ConfigurationError, match=r"none above thresh=1.*Scale .* by 255"):
        linear_latency_encode_data(np.array([[0.2, 1.0]]), 10.0)


def test_linear_accepts_all_dark_8_bit_images():
    spikes = linear_latency_encode_data(np.zeros((2, 3), np.uint8), 10.0)
    assert [s.num_spikes for s in spikes] == [0, 0]


def test_linear_rejects_max_time_below_min_time():
    with pytest.raises(
        ConfigurationError, match=r"max_time must be a finite number of ms >= min_time \(5\)"
    ):
        linear_latency_encode_data(np.ones((1, 2), np.uint8), 1.0, min_time=5.0)


def test_linear_rejects_negative_min_time():
    with pytest.raises(ConfigurationError, match="min_time must be a finite number of ms >= 0"):
        linear_latency_encode_data(np.ones((1, 2), np.uint8), 1.0, min_time=-1.0)


def test_encoders_reject_a_single_flat_example():
    with pytest.raises(ConfigurationError, match=r"shape \(examples, features...\).*shape \(3,\)"):
        linear_latency_encode_data(np.ones(3, np.uint8), 10.0)


def test_encoders_reject_nan():
    with pytest.raises(ConfigurationError, match="data must be finite; got 1 NaN"):
        log_latency_encode_data(np.array([[1.0, np.nan]]), 10.0, 0.5)


@settings(max_examples=60, deadline=None)
@given(
    uint8_examples,
    st.floats(0.0, 50.0),
    st.floats(0.0, 100.0),
    st.integers(-1, 255),
)
def test_linear_times_lie_within_min_and_max_time(data, min_time, span, thresh):
    max_time = min_time + span
    for spikes in linear_latency_encode_data(data, max_time, min_time, thresh):
        assert np.all(spikes.spike_times >= np.float32(min_time))
        assert np.all(spikes.spike_times <= np.float32(max_time))


@settings(max_examples=60, deadline=None)
@given(uint8_examples, st.integers(-1, 255))
def test_linear_spikes_exactly_the_inputs_above_threshold(data, thresh):
    for example, spikes in zip(data, linear_latency_encode_data(data, 20.0, thresh=thresh),
                               strict=True):
        counts = np.diff(np.concatenate([[0], spikes.end_spikes]))
        np.testing.assert_array_equal(counts, (example.ravel() > thresh).astype(int))


@settings(max_examples=60, deadline=None)
@given(uint8_examples, st.floats(0.0, 20.0), st.floats(0.0, 100.0))
def test_linear_brighter_inputs_never_spike_later(data, min_time, span):
    for example, spikes in zip(
        data, linear_latency_encode_data(data, min_time + span, min_time, thresh=-1), strict=True
    ):
        order = np.argsort(example.ravel(), kind="stable")
        by_neuron = _per_neuron_times(spikes)
        times = np.array([by_neuron[j] for j in order])
        assert np.all(np.diff(times) <= 0)


def test_log_times_match_the_formula():
    (spikes,) = log_latency_encode_data(np.array([[0.0, 2.0, 4.0]]), 10.0, 1.0)
    np.testing.assert_array_equal(spikes.end_spikes, [0, 1, 2])
    np.testing.assert_allclose(spikes.spike_times, [10 * np.log(2.0), 10 * np.log(4 / 3)],
                               rtol=1e-6)


@pytest.mark.parametrize(
    "tau_eff, thresh, message",
    [
        (0.0, 1.0, "tau_eff must be a finite number of ms > 0; got 0.0"),
        (-2.0, 1.0, "tau_eff must be a finite number of ms > 0; got -2.0"),
        (10.0, 0.0, "thresh must be a finite number > 0; got 0.0"),
        (10.0, -1.0, "thresh must be a finite number > 0; got -1.0"),
    ],
)
def test_log_rejects_non_positive_parameters(tau_eff, thresh, message):
    with pytest.raises(ConfigurationError, match=message):
        log_latency_encode_data(np.ones((1, 2)), tau_eff, thresh)


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.float64,
        st.tuples(st.integers(1, 3), st.integers(1, 10)),
        elements=st.floats(-10.0, 1e3, allow_nan=False),
    ),
    st.floats(0.1, 100.0),
    st.floats(0.01, 50.0),
)
def test_log_stronger_inputs_spike_earlier_and_weak_ones_not_at_all(data, tau_eff, thresh):
    for example, spikes in zip(data, log_latency_encode_data(data, tau_eff, thresh), strict=True):
        flat = example.ravel()
        times = _per_neuron_times(spikes)
        assert sorted(times) == np.flatnonzero(flat > thresh).tolist()
        assert all(t >= 0 for t in times.values())
        order = sorted(times, key=lambda j: flat[j])
        assert np.all(np.diff([times[j] for j in order]) <= 0)


def test_encoding_in_blocks_matches_encoding_at_once(monkeypatch):
    from spikehooks.data import encoding

    data = np.random.default_rng(0).integers(0, 256, size=(5, 7)).astype(np.uint8)
    whole = linear_latency_encode_data(data, 20.0, 1.0)
    monkeypatch.setattr(encoding, "_BLOCK", 2)
    blocked = linear_latency_encode_data(data, 20.0, 1.0)
    for a, b in zip(whole, blocked, strict=True):
        np.testing.assert_array_equal(a.end_spikes, b.end_spikes)
        np.testing.assert_array_equal(a.spike_times, b.spike_times)
