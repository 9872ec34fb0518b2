"""mlGeNN's event-data helpers on generated SHD-shaped data (700 channels, microseconds)."""

from __future__ import annotations

import numpy as np
import pytest

from spikehooks.data import (
    PreprocessedSpikes,
    batch_spikes,
    calc_latest_spike_time,
    calc_max_spikes,
    calc_start_spikes,
    generate_shd_like_events,
    preprocess_spikes,
    preprocess_tonic_spikes,
)
from spikehooks.errors import ConfigurationError

SENSOR = (700, 1, 1)


@pytest.fixture(scope="module")
def shd():
    return generate_shd_like_events(6, num_classes=3, seed=4)


def test_generated_events_have_shds_shape_and_tonic_dtype(shd):
    events, labels = shd
    assert labels.dtype == np.int64 and set(labels) <= {0, 1, 2}
    for ev in events:
        assert ev.dtype.names == ("t", "x", "p")
        assert 5_000 <= len(ev) <= 9_000
        assert ev["x"].min() >= 0 and ev["x"].max() < 700
        assert ev["t"].min() >= 0 and ev["t"].max() < 1_000_000
        assert ev["t"].max() > 500_000  # about a second of speech, in microseconds
        assert np.all(np.diff(ev["t"]) >= 0)


def test_preprocess_tonic_spikes_groups_events_by_channel_in_ms(shd):
    ev = shd[0][0]
    spikes = preprocess_tonic_spikes(ev, "txp", SENSOR)
    assert spikes.num_neurons == 700 and spikes.num_spikes == len(ev)
    start = calc_start_spikes(spikes.end_spikes)
    for channel in (int(ev["x"][0]), int(ev["x"][-1]), 699):
        mine = np.sort(ev["t"][ev["x"] == channel] / 1000.0)
        got = spikes.spike_times[start[channel]:spikes.end_spikes[channel]]
        np.testing.assert_allclose(got, mine, rtol=1e-6)
    # The same as preprocess_spikes on the raw columns.
    direct = preprocess_spikes(ev["t"] / 1000.0, ev["x"], 700)
    np.testing.assert_array_equal(spikes.end_spikes, direct.end_spikes)


def test_two_polarity_2d_sensor_flattens_like_mlgenn():
    dtype = np.dtype([("x", np.int16), ("y", np.int16), ("t", np.int64), ("p", np.int8)])
    ev = np.array([(1, 2, 5_000, 1), (0, 0, 1_000, 0), (3, 1, 2_000, 1)], dtype)
    spikes = preprocess_tonic_spikes(ev, "xytp", (4, 3, 2))
    # neuron = p + x * 2 + y * 4 * 2
    ids = [1 + 2 + 16, 0, 1 + 6 + 8]
    counts = np.bincount(ids, minlength=24)
    np.testing.assert_array_equal(spikes.end_spikes, np.cumsum(counts))
    assert spikes.spike_times[spikes.end_spikes[19] - 1] == pytest.approx(5.0)


def test_histogram_threshold_keeps_bins_with_enough_events():
    dtype = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])
    # Channel 3: three events in [2, 3) ms, one in [7, 8) ms; channel 5: one event.
    ev = np.array([(2_100, 3, 0), (2_500, 3, 0), (2_900, 3, 0), (7_200, 3, 0),
                   (4_000, 5, 0)], dtype)
    spikes = preprocess_tonic_spikes(ev, "txp", (8, 1, 1), dt=1.0, histogram_thresh=2)
    assert spikes.num_spikes == 1
    assert spikes.spike_times[0] == pytest.approx(2.0)
    assert spikes.end_spikes[3] - spikes.end_spikes[2] == 1


@pytest.mark.parametrize("ordering", ["tx", "xp", "tp"])
def test_ordering_lacking_a_field_is_an_error(shd, ordering):
    with pytest.raises(ConfigurationError, match="ordering must contain the fields 't', 'p'"):
        preprocess_tonic_spikes(shd[0][0], ordering, SENSOR)


def test_ordering_naming_a_field_the_events_lack_is_an_error(shd):
    with pytest.raises(ConfigurationError, match=r"lacking \['y'\]"):
        preprocess_tonic_spikes(shd[0][0], "txyp", SENSOR)


def test_histogram_without_dt_is_an_error(shd):
    with pytest.raises(ConfigurationError, match="dt must be a positive number"):
        preprocess_tonic_spikes(shd[0][0], "txp", SENSOR, histogram_thresh=2)


def test_max_spikes_and_latest_time_over_a_data_set(shd):
    spikes = [preprocess_tonic_spikes(ev, "txp", SENSOR) for ev in shd[0]]
    assert calc_max_spikes(spikes) == max(len(ev) for ev in shd[0])
    assert calc_latest_spike_time(spikes) == pytest.approx(
        max(ev["t"].max() for ev in shd[0]) / 1000.0, rel=1e-6)
    empty = preprocess_spikes(np.zeros(0), np.zeros(0, np.int64), 700)
    assert calc_latest_spike_time([empty]) == 0.0
    with pytest.raises(ConfigurationError, match="non-empty sequence of PreprocessedSpikes"):
        calc_max_spikes([])


def test_batch_spikes_stacks_examples_and_pads(shd):
    spikes = [preprocess_tonic_spikes(ev, "txp", SENSOR) for ev in shd[0][:3]]
    batch = batch_spikes(spikes, 4)
    assert isinstance(batch, PreprocessedSpikes)
    assert batch.end_spikes.shape == (4, 700)
    total = sum(s.num_spikes for s in spikes)
    assert batch.spike_times.shape == (total,)
    np.testing.assert_array_equal(batch.end_spikes[1], spikes[1].end_spikes + spikes[0].num_spikes)
    assert np.all(batch.end_spikes[3] == total)
    start = calc_start_spikes(batch.end_spikes)
    assert start[1, 0] == spikes[0].num_spikes and start[0, 0] == 0
    with pytest.raises(ConfigurationError, match="at most batch_size=2"):
        batch_spikes(spikes, 2)
    other = preprocess_spikes(np.array([1.0]), np.array([0]), 10)
    with pytest.raises(ConfigurationError, match="same number of neurons"):
        batch_spikes([spikes[0], other], 4)
