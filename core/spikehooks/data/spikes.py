"""Spike trains in mlGeNN's preprocessed format.

A :class:`PreprocessedSpikes` holds the spikes of one example for a
population of ``num_neurons`` neurons, grouped by neuron:

- ``end_spikes``: int32 array of shape ``(num_neurons,)``, the cumulative
  spike counts, so neuron ``i`` owns
  ``spike_times[end_spikes[i - 1]:end_spikes[i]]`` (from 0 for ``i == 0``);
- ``spike_times``: float32 array of shape ``(end_spikes[-1],)``, in ms, sorted
  by neuron id and, within a neuron, by time.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from ..checks import integer
from ..errors import ConfigurationError

#: The most spikes one example may hold (``end_spikes`` is int32).
MAX_SPIKES = np.iinfo(np.int32).max


class PreprocessedSpikes(NamedTuple):
    """The spikes of one example, grouped by neuron (mlGeNN's format).

    Attributes
    ----------
    end_spikes : numpy.ndarray of int32, shape (num_neurons,)
        Cumulative spike counts: neuron ``i``'s spikes end at index
        ``end_spikes[i]`` of ``spike_times``.
    spike_times : numpy.ndarray of float32, shape (num_spikes,)
        Spike times in ms, sorted by neuron id, then by time.
    """

    end_spikes: np.ndarray
    spike_times: np.ndarray

    @property
    def num_neurons(self) -> int:
        """Number of neurons the spikes are for."""
        return len(self.end_spikes)

    @property
    def num_spikes(self) -> int:
        """Total number of spikes."""
        return len(self.spike_times)

    def neuron_times(self, neuron: int) -> np.ndarray:
        """Return the spike times (ms, float32, sorted) of neuron ``neuron``.

        Raises
        ------
        ConfigurationError
            ``neuron`` is not in ``[0, num_neurons)``.
        """
        if not 0 <= neuron < len(self.end_spikes):
            raise ConfigurationError(
                f"PreprocessedSpikes neuron must be in [0, {len(self.end_spikes)}); "
                f"got {neuron!r}. Pass a flat neuron index."
            )
        start = int(self.end_spikes[neuron - 1]) if neuron > 0 else 0
        return self.spike_times[start : int(self.end_spikes[neuron])]


def preprocess_spikes(times: ArrayLike, ids: ArrayLike, num_neurons: int) -> PreprocessedSpikes:
    """Group the spikes of one example by neuron, in mlGeNN's format.

    Parameters
    ----------
    times : array_like of float, shape (num_spikes,)
        Spike times in ms, finite and >= 0, in any order.
    ids : array_like of int, shape (num_spikes,)
        The neuron of each spike, in ``[0, num_neurons)`` (flat C-order
        indices for multi-dimensional populations).
    num_neurons : int
        Number of neurons of the population the spikes are fed to.

    Returns
    -------
    PreprocessedSpikes
        ``end_spikes`` int32 ``(num_neurons,)`` and ``spike_times`` float32
        ``(num_spikes,)`` in ms, sorted by neuron id then time.

    Raises
    ------
    ConfigurationError
        Arrays that are not 1-D, of different lengths, ids that are not
        integers or out of range, times that are negative, NaN or infinite.
    """
    where = "preprocess_spikes"
    num_neurons = integer(
        num_neurons, where, "num_neurons", "a positive integer",
        "Pass the size of the input population.", lambda v: v >= 1,
    )
    times_arr = np.asarray(times)
    ids_arr = np.asarray(ids)
    for name, arr in (("times", times_arr), ("ids", ids_arr)):
        if arr.ndim != 1:
            raise ConfigurationError(
                f"{where} {name} must be a 1-D array with one entry per spike; "
                f"got shape {arr.shape}. Flatten it, or pass one example at a time."
            )
    if len(times_arr) != len(ids_arr):
        raise ConfigurationError(
            f"{where} times and ids must have the same length; got {len(times_arr)} times "
            f"and {len(ids_arr)} ids. Pass one id per spike time."
        )
    if len(times_arr) > MAX_SPIKES:
        raise ConfigurationError(
            f"{where} times must hold at most {MAX_SPIKES} spikes; got {len(times_arr)}. "
            f"Split the example."
        )
    if len(ids_arr) == 0:
        return PreprocessedSpikes(
            np.zeros(num_neurons, dtype=np.int32), np.zeros(0, dtype=np.float32)
        )
    if ids_arr.dtype.kind not in "iu":
        raise ConfigurationError(
            f"{where} ids must be integers; got dtype {ids_arr.dtype}. "
            f"Convert them with ids.astype(int)."
        )
    if times_arr.dtype.kind not in "iuf":
        raise ConfigurationError(
            f"{where} times must be real numbers in ms; got dtype {times_arr.dtype}. "
            f"Convert them with times.astype(float)."
        )
    bad_ids = np.flatnonzero((ids_arr < 0) | (ids_arr >= num_neurons))
    if len(bad_ids):
        first = bad_ids[0]
        raise ConfigurationError(
            f"{where} ids must be in [0, {num_neurons}); got {ids_arr[first]} at index {first} "
            f"({len(bad_ids)} out of range). Check num_neurons and the id of each spike."
        )
    times_f = times_arr.astype(np.float64, copy=False)
    bad_times = np.flatnonzero(~np.isfinite(times_f) | (times_f < 0.0))
    if len(bad_times):
        first = bad_times[0]
        raise ConfigurationError(
            f"{where} times must be finite and >= 0 ms; got {times_f[first]} at index {first} "
            f"({len(bad_times)} invalid). Drop or shift those spikes."
        )
    ids_i = ids_arr.astype(np.intp, copy=False)  # bincount refuses e.g. uint64
    order = np.lexsort((times_f, ids_i))
    end_spikes = np.cumsum(np.bincount(ids_i, minlength=num_neurons)).astype(np.int32)
    # Sorting in float64 before the cast keeps the order: rounding is monotone.
    return PreprocessedSpikes(end_spikes, times_f[order].astype(np.float32))


__all__ = ["MAX_SPIKES", "PreprocessedSpikes", "preprocess_spikes"]
