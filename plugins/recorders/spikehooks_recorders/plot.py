"""Quick figures of recordings (needs matplotlib: ``pip install "spikehooks-recorders[plot]"``).

Each function takes an entry of ``cb_data`` (in memory or a streamed handle)
and returns a :class:`matplotlib.figure.Figure` without showing it; save it
with ``fig.savefig(...)``.  Figures are built with the object API, so no
global pyplot state is touched.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

_INSTALL = 'pip install "spikehooks-recorders[plot]"'


def _figure(**kwargs: Any) -> Any:
    try:
        from matplotlib.figure import Figure
    except ImportError as exc:
        raise ImportError(
            f"spikehooks_recorders.plot needs matplotlib; it is not installed. Run: {_INSTALL}"
        ) from exc
    return Figure(**kwargs)


def raster(spikes: Any, example: int = 0, *, title: str | None = None,
           markersize: float = 2.0) -> Any:
    """Spike raster of one recorded example.

    Parameters
    ----------
    spikes : (times, ids)
        A SpikeRecorder's ``cb_data[key]``: lists of float64 ms and int32 ids.
    example : int
        Position in the recorded lists (not the data-set index).

    Returns
    -------
    matplotlib.figure.Figure
        One axes: time [ms] against neuron id.
    """
    times, ids = spikes[0][example], spikes[1][example]
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    ax.scatter(times, ids, s=markersize, marker="|", color="black")
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("neuron id")
    ax.set_title(title or f"spikes, example {example}")
    return fig


def voltage_traces(values: Any, example: int = 0, *, dt: float = 1.0,
                   times_ms: Sequence[float] | None = None, neurons: Sequence[int] | None = None,
                   labels: Sequence[Any] | None = None, title: str | None = None) -> Any:
    """Traces of a recorded variable over time.

    Parameters
    ----------
    values : list of numpy.ndarray of float32, shape (rows, n_selected)
        A VarRecorder's ``cb_data[key]``.
    example : int
        Position in the recorded list.
    dt : float
        ms per row, used when ``times_ms`` is not given.
    times_ms : sequence of float, optional
        Time of every row (``VarRecorder.times_ms()`` with ``record_every``).
    neurons : sequence of int, optional
        Columns to draw (default: the first 10).
    labels : sequence, optional
        Legend labels of the drawn columns (default: their column numbers).

    Returns
    -------
    matplotlib.figure.Figure
    """
    block = np.asarray(values[example])
    t = (np.arange(block.shape[0]) * dt if times_ms is None
         else np.asarray(times_ms, dtype=np.float64))
    columns = list(range(min(block.shape[1], 10))) if neurons is None else list(neurons)
    fig = _figure(figsize=(6, 3.5))
    ax = fig.add_subplot()
    for i, col in enumerate(columns):
        ax.plot(t, block[:, col], linewidth=1.0,
                label=str(col if labels is None else labels[i]))
    ax.set_xlabel("time [ms]")
    ax.set_ylabel("value")
    ax.set_title(title or f"recorded variable, example {example}")
    if len(columns) <= 10:
        ax.legend(fontsize="small", title="column")
    return fig


def rate_histogram(spikes: Any, duration_ms: float, *, num_neurons: int | None = None,
                   bins: int = 20, title: str | None = None) -> Any:
    """Histogram of per-neuron firing rates over all recorded examples.

    Parameters
    ----------
    spikes : (times, ids) or list of count arrays
        A SpikeRecorder's ``cb_data[key]`` (spike lists or ``record_counts``).
    duration_ms : float
        Length of one example in ms (``num_timesteps * dt``).
    num_neurons : int, optional
        Size of the id range for spike lists (default: largest id + 1);
        silent neurons count as rate 0.
    bins : int
        Number of histogram bins.

    Returns
    -------
    matplotlib.figure.Figure
        Rates in Hz (spikes per neuron per example / duration).
    """
    if isinstance(spikes, tuple):
        ids = [np.asarray(i) for i in spikes[1]]
        n = num_neurons or (max((int(i.max()) for i in ids if i.size), default=-1) + 1)
        totals = np.zeros(max(n, 1), dtype=np.int64)
        for i in ids:
            totals += np.bincount(i, minlength=totals.size)[: totals.size]
        examples = len(ids)
    else:
        counts = [np.asarray(c) for c in spikes]
        totals = np.sum(counts, axis=0) if counts else np.zeros(1, dtype=np.int64)
        examples = len(counts)
    rates = totals / max(examples, 1) / (duration_ms / 1000.0)
    fig = _figure(figsize=(5, 3.5))
    ax = fig.add_subplot()
    ax.hist(rates, bins=bins, color="tab:blue")
    ax.set_xlabel("rate [Hz]")
    ax.set_ylabel("neurons")
    ax.set_title(title or f"firing rates over {examples} examples")
    return fig


__all__ = ["rate_histogram", "raster", "voltage_traces"]
