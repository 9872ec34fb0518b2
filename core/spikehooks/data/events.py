"""mlGeNN's spike-train helpers from ``ml_genn.utils.data``: event data sets such as SHD.

- :func:`preprocess_tonic_spikes`: one example of tonic's structured event
  arrays (fields named by ``ordering``, e.g. SHD's ``"txp"`` with
  ``sensor_size`` ``(700, 1, 1)``, times in microseconds) to
  :class:`PreprocessedSpikes`.  tonic itself is not needed.
- :func:`calc_max_spikes`, :func:`calc_latest_spike_time`: size a
  ``SpikeInput(max_spikes=...)`` and the trial length for a data set.
- :func:`batch_spikes`, :func:`calc_start_spikes`: several examples in one
  :class:`PreprocessedSpikes` (GeNN's batched layout).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..errors import ConfigurationError
from .spikes import PreprocessedSpikes, preprocess_spikes


def preprocess_tonic_spikes(events: np.ndarray, ordering: Sequence[str], shape: tuple,
                            time_scale: float = 1.0 / 1000.0, dt: float | None = None,
                            histogram_thresh: int | None = None) -> PreprocessedSpikes:
    """Turn one tonic event array into :class:`PreprocessedSpikes` (mlGeNN's semantics).

    Parameters
    ----------
    events : numpy.ndarray, structured, shape (num_events,)
        Fields named by ``ordering``: ``t`` (time, in the unit ``time_scale``
        converts to ms), ``p`` (polarity), ``x`` and optionally ``y`` (ints).
    ordering : str or sequence of str
        tonic's ``dataset.ordering``, e.g. ``"txp"`` for SHD; must contain
        ``t``, ``p`` and ``x``.
    shape : tuple of 3 ints
        tonic's ``sensor_size`` ``(width, height, polarities)``; the neuron of
        an event is ``x + y * width`` with one polarity, else
        ``p + x * polarities + y * width * polarities``.
    time_scale : float
        Factor from event times to ms (default: microseconds to ms).
    dt : float, optional
        Bin width in ms; required with ``histogram_thresh``.
    histogram_thresh : int, optional
        If given, events are binned per neuron into ``dt`` bins and a bin with
        at least this many events becomes one spike at the bin's start.

    Returns
    -------
    PreprocessedSpikes
        For ``prod(shape)`` neurons, times in ms.

    Raises
    ------
    ConfigurationError
        ``ordering`` lacks ``t``, ``p`` or ``x``, names a field the events do
        not have, ``shape`` is not 3 positive ints, or ``histogram_thresh``
        comes without ``dt``.
    """
    owner = "preprocess_tonic_spikes"
    fields = list(ordering)
    missing = [f for f in ("t", "p", "x") if f not in fields]
    if missing:
        raise ConfigurationError(
            f"{owner} ordering must contain the fields 't', 'p' and 'x'; got {ordering!r}, "
            f"which lacks {missing}. Pass the data set's ordering (tonic's dataset.ordering, "
            f"'txp' for SHD)."
        )
    names = getattr(getattr(events, "dtype", None), "names", None) or ()
    absent = [f for f in fields if f not in names]
    if absent:
        raise ConfigurationError(
            f"{owner} events must be a structured array with the fields of ordering "
            f"{ordering!r}; got fields {list(names)}, lacking {absent}. Pass tonic's event "
            f"array (e.g. dataset[i][0]) with its own ordering."
        )
    if (len(tuple(shape)) != 3
            or not all(isinstance(s, (int, np.integer)) and s > 0 for s in shape)):
        raise ConfigurationError(
            f"{owner} shape must be 3 positive ints (tonic's sensor_size: width, height, "
            f"polarities); got {shape!r}. Pass e.g. (700, 1, 1) for SHD."
        )
    width, _, polarities = (int(s) for s in shape)
    num_neurons = int(np.prod(shape))
    x = events["x"].astype(np.int64)
    has_y = "y" in fields
    if polarities == 1:
        ids = x + events["y"].astype(np.int64) * width if has_y else x
    else:
        ids = events["p"].astype(np.int64) + x * polarities
        if has_y:
            ids = ids + events["y"].astype(np.int64) * width * polarities
    times = events["t"].astype(np.float64) * time_scale
    if histogram_thresh is None:
        return preprocess_spikes(times, ids, num_neurons)
    if dt is None or not dt > 0:
        raise ConfigurationError(
            f"{owner} dt must be a positive number of ms with histogram_thresh; got {dt!r}. "
            f"Pass dt=1.0, the width of the bins events are counted in."
        )
    bins = np.arange(0.0, (times.max() if times.size else 0.0) + dt, dt)
    hist = np.histogram2d(ids, times, (np.arange(num_neurons + 1), bins))[0]
    hit_id, hit_bin = np.nonzero(hist >= histogram_thresh)
    return preprocess_spikes(hit_bin * dt, hit_id, num_neurons)


def _check_spikes(spikes: Any, owner: str) -> list[PreprocessedSpikes]:
    spikes = list(spikes)
    if not spikes or not all(isinstance(s, PreprocessedSpikes) for s in spikes):
        raise ConfigurationError(
            f"{owner} spikes must be a non-empty sequence of PreprocessedSpikes; got "
            f"{[type(s).__name__ for s in spikes[:3]]}. Build them with preprocess_spikes "
            f"or preprocess_tonic_spikes."
        )
    return spikes


def calc_max_spikes(spikes: Sequence[PreprocessedSpikes]) -> int:
    """Return the largest number of spikes in one example (mlGeNN's ``calc_max_spikes``).

    This is what mlGeNN's examples pass as ``SpikeInput(max_spikes=...)``, the
    capacity of one example's spike buffer (all neurons together).
    """
    return max(s.num_spikes for s in _check_spikes(spikes, "calc_max_spikes"))


def calc_latest_spike_time(spikes: Sequence[PreprocessedSpikes]) -> float:
    """Return the latest spike time in ms over all examples (0.0 if none has spikes)."""
    times = [float(np.max(s.spike_times))
             for s in _check_spikes(spikes, "calc_latest_spike_time") if s.num_spikes]
    return max(times, default=0.0)


def batch_spikes(spikes: Sequence[PreprocessedSpikes], batch_size: int) -> PreprocessedSpikes:
    """Stack up to ``batch_size`` examples into one :class:`PreprocessedSpikes`.

    Returns
    -------
    PreprocessedSpikes
        ``end_spikes`` of shape (batch_size, num_neurons), cumulative over the
        whole batch (padding rows, when fewer examples than ``batch_size``,
        hold no spikes); ``spike_times`` all examples' times concatenated.
    """
    spikes = _check_spikes(spikes, "batch_spikes")
    if len(spikes) > batch_size:
        raise ConfigurationError(
            f"batch_spikes spikes must hold at most batch_size={batch_size} examples; got "
            f"{len(spikes)}. Pass one batch's examples or a larger batch_size."
        )
    sizes = {s.num_neurons for s in spikes}
    if len(sizes) > 1:
        raise ConfigurationError(
            f"batch_spikes spikes must all be for the same number of neurons; got "
            f"{sorted(sizes)}. Preprocess every example for the same population size."
        )
    num_neurons = sizes.pop()
    offsets = np.concatenate(([0], np.cumsum([s.num_spikes for s in spikes])))
    end = np.zeros((batch_size, num_neurons), dtype=np.int64)
    for row, (example, offset) in enumerate(zip(spikes, offsets, strict=False)):
        end[row] = example.end_spikes + offset
    end[len(spikes):] = offsets[-1]
    times = np.concatenate([s.spike_times for s in spikes])
    return PreprocessedSpikes(end, times)


def calc_start_spikes(end_spikes: np.ndarray) -> np.ndarray:
    """Return each neuron's first spike index from ``end_spikes`` (1-D, or 2-D batched)."""
    end_spikes = np.asarray(end_spikes)
    start = np.empty_like(end_spikes)
    if end_spikes.ndim == 1:
        start[:1] = 0
        start[1:] = end_spikes[:-1]
    else:
        start[0, 0] = 0
        start[1:, 0] = end_spikes[:-1, -1]
        start[:, 1:] = end_spikes[:, :-1]
    return start


def generate_shd_like_events(num_examples: int, num_classes: int = 20, *,
                             num_channels: int = 700, duration_us: int = 1_000_000,
                             events_per_example: tuple[int, int] = (5_000, 9_000),
                             seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Generate a small SHD-shaped event data set (not SHD): tonic's dtype and layout.

    Each class is a fixed sequence of a few Gaussian "formant" bands that
    sweep across channels over the trial; an example draws
    ``events_per_example`` events from its class's bands with jitter in
    time (10%) and channel.  The task is learnable but not trivial, like a
    tiny spoken-digit set.

    Returns
    -------
    events : list of numpy.ndarray, structured ``[("t", int64), ("x", int64), ("p", int64)]``
        Per example, sorted by time, ``t`` in microseconds in
        ``[0, duration_us)``, ``x`` in ``[0, num_channels)``, ``p`` 0
        (tonic's SHD ordering ``"txp"``, sensor_size ``(num_channels, 1, 1)``).
    labels : numpy.ndarray of int64, shape (num_examples,)
    """
    rng = np.random.default_rng(seed)
    proto = np.random.default_rng(seed + 1_000_003)
    bands = 3
    # Per class and band: start and end channel of the sweep and a width.
    starts = proto.uniform(0.1, 0.9, (num_classes, bands)) * num_channels
    ends = proto.uniform(0.1, 0.9, (num_classes, bands)) * num_channels
    widths = proto.uniform(0.02, 0.05, (num_classes, bands)) * num_channels
    onsets = proto.uniform(0.0, 0.2, (num_classes, bands))
    lengths = proto.uniform(0.6, 0.75, (num_classes, bands))
    dtype = np.dtype([("t", np.int64), ("x", np.int64), ("p", np.int64)])
    labels = rng.integers(0, num_classes, num_examples)
    out = []
    for label in labels:
        n = int(rng.integers(events_per_example[0], events_per_example[1] + 1))
        band = rng.integers(0, bands, n)
        stretch = rng.uniform(0.9, 1.1)
        phase = rng.uniform(0.0, 1.0, n)
        t = (onsets[label, band] + phase * lengths[label, band]) * stretch
        centre = starts[label, band] + phase * (ends[label, band] - starts[label, band])
        x = centre + rng.normal(0.0, 1.0, n) * widths[label, band] + rng.normal(0, 10)
        ev = np.zeros(n, dtype)
        ev["t"] = np.minimum(t * duration_us, duration_us - 1).astype(np.int64)
        ev["x"] = np.clip(x, 0, num_channels - 1).astype(np.int64)
        out.append(np.sort(ev, order="t"))
    return out, labels.astype(np.int64)
