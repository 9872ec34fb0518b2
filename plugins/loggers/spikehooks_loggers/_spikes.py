"""Spike rasters and firing rates from the in-memory data of the spike recorders in a run.

Loggers import no other plugin: a spike recorder is recognised by its data,
``data[key] == (times, ids)`` (two sequences with one entry per recorded
example, float64 ms and int32 neuron ids), and by the population it records
(``recorder.pop``).  Recorders that stream to disk or record counts only are
not read, so a logger never reloads a recording.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class SpikeSummary:
    """What one recorder recorded since the previous summary.

    Attributes
    ----------
    name : str
        The recorder's key as text, e.g. ``"hidden_spikes"``.
    raster : numpy.ndarray of uint8, shape (num_neurons, num_timesteps)
        The last new example: 255 where neuron ``i`` spiked in timestep ``t``.
    rates_hz : numpy.ndarray of float64, shape (num_recorded_neurons,)
        Mean firing rate of every recorded neuron over the new examples, in Hz
        (silent neurons included as 0).
    examples : int
        New examples the rates are taken over.
    """

    name: str
    raster: np.ndarray
    rates_hz: np.ndarray
    examples: int


def _is_spike_lists(value: Any) -> bool:
    return (isinstance(value, tuple) and len(value) == 2
            and all(isinstance(v, Sequence) for v in value) and len(value[0]) == len(value[1]))


class SpikeReader:
    """Finds the spike recorders of a run and summarises what they add.

    Parameters
    ----------
    callbacks : list
        The run's callbacks (as passed to ``set_params``).
    data : dict
        The run's ``cb_data`` dictionary, which recorders fill.
    dt : float
        Timestep in ms.
    num_timesteps : int
        Timesteps per example.
    """

    def __init__(self, callbacks: Sequence[Any], data: dict | None, dt: float,
                 num_timesteps: int):
        self._data = data if data is not None else {}
        self._dt = float(dt)
        self._steps = int(num_timesteps)
        self._recorders = [c for c in callbacks
                           if getattr(c, "key", None) is not None and hasattr(c, "pop")
                           and not getattr(c, "record_counts", False)
                           and getattr(c, "to", None) is None]
        self._seen: dict[Any, int] = {}

    def __bool__(self) -> bool:
        return bool(self._recorders)

    def summaries(self) -> list[SpikeSummary]:
        """Return one summary per recorder that recorded new examples since the last call."""
        found = []
        for recorder in self._recorders:
            value = self._data.get(recorder.key)
            if value is None or not _is_spike_lists(value):
                continue
            times, ids = value
            start, stop = self._seen.get(recorder.key, 0), len(times)
            self._seen[recorder.key] = stop
            if stop <= start:
                continue
            found.append(self._summary(recorder, times, ids, start, stop))
        return found

    def _summary(self, recorder: Any, times: Sequence[Any], ids: Sequence[Any],
                 start: int, stop: int) -> SpikeSummary:
        pop = recorder.pop
        total = int(getattr(pop, "num_neurons", 0) or np.prod(getattr(pop, "shape", 1)))
        recorded = int(getattr(recorder, "num_neurons", total))
        new_ids = [np.asarray(ids[k], dtype=np.int64) for k in range(start, stop)]
        counts = np.bincount(np.concatenate(new_ids), minlength=total)
        active = counts[counts > 0]
        duration_s = (stop - start) * self._steps * self._dt / 1000.0
        rates = np.zeros(max(recorded, active.size))
        rates[: active.size] = active / duration_s
        raster = np.zeros((total, self._steps), np.uint8)
        steps = np.rint(np.asarray(times[stop - 1], dtype=np.float64) / self._dt).astype(np.int64)
        raster[new_ids[-1], np.clip(steps, 0, self._steps - 1)] = 255
        return SpikeSummary(str(recorder.key), raster, rates, stop - start)
