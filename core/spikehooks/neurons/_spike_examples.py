"""A :class:`~spikehooks.neurons.SpikeInput` data set as validated once per run.

``SpikeInput.prepare_input`` checks every example of a data set before a
run starts.  Example by example those checks cost about 5 us each (a
Yin-Yang epoch of 512 examples spent 3 ms on them, 4 % of the whole
compiled epoch); :func:`all_valid` screens the whole set with a few array
operations instead and is True exactly when the example-by-example checks
would pass (when it cannot tell, it says False and those checks run and
name the first bad example).  The result, :class:`SpikeExamples`, keeps each
example's spike count, so a batch's total is one sum, and gives backends a
place to keep what they derive from the data set once per run.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Spike times concatenated per finiteness screen (bounds the screen's memory).
_CHUNK = 1 << 20


class SpikeExamples(list):
    """The validated examples of a SpikeInput data set: a list of ``PreprocessedSpikes``.

    Built by ``SpikeInput.prepare_input`` at the start of every run
    (``train``, ``evaluate``...), so it holds the data as they were then.

    Attributes
    ----------
    num_spikes : numpy.ndarray of int64, shape (num_examples,)
        Spikes of each example (``len(spike_times)``).
    cache : dict
        What a backend derives from the whole data set and keeps for the
        run (the compiled backend: every example's spike times in its
        kernel's layout); lives as long as this object.
    """

    def __init__(self, examples: list, num_spikes: np.ndarray):
        super().__init__(examples)
        self.num_spikes = num_spikes
        self.cache: dict[str, Any] = {}


def all_valid(examples: list, num_neurons: int) -> np.ndarray | None:
    """Screen a whole data set; the spike counts when every example is valid, else None.

    Valid means what ``SpikeInput.prepare_input`` checks example by example:
    ``end_spikes`` and ``spike_times`` present, ``end_spikes`` of shape
    ``(num_neurons,)``, ``spike_times`` real and finite with
    ``end_spikes[-1]`` entries (0 without neurons).  Stricter where the
    screen cannot decide cheaply (``spike_times`` not a 1-D array,
    ``end_spikes`` not integers): those data sets get None and are checked
    example by example.

    Parameters
    ----------
    examples : list
        The data set's examples (at least one).
    num_neurons : int

    Returns
    -------
    numpy.ndarray of int64, shape (len(examples),), or None
    """
    try:
        ends = [spikes.end_spikes for spikes in examples]
        times = [spikes.spike_times for spikes in examples]
    except AttributeError:
        return None
    try:
        kinds = {(type(t), t.ndim, t.dtype.kind) for t in times}
    except AttributeError:  # not arrays
        return None
    if not all(kind is np.ndarray and ndim == 1 and code in "iuf" for kind, ndim, code in kinds):
        return None
    try:
        stacked = np.array(ends)
    except (ValueError, TypeError):  # ragged
        return None
    if stacked.shape != (len(examples), num_neurons) or stacked.dtype.kind not in "iu":
        return None
    counts = np.fromiter(map(len, times), dtype=np.int64, count=len(times))
    declared = stacked[:, -1] if num_neurons else np.zeros(len(examples), np.int64)
    if not np.array_equal(counts, declared):
        return None
    pending: list[np.ndarray] = []
    size = 0
    for t in times:
        pending.append(t)
        size += len(t)
        if size >= _CHUNK:
            if not np.isfinite(np.concatenate(pending)).all():
                return None
            pending, size = [], 0
    if pending and not np.isfinite(np.concatenate(pending)).all():
        return None
    return counts


__all__ = ["SpikeExamples", "all_valid"]
