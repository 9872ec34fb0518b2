"""Plot helpers return figures drawn from the recorded values."""

from __future__ import annotations

import sys

import matplotlib
import numpy as np
import pytest

from spikehooks_recorders import plot

matplotlib.use("Agg")

SPIKES = ([np.array([0.0, 1.0, 1.0, 3.0])], [np.array([2, 0, 5, 2], dtype=np.int32)])


def test_raster_points_are_the_spikes(tmp_path):
    fig = plot.raster(SPIKES, example=0)
    offsets = fig.axes[0].collections[0].get_offsets()
    np.testing.assert_array_equal(offsets, [[0, 2], [1, 0], [1, 5], [3, 2]])
    fig.savefig(tmp_path / "r.png")
    assert (tmp_path / "r.png").stat().st_size > 0


def test_voltage_traces_one_line_per_column():
    values = [np.arange(12, dtype=np.float32).reshape(4, 3)]
    fig = plot.voltage_traces(values, times_ms=[1.0, 3.0, 5.0, 7.0], neurons=[0, 2])
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_array_equal(lines[1].get_xdata(), [1.0, 3.0, 5.0, 7.0])
    np.testing.assert_array_equal(lines[1].get_ydata(), [2, 5, 8, 11])


def test_rate_histogram_counts_silent_neurons():
    fig = plot.rate_histogram(SPIKES, duration_ms=1000.0, num_neurons=8, bins=3)
    heights = [p.get_height() for p in fig.axes[0].patches]
    assert sum(heights) == 8  # every neuron, silent ones at 0 Hz
    assert heights[0] == 5


def test_rate_histogram_from_counts():
    fig = plot.rate_histogram([np.array([1, 0]), np.array([3, 0])], duration_ms=500.0, bins=2)
    assert [p.get_height() for p in fig.axes[0].patches] == [1, 1]


def test_missing_matplotlib_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib.figure", None)
    with pytest.raises(ImportError, match=r'pip install "spikehooks-recorders\[plot\]"'):
        plot.raster(SPIKES)
